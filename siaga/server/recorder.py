"""Writes every transmission to disk and indexes it in the store.

Frames are appended to the recording file on the event loop (a buffered write of a few dozen
bytes); the database rows, which may block on disk, are written by one worker thread so they
stay in order and never stall the relay.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import SiagaError
from ..hub import RecordEnd, RecordStart
from ..recording import RecordingWriter
from ..store import NewRecording, Store

log = logging.getLogger("siaga.recorder")


@dataclass(slots=True)
class _Open:
    writer: RecordingWriter
    started_at: float
    size: int = 0


class Recorder:
    def __init__(self, store: Store, data_dir: Path) -> None:
        self.store = store
        self.data_dir = data_dir
        self._run = secrets.token_hex(3)  # stream ids restart with the server; file names must not
        self._open: dict[int, _Open] = {}
        self._ids: dict[int, int] = {}
        self._dirs: set[Path] = set()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="siaga-store")
        self.written = 0
        self.failures = 0

    def start(self, ev: RecordStart) -> None:
        day = time.strftime("%Y-%m-%d", time.gmtime(ev.started_at))
        rel = Path("recordings") / day / f"{self._run}-{ev.stream:08d}-{ev.talkgroup}.sgr"
        path = self.data_dir / rel
        try:
            if path.parent not in self._dirs:  # one mkdir a day, not one per transmission
                path.parent.mkdir(parents=True, exist_ok=True)
                self._dirs.add(path.parent)
            writer = RecordingWriter(path)
        except (OSError, SiagaError) as exc:
            self.failures += 1
            log.error("cannot open recording for stream %d: %s", ev.stream, exc)
            return
        self._open[ev.stream] = _Open(writer, ev.started_at)
        new = NewRecording(stream=ev.stream, talkgroup=ev.talkgroup, member=ev.member,
                           member_name=ev.member_name, priority=ev.priority,
                           emergency=ev.emergency, started_at=ev.started_at, path=rel.as_posix(),
                           e2e=ev.e2e)
        self._pool.submit(self._add, ev.stream, new)

    def frame(self, stream: int, data: bytes, now: float) -> None:
        rec = self._open.get(stream)
        if rec is None:
            return
        offset = max(0, round((now - rec.started_at) * 1000))
        try:
            rec.writer.write(offset, data)
        except SiagaError as exc:
            self.failures += 1
            log.error("recording of stream %d failed: %s", stream, exc)
            return
        rec.size += len(data)

    def end(self, ev: RecordEnd) -> None:
        rec = self._open.pop(ev.stream, None)
        if rec is None:
            return
        try:
            rec.writer.close()
        except SiagaError as exc:
            self.failures += 1
            log.error("closing recording of stream %d failed: %s", ev.stream, exc)
        self._pool.submit(self._finish, ev.stream, ev, rec.writer.frames, rec.size)

    def _add(self, stream: int, new: NewRecording) -> None:
        try:
            self._ids[stream] = self.store.add_recording(new)
        except SiagaError as exc:
            self.failures += 1
            log.error("cannot index recording of stream %d: %s", stream, exc)

    def _finish(self, stream: int, ev: RecordEnd, frames: int, size: int) -> None:
        rec_id = self._ids.pop(stream, None)
        if rec_id is None:
            return
        try:
            self.store.finish_recording(rec_id, ended_at=ev.ended_at, outcome=ev.outcome,
                                        frames=frames, size_bytes=size)
            self.written += 1
        except SiagaError as exc:
            self.failures += 1
            log.error("cannot finish recording of stream %d: %s", stream, exc)

    async def drain(self) -> None:
        """Wait until every database write queued so far is done."""
        await asyncio.get_running_loop().run_in_executor(self._pool, lambda: None)

    async def close(self) -> None:
        for stream in list(self._open):
            self.end(RecordEnd(stream, "interrupted", time.time()))
        await self.drain()
        self._pool.shutdown(wait=True)
