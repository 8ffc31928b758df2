"""Hostile or broken input on a real server: the offender is answered or cut off, and a
well-behaved pair of clients on the same server keeps talking, hearing and being recorded."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import WAIT, Connect
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from siaga import wire
from siaga.client import Client
from siaga.recording import read_recording
from siaga.server import Server
from siaga.store import Store

TG = "komando"


@dataclass
class Pair:
    """A governor and a regency head on komando, talking normally throughout a test."""

    server: Server
    store: Store
    data_dir: Path
    talker: Client
    listener: Client
    packets: list[bytes]
    talks: int = 0

    async def talk(self, count: int = 10) -> None:
        """One complete over: heard in full by the listener and recorded intact."""
        sent = self.packets[:count]
        tx = await self.talker.send_packets(TG, sent, realtime=False)
        stop = await self.listener.wait_for(
            lambda m: isinstance(m, wire.TalkerStop) and m.stream == tx.stream, past=True,
            timeout=WAIT)
        assert isinstance(stop, wire.TalkerStop) and stop.outcome == "completed"
        [heard] = [r for r in self.listener.heard(TG) if r.stream == tx.stream]
        assert [f.payload for _, f in heard.frames] == sent
        self.talks += 1
        await self.server.recorder.drain()
        recs = await asyncio.to_thread(self.store.list_recordings)
        assert len(recs) == self.talks, recs
        assert all(r.member == "bupati-kerinci" and r.outcome == "completed" for r in recs)
        [rec] = [r for r in recs if r.stream == tx.stream]
        assert rec.frames == count
        contents = read_recording(self.data_dir / rec.path)
        assert not contents.truncated
        assert [f.payload for _, f in contents.frames] == sent


@pytest.fixture
async def pair(server: Server, store: Store, data_dir: Path, connect: Connect,
               opus_packets: list[bytes]) -> Pair:
    listener = await connect("gubernur")
    talker = await connect("bupati-kerinci")
    await listener.join(TG)
    await talker.join(TG)
    p = Pair(server, store, data_dir, talker, listener, opus_packets)
    await p.talk()
    return p


@contextlib.asynccontextmanager
async def raw(server: Server, member: str | None = "bupati-merangin",
              join: str | None = TG) -> AsyncIterator[ClientConnection]:
    """A bare WebSocket, optionally signed in and joined, for sending anything at all."""
    # max_queue=None: a test that does not read every answer must not stall the closing
    # handshake behind them.
    async with ws_connect(server.url, compression=None, max_size=2**20,
                          max_queue=None) as ws:
        await expect(ws, wire.Challenge)  # always the server's first word
        if member is not None:
            await ws.send(wire.encode(wire.Hello(v=1, member=member, device="raw")))
            await expect(ws, wire.Welcome)
            if join is not None:
                await ws.send(wire.encode(wire.Join(talkgroup=join)))
                await expect(ws, wire.Joined)
        yield ws


async def next_message(ws: ClientConnection,
                       where: Callable[[wire.ServerMessage], bool] = lambda m: True
                       ) -> wire.ServerMessage:
    """The next control message matching ``where`` (audio and other messages skipped)."""
    async def read() -> wire.ServerMessage:
        while True:
            data = await ws.recv()
            if isinstance(data, str) and where(msg := wire.decode_server(data)):
                return msg

    return await asyncio.wait_for(read(), WAIT)


async def expect(ws: ClientConnection, kind: type[wire.ServerMessage]) -> wire.ServerMessage:
    return await next_message(ws, lambda m: isinstance(m, kind))


async def error(ws: ClientConnection) -> wire.Error:
    msg = await expect(ws, wire.Error)
    assert isinstance(msg, wire.Error)
    return msg


async def still_open(ws: ClientConnection) -> None:
    await ws.send(wire.encode(wire.Ping(ref=424242)))
    pong = await next_message(ws, lambda m: getattr(m, "ref", None) == 424242)
    assert isinstance(pong, wire.Pong)


async def closed_with(ws: ClientConnection) -> tuple[int | None, list[str | bytes]]:
    """Read everything until the server closes the connection; return its close code."""
    got: list[str | bytes] = []

    async def drain() -> None:
        with contextlib.suppress(ConnectionClosed):
            async for data in ws:
                got.append(data)

    await asyncio.wait_for(drain(), WAIT)
    return ws.close_code, got


# ---- malformed control messages ---------------------------------------------------------------

BIG = wire.MAX_CONTROL_BYTES


@pytest.mark.parametrize("text,code", [
    ("{this is not json", "bad_message"),
    ("", "bad_message"),
    ("null", "bad_message"),
    ('["join", "komando"]', "bad_message"),
    ('{"type": "join", "talkgroup": 7}', "bad_message"),
    ('{"type": "floor_request", "talkgroup": "komando", "emergency": "yes"}', "bad_message"),
    ('{"type": "join", "talkgroup": "komando", "sneaky": true}', "bad_message"),
    ('{"type": "join", "talkgroup": "komando dan lain"}', "bad_message"),
    ('{"type": "join"}', "bad_message"),
    ('{"type": "self_destruct"}', "unknown_type"),
    ('{"type": "floor_granted", "talkgroup": "komando"}', "unknown_type"),
    (json.dumps({"type": "ping", "pad": "x" * (BIG + 100)}), "too_large"),
    ('{"type":"ping","t":"' + "é" * (BIG // 2 + 10) + '"}', "too_large"),
], ids=lambda v: v[:30] if isinstance(v, str) else v)
async def test_malformed_control_message(pair: Pair, text: str, code: str) -> None:
    async with raw(pair.server) as ws:
        await ws.send(text)
        err = await error(ws)
        assert err.code == code
        await still_open(ws)
        await pair.talk()
    assert pair.server.hub.stats.errors_sent >= 1


async def test_malformed_before_hello(pair: Pair) -> None:
    async with raw(pair.server, member=None) as ws:
        await ws.send("{]")
        assert (await error(ws)).code == "bad_message"
        await ws.send(wire.encode(wire.Join(talkgroup=TG)))
        assert (await error(ws)).code == "not_authenticated"
        await ws.send(wire.AudioFrame(1, 1, 0, 0, b"x").encode())
        assert (await error(ws)).code == "not_holder"
        await pair.talk()


async def test_text_beyond_websocket_limit_closes_that_connection(pair: Pair) -> None:
    async with raw(pair.server) as ws:
        await ws.send('{"type":"ping","pad":"' + "x" * (2 * BIG + 1000) + '"}')
        code, _ = await closed_with(ws)
        assert code == 1009
    await pair.talk()
    assert await pair.listener.ping() < 1.0


async def test_bad_hello_versions_and_members(pair: Pair) -> None:
    async with raw(pair.server, member=None) as ws:
        await ws.send(wire.encode(wire.Hello(v=99, member="gubernur", device="x")))
        assert (await error(ws)).code == "unsupported_version"
        code, _ = await closed_with(ws)
        assert code == 1002
    async with raw(pair.server, member=None) as ws:
        await ws.send(wire.encode(wire.Hello(v=1, member="mata-mata", device="x")))
        assert (await error(ws)).code == "unknown_member"
        code, _ = await closed_with(ws)
        assert code == 1008
    await pair.talk()


# ---- malformed audio --------------------------------------------------------------------------


@pytest.mark.parametrize("data,code", [
    (b"", "bad_frame"),
    (b"\x01\x00\x00\x01\x00", "bad_frame"),  # truncated header
    (wire.AudioFrame(1, 1, 0, 0, b"opus").encode()[:15], "bad_frame"),
    (b"\x02" + bytes(15) + b"payload", "unsupported_version"),
    (b"\x01\x40" + bytes(14), "bad_frame"),  # unknown flag
    (bytes([1, 0]) + bytes(14) + b"x" * (wire.MAX_AUDIO_PAYLOAD + 1), "too_large"),
    (bytes([1, 0]) + bytes(14) + b"x" * 8000, "too_large"),
], ids=["empty", "short", "header-15", "version", "flags", "just-too-large", "large"])
async def test_malformed_audio_frame(pair: Pair, data: bytes, code: str) -> None:
    before = pair.server.hub.stats.dropped_bad
    async with raw(pair.server) as ws:
        await ws.send(data)
        assert (await error(ws)).code == code
        await still_open(ws)
        await pair.talk()
    assert pair.server.hub.stats.dropped_bad == before + 1
    assert pair.listener.frames_received == 10 * pair.talks


async def test_binary_beyond_websocket_limit_closes_that_connection(pair: Pair) -> None:
    async with raw(pair.server) as ws:
        await ws.send(bytes([1, 0]) + bytes(14) + b"x" * (3 * BIG))
        code, _ = await closed_with(ws)
        assert code == 1009
    await pair.talk()


async def test_audio_from_non_holder_is_dropped(pair: Pair) -> None:
    number = pair.server.hub.roster.talkgroups[TG].number
    stats = pair.server.hub.stats
    async with raw(pair.server) as ws:
        tx = await pair.talker.request_floor(TG)
        start = await expect(ws, wire.TalkerStart)
        assert isinstance(start, wire.TalkerStart) and start.stream == tx.stream
        before = stats.dropped_not_holder
        heard_before = pair.listener.frames_received
        # Forged frames on the real talker's stream, on a made-up stream, and on
        # the right stream with another talkgroup's number.
        forged = [
            wire.AudioFrame(number, tx.stream, 1000 + i, 0, b"forged").encode()
            for i in range(5)
        ] + [
            wire.AudioFrame(number, tx.stream + 77, 0, 0, b"forged").encode(),
            wire.AudioFrame(number + 1, tx.stream, 2000, 0, b"forged").encode(),
        ]
        for data in forged:
            await ws.send(data)
        err = await error(ws)
        assert err.code == "not_holder"
        # The real talker carries on undisturbed.
        for p in pair.packets[:10]:
            assert await tx.send(p)
        await tx.release()
        stop = await pair.listener.wait_for(
            lambda m: isinstance(m, wire.TalkerStop) and m.stream == tx.stream, timeout=WAIT,
            past=True)
        assert isinstance(stop, wire.TalkerStop)
        await still_open(ws)
    assert stats.dropped_not_holder == before + len(forged)
    assert pair.listener.frames_received == heard_before + 10
    [heard] = [r for r in pair.listener.heard(TG) if r.stream == tx.stream]
    assert [f.payload for _, f in heard.frames] == pair.packets[:10]
    await pair.server.recorder.drain()
    rec = next(r for r in await asyncio.to_thread(pair.store.list_recordings)
               if r.stream == tx.stream)
    assert rec.frames == 10
    contents = read_recording(pair.data_dir / rec.path)
    assert b"forged" not in [f.payload for _, f in contents.frames]
    pair.talks += 1
    await pair.talk()


async def test_not_holder_error_is_not_repeated(pair: Pair) -> None:
    number = pair.server.hub.roster.talkgroups[TG].number
    async with raw(pair.server) as ws:
        for seq in range(20):
            await ws.send(wire.AudioFrame(number, 99, seq, 0, b"x").encode())
        await ws.send(wire.encode(wire.Ping(ref=5)))
        before_pong: list[wire.ServerMessage] = []
        while not isinstance(msg := await next_message(ws), wire.Pong):
            before_pong.append(msg)
    assert [e.code for e in before_pong if isinstance(e, wire.Error)] == ["not_holder"]
    await pair.talk()


# ---- refused requests -------------------------------------------------------------------------


@pytest.mark.parametrize("msg,code", [
    (wire.FloorRequest(talkgroup="kerinci"), "not_member"),
    (wire.FloorRequest(talkgroup="atlantis"), "unknown_talkgroup"),
    (wire.FloorRequest(talkgroup="gabungan"), "not_joined"),
    (wire.Join(talkgroup="kerinci"), "not_member"),
    (wire.FloorRelease(talkgroup=TG), "not_holder"),
    (wire.EmergencyClear(talkgroup="darurat"), "not_allowed"),
], ids=lambda v: getattr(v, "talkgroup", v))
async def test_refused_request(pair: Pair, msg: wire.ClientMessage, code: str) -> None:
    async with raw(pair.server) as ws:
        await ws.send(wire.encode(msg))
        assert (await error(ws)).code == code
        await still_open(ws)
        await pair.talk()


async def test_control_flood_is_limited_then_closed(pair: Pair) -> None:
    async with raw(pair.server) as ws:
        ping = wire.encode(wire.Ping())
        for _ in range(200):
            await ws.send(ping)
        code, got = await closed_with(ws)
    assert code == 1008
    msgs = [wire.decode_server(m) for m in got if isinstance(m, str)]
    pongs = [m for m in msgs if isinstance(m, wire.Pong)]
    limited = [m for m in msgs if isinstance(m, wire.Error) and m.code == "rate_limited"]
    assert 20 <= len(pongs) < 60
    assert len(limited) >= 40
    # Refusals started only after the burst was spent.
    first_limited = next(i for i, m in enumerate(msgs)
                         if isinstance(m, wire.Error) and m.code == "rate_limited")
    assert all(not isinstance(m, wire.Pong) for m in msgs[first_limited + 5:])
    await pair.talk()
    assert await pair.talker.ping() < 1.0


async def test_flood_during_a_transmission(pair: Pair) -> None:
    """A flooder on the same talkgroup cannot disturb an over in progress."""
    async with raw(pair.server) as ws:
        tx = await pair.talker.request_floor(TG)
        for i, p in enumerate(pair.packets[:20]):
            await ws.send('{"type":"join","talkgroup":"kerinci"}')
            await ws.send(b"\x01")
            assert await tx.send(p), i
        await tx.release()
        stop = await pair.listener.wait_for(
            lambda m: isinstance(m, wire.TalkerStop) and m.stream == tx.stream, timeout=WAIT,
            past=True)
        assert isinstance(stop, wire.TalkerStop) and stop.outcome == "completed"
        codes = [(await error(ws)).code for _ in range(40)]
        assert sorted(set(codes)) == ["bad_frame", "not_member"]
        await still_open(ws)
    [heard] = [r for r in pair.listener.heard(TG) if r.stream == tx.stream]
    assert [f.payload for _, f in heard.frames] == pair.packets[:20]
    pair.talks += 1
    await pair.talk()
