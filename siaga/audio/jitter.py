"""Receive-side jitter buffer for one audio stream, sans-I/O.

Frames reach a listener with variable delay and occasionally out of order or twice, but must
be played one every 20 ms. The buffer holds a little audio back (``target_ms``) so a late
frame still makes its slot, re-orders, and tells the caller when a slot has no frame so it can
conceal (:meth:`siaga.audio.OpusDecoder.conceal`). Playout is driven entirely by the caller:
call :meth:`JitterBuffer.pop` on every tick of its 20 ms clock and pass the time in.

The playout clock is fixed once started: a frame that arrives after its slot was declared
lost is dropped as *late* rather than stretching the delay, so latency stays bounded and the
listener hears the talker in real time. If the backlog ever exceeds ``max_ms`` (the sender
bursts after a stall), playout skips forward to the target depth.

Sequence numbers are the wire's u32 and may wrap; they are unwrapped internally relative to
the highest one seen, so a stream can cross ``0xFFFFFFFF -> 0`` without noticing.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Final

from ..wire import U32
from .opus import FRAME_MS

_HALF: Final = 1 << 31


@dataclass(frozen=True, slots=True)
class Lost:
    """Marker returned by :meth:`JitterBuffer.pop` for a slot whose frame is missing."""

    seq: int


@dataclass(slots=True)
class JitterStats:
    """Counters for diagnostics. Every push lands in exactly one of received/late/duplicate."""

    received: int = 0  # accepted into the buffer
    late: int = 0  # arrived after its slot was played or concealed (or after the stream's end)
    duplicate: int = 0  # a copy of a buffered or already played frame
    reordered: int = 0  # accepted, but with a lower sequence than one already seen
    played: int = 0  # payloads handed out by pop()
    lost: int = 0  # Lost markers handed out by pop()
    skipped: int = 0  # slots jumped over to keep the backlog under max_ms


def _diff(a: int, b: int) -> int:
    """Signed distance from u32 ``b`` to u32 ``a``, assuming they are within 2**31."""
    return ((a - b + _HALF) & U32) - _HALF


class JitterBuffer:
    """Re-orders one stream's frames and releases one per ``pop`` at the caller's pace."""

    def __init__(self, target_ms: int = 60, max_ms: int = 400, frame_ms: int = FRAME_MS) -> None:
        if frame_ms <= 0 or target_ms < 0 or max_ms < max(target_ms, frame_ms):
            raise ValueError("need frame_ms > 0 and 0 <= target_ms <= max_ms, max_ms >= frame_ms")
        self.target_ms = target_ms
        self.max_ms = max_ms
        self._target = max(1, math.ceil(target_ms / frame_ms))
        self._max = max(self._target, max_ms // frame_ms)
        self._frames: dict[int, bytes] = {}  # unwrapped seq -> payload
        self._next: int | None = None  # unwrapped seq of the next slot; None until playout
        self._highest: int | None = None
        self._first_at: float | None = None
        self._ended = False
        self._end: int | None = None  # unwrapped seq of the last frame, when known
        self._played: deque[int] = deque()
        self._played_set: set[int] = set()
        self.stats = JitterStats()

    # ---- input ---------------------------------------------------------------------------

    def _unwrap(self, seq: int) -> int:
        if not 0 <= seq <= U32:
            raise ValueError(f"sequence {seq} is not a u32")
        return seq if self._highest is None else self._highest + _diff(seq, self._highest & U32)

    def push(self, seq: int, payload: bytes, now: float, end: bool = False) -> None:
        """Offer a received frame; ``end`` marks it as the transmission's last one."""
        ext = self._unwrap(seq)
        if end:
            self._set_end(ext)
        too_late = self._next is not None and ext < self._next
        if too_late or (self._end is not None and ext > self._end):
            if ext in self._played_set:
                self.stats.duplicate += 1
            else:
                self.stats.late += 1
            return
        if ext in self._frames:
            self.stats.duplicate += 1
            return
        if self._highest is None or ext > self._highest:
            self._highest = ext
        else:
            self.stats.reordered += 1
        if self._first_at is None:
            self._first_at = now
        self._frames[ext] = payload
        self.stats.received += 1
        self._bound()

    def end_stream(self, last_seq: int | None = None) -> None:
        """The transmission is over (e.g. ``talker_stop``): play out what is left, then stop.

        With ``last_seq`` known, slots up to it are still played (or concealed); without it,
        playout stops as soon as the buffer is empty.
        """
        if last_seq is not None:
            self._set_end(self._unwrap(last_seq))
        self._ended = True

    def _set_end(self, ext: int) -> None:
        self._ended = True
        if self._end is None or ext < self._end:
            self._end = ext
            for key in [k for k in self._frames if k > ext]:
                del self._frames[key]

    def _bound(self) -> None:
        """Keep the backlog within ``max_ms`` by jumping playout forward to the target depth."""
        if self._next is None or self._highest is None:
            return
        if self._highest - self._next + 1 <= self._max:
            return
        new_next = self._highest - self._target + 1
        self.stats.skipped += new_next - self._next
        for key in [k for k in self._frames if k < new_next]:
            del self._frames[key]
        self._next = new_next

    # ---- output --------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._next is not None

    @property
    def depth(self) -> int:
        """Frames waiting in the buffer."""
        return len(self._frames)

    @property
    def done(self) -> bool:
        """The stream has ended and everything in it has been handed out."""
        if not self._ended:
            return False
        if self._next is None:
            return not self._frames
        if self._end is not None:
            return self._next > self._end
        return not self._frames

    def pop(self, now: float) -> bytes | Lost | None:
        """The payload for this 20 ms tick, :class:`Lost` for a gap, or ``None`` for "nothing".

        ``None`` means playout has not started (still filling to ``target_ms``) or the stream
        is :attr:`done`; the caller plays nothing rather than concealing.
        """
        if self._next is None:
            if not self._frames or not self._ready(now):
                return None
            self._next = min(self._frames)
            self._bound()
        if self.done:
            return None
        seq = self._next
        self._next += 1
        payload = self._frames.pop(seq, None)
        if payload is None:
            self.stats.lost += 1
            return Lost(seq & U32)
        self.stats.played += 1
        self._remember(seq)
        return payload

    def drain(self) -> list[bytes | Lost]:
        """End the stream and return everything left at once (no clock needed)."""
        self._ended = True
        out: list[bytes | Lost] = []
        while (item := self.pop(math.inf)) is not None:
            out.append(item)
        return out

    def _ready(self, now: float) -> bool:
        # An END-flagged frame may overtake earlier ones, so it only marks where the stream
        # stops; an explicit end_stream() (the talker is gone) means play out at once.
        if (self._ended and self._end is None) or len(self._frames) >= self._target:
            return True
        return self._first_at is not None and now - self._first_at >= self.target_ms / 1000

    def _remember(self, seq: int) -> None:
        self._played.append(seq)
        self._played_set.add(seq)
        if len(self._played) > self._max:
            self._played_set.discard(self._played.popleft())


__all__ = ["JitterBuffer", "JitterStats", "Lost"]
