"""Reported positions: the latest per member and each member's track, kept private by the hub
(only roles the roster allows may read them)."""

from __future__ import annotations

import threading

from sqlalchemy import Double, Engine, Index, Integer, String, Table, func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from ..errors import StoreError
from ..positions import Fix
from .sql import Base


class PositionRow(Base):
    """Mirrors migration 0007."""

    __tablename__ = "positions"
    __table_args__ = (Index("ix_positions_member_at", "member", "at"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(64))
    lat: Mapped[float] = mapped_column(Double)
    lon: Mapped[float] = mapped_column(Double)
    accuracy: Mapped[float] = mapped_column(Double)
    at: Mapped[float] = mapped_column(Double)


_POS: Table = PositionRow.__table__  # type: ignore[assignment]


class PositionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()

    def add(self, fix: Fix) -> None:
        with self._lock:
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(_POS).values(
                        member=fix.member, device=fix.device, lat=fix.lat, lon=fix.lon,
                        accuracy=fix.accuracy, at=fix.at))
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot store a position of {fix.member}: {exc}") from exc

    def latest(self) -> list[Fix]:
        newest = (select(_POS.c.member, func.max(_POS.c.seq).label("seq"))
                  .group_by(_POS.c.member).subquery())
        stmt = select(_POS).join(newest, _POS.c.seq == newest.c.seq).order_by(_POS.c.member)
        return self._read(stmt)

    def track(self, member: str, since: float = 0.0) -> list[Fix]:
        return self._read(select(_POS).where(_POS.c.member == member, _POS.c.at >= since)
                          .order_by(_POS.c.at, _POS.c.seq))

    def _read(self, stmt: object) -> list[Fix]:
        with self._lock:
            try:
                with self.engine.connect() as conn:
                    rows = conn.execute(stmt)  # type: ignore[call-overload]
                    return [Fix(r.member, r.device, r.lat, r.lon, r.accuracy, r.at)
                            for r in rows]
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot read positions: {exc}") from exc


__all__ = ["PositionRow", "PositionStore"]
