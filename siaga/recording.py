"""On-disk recording of one transmission: the wire frames exactly as the relay received them.

Keeping whole wire frames (header included) rather than decoded audio means a recording is
evidence of what was sent, costs no CPU to make, and stays valid once payloads are end-to-end
encrypted: the server stores ciphertext it cannot read, and only a key holder can export it.

Layout, big-endian::

    b"SIAGAREC"  u16 version (=1)
    repeated:    u32 offset_ms since transmission start, u16 frame length, frame bytes

Records are appended one at a time, so a crash leaves a readable prefix; the reader reports a
torn last record through :attr:`RecordingContents.truncated` instead of failing.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final, Self

import numpy as np

from .audio.files import write_ogg_opus, write_wav
from .audio.opus import FRAME_SAMPLES, PCM, PRE_SKIP, OpusDecoder
from .errors import AudioError, ProtocolError, SiagaError
from .wire import FLAG_SEALED, U32, AudioFrame, decode_audio, peek_header

MAGIC: Final = b"SIAGAREC"
VERSION: Final = 1
FILE_HEADER: Final = struct.Struct(">8sH")
RECORD: Final = struct.Struct(">IH")
#: Longest run of missing frames an export fills in (one minute); more means a broken file.
MAX_GAP_FRAMES: Final = 3000

StrPath = str | Path


class RecordingWriter:
    """Appends frames of one transmission to a new recording file.

    The file is created exclusively (an existing recording is never overwritten) and its
    header written at once, so even an empty transmission leaves a valid file.
    """

    def __init__(self, path: StrPath) -> None:
        self.path = Path(path)
        try:
            file = open(self.path, "xb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise AudioError(f"cannot create recording {self.path}: {exc}") from exc
        try:
            file.write(FILE_HEADER.pack(MAGIC, VERSION))
            file.flush()  # the file is a valid (empty) recording from the start
        except OSError as exc:
            file.close()
            raise AudioError(f"cannot create recording {self.path}: {exc}") from exc
        self._file: BinaryIO | None = file
        self.frames = 0

    def write(self, offset_ms: int, frame: bytes) -> None:
        """Append one wire frame received ``offset_ms`` after the transmission started."""
        if self._file is None:
            raise AudioError(f"recording {self.path} is closed")
        if not 0 <= offset_ms <= U32:
            raise AudioError(f"offset {offset_ms} ms does not fit a recording record")
        try:
            peek_header(frame)
        except ProtocolError as exc:
            raise AudioError(f"refusing to record an invalid frame: {exc.message}") from exc
        try:
            # One write per record: a crash can only tear the last record, never interleave.
            self._file.write(RECORD.pack(offset_ms, len(frame)) + bytes(frame))
        except OSError as exc:
            raise AudioError(f"cannot write recording {self.path}: {exc}") from exc
        self.frames += 1

    def flush(self, sync: bool = False) -> None:
        """Hand buffered records to the OS; with ``sync`` also force them to disk."""
        if self._file is None:
            return
        try:
            self._file.flush()
            if sync:
                os.fsync(self._file.fileno())
        except OSError as exc:
            raise AudioError(f"cannot flush recording {self.path}: {exc}") from exc

    def close(self) -> None:
        if self._file is None:
            return
        file, self._file = self._file, None
        try:
            file.close()
        except OSError as exc:
            raise AudioError(f"cannot close recording {self.path}: {exc}") from exc

    @property
    def closed(self) -> bool:
        return self._file is None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class RecordingContents:
    """A recording's frames in file order, and whether its last record was torn off."""

    frames: list[tuple[int, AudioFrame]] = field(default_factory=list)
    truncated: bool = False

    @property
    def sealed(self) -> bool:
        """Whether any payload is end-to-end encrypted (and so cannot be exported here)."""
        return any(f.flags & FLAG_SEALED for _, f in self.frames)


def read_recording(path: StrPath) -> RecordingContents:
    """Parse a recording; a torn tail sets ``truncated``, a foreign file raises AudioError."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise AudioError(f"cannot read recording {path}: {exc}") from exc
    if len(data) < FILE_HEADER.size:
        # A crash before the header reached the disk: an empty recording, if it is a prefix.
        if FILE_HEADER.pack(MAGIC, VERSION).startswith(data):
            return RecordingContents([], truncated=True)
        raise AudioError(f"{path} is not a Siaga recording (bad magic)")
    magic, version = FILE_HEADER.unpack_from(data)
    if magic != MAGIC:
        raise AudioError(f"{path} is not a Siaga recording (bad magic)")
    if version != VERSION:
        raise AudioError(f"{path}: recording version {version} is not supported")
    frames: list[tuple[int, AudioFrame]] = []
    pos = FILE_HEADER.size
    while pos < len(data):
        if pos + RECORD.size > len(data):
            return RecordingContents(frames, truncated=True)
        offset_ms, length = RECORD.unpack_from(data, pos)
        pos += RECORD.size
        if pos + length > len(data):
            return RecordingContents(frames, truncated=True)
        try:
            frame = decode_audio(data[pos:pos + length])
        except ProtocolError as exc:
            raise AudioError(f"{path}: corrupt frame at byte {pos}: {exc.message}") from exc
        frames.append((offset_ms, frame))
        pos += length
    return RecordingContents(frames, truncated=False)


#: Opens one sealed frame (a :class:`siaga.client.keyring.Receiver`'s ``open``).
FrameOpener = Callable[[AudioFrame], AudioFrame]


def _playable(path: StrPath, opener: FrameOpener | None = None) -> list[AudioFrame]:
    """The recording's frames in sequence order, opened with ``opener`` if sealed."""
    contents = read_recording(path)
    if not contents.sealed:
        return [f for _, f in contents.frames]
    if opener is None:
        raise AudioError(
            f"{path} holds end-to-end encrypted audio; export it with the identity of a "
            "device holding the talkgroup key (--identity)"
        )
    opened = []
    for _, frame in contents.frames:
        try:
            opened.append(opener(frame))
        except SiagaError as exc:
            raise AudioError(f"{path}: frame {frame.seq} does not open: {exc.message}") from exc
    return opened


def payloads_in_order(frames: list[AudioFrame]) -> list[bytes | None]:
    """Payloads in order, ``None`` for each missing sequence number, repeats and strays dropped.

    Sequence numbers are u32 and may wrap, so each is compared by its distance to the last.
    """
    out: list[bytes | None] = []
    last: int | None = None
    for frame in frames:
        if not frame.payload:
            continue  # e.g. a bare end-of-transmission marker
        if last is not None:
            step = (frame.seq - last) & U32
            if step == 0 or step > U32 // 2:
                continue  # duplicate or older than what we already placed
            out.extend([None] * min(step - 1, MAX_GAP_FRAMES))
        out.append(frame.payload)
        last = frame.seq
    return out


def export_wav(src: StrPath, dst: StrPath, opener: FrameOpener | None = None) -> None:
    """Decode a recording to WAV, concealing missing frames so the timing stays true.

    Like an Ogg export, the codec's start-up delay (:data:`PRE_SKIP`) is trimmed, so both
    exports of one recording have the same length.
    """
    decoder = OpusDecoder()
    chunks: list[PCM] = [
        decoder.conceal() if payload is None else decoder.decode(payload)
        for payload in payloads_in_order(_playable(src, opener))
    ]
    pcm = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
    write_wav(dst, pcm[PRE_SKIP:] if len(pcm) >= FRAME_SAMPLES else pcm)


def export_ogg(src: StrPath, dst: StrPath, opener: FrameOpener | None = None) -> None:
    """Remux a recording's Opus packets into Ogg Opus without re-encoding.

    A missing frame becomes a one-byte packet (the previous TOC, no frame data), which Opus
    decoders conceal, so gaps keep their duration.
    """
    packets: list[bytes] = []
    last_toc = 0x08  # SILK wideband 20 ms, used only if the very first frames are missing
    for payload in payloads_in_order(_playable(src, opener)):
        if payload is None:
            packets.append(bytes([last_toc & 0xFC]))
        else:
            packets.append(payload)
            last_toc = payload[0]
    write_ogg_opus(dst, packets)


__all__ = [
    "MAGIC", "VERSION", "RecordingContents", "RecordingWriter", "export_ogg", "export_wav",
    "payloads_in_order", "read_recording",
]
