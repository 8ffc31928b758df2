"""Closed roll calls and their answers, to compare the network's readiness over time."""

from __future__ import annotations

import threading

from sqlalchemy import (
    Double,
    Engine,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    insert,
    select,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from ..errors import StoreError
from ..rollcall import Answer, RollCall
from .sql import Base


class RollcallRow(Base):
    """Mirrors migration 0006."""

    __tablename__ = "rollcalls"
    __table_args__ = (Index("ix_rollcalls_talkgroup_started_at", "talkgroup", "started_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    talkgroup: Mapped[str] = mapped_column(String(64))
    by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[float] = mapped_column(Double)
    deadline: Mapped[float] = mapped_column(Double)
    closed_at: Mapped[float] = mapped_column(Double)


class RollcallAnswerRow(Base):
    """One row per expected member: ``answered_at`` NULL means silent."""

    __tablename__ = "rollcall_answers"
    __table_args__ = (PrimaryKeyConstraint("rollcall_id", "member",
                                           name="pk_rollcall_answers"),)

    rollcall_id: Mapped[str] = mapped_column(String(64))
    member: Mapped[str] = mapped_column(String(64))
    answered_at: Mapped[float | None] = mapped_column(Double)
    via: Mapped[str | None] = mapped_column(String(16))


_RC: Table = RollcallRow.__table__  # type: ignore[assignment]
_ANS: Table = RollcallAnswerRow.__table__  # type: ignore[assignment]


class RollcallStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()

    def save(self, rc: RollCall) -> None:
        if rc.closed_at is None:
            raise StoreError("only a closed roll call is stored")
        rows = [{"rollcall_id": rc.id, "member": m,
                 "answered_at": rc.answers[m].at if m in rc.answers else None,
                 "via": rc.answers[m].via if m in rc.answers else None}
                for m in sorted(rc.expected)]
        with self._lock:
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(_RC).values(
                        id=rc.id, talkgroup=rc.talkgroup, by=rc.by, started_at=rc.started_at,
                        deadline=rc.deadline, closed_at=rc.closed_at))
                    if rows:
                        conn.execute(insert(_ANS), rows)
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot store roll call {rc.id}: {exc}") from exc

    def history(self, talkgroup: str | None = None, limit: int = 20) -> list[RollCall]:
        """Closed roll calls, newest first."""
        stmt = select(_RC).order_by(_RC.c.started_at.desc()).limit(limit)
        if talkgroup is not None:
            stmt = stmt.where(_RC.c.talkgroup == talkgroup)
        out: list[RollCall] = []
        with self._lock:
            try:
                with self.engine.connect() as conn:
                    for r in conn.execute(stmt).all():
                        answers = conn.execute(select(_ANS).where(
                            _ANS.c.rollcall_id == r.id)).all()
                        rc = RollCall(r.id, r.talkgroup, r.by, r.started_at, r.deadline,
                                      frozenset(a.member for a in answers),
                                      closed_at=r.closed_at)
                        rc.answers = {a.member: Answer(a.member, a.answered_at, a.via)
                                      for a in answers if a.answered_at is not None}
                        out.append(rc)
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot read roll calls: {exc}") from exc
        return out


__all__ = ["RollcallAnswerRow", "RollcallRow", "RollcallStore"]
