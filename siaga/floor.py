"""Floor control for one talkgroup: who may talk now, who waits, and for how long.

A sans-I/O state machine in the manner of h11: it is fed calls with the current time and returns
the events that follow; it never reads a clock, sleeps or sends. The caller asks
:meth:`Floor.next_deadline` when to call :meth:`Floor.tick` next, so transmit time limits and queue
expiry are exact and testable without waiting.

Rules, in the order they are applied to a request:

1. An emergency request takes the floor at once, whoever holds it, and puts the talkgroup into
   emergency state until an authorised member clears it. While that state lasts, the member who
   raised it keeps emergency priority.
2. Otherwise an idle floor is granted.
3. A request of strictly higher priority than the holder's pre-empts the holder.
4. Anything else waits in a queue ordered by priority, then arrival, for at most
   ``queue_timeout`` seconds.

Every grant carries a deadline (``time_limit``, or ``emergency_time_limit`` for emergency
grants); at the deadline the talker is cut off and told why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Final, Literal

from .errors import ErrorCode, LocalProtocolError
from .roster import Priority


class State(Enum):
    IDLE = "idle"
    TAKEN = "taken"


class Trigger(Enum):
    REQUEST = "request"
    PREEMPT = "preempt"
    EMERGENCY = "emergency"
    RELEASE = "release"
    TIME_LIMIT = "time_limit"
    DROP = "drop"


#: The legal transitions of the floor. ``docs/protocol.md`` draws its diagram from this table,
#: and :meth:`Floor._move` refuses anything not listed. Where two targets are listed, the floor
#: becomes TAKEN again if someone was waiting in the queue and IDLE otherwise.
TRANSITIONS: Final[dict[tuple[State, Trigger], tuple[State, ...]]] = {
    (State.IDLE, Trigger.REQUEST): (State.TAKEN,),
    (State.IDLE, Trigger.EMERGENCY): (State.TAKEN,),
    (State.TAKEN, Trigger.REQUEST): (State.TAKEN,),  # queued, or denied
    (State.TAKEN, Trigger.PREEMPT): (State.TAKEN,),
    (State.TAKEN, Trigger.EMERGENCY): (State.TAKEN,),
    (State.TAKEN, Trigger.RELEASE): (State.IDLE, State.TAKEN),
    (State.TAKEN, Trigger.TIME_LIMIT): (State.IDLE, State.TAKEN),
    (State.TAKEN, Trigger.DROP): (State.IDLE, State.TAKEN),
}

Outcome = Literal["completed", "preempted", "timed_out", "connection_lost", "interrupted"]
RevokeReason = Literal["preempted", "time_limit", "emergency"]


# ---- events (what happened; past tense) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Granted:
    party: int
    stream: int
    priority: Priority
    emergency: bool
    started_at: float
    deadline: float


@dataclass(frozen=True, slots=True)
class Queued:
    """``party`` waits at ``position`` (1 = next). Sent again whenever the position changes."""

    party: int
    position: int


@dataclass(frozen=True, slots=True)
class Denied:
    party: int
    code: ErrorCode
    reason: str


@dataclass(frozen=True, slots=True)
class Revoked:
    """The holder lost the floor against its will and must stop sending."""

    party: int
    stream: int
    reason: RevokeReason


@dataclass(frozen=True, slots=True)
class Ended:
    """A transmission ended, for whatever reason; the recording can be closed."""

    party: int
    stream: int
    outcome: Outcome
    ended_at: float


@dataclass(frozen=True, slots=True)
class EmergencyRaised:
    party: int
    at: float


@dataclass(frozen=True, slots=True)
class EmergencyCleared:
    by: int
    at: float


FloorEvent = Granted | Queued | Denied | Revoked | Ended | EmergencyRaised | EmergencyCleared


@dataclass(slots=True)
class _Holder:
    party: int
    stream: int
    priority: Priority
    emergency: bool
    started_at: float
    deadline: float


@dataclass(slots=True)
class _Waiter:
    party: int
    priority: Priority
    arrival: int
    expires: float


class Floor:
    """The floor of one talkgroup.

    ``party`` is whatever integer the caller uses for a talker (the server uses connection ids).
    ``new_stream`` hands out the stream id for each grant, so ids stay unique across talkgroups.
    """

    def __init__(
        self,
        *,
        new_stream: Callable[[], int],
        time_limit: float = 60.0,
        emergency_time_limit: float = 120.0,
        queue_timeout: float = 30.0,
    ) -> None:
        if min(time_limit, emergency_time_limit, queue_timeout) <= 0:
            raise LocalProtocolError("floor time limits must be positive")
        self._new_stream = new_stream
        self.time_limit = time_limit
        self.emergency_time_limit = emergency_time_limit
        self.queue_timeout = queue_timeout
        self.state = State.IDLE
        self.holder: _Holder | None = None
        self._queue: list[_Waiter] = []
        self._arrivals = 0
        self.emergency = False
        self.emergency_party: int | None = None

    # ---- queries ----------------------------------------------------------------------------

    @property
    def queue(self) -> list[tuple[int, Priority]]:
        """Waiting parties in service order."""
        return [(w.party, w.priority) for w in self._queue]

    def position(self, party: int) -> int | None:
        for i, w in enumerate(self._queue, start=1):
            if w.party == party:
                return i
        return None

    def next_deadline(self) -> float | None:
        times = [w.expires for w in self._queue]
        if self.holder is not None:
            times.append(self.holder.deadline)
        return min(times) if times else None

    # ---- inputs -----------------------------------------------------------------------------

    def request(self, party: int, priority: Priority, now: float,
                emergency: bool = False, may_preempt: bool = True) -> list[FloorEvent]:
        """A PTT press. Returns a grant, a queue position or a denial (plus any pre-emption).

        ``may_preempt=False`` (a talkgroup rule) makes a higher priority wait first in line
        instead of cutting in; an emergency still never waits."""
        events: list[FloorEvent] = []
        if self.holder is not None and self.holder.party == party:
            return [Denied(party, ErrorCode.ALREADY_TRANSMITTING, "you already hold the floor")]
        if emergency:
            return self._emergency(party, now)
        if self.emergency and party == self.emergency_party:
            priority = Priority.EMERGENCY
        if self.holder is None:
            self._move(Trigger.REQUEST)
            self._remove_waiter(party, events)
            events.append(self._grant(party, priority, False, now))
            return events
        if priority > self.holder.priority and may_preempt:
            self._move(Trigger.PREEMPT)
            self._remove_waiter(party, events)
            events += self._end_holder("preempted", now, revoke="preempted")
            events.append(self._grant(party, priority, False, now))
            return events
        self._move(Trigger.REQUEST)
        return self._enqueue(party, priority, now)

    def release(self, party: int, now: float) -> list[FloorEvent]:
        """PTT let go. Releasing a queued request withdraws it."""
        if self.holder is None or self.holder.party != party:
            events: list[FloorEvent] = []
            if self._remove_waiter(party, events):
                return events
            raise LocalProtocolError("release by a party that neither holds nor waits")
        self._move(Trigger.RELEASE)
        events = self._end_holder("completed", now)
        events += self._serve_queue(now)
        return events

    def drop(self, party: int, now: float) -> list[FloorEvent]:
        """The party is gone (connection lost, left the talkgroup): forget it everywhere."""
        events: list[FloorEvent] = []
        self._remove_waiter(party, events)
        if self.holder is not None and self.holder.party == party:
            self._move(Trigger.DROP)
            events += self._end_holder("connection_lost", now)
            events += self._serve_queue(now)
        return events

    def clear_emergency(self, by: int, now: float) -> list[FloorEvent]:
        """End the emergency state; authorisation is the caller's business."""
        if not self.emergency:
            raise LocalProtocolError("no emergency to clear", ErrorCode.NO_EMERGENCY)
        self.emergency = False
        self.emergency_party = None
        return [EmergencyCleared(by, now)]

    def tick(self, now: float) -> list[FloorEvent]:
        """Fire every deadline that has passed, in time order."""
        events: list[FloorEvent] = []
        while (deadline := self.next_deadline()) is not None and deadline <= now:
            if self.holder is not None and self.holder.deadline == deadline:
                self._move(Trigger.TIME_LIMIT)
                events += self._end_holder("timed_out", deadline, revoke="time_limit")
                events += self._serve_queue(deadline)
                continue
            expired = next(w for w in self._queue if w.expires == deadline)
            self._queue.remove(expired)
            events.append(Denied(expired.party, ErrorCode.FLOOR_BUSY,
                                 f"waited {self.queue_timeout:g} s in the queue"))
            events += self._positions()
        return events

    def close(self, now: float) -> list[FloorEvent]:
        """Shut down: end the transmission in progress and turn away everyone waiting."""
        events: list[FloorEvent] = []
        for w in self._queue:
            events.append(Denied(w.party, ErrorCode.FLOOR_BUSY, "server shutting down"))
        self._queue.clear()
        if self.holder is not None:
            self._move(Trigger.DROP)
            events += self._end_holder("interrupted", now)
        return events

    # ---- internals --------------------------------------------------------------------------

    def _move(self, trigger: Trigger) -> None:
        if (self.state, trigger) not in TRANSITIONS:
            raise LocalProtocolError(f"floor cannot {trigger.value} while {self.state.value}")

    def _settle(self) -> None:
        self.state = State.IDLE if self.holder is None else State.TAKEN

    def _emergency(self, party: int, now: float) -> list[FloorEvent]:
        self._move(Trigger.EMERGENCY)
        events: list[FloorEvent] = []
        self._remove_waiter(party, events)
        if self.holder is not None:
            events += self._end_holder("preempted", now, revoke="emergency")
        if not self.emergency or self.emergency_party != party:
            events.append(EmergencyRaised(party, now))
        self.emergency = True
        self.emergency_party = party
        events.append(self._grant(party, Priority.EMERGENCY, True, now))
        return events

    def _grant(self, party: int, priority: Priority, emergency: bool, now: float) -> Granted:
        limit = self.emergency_time_limit if emergency else self.time_limit
        self.holder = _Holder(party, self._new_stream(), priority, emergency, now, now + limit)
        self._settle()
        h = self.holder
        return Granted(h.party, h.stream, h.priority, h.emergency, h.started_at, h.deadline)

    def _end_holder(self, outcome: Outcome, now: float,
                    revoke: RevokeReason | None = None) -> list[FloorEvent]:
        h = self.holder
        assert h is not None
        self.holder = None
        self._settle()
        events: list[FloorEvent] = []
        if revoke is not None:
            events.append(Revoked(h.party, h.stream, revoke))
        events.append(Ended(h.party, h.stream, outcome, now))
        return events

    def _serve_queue(self, now: float) -> list[FloorEvent]:
        if self.holder is not None or not self._queue:
            return []
        w = self._queue.pop(0)
        events: list[FloorEvent] = [self._grant(w.party, w.priority, False, now)]
        return events + self._positions()

    def _enqueue(self, party: int, priority: Priority, now: float) -> list[FloorEvent]:
        existing = next((w for w in self._queue if w.party == party), None)
        if existing is not None and existing.priority >= priority:
            return [Queued(party, self._queue.index(existing) + 1)]
        if existing is not None:
            self._queue.remove(existing)
        self._arrivals += 1
        waiter = _Waiter(party, priority, self._arrivals, now + self.queue_timeout)
        # Stable insert: after every waiter of equal or higher priority.
        index = next((i for i, w in enumerate(self._queue) if w.priority < priority),
                     len(self._queue))
        self._queue.insert(index, waiter)
        return self._positions(only_from=index)

    def _remove_waiter(self, party: int, events: list[FloorEvent]) -> bool:
        for i, w in enumerate(self._queue):
            if w.party == party:
                del self._queue[i]
                events += self._positions(only_from=i)
                return True
        return False

    def _positions(self, only_from: int = 0) -> list[FloorEvent]:
        return [Queued(w.party, i) for i, w in enumerate(self._queue, start=1)
                if i > only_from]


__all__ = [
    "TRANSITIONS",
    "Denied",
    "EmergencyCleared",
    "EmergencyRaised",
    "Ended",
    "Floor",
    "FloorEvent",
    "Granted",
    "Queued",
    "Revoked",
    "State",
    "Trigger",
]
