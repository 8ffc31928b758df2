"""SQLAlchemy implementation of :class:`siaga.store.Store` (SQLite now, PostgreSQL later).

The schema is owned by the Alembic migrations in ``migrations/``; the models here must match
them (a test checks it). Timestamps are unix-second floats so both backends behave alike.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Final, Self

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    BigInteger,
    Boolean,
    Double,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    case,
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from siaga.errors import StoreError
from siaga.store import OUTCOMES, NewRecording, Recording

MIGRATIONS_DIR: Final = Path(__file__).parent / "migrations"

# Deterministic constraint names, so later migrations can refer to them on every backend.
NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class RecordingRow(Base):
    """One row per transmission; mirrors migration 0001."""

    __tablename__ = "recordings"
    __table_args__ = (
        Index("ix_recordings_talkgroup_started_at", "talkgroup", "started_at"),
        Index("ix_recordings_member_started_at", "member", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stream: Mapped[int] = mapped_column(Integer)
    talkgroup: Mapped[str] = mapped_column(String(64))
    member: Mapped[str] = mapped_column(String(64))
    member_name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer)
    emergency: Mapped[bool] = mapped_column(Boolean)
    started_at: Mapped[float] = mapped_column(Double)
    path: Mapped[str] = mapped_column(String(1024))
    ended_at: Mapped[float | None] = mapped_column(Double)
    outcome: Mapped[str | None] = mapped_column(String(32))
    frames: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    e2e: Mapped[str | None] = mapped_column(String(2048))

    def to_value(self) -> Recording:
        return Recording(
            id=self.id,
            stream=self.stream,
            talkgroup=self.talkgroup,
            member=self.member,
            member_name=self.member_name,
            priority=self.priority,
            emergency=self.emergency,
            started_at=self.started_at,
            path=self.path,
            ended_at=self.ended_at,
            outcome=self.outcome,
            frames=self.frames,
            size_bytes=self.size_bytes,
            e2e=self.e2e,
        )


# --- validation: reject bad input before any SQL runs -------------------------------------


_TABLE: Table = RecordingRow.__table__  # type: ignore[assignment]
# Built once, so each call only binds parameters (SQLAlchemy caches the compiled form).
_INSERT = insert(_TABLE)
_FINISH = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("rec_id"), _TABLE.c.ended_at.is_(None),
           _TABLE.c.started_at <= bindparam("end"))
    .values(ended_at=bindparam("end"), outcome=bindparam("outcome"),
            frames=bindparam("frames"), size_bytes=bindparam("size"))
)


def _check_text(name: str, value: object, max_len: int) -> None:
    if not isinstance(value, str) or not value.strip():
        raise StoreError(f"{name} must be a non-empty string, got {value!r}")
    if len(value) > max_len:
        raise StoreError(f"{name} is longer than {max_len} characters")


def _check_int(name: str, value: object, *, minimum: int | None = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise StoreError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise StoreError(f"{name} must be >= {minimum}, got {value}")


def _check_time(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise StoreError(f"{name} must be a finite number of unix seconds, got {value!r}")
    if value < 0:
        raise StoreError(f"{name} must not be negative, got {value}")


def _validate_new(rec: NewRecording) -> None:
    _check_int("stream", rec.stream)
    _check_text("talkgroup", rec.talkgroup, 64)
    _check_text("member", rec.member, 64)
    if not isinstance(rec.member_name, str) or len(rec.member_name) > 200:
        raise StoreError("member_name must be a string of at most 200 characters")
    _check_int("priority", rec.priority, minimum=None)
    if not isinstance(rec.emergency, bool):
        raise StoreError(f"emergency must be a bool, got {rec.emergency!r}")
    _check_time("started_at", rec.started_at)
    _check_text("path", rec.path, 1024)
    # The path is relative to the data directory; anything escaping it is a bug or an attack.
    for flavour in (PurePosixPath, PureWindowsPath):
        p = flavour(rec.path)
        if p.is_absolute() or p.anchor or ".." in p.parts:
            raise StoreError(f"recording path must stay inside the data directory: {rec.path!r}")


# --- engine setup ------------------------------------------------------------------------


def _is_memory_sqlite(url: str) -> bool:
    parsed = make_url(url)
    database = parsed.database or ""
    return database in ("", ":memory:") or parsed.query.get("mode") == "memory"


def _sqlite_on_connect(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
    """Per-connection SQLite settings; PRAGMAs are not persistent, so each connection needs them."""
    assert isinstance(dbapi_conn, sqlite3.Connection)
    # Hand transaction control to SQLAlchemy (see _sqlite_on_begin): pysqlite's own handling
    # commits DDL implicitly, which would make a failed migration half-applied.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cur.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, far fewer fsyncs
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=5000")
    finally:
        cur.close()


def _sqlite_on_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN")


def create_store_engine(url: str) -> Engine:
    """An engine for ``url``, with SQLite tuned and usable from any thread."""
    try:
        backend = make_url(url).get_backend_name()
        if backend != "sqlite":
            return create_engine(url, pool_pre_ping=True)
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        if _is_memory_sqlite(url):
            # One shared connection, or every checkout would see a fresh, empty database.
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, **kwargs)
    except (ArgumentError, ImportError, SQLAlchemyError) as exc:
        raise StoreError(f"cannot use database URL {url!r}: {exc}") from exc
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configured in code, so no ini file has to be found at runtime."""
    cfg = Config()
    # ConfigParser interpolates '%', which may legitimately appear in an install path.
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade_to_head(engine: Engine) -> None:
    """Apply all pending migrations in one transaction (idempotent)."""
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate database: {exc}") from exc


# --- the store ---------------------------------------------------------------------------


class SqlStore:
    """:class:`siaga.store.Store` over a SQLAlchemy engine it owns.

    Safe to call from a worker thread other than the one that created it; the server funnels
    calls through a single ``asyncio.to_thread`` worker, and a lock keeps stray concurrent
    callers from interleaving with :meth:`close`.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine: Engine | None = engine
        self._lock = threading.Lock()

    @classmethod
    def open(cls, url: str) -> Self:
        """Create the engine, migrate to head, and wrap it."""
        engine = create_store_engine(url)
        try:
            upgrade_to_head(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise StoreError("store is closed")
        return self._engine

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # add_recording and finish_recording run once per transmission while the relay is busy, so
    # they use single Core statements: the ORM unit of work costs ~5x the CPU (and the GIL).

    def add_recording(self, rec: NewRecording) -> int:
        _validate_new(rec)
        values = {
            "stream": rec.stream, "talkgroup": rec.talkgroup, "member": rec.member,
            "member_name": rec.member_name, "priority": rec.priority,
            "emergency": rec.emergency, "started_at": float(rec.started_at), "path": rec.path,
            "ended_at": None, "outcome": None, "frames": 0, "size_bytes": 0, "e2e": rec.e2e,
        }
        with self._lock:
            try:
                with self.engine.begin() as conn:
                    result = conn.execute(_INSERT, values)
                    key = result.inserted_primary_key
                    assert key is not None
                    return int(key[0])
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot add recording: {exc}") from exc

    def finish_recording(
        self, rec_id: int, *, ended_at: float, outcome: str, frames: int, size_bytes: int
    ) -> None:
        _check_int("recording id", rec_id, minimum=1)
        _check_time("ended_at", ended_at)
        if outcome not in OUTCOMES:
            raise StoreError(
                f"unknown outcome {outcome!r}; expected one of {', '.join(sorted(OUTCOMES))}"
            )
        _check_int("frames", frames)
        _check_int("size_bytes", size_bytes)
        col = _TABLE.c
        params = {"rec_id": rec_id, "end": float(ended_at), "outcome": outcome,
                  "frames": frames, "size": size_bytes}
        with self._lock:
            try:
                with self.engine.begin() as conn:
                    if conn.execute(_FINISH, params).rowcount == 1:
                        return
                    row = conn.execute(
                        select(col.started_at, col.ended_at, col.outcome).where(col.id == rec_id)
                    ).first()
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot finish recording {rec_id}: {exc}") from exc
        # The update matched nothing: say why.
        if row is None:
            raise StoreError(f"no recording with id {rec_id}")
        if row.ended_at is not None:
            raise StoreError(f"recording {rec_id} is already finished ({row.outcome})")
        raise StoreError(
            f"recording {rec_id} cannot end ({ended_at}) before it started ({row.started_at})"
        )

    def list_recordings(
        self,
        *,
        talkgroup: str | None = None,
        member: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[Recording]:
        _check_int("limit", limit, minimum=1)
        if since is not None:
            _check_time("since", since)
        if until is not None:
            _check_time("until", until)
        stmt = select(RecordingRow)
        if talkgroup is not None:
            stmt = stmt.where(RecordingRow.talkgroup == talkgroup)
        if member is not None:
            stmt = stmt.where(RecordingRow.member == member)
        if since is not None:
            stmt = stmt.where(RecordingRow.started_at >= since)
        if until is not None:
            stmt = stmt.where(RecordingRow.started_at < until)
        # id breaks ties so equal start times still come back in a stable order.
        stmt = stmt.order_by(RecordingRow.started_at.desc(), RecordingRow.id.desc()).limit(limit)
        with self._lock:
            try:
                with self._session() as s, s.begin():
                    return [row.to_value() for row in s.scalars(stmt)]
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot list recordings: {exc}") from exc

    def get_recording(self, rec_id: int) -> Recording:
        _check_int("recording id", rec_id, minimum=1)
        with self._lock:
            try:
                with self._session() as s, s.begin():
                    row = s.get(RecordingRow, rec_id)
                    if row is None:
                        raise StoreError(f"no recording with id {rec_id}")
                    return row.to_value()
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot read recording {rec_id}: {exc}") from exc

    def recover_unfinished(self, now: float) -> int:
        _check_time("now", now)
        # Never end before the start, even if the clock stepped back across the crash.
        ended = case((RecordingRow.started_at > now, RecordingRow.started_at), else_=float(now))
        stmt = (
            update(RecordingRow)
            .where(RecordingRow.ended_at.is_(None))
            .values(ended_at=ended, outcome="interrupted")
            .execution_options(synchronize_session=False)
        )
        with self._lock:
            try:
                with self._session() as s, s.begin():
                    result = s.execute(stmt)
                    return int(getattr(result, "rowcount", 0))
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot recover unfinished recordings: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()


__all__ = ["Base", "RecordingRow", "SqlStore", "alembic_config", "create_store_engine"]

# Register the other models on Base.metadata (for Alembic's model/migration comparison);
# last, because those modules import Base from here.
from siaga.store import audit_sql as _audit_sql  # noqa: E402, F401
from siaga.store import identity_sql as _identity_sql  # noqa: E402, F401
from siaga.store import keys_sql as _keys_sql  # noqa: E402, F401
from siaga.store import messages_sql as _messages_sql  # noqa: E402, F401
from siaga.store import ops_sql as _ops_sql  # noqa: E402, F401
from siaga.store import orders_sql as _orders_sql  # noqa: E402, F401
from siaga.store import positions_sql as _positions_sql  # noqa: E402, F401
from siaga.store import rollcall_sql as _rollcall_sql  # noqa: E402, F401
