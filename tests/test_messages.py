"""Messages with receipts and store-and-forward, including a server killed with SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import Connect

from siaga import wire
from siaga.client import Client
from siaga.errors import ErrorCode, Refused
from siaga.server import Server
from siaga.store import Store

WAIT = 5.0


async def until(check, timeout: float = WAIT) -> None:  # type: ignore[no-untyped-def]
    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(poll(), timeout)


def count(store: Store, table: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())


async def test_text_and_status_with_receipts(connect: Connect) -> None:
    gov = await connect("gubernur")
    kerinci = await connect("bupati-kerinci")
    accepted = await gov.send_message("komando", text="Laporkan situasi TPS")
    assert accepted.recipients == 12  # 11 heads and the provincial operator
    status = await gov.send_message("komando", status="banjir")
    await until(lambda: len(kerinci.inbox) == 2)
    first, second = kerinci.inbox.values()
    assert (first.text, first.sender, first.sealed) == ("Laporkan situasi TPS", "gubernur", False)
    assert second.status == "banjir"
    await until(lambda: "bupati-kerinci" in gov.receipts.get(accepted.id, {}))
    assert "delivered" in gov.receipts[accepted.id]["bupati-kerinci"]
    await kerinci.mark_read(accepted.id)
    await until(lambda: "read" in gov.receipts[accepted.id]["bupati-kerinci"])
    assert "read" not in gov.receipts.get(status.id, {}).get("bupati-kerinci", {})


async def test_offline_member_gets_everything_in_order_exactly_once(
        connect: Connect, server: Server) -> None:
    gov = await connect("gubernur")
    ids = [(await gov.send_message("tebo", text=f"pesan {i}")).id for i in range(5)]
    # a retry of a message already stored is acknowledged, never stored twice
    again = await gov.send_message("tebo", text="pesan 0", message_id=ids[0])
    assert again.id == ids[0]
    tebo = await connect("bupati-tebo")  # was offline: the flooded area just came back
    await until(lambda: len(tebo.inbox) == 5)
    assert list(tebo.inbox) == ids
    assert [m.text for m in tebo.inbox.values()] == [f"pesan {i}" for i in range(5)]
    # Delivered copies are not sent again at the next sign-in ...
    await until(lambda: all("bupati-tebo" in gov.receipts.get(i, {}) for i in ids))
    await tebo.close()
    tebo2 = await connect("bupati-tebo", "another-device")
    await asyncio.sleep(0.3)
    assert tebo2.inbox == {}
    # ... and a copy the device already has is shown once (the wire is at-least-once).
    msg = wire.Message(id=ids[0], talkgroup="tebo", sender="gubernur", sender_device="d",
                       sent_at=1.0, text="pesan 0")
    tebo2._on_message(msg, 2.0)
    tebo2._on_message(msg, 3.0)
    assert len(tebo2.inbox) == 1


async def test_sender_offline_gets_receipts_at_sign_in(connect: Connect) -> None:
    gov = await connect("gubernur", "ht-1")
    sent = await gov.send_message("tebo", status="logistik_tiba")
    await gov.close()
    tebo = await connect("bupati-tebo")
    await until(lambda: sent.id in tebo.inbox)
    await tebo.mark_read(sent.id)
    await asyncio.sleep(0.2)
    gov_again = await connect("gubernur", "ht-1")
    await until(lambda: "read" in gov_again.receipts.get(sent.id, {}).get("bupati-tebo", {}))


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"status": "pesta"}, "status"),
    ({"text": "x" * (wire.MAX_TEXT + 1)}, "text"),
])
async def test_bad_messages_are_refused_by_the_client_naming_the_field(
        connect: Connect, kwargs: dict[str, str], fragment: str) -> None:
    gov = await connect("gubernur")
    with pytest.raises(Refused) as refused:
        await gov.send_message("komando", **kwargs)  # type: ignore[arg-type]
    assert refused.value.code == ErrorCode.BAD_MESSAGE and fragment in refused.value.message


@pytest.mark.parametrize(("fields", "code", "fragment"), [
    ({"status": "pesta"}, "bad_message", "status"),
    ({"text": "x" * (wire.MAX_TEXT + 1)}, "bad_message", "text"),
    ({"text": "   "}, "bad_message", "text"),
    ({"text": "a", "sealed": "AAAA"}, "bad_message", "either"),
    ({}, "bad_message", "either"),
    ({"text": "a", "talkgroup": "kerinci"}, "not_member", "member"),
    ({"text": "a", "talkgroup": "nowhere"}, "unknown_talkgroup", "nowhere"),
])
async def test_bad_messages_reach_the_server_and_nothing_is_stored(
        connect: Connect, store: Store, fields: dict[str, str], code: str,
        fragment: str) -> None:
    tebo = await connect("bupati-tebo")
    payload = {"type": "message_send", "id": "abcdefgh12", "talkgroup": "tebo", **fields}
    import json

    waiter = tebo.wait_for(lambda m: isinstance(m, wire.Error))
    await tebo._ws.send(json.dumps(payload))
    error = await waiter
    assert isinstance(error, wire.Error)
    assert error.code == code and fragment in error.message
    assert count(store, "messages") == 0 and count(store, "deliveries") == 0
    assert await tebo.ping() < 1.0  # the connection carries on


# ---- kill -9 ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``siaga serve`` as its own process, so it can really be killed."""

    def __init__(self, data: Path, port: int) -> None:
        self.data, self.port = data, port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    async def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "siaga", "serve", "--open", "--port", str(self.port),
             "--data-dir", str(self.data), "--loop", "asyncio", "--http-port", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                client = await Client.connect(self.url, "operator-provinsi", "probe")
                await client.close()
                return
            except OSError:
                await asyncio.sleep(0.1)
        raise AssertionError("server did not come up")

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
async def server_process(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    srv = ServerProcess(tmp_path / "data", free_port())
    try:
        yield srv
    finally:
        srv.stop()


async def test_acknowledged_messages_survive_kill_9(server_process: ServerProcess) -> None:
    await server_process.start()
    gov = await Client.connect(server_process.url, "gubernur", "ht-gov")
    accepted = [await gov.send_message("tebo", text=f"darurat {i}") for i in range(20)]
    assert all(a.recipients == 3 for a in accepted)
    direct = await gov.send_direct("bupati-tebo", text="langsung")
    reported = [await gov.report_tps("15.08.01.01.001", status="voting", ballots_cast=i)
                for i in range(5)]
    server_process.kill()  # no shutdown, no flush: SIGKILL right after the last ack
    await asyncio.wait_for(gov.closed.wait(), WAIT)
    await gov.close()

    await server_process.start()
    tebo = await Client.connect(server_process.url, "bupati-tebo", "ht-tebo")
    try:
        await until(lambda: len(tebo.inbox) == 21)
        assert list(tebo.inbox) == [a.id for a in accepted] + [direct.id]
        assert [m.text for m in tebo.inbox.values()] == [
            *(f"darurat {i}" for i in range(20)), "langsung"]
        board = await tebo.board("election")
        station = next(s for s in board["stations"] if s["id"] == "15.08.01.01.001")
        assert (station["reports"], station["ballots_cast"]) == (len(reported), 4)
        gov = await Client.connect(server_process.url, "gubernur", "ht-gov")
        await until(lambda: all("bupati-tebo" in gov.receipts.get(a.id, {})
                                for a in accepted))
        await gov.close()
    finally:
        await tebo.close()
