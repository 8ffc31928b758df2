"""Sealed group keys, as the key keeper published them: the server stores only these.

Each row is one talkgroup key of one epoch, sealed to one device's X25519 key and signed by the
keeper; the server can deliver it but not open it.
"""

from __future__ import annotations

import threading

from sqlalchemy import (
    Double,
    Engine,
    Executable,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from ..errors import StoreError
from ..identity import SealedKey
from .sql import Base


class GroupKeyRow(Base):
    """Mirrors migration 0004."""

    __tablename__ = "group_keys"
    __table_args__ = (PrimaryKeyConstraint("talkgroup", "epoch", "device_id",
                                           name="pk_group_keys"),)

    talkgroup: Mapped[str] = mapped_column(String(64))
    epoch: Mapped[int] = mapped_column(Integer)
    device_id: Mapped[str] = mapped_column(String(64))
    keeper: Mapped[str] = mapped_column(String(64))
    keeper_pub: Mapped[bytes] = mapped_column(LargeBinary(32))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    created_at: Mapped[float] = mapped_column(Double)


_KEYS: Table = GroupKeyRow.__table__  # type: ignore[assignment]


class KeyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()

    def put(self, keys: list[SealedKey], now: float) -> None:
        """Store new sealed copies; a copy already stored for that device and epoch is kept.

        One INSERT ... ON CONFLICT DO NOTHING: no read before the write, so in SQLite's WAL
        mode a concurrent writer never turns this transaction into "database is locked".
        """
        if not keys:
            return
        rows = [dict(talkgroup=k.talkgroup, epoch=k.epoch, device_id=k.device_id,
                     keeper=k.keeper, keeper_pub=k.keeper_pub, sealed=k.sealed,
                     signature=k.signature, created_at=now) for k in keys]
        dialect = self.engine.dialect.name
        stmt: Executable
        if dialect == "sqlite":
            stmt = sqlite_insert(_KEYS).on_conflict_do_nothing()
        elif dialect == "postgresql":
            stmt = pg_insert(_KEYS).on_conflict_do_nothing()
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            raise StoreError(f"unsupported database {dialect}")
        with self._lock:
            try:
                with self.engine.begin() as conn:
                    conn.execute(stmt, rows)
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot store group keys: {exc}") from exc

    def for_device(self, device_id: str, *, talkgroup: str | None = None,
                   epoch: int | None = None) -> list[SealedKey]:
        """The device's sealed keys, every epoch, oldest first (it may need old ones for
        recordings)."""
        stmt = select(_KEYS).where(_KEYS.c.device_id == device_id)
        if talkgroup is not None:
            stmt = stmt.where(_KEYS.c.talkgroup == talkgroup)
        if epoch is not None:
            stmt = stmt.where(_KEYS.c.epoch == epoch)
        with self._lock:
            try:
                with self.engine.connect() as conn:
                    rows = conn.execute(stmt.order_by(_KEYS.c.talkgroup, _KEYS.c.epoch))
                    return [SealedKey(r.talkgroup, r.epoch, r.device_id, r.keeper,
                                      bytes(r.keeper_pub), bytes(r.sealed), bytes(r.signature))
                            for r in rows]
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot read group keys: {exc}") from exc

    def epochs(self) -> dict[str, int]:
        """The newest epoch of every talkgroup that has keys."""
        stmt = select(_KEYS.c.talkgroup, func.max(_KEYS.c.epoch)).group_by(_KEYS.c.talkgroup)
        with self._lock:
            try:
                with self.engine.connect() as conn:
                    return {tg: int(epoch) for tg, epoch in conn.execute(stmt)}
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot read group key epochs: {exc}") from exc


__all__ = ["GroupKeyRow", "KeyStore"]
