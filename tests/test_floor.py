"""Floor control: the state machine alone, with time stepped by hand."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from siaga.errors import ErrorCode, LocalProtocolError
from siaga.floor import (
    TRANSITIONS,
    Denied,
    EmergencyCleared,
    EmergencyRaised,
    Ended,
    Floor,
    Granted,
    Queued,
    Revoked,
    State,
)
from siaga.roster import Priority

STAFF, REGIONAL, COMMAND, EMERGENCY = (Priority.STAFF, Priority.REGIONAL, Priority.COMMAND,
                                       Priority.EMERGENCY)


def make_floor(**kw: float) -> Floor:
    counter = itertools.count(100)
    return Floor(new_stream=lambda: next(counter), **kw)


def test_idle_request_is_granted_with_deadline() -> None:
    f = make_floor(time_limit=30)
    [g] = f.request(1, STAFF, now=10.0)
    assert isinstance(g, Granted)
    assert (g.party, g.stream, g.deadline) == (1, 100, 40.0)
    assert f.state is State.TAKEN
    assert f.next_deadline() == 40.0


def test_equal_priority_queues_and_is_served_on_release() -> None:
    f = make_floor()
    f.request(1, REGIONAL, 0.0)
    assert f.request(2, REGIONAL, 1.0) == [Queued(2, 1)]
    assert f.request(3, REGIONAL, 2.0) == [Queued(3, 2)]
    events = f.release(1, 3.0)
    assert events[0] == Ended(1, 100, "completed", 3.0)
    assert isinstance(events[1], Granted) and events[1].party == 2
    assert Queued(3, 1) in events


def test_queue_orders_by_priority_then_arrival() -> None:
    f = make_floor()
    f.request(1, COMMAND, 0.0)
    f.request(2, STAFF, 1.0)
    f.request(3, REGIONAL, 2.0)
    f.request(4, STAFF, 3.0)
    f.request(5, REGIONAL, 4.0)
    assert [p for p, _ in f.queue] == [3, 5, 2, 4]


def test_higher_priority_preempts() -> None:
    f = make_floor()
    f.request(1, STAFF, 0.0)
    events = f.request(2, COMMAND, 5.0)
    assert events[:2] == [Revoked(1, 100, "preempted"), Ended(1, 100, "preempted", 5.0)]
    assert isinstance(events[2], Granted) and events[2].party == 2
    assert f.holder is not None and f.holder.party == 2


def test_preempted_talker_is_not_requeued() -> None:
    f = make_floor()
    f.request(1, STAFF, 0.0)
    f.request(2, COMMAND, 1.0)
    assert f.queue == []


def test_emergency_takes_floor_from_governor_and_stays_until_cleared() -> None:
    f = make_floor(emergency_time_limit=90)
    f.request(1, COMMAND, 0.0)
    events = f.request(2, STAFF, 1.0, emergency=True)
    assert Revoked(1, 100, "emergency") in events
    assert EmergencyRaised(2, 1.0) in events
    grant = events[-1]
    assert isinstance(grant, Granted) and grant.emergency and grant.deadline == 91.0
    f.release(2, 5.0)
    assert f.emergency
    # the initiator keeps emergency priority while the state lasts
    f.request(3, COMMAND, 6.0)
    events = f.request(2, STAFF, 7.0)
    assert any(isinstance(e, Revoked) and e.party == 3 for e in events)
    assert f.clear_emergency(9, 8.0) == [EmergencyCleared(9, 8.0)]
    assert not f.emergency
    with pytest.raises(LocalProtocolError) as info:
        f.clear_emergency(9, 9.0)
    assert info.value.code == ErrorCode.NO_EMERGENCY


def test_time_limit_cuts_off_and_serves_queue() -> None:
    f = make_floor(time_limit=10)
    f.request(1, STAFF, 0.0)
    f.request(2, STAFF, 1.0)
    assert f.tick(9.99) == []
    events = f.tick(10.5)
    assert events[0] == Revoked(1, 100, "time_limit")
    assert events[1] == Ended(1, 100, "timed_out", 10.0)
    assert isinstance(events[2], Granted) and events[2].started_at == 10.0


def test_queue_wait_expires() -> None:
    f = make_floor(time_limit=100, queue_timeout=5)
    f.request(1, STAFF, 0.0)
    f.request(2, STAFF, 1.0)
    f.request(3, STAFF, 2.0)
    events = f.tick(6.5)
    assert events[0] == Denied(2, ErrorCode.FLOOR_BUSY, "waited 5 s in the queue")
    assert Queued(3, 1) in events


def test_drop_of_holder_ends_with_connection_lost() -> None:
    f = make_floor()
    f.request(1, STAFF, 0.0)
    f.request(2, STAFF, 0.5)
    events = f.drop(1, 2.0)
    assert events[0] == Ended(1, 100, "connection_lost", 2.0)
    assert isinstance(events[1], Granted) and events[1].party == 2


def test_drop_of_waiter_and_release_of_waiter() -> None:
    f = make_floor()
    f.request(1, STAFF, 0.0)
    f.request(2, STAFF, 0.5)
    f.request(3, STAFF, 0.6)
    assert f.drop(2, 1.0) == [Queued(3, 1)]
    assert f.release(3, 1.0) == []
    assert f.queue == []


def test_release_by_stranger_is_local_misuse() -> None:
    f = make_floor()
    with pytest.raises(LocalProtocolError):
        f.release(1, 0.0)


def test_holder_pressing_again_is_denied() -> None:
    f = make_floor()
    f.request(1, STAFF, 0.0)
    [d] = f.request(1, STAFF, 1.0)
    assert isinstance(d, Denied) and d.code == ErrorCode.ALREADY_TRANSMITTING


def test_repeated_request_keeps_position() -> None:
    f = make_floor()
    f.request(1, STAFF, 0.0)
    f.request(2, STAFF, 0.0)
    f.request(3, STAFF, 0.0)
    assert f.request(2, STAFF, 1.0) == [Queued(2, 1)]


def test_close_interrupts_and_turns_away_queue() -> None:
    f = make_floor()
    f.request(1, STAFF, 0.0)
    f.request(2, STAFF, 0.0)
    events = f.close(3.0)
    assert Denied(2, ErrorCode.FLOOR_BUSY, "server shutting down") in events
    assert Ended(1, 100, "interrupted", 3.0) in events
    assert f.state is State.IDLE and f.next_deadline() is None


def test_transition_table_covers_every_state() -> None:
    sources = {s for s, _ in TRANSITIONS}
    targets = {t for ts in TRANSITIONS.values() for t in ts}
    assert sources == targets == set(State)


def test_positive_limits_required() -> None:
    with pytest.raises(LocalProtocolError):
        make_floor(time_limit=0)


# ---- property-based: the invariants hold under any sequence of presses and ticks ----------------

PARTIES = st.integers(min_value=1, max_value=6)
PRIORITIES = st.sampled_from([STAFF, REGIONAL, COMMAND])


class FloorMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.floor = make_floor(time_limit=7, emergency_time_limit=11, queue_timeout=5)
        self.now = 0.0
        self.talking: int | None = None
        self.granted_streams: set[int] = set()

    def _absorb(self, events: list[object]) -> None:
        for ev in events:
            if isinstance(ev, Granted):
                assert self.talking is None, "granted while someone else still talks"
                assert ev.stream not in self.granted_streams
                self.granted_streams.add(ev.stream)
                self.talking = ev.party
            elif isinstance(ev, Ended):
                assert self.talking == ev.party
                self.talking = None

    @rule(party=PARTIES, priority=PRIORITIES)
    def press(self, party: int, priority: Priority) -> None:
        holder = self.floor.holder
        events = self.floor.request(party, priority, self.now)
        self._absorb(list(events))
        granted = [e for e in events if isinstance(e, Granted)]
        if holder is None:
            assert granted and granted[-1].party == party
        elif holder.party != party and priority > holder.priority:
            assert granted and granted[-1].party == party
            assert Revoked(holder.party, holder.stream, "preempted") in events

    @rule(party=PARTIES)
    def emergency(self, party: int) -> None:
        holder = self.floor.holder
        if holder is not None and holder.party == party:
            return
        events = self.floor.request(party, STAFF, self.now, emergency=True)
        self._absorb(list(events))
        # an emergency never waits
        assert isinstance(events[-1], Granted) and events[-1].party == party
        assert self.floor.emergency

    @precondition(lambda self: self.floor.holder is not None)
    @rule()
    def release_holder(self) -> None:
        assert self.floor.holder is not None
        self._absorb(list(self.floor.release(self.floor.holder.party, self.now)))

    @rule(party=PARTIES)
    def drop(self, party: int) -> None:
        self._absorb(list(self.floor.drop(party, self.now)))
        assert self.floor.position(party) is None
        assert self.floor.holder is None or self.floor.holder.party != party

    @precondition(lambda self: self.floor.emergency)
    @rule()
    def clear(self) -> None:
        self.floor.clear_emergency(99, self.now)

    @rule(dt=st.floats(min_value=0.0, max_value=8.0))
    def advance(self, dt: float) -> None:
        self.now += dt
        self._absorb(list(self.floor.tick(self.now)))
        # time limits always fire: nothing is left overdue after a tick
        deadline = self.floor.next_deadline()
        assert deadline is None or deadline > self.now

    @invariant()
    def one_talker_matches(self) -> None:
        holder = self.floor.holder
        assert (holder.party if holder else None) == self.talking
        assert self.floor.state is (State.TAKEN if holder else State.IDLE)

    @invariant()
    def queue_sorted_and_unique(self) -> None:
        queue = self.floor.queue
        parties = [p for p, _ in queue]
        assert len(parties) == len(set(parties))
        assert self.talking not in parties
        prios = [p for _, p in queue]
        assert prios == sorted(prios, reverse=True)

    @invariant()
    def holder_within_limit(self) -> None:
        holder = self.floor.holder
        if holder is not None:
            limit = 11 if holder.emergency else 7
            assert holder.deadline - holder.started_at == pytest.approx(limit)


TestFloorMachine = FloorMachine.TestCase
TestFloorMachine.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)


def test_queue_served_in_arrival_order_within_priority() -> None:
    f = make_floor()
    f.request(0, COMMAND, 0.0)
    order = [(1, STAFF), (2, REGIONAL), (3, STAFF), (4, REGIONAL), (5, STAFF)]
    for i, (party, prio) in enumerate(order):
        f.request(party, prio, 1.0 + i)
    served = []
    holder = 0
    for t in range(10, 16):
        for ev in f.release(holder, float(t)):
            if isinstance(ev, Granted):
                served.append(ev.party)
                holder = ev.party
        if f.holder is None:
            break
    assert served == [2, 4, 1, 3, 5]
