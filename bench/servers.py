"""The server process of one benchmark configuration: Siaga, or the bare echo/relay baseline.

Run as ``python bench/servers.py --kind siaga|echo --loop asyncio|uvloop --groups G --size S
--members M --data-dir DIR [--tls-cert CERT --tls-key KEY]`` (TLS: Siaga only, for run.py's
"siaga+tls"). Prints ``READY <port>`` on stdout once listening and serves until SIGTERM/SIGINT.
The orchestrator reads this process's CPU time and RSS from /proc, so nothing here measures
itself.

The echo baseline is the floor for what Python + websockets can do on this machine: it keeps a
set of connections per talkgroup number and forwards each binary message to every other member of
the group named in bytes 2-3 of the frame, with no validation, no floor control, no rate limits
and no recording. It answers the few control messages the load generator sends (hello, join,
leave, floor_request, floor_release) with the smallest reply the generator waits for, so the
same load generator drives both servers.

Mumble's server ("mumble" in run.py) does not go through this file: run.py starts ``murmurd``
directly (bench/mumble.py), so the CPU time and RSS it reads are murmur's own process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import group_id, roster_toml

# Same transport settings as siaga.server.app.Server.start, so the comparison is like for like.
SERVE_KW = dict(compression=None, max_size=16 * 1024, max_queue=64, write_limit=64 * 1024,
                ping_interval=20, ping_timeout=20)


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def run_siaga(args: argparse.Namespace) -> None:
    from siaga.roster import parse_roster
    from siaga.server.app import running_server
    from siaga.store import open_store

    roster = parse_roster(roster_toml(args.groups, args.size, args.members), "bench roster")
    data_dir = Path(args.data_dir)
    ssl = None
    if args.tls_cert:
        from siaga.server import server_context

        ssl = server_context(Path(args.tls_cert), Path(args.tls_key))
    store = open_store(data_dir)
    try:
        async with running_server(roster, store, data_dir, port=0, ssl=ssl) as server:
            print(f"READY {server.port}", flush=True)
            await _until_signalled()
            stats = server.hub.stats
            print(f"STATS frames_in={stats.frames_in} deliveries={stats.deliveries} "
                  f"dropped_rate={stats.dropped_rate} dropped_not_holder="
                  f"{stats.dropped_not_holder} transmissions={stats.transmissions}",
                  file=sys.stderr, flush=True)
    finally:
        store.close()


async def run_echo(args: argparse.Namespace) -> None:
    from websockets.asyncio.server import broadcast, serve
    from websockets.exceptions import ConnectionClosed

    numbers = {group_id(g): g + 1 for g in range(args.groups)}
    groups: dict[int, dict[object, None]] = {n: {} for n in numbers.values()}
    streams = iter(range(1, 1 << 62))

    async def handler(ws):  # type: ignore[no-untyped-def]
        joined: set[int] = set()
        try:
            async for msg in ws:
                if isinstance(msg, bytes):
                    members = groups.get((msg[2] << 8) | msg[3])
                    if members:
                        broadcast([c for c in members if c is not ws], msg)
                    continue
                m = json.loads(msg)
                kind = m["type"]
                tg = m.get("talkgroup", "")
                number = numbers.get(tg, 0)
                if kind == "hello":
                    reply = {"type": "welcome"}
                elif kind == "join":
                    groups[number][ws] = None
                    joined.add(number)
                    reply = {"type": "joined", "talkgroup": tg, "number": number}
                elif kind == "leave":
                    groups[number].pop(ws, None)
                    joined.discard(number)
                    reply = {"type": "left", "talkgroup": tg}
                elif kind == "floor_request":
                    reply = {"type": "floor_granted", "talkgroup": tg, "number": number,
                             "stream": next(streams)}
                elif kind == "floor_release":
                    reply = {"type": "floor_released", "talkgroup": tg}
                else:
                    continue
                await ws.send(json.dumps(reply))
        except ConnectionClosed:
            pass
        finally:
            for number in joined:
                groups[number].pop(ws, None)

    async with serve(handler, "127.0.0.1", 0, **SERVE_KW) as server:  # type: ignore[arg-type]
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"READY {port}", flush=True)
        await _until_signalled()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", choices=["siaga", "echo"], required=True)
    ap.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    ap.add_argument("--groups", type=int, required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--members", type=int, required=True)
    ap.add_argument("--data-dir", default="")
    ap.add_argument("--tls-cert", default="", help="serve wss:// with this certificate (siaga)")
    ap.add_argument("--tls-key", default="")
    args = ap.parse_args()
    _raise_nofile()
    logging.basicConfig(level=logging.WARNING)
    if not args.data_dir:
        args.data_dir = tempfile.mkdtemp(prefix="siaga-bench-")
    coro = run_siaga(args) if args.kind == "siaga" else run_echo(args)
    if args.loop == "uvloop":
        import uvloop
        uvloop.run(coro)
    else:
        asyncio.run(coro)


if __name__ == "__main__":
    main()
