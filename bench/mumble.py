"""Mumble's server (murmur 1.3.x) in the benchmark: a launcher and a minimal load client.

Written for this benchmark from Mumble's protocol description (``docs/dev/network-protocol/``
and ``src/Mumble.proto`` in mumble-voip/mumble); no Mumble, pymumble or protobuf code is used.
Only what the relay comparison needs is implemented:

* the TCP control channel: TLS (mandatory in Mumble; no client certificate), each message a
  6-byte prefix (``>HI``: type, length) and a protobuf body. The few messages sent (Version,
  Authenticate, Ping, ChannelState to create a channel, UserState to move into it) are encoded
  by hand; of what arrives only ServerSync (our session), Reject, ChannelState (channel ids) and
  UserState (our move confirmed) are decoded, and only while connecting;
* voice through the TCP tunnel (message type 1, UDPTunnel): the "legacy" voice packet of
  Mumble <= 1.4, a header byte (codec 4 = Opus, target 0 = the talker's channel), the sequence
  number and the Opus length/terminator header as Mumble varints, then the payload. The server
  inserts the talker's session after the header byte when it relays. No UDP is used.

``Murmur`` starts ``murmurd -fg`` with a generated ini in a temporary directory (SQLite there,
a self-signed certificate murmur makes itself), sets the SuperUser password, and creates one
permanent channel per talkgroup as SuperUser. ``worker_main`` is a load-generator worker with
the same pipe commands and result keys as ``load.worker_main``, so ``run.py`` drives both alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import random
import resource
import shutil
import socket
import ssl
import struct
import subprocess
import time
import traceback
from array import array
from pathlib import Path
from typing import Any

from common import FILLER, FRAME_S, group_id

perf_ns = time.perf_counter_ns
mono = time.monotonic

#: Upper bound on latency samples one worker keeps per phase (8 bytes each), as in load.py.
MAX_LAT_SAMPLES = 2_000_000

# ---- TCP message types (docs/dev/network-protocol/protocol_stack_tcp.md) --------------------

VERSION, UDP_TUNNEL, AUTHENTICATE, PING, REJECT, SERVER_SYNC = 0, 1, 2, 3, 4, 5
CHANNEL_STATE, USER_STATE = 7, 9
PREFIX = struct.Struct(">HI")

#: Voice packet header byte: codec type in the top 3 bits (4 = Opus), target in the low 5 bits
#: (0 = normal talking, to the talker's channel).
OPUS = 4
#: Opus length header: 13 bits of length, bit 13 the end-of-transmission terminator.
OPUS_TERMINATOR = 0x2000
OPUS_MAX_LEN = 0x1FFF

#: Seconds between one connection's Pings: as often as Siaga's server pings its clients. Mumble's
#: desktop client pings every 5 s (and over UDP too), so this spares murmur some work.
PING_INTERVAL = 20.0

#: Version we announce: 1.3.4, as major << 16 | minor << 8 | patch.
CLIENT_VERSION = (1 << 16) | (3 << 8) | 4


# ---- protobuf, by hand ---------------------------------------------------------------------


def pb_varint(n: int) -> bytes:
    """Protobuf base-128 varint of a non-negative integer (at most 64 bits)."""
    if n < 0 or n >= 1 << 64:
        raise ValueError("protobuf varint out of range")
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_read_varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """Decode a protobuf varint at ``pos``; return (value, position after it)."""
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated or overlong protobuf varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def pb_uint(field: int, value: int) -> bytes:
    """A varint field (wire type 0): uint32/uint64/bool."""
    return pb_varint(field << 3) + pb_varint(value)


def pb_bytes(field: int, value: bytes | str) -> bytes:
    """A length-delimited field (wire type 2): string or bytes."""
    data = value.encode() if isinstance(value, str) else value
    return pb_varint(field << 3 | 2) + pb_varint(len(data)) + data


def pb_parse(buf: bytes | memoryview) -> dict[int, list[int | bytes]]:
    """Fields of a protobuf message: number -> values (ints for varint/fixed, bytes for
    length-delimited). Enough for the few messages the bench reads; groups are rejected."""
    fields: dict[int, list[int | bytes]] = {}
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = pb_read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = pb_read_varint(buf, pos)
        elif wire == 1:
            if pos + 8 > end:
                raise ValueError("truncated fixed64")
            value = int.from_bytes(buf[pos:pos + 8], "little")
            pos += 8
        elif wire == 2:
            n, pos = pb_read_varint(buf, pos)
            if pos + n > end:
                raise ValueError("truncated length-delimited field")
            value = bytes(buf[pos:pos + n])
            pos += n
        elif wire == 5:
            if pos + 4 > end:
                raise ValueError("truncated fixed32")
            value = int.from_bytes(buf[pos:pos + 4], "little")
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def pb_first(fields: dict[int, list[int | bytes]], number: int, default: Any = None) -> Any:
    values = fields.get(number)
    return values[-1] if values else default


# ---- control messages ------------------------------------------------------------------------


def frame(kind: int, body: bytes) -> bytes:
    """One TCP message: 2-byte type, 4-byte length (big-endian), then the body."""
    return PREFIX.pack(kind, len(body)) + body


def split_frames(buf: bytes | bytearray) -> tuple[list[tuple[int, bytes]], int]:
    """Complete messages at the start of ``buf`` and how many bytes they used."""
    out = []
    pos, end = 0, len(buf)
    while end - pos >= 6:
        kind, n = PREFIX.unpack_from(buf, pos)
        if end - pos - 6 < n:
            break
        out.append((kind, bytes(buf[pos + 6:pos + 6 + n])))
        pos += 6 + n
    return out, pos


def version_msg() -> bytes:
    return frame(VERSION, pb_uint(1, CLIENT_VERSION) + pb_bytes(2, "siaga-bench")
                 + pb_bytes(3, "Linux") + pb_bytes(4, "bench"))


def authenticate_msg(username: str, password: str = "") -> bytes:
    body = pb_bytes(1, username)
    if password:
        body += pb_bytes(2, password)
    return frame(AUTHENTICATE, body + pb_uint(5, 1))  # opus = true


def ping_msg(timestamp: int) -> bytes:
    return frame(PING, pb_uint(1, timestamp))


def channel_create_msg(parent: int, name: str) -> bytes:
    """ChannelState without channel_id: ask for a new (permanent) channel under ``parent``."""
    return frame(CHANNEL_STATE, pb_uint(2, parent) + pb_bytes(3, name))


def move_msg(session: int, channel_id: int) -> bytes:
    """UserState: move ``session`` into ``channel_id``."""
    return frame(USER_STATE, pb_uint(1, session) + pb_uint(5, channel_id))


# ---- voice packets (docs/dev/network-protocol/voice_data.md) --------------------------------


def mumble_varint(n: int) -> bytes:
    """Mumble's own varint (PacketDataStream), for non-negative values."""
    if n < 0 or n >= 1 << 64:
        raise ValueError("mumble varint out of range")
    if n < 0x80:
        return bytes([n])
    if n < 0x4000:
        return bytes([0x80 | n >> 8, n & 0xFF])
    if n < 0x200000:
        return bytes([0xC0 | n >> 16, n >> 8 & 0xFF, n & 0xFF])
    if n < 0x10000000:
        return bytes([0xE0 | n >> 24, n >> 16 & 0xFF, n >> 8 & 0xFF, n & 0xFF])
    if n < 1 << 32:
        return b"\xf0" + n.to_bytes(4, "big")
    return b"\xf4" + n.to_bytes(8, "big")


def mumble_read_varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """Decode a Mumble varint at ``pos`` (negative forms are rejected); (value, next pos)."""
    try:
        b = buf[pos]
        if b < 0x80:
            return b, pos + 1
        if b < 0xC0:
            return (b & 0x3F) << 8 | buf[pos + 1], pos + 2
        if b < 0xE0:
            return (b & 0x1F) << 16 | buf[pos + 1] << 8 | buf[pos + 2], pos + 3
        if b < 0xF0:
            return ((b & 0x0F) << 24 | buf[pos + 1] << 16 | buf[pos + 2] << 8 | buf[pos + 3],
                    pos + 4)
        if b & 0xFC == 0xF0:
            if pos + 5 > len(buf):
                raise IndexError
            return int.from_bytes(buf[pos + 1:pos + 5], "big"), pos + 5
        if b & 0xFC == 0xF4:
            if pos + 9 > len(buf):
                raise IndexError
            return int.from_bytes(buf[pos + 1:pos + 9], "big"), pos + 9
    except IndexError:
        raise ValueError("truncated mumble varint") from None
    raise ValueError("negative mumble varint")


def voice_packet(seq: int, payload: bytes, last: bool = False, target: int = 0) -> bytes:
    """An outgoing Opus voice packet (client -> server): header, sequence, Opus header, data."""
    if len(payload) > OPUS_MAX_LEN:
        raise ValueError("opus payload too long")
    return (bytes([OPUS << 5 | target]) + mumble_varint(seq)
            + mumble_varint(len(payload) | (OPUS_TERMINATOR if last else 0)) + payload)


def parse_voice_in(buf: bytes | memoryview) -> tuple[int, int, int, int, bytes, bool]:
    """An incoming (server -> client) Opus voice packet: codec type, target, talker's session,
    sequence, Opus data and the terminator bit. Positional data after the Opus frame is ignored.
    """
    if not buf:
        raise ValueError("empty voice packet")
    kind, target = buf[0] >> 5, buf[0] & 0x1F
    if kind != OPUS:
        raise ValueError(f"not an Opus voice packet (type {kind})")
    session, pos = mumble_read_varint(buf, 1)
    seq, pos = mumble_read_varint(buf, pos)
    size, pos = mumble_read_varint(buf, pos)
    n = size & OPUS_MAX_LEN
    if pos + n > len(buf):
        raise ValueError("truncated opus frame")
    return kind, target, session, seq, bytes(buf[pos:pos + n]), bool(size & OPUS_TERMINATOR)


def bench_voice(seq: int, last: bool) -> bytes:
    """The bench's voice message: UDPTunnel around an Opus packet whose 48-byte payload (same
    size as Siaga's frames) starts with the sender's perf_counter_ns."""
    return frame(UDP_TUNNEL, voice_packet(seq, perf_ns().to_bytes(8, "big") + FILLER, last))


# ---- the murmur launcher ---------------------------------------------------------------------


def murmurd_path() -> str | None:
    return shutil.which("murmurd") or next(
        (p for p in ("/usr/sbin/murmurd", "/usr/bin/murmurd") if os.access(p, os.X_OK)), None)


def murmurd_version(exe: str) -> str:
    try:
        out = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    text = out.stdout + out.stderr
    for line in text.splitlines():
        if "murmurd --" in line:
            return line.split("murmurd --", 1)[1].strip()
    return "unknown"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: Settings written to the generated murmur.ini, and why (see bench/README.md).
MURMUR_SETTINGS = {
    "ice": "",  # no RPC endpoints
    "dbus": "",
    "bonjour": "false",
    "registerName": "",
    "welcometext": "",
    "logdays": "-1",  # no log table in the database
    "autobanAttempts": "0",  # hundreds of connections from 127.0.0.1 would be banned
    "messagelimit": "1000000",  # leaky bucket on control messages (moves, channel creation)
    "messageburst": "1000000",
    "bandwidth": "558000",  # per-user voice rate limit in bit/s, far above 20 ms packets
    "opusthreshold": "0",  # always Opus
    "usersperchannel": "0",  # unlimited
    "channelcountlimit": "100000",
    "timeout": "60",  # clients also ping every 20 s, as Mumble clients do
    "allowping": "false",
    "certrequired": "false",
    "sslCert": "",  # murmur generates a self-signed certificate
    "sslKey": "",
}


class Murmur:
    """``murmurd -fg`` with a generated configuration in ``workdir``."""

    def __init__(self, workdir: str | Path, users: int, exe: str | None = None) -> None:
        exe = exe or murmurd_path()
        if exe is None:
            raise FileNotFoundError("murmurd not found (Debian: apt-get install mumble-server)")
        self.exe = exe
        self.dir = Path(workdir)
        self.port = _free_port()
        self.password = os.urandom(12).hex()
        self.ini = self.dir / "murmur.ini"
        self.log = self.dir / "murmur.log"
        settings = dict(MURMUR_SETTINGS, database=str(self.dir / "murmur.sqlite"),
                        logfile="", pidfile="", host="127.0.0.1",
                        port=str(self.port), users=str(users + 16))
        if os.geteuid() == 0:
            # As root murmur switches to an unprivileged user (Debian: mumble-server) that may
            # not be able to write here; stay root instead.
            settings["uname"] = pwd.getpwuid(0).pw_name
        self.ini.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> subprocess.Popen[bytes]:
        subprocess.run([self.exe, "-ini", str(self.ini), "-supw", self.password],
                       capture_output=True, timeout=timeout, check=True)
        with open(self.log, "ab") as log:  # with -fg murmur logs to the console
            self.proc = subprocess.Popen([self.exe, "-fg", "-ini", str(self.ini)],
                                         stdout=log, stderr=log)
        with contextlib.suppress(OSError, ValueError):
            # One descriptor per client: lift murmur's soft limit (often 1024) to the hard one.
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.prlimit(self.proc.pid, resource.RLIMIT_NOFILE, (hard, hard))
        deadline = mono() + timeout
        while mono() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"murmurd exited: {self.read_log()}")
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=1):
                return self.proc
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"murmurd did not listen within {timeout:.0f} s: {self.read_log()}")

    def read_log(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def create_channels(self, names: list[str], timeout: float = 120.0) -> dict[str, int]:
        """Create one permanent channel per name under the root, as SuperUser; name -> id."""
        return asyncio.run(asyncio.wait_for(self._create(names), timeout))

    async def _create(self, names: list[str]) -> dict[str, int]:
        c = Conn(-1, -1)
        c.want_channels = True
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: c, "127.0.0.1", self.port, ssl=client_ssl())
        await c.login("SuperUser", self.password)
        todo = [n for n in names if n not in c.channels]
        for name in todo:
            c.write(channel_create_msg(0, name))
        while any(n not in c.channels for n in names):
            c.changed = loop.create_future()
            await c.changed
        c.close()
        return {n: c.channels[n] for n in names}


def client_ssl() -> ssl.SSLContext:
    """TLS without verification: murmur's certificate is self-signed, on loopback."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# ---- the load client -----------------------------------------------------------------------


class Stats:
    def __init__(self) -> None:
        self.measuring = False
        self.frames = 0
        self.frames_total = 0
        self.lat = array("q")
        self.sends = 0
        self.sends_late_5ms = 0
        self.max_send_lag = 0.0
        self.resyncs = 0
        self.errors = 0
        self.error_samples: list[str] = []
        self.bad_voice = 0


class Conn(asyncio.Protocol):
    """One Mumble client connection: reads voice fast, decodes control messages only while
    logging in or moving."""

    def __init__(self, idx: int, group: int, st: Stats | None = None) -> None:
        self.idx, self.group = idx, group
        self.st = st or Stats()
        self.buf = bytearray()
        self.transport: Any = None  # uvloop's TLS transport is not an asyncio.Transport
        self.session = -1
        self.decoding = True  # decode control messages (login, move); voice is always read
        self.synced: asyncio.Future[int] | None = None
        self.moved: asyncio.Future[None] | None = None
        self.target_channel = -1
        self.want_channels = False
        self.channels: dict[str, int] = {}
        self.changed: asyncio.Future[None] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        for fut in (self.synced, self.moved, self.changed):
            if fut is not None and not fut.done():
                fut.set_exception(ConnectionError(f"connection lost: {exc}"))

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        pos, end = 0, len(buf)
        st = self.st
        while end - pos >= 6:
            kind, n = PREFIX.unpack_from(buf, pos)
            start = pos + 6
            if end - start < n:
                break
            pos = start + n
            if kind == UDP_TUNNEL:
                # Header byte, session, sequence, Opus length: four small varints; then data.
                try:
                    p = start + 1
                    for _ in range(3):
                        b = buf[p]
                        p += 1 if b < 0x80 else 2 if b < 0xC0 else 3 if b < 0xE0 else 4
                    t = perf_ns()
                    sent = int.from_bytes(buf[p:p + 8], "big")
                except IndexError:
                    st.bad_voice += 1
                    continue
                st.frames_total += 1
                if st.measuring:
                    st.frames += 1
                    if len(st.lat) < MAX_LAT_SAMPLES:
                        st.lat.append(t - sent)
            elif self.decoding:
                self._control(kind, bytes(buf[start:pos]))
        del buf[:pos]

    def _control(self, kind: int, body: bytes) -> None:
        if kind == SERVER_SYNC:
            self.session = pb_first(pb_parse(body), 1, -1)
            if self.synced is not None and not self.synced.done():
                self.synced.set_result(self.session)
        elif kind == REJECT:
            reason = pb_first(pb_parse(body), 2, b"")
            exc = ConnectionError(f"rejected: {reason!r}")
            for fut in (self.synced, self.moved):
                if fut is not None and not fut.done():
                    fut.set_exception(exc)
        elif kind == USER_STATE and self.moved is not None:
            f = pb_parse(body)
            if (pb_first(f, 1) == self.session and pb_first(f, 5) == self.target_channel
                    and not self.moved.done()):
                self.moved.set_result(None)
        elif kind == CHANNEL_STATE and self.want_channels:
            f = pb_parse(body)
            name, cid = pb_first(f, 3), pb_first(f, 1)
            if isinstance(name, bytes) and cid is not None:
                self.channels[name.decode()] = cid
                if self.changed is not None and not self.changed.done():
                    self.changed.set_result(None)

    async def login(self, username: str, password: str = "", timeout: float = 60.0) -> int:
        self.synced = asyncio.get_running_loop().create_future()
        self.write(version_msg() + authenticate_msg(username, password))
        return await asyncio.wait_for(self.synced, timeout)

    async def move(self, channel_id: int, timeout: float = 60.0) -> None:
        self.target_channel = channel_id
        self.moved = asyncio.get_running_loop().create_future()
        self.write(move_msg(self.session, channel_id))
        await asyncio.wait_for(self.moved, timeout)


class Worker:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.host: str = spec["host"]
        self.port: int = spec["port"]
        self.size: int = spec["size"]
        self.groups: list[int] = spec["groups"]
        self.channels: dict[str, int] = spec["channels"]
        self.st = Stats()
        self.ssl = client_ssl()
        self.conns: dict[int, Conn] = {}
        for g in self.groups:
            for i in range(self.size):
                idx = g * self.size + i
                self.conns[idx] = Conn(idx, g, self.st)
        for idx in spec["extra"]:
            self.conns[idx] = Conn(idx, -1, self.st)
        self.pinger: asyncio.Task[None] | None = None

    async def _open(self, c: Conn, sem: asyncio.Semaphore) -> None:
        async with sem:
            loop = asyncio.get_running_loop()
            await loop.create_connection(lambda: c, self.host, self.port, ssl=self.ssl)
            await c.login(f"m{c.idx:05d}")
            if c.group >= 0:
                await c.move(self.channels[group_id(c.group)])
            c.decoding = False  # from now on only voice is read
            c.moved = None

    async def connect(self, upto: int) -> int:
        sem = asyncio.Semaphore(32)
        todo = [c for idx, c in self.conns.items() if idx < upto and c.transport is None]
        await asyncio.gather(*(self._open(c, sem) for c in todo))
        if self.pinger is None:
            self.pinger = asyncio.create_task(self._ping())
        return sum(1 for c in self.conns.values() if c.transport is not None and not c.closed)

    async def _ping(self) -> None:
        """Every connection pings every PING_INTERVAL (murmur drops silent clients), spread out."""
        while True:
            conns = [c for c in self.conns.values() if c.transport is not None and not c.closed]
            step = PING_INTERVAL / max(1, len(conns))
            for c in conns:
                if not c.closed:
                    c.write(ping_msg(time.monotonic_ns() // 1000))
                await asyncio.sleep(step)
            if not conns:
                await asyncio.sleep(1.0)

    async def _talker(self, g: int, p: dict[str, Any]) -> None:
        st = self.st
        c = self.conns[g * self.size]
        nframes: int = p["tx_frames"]
        t_end: float = p["t_end"]
        seq = 0
        await asyncio.sleep(max(0.0, p["t_start"] + random.uniform(0, 0.25) - mono()))
        while mono() < t_end:
            next_t = mono()
            for i in range(nframes):
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
                last = i == nframes - 1 or mono() >= t_end
                c.write(bench_voice(seq, last))
                seq += 1
                st.sends += 1
                next_t += FRAME_S
                if last:
                    break
            # No floor to release or request in Mumble: the same human gap between presses.
            await asyncio.sleep(random.uniform(0.0, 0.02))

    async def load(self, p: dict[str, Any]) -> dict[str, Any]:
        st = self.st
        st.__init__()  # type: ignore[misc]  # in place: the connections hold this object
        loop = asyncio.get_running_loop()
        loop.call_later(max(0.0, p["t_measure"] - mono()), setattr, st, "measuring", True)
        loop.call_later(max(0.0, p["t_end"] - mono()), setattr, st, "measuring", False)
        wanted = set(p["active"])
        await asyncio.gather(*(self._talker(g, p) for g in self.groups if g in wanted))
        await asyncio.sleep(0.3)  # let in-flight frames drain
        lost = sum(1 for c in self.conns.values() if c.closed and c.transport is not None)
        if lost:
            st.errors += lost
            st.error_samples.append(f"{lost} connections closed by the server")
        if st.bad_voice:
            st.errors += st.bad_voice
            st.error_samples.append(f"{st.bad_voice} malformed voice packets")
        return {
            "frames": st.frames, "frames_total": st.frames_total, "lat": st.lat.tobytes(),
            # Mumble has no floor control and late entry is not run against it (README).
            "access": [], "late": [], "late_excess": [], "late_start": [],
            "sends": st.sends, "sends_late_5ms": st.sends_late_5ms,
            "max_send_lag": st.max_send_lag, "resyncs": st.resyncs, "errors": st.errors,
            "error_samples": st.error_samples, "timeouts": 0, "crypto_errors": 0,
        }

    async def close(self) -> None:
        if self.pinger is not None:
            self.pinger.cancel()
        for c in self.conns.values():
            c.close()
        await asyncio.sleep(0.2)


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
