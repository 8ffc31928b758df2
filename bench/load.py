"""A load-generator worker process: hundreds of raw WebSocket connections on one uvloop loop.

Each worker owns whole talkgroups (all their members), so a talker, its listeners and the group's
late joiner live in one process and the late joiner can join exactly mid-transmission. Workers
speak the wire protocol directly (hello, join, leave, floor_request, floor_release, binary
frames) with ``websockets.asyncio.client``; they do not use :class:`siaga.client.Client`, which
decodes and buffers everything it hears.

The orchestrator drives a worker over a ``multiprocessing`` pipe with three commands:

* ``("connect", upto)``: open, hello and join every connection whose member index < ``upto``;
* ``("load", params)``: run one load phase and send back the samples;
* ``("close", None)``: close every connection and exit.

Times across processes are ``time.monotonic()`` (CLOCK_MONOTONIC); frame latencies are
``time.perf_counter_ns()`` differences, which on Linux is the same clock in every process.

With ``spec["e2e"]`` the worker does what end-to-end encrypting clients do (siaga/crypto.py,
docs/security.md). The worker owns whole talkgroups, so it also stands in for the key keeper
(one ``GroupKey`` per talkgroup) and for the directory of devices (each talker's
``DevicePublic``). Per PTT press the talker signs a fresh envelope (``make_envelope``) and sends
it in ``floor_request.e2e``, derives the stream key (``stream_key``) once granted, and seals
every frame with the header (FLAG_SEALED set) as associated data; the sender's timestamp is the
first 8 bytes of the *plaintext*. Each listener verifies the envelope it gets in
``talker_start.e2e`` (``peek_envelope``, directory lookup, ``open_envelope``), derives the same
stream key, and per frame opens it and checks the replay window before it reads the clock, so
the measured latency includes what a real listener must do before it can play the frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import resource
import time
import traceback
from array import array
from dataclasses import dataclass, field
from typing import Any

from common import FILLER, FRAME_S, HEADER, group_id, member_id

from siaga.crypto import (
    DeviceKeys,
    DevicePublic,
    GroupKey,
    ReplayWindow,
    StreamCipher,
    make_envelope,
    new_nonce,
    open_envelope,
    peek_envelope,
    stream_key,
)
from siaga.errors import CryptoError
from siaga.wire import FLAG_SEALED

perf_ns = time.perf_counter_ns
mono = time.monotonic

#: Upper bound on latency samples one worker keeps per phase (8 bytes each).
MAX_LAT_SAMPLES = 2_000_000
#: How old an envelope may be when it reaches a listener (as in siaga.client.keyring).
ENVELOPE_MAX_AGE = 600.0
#: Epoch of every bench talkgroup key (no membership cuts during a run).
EPOCH = 1


@dataclass
class Stats:
    measuring: bool = False
    frames: int = 0  # binary frames received inside the measuring window
    frames_total: int = 0
    lat: array = field(default_factory=lambda: array("q"))
    access: list[int] = field(default_factory=list)
    late: list[int] = field(default_factory=list)  # join sent -> first audio frame
    late_excess: list[int] = field(default_factory=list)  # first frame: recv - max(join, sent)
    late_start: list[int] = field(default_factory=list)  # join sent -> talker_start (Siaga)
    sends: int = 0
    sends_late_5ms: int = 0  # frames sent more than 5 ms after their schedule
    max_send_lag: float = 0.0
    resyncs: int = 0  # schedule given up after falling 100 ms behind
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    timeouts: int = 0
    presence: int = 0
    crypto_errors: int = 0  # envelopes or frames that did not verify/open, or no receiver


class Conn:
    __slots__ = ("group", "idx", "late_start_t0", "late_t0", "reader", "rx", "seen", "waiters",
                 "ws")

    def __init__(self, idx: int, group: int) -> None:
        self.idx = idx
        self.group = group
        self.ws: Any = None
        self.waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.late_t0 = 0
        self.late_start_t0 = 0
        self.reader: asyncio.Task[None] | None = None
        # End-to-end mode: stream id -> (cipher, replay window), and envelope nonces accepted.
        self.rx: dict[int, tuple[StreamCipher, ReplayWindow]] = {}
        self.seen: set[bytes] = set()

    def expect(self, kind: str) -> asyncio.Future[dict[str, Any]]:
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters[kind] = fut
        return fut


class Worker:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.url: str = spec["url"]
        self.size: int = spec["size"]
        self.groups: list[int] = spec["groups"]
        self.conns: dict[int, Conn] = {}
        for g in self.groups:
            for i in range(self.size):
                idx = g * self.size + i
                self.conns[idx] = Conn(idx, g)
        for idx in spec["extra"]:
            self.conns[idx] = Conn(idx, -1)
        self.st = Stats()
        self.e2e: bool = bool(spec.get("e2e"))
        # End-to-end mode: this worker is the key keeper and the device directory of its groups.
        self.group_keys: dict[tuple[str, int], GroupKey] = {}
        self.talker_keys: dict[int, DeviceKeys] = {}
        self.directory: dict[str, DevicePublic] = {}
        if self.e2e:
            for g in self.groups:
                self.group_keys[(group_id(g), EPOCH)] = GroupKey.generate(group_id(g), EPOCH)
                keys = DeviceKeys.generate()
                self.talker_keys[g] = keys
                self.directory[keys.public.device_id] = keys.public

    # ---- receiving ------------------------------------------------------------------------

    async def _read(self, c: Conn) -> None:
        st = self.st
        e2e = self.e2e
        rx = c.rx
        try:
            async for msg in c.ws:
                if type(msg) is bytes:
                    if e2e:
                        # Open and replay-check before reading the clock, as a player must.
                        r = rx.get(int.from_bytes(msg[4:8], "big"))
                        if r is None:
                            st.crypto_errors += 1
                            continue
                        try:
                            plain = r[0].open(msg[:16], msg[16:])
                            r[1].check(int.from_bytes(msg[8:12], "big"))
                        except CryptoError:
                            st.crypto_errors += 1
                            continue
                        t = perf_ns()
                        sent = int.from_bytes(plain[:8], "big")
                    else:
                        t = perf_ns()
                        sent = int.from_bytes(msg[16:24], "big")
                    st.frames_total += 1
                    if st.measuring:
                        st.frames += 1
                        if len(st.lat) < MAX_LAT_SAMPLES:
                            st.lat.append(t - sent)
                    if c.late_t0:
                        if st.measuring:
                            st.late.append(t - c.late_t0)
                            # Excess over the unavoidable wait for the talker's next frame.
                            st.late_excess.append(t - max(c.late_t0, sent))
                        c.late_t0 = 0
                    continue
                if msg.startswith('{"type":"presence"'):
                    st.presence += 1
                    continue
                t_rx = perf_ns()
                m = json.loads(msg)
                kind = m.get("type")
                if kind == "floor_granted":
                    # Arrival time, before other connections' readers of this process run (in
                    # end-to-end mode the group's listeners verify their talker_start next).
                    m["_rx_ns"] = t_rx
                if e2e:
                    if kind == "talker_start":
                        self._receive_start(c, m)
                    elif kind == "talker_stop":
                        rx.pop(m.get("stream"), None)
                if kind == "talker_start" and c.late_start_t0 and m.get("late"):
                    if st.measuring:
                        st.late_start.append(perf_ns() - c.late_start_t0)
                    c.late_start_t0 = 0
                elif kind in ("error", "floor_denied", "floor_revoked"):
                    st.errors += 1
                    if len(st.error_samples) < 5:
                        st.error_samples.append(msg[:200])
                fut = c.waiters.pop(kind, None)
                if fut is not None and not fut.done():
                    fut.set_result(m)
        except Exception:  # connection closed at the end of the run, or an error to report
            pass

    def _receive_start(self, c: Conn, m: dict[str, Any]) -> None:
        """Verify a talker's envelope and set up decryption of its stream (end-to-end mode).

        The bench's late joiner is a listener that left and rejoins the same transmission, so
        its own replay set already holds this envelope's nonce; a real late entrant is a
        device that has not seen it, so a late ``talker_start`` is checked against a fresh set
        (the full verification cost is still paid).
        """
        try:
            text = m.get("e2e")
            if not isinstance(text, str):
                raise CryptoError("talker_start without an envelope")
            tg = m["talkgroup"]
            pub = self.directory.get(peek_envelope(text).device_id)
            if pub is None:
                raise CryptoError("envelope from a device not in the directory")
            env = open_envelope(text, pub, talkgroup=tg, now=time.time(),
                                max_age=ENVELOPE_MAX_AGE,
                                seen=set() if m.get("late") else c.seen)
            gk = self.group_keys.get((tg, env.epoch))
            if gk is None:
                raise CryptoError("no group key for the envelope's epoch")
            c.rx[m["stream"]] = (stream_key(gk, env.nonce, env.device_id), ReplayWindow())
        except (CryptoError, KeyError, TypeError, ValueError) as exc:  # never kill the reader
            self.st.crypto_errors += 1
            if len(self.st.error_samples) < 5:
                self.st.error_samples.append(f"e2e: {exc}")

    # ---- connecting -----------------------------------------------------------------------

    async def _open(self, c: Conn, sem: asyncio.Semaphore) -> None:
        from websockets.asyncio.client import connect

        async with sem:
            c.ws = await connect(self.url, compression=None, ping_interval=None,
                                 max_size=None, max_queue=None, open_timeout=60,
                                 close_timeout=1)
            c.reader = asyncio.create_task(self._read(c))
            fut = c.expect("welcome")
            keys = self.talker_keys.get(c.group) if c.idx % self.size == 0 else None
            device = keys.public.device_id if keys is not None else "bench"
            await c.ws.send(json.dumps({"type": "hello", "v": 1, "member": member_id(c.idx),
                                        "device": device}))
            await asyncio.wait_for(fut, 60)
            if c.group >= 0:
                fut = c.expect("joined")
                await c.ws.send(json.dumps({"type": "join", "talkgroup": group_id(c.group)}))
                await asyncio.wait_for(fut, 60)

    async def connect(self, upto: int) -> int:
        sem = asyncio.Semaphore(32)
        todo = [c for idx, c in self.conns.items() if idx < upto and c.ws is None]
        await asyncio.gather(*(self._open(c, sem) for c in todo))
        return sum(1 for c in self.conns.values() if c.ws is not None)

    # ---- one load phase -------------------------------------------------------------------

    async def _sleep_until(self, t: float) -> None:
        delay = t - mono()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _request(self, c: Conn, kind: str, msg: dict[str, Any],
                       timeout: float = 10.0) -> dict[str, Any] | None:
        fut = c.expect(kind)
        await c.ws.send(json.dumps(msg))
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            self.st.timeouts += 1
            return None

    async def _late_joiner(self, j: Conn, tg: str, join_at: float) -> None:
        if await self._request(j, "left", {"type": "leave", "talkgroup": tg}) is None:
            return
        await self._sleep_until(join_at)
        t0 = perf_ns()
        j.late_t0 = j.late_start_t0 = t0
        await self._request(j, "joined", {"type": "join", "talkgroup": tg})

    async def _talker(self, g: int, p: dict[str, Any]) -> None:
        st = self.st
        c = self.conns[g * self.size]
        joiner = self.conns[g * self.size + 1]
        tg = group_id(g)
        nframes: int = p["tx_frames"]
        t_end: float = p["t_end"]
        late_entry: bool = p["late_entry"]
        e2e = self.e2e
        keys = self.talker_keys.get(g)
        gk = self.group_keys.get((tg, EPOCH))
        cipher: StreamCipher | None = None
        sealed = FLAG_SEALED if e2e else 0
        await self._sleep_until(p["t_start"] + random.uniform(0, 0.25))
        tasks: list[asyncio.Task[None]] = []
        while mono() < t_end:
            t0 = perf_ns()
            request: dict[str, Any] = {"type": "floor_request", "talkgroup": tg}
            if e2e:
                # PTT press: sign a fresh envelope (counted in the access time).
                assert keys is not None and gk is not None
                nonce = new_nonce(16)
                request["e2e"] = make_envelope(keys, tg, gk.epoch, time.time(), nonce=nonce)
            granted = await self._request(c, "floor_granted", request)
            if granted is None:
                continue
            if st.measuring:
                st.access.append(granted["_rx_ns"] - t0)
            number, stream = granted["number"], granted["stream"]
            if e2e:
                assert keys is not None and gk is not None
                cipher = stream_key(gk, nonce, keys.public.device_id)
            next_t = mono()
            for seq in range(nframes):
                if late_entry and seq == int(nframes * 0.4):
                    # Mid-transmission, at a random phase of the 20 ms frame cycle.
                    join_at = (next_t + (int(nframes * 0.5) - seq) * FRAME_S
                               + random.uniform(0, FRAME_S))
                    tasks.append(asyncio.create_task(self._late_joiner(joiner, tg, join_at)))
                lag = mono() - next_t
                if lag < 0:
                    await asyncio.sleep(-lag)
                else:
                    if lag > 0.005:
                        st.sends_late_5ms += 1
                    if lag > st.max_send_lag:
                        st.max_send_lag = lag
                    if lag > 0.1:
                        st.resyncs += 1
                        next_t = mono()
                last = seq == nframes - 1 or mono() >= t_end
                if cipher is not None:
                    header = HEADER.pack(1, (1 if last else 0) | sealed, number, stream, seq,
                                         seq * 20)
                    frame = header + cipher.seal(header, perf_ns().to_bytes(8, "big") + FILLER)
                else:
                    frame = (HEADER.pack(1, 1 if last else 0, number, stream, seq, seq * 20)
                             + perf_ns().to_bytes(8, "big") + FILLER)
                await c.ws.send(frame)
                st.sends += 1
                next_t += FRAME_S
                if last:
                    break
            await self._request(c, "floor_released", {"type": "floor_release", "talkgroup": tg})
            await asyncio.sleep(random.uniform(0.0, 0.02))  # a human's gap between presses
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def load(self, p: dict[str, Any]) -> dict[str, Any]:
        st = self.st
        st.__init__()  # type: ignore[misc]  # in place: the readers hold this object
        loop = asyncio.get_running_loop()
        loop.call_later(max(0.0, p["t_measure"] - mono()), setattr, st, "measuring", True)
        loop.call_later(max(0.0, p["t_end"] - mono()), setattr, st, "measuring", False)
        wanted = set(p["active"])
        active = [g for g in self.groups if g in wanted]
        cpu0 = os.times()
        await asyncio.gather(*(self._talker(g, p) for g in active))
        cpu1 = os.times()
        await asyncio.sleep(0.3)  # let in-flight frames and replies drain
        return {
            "frames": st.frames, "frames_total": st.frames_total,
            "lat": st.lat.tobytes(), "access": st.access, "late": st.late,
            "late_excess": st.late_excess,
            "late_start": st.late_start, "sends": st.sends, "sends_late_5ms": st.sends_late_5ms,
            "max_send_lag": st.max_send_lag, "resyncs": st.resyncs, "errors": st.errors,
            "error_samples": st.error_samples, "timeouts": st.timeouts,
            "crypto_errors": st.crypto_errors,
            "cpu": (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system),
        }

    async def close(self) -> None:
        async def one(c: Conn) -> None:
            if c.ws is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(c.ws.close(), 2)
        await asyncio.gather(*(one(c) for c in self.conns.values()))


async def _serve(pipe: Any, spec: dict[str, Any]) -> None:
    worker = Worker(spec)
    loop = asyncio.get_running_loop()
    while True:
        cmd, arg = await loop.run_in_executor(None, pipe.recv)
        try:
            if cmd == "connect":
                t0 = mono()
                n = await worker.connect(arg)
                pipe.send(("ok", {"connected": n, "seconds": mono() - t0}))
            elif cmd == "load":
                pipe.send(("ok", await worker.load(arg)))
            elif cmd == "close":
                await worker.close()
                pipe.send(("ok", None))
                return
        except Exception:
            pipe.send(("error", traceback.format_exc()))


def worker_main(pipe: Any, spec: dict[str, Any]) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    import uvloop

    uvloop.run(_serve(pipe, spec))
