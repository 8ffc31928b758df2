"""End to end on loopback: real sockets, the client library, recordings in the store."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from conftest import WAIT, Connect, ServerFactory, eventually, small_roster
from websockets.asyncio.client import connect as ws_connect

from siaga import wire
from siaga.client import Client, Reception
from siaga.recording import read_recording
from siaga.roster import Roster
from siaga.server import Server, running_server
from siaga.store import Recording, Store

M = TypeVar("M", bound=wire.ServerMessage)


async def stopped(client: Client, talkgroup: str, outcome: str | None = None
                  ) -> wire.TalkerStop:
    """The talker_stop for ``talkgroup`` (already received, or the next one)."""
    msg = await client.wait_for(
        lambda m: isinstance(m, wire.TalkerStop) and m.talkgroup == talkgroup
        and (outcome is None or m.outcome == outcome), timeout=WAIT, past=True)
    assert isinstance(msg, wire.TalkerStop)
    return msg


async def finished_recordings(server: Server, store: Store, count: int) -> list[Recording]:
    """The store's recordings once ``count`` of them are finished, oldest first."""
    async def finished() -> list[Recording]:
        await server.recorder.drain()
        recs = await asyncio.to_thread(store.list_recordings)
        return [r for r in recs if r.outcome is not None]

    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while len(recs := await finished()) < count:
        assert loop.time() < deadline, recs
        await asyncio.sleep(0.01)
    return sorted(recs, key=lambda r: r.id)


async def seen(client: Client, kind: type[M], where: Callable[[M], bool] = lambda m: True
               ) -> M:
    """The first ``kind`` message matching ``where``, whether it came already or comes next."""
    msg = await client.wait_for(lambda m: isinstance(m, kind) and where(m), timeout=WAIT,
                                past=True)
    assert isinstance(msg, kind)
    return msg


def payloads(reception: Reception) -> list[bytes]:
    return [f.payload for _, f in reception.frames]


async def test_two_party_talk_is_heard_and_recorded(
        server: Server, store: Store, data_dir: Path, connect: Connect,
        opus_packets: list[bytes]) -> None:
    gov = await connect("gubernur")
    bupati = await connect("bupati-kerinci")
    await gov.join("komando")
    await bupati.join("komando")
    tx = await bupati.send_packets("komando", opus_packets, realtime=False)
    assert tx.released and not tx.revoked
    stop = await stopped(gov, "komando", "completed")
    assert stop.member == "bupati-kerinci" and stop.stream == tx.stream

    [heard] = gov.heard("komando")
    assert heard.member.id == "bupati-kerinci" and heard.stream == tx.stream
    assert heard.outcome == "completed" and not heard.late
    assert payloads(heard) == opus_packets
    assert [f.seq for _, f in heard.frames] == list(range(len(opus_packets)))
    assert heard.frames[-1][1].end and not any(f.end for _, f in heard.frames[:-1])
    assert bupati.heard() == []  # the talker does not hear itself

    [rec] = await finished_recordings(server, store, 1)
    assert (rec.member, rec.member_name, rec.talkgroup) == (
        "bupati-kerinci", "Bupati Kerinci", "komando")
    assert (rec.outcome, rec.frames, rec.stream) == ("completed", len(opus_packets), tx.stream)
    assert rec.priority == 2 and not rec.emergency
    assert rec.size_bytes == sum(wire.HEADER_SIZE + len(p) for p in opus_packets)
    assert rec.duration is not None and 0 <= rec.duration < WAIT
    contents = read_recording(data_dir / rec.path)
    assert not contents.truncated and not contents.sealed
    assert [f.payload for _, f in contents.frames] == opus_packets
    assert [f.stream for _, f in contents.frames] == [tx.stream] * len(opus_packets)
    offsets = [o for o, _ in contents.frames]
    assert offsets == sorted(offsets)
    assert server.hub.stats.deliveries == len(opus_packets)


async def test_scan_list_separates_talkgroups(
        server: Server, connect: Connect, opus_packets: list[bytes]) -> None:
    scanner = await connect("operator-provinsi")
    for tg in ("kerinci", "merangin", "sarolangun"):
        await scanner.join(tg)
    kerinci = await connect("bupati-kerinci")
    merangin = await connect("bupati-merangin")
    await kerinci.join("kerinci")
    await merangin.join("merangin")
    a, b = opus_packets[:15], opus_packets[15:]
    await asyncio.gather(kerinci.send_packets("kerinci", a), merangin.send_packets("merangin", b))
    await stopped(scanner, "kerinci")
    await stopped(scanner, "merangin")

    [from_k] = scanner.heard("kerinci")
    [from_m] = scanner.heard("merangin")
    assert scanner.heard("sarolangun") == []
    assert from_k.member.id == "bupati-kerinci" and from_m.member.id == "bupati-merangin"
    assert payloads(from_k) == a and payloads(from_m) == b
    n_k = server.hub.roster.talkgroups["kerinci"].number
    n_m = server.hub.roster.talkgroups["merangin"].number
    assert {f.talkgroup for _, f in from_k.frames} == {n_k}
    assert {f.talkgroup for _, f in from_m.frames} == {n_m}
    # Both were on air at once and their frames arrived interleaved.
    assert from_k.ended_at is not None and from_m.ended_at is not None
    assert from_m.announced_at < from_k.ended_at and from_k.announced_at < from_m.ended_at
    arrivals = sorted([(t, "k") for t, _ in from_k.frames] + [(t, "m") for t, _ in from_m.frames])
    switches = sum(1 for x, y in itertools.pairwise(arrivals) if x[1] != y[1])
    assert switches >= 4


async def test_time_limit_cuts_off_talker(
        start_server: ServerFactory, store: Store, connect: Connect,
        opus_packets: list[bytes]) -> None:
    srv = await start_server(small_roster(time_limit=0.5))
    talker = await connect("operator", server=srv)
    listener = await connect("bupati", server=srv)
    await talker.join("uji")
    await listener.join("uji")
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    async with talker.transmit("uji") as tx:
        assert tx.limit_ms == 500
        revoked = asyncio.ensure_future(talker.wait_type(wire.FloorRevoked, timeout=WAIT))
        sent = await tx.send_packets(opus_packets * 4)  # 2.4 s of audio at real time
        await revoked
    elapsed = loop.time() - t0
    assert revoked.result().reason == "time_limit"
    assert tx.revoked == "time_limit"
    assert sent < len(opus_packets * 4)
    assert 0.4 < elapsed < 1.5
    stop = await stopped(listener, "uji", "timed_out")
    assert stop.member == "operator"
    [rec] = await finished_recordings(srv, store, 1)
    assert rec.outcome == "timed_out" and rec.talkgroup == "uji"
    assert rec.duration == pytest.approx(0.5, abs=0.05)
    assert 0 < rec.frames <= sent


async def test_preemption_end_to_end(
        server: Server, store: Store, connect: Connect, opus_packets: list[bytes]) -> None:
    gov = await connect("gubernur")
    kerinci = await connect("bupati-kerinci")
    merangin = await connect("bupati-merangin")
    for c in (gov, kerinci, merangin):
        await c.join("komando")
    tx = await kerinci.request_floor("komando")
    for p in opus_packets[:5]:
        assert await tx.send(p)
    gov_tx = await gov.request_floor("komando", wait=False)
    revoked = await seen(kerinci, wire.FloorRevoked)
    assert revoked.reason == "preempted" and revoked.stream == tx.stream
    assert tx.revoked == "preempted"
    assert await tx.send(opus_packets[5]) is False  # the client stops sending by itself
    await stopped(merangin, "komando", "preempted")
    start = await seen(merangin, wire.TalkerStart, lambda m: m.stream == gov_tx.stream)
    assert start.member.id == "gubernur" and start.priority == 3
    await gov_tx.send_packets(opus_packets[:3], realtime=False)
    await gov_tx.release()
    await stopped(merangin, "komando", "completed")
    first, second = merangin.heard("komando")
    assert first.outcome == "preempted" and payloads(first) == opus_packets[:5]
    assert second.outcome == "completed" and payloads(second) == opus_packets[:3]
    # The pre-empted talker heard the governor too.
    assert [r.member.id for r in kerinci.heard("komando")] == ["gubernur"]
    recs = await finished_recordings(server, store, 2)
    assert [(r.member, r.outcome, r.frames) for r in recs] == [
        ("bupati-kerinci", "preempted", 5), ("gubernur", "completed", 3)]


async def test_talker_connection_dropped(
        server: Server, store: Store, connect: Connect, opus_packets: list[bytes]) -> None:
    listener = await connect("gubernur")
    talker = await connect("bupati-kerinci")
    await listener.join("kerinci")
    await talker.join("kerinci")
    tx = await talker.request_floor("kerinci")
    for p in opus_packets[:8]:
        await tx.send(p)
    await eventually(lambda: listener.frames_received == 8)
    talker._ws.transport.abort()  # the radio drops off the network without a close frame
    stop = await stopped(listener, "kerinci")
    assert stop.outcome == "connection_lost" and stop.member == "bupati-kerinci"
    await asyncio.wait_for(talker.closed.wait(), WAIT)
    [heard] = listener.heard("kerinci")
    assert heard.outcome == "connection_lost" and len(heard.frames) == 8
    [rec] = await finished_recordings(server, store, 1)
    assert (rec.outcome, rec.frames) == ("connection_lost", 8)
    await seen(listener, wire.Presence, lambda m: "bupati-kerinci" in m.offline)
    # The floor is free again.
    again = await listener.request_floor("kerinci", wait=False)
    await again.release()


async def test_late_entry_hears_the_rest(
        server: Server, connect: Connect, opus_packets: list[bytes]) -> None:
    gov = await connect("gubernur")
    late = await connect("bupati-tebo")
    await gov.join("komando")
    tx = await gov.request_floor("komando")
    sender = asyncio.ensure_future(tx.send_packets(opus_packets))  # 0.6 s at real time
    await eventually(lambda: tx._seq >= 8)
    loop = asyncio.get_running_loop()
    joined_at = loop.time()
    sent_before_join = tx._seq
    await late.join("komando")
    start = await seen(late, wire.TalkerStart)
    assert start.late is True and start.stream == tx.stream and start.member.id == "gubernur"
    await eventually(lambda: late.frames_received > 0)
    first_frame_delay = loop.time() - joined_at
    await sender
    await tx.release()
    await stopped(late, "komando", "completed")
    [heard] = late.heard("komando")
    assert heard.late
    first_seq = heard.frames[0][1].seq
    # Late entry: the listener picks up within a couple of frames of when it joined...
    assert sent_before_join <= first_seq <= sent_before_join + 3
    assert first_frame_delay < 0.15  # frames come every 0.02 s
    # ... and hears every frame from there on, in order.
    seqs = [f.seq for _, f in heard.frames]
    assert seqs == list(range(first_seq, len(opus_packets)))
    assert payloads(heard) == opus_packets[first_seq:]


async def test_graceful_shutdown_finishes_recording(
        roster: Roster, store: Store, data_dir: Path, connect: Connect,
        opus_packets: list[bytes]) -> None:
    async with running_server(roster, store, data_dir) as srv:
        talker = await connect("bpbd", server=srv)
        listener = await connect("damkar", server=srv)
        await talker.join("gabungan")
        await listener.join("gabungan")
        tx = await talker.request_floor("gabungan")
        for p in opus_packets[:6]:
            await tx.send(p)
        await eventually(lambda: listener.frames_received == 6)
    # The server is gone: both clients were closed by it ("going away").
    await asyncio.wait_for(talker.closed.wait(), WAIT)
    await asyncio.wait_for(listener.closed.wait(), WAIT)
    assert talker._ws.close_code == 1001
    [rec] = await asyncio.to_thread(store.list_recordings)
    assert rec.outcome == "interrupted" and rec.frames == 6 and rec.member == "bpbd"
    assert rec.ended_at is not None
    contents = read_recording(data_dir / rec.path)
    assert [f.payload for _, f in contents.frames] == opus_packets[:6]
    assert await tx.send(opus_packets[6]) is False


async def test_server_survives_garbage(
        server: Server, connect: Connect, opus_packets: list[bytes]) -> None:
    gov = await connect("gubernur")
    bupati = await connect("bupati-kerinci")
    await gov.join("kerinci")
    await bupati.join("kerinci")
    async with ws_connect(server.url) as raw:
        await raw.send("\x00\xff not json at all")
        await raw.send(b"\x07" * 40)
        await raw.send('{"type": "hello", "v": 1, "member": 5}')
        codes = [wire.decode_server(await raw.recv()) for _ in range(4)]  # challenge first
        assert [c.code for c in codes if isinstance(c, wire.Error)] == [
            "bad_message", "unsupported_version", "bad_message"]
        await bupati.send_packets("kerinci", opus_packets[:10], realtime=False)
        await stopped(gov, "kerinci", "completed")
        assert payloads(gov.heard("kerinci")[0]) == opus_packets[:10]
        assert await gov.ping() < 1.0


async def test_duplicate_device_replaces_old_connection(
        server: Server, connect: Connect) -> None:
    first = await connect("bpbd", "radio-1")
    second = await connect("bpbd", "radio-1")
    err = await seen(first, wire.Error)
    assert err.code == "duplicate_session"
    await asyncio.wait_for(first.closed.wait(), WAIT)
    assert first._ws.close_code == 1008
    assert await second.ping() < 1.0


async def test_keepalive_pings_are_spread_per_connection(server: Server,
                                                         connect: Connect) -> None:
    """Radios that reconnect together must not be pinged together forever after."""
    from siaga.server.app import KEEPALIVE

    for member in ("gubernur", "bupati-kerinci", "bupati-tebo", "polda"):
        await connect(member)
    intervals = [ws.ping_interval for ws in server._conns.values()]
    assert len(intervals) == 4
    assert all(i is not None and 0.75 * KEEPALIVE <= i <= 1.25 * KEEPALIVE for i in intervals)
    assert len(set(intervals)) > 1
