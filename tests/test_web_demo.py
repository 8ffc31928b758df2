"""The demo's console phase: the printed code enrolls a new governor device, the key keeper
seals keys to it, and the simulated regencies answer its calls, roll calls and orders."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

from conftest import eventually
from rich.console import Console

from siaga import demo_console
from siaga.audio import clip_path, read_opus_packets
from siaga.client import Client
from siaga.demo import Demo
from siaga.server import Server
from siaga.store import open_store
from siaga.store.identity_sql import DeviceRegistry


async def test_console_phase_answers_the_governor(tmp_path: Path) -> None:
    out = io.StringIO()
    demo = Demo(tmp_path, Console(file=out, width=200), lang="en", quick=True)
    store = open_store(tmp_path)
    server = Server(demo.roster, store, tmp_path, port=0, require_auth=True)
    demo.registry = DeviceRegistry(store.engine)
    await server.start()
    try:
        code = demo_console.announce_console(demo, server)
        assert f"http://127.0.0.1:{server.port}/" in out.getvalue()
        assert code in out.getvalue()
        await demo._secure(server.url)
        heads = ["bupati-kerinci", "bupati-tebo"]
        for head in heads:
            await demo._connect(server.url, head, ["komando"])
        await demo_console.hold_console(demo, server, interactive=False)  # no terminal: returns
        stop = asyncio.Event()
        holding = asyncio.create_task(demo_console.hold_console(demo, server, interactive=True,
                                                        stop=stop))
        # The browser's part, played by a Python client: enroll with the printed code.
        identity = await Client.enroll(server.url, code, "gubernur")
        async with await Client.connect(server.url, identity=identity) as governor:
            await governor.join("komando")
            await governor.key_ready("komando")
            await eventually(lambda: governor.keyring is not None and governor.keyring.latest(
                "komando") is not None and governor.keyring.latest("komando").epoch >= 2,
                timeout=10)
            packets = read_opus_packets(clip_path("gubernur_buka"))[:25]
            await governor.send_packets("komando", packets)
            await eventually(lambda: any(r.verified_member in heads and r.done
                                         for r in governor.heard("komando")), timeout=15)
            board = await governor.start_rollcall("komando", timeout=30)
            await eventually(lambda: {e.member for e in governor.boards[board.id].answered}
                             >= set(heads), timeout=10)
            status = await governor.issue_order("komando", ["bupati-kerinci"], "Siaga",
                                                due_in=600)
            await eventually(lambda: governor.order_status.get(status.id, {}).get(
                "bupati-kerinci") is not None and governor.order_status[status.id][
                "bupati-kerinci"].state == "copied", timeout=10)
        stop.set()
        await asyncio.wait_for(holding, 10)
        assert "Press Enter" in out.getvalue()
        assert re.search(r"Console closed", out.getvalue())
        for client in demo.stations.values():
            await client.close()
    finally:
        await server.close()
        store.close()
