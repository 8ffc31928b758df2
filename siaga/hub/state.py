"""The hub's per-connection and per-talkgroup state, and its limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from ..floor import (
    Floor,
)
from ..roster import Member, Talkgroup

#: WebSocket close codes used by the hub.
CLOSE_GOING_AWAY: Final = 1001
CLOSE_PROTOCOL_ERROR: Final = 1002
CLOSE_POLICY: Final = 1008

#: Control messages: a burst of this many, refilled at this many per second.
CONTROL_BURST: Final = 30.0
CONTROL_RATE: Final = 10.0
#: Audio frames: 20 ms frames arrive at 50/s; allow jitter bursts, not floods.
AUDIO_BURST: Final = 150.0
AUDIO_RATE: Final = 75.0
#: A connection that keeps misbehaving after this many refusals in a row is closed.
MAX_STRIKES: Final = 50
#: Minimum seconds between two "you are not the talker" errors to one connection.
NOT_HOLDER_ERROR_INTERVAL: Final = 5.0
#: Presence changes are gathered for this long and sent as one message: when a thousand
#: radios come on the air at once, each hears a few messages rather than a thousand.
PRESENCE_BATCH: Final = 0.25





# ---- state -----------------------------------------------------------------------------------


class _Bucket:
    """Token bucket: cheap flood protection with time passed in."""

    __slots__ = ("burst", "last", "rate", "tokens")

    def __init__(self, burst: float, rate: float, now: float) -> None:
        self.burst, self.rate, self.tokens, self.last = burst, rate, burst, now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(slots=True)
class Session:
    conn: int
    control: _Bucket
    audio: _Bucket
    member: Member | None = None
    device: str = ""
    nonce: bytes = b""
    peer: str = ""
    enrolling: bool = False
    last_position: float = float("-inf")
    joined: set[str] = field(default_factory=set)
    strikes: int = 0
    last_not_holder_error: float = float("-inf")
    #: A session of the HTTP API: it asks and is answered, but is not "on the air" (no
    #: presence, no voice, nothing pushed to it; a radio of the same device is not displaced).
    api: bool = False

    @property
    def on_air(self) -> bool:
        """Signed in from a radio or console: it receives what is pushed to its member."""
        return self.member is not None and not self.api


@dataclass(slots=True)
class _Stream:
    stream: int
    conn: int
    group: _Group
    member: Member
    last_seq: int = -1
    talker_start: str = ""
    sealed: bool = False  # announced with an envelope: plaintext frames are refused


@dataclass(slots=True)
class _Group:
    tg: Talkgroup
    floor: Floor
    listeners: dict[int, None] = field(default_factory=dict)  # ordered set of conns
    active: _Stream | None = None
    targets: tuple[int, ...] = ()
    e2e: dict[int, str] = field(default_factory=dict)  # envelopes of pending requests
    emergency_member: str = ""

    def refresh_targets(self) -> None:
        talker = self.active.conn if self.active else -1
        self.targets = tuple(c for c in self.listeners if c != talker)


@dataclass(slots=True)
class Stats:
    frames_in: int = 0
    deliveries: int = 0
    dropped_not_holder: int = 0
    dropped_bad: int = 0
    dropped_stale: int = 0
    dropped_rate: int = 0
    control_in: int = 0
    errors_sent: int = 0
    transmissions: int = 0


