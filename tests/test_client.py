"""The client library against a real server: floor requests, transmissions, receptions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from conftest import WAIT, Connect, ServerFactory, small_roster
from websockets.exceptions import ConnectionClosed

from siaga import wire
from siaga.audio.files import read_audio
from siaga.audio.opus import FRAME_SAMPLES
from siaga.client import Client
from siaga.errors import ErrorCode, Refused
from siaga.server import Server


async def stop_of(client: Client, stream: int) -> wire.TalkerStop:
    msg = await client.wait_for(
        lambda m: isinstance(m, wire.TalkerStop) and m.stream == stream, past=True,
        timeout=WAIT)
    assert isinstance(msg, wire.TalkerStop)
    return msg


async def trio(connect: Connect, tg: str = "komando") -> tuple[Client, Client, Client]:
    a = await connect("bupati-kerinci")
    b = await connect("bupati-merangin")
    c = await connect("gubernur")
    for client in (a, b, c):
        await client.join(tg)
    return a, b, c


async def test_connect_welcome(server: Server, connect: Connect) -> None:
    client = await connect("gubernur", "ht-7")
    assert client.welcome is not None
    assert client.welcome.member.id == "gubernur" and client.device == "ht-7"
    assert "komando" in {t.id for t in client.welcome.talkgroups}
    joined = await client.join("komando")
    assert joined.online == ["gubernur"] and joined.number == 1


async def test_connect_unknown_member_raises_and_cleans_up(server: Server) -> None:
    def readers() -> list[asyncio.Task[object]]:
        return [t for t in asyncio.all_tasks()
                if getattr(t.get_coro(), "__qualname__", "") == "Client._read"]

    with pytest.raises(Refused) as info:
        await Client.connect(server.url, "penyusup", timeout=WAIT)
    assert info.value.code == ErrorCode.UNKNOWN_MEMBER
    # Nothing is left behind: the reader task is finished and the socket closed.
    assert readers() == []


async def test_join_refused(connect: Connect) -> None:
    client = await connect("bupati-kerinci")
    with pytest.raises(Refused) as info:
        await client.join("merangin")
    assert info.value.code == ErrorCode.NOT_MEMBER
    with pytest.raises(Refused) as info:
        await client.leave("kerinci")
    assert info.value.code == ErrorCode.NOT_JOINED


async def test_ping(connect: Connect) -> None:
    client = await connect("bpbd")
    rtt = await client.ping()
    assert 0 <= rtt < 1.0
    pong = await client.wait_for(lambda m: isinstance(m, wire.Pong), past=True, timeout=WAIT)
    assert isinstance(pong, wire.Pong) and pong.server_time > 0


async def test_request_floor_queued_without_wait_raises_floor_busy(connect: Connect) -> None:
    holder, waiter, third = await trio(connect)
    tx = await holder.request_floor("komando")
    with pytest.raises(Refused) as info:
        await waiter.request_floor("komando", wait=False)
    assert info.value.code == ErrorCode.FLOOR_BUSY
    assert "komando" not in waiter.transmissions
    # Giving up withdraws the request: when the floor frees up it goes to whoever asks next,
    # not to the client that said it would not wait.
    await tx.release()
    await stop_of(third, tx.stream)
    nxt = await third.request_floor("komando", wait=False)
    assert nxt.active
    await nxt.release()
    granted = [m for _, m in waiter.events if isinstance(m, wire.FloorGranted)]
    assert granted == []


async def test_request_floor_timeout_withdraws(connect: Connect) -> None:
    holder, waiter, third = await trio(connect)
    tx = await holder.request_floor("komando")
    with pytest.raises(TimeoutError):
        await waiter.request_floor("komando", timeout=0.1)
    await tx.release()
    await stop_of(third, tx.stream)
    nxt = await third.request_floor("komando", wait=False)
    await nxt.release()
    assert not any(isinstance(m, wire.FloorGranted) for _, m in waiter.events)


async def test_request_floor_waits_in_queue(connect: Connect) -> None:
    holder, waiter, _ = await trio(connect)
    tx = await holder.request_floor("komando")
    pending = asyncio.ensure_future(waiter.request_floor("komando", timeout=WAIT))
    queued = await waiter.wait_for(lambda m: isinstance(m, wire.FloorQueued), past=True,
                                   timeout=WAIT)
    assert isinstance(queued, wire.FloorQueued) and queued.position == 1
    assert not pending.done()
    await tx.release()
    second = await pending
    assert second.active and second.stream != tx.stream
    assert second.access_time > 0
    await second.release()


async def test_request_floor_denied(connect: Connect) -> None:
    op = await connect("operator-provinsi")
    await op.join("komando")
    with pytest.raises(Refused) as info:
        await op.request_floor("komando")
    assert info.value.code == ErrorCode.NOT_ALLOWED
    with pytest.raises(Refused) as info:
        await op.request_floor("gabungan")
    assert info.value.code == ErrorCode.NOT_JOINED


async def test_transmit_context_releases(connect: Connect, opus_packets: list[bytes]) -> None:
    talker, listener, _ = await trio(connect)
    async with talker.transmit("komando") as tx:
        active_inside = tx.active
        assert talker.transmissions["komando"] is tx and active_inside
        assert tx.limit_ms == 30_000
        assert await tx.send_packets(opus_packets[:5], realtime=False) == 5
    assert tx.released and not tx.active and "komando" not in talker.transmissions
    assert (await stop_of(listener, tx.stream)).outcome == "completed"
    released = await talker.wait_for(
        lambda m: isinstance(m, wire.FloorReleased) and m.stream == tx.stream, past=True,
        timeout=WAIT)
    assert isinstance(released, wire.FloorReleased)
    assert await tx.send(opus_packets[0]) is False
    # The floor is free for the next talker at once.
    again = await listener.request_floor("komando", wait=False)
    await again.release()


async def test_transmit_context_releases_on_error(connect: Connect) -> None:
    talker, listener, _ = await trio(connect)
    with pytest.raises(RuntimeError, match="radio dropped"):
        async with talker.transmit("komando") as tx:
            raise RuntimeError("radio dropped")
    assert (await stop_of(listener, tx.stream)).outcome == "completed"
    assert "komando" not in talker.transmissions


async def test_revoked_transmission_stops_sending(
        start_server: ServerFactory, connect: Connect, opus_packets: list[bytes]) -> None:
    srv = await start_server(small_roster(time_limit=0.2))
    talker = await connect("operator", server=srv)
    await talker.join("uji")
    async with talker.transmit("uji") as tx:
        sent = await tx.send_packets(opus_packets * 2)
    assert tx.revoked == "time_limit" and not tx.released
    assert 5 <= sent < len(opus_packets)


async def test_reception_to_pcm_and_wav(connect: Connect, opus_packets: list[bytes],
                                        tmp_path: Path) -> None:
    talker, listener, _ = await trio(connect)
    tx = await talker.send_packets("komando", opus_packets, realtime=False)
    await stop_of(listener, tx.stream)
    [heard] = listener.heard("komando")
    assert heard.done and len(heard.frames) == len(opus_packets)
    assert heard.packets() == opus_packets
    pcm = heard.to_pcm()
    assert pcm.dtype == np.int16
    assert len(pcm) == len(opus_packets) * FRAME_SAMPLES
    assert np.abs(pcm[FRAME_SAMPLES:].astype(np.int32)).max() > 1000  # the tone, not silence
    heard.write_wav(tmp_path / "heard.wav")
    wav = read_audio(tmp_path / "heard.wav")
    assert len(wav) == len(pcm)


async def test_reception_conceals_lost_frames(connect: Connect,
                                              opus_packets: list[bytes]) -> None:
    talker, listener, _ = await trio(connect)
    tx = await talker.request_floor("komando")
    for i, p in enumerate(opus_packets):
        if i in (3, 4, 17):
            tx._seq += 1  # lost on the way: the sequence number is used, nothing arrives
            continue
        await tx.send(p)
    await tx.release()
    await stop_of(listener, tx.stream)
    [heard] = listener.heard("komando")
    packets = heard.packets()
    assert len(packets) == len(opus_packets)
    assert [i for i, p in enumerate(packets) if p is None] == [3, 4, 17]
    assert len(heard.to_pcm()) == len(opus_packets) * FRAME_SAMPLES


async def test_on_event_callback_and_emergency(connect: Connect) -> None:
    seen: list[wire.ServerMessage] = []
    staff = await connect("operator-tebo")
    bupati = await connect("bupati-tebo")
    bpbd = await connect("bpbd")
    bupati.on_event = seen.append
    await staff.join("darurat")
    tx = await staff.request_floor("darurat", emergency=True)
    assert tx.emergency and tx.limit_ms == 120_000
    alert = await bupati.wait_for(lambda m: isinstance(m, wire.Emergency), past=True,
                                  timeout=WAIT)
    assert alert == wire.Emergency(talkgroup="darurat", member="operator-tebo", active=True)
    assert bupati.emergencies == {"darurat": "operator-tebo"}
    assert alert in seen
    with pytest.raises(Refused) as info:
        await bupati.clear_emergency("darurat")
    assert info.value.code == ErrorCode.NOT_ALLOWED
    await bpbd.clear_emergency("darurat")
    await bupati.wait_for(lambda m: isinstance(m, wire.Emergency) and not m.active,
                          past=True, timeout=WAIT)
    assert bupati.emergencies == {}
    await tx.release()


async def test_close_releases_held_floor(connect: Connect) -> None:
    talker, listener, _ = await trio(connect)
    tx = await talker.request_floor("komando")
    await talker.close()
    assert (await stop_of(listener, tx.stream)).outcome == "completed"
    assert talker.closed.is_set()
    with pytest.raises((ConnectionError, ConnectionClosed)):
        await asyncio.wait_for(talker.ping(), WAIT)


async def test_rate_limited_requests_are_sent_again(connect: Connect) -> None:
    """A burst beyond the server's control-message budget is refused with the request's ref;
    the client waits and sends those again instead of failing (or waiting forever)."""
    client = await connect("gubernur")
    rtts = await asyncio.wait_for(asyncio.gather(*(client.ping() for _ in range(45))), 20)
    assert len(rtts) == 45
    assert any(isinstance(m, wire.Error) and m.code == "rate_limited" and m.ref is not None
               for _, m in client.events)
