"""The wire format alone: audio frame layout, control message codec, and hostile input."""

from __future__ import annotations

import contextlib
import json
import struct

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from siaga import wire
from siaga.errors import ErrorCode, ProtocolError

u16 = st.integers(0, wire.U16)
u32 = st.integers(0, wire.U32)
flags = st.sampled_from([0, wire.FLAG_END, wire.FLAG_SEALED, wire.FLAG_END | wire.FLAG_SEALED])
payloads = st.binary(max_size=wire.MAX_AUDIO_PAYLOAD)


# ---- audio frames -----------------------------------------------------------------------------


@given(u16, u32, u32, u32, payloads, flags)
def test_audio_frame_round_trip(talkgroup: int, stream: int, seq: int, ts: int,
                                payload: bytes, fl: int) -> None:
    frame = wire.AudioFrame(talkgroup, stream, seq, ts, payload, fl)
    data = frame.encode()
    assert len(data) == wire.HEADER_SIZE + len(payload)
    assert data[:wire.HEADER_SIZE] == frame.header()
    assert wire.decode_audio(data) == frame
    assert wire.peek_header(data) == (fl, talkgroup, stream, seq, ts)
    assert frame.end == bool(fl & wire.FLAG_END)


def test_header_layout_is_big_endian_and_fixed() -> None:
    frame = wire.AudioFrame(0x0102, 0x03040506, 0x0708090A, 0x0B0C0D0E, b"xyz", wire.FLAG_END)
    assert wire.HEADER_SIZE == 16
    assert frame.header() == bytes([1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
    assert frame.encode() == frame.header() + b"xyz"


@pytest.mark.parametrize("field,value", [
    ("talkgroup", wire.U16 + 1), ("talkgroup", -1), ("stream", wire.U32 + 1),
    ("seq", wire.U32 + 1), ("timestamp", -1), ("payload", b"x" * (wire.MAX_AUDIO_PAYLOAD + 1)),
])
def test_encode_refuses_out_of_range(field: str, value: object) -> None:
    kwargs: dict[str, object] = dict(talkgroup=1, stream=1, seq=0, timestamp=0, payload=b"")
    kwargs[field] = value
    with pytest.raises(ValueError):
        wire.AudioFrame(**kwargs).encode()  # type: ignore[arg-type]


def _header(version: int = wire.PROTOCOL_VERSION, fl: int = 0) -> bytes:
    return struct.pack(">BBHIII", version, fl, 1, 2, 3, 4)


@pytest.mark.parametrize("data,code", [
    (b"", ErrorCode.BAD_FRAME),
    (_header()[:15], ErrorCode.BAD_FRAME),
    (_header() + b"x" * (wire.MAX_AUDIO_PAYLOAD + 1), ErrorCode.TOO_LARGE),
    (_header(version=0), ErrorCode.UNSUPPORTED_VERSION),
    (_header(version=2) + b"abc", ErrorCode.UNSUPPORTED_VERSION),
    (_header(fl=0x04), ErrorCode.BAD_FRAME),
    (_header(fl=0x80 | wire.FLAG_END), ErrorCode.BAD_FRAME),
])
def test_peek_header_rejects(data: bytes, code: ErrorCode) -> None:
    with pytest.raises(ProtocolError) as info:
        wire.peek_header(data)
    assert info.value.code == code
    with pytest.raises(ProtocolError) as again:
        wire.decode_audio(data)
    assert again.value.code == code


def test_peek_header_accepts_limits() -> None:
    assert wire.peek_header(_header()) == (0, 1, 2, 3, 4)
    assert wire.peek_header(_header() + b"x" * wire.MAX_AUDIO_PAYLOAD)[1] == 1


@given(st.binary(max_size=wire.MAX_AUDIO_FRAME + 64))
def test_decode_audio_fuzz_only_protocol_error(data: bytes) -> None:
    try:
        frame = wire.decode_audio(data)
    except ProtocolError as exc:
        assert exc.code in {ErrorCode.BAD_FRAME, ErrorCode.TOO_LARGE,
                            ErrorCode.UNSUPPORTED_VERSION}
    else:
        assert frame.encode() == data


@given(st.binary(min_size=wire.HEADER_SIZE, max_size=wire.HEADER_SIZE + 40))
def test_decode_audio_fuzz_near_valid(data: bytes) -> None:
    data = bytes([wire.PROTOCOL_VERSION]) + data[1:]
    try:
        frame = wire.decode_audio(data)
    except ProtocolError as exc:
        assert exc.code == ErrorCode.BAD_FRAME  # only unknown flags remain wrong
        assert data[1] & ~wire.KNOWN_FLAGS
    else:
        assert frame.encode() == data


# ---- control messages -------------------------------------------------------------------------

CLIENT_SAMPLES: list[wire.ClientMessage] = [
    wire.Hello(v=1, member="gubernur", device="ht-01"),
    wire.Hello(v=1, member="a", device="b.c:d-e_f", auth="sig", ref=2**53),
    wire.Enroll(code="ABCDE-12345", member="bupati-tebo", sign_pub="AAAA", dh_pub="BBBB",
                proof="c2ln", label="HT Bupati", ref=3),
    wire.DirectoryRequest(talkgroup="komando", ref=5),
    wire.MessageSend(id="abcdefgh12", talkgroup="komando", text="Laporkan situasi", ref=8),
    wire.MessageSend(id="abcdefgh13", talkgroup="komando", status="banjir"),
    wire.MessageSend(id="abcdefgh14", talkgroup="komando", sealed="c2VhbGVk", epoch=2),
    wire.Receipt(id="abcdefgh12", state="read"),
    wire.RollcallStart(id="rollcall01", talkgroup="tebo", timeout=60, ref=9),
    wire.RollcallAnswer(id="rollcall01"),
    wire.Position(lat=-1.61, lon=103.61, accuracy=12.5),
    wire.OrderIssue(id="order00001", talkgroup="komando", to=["bupati-tebo"], due_in=600,
                    ack_within=60, text="Laporkan", ref=3),
    wire.OrderAck(id="order00001", state="done"),
    wire.PositionsRequest(member="bupati-tebo", since=10.0, ref=4),
    wire.PublishKeys(talkgroup="komando", epoch=2, keys=[
        wire.SealedKeyInfo(device="dabc", sealed="c2VhbGVk", sig="c2ln")], ref=6),
    wire.Join(talkgroup="komando"),
    wire.Join(talkgroup="komando", ref=7),
    wire.Leave(talkgroup="darurat", ref=0),
    wire.FloorRequest(talkgroup="komando"),
    wire.FloorRequest(talkgroup="darurat", emergency=True, e2e="x" * wire.MAX_E2E_BYTES, ref=3),
    wire.FloorRelease(talkgroup="komando", ref=4),
    wire.EmergencyClear(talkgroup="darurat", ref=5),
    wire.Ping(),
    wire.Ping(t=1234.5, ref=6),
    wire.MessageSend(id="direct-01", to="gubernur", sealed_for=[
        wire.SealedFor(device="d1", sealed="AAAA")]),
    wire.DirectoryRequest(member="gubernur", ref=9),
    wire.TpsReportSend(id="tps-rep-1", tps="15.06.01.01.001", status="relocated",
                       incidents=["flooding"], note="air naik", ballots_cast=3,
                       relocated_to=wire.RelocationInfo(place="SD 1", lat=-1.1, lon=103.8)),
    wire.FloodReportSend(id="flood-rep-1", report="incident", incident="banjir",
                         regency="15.06", lat=-1.1, lon=103.8, title="Banjir",
                         water_level_cm=120, affected=10, ref=2),
    wire.BoardRequest(board="flood", regency="15.06"),
    wire.SitrepRequest(format="pdf", lang="en", ref=1),
    wire.AlertPublish(xml="<alert/>", sig="AAAA", ref=3),
]


def test_every_client_type_has_a_sample() -> None:
    assert {type(m).__struct_config__.tag for m in CLIENT_SAMPLES} == wire.CLIENT_TYPES


@pytest.mark.parametrize("msg", CLIENT_SAMPLES, ids=lambda m: type(m).__name__)
def test_client_message_round_trip(msg: wire.ClientMessage) -> None:
    text = wire.encode(msg)
    assert json.loads(text)["type"] == type(msg).__struct_config__.tag
    assert wire.decode_client(text) == msg
    assert wire.decode_client(text.encode()) == msg


def test_defaults_are_omitted_on_the_wire() -> None:
    assert json.loads(wire.encode(wire.Join(talkgroup="komando"))) == {
        "type": "join", "talkgroup": "komando"}


SERVER_SAMPLES: list[wire.ServerMessage] = [
    wire.Directory(talkgroup="komando", epoch=1, devices=[wire.DeviceInfo(
        device="dabc", member="gubernur", role="governor", sign_pub="AA", dh_pub="BB")]),
    wire.Keys(talkgroup="komando", epoch=1, keeper="dkeep", keeper_sign="AA", keeper_dh="DD",
              sealed="BB", sig="CC"),
    wire.KeysPublished(talkgroup="komando", epoch=1, stored=3, ref=6),
    wire.MessageAccepted(id="abcdefgh12", recipients=12, stored_at=1.0, ref=8),
    wire.Message(id="abcdefgh12", talkgroup="komando", sender="gubernur", sender_device="d1",
                 sent_at=1.0, text="Laporkan situasi"),
    wire.ReceiptUpdate(id="abcdefgh12", member="bupati-tebo", state="read", at=2.0),
    wire.Rollcall(id="rollcall01", talkgroup="tebo", by="gubernur", started_at=1.0,
                  deadline=61.0),
    wire.PositionUpdate(member="bupati-tebo", lat=-1.49, lon=102.45, accuracy=10, at=3.0),
    wire.OrderMsg(id="order00001", talkgroup="komando", by="gubernur", to=["bupati-tebo"],
                  sent_at=1.0, due_at=601.0, text="Laporkan", repeat=1),
    wire.OrderStatus(id="order00001", member="bupati-tebo", state="escalated", at=61.0,
                     escalations=1),
    wire.Positions(positions=[wire.PositionInfo(member="bupati-tebo", lat=-1.49, lon=102.45,
                                                accuracy=10, at=3.0)], ref=4),
    wire.RollcallBoard(id="rollcall01", talkgroup="tebo", by="gubernur", started_at=1.0,
                       deadline=61.0, answered=[wire.RollcallEntry(member="bupati-tebo",
                                                                   seconds=2.5, via="ptt")],
                       silent=["operator-tebo"], closed=True),
    wire.DeviceUpdate(device="dabc", member="bupati-tebo", revoked=True,
                      talkgroups=["komando", "tebo"]),
    wire.Challenge(nonce="bm9uY2U", auth=True),
    wire.Enrolled(member="bupati-tebo", device="dabcdefghijklmnopqrst", ref=3),
    wire.Welcome(v=1, session=1, member=wire.MemberInfo(id="a", name="A", role="staff"),
                 talkgroups=[wire.TalkgroupInfo(id="t", number=1, name="T",
                                                can_transmit=False)], server_time=1.0),
    wire.Joined(talkgroup="t", number=1, online=["a"], emergency=True, ref=1),
    wire.Left(talkgroup="t"),
    wire.FloorGranted(talkgroup="t", number=1, stream=9, priority=2, limit_ms=30000),
    wire.FloorQueued(talkgroup="t", position=2),
    wire.FloorDenied(talkgroup="t", code="not_allowed", reason="no"),
    wire.FloorRevoked(talkgroup="t", stream=9, reason="preempted"),
    wire.FloorReleased(talkgroup="t", stream=9),
    wire.TalkerStart(talkgroup="t", number=1, stream=9,
                     member=wire.MemberInfo(id="a", name="A", role="staff", region="15.01"),
                     priority=1, started_at=2.0, late=True, e2e="env"),
    wire.TalkerStop(talkgroup="t", stream=9, member="a", outcome="timed_out"),
    wire.Presence(online=["a"], offline=["b"]),
    wire.Emergency(talkgroup="t", member="a", active=False, by="b"),
    wire.Error(code="bad_message", message="m", ref=3),
    wire.Pong(t=1.0, server_time=2.0),
    wire.ReportAccepted(id="r", stored_at=1.0, ref=2),
    wire.AlertNotice(id="a", kind="evacuation", region="15.06", headline="h", sender="g",
                     url="/alerts/a.xml"),
    wire.Board(board="election", data={"province": {"tps_total": 3}}),
    wire.BoardChanged(board="flood", regency="15.06", at=1.0),
    wire.SitrepMsg(format="markdown", content="# Sitrep", generated_at=1.0, ref=4),
    wire.Message(id="m", talkgroup="", sender="a", sender_device="d", sent_at=1.0, to="b",
                 sealed_for=[wire.SealedFor(device="d2", sealed="AA")]),
]


@pytest.mark.parametrize("msg", SERVER_SAMPLES, ids=lambda m: type(m).__name__)
def test_server_message_round_trip(msg: wire.ServerMessage) -> None:
    assert wire.decode_server(wire.encode(msg)) == msg


def test_every_server_type_has_a_sample() -> None:
    assert {type(m).__struct_config__.tag for m in SERVER_SAMPLES} == wire.SERVER_TYPES


def _code(data: str | bytes) -> ErrorCode:
    with pytest.raises(ProtocolError) as info:
        wire.decode_client(data)
    return info.value.code


def test_unknown_type() -> None:
    assert _code('{"type": "launch_missiles"}') == ErrorCode.UNKNOWN_TYPE
    # A server-only type is unknown when a client sends it.
    assert _code('{"type": "welcome", "v": 1}') == ErrorCode.UNKNOWN_TYPE


def test_too_large() -> None:
    text = wire.encode(wire.Ping()).replace("}", ',"pad":"' + "x" * wire.MAX_CONTROL_BYTES
                                            + '"}')
    assert _code(text) == ErrorCode.TOO_LARGE
    # The limit counts bytes, not characters.
    wide = '{"type":"ping","x":"' + "é" * (wire.MAX_CONTROL_BYTES // 2) + '"}'
    assert len(wide) < wire.MAX_CONTROL_BYTES
    assert _code(wide) == ErrorCode.TOO_LARGE


@pytest.mark.parametrize("text", [
    '{"type": "join"}',  # missing field
    '{"talkgroup": "komando"}',  # missing type
    '{"type": "join", "talkgroup": 5}',  # wrong type
    '{"type": "hello", "v": "1", "member": "a", "device": "b"}',
    '{"type": "floor_request", "talkgroup": "k", "emergency": "yes"}',
    '{"type": "join", "talkgroup": "komando", "extra": 1}',  # unknown field
    '{"type": "join", "talkgroup": "komando", "ref": -1}',
    '{"type": "join", "talkgroup": "komando", "ref": 9007199254740993}',
    '{"type": 5}',
    '[1, 2, 3]',
    '"hello"',
    "{not json",
    "",
    '{"type": "join", "talkgroup": "komando"} trailing',
])
def test_bad_message(text: str) -> None:
    assert _code(text) == ErrorCode.BAD_MESSAGE


@pytest.mark.parametrize("ident", [
    "has space", " lead", "trail ", "", "-starts-with-dash", "a" * 65, "tab\there", "ünï",
    "new\nline",
])
def test_ident_pattern_rejects(ident: str) -> None:
    text = json.dumps({"type": "join", "talkgroup": ident})
    assert _code(text) == ErrorCode.BAD_MESSAGE


@pytest.mark.parametrize("ident", ["a", "A" * 64, "bupati-kerinci", "x.y:z_1-2", "9"])
def test_ident_pattern_accepts(ident: str) -> None:
    assert wire.decode_client(json.dumps({"type": "join", "talkgroup": ident})) == wire.Join(
        talkgroup=ident)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=12,
)


@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_decode_client_fuzz_raw(data: str | bytes) -> None:
    try:
        msg = wire.decode_client(data)
    except ProtocolError as exc:
        assert exc.code in {ErrorCode.BAD_MESSAGE, ErrorCode.UNKNOWN_TYPE}
    else:
        assert type(msg).__struct_config__.tag in wire.CLIENT_TYPES


@given(st.sampled_from([*sorted(wire.CLIENT_TYPES), "nope", ""]),
       st.dictionaries(st.sampled_from(["v", "member", "device", "talkgroup", "emergency",
                                        "ref", "t", "auth", "e2e", "junk"]),
                       json_values, max_size=5))
def test_decode_client_fuzz_structured(kind: str, fields: dict[str, object]) -> None:
    text = msgspec.json.encode({"type": kind, **fields})
    try:
        msg = wire.decode_client(text)
    except ProtocolError as exc:
        assert exc.code in {ErrorCode.BAD_MESSAGE, ErrorCode.UNKNOWN_TYPE, ErrorCode.TOO_LARGE}
        if kind not in wire.CLIENT_TYPES:
            assert exc.code in {ErrorCode.UNKNOWN_TYPE, ErrorCode.TOO_LARGE}
    else:
        assert wire.decode_client(wire.encode(msg)) == msg


@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_decode_server_fuzz_raw(data: str | bytes) -> None:
    with contextlib.suppress(ProtocolError):
        wire.decode_server(data)


@pytest.mark.parametrize(("raw", "ref"), [
    ('{"type": "tps_report", "id": "x", "ballots_cast": -1, "ref": 7}', 7),
    ('{"type": "nope", "ref": 2}', 2),
    ('{"ref": true}', None), ('{"ref": -1}', None), ('{"ref": "3"}', None),
    ("[1, 2]", None), ("{not json", None), ('{"ref": 5' + " " * 9000 + "}", None),
])
def test_a_broken_request_still_names_its_ref(raw: str, ref: int | None) -> None:
    assert wire.salvage_ref(raw) == ref


@pytest.mark.parametrize(("raw", "message"), [
    ('{"type": "tps_report", "id": "abcdefgh", "tps": "x", "ballots_cast": -1}',
     "ballots_cast: expected `int` >= 0"),
    ('{"type": "join"}', "talkgroup: missing required field"),
    ('{"type": "join", "talkgroup": "a", "extra": 1}', "extra: unknown field"),
    ('{"type": "tps_report", "id": "abcdefgh", "tps": "x", "relocated_to": {"place": "a", '
     '"lon": 1}}', "relocated_to.lat: missing required field"),
    ('{"type": "join", "talkgroup": 5}', "talkgroup: expected `str`, got `int`"),
])
def test_a_refused_field_is_named_first(raw: str, message: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        wire.decode_client(raw)
    assert refused.value.message == message
