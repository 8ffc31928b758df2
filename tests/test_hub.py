"""The hub alone: control messages in, outputs out, time stepped by hand, no sockets."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from siaga import wire
from siaga.errors import ErrorCode
from siaga.hub import (
    Close,
    Hub,
    Output,
    RecordEnd,
    RecordStart,
    Send,
)
from siaga.hub.state import (
    CLOSE_GOING_AWAY,
    CLOSE_POLICY,
    CLOSE_PROTOCOL_ERROR,
    CONTROL_BURST,
    MAX_STRIKES,
    PRESENCE_BATCH,
)
from siaga.roster import Roster

T0 = 1_700_000_000.0


class Harness:
    """A hub plus the bookkeeping a test needs: who is which connection, what each received."""

    def __init__(self, roster: Roster) -> None:
        self.hub = Hub(roster)
        self.roster = roster
        self.now = T0
        self.next_conn = 1
        self.out: list[Output] = []

    def step(self, seconds: float) -> None:
        self.now += seconds

    def open(self) -> int:
        conn = self.next_conn
        self.next_conn += 1
        self.hub.connect(conn, self.now)
        return conn

    def send(self, conn: int, msg: wire.ClientMessage | str) -> list[Output]:
        text = msg if isinstance(msg, str) else wire.encode(msg)
        self.out = self.hub.receive_text(conn, text, self.now)
        return self.out

    def login(self, member: str, device: str = "ht", *joins: str) -> int:
        """Sign in (and let the presence batch go out, so deadlines are the floors' again)."""
        conn = self.open()
        out = self.send(conn, wire.Hello(v=1, member=member, device=device))
        assert any(isinstance(m, wire.Welcome) for m in msgs(out, conn)), out
        self.hub.tick(self.now + PRESENCE_BATCH)
        for tg in joins:
            out = self.send(conn, wire.Join(talkgroup=tg))
            assert isinstance(only(out, conn), wire.Joined), out
        return conn

    def request(self, conn: int, tg: str, **kw: object) -> list[Output]:
        return self.send(conn, wire.FloorRequest(talkgroup=tg, **kw))  # type: ignore[arg-type]

    def grant(self, conn: int, tg: str) -> wire.FloorGranted:
        out = self.request(conn, tg)
        granted = [m for m in msgs(out, conn) if isinstance(m, wire.FloorGranted)]
        assert granted, out
        return granted[0]

    def audio(self, conn: int, number: int, stream: int, seq: int) -> tuple[int, tuple[int, ...]]:
        data = wire.AudioFrame(number, stream, seq, seq * 20, b"\xf8\xff\xfe").encode()
        return self.hub.route_audio(conn, data, self.now)

    def number(self, tg: str) -> int:
        return self.roster.talkgroups[tg].number


def msgs(out: Iterable[Output], conn: int) -> list[wire.ServerMessage]:
    """The control messages ``conn`` receives from these outputs, decoded, in order."""
    return [wire.decode_server(o.text) for o in out if isinstance(o, Send) and conn in o.to]


def only(out: Iterable[Output], conn: int) -> wire.ServerMessage:
    got = msgs(out, conn)
    assert len(got) == 1, got
    return got[0]


def of_type(out: Iterable[Output], conn: int, kind: type[wire.ServerMessage]
            ) -> list[wire.ServerMessage]:
    return [m for m in msgs(out, conn) if isinstance(m, kind)]


def error_code(out: Iterable[Output], conn: int) -> str:
    errors = [m for m in msgs(out, conn) if isinstance(m, wire.Error)]
    assert len(errors) == 1, list(out)
    return errors[0].code


def closes(out: Iterable[Output]) -> list[Close]:
    return [o for o in out if isinstance(o, Close)]


def in_emergency(h: Harness, tg: str) -> bool:
    return h.hub._groups[tg].floor.emergency


@pytest.fixture
def h(roster: Roster) -> Harness:
    return Harness(roster)


# ---- sign in ----------------------------------------------------------------------------------


def test_hello_welcome_lists_talkgroups_and_rights(h: Harness) -> None:
    gov = h.open()
    out = h.send(gov, wire.Hello(v=1, member="gubernur", device="ht", ref=11))
    [welcome] = of_type(out, gov, wire.Welcome)
    assert isinstance(welcome, wire.Welcome)
    assert welcome.ref == 11 and welcome.member.id == "gubernur"
    assert welcome.member.role == "governor"
    ids = [t.id for t in welcome.talkgroups]
    assert ids == [tg.id for tg in h.roster.talkgroups_of("gubernur")]
    assert {"komando", "kerinci", "gabungan", "darurat"} <= set(ids)
    assert all(t.can_transmit for t in welcome.talkgroups)
    assert {t.id: t.number for t in welcome.talkgroups}["komando"] == h.number("komando")
    assert not closes(out)

    op = h.open()
    out = h.send(op, wire.Hello(v=1, member="operator-provinsi", device="ht"))
    [welcome] = of_type(out, op, wire.Welcome)
    assert isinstance(welcome, wire.Welcome)
    rights = {t.id: t.can_transmit for t in welcome.talkgroups}
    assert rights["komando"] is False
    assert rights["kerinci"] is True and rights["darurat"] is True
    # The governor, already online, hears that the operator came online, in the next batch.
    assert of_type(out, gov, wire.Presence) == []
    assert h.hub.next_deadline() == h.now + PRESENCE_BATCH
    [presence] = of_type(h.hub.tick(h.now + PRESENCE_BATCH), gov, wire.Presence)
    assert presence == wire.Presence(online=["gubernur", "operator-provinsi"])  # one batch

    # A welcome goes only to the connection that said hello, even for the same member.
    first = h.login("bupati-kerinci", "one")
    out = h.send(h.open(), wire.Hello(v=1, member="bupati-kerinci", device="two"))
    assert of_type(out, first, wire.Welcome) == []
    # A second device of a member already online changes nobody's presence.
    assert of_type(h.hub.tick(h.now + PRESENCE_BATCH), gov, wire.Presence) == []


def test_regional_head_talkgroups(h: Harness) -> None:
    conn = h.open()
    [welcome] = of_type(h.send(conn, wire.Hello(v=1, member="bupati-kerinci", device="d")),
                        conn, wire.Welcome)
    assert isinstance(welcome, wire.Welcome)
    assert {t.id for t in welcome.talkgroups} == {"komando", "kerinci", "gabungan", "darurat"}


@pytest.mark.parametrize("msg", [
    wire.Join(talkgroup="komando"),
    wire.Leave(talkgroup="komando"),
    wire.FloorRequest(talkgroup="komando"),
    wire.FloorRelease(talkgroup="komando"),
    wire.EmergencyClear(talkgroup="darurat"),
])
def test_messages_before_hello_are_refused(h: Harness, msg: wire.ClientMessage) -> None:
    conn = h.open()
    out = h.send(conn, msg)
    assert error_code(out, conn) == ErrorCode.NOT_AUTHENTICATED
    assert not closes(out)
    # A ping needs no hello.
    assert isinstance(only(h.send(conn, wire.Ping(t=1.5, ref=2)), conn), wire.Pong)


def test_unknown_member_is_closed(h: Harness) -> None:
    conn = h.open()
    out = h.send(conn, wire.Hello(v=1, member="penyusup", device="d", ref=3))
    [err] = of_type(out, conn, wire.Error)
    assert isinstance(err, wire.Error)
    assert (err.code, err.ref) == (ErrorCode.UNKNOWN_MEMBER, 3)
    assert closes(out) == [Close(conn, CLOSE_POLICY, "unknown_member")]
    assert h.hub.sessions[conn].member is None


def test_wrong_version_is_closed(h: Harness) -> None:
    conn = h.open()
    out = h.send(conn, wire.Hello(v=2, member="gubernur", device="d"))
    assert error_code(out, conn) == ErrorCode.UNSUPPORTED_VERSION
    [close] = closes(out)
    assert (close.conn, close.code) == (conn, CLOSE_PROTOCOL_ERROR)
    assert h.hub.sessions[conn].member is None


def test_second_hello_is_refused(h: Harness) -> None:
    conn = h.login("gubernur")
    out = h.send(conn, wire.Hello(v=1, member="bpbd", device="x"))
    assert error_code(out, conn) == ErrorCode.BAD_MESSAGE
    assert h.hub.sessions[conn].member is not None
    assert h.hub.sessions[conn].member.id == "gubernur"  # type: ignore[union-attr]


def test_malformed_text_is_answered_not_raised(h: Harness) -> None:
    conn = h.login("gubernur")
    assert error_code(h.send(conn, "{oops"), conn) == ErrorCode.BAD_MESSAGE
    assert error_code(h.send(conn, '{"type":"nuke"}'), conn) == ErrorCode.UNKNOWN_TYPE
    assert error_code(h.send(conn, "x" * 9000), conn) == ErrorCode.TOO_LARGE
    # Input for an unknown connection is ignored.
    assert h.hub.receive_text(999, "{}", h.now) == []


# ---- join / leave -----------------------------------------------------------------------------


def test_join_and_leave(h: Harness) -> None:
    gov = h.login("gubernur")
    bupati = h.login("bupati-kerinci", "ht", "kerinci")
    out = h.send(gov, wire.Join(talkgroup="kerinci", ref=5))
    joined = only(out, gov)
    assert isinstance(joined, wire.Joined)
    assert (joined.talkgroup, joined.number, joined.ref) == ("kerinci", h.number("kerinci"), 5)
    assert joined.online == ["bupati-kerinci", "gubernur"]
    assert joined.emergency is False
    assert msgs(out, bupati) == []

    out = h.send(gov, wire.Leave(talkgroup="kerinci", ref=6))
    assert only(out, gov) == wire.Left(talkgroup="kerinci", ref=6)
    assert "kerinci" not in h.hub.sessions[gov].joined
    out = h.send(gov, wire.Leave(talkgroup="kerinci"))
    assert error_code(out, gov) == ErrorCode.NOT_JOINED


def test_join_refusals(h: Harness) -> None:
    bupati = h.login("bupati-kerinci")
    assert error_code(h.send(bupati, wire.Join(talkgroup="merangin")), bupati) \
        == ErrorCode.NOT_MEMBER
    assert error_code(h.send(bupati, wire.Join(talkgroup="tidak-ada")), bupati) \
        == ErrorCode.UNKNOWN_TALKGROUP
    assert error_code(h.send(bupati, wire.FloorRequest(talkgroup="kerinci")), bupati) \
        == ErrorCode.NOT_JOINED
    assert error_code(h.send(bupati, wire.FloorRelease(talkgroup="kerinci")), bupati) \
        == ErrorCode.NOT_JOINED
    assert error_code(h.send(bupati, wire.FloorRequest(talkgroup="merangin")), bupati) \
        == ErrorCode.NOT_MEMBER


def test_refusal_carries_ref(h: Harness) -> None:
    conn = h.login("bupati-kerinci")
    [err] = msgs(h.send(conn, wire.Join(talkgroup="merangin", ref=77)), conn)
    assert isinstance(err, wire.Error) and err.ref == 77


# ---- floor and audio --------------------------------------------------------------------------


def test_floor_grant_announces_and_records(h: Harness) -> None:
    gov = h.login("gubernur", "ht", "komando")
    kerinci = h.login("bupati-kerinci", "ht", "komando")
    merangin = h.login("bupati-merangin", "ht", "komando")
    absent = h.login("bupati-tebo")  # member of komando, but did not join
    out = h.send(kerinci, wire.FloorRequest(talkgroup="komando", ref=9))
    [granted] = of_type(out, kerinci, wire.FloorGranted)
    assert isinstance(granted, wire.FloorGranted)
    assert granted.number == h.number("komando") and granted.ref == 9
    assert granted.limit_ms == 30_000 and granted.priority == 2
    assert granted.emergency is False
    for listener in (gov, merangin):
        [start] = msgs(out, listener)
        assert isinstance(start, wire.TalkerStart)
        assert start.stream == granted.stream and start.member.id == "bupati-kerinci"
        assert start.late is False and start.started_at == h.now
    assert of_type(out, kerinci, wire.TalkerStart) == []
    assert msgs(out, absent) == []
    [rec] = [o for o in out if isinstance(o, RecordStart)]
    assert rec == RecordStart(granted.stream, "komando", "bupati-kerinci", "Bupati Kerinci", 2,
                              False, h.now)
    assert h.hub.stats.transmissions == 1


def test_route_audio_goes_to_other_joined_listeners(h: Harness) -> None:
    gov = h.login("gubernur", "ht", "komando")
    kerinci = h.login("bupati-kerinci", "ht", "komando")
    merangin = h.login("bupati-merangin", "ht", "komando")
    h.login("operator-provinsi", "ht")  # not joined
    granted = h.grant(kerinci, "komando")
    stream, targets = h.audio(kerinci, h.number("komando"), granted.stream, 0)
    assert stream == granted.stream
    assert targets == (gov, merangin)
    assert h.hub.stats.deliveries == 2


def test_bad_audio_is_dropped_and_counted(h: Harness) -> None:
    gov = h.login("gubernur", "ht", "komando")
    kerinci = h.login("bupati-kerinci", "ht", "komando")
    n = h.number("komando")
    granted = h.grant(kerinci, "komando")
    s = granted.stream
    stats = h.hub.stats
    # Someone else forging the talker's stream.
    assert h.audio(gov, n, s, 0) == (0, ())
    assert stats.dropped_not_holder == 1
    # The talker, but with another talkgroup's number.
    assert h.audio(kerinci, h.number("kerinci"), s, 0) == (0, ())
    assert stats.dropped_not_holder == 2
    # A stream that does not exist.
    assert h.audio(kerinci, n, s + 1000, 0) == (0, ())
    assert stats.dropped_not_holder == 3
    assert h.audio(kerinci, n, s, 5) == (s, (gov,))
    # Replays and reordered frames behind the newest are stale.
    assert h.audio(kerinci, n, s, 5) == (0, ())
    assert h.audio(kerinci, n, s, 3) == (0, ())
    assert stats.dropped_stale == 2
    assert h.audio(kerinci, n, s, 6) == (s, (gov,))
    assert stats.frames_in == 7 and stats.deliveries == 2
    # The refused sender is told, but at most once per interval.
    out = h.hub.audio_refused(gov, h.now)
    assert error_code(out, gov) == ErrorCode.NOT_HOLDER
    assert h.hub.audio_refused(gov, h.now + 1) == []
    assert error_code(h.hub.audio_refused(gov, h.now + 6), gov) == ErrorCode.NOT_HOLDER


def test_malformed_audio_raises_protocol_error_and_is_counted(h: Harness) -> None:
    from siaga.errors import ProtocolError

    conn = h.login("gubernur", "ht", "komando")
    with pytest.raises(ProtocolError) as info:
        h.hub.route_audio(conn, b"\x01\x00", h.now)
    assert info.value.code == ErrorCode.BAD_FRAME
    assert h.hub.stats.dropped_bad == 1
    out = h.hub.audio_error(conn, info.value)
    assert error_code(out, conn) == ErrorCode.BAD_FRAME
    assert h.hub.audio_error(999, info.value) == []


def test_audio_flood_is_rate_limited(h: Harness) -> None:
    gov = h.login("gubernur", "ht", "komando")
    kerinci = h.login("bupati-kerinci", "ht", "komando")
    granted = h.grant(kerinci, "komando")
    n = h.number("komando")
    results = [h.audio(kerinci, n, granted.stream, seq)[1] for seq in range(200)]
    assert results[:150] == [(gov,)] * 150
    assert results[150:] == [()] * 50
    assert h.hub.stats.dropped_rate == 50
    h.step(1.0)  # refilled at 75 frames per second
    assert h.audio(kerinci, n, granted.stream, 500)[1] == (gov,)


def test_release_ends_transmission(h: Harness) -> None:
    gov = h.login("gubernur", "ht", "komando")
    kerinci = h.login("bupati-kerinci", "ht", "komando")
    granted = h.grant(kerinci, "komando")
    h.step(2.5)
    out = h.send(kerinci, wire.FloorRelease(talkgroup="komando", ref=4))
    assert only(out, kerinci) == wire.FloorReleased(talkgroup="komando",
                                                    stream=granted.stream, ref=4)
    assert only(out, gov) == wire.TalkerStop(talkgroup="komando", stream=granted.stream,
                                             member="bupati-kerinci", outcome="completed")
    assert [o for o in out if isinstance(o, RecordEnd)] == [
        RecordEnd(granted.stream, "completed", h.now)]
    # Audio on the finished stream is no longer routed.
    assert h.audio(kerinci, h.number("komando"), granted.stream, 9) == (0, ())
    # Releasing again is refused.
    out = h.send(kerinci, wire.FloorRelease(talkgroup="komando"))
    assert error_code(out, kerinci) == ErrorCode.NOT_HOLDER


def test_queue_then_grant_on_release(h: Harness) -> None:
    gov = h.login("gubernur", "ht", "komando")
    kerinci = h.login("bupati-kerinci", "ht", "komando")
    merangin = h.login("bupati-merangin", "ht", "komando")
    first = h.grant(kerinci, "komando")
    out = h.send(merangin, wire.FloorRequest(talkgroup="komando", ref=8))
    assert only(out, merangin) == wire.FloorQueued(talkgroup="komando", position=1, ref=8)
    out = h.send(kerinci, wire.FloorRelease(talkgroup="komando"))
    [granted] = of_type(out, merangin, wire.FloorGranted)
    assert isinstance(granted, wire.FloorGranted) and granted.stream != first.stream
    assert granted.ref is None  # it answers an earlier request
    [start] = of_type(out, gov, wire.TalkerStart)
    assert isinstance(start, wire.TalkerStart) and start.member.id == "bupati-merangin"
    assert of_type(out, kerinci, wire.TalkerStart)  # the former talker now listens
    assert h.audio(merangin, h.number("komando"), granted.stream, 0)[1] == (gov, kerinci)


def test_preemption_by_governor(h: Harness) -> None:
    gov = h.login("gubernur", "ht", "komando")
    kerinci = h.login("bupati-kerinci", "ht", "komando")
    op = h.login("operator-provinsi", "ht", "komando")
    first = h.grant(kerinci, "komando")
    h.step(1.0)
    out = h.request(gov, "komando")
    assert of_type(out, kerinci, wire.FloorRevoked) == [
        wire.FloorRevoked(talkgroup="komando", stream=first.stream, reason="preempted")]
    stop = wire.TalkerStop(talkgroup="komando", stream=first.stream, member="bupati-kerinci",
                           outcome="preempted")
    assert stop in msgs(out, op)
    [granted] = of_type(out, gov, wire.FloorGranted)
    assert isinstance(granted, wire.FloorGranted) and granted.priority == 3
    [start] = of_type(out, kerinci, wire.TalkerStart)
    assert isinstance(start, wire.TalkerStart) and start.member.id == "gubernur"
    ends = [o for o in out if isinstance(o, RecordEnd)]
    assert ends == [RecordEnd(first.stream, "preempted", h.now)]
    assert [o.member for o in out if isinstance(o, RecordStart)] == ["gubernur"]
    # The revoked talker's audio is dropped now.
    assert h.audio(kerinci, h.number("komando"), first.stream, 1) == (0, ())
    # A regency head cannot pre-empt the governor: they queue.
    out = h.request(kerinci, "komando")
    assert only(out, kerinci) == wire.FloorQueued(talkgroup="komando", position=1)


def test_listen_only_member_is_denied(h: Harness) -> None:
    op = h.login("operator-provinsi", "ht", "komando")
    out = h.send(op, wire.FloorRequest(talkgroup="komando", ref=1))
    denied = only(out, op)
    assert isinstance(denied, wire.FloorDenied)
    assert (denied.code, denied.ref) == (ErrorCode.NOT_ALLOWED, 1)
    assert not any(isinstance(o, RecordStart) for o in out)
    assert h.hub._groups["komando"].floor.holder is None


def test_already_transmitting_on_another_talkgroup(h: Harness) -> None:
    gov = h.login("gubernur", "ht", "komando", "kerinci")
    h.grant(gov, "komando")
    out = h.request(gov, "kerinci")
    denied = only(out, gov)
    assert isinstance(denied, wire.FloorDenied)
    assert denied.code == ErrorCode.ALREADY_TRANSMITTING
    # Asking again on the same talkgroup is refused by the floor itself.
    denied = only(h.request(gov, "komando"), gov)
    assert isinstance(denied, wire.FloorDenied)
    assert denied.code == ErrorCode.ALREADY_TRANSMITTING


def test_time_limit_via_tick(h: Harness) -> None:
    gov = h.login("gubernur", "ht", "komando")
    kerinci = h.login("bupati-kerinci", "ht", "komando")
    granted = h.grant(kerinci, "komando")
    deadline = h.hub.next_deadline()
    assert deadline == pytest.approx(h.now + 30)
    assert deadline is not None
    assert h.hub.tick(deadline - 0.001) == []
    out = h.hub.tick(deadline)
    assert of_type(out, kerinci, wire.FloorRevoked) == [
        wire.FloorRevoked(talkgroup="komando", stream=granted.stream, reason="time_limit")]
    assert of_type(out, gov, wire.TalkerStop) == [wire.TalkerStop(
        talkgroup="komando", stream=granted.stream, member="bupati-kerinci",
        outcome="timed_out")]
    assert [o for o in out if isinstance(o, RecordEnd)] == [
        RecordEnd(granted.stream, "timed_out", deadline)]
    assert h.hub.next_deadline() is None


def test_queue_timeout_via_tick(h: Harness) -> None:
    h.login("gubernur", "ht", "komando")
    kerinci = h.login("bupati-kerinci", "ht", "komando")
    merangin = h.login("bupati-merangin", "ht", "komando")
    h.grant(kerinci, "komando")
    h.step(5)
    h.request(merangin, "komando")
    deadline = h.hub.next_deadline()
    assert deadline == pytest.approx(h.now - 5 + 30)  # the talker's limit comes first
    assert deadline is not None
    out = h.hub.tick(deadline)
    [granted] = of_type(out, merangin, wire.FloorGranted)
    assert isinstance(granted, wire.FloorGranted)


def test_talker_disconnect_passes_floor_to_queue(h: Harness) -> None:
    gov = h.login("gubernur", "ht", "komando")
    kerinci = h.login("bupati-kerinci", "ht", "komando")
    merangin = h.login("bupati-merangin", "ht", "komando")
    first = h.grant(kerinci, "komando")
    h.request(merangin, "komando")
    h.step(1)
    out = h.hub.disconnect(kerinci, h.now)
    stop = wire.TalkerStop(talkgroup="komando", stream=first.stream, member="bupati-kerinci",
                           outcome="connection_lost")
    assert stop in msgs(out, gov) and stop in msgs(out, merangin)
    assert RecordEnd(first.stream, "connection_lost", h.now) in out
    [granted] = of_type(out, merangin, wire.FloorGranted)
    assert isinstance(granted, wire.FloorGranted)
    [start] = of_type(out, gov, wire.TalkerStart)
    assert isinstance(start, wire.TalkerStart) and start.member.id == "bupati-merangin"
    assert wire.Presence(offline=["bupati-kerinci"]) in msgs(h.hub.tick(h.now + 1), gov)
    assert kerinci not in h.hub.sessions
    assert msgs(out, kerinci) == []
    assert h.audio(merangin, h.number("komando"), granted.stream, 0)[1] == (gov,)
    assert h.hub.disconnect(kerinci, h.now) == []  # twice is harmless


def test_queued_member_disconnect_is_forgotten(h: Harness) -> None:
    h.login("gubernur", "ht", "komando")
    kerinci = h.login("bupati-kerinci", "ht", "komando")
    merangin = h.login("bupati-merangin", "ht", "komando")
    tebo = h.login("bupati-tebo", "ht", "komando")
    h.grant(kerinci, "komando")
    h.request(merangin, "komando")
    h.request(tebo, "komando")
    out = h.hub.disconnect(merangin, h.now)
    assert of_type(out, tebo, wire.FloorQueued) == [
        wire.FloorQueued(talkgroup="komando", position=1)]
    out = h.send(kerinci, wire.FloorRelease(talkgroup="komando"))
    assert of_type(out, tebo, wire.FloorGranted)


def test_late_entry(h: Harness) -> None:
    gov = h.login("gubernur", "ht", "komando")
    kerinci = h.login("bupati-kerinci", "ht", "komando")
    granted = h.grant(kerinci, "komando")
    n = h.number("komando")
    assert h.audio(kerinci, n, granted.stream, 0)[1] == (gov,)
    h.step(0.5)
    merangin = h.login("bupati-merangin")
    out = h.send(merangin, wire.Join(talkgroup="komando"))
    joined, start = msgs(out, merangin)
    assert isinstance(joined, wire.Joined) and joined.online == [
        "bupati-kerinci", "bupati-merangin", "gubernur"]
    assert isinstance(start, wire.TalkerStart)
    assert start.late is True and start.stream == granted.stream
    assert start.member.id == "bupati-kerinci" and start.started_at == T0
    assert h.audio(kerinci, n, granted.stream, 1)[1] == (gov, merangin)
    # The talker re-joining does not get its own transmission announced.
    out = h.send(kerinci, wire.Join(talkgroup="komando"))
    assert [type(m) for m in msgs(out, kerinci)] == [wire.Joined]


def test_listener_leaving_stops_routing(h: Harness) -> None:
    gov = h.login("gubernur", "ht", "komando")
    kerinci = h.login("bupati-kerinci", "ht", "komando")
    merangin = h.login("bupati-merangin", "ht", "komando")
    granted = h.grant(kerinci, "komando")
    h.send(merangin, wire.Leave(talkgroup="komando"))
    assert h.audio(kerinci, h.number("komando"), granted.stream, 0)[1] == (gov,)


def test_talker_leaving_ends_transmission(h: Harness) -> None:
    gov = h.login("gubernur", "ht", "komando")
    kerinci = h.login("bupati-kerinci", "ht", "komando")
    granted = h.grant(kerinci, "komando")
    out = h.send(kerinci, wire.Leave(talkgroup="komando"))
    [stop] = of_type(out, gov, wire.TalkerStop)
    assert isinstance(stop, wire.TalkerStop) and stop.stream == granted.stream
    assert any(isinstance(o, RecordEnd) and o.stream == granted.stream for o in out)
    assert h.hub._groups["komando"].floor.holder is None


# ---- emergencies ------------------------------------------------------------------------------


def test_emergency_alerts_every_connected_member(h: Harness) -> None:
    joined = h.login("gubernur", "ht", "darurat")
    staff = h.login("operator-tanjabtim", "ht", "darurat")
    not_joined = h.login("bupati-tebo")  # connected member of darurat, not listening
    unauth = h.open()  # connected but never said hello
    talker = h.login("bupati-kerinci", "ht", "darurat")
    h.grant(talker, "darurat")
    out = h.send(staff, wire.FloorRequest(talkgroup="darurat", emergency=True, ref=1))
    alert = wire.Emergency(talkgroup="darurat", member="operator-tanjabtim", active=True)
    for conn in (joined, staff, not_joined, talker):
        assert alert in msgs(out, conn), conn
    assert msgs(out, unauth) == []
    [granted] = of_type(out, staff, wire.FloorGranted)
    assert isinstance(granted, wire.FloorGranted)
    assert granted.emergency is True and granted.priority == 4
    assert granted.limit_ms == 120_000
    [revoked] = of_type(out, talker, wire.FloorRevoked)
    assert isinstance(revoked, wire.FloorRevoked) and revoked.reason == "emergency"
    [start] = of_type(out, joined, wire.TalkerStart)
    assert isinstance(start, wire.TalkerStart) and start.emergency is True
    [rec] = [o for o in out if isinstance(o, RecordStart)]
    assert rec.emergency is True and rec.member == "operator-tanjabtim"
    # Joining now reports the emergency state; a newcomer is told at hello.
    out = h.send(not_joined, wire.Join(talkgroup="darurat"))
    joined_msg = of_type(out, not_joined, wire.Joined)[0]
    assert isinstance(joined_msg, wire.Joined) and joined_msg.emergency is True
    late = h.open()
    out = h.send(late, wire.Hello(v=1, member="damkar", device="d"))
    assert alert in msgs(out, late)


def test_emergency_clear_rights(h: Harness) -> None:
    gov = h.login("gubernur", "ht", "darurat")
    staff = h.login("operator-tanjabtim", "ht", "darurat")
    bupati = h.login("bupati-tanjabtim")
    bpbd = h.login("bpbd")  # clearing does not require joining
    h.request(staff, "darurat", emergency=True)
    out = h.send(bupati, wire.EmergencyClear(talkgroup="darurat", ref=3))
    assert error_code(out, bupati) == ErrorCode.NOT_ALLOWED
    assert in_emergency(h, "darurat")
    out = h.send(bpbd, wire.EmergencyClear(talkgroup="darurat", ref=4))
    cleared = wire.Emergency(talkgroup="darurat", member="operator-tanjabtim", active=False,
                             by="bpbd")
    for conn in (gov, staff, bupati, bpbd):
        assert cleared in msgs(out, conn)
    assert not in_emergency(h, "darurat")
    out = h.send(bpbd, wire.EmergencyClear(talkgroup="darurat"))
    assert error_code(out, bpbd) == ErrorCode.NO_EMERGENCY
    # Not a member of the talkgroup at all.
    out = h.send(bpbd, wire.EmergencyClear(talkgroup="komando"))
    assert error_code(out, bpbd) == ErrorCode.NOT_MEMBER


# ---- sessions ---------------------------------------------------------------------------------


def test_duplicate_session_closes_the_old_one(h: Harness) -> None:
    watcher = h.login("gubernur", "ht", "kerinci")
    old = h.login("bupati-kerinci", "ht-1", "kerinci")
    other_device = h.login("bupati-kerinci", "ht-2")
    granted = h.grant(old, "kerinci")
    new = h.open()
    out = h.send(new, wire.Hello(v=1, member="bupati-kerinci", device="ht-1"))
    assert error_code(out, old) == ErrorCode.DUPLICATE_SESSION
    assert Close(old, CLOSE_POLICY, "duplicate_session") in out
    assert old not in h.hub.sessions and new in h.hub.sessions
    assert other_device in h.hub.sessions  # another device of the same member is untouched
    assert not any(c.conn == other_device for c in closes(out))
    # The old session's transmission ended as a lost connection.
    assert RecordEnd(granted.stream, "connection_lost", h.now) in out
    assert wire.TalkerStop(talkgroup="kerinci", stream=granted.stream, member="bupati-kerinci",
                           outcome="connection_lost") in msgs(out, watcher)
    assert of_type(out, new, wire.Welcome)


def test_presence_offline_only_when_last_device_goes(h: Harness) -> None:
    gov = h.login("gubernur")
    a = h.login("bpbd", "a")
    b = h.login("bpbd", "b")
    h.hub.tick(h.now + 1)  # the sign-ins' batch
    h.step(2)
    h.hub.disconnect(a, h.now)
    assert of_type(h.hub.tick(h.now + 1), gov, wire.Presence) == []
    h.step(2)
    h.hub.disconnect(b, h.now)
    assert of_type(h.hub.tick(h.now + 1), gov, wire.Presence) == [wire.Presence(offline=["bpbd"])]


def test_control_flood_is_rate_limited_then_closed(h: Harness) -> None:
    conn = h.login("gubernur")
    other = h.login("bpbd")
    burst = int(CONTROL_BURST) - 1  # the hello took one token
    for _ in range(burst):
        assert isinstance(only(h.send(conn, wire.Ping()), conn), wire.Pong)
    for strike in range(1, MAX_STRIKES):
        out = h.send(conn, wire.Ping())
        assert error_code(out, conn) == ErrorCode.RATE_LIMITED, strike
        assert not closes(out)
    out = h.send(conn, wire.Ping())
    assert error_code(out, conn) == ErrorCode.RATE_LIMITED
    assert closes(out) == [Close(conn, CLOSE_POLICY, "too many refused requests")]
    # The other connection is unaffected.
    assert isinstance(only(h.send(other, wire.Ping()), other), wire.Pong)
    # Tokens come back with time.
    h.step(1.0)
    assert isinstance(only(h.send(conn, wire.Ping()), conn), wire.Pong)


def test_strikes_reset_after_a_good_message(h: Harness) -> None:
    conn = h.login("gubernur")
    for _ in range(MAX_STRIKES - 1):
        h.step(1.0)
        assert not closes(h.send(conn, "garbage"))
    h.send(conn, wire.Ping())
    for _ in range(MAX_STRIKES - 1):
        h.step(1.0)
        assert not closes(h.send(conn, "garbage"))


def test_shutdown_interrupts_and_closes(h: Harness) -> None:
    gov = h.login("gubernur", "ht", "komando", "kerinci")
    kerinci = h.login("bupati-kerinci", "ht", "komando", "kerinci")
    merangin = h.login("bupati-merangin", "ht", "komando")
    unauth = h.open()
    a = h.grant(kerinci, "komando")
    b = h.grant(gov, "kerinci")
    h.request(merangin, "komando")
    h.step(3)
    out = h.hub.shutdown(h.now)
    ends = sorted((o for o in out if isinstance(o, RecordEnd)), key=lambda e: e.stream)
    assert ends == [RecordEnd(a.stream, "interrupted", h.now),
                    RecordEnd(b.stream, "interrupted", h.now)]
    assert {(c.conn, c.code) for c in closes(out)} == {
        (c, CLOSE_GOING_AWAY) for c in (gov, kerinci, merangin, unauth)}
    denied = of_type(out, merangin, wire.FloorDenied)
    assert denied and isinstance(denied[0], wire.FloorDenied)
    assert denied[0].code == ErrorCode.FLOOR_BUSY
    assert h.hub.next_deadline() is None
    # Closes come after every message, so the last words reach the clients.
    last_send = max(i for i, o in enumerate(out) if isinstance(o, Send))
    first_close = min(i for i, o in enumerate(out) if isinstance(o, Close))
    assert last_send < first_close


def test_stream_ids_are_unique_across_talkgroups(h: Harness) -> None:
    gov = h.login("gubernur", "ht", "komando")
    bpbd = h.login("bpbd", "ht", "darurat")
    a = h.grant(gov, "komando")
    b = h.grant(bpbd, "darurat")
    assert a.stream != b.stream and 0 not in (a.stream, b.stream)
