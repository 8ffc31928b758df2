"""The audit log kept in the store's database (table ``audit_log``, migration 0002).

The chain rules live in :mod:`siaga.audit`; this module only reads the head, inserts the next
row and streams rows back for :func:`siaga.audit.verify`. Rows are never updated or deleted by
Siaga, so any such change is tampering and shows up when verifying.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import Double, Engine, Integer, String, Table, Text, insert, select, text
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from siaga.audit import (
    AuditChain,
    AuditEntry,
    ChainVerifier,
    DetailValue,
    VerifyReport,
    decode_detail,
    encode_detail,
)
from siaga.errors import LocalProtocolError, StoreError
from siaga.store.sql import Base

#: Rows read per query while verifying, so memory stays flat however long the log grows.
VERIFY_PAGE: Final = 500
#: Tries per append when another process wins the race for the same seq.
_APPEND_ATTEMPTS: Final = 3


class AuditRow(Base):
    """One audit entry; mirrors migration 0002. ``detail`` is canonical JSON text."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[float] = mapped_column(Double)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)
    prev: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


_TABLE: Table = AuditRow.__table__  # type: ignore[assignment]
_COLS: Final = _TABLE.c
_INSERT: Final = insert(_TABLE)
_SELECT: Final = select(_COLS.seq, _COLS.at, _COLS.kind, _COLS.actor, _COLS.subject,
                        _COLS.detail, _COLS.prev, _COLS.hash)
_HEAD_LINK: Final = select(_COLS.seq, _COLS.hash).order_by(_COLS.seq.desc()).limit(1)

# Take the database's write lock before reading the head, so two writers (even in two processes)
# cannot both read the same head. The engine's begin hook issues a plain deferred BEGIN, so on
# SQLite a write that touches nothing stands in for BEGIN IMMEDIATE (it waits out busy_timeout).
_WRITE_LOCK: Final = {
    "sqlite": text("UPDATE audit_log SET seq = seq WHERE 0"),
    "postgresql": text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"),
}


def _decode(row: Row[Any]) -> AuditEntry | str:
    """The entry a row holds, or why it holds none (a row changed behind our back)."""
    at = row.at
    if isinstance(at, bool) or not isinstance(at, int | float):
        return f"at is {at!r}, not a number"
    for name in ("kind", "actor", "subject", "detail", "prev", "hash"):
        value = getattr(row, name)
        if not isinstance(value, str):
            return f"{name} is {value!r}, not text"
    try:
        detail = decode_detail(row.detail)
    except LocalProtocolError as exc:
        return exc.message
    return AuditEntry(seq=int(row.seq), at=float(at), kind=row.kind, actor=row.actor,
                      subject=row.subject, detail=detail, prev=row.prev, hash=row.hash)


def _check_count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise LocalProtocolError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


class AuditLog:
    """The hash-chained audit log over an engine it does not own (``AuditLog(store.engine)``).

    Thread-safe: a lock serialises this process's callers, and each append reads the head and
    inserts the next row in one transaction holding the database's write lock, so appenders in
    other processes are serialised too. Should one still slip in (a backend without the lock
    above), the primary key rejects the duplicate seq and the append is retried.

    Database failures raise :class:`StoreError`; invalid arguments raise
    :class:`LocalProtocolError`, as :class:`siaga.audit.AuditChain` does.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()

    def _lock_for_write(self, conn: Connection) -> None:
        statement = _WRITE_LOCK.get(conn.dialect.name)
        if statement is not None:
            conn.execute(statement)

    def append(
        self,
        kind: str,
        at: float,
        actor: str = "",
        subject: str = "",
        detail: Mapping[str, DetailValue] | None = None,
    ) -> AuditEntry:
        """Record one event and return the stored entry."""
        # Validate before touching the database; the real seq and prev come from the head.
        AuditChain().peek(kind, at, actor, subject, detail)
        last: SQLAlchemyError | None = None
        with self._lock:
            for _attempt in range(_APPEND_ATTEMPTS):
                try:
                    with self._engine.begin() as conn:
                        self._lock_for_write(conn)
                        head = conn.execute(_HEAD_LINK).first()
                        chain = (AuditChain() if head is None
                                 else AuditChain.from_head(int(head.seq), head.hash))
                        entry = chain.append(kind, at, actor, subject, detail)
                        conn.execute(_INSERT, {
                            "seq": entry.seq, "at": entry.at, "kind": entry.kind,
                            "actor": entry.actor, "subject": entry.subject,
                            "detail": encode_detail(entry.detail), "prev": entry.prev,
                            "hash": entry.hash,
                        })
                    return entry
                except (IntegrityError, OperationalError) as exc:
                    last = exc  # lost a race for the seq, or the database stayed busy
                except SQLAlchemyError as exc:
                    raise StoreError(f"cannot append to the audit log: {exc}") from exc
        raise StoreError(f"cannot append to the audit log: {last}") from last

    def entries(self, since_seq: int = 0, limit: int | None = None) -> list[AuditEntry]:
        """Entries with ``seq > since_seq`` in seq order, at most ``limit`` of them.

        Raises :class:`StoreError` for a row too damaged to read (:meth:`verify` says more).
        """
        _check_count("since_seq", since_seq, 0)
        stmt = _SELECT.where(_COLS.seq > since_seq).order_by(_COLS.seq)
        if limit is not None:
            stmt = stmt.limit(_check_count("limit", limit, 1))
        rows = self._read(stmt)
        return [self._readable(row) for row in rows]

    def head(self) -> AuditEntry | None:
        """The newest entry, or ``None`` for an empty log."""
        rows = self._read(_SELECT.order_by(_COLS.seq.desc()).limit(1))
        return self._readable(rows[0]) if rows else None

    def verify(self, anchor: str | None = None) -> VerifyReport:
        """Check the whole chain (streamed in pages, in seq order); see :func:`siaga.audit.verify`.

        Raises :class:`LocalProtocolError` for a malformed ``anchor`` and :class:`StoreError`
        if the database cannot be read; damage to the rows is reported, never raised.
        """
        checker = ChainVerifier(anchor)
        after = 0
        while not checker.failed:
            rows = self._read(
                _SELECT.where(_COLS.seq > after).order_by(_COLS.seq).limit(VERIFY_PAGE)
            )
            for row in rows:
                entry = _decode(row)
                if isinstance(entry, str):
                    checker.feed_unreadable(int(row.seq), entry)
                elif not checker.feed(entry):
                    break
            if len(rows) < VERIFY_PAGE:
                break
            after = int(rows[-1].seq)
        return checker.finish()

    def _read(self, stmt: Any) -> list[Row[Any]]:
        # Short transactions under the lock: appenders wait at most one page, and engines that
        # share one connection between threads (in-memory SQLite) never interleave.
        with self._lock:
            try:
                with self._engine.connect() as conn:
                    return list(conn.execute(stmt).all())
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot read the audit log: {exc}") from exc

    @staticmethod
    def _readable(row: Row[Any]) -> AuditEntry:
        entry = _decode(row)
        if isinstance(entry, str):
            raise StoreError(f"audit entry {row.seq} is unreadable ({entry}); run verify")
        return entry


__all__ = ["VERIFY_PAGE", "AuditLog", "AuditRow"]
