"""Storage of recording metadata behind a small, backend-neutral interface.

The server only ever sees :class:`Store`; SQLite (embedded, the default) and PostgreSQL both
sit behind it, so deployments can grow without touching the callers. All timestamps are unix
seconds as floats: portable across backends and trivially comparable.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from siaga.errors import StoreError

if TYPE_CHECKING:
    from sqlalchemy import Engine

#: Every outcome a finished recording may carry. "interrupted" marks one that was still
#: open when the server stopped uncleanly (see :meth:`Store.recover_unfinished`).
OUTCOMES: Final = frozenset(
    {"completed", "preempted", "timed_out", "connection_lost", "interrupted"}
)

#: Environment variable naming the data directory when none is given explicitly.
DATA_DIR_ENV: Final = "SIAGA_DATA_DIR"
#: Database file name inside the data directory.
DB_FILENAME: Final = "siaga.db"
#: Environment variable with a database URL (``postgresql+psycopg://...``) to use instead of
#: the data directory's SQLite file; recordings and alerts stay in the data directory.
DATABASE_URL_ENV: Final = "SIAGA_DATABASE_URL"

_URL_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SUPPORTED_BACKENDS: Final = ("sqlite", "postgresql")


@dataclass(frozen=True, slots=True)
class NewRecording:
    """What is known when a transmission starts; the rest arrives with :meth:`finish`."""

    stream: int
    talkgroup: str
    member: str
    member_name: str
    priority: int
    emergency: bool
    started_at: float
    path: str  # relative to the data directory, so the directory can be moved
    e2e: str | None = None  # the talker's signed envelope when the audio is end-to-end sealed


@dataclass(frozen=True, slots=True)
class Recording:
    """A stored recording; ``ended_at``/``outcome`` stay ``None`` while it is in progress."""

    id: int
    stream: int
    talkgroup: str
    member: str
    member_name: str
    priority: int
    emergency: bool
    started_at: float
    path: str
    ended_at: float | None
    outcome: str | None
    frames: int
    size_bytes: int
    e2e: str | None = None

    @property
    def duration(self) -> float | None:
        """Seconds on air, or ``None`` while still recording."""
        if self.ended_at is None:
            return None
        return self.ended_at - self.started_at


class Store(Protocol):
    """Recording metadata storage. Every failure surfaces as :class:`StoreError`."""

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, shared by the device registry and the audit log."""
        ...

    def add_recording(self, rec: NewRecording) -> int:
        """Store a just-started recording and return its id."""
        ...

    def finish_recording(
        self, rec_id: int, *, ended_at: float, outcome: str, frames: int, size_bytes: int
    ) -> None:
        """Close an open recording; finishing twice or an unknown id is an error."""
        ...

    def list_recordings(
        self,
        *,
        talkgroup: str | None = None,
        member: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[Recording]:
        """Recordings with ``since <= started_at < until``, newest first."""
        ...

    def get_recording(self, rec_id: int) -> Recording:
        """One recording by id; :class:`StoreError` if there is none."""
        ...

    def recover_unfinished(self, now: float) -> int:
        """Mark recordings left open by a crash as "interrupted"; return how many."""
        ...

    def close(self) -> None:
        """Release the database; the store is unusable afterwards."""
        ...


def data_dir(explicit: str | Path | None = None) -> Path:
    """Resolve and create the data directory: ``explicit``, else ``$SIAGA_DATA_DIR``,
    else ``./siaga-data``."""
    if explicit is not None and str(explicit) != "":
        chosen = Path(explicit)
    elif os.environ.get(DATA_DIR_ENV):
        chosen = Path(os.environ[DATA_DIR_ENV])
    else:
        chosen = Path("siaga-data")
    chosen = chosen.expanduser().absolute()
    try:
        chosen.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create data directory {chosen}: {exc}") from exc
    return chosen


def open_store(url_or_data_dir: str | Path) -> Store:
    """Open (and migrate to head) the store at a database URL or inside a data directory.

    A ``sqlite:///...`` or ``postgresql://...`` string is used as is; anything else is a
    directory holding ``siaga.db``, created if missing, unless ``$SIAGA_DATABASE_URL`` names
    the database (a PostgreSQL server when one laptop is no longer enough).
    """
    from siaga.store.sql import SqlStore

    if str(url_or_data_dir) == "":
        raise StoreError("empty database URL or data directory")
    if not (isinstance(url_or_data_dir, str) and _URL_RE.match(url_or_data_dir)):
        data_dir(url_or_data_dir)  # recordings and alerts live there whatever the database
        url_or_data_dir = os.environ.get(DATABASE_URL_ENV) or url_or_data_dir
    if isinstance(url_or_data_dir, str) and _URL_RE.match(url_or_data_dir):
        url = url_or_data_dir
        backend = url.split(":", 1)[0].split("+", 1)[0].lower()
        if backend not in _SUPPORTED_BACKENDS:
            raise StoreError(
                f"unsupported database URL scheme {backend!r}; "
                f"use one of {', '.join(_SUPPORTED_BACKENDS)}"
            )
    else:
        directory = data_dir(url_or_data_dir)
        url = f"sqlite:///{(directory / DB_FILENAME).as_posix()}"
    return SqlStore.open(url)


__all__ = [
    "DATABASE_URL_ENV",
    "DATA_DIR_ENV",
    "DB_FILENAME",
    "OUTCOMES",
    "NewRecording",
    "Recording",
    "Store",
    "data_dir",
    "open_store",
]
