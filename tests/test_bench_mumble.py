"""The benchmark's Mumble client (bench/mumble.py): encoders and decoders, without a server.

Expected bytes come from the protocol descriptions (protobuf's encoding guide; Mumble's
docs/dev/network-protocol/voice_data.md varint table and packet layouts), not from running the
code under test.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module("mumble")
    finally:
        sys.path.remove(str(BENCH))


mumble = _load()


# ---- protobuf varints and fields ---------------------------------------------------------


@pytest.mark.parametrize(("value", "encoded"), [
    (0, b"\x00"), (1, b"\x01"), (127, b"\x7f"), (128, b"\x80\x01"), (150, b"\x96\x01"),
    (300, b"\xac\x02"), (16384, b"\x80\x80\x01"),
    ((1 << 64) - 1, b"\xff" * 9 + b"\x01"),
])
def test_pb_varint_known_values(value: int, encoded: bytes) -> None:
    assert mumble.pb_varint(value) == encoded
    assert mumble.pb_read_varint(encoded, 0) == (value, len(encoded))


@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_pb_varint_round_trip(value: int) -> None:
    data = b"\x05" + mumble.pb_varint(value) + b"\x07"
    assert mumble.pb_read_varint(data, 1) == (value, len(data) - 1)


def test_pb_varint_rejects_bad_input() -> None:
    for bad in (-1, 1 << 64):
        with pytest.raises(ValueError):
            mumble.pb_varint(bad)
    with pytest.raises(ValueError):
        mumble.pb_read_varint(b"\x80\x80", 0)  # truncated
    with pytest.raises(ValueError):
        mumble.pb_read_varint(b"\xff" * 11, 0)  # longer than 64 bits


def test_pb_fields_and_parse() -> None:
    # The protobuf guide's example: field 1 = 150 is 08 96 01; field 2 = "testing" is 12 07 ...
    assert mumble.pb_uint(1, 150) == b"\x08\x96\x01"
    assert mumble.pb_bytes(2, "testing") == b"\x12\x07testing"
    fixed32 = b"\x45" + (1).to_bytes(4, "little")  # field 8, wire type 5 (a float's bits)
    fixed64 = b"\x49" + (2).to_bytes(8, "little")  # field 9, wire type 1
    msg = b"\x08\x96\x01\x12\x07testing\x08\x05" + fixed32 + fixed64
    assert mumble.pb_parse(msg) == {1: [150, 5], 2: [b"testing"], 8: [1], 9: [2]}
    assert mumble.pb_first(mumble.pb_parse(msg), 1) == 5  # last one wins, as in protobuf
    assert mumble.pb_first({}, 3, "none") == "none"
    for bad in (b"\x12\x05abc", b"\x45\x00", b"\x49\x00", b"\x0b"):  # short or group
        with pytest.raises(ValueError):
            mumble.pb_parse(bad)


# ---- TCP framing and the control messages --------------------------------------------------


def test_frame_prefix_is_type_then_length_big_endian() -> None:
    assert mumble.frame(3, b"xy") == b"\x00\x03\x00\x00\x00\x02xy"
    assert mumble.frame(1, b"") == b"\x00\x01\x00\x00\x00\x00"


def test_split_frames_keeps_partial_tail() -> None:
    data = mumble.frame(5, b"abc") + mumble.frame(9, b"") + mumble.frame(7, b"12345")
    for cut in range(len(data) + 1):
        frames, used = mumble.split_frames(data[:cut])
        whole = [(5, b"abc"), (9, b""), (7, b"12345")]
        assert frames == whole[:len(frames)]
        assert used == sum(6 + len(body) for _, body in frames)
    assert mumble.split_frames(data) == ([(5, b"abc"), (9, b""), (7, b"12345")], len(data))


def test_control_messages() -> None:
    stream = (mumble.version_msg() + mumble.authenticate_msg("m00001")
              + mumble.authenticate_msg("SuperUser", "pw") + mumble.ping_msg(123456789)
              + mumble.channel_create_msg(0, "tg0001") + mumble.move_msg(7, 3))
    frames, _ = mumble.split_frames(stream)
    kinds = [k for k, _ in frames]
    assert kinds == [mumble.VERSION, mumble.AUTHENTICATE, mumble.AUTHENTICATE, mumble.PING,
                     mumble.CHANNEL_STATE, mumble.USER_STATE]
    version = mumble.pb_parse(frames[0][1])
    assert version[1] == [0x00010304]  # 1.3.4 as major << 16 | minor << 8 | patch
    assert version[2] == [b"siaga-bench"]
    assert mumble.pb_parse(frames[1][1]) == {1: [b"m00001"], 5: [1]}  # username, opus
    assert mumble.pb_parse(frames[2][1]) == {1: [b"SuperUser"], 2: [b"pw"], 5: [1]}
    assert mumble.pb_parse(frames[3][1]) == {1: [123456789]}
    assert mumble.pb_parse(frames[4][1]) == {2: [0], 3: [b"tg0001"]}  # parent, name
    assert mumble.pb_parse(frames[5][1]) == {1: [7], 5: [3]}  # session, channel_id


# ---- the legacy voice packet and Mumble's varint -------------------------------------------


@pytest.mark.parametrize(("value", "encoded"), [
    (0, b"\x00"), (0x7F, b"\x7f"),
    (0x80, b"\x80\x80"), (0x3FFF, b"\xbf\xff"),
    (0x4000, b"\xc0\x40\x00"), (0x1FFFFF, b"\xdf\xff\xff"),
    (0x200000, b"\xe0\x20\x00\x00"), (0xFFFFFFF, b"\xef\xff\xff\xff"),
    (0x10000000, b"\xf0\x10\x00\x00\x00"), (0xFFFFFFFF, b"\xf0\xff\xff\xff\xff"),
    (1 << 32, b"\xf4\x00\x00\x00\x01\x00\x00\x00\x00"),
])
def test_mumble_varint_table(value: int, encoded: bytes) -> None:
    assert mumble.mumble_varint(value) == encoded
    assert mumble.mumble_read_varint(encoded, 0) == (value, len(encoded))


@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_mumble_varint_round_trip(value: int) -> None:
    data = b"\xaa" + mumble.mumble_varint(value)
    assert mumble.mumble_read_varint(data, 1) == (value, len(data))


def test_mumble_varint_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        mumble.mumble_varint(-1)
    for bad in (b"", b"\x80", b"\xc0\x00", b"\xf0\x00\x00", b"\xf4\x00", b"\xf8\x01", b"\xfc"):
        with pytest.raises(ValueError):
            mumble.mumble_read_varint(bad, 0)


def test_voice_packet_layout() -> None:
    # Header 0x80: type 4 (Opus) in the top 3 bits, target 0; sequence 5; Opus header 3 | 0x2000
    # (terminator) as a 2-byte varint 0xa0 0x03; then the data.
    assert mumble.voice_packet(5, b"abc", last=True) == b"\x80\x05\xa0\x03abc"
    assert mumble.voice_packet(300, b"abc") == b"\x80\x81\x2c\x03abc"
    with pytest.raises(ValueError):
        mumble.voice_packet(0, bytes(0x2000))


def test_parse_voice_in_reads_the_server_form() -> None:
    # The server relays the packet with the talker's session inserted after the header byte.
    out = mumble.voice_packet(5, b"abc", last=True)
    relayed = out[:1] + mumble.mumble_varint(7) + out[1:] + b"\x00" * 12  # + positional data
    assert mumble.parse_voice_in(relayed) == (4, 0, 7, 5, b"abc", True)
    assert mumble.parse_voice_in(b"\x80\x07\x05\x02hi") == (4, 0, 7, 5, b"hi", False)
    for bad in (b"", b"\x20\x05", b"\x80\x07\x05\x05hi"):  # empty, ping, truncated
        with pytest.raises(ValueError):
            mumble.parse_voice_in(bad)


def test_bench_voice_carries_the_timestamp_and_payload_size() -> None:
    frames, _ = mumble.split_frames(mumble.bench_voice(1, last=False))
    (kind, body), = frames
    assert kind == mumble.UDP_TUNNEL
    relayed = body[:1] + mumble.mumble_varint(3) + body[1:]
    _, _, session, seq, data, last = mumble.parse_voice_in(relayed)
    assert (session, seq, last, len(data)) == (3, 1, False, 48)  # Siaga's bench payload size
    assert 0 < int.from_bytes(data[:8], "big") <= mumble.perf_ns()


# ---- the receiving side of a connection, fed by hand ----------------------------------------


def test_conn_reads_voice_split_across_reads_and_server_sync() -> None:
    conn = mumble.Conn(0, 0)
    conn.st.measuring = True
    sync = mumble.frame(mumble.SERVER_SYNC, mumble.pb_uint(1, 42) + mumble.pb_uint(2, 558000)
                        + mumble.pb_bytes(3, "") + mumble.pb_uint(4, 1 << 40))
    out = mumble.voice_packet(200, mumble.perf_ns().to_bytes(8, "big") + bytes(40))
    voice = mumble.frame(mumble.UDP_TUNNEL, out[:1] + mumble.mumble_varint(300) + out[1:])
    data = sync + voice + voice
    conn.data_received(data[:10])
    conn.data_received(data[10:len(sync) + 7])
    assert conn.session == 42
    assert conn.st.frames == 0
    conn.data_received(data[len(sync) + 7:])
    assert conn.st.frames == conn.st.frames_total == 2
    assert all(0 <= lat < 10**10 for lat in conn.st.lat)
    assert conn.buf == bytearray()


def test_murmur_config_disables_what_would_throttle_the_bench(tmp_path: Path) -> None:
    m = mumble.Murmur(tmp_path, users=1200, exe="/bin/true")
    ini = dict(line.split("=", 1) for line in m.ini.read_text().splitlines())
    assert ini["users"] == "1216"
    assert ini["autobanAttempts"] == "0"
    assert int(ini["messagelimit"]) >= 100_000 and int(ini["messageburst"]) >= 100_000
    assert int(ini["bandwidth"]) >= 100_000
    assert ini["opusthreshold"] == "0" and ini["usersperchannel"] == "0"
    assert ini["host"] == "127.0.0.1" and int(ini["port"]) > 0
    assert ini["database"] == str(tmp_path / "murmur.sqlite")
