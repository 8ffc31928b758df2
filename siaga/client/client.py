"""The async Python client: what an HT app, a gateway or a test does to use a Siaga network.

::

    async with await Client.connect(url, member="gubernur", device="ht-01") as radio:
        await radio.join("komando")
        async with radio.transmit("komando") as tx:      # PTT pressed ... released
            await tx.send_packets(opus_packets)
        for heard in radio.heard("komando"):
            heard.write_wav("reply.wav")

One reader task turns incoming frames into :class:`Reception` objects (one per transmission
heard) and control messages into events, which :meth:`Client.wait_for` and the optional
``on_event`` callback expose.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import ssl as ssl_module
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

import msgspec
import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .. import wire
from ..alerts import publish
from ..alerts.cap import Alert
from ..audio.files import write_wav
from ..audio.opus import FRAME_MS, PCM, OpusDecoder
from ..crypto import (
    DeviceKeys,
    DevicePublic,
    GroupKey,
    StreamCipher,
    b64d,
    b64e,
    open_direct,
    open_message,
    seal_direct,
    seal_group_key,
    seal_message,
    sign_enroll,
    sign_login,
    sign_sealed_key,
)
from ..errors import CryptoError, ErrorCode, LocalProtocolError, ProtocolError, Refused
from ..identity import normalize_code
from ..recording import payloads_in_order
from .identity import Identity
from .keyring import Keyring, Receiver, UnknownDevice
from .player import Player

M = TypeVar("M", bound=wire.ServerMessage)




log = logging.getLogger("siaga.client")

#: How many recent control messages a client keeps for :meth:`Client.wait_for`.
EVENT_HISTORY = 2000
#: Sealed keys per publish_keys message (the wire allows 24; each entry is ~250 bytes).
KEY_BATCH = 20
#: How often a request refused as rate-limited is sent again.
RATE_LIMIT_RETRIES = 8


def _answers(ref: int) -> Callable[[wire.ServerMessage], bool]:
    """Matches the server's answer to the request sent with ``ref``."""
    return lambda m: getattr(m, "ref", None) == ref


@dataclass(slots=True)
class Reception:
    """One transmission as heard by this client: who, where, and the frames with arrival times."""

    talkgroup: str
    stream: int
    member: wire.MemberInfo
    priority: int
    emergency: bool
    late: bool
    started_at: float
    announced_at: float
    frames: list[tuple[float, wire.AudioFrame]] = field(default_factory=list)
    outcome: str | None = None
    ended_at: float | None = None
    e2e: str | None = None
    #: End to end: the verified talker (from its signed envelope, not the server's word) and
    #: the decryptor; frames wait in ``pending`` until the talker's device is known.
    receiver: Receiver | None = None
    pending: list[tuple[float, wire.AudioFrame]] = field(default_factory=list)
    rejected: int = 0
    problem: str | None = None

    @property
    def done(self) -> bool:
        return self.outcome is not None

    @property
    def sealed(self) -> bool:
        """Whether this transmission came end-to-end encrypted (shown to the user, always)."""
        return self.e2e is not None

    @property
    def verified_member(self) -> str | None:
        return self.receiver.member if self.receiver is not None else None

    def accept(self, arrived: float, frame: wire.AudioFrame) -> None:
        """Take one frame as received: opened if sealed, held back until the key is known."""
        if not frame.flags & wire.FLAG_SEALED:
            if self.e2e is None:
                self.frames.append((arrived, frame))
            else:
                self.rejected += 1  # plaintext inside a sealed transmission: never accepted
            return
        if self.receiver is None:
            self.pending.append((arrived, frame))
            return
        try:
            self.frames.append((arrived, self.receiver.open(frame)))
        except CryptoError:
            self.rejected += 1

    def ready(self, receiver: Receiver) -> None:
        self.receiver = receiver
        pending, self.pending = self.pending, []
        for arrived, frame in pending:
            self.accept(arrived, frame)

    def packets(self) -> list[bytes | None]:
        """Opus packets in sequence order; ``None`` where a frame was lost."""
        return payloads_in_order([frame for _, frame in self.frames])

    def to_pcm(self) -> PCM:
        decoder = OpusDecoder()
        parts = [decoder.conceal() if p is None else decoder.decode(p) for p in self.packets()]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)

    def write_wav(self, path: str | Path) -> None:
        write_wav(path, self.to_pcm())


@dataclass(slots=True)
class ReceivedMessage:
    """A message as this device shows it: once per id, with how it was protected."""

    id: str
    talkgroup: str
    sender: str
    sender_device: str
    sent_at: float
    received_at: float
    text: str | None = None
    status: str | None = None
    sealed: bool = False
    verified: bool = False  # sealed, opened, and signed by the sender's enrolled device
    epoch: int = 0
    blob: str | None = None  # the sealed form, kept until it opens
    problem: str | None = None
    to: str | None = None  # a direct message (then ``talkgroup`` is empty)


class Transmission:
    """The floor held by this client on one talkgroup: send frames until released or revoked."""

    def __init__(self, client: Client, granted: wire.FloorGranted, requested_at: float,
                 granted_at: float, queued: bool = False) -> None:
        self.client = client
        self.talkgroup = granted.talkgroup
        self.number = granted.number
        self.stream = granted.stream
        self.limit_ms = granted.limit_ms
        self.emergency = granted.emergency
        self.requested_at = requested_at
        self.granted_at = granted_at
        self.queued = queued  # waited in the queue: access_time then includes the wait
        self.revoked: str | None = None
        self.released = False
        self.cipher: StreamCipher | None = None  # set when the talkgroup is end-to-end sealed
        self._seq = 0
        self.sent_at: list[float] = []  # send time of each frame, by sequence number

    @property
    def access_time(self) -> float:
        """Seconds from PTT press to grant (3GPP MCPTT KPI 1 when not :attr:`queued`)."""
        return self.granted_at - self.requested_at

    @property
    def active(self) -> bool:
        return self.revoked is None and not self.released

    async def send(self, payload: bytes, *, end: bool = False) -> bool:
        """Send one 20 ms packet; returns False (and sends nothing) once the floor is gone."""
        if not self.active:
            return False
        flags = wire.FLAG_END if end else 0
        if self.cipher is not None:
            flags |= wire.FLAG_SEALED
            clear = wire.AudioFrame(self.number, self.stream, self._seq, self._seq * FRAME_MS,
                                    b"", flags)
            payload = self.cipher.seal(clear.header(), payload)
        frame = wire.AudioFrame(self.number, self.stream, self._seq, self._seq * FRAME_MS,
                                payload, flags)
        self._seq += 1
        self.sent_at.append(self.client.clock())
        try:
            await self.client._ws.send(frame.encode())
        except ConnectionClosed:
            self.revoked = "connection_lost"
            return False
        return True

    async def send_packets(self, packets: Iterable[bytes], *, realtime: bool = True) -> int:
        """Send packets paced at 20 ms each (as a radio would); stops early if revoked."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = 0
        packets = list(packets)
        for i, packet in enumerate(packets):
            if realtime:
                delay = start + i * FRAME_MS / 1000 - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            if not await self.send(packet, end=i == len(packets) - 1):
                break
            sent += 1
        return sent

    async def release(self) -> None:
        if not self.active:
            return
        self.released = True
        # The floor may have been revoked while the release was in flight: that is fine.
        with contextlib.suppress(ConnectionClosed, ConnectionError, Refused):
            await self.client._request(wire.FloorRelease(talkgroup=self.talkgroup),
                                       expect=wire.FloorReleased)


class Client:
    """A connection to a Siaga server as one member's device."""

    def __init__(self, ws: ClientConnection, member: str, device: str,
                 on_event: Callable[[wire.ServerMessage], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._ws = ws
        self.member = member
        self.device = device
        self.on_event = on_event
        self.clock = clock
        self.welcome: wire.Welcome | None = None
        self.receptions: dict[int, Reception] = {}
        self.heard_log: list[Reception] = []
        self.transmissions: dict[str, Transmission] = {}
        self.emergencies: dict[str, str] = {}
        self.events: deque[tuple[float, wire.ServerMessage]] = deque(maxlen=EVENT_HISTORY)
        self.frames_received = 0
        self.players: dict[str, Player] = {}
        self.keyring: Keyring | None = None
        self.inbox: dict[str, ReceivedMessage] = {}
        self.polls: dict[str, wire.Rollcall] = {}  # open roll calls this member may answer
        #: orders for this member: the latest copy, and its content (opened if sealed)
        self.orders: dict[str, tuple[wire.OrderMsg, ReceivedMessage]] = {}
        #: orders this member issued: order id -> member -> latest status
        self.order_status: dict[str, dict[str, wire.OrderStatus]] = {}
        self.boards: dict[str, wire.RollcallBoard] = {}  # latest board of each roll call
        #: message id -> recipient member -> state ("delivered", "read") -> when
        self.receipts: dict[str, dict[str, dict[str, float]]] = {}
        #: Device enrollments and revocations, for a key keeper (admins' devices only).
        self.device_updates: asyncio.Queue[wire.DeviceUpdate] = asyncio.Queue()
        #: Public notices published while this client was on the air.
        self.alerts: list[wire.AlertNotice] = []
        self._pending_starts: dict[int, wire.TalkerStart] = {}
        self._refreshing: set[str] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._refs = itertools.count(1)
        self._waiters: list[tuple[Callable[[wire.ServerMessage], bool],
                                  asyncio.Future[wire.ServerMessage]]] = []
        self._reader: asyncio.Task[None] | None = None
        self._challenge: asyncio.Future[wire.Challenge]
        self.closed = asyncio.Event()

    # ---- lifecycle --------------------------------------------------------------------------

    @classmethod
    async def connect(cls, url: str, member: str | None = None, device: str = "python", *,
                      identity: Identity | None = None,
                      on_event: Callable[[wire.ServerMessage], None] | None = None,
                      timeout: float = 10.0,
                      ssl: ssl_module.SSLContext | None = None) -> Self:
        """Connect and sign in: with ``identity`` as that enrolled device (signing the
        server's challenge), otherwise as ``member`` on an open network.

        ``ssl`` decides which server certificates a ``wss://`` URL accepts (see
        :func:`siaga.client.client_context`); without it the system's trusted CAs are used.
        """
        if identity is not None:
            member, device = identity.member, identity.device_id
        if member is None:
            raise LocalProtocolError("give a member or an identity")
        client = await cls._open(url, member, device, on_event, timeout, ssl)
        try:
            challenge = await client._challenge
            auth = None
            if identity is not None:
                auth = b64e(sign_login(identity.keys, b64d(challenge.nonce), member))
            elif challenge.auth:
                raise Refused("this network requires an enrolled device (siaga enroll)",
                              ErrorCode.NOT_AUTHENTICATED)
            if identity is not None and challenge.auth:
                # Before hello: the server sends sealed keys right after the welcome.
                client.keyring = Keyring(identity.device_id, identity.keys, identity.keeper)
            client.welcome = await client._request(
                wire.Hello(v=wire.PROTOCOL_VERSION, member=member, device=device, auth=auth),
                expect=wire.Welcome, timeout=timeout)
        except BaseException:
            await client.close()  # do not leak the socket and the reader task
            raise
        return client

    @classmethod
    async def enroll(cls, url: str, code: str, member: str, *, label: str = "",
                     timeout: float = 10.0,
                     ssl: ssl_module.SSLContext | None = None) -> Identity:
        """Redeem a one-time code: make this device's keys here and register the public half.

        Returns the new :class:`Identity`; save it, it is the only copy of the private keys.
        """
        keys = DeviceKeys.generate()
        public = keys.public
        client = await cls._open(url, member, public.device_id, None, timeout, ssl)
        try:
            await client._challenge
            proof = sign_enroll(keys, normalize_code(code), member)
            await client._request(wire.Enroll(
                code=code, member=member, sign_pub=b64e(public.sign_pub),
                dh_pub=b64e(public.dh_pub), proof=b64e(proof), label=label),
                expect=wire.Enrolled, timeout=timeout)
        finally:
            await client.close()
        return Identity(member=member, keys=keys, label=label)

    @classmethod
    async def _open(cls, url: str, member: str, device: str,
                    on_event: Callable[[wire.ServerMessage], None] | None,
                    timeout: float, ssl: ssl_module.SSLContext | None = None) -> Self:
        options: dict[str, Any] = {}
        if ssl is not None:
            if not url.lower().startswith("wss://"):
                raise LocalProtocolError(f"a TLS context needs a wss:// URL, not {url}")
            options["ssl"] = ssl  # else: websockets' default context for wss://, none for ws://
        ws = await connect(url, compression=None, max_size=wire.MAX_SERVER_BYTES,
                           open_timeout=timeout, **options)
        client = cls(ws, member, device, on_event)
        # Registered before the reader starts: the challenge is the server's first message.
        waiter = client._waiter(lambda m: isinstance(m, wire.Challenge))
        client._reader = asyncio.get_running_loop().create_task(client._read())

        async def challenge() -> wire.Challenge:
            msg = await asyncio.wait_for(waiter, timeout)
            assert isinstance(msg, wire.Challenge)
            return msg

        client._challenge = asyncio.ensure_future(challenge())
        return client

    async def close(self) -> None:
        for tx in list(self.transmissions.values()):
            await tx.release()
        for task in list(self._background):
            task.cancel()
        await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- requests ---------------------------------------------------------------------------

    async def join(self, talkgroup: str) -> wire.Joined:
        joined = await self._request(wire.Join(talkgroup=talkgroup), expect=wire.Joined)
        if self.keyring is not None:
            await self.refresh_directory(talkgroup)
        return joined

    async def refresh_directory(self, talkgroup: str = "", *,
                                member: str | None = None) -> wire.Directory:
        """Learn the devices of a talkgroup's members (or of one ``member``), to verify who is
        talking or writing, and to seal to them."""
        directory = await self._request(wire.DirectoryRequest(talkgroup=talkgroup,
                                                              member=member),
                                        expect=wire.Directory)
        if self.keyring is not None:
            self.keyring.update_directory(directory)
            self._retry_receivers()
        return directory

    async def keep_keys(self, talkgroups: Iterable[str], *, settle: float = 0.5) -> None:
        """Run as the key keeper: give every talkgroup without a key its first one, then make a
        new epoch whenever a device of one of its members is enrolled or revoked. Runs until
        cancelled or the connection closes."""
        managed = set(talkgroups)
        for tg in sorted(managed):
            directory = await self.refresh_directory(tg)
            if directory.epoch == 0:
                await self.publish_group_key(tg)
        while True:
            update = await self.device_updates.get()
            await asyncio.sleep(settle)  # several devices enrolled together: one rotation
            due = set(update.talkgroups)
            while not self.device_updates.empty():
                due.update(self.device_updates.get_nowait().talkgroups)
            due &= managed
            for tg in sorted(due):
                gk = await self.publish_group_key(tg)
                log.info("rotated %s to epoch %d", tg, gk.epoch)

    # ---- messages ---------------------------------------------------------------------------

    async def send_message(self, talkgroup: str, *, text: str | None = None,
                           status: str | None = None, message_id: str | None = None,
                           timeout: float = 10.0) -> wire.MessageAccepted:
        """Send a text or a canned status to a talkgroup; returns once the server has stored
        it. Sealed end to end whenever this device holds the talkgroup's key. Retrying with
        the same ``message_id`` never delivers it twice."""
        self._check_content(text, status)
        mid = message_id or secrets.token_urlsafe(12)
        gk = self.keyring.latest(talkgroup) if self.keyring else None
        if self.keyring is not None and gk is None:
            # Never fall back to plaintext on a network of enrolled devices.
            raise Refused(f"no end-to-end key for {talkgroup} on this device yet",
                          ErrorCode.NOT_ALLOWED)
        if gk is not None and self.keyring is not None:
            payload = msgspec.json.encode({"text": text, "status": status})
            sealed = b64e(seal_message(gk, mid, self.keyring.keys, payload))
            msg = wire.MessageSend(id=mid, talkgroup=talkgroup, sealed=sealed, epoch=gk.epoch)
        else:
            msg = wire.MessageSend(id=mid, talkgroup=talkgroup, text=text, status=status)
        return await self._request(msg, expect=wire.MessageAccepted, timeout=timeout)

    async def send_direct(self, to: str, *, text: str | None = None,
                          status: str | None = None, message_id: str | None = None,
                          timeout: float = 10.0) -> wire.MessageAccepted:
        """Send a text or a canned status to one member; returns once the server has stored
        it. On a closed network it is sealed to each of that member's enrolled devices, so
        only they can read it; with none enrolled it cannot be sent."""
        self._check_content(text, status)
        mid = message_id or secrets.token_urlsafe(12)
        if self.keyring is None:
            msg = wire.MessageSend(id=mid, to=to, text=text, status=status)
            return await self._request(msg, expect=wire.MessageAccepted, timeout=timeout)
        directory = await self.refresh_directory(member=to)
        devices = directory.devices[:wire.MAX_DIRECT_DEVICES]
        if not devices:
            raise Refused(f"{to} has no enrolled device to seal to", ErrorCode.NOT_ALLOWED)
        payload = msgspec.json.encode({"text": text, "status": status})
        sealed_for = []
        for d in devices:
            entry = self.keyring.directory.get(d.device)
            if entry is None:
                continue  # malformed keys in the directory: nothing to seal to
            sealed_for.append(wire.SealedFor(device=d.device, sealed=b64e(
                seal_direct(mid, self.keyring.keys, entry[1], payload))))
        msg = wire.MessageSend(id=mid, to=to, sealed_for=sealed_for)
        return await self._request(msg, expect=wire.MessageAccepted, timeout=timeout)

    def _check_content(self, text: str | None, status: str | None) -> None:
        if (text is None) == (status is None):
            raise LocalProtocolError("give text or status")
        if text is not None and len(text) > wire.MAX_TEXT:
            raise Refused(f"text: {len(text)} characters, at most {wire.MAX_TEXT}",
                          ErrorCode.BAD_MESSAGE)
        known = {s.code for s in self.welcome.status_codes} if self.welcome else set()
        if status is not None and known and status not in known:
            raise Refused(f"status: unknown code {status!r}", ErrorCode.BAD_MESSAGE)

    # ---- election and flood operations ------------------------------------------------------

    async def report_tps(self, tps: str, *, report_id: str | None = None,
                         **fields: Any) -> wire.ReportAccepted:
        """Report on a polling station (``status``, ``ballots_cast``, ``incidents``,
        ``logistics``, ``relocated_to`` (place, lat, lon), ``note``); returns once stored."""
        moved = fields.pop("relocated_to", None)
        if moved is not None and not isinstance(moved, wire.RelocationInfo):
            place, lat, lon = moved
            moved = wire.RelocationInfo(place=place, lat=lat, lon=lon)
        msg = wire.TpsReportSend(id=report_id or _report_id(), tps=tps,
                                 relocated_to=moved, **fields)
        return await self._request(msg, expect=wire.ReportAccepted)

    async def report_flood(self, report: str, *, report_id: str | None = None,
                           **fields: Any) -> wire.ReportAccepted:
        """A flood ``incident``, ``shelter``, ``need`` or ``fulfilment`` report."""
        msg = wire.FloodReportSend(id=report_id or _report_id(),
                                   report=report, **fields)  # type: ignore[arg-type]
        return await self._request(msg, expect=wire.ReportAccepted)

    async def publish_alert(self, alert: Alert) -> wire.AlertNotice:
        """Sign a public notice with this device and have the server publish it in the feed
        (it checks the signature, the CAP schema and that this member may publish it)."""
        if self.keyring is None:
            raise LocalProtocolError("publishing alerts needs an enrolled identity")
        signed = publish(alert, self.keyring.keys)
        return await self._request(wire.AlertPublish(xml=signed.xml.decode(),
                                                     sig=signed.signature_b64),
                                   expect=wire.AlertNotice)

    async def board(self, board: str, regency: str | None = None) -> dict[str, Any]:
        """The ``election`` or ``flood`` board as plain data."""
        answer = await self._request(wire.BoardRequest(board=board,  # type: ignore[arg-type]
                                                       regency=regency), expect=wire.Board)
        return answer.data

    async def sitrep(self, format: str = "markdown", lang: str = "id") -> str | bytes:
        """The situation report now: Markdown text, or PDF bytes."""
        answer = await self._request(wire.SitrepRequest(format=format,  # type: ignore[arg-type]
                                                        lang=lang),  # type: ignore[arg-type]
                                     expect=wire.SitrepMsg, timeout=30.0)
        return b64d(answer.content) if answer.format == "pdf" else answer.content

    async def key_ready(self, talkgroup: str, timeout: float = 10.0) -> GroupKey:
        """Wait until this device holds an end-to-end key for ``talkgroup`` (keys arrive just
        after sign-in, and after each rotation)."""
        if self.keyring is None:
            raise LocalProtocolError("an open network has no keys")
        keyring = self.keyring

        async def poll() -> GroupKey:
            while (gk := keyring.latest(talkgroup)) is None:
                await asyncio.sleep(0.02)
            return gk
        return await asyncio.wait_for(poll(), timeout)

    async def start_rollcall(self, talkgroup: str, *,
                             timeout: float = 120.0) -> wire.RollcallBoard:
        """Poll a talkgroup; the live board then arrives in :attr:`boards`."""
        return await self._request(wire.RollcallStart(
            id=secrets.token_urlsafe(12), talkgroup=talkgroup, timeout=timeout),
            expect=wire.RollcallBoard)

    async def answer_rollcall(self, rollcall_id: str) -> None:
        """Answer a poll (one key on an HT; keying up on the talkgroup also counts)."""
        await self._send(wire.RollcallAnswer(id=rollcall_id))
        self.polls.pop(rollcall_id, None)

    async def issue_order(self, talkgroup: str, to: list[str], text: str, *, due_in: float,
                          ack_within: float = 600.0) -> wire.OrderStatus:
        """Order named members; each must answer "copy" within ``ack_within`` seconds or the
        order is repeated and the operators alerted. Sealed when this device holds a key."""
        oid = secrets.token_urlsafe(12)
        if self.keyring is not None:
            gk = self.keyring.latest(talkgroup)
            if gk is None:
                raise Refused(f"no end-to-end key for {talkgroup} on this device yet",
                              ErrorCode.NOT_ALLOWED)
            payload = msgspec.json.encode({"text": text, "status": None})
            msg = wire.OrderIssue(id=oid, talkgroup=talkgroup, to=to, due_in=due_in,
                                  ack_within=ack_within, epoch=gk.epoch,
                                  sealed=b64e(seal_message(gk, oid, self.keyring.keys,
                                                           payload)))
        else:
            msg = wire.OrderIssue(id=oid, talkgroup=talkgroup, to=to, due_in=due_in,
                                  ack_within=ack_within, text=text)
        return await self._request(msg, expect=wire.OrderStatus)

    async def acknowledge_order(self, order_id: str,
                                state: Literal["copied", "done"] = "copied") -> None:
        """Answer an order: "copied" (understood), later "done"."""
        await self._send(wire.OrderAck(id=order_id, state=state))

    def _on_order(self, msg: wire.OrderMsg, now: float) -> None:
        known = self.orders.get(msg.id)
        if known is not None:
            self.orders[msg.id] = (msg, known[1])  # a repeat: the content is the same
            return
        content = ReceivedMessage(msg.id, msg.talkgroup, msg.by, msg.sender_device,
                                  msg.sent_at, now, text=msg.text,
                                  sealed=msg.sealed is not None, epoch=msg.epoch,
                                  blob=msg.sealed)
        self._open_message(content)
        self.orders[msg.id] = (msg, content)

    async def report_position(self, lat: float, lon: float, accuracy: float = 0.0) -> None:
        """Report where this device is (the server keeps at most one report a second)."""
        await self._send(wire.Position(lat=lat, lon=lon, accuracy=accuracy))

    async def positions(self, member: str | None = None,
                        since: float = 0.0) -> list[wire.PositionInfo]:
        """Latest position of every member, or one member's track (allowed roles only)."""
        answer = await self._request(wire.PositionsRequest(member=member, since=since),
                                     expect=wire.Positions)
        return answer.positions

    async def mark_read(self, message_id: str) -> None:
        """Tell the sender this message was shown to the user."""
        await self._send(wire.Receipt(id=message_id, state="read"))

    def _on_message(self, msg: wire.Message, now: float) -> None:
        if msg.id not in self.inbox:
            blob = msg.sealed
            if msg.sealed_for is not None:  # direct: the copy sealed to this very device
                mine = self.keyring.device_id if self.keyring else ""
                blob = next((s.sealed for s in msg.sealed_for if s.device == mine), "")
            self.inbox[msg.id] = ReceivedMessage(
                msg.id, msg.talkgroup, msg.sender, msg.sender_device, msg.sent_at, now,
                text=msg.text, status=msg.status,
                sealed=msg.sealed is not None or msg.sealed_for is not None,
                epoch=msg.epoch, blob=blob, to=msg.to)
            self._open_message(self.inbox[msg.id])
        # Acknowledge every copy: a lost receipt means the server sends it again.
        self._spawn(self._send(wire.Receipt(id=msg.id, state="delivered")))

    def _open_message(self, m: ReceivedMessage) -> None:
        if m.blob is None:
            return
        if self.keyring is None:
            m.problem = "sealed, and this device holds no keys"
            return
        if m.to is not None:
            self._open_direct(m)
            return
        gk = self.keyring.group_keys.get((m.talkgroup, m.epoch))
        sender = self.keyring.directory.get(m.sender_device)
        if gk is None or sender is None:
            m.problem = "waiting for the key or the sender's device"
            if sender is None and m.talkgroup not in self._refreshing:
                self._refreshing.add(m.talkgroup)
                self._spawn(self._refresh_quietly(m.talkgroup))
            return
        blob = b64d(m.blob)
        self._reveal(m, sender, lambda public: open_message(gk, m.id, public, blob))

    def _open_direct(self, m: ReceivedMessage) -> None:
        assert self.keyring is not None and m.blob is not None
        if not m.blob:
            m.problem = "not sealed to this device (enrolled after it was sent?)"
            return
        sender = self.keyring.directory.get(m.sender_device)
        if sender is None:
            m.problem = "waiting for the sender's device"
            if "@" + m.sender not in self._refreshing:
                self._refreshing.add("@" + m.sender)
                self._spawn(self._refresh_quietly("", member=m.sender))
            return
        keys, blob = self.keyring.keys, b64d(m.blob)
        self._reveal(m, sender, lambda public: open_direct(keys, m.id, public, blob))

    @staticmethod
    def _reveal(m: ReceivedMessage, sender: tuple[str, DevicePublic],
                opener: Callable[[DevicePublic], bytes]) -> None:
        """Open a sealed message with the sender's enrolled keys and show it, or say why not.
        The sender shown is the directory's member of the verified device, never the
        server's claim alone."""
        member, public = sender
        try:
            payload = msgspec.json.decode(opener(public))
        except (CryptoError, msgspec.DecodeError):
            m.problem = "does not open or is not signed by its sender"
            return
        if member != m.sender:
            m.problem = "sealed by another member than the server claims"
            return
        m.text, m.status = payload.get("text"), payload.get("status")
        m.verified, m.blob, m.problem = True, None, None

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(self._quietly(coro))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @staticmethod
    async def _quietly(coro: Coroutine[Any, Any, None]) -> None:
        with contextlib.suppress(ConnectionClosed, ConnectionError):
            await coro

    async def publish_group_key(self, talkgroup: str) -> GroupKey:
        """As key keeper (an admin's device): make the talkgroup's next key epoch and seal it
        to every device that may hold it. Also how keys rotate after a revocation."""
        if self.keyring is None:
            raise LocalProtocolError("publishing keys needs an enrolled identity")
        directory = await self.refresh_directory(talkgroup)
        gk = GroupKey.generate(talkgroup, directory.epoch + 1)
        entries = []
        for d in directory.devices:
            entry = self.keyring.directory.get(d.device)
            if entry is None:
                continue  # malformed keys in the directory: nothing to seal to
            sealed = seal_group_key(gk, entry[1])
            sig = sign_sealed_key(self.keyring.keys, talkgroup, gk.epoch, d.device, sealed)
            entries.append(wire.SealedKeyInfo(device=d.device, sealed=b64e(sealed),
                                              sig=b64e(sig)))
        for i in range(0, len(entries), KEY_BATCH):
            await self._request(wire.PublishKeys(talkgroup=talkgroup, epoch=gk.epoch,
                                                 keys=entries[i:i + KEY_BATCH]),
                                expect=wire.KeysPublished)
        self.keyring.add_own(gk)
        return gk

    async def leave(self, talkgroup: str) -> None:
        await self._request(wire.Leave(talkgroup=talkgroup), expect=wire.Left)

    async def ping(self) -> float:
        """Round-trip time to the server, in seconds."""
        t0 = self.clock()
        await self._request(wire.Ping(t=t0), expect=wire.Pong)
        return self.clock() - t0

    async def clear_emergency(self, talkgroup: str) -> None:
        ref = next(self._refs)
        await self._send(wire.EmergencyClear(talkgroup=talkgroup, ref=ref))
        msg = await self.wait_for(lambda m: (isinstance(m, wire.Emergency) and not m.active
                                             and m.talkgroup == talkgroup)
                                  or (isinstance(m, wire.Error) and m.ref == ref))
        if isinstance(msg, wire.Error):
            raise Refused(msg.message, ErrorCode(msg.code))

    async def request_floor(self, talkgroup: str, *, emergency: bool = False,
                            wait: bool = True, timeout: float = 60.0,
                            e2e: str | None = None) -> Transmission:
        """Press PTT. Returns once granted; raises :class:`Refused` if denied (or queued and
        ``wait`` is false)."""
        ref = next(self._refs)
        requested_at = self.clock()
        queued = False

        def answer(m: wire.ServerMessage) -> bool:
            nonlocal queued
            if isinstance(m, wire.FloorGranted | wire.FloorDenied):
                return m.talkgroup == talkgroup
            if isinstance(m, wire.FloorQueued) and m.talkgroup == talkgroup:
                queued = True
                return not wait and m.ref == ref
            return isinstance(m, wire.Error) and m.ref == ref

        sealing = self.keyring.begin(talkgroup, requested_at) if self.keyring else None
        if self.keyring is not None and sealing is None:
            if not emergency:
                raise Refused(f"no end-to-end key for {talkgroup} on this device yet",
                              ErrorCode.NOT_ALLOWED)
            # An emergency call goes out even without a key; listeners see it is unsealed.
            log.warning("emergency on %s without an end-to-end key: sent unsealed", talkgroup)
        waiter = self._waiter(answer)
        if sealing is not None:
            e2e = sealing[0]
        await self._send(wire.FloorRequest(talkgroup=talkgroup, emergency=emergency, ref=ref,
                                           e2e=e2e))
        try:
            msg = await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            await self._withdraw(talkgroup)
            raise
        if isinstance(msg, wire.FloorGranted):
            tx = Transmission(self, msg, requested_at, self.clock(), queued)
            if sealing is not None and self.keyring is not None:
                tx.cipher = self.keyring.cipher(sealing[1], sealing[2])
            self.transmissions[talkgroup] = tx
            return tx
        if isinstance(msg, wire.FloorQueued):
            # Not waiting means giving up the place in the queue too; otherwise the floor
            # would later be granted to a client that no longer wants it.
            await self._withdraw(talkgroup)
            raise Refused(f"queued at position {msg.position}", ErrorCode.FLOOR_BUSY)
        if isinstance(msg, wire.FloorDenied):
            raise Refused(msg.reason, ErrorCode(msg.code))
        assert isinstance(msg, wire.Error)
        raise Refused(msg.message, ErrorCode(msg.code))

    async def _withdraw(self, talkgroup: str) -> None:
        """Take back a queued floor request (the server answers a withdrawal with nothing)."""
        with contextlib.suppress(ConnectionClosed):
            await self._send(wire.FloorRelease(talkgroup=talkgroup))

    @contextlib.asynccontextmanager
    async def transmit(self, talkgroup: str, *, emergency: bool = False,
                       wait: bool = True) -> AsyncIterator[Transmission]:
        """Hold PTT for the duration of the block."""
        tx = await self.request_floor(talkgroup, emergency=emergency, wait=wait)
        try:
            yield tx
        finally:
            await tx.release()
            self.transmissions.pop(talkgroup, None)

    async def send_packets(self, talkgroup: str, packets: Iterable[bytes], *,
                           emergency: bool = False, realtime: bool = True) -> Transmission:
        """Press PTT, send the packets, release: a whole over-the-air message."""
        async with self.transmit(talkgroup, emergency=emergency) as tx:
            await tx.send_packets(packets, realtime=realtime)
        return tx

    # ---- what was heard ---------------------------------------------------------------------

    async def play(self, talkgroup: str, sink: Callable[[PCM], None], seconds: float) -> Player:
        """Play a joined talkgroup live for ``seconds``: ``sink`` gets 20 ms of PCM per tick,
        through a jitter buffer with loss concealment (silence between transmissions)."""
        player = self.players[talkgroup] = Player(talkgroup)
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            for tick in range(round(seconds * 1000 / FRAME_MS)):
                delay = start + tick * FRAME_MS / 1000 - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                sink(player.tick(self.clock()))
        finally:
            del self.players[talkgroup]
        return player

    def heard(self, talkgroup: str | None = None) -> list[Reception]:
        return [r for r in self.heard_log if talkgroup is None or r.talkgroup == talkgroup]

    async def wait_for(self, predicate: Callable[[wire.ServerMessage], bool], *,
                       timeout: float = 30.0, past: bool = False) -> wire.ServerMessage:
        """Wait for a control message matching ``predicate`` (optionally one already seen)."""
        if past:
            for _, msg in self.events:
                if predicate(msg):
                    return msg
        return await asyncio.wait_for(self._waiter(predicate), timeout)

    async def wait_type(self, kind: type[M], *, timeout: float = 30.0,
                        where: Callable[[M], bool] = lambda m: True) -> M:
        msg = await self.wait_for(lambda m: isinstance(m, kind) and where(m), timeout=timeout)
        assert isinstance(msg, kind)
        return msg

    # ---- internals --------------------------------------------------------------------------

    def _waiter(self, predicate: Callable[[wire.ServerMessage], bool]
                ) -> asyncio.Future[wire.ServerMessage]:
        future: asyncio.Future[wire.ServerMessage] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        return future

    async def _send(self, msg: wire.ClientMessage) -> None:
        await self._ws.send(wire.encode(msg))

    async def _request(self, msg: wire.ClientMessage, expect: type[M],
                       timeout: float = 30.0) -> M:
        """Send ``msg`` with a fresh ``ref`` and return the answer carrying that ``ref``.

        A request refused as ``rate_limited`` was not carried out, so it is sent again after
        a pause (a key keeper publishing many batches, say), a few times at most."""
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            ref = next(self._refs)
            waiter = self._waiter(_answers(ref))
            await self._send(msgspec.structs.replace(msg, ref=ref))
            answer = await asyncio.wait_for(waiter, timeout)
            limited = isinstance(answer, wire.Error) and answer.code == ErrorCode.RATE_LIMITED
            if not limited or attempt == RATE_LIMIT_RETRIES:
                break
            await asyncio.sleep(0.25 * (attempt + 1))
        if isinstance(answer, wire.Error):
            raise Refused(answer.message, ErrorCode(answer.code))
        if not isinstance(answer, expect):
            raise LocalProtocolError(f"expected {expect.__name__}, got {type(answer).__name__}")
        return answer

    async def _read(self) -> None:
        try:
            async for data in self._ws:
                now = self.clock()
                if isinstance(data, bytes):
                    self._on_audio(data, now)
                else:
                    self._on_control(data, now)
        except ConnectionClosed:
            pass
        finally:
            for reception in self.receptions.values():
                reception.outcome = reception.outcome or "connection_lost"
            for _, future in self._waiters:
                if not future.done():
                    future.set_exception(ConnectionError("connection to server closed"))
            self._waiters.clear()
            self.closed.set()

    def _on_audio(self, data: bytes, now: float) -> None:
        try:
            frame = wire.decode_audio(data)
        except ProtocolError:
            return
        reception = self.receptions.get(frame.stream)
        if reception is not None:
            heard = len(reception.frames)
            reception.accept(now, frame)
            self.frames_received += 1
            player = self.players.get(reception.talkgroup)
            if player is not None:
                for _, opened in reception.frames[heard:]:
                    player.push(opened, now)

    def _open_reception(self, reception: Reception, start: wire.TalkerStart,
                        now: float) -> None:
        """Verify a sealed transmission's envelope; fetch the talker's device if unknown."""
        if start.e2e is None or self.keyring is None:
            if start.e2e is not None:
                reception.problem = "sealed, and this device holds no keys"
            return
        try:
            reception.ready(self.keyring.receiver(start, now))
            reception.problem = None
        except UnknownDevice:
            reception.problem = "talker's device not in the directory yet"
            self._pending_starts[start.stream] = start
            if start.talkgroup not in self._refreshing:
                self._refreshing.add(start.talkgroup)
                self._spawn(self._refresh_quietly(start.talkgroup))
        except CryptoError as exc:
            reception.problem = exc.message
            if exc.code is not ErrorCode.REPLAYED:
                self._pending_starts[start.stream] = start  # a key may still arrive

    async def _refresh_quietly(self, talkgroup: str, member: str | None = None) -> None:
        try:
            await self.refresh_directory(talkgroup, member=member)
        except (Refused, ConnectionError, LocalProtocolError, TimeoutError) as exc:
            log.warning("cannot refresh the directory of %s: %s", talkgroup or member, exc)
        finally:
            self._refreshing.discard(talkgroup if member is None else "@" + member)

    def _retry_receivers(self) -> None:
        for m in [*self.inbox.values(), *(c for _, c in self.orders.values())]:
            if m.blob is not None:
                self._open_message(m)
        now = self.clock()
        for stream, start in list(self._pending_starts.items()):
            reception = self.receptions.get(stream)
            del self._pending_starts[stream]
            if reception is not None and reception.receiver is None:
                self._open_reception(reception, start, now)

    def _on_control(self, data: str, now: float) -> None:
        try:
            msg = wire.decode_server(data)
        except ProtocolError as exc:
            log.warning("ignoring an invalid message from the server: %s", exc)
            return
        if isinstance(msg, wire.TalkerStart):
            reception = Reception(msg.talkgroup, msg.stream, msg.member, msg.priority,
                                  msg.emergency, msg.late, msg.started_at, now, e2e=msg.e2e)
            self.receptions[msg.stream] = reception
            self.heard_log.append(reception)
            self._open_reception(reception, msg, now)
        elif isinstance(msg, wire.Message):
            self._on_message(msg, now)
        elif isinstance(msg, wire.OrderMsg):
            self._on_order(msg, now)
        elif isinstance(msg, wire.OrderStatus):
            self.order_status.setdefault(msg.id, {})[msg.member] = msg
        elif isinstance(msg, wire.AlertNotice) and msg.ref is None:
            self.alerts.append(msg)
        elif isinstance(msg, wire.Rollcall):
            self.polls[msg.id] = msg
        elif isinstance(msg, wire.RollcallBoard):
            self.boards[msg.id] = msg
            if msg.closed:
                self.polls.pop(msg.id, None)
        elif isinstance(msg, wire.ReceiptUpdate):
            self.receipts.setdefault(msg.id, {}).setdefault(msg.member, {})[msg.state] = msg.at
        elif isinstance(msg, wire.DeviceUpdate):
            self.device_updates.put_nowait(msg)
        elif isinstance(msg, wire.Keys):
            if self.keyring is not None and self.keyring.add_sealed(msg) is not None:
                self._retry_receivers()
        elif isinstance(msg, wire.TalkerStop):
            done = self.receptions.pop(msg.stream, None)
            if done is not None:
                done.outcome, done.ended_at = msg.outcome, now
            player = self.players.get(msg.talkgroup)
            if player is not None:
                player.end(msg.stream)
        elif isinstance(msg, wire.FloorRevoked):
            tx = self.transmissions.get(msg.talkgroup)
            if tx is not None and tx.stream == msg.stream:
                tx.revoked = msg.reason
        elif isinstance(msg, wire.Emergency):
            if msg.active:
                self.emergencies[msg.talkgroup] = msg.member
            else:
                self.emergencies.pop(msg.talkgroup, None)
        self.events.append((now, msg))
        if self._waiters:
            remaining = []
            for predicate, future in self._waiters:
                if future.done():
                    continue
                if predicate(msg):
                    future.set_result(msg)
                else:
                    remaining.append((predicate, future))
            self._waiters = remaining
        if self.on_event is not None:
            self.on_event(msg)


def _report_id() -> str:
    """A fresh report id (reports ids start with a letter or digit)."""
    return "r" + secrets.token_hex(10)
