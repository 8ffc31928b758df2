"""The server's brain: sessions, talkgroups, floors and audio routing, without any I/O.

The asyncio server (``siaga.server``) owns sockets, files and the clock; it feeds the hub what
arrived and carries out what the hub returns. Control messages in, :data:`Output` values out:

* :class:`Send` — a control message (already JSON) for some connections;
* :class:`Close` — drop one connection with a WebSocket close code;
* :class:`RecordStart` / :class:`RecordEnd` — open and close a transmission's recording;
* :class:`Redeem` — ask the environment to redeem an enrollment code (a database write), whose
  answer comes back through :meth:`Hub.enroll_result`;
* :class:`Audit` — an event for the tamper-evident audit log;
* :class:`StoreKeys` / :class:`LoadKeys` — persist sealed group keys a key keeper published, and
  fetch a device's sealed keys when it signs in (answered through :meth:`Hub.deliver_keys`).

A hub built with a :class:`~siaga.identity.DeviceDirectory` is a closed network: a device signs
in by signing the per-connection challenge nonce with its enrolled key. Without one, it is an
open lab network where ``hello`` names any roster member (tests, benchmarks, local drills).

Audio takes a faster path: :meth:`Hub.route_audio` returns just the stream and the connections
to forward the very same bytes to, so relaying a frame allocates nothing but a tuple lookup.

Any malformed or forbidden input from one connection produces an ``error`` message (or closes
that connection) and leaves every other session untouched; it never raises into the caller.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Final

import msgspec

from . import wire
from .crypto import DevicePublic, b64d, b64e, verify_enroll, verify_login, verify_sealed_key
from .errors import (
    CryptoError,
    ErrorCode,
    LocalProtocolError,
    ProtocolError,
    Refused,
    SiagaError,
)
from .floor import (
    Denied,
    EmergencyCleared,
    EmergencyRaised,
    Ended,
    Floor,
    FloorEvent,
    Granted,
    Outcome,
    Queued,
    Revoked,
)
from .identity import (
    DeviceDirectory,
    DeviceRecord,
    FailureLimiter,
    SealedKey,
    code_hash,
    normalize_code,
)
from .messages import ReceiptRecord, StoredMessage
from .orders import Escalation, Order, OrderBook, Recipient
from .positions import Fix
from .rollcall import RollCall
from .roster import Member, Role, Roster, Talkgroup

#: WebSocket close codes used by the hub.
CLOSE_GOING_AWAY: Final = 1001
CLOSE_PROTOCOL_ERROR: Final = 1002
CLOSE_POLICY: Final = 1008

#: Control messages: a burst of this many, refilled at this many per second.
CONTROL_BURST: Final = 30.0
CONTROL_RATE: Final = 10.0
#: Audio frames: 20 ms frames arrive at 50/s; allow jitter bursts, not floods.
AUDIO_BURST: Final = 150.0
AUDIO_RATE: Final = 75.0
#: A connection that keeps misbehaving after this many refusals in a row is closed.
MAX_STRIKES: Final = 50
#: Minimum seconds between two "you are not the talker" errors to one connection.
NOT_HOLDER_ERROR_INTERVAL: Final = 5.0
#: Presence changes are gathered for this long and sent as one message: when a thousand
#: radios come on the air at once, each hears a few messages rather than a thousand.
PRESENCE_BATCH: Final = 0.25




# ---- outputs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    to: tuple[int, ...]
    text: str


@dataclass(frozen=True, slots=True)
class Close:
    conn: int
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class RecordStart:
    stream: int
    talkgroup: str
    member: str
    member_name: str
    priority: int
    emergency: bool
    started_at: float
    e2e: str | None = None


@dataclass(frozen=True, slots=True)
class RecordEnd:
    stream: int
    outcome: Outcome
    ended_at: float


@dataclass(frozen=True, slots=True)
class Redeem:
    """Use enrollment code ``code_hash`` for ``record``; answer with ``Hub.enroll_result``."""

    conn: int
    code_hash: str
    record: DeviceRecord
    ref: int | None


@dataclass(frozen=True, slots=True)
class Audit:
    kind: str
    at: float
    actor: str = ""
    subject: str = ""
    detail: dict[str, str | int | float | bool | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoreKeys:
    """Persist ``keys``, then report back with :meth:`Hub.keys_stored`: only stored keys are
    delivered and acknowledged, so an acknowledged key is never lost."""

    keys: tuple[SealedKey, ...]
    keeper: int
    ref: int | None
    talkgroup: str = ""
    epoch: int = 0
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class LoadKeys:
    conn: int
    device_id: str


@dataclass(frozen=True, slots=True)
class StoreMessage:
    """Persist a message for its recipients, then report back with ``Hub.message_stored``."""

    message: StoredMessage
    recipients: tuple[str, ...]
    conn: int
    ref: int | None


@dataclass(frozen=True, slots=True)
class StoreReceipt:
    """Persist a receipt; ``Hub.receipt_stored`` then tells the sender."""

    receipt: ReceiptRecord


@dataclass(frozen=True, slots=True)
class LoadMessages:
    """At sign-in: fetch the member's undelivered messages and its recent receipts, and hand
    them to ``Hub.deliver_pending``."""

    conn: int
    member: str


@dataclass(frozen=True, slots=True)
class StoreRollcall:
    """A closed roll call, kept so roll calls can be compared over time."""

    rollcall: RollCall


@dataclass(frozen=True, slots=True)
class StorePosition:
    fix: Fix


@dataclass(frozen=True, slots=True)
class LoadPositions:
    """Fetch the latest fixes (``member`` None) or one member's track; answer with
    ``Hub.deliver_positions``."""

    conn: int
    member: str | None
    since: float
    ref: int | None


@dataclass(frozen=True, slots=True)
class StoreOrder:
    """Persist a new order, then report back with ``Hub.order_stored``."""

    order: Order
    conn: int
    ref: int | None


@dataclass(frozen=True, slots=True)
class StoreOrderState:
    """Persist a recipient's state of an order (copied, done, or one more escalation)."""

    order_id: str
    member: str
    state: str
    at: float
    escalations: int


Output = (Send | Close | RecordStart | RecordEnd | Redeem | Audit | StoreKeys | LoadKeys
          | StoreMessage | StoreReceipt | LoadMessages | StoreRollcall | StorePosition
          | LoadPositions | StoreOrder | StoreOrderState)

#: Who may issue orders.
ORDER_ROLES = frozenset({Role.GOVERNOR, Role.STAFF, Role.BPBD, Role.ADMIN})

#: A device's position reports closer together than this are dropped (not an error).
POSITION_INTERVAL: Final = 1.0

#: Who may poll a talkgroup (radio check / absensi).
ROLLCALL_ROLES = frozenset({Role.GOVERNOR, Role.STAFF, Role.BPBD, Role.ADMIN})


# ---- state -----------------------------------------------------------------------------------


class _Bucket:
    """Token bucket: cheap flood protection with time passed in."""

    __slots__ = ("burst", "last", "rate", "tokens")

    def __init__(self, burst: float, rate: float, now: float) -> None:
        self.burst, self.rate, self.tokens, self.last = burst, rate, burst, now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(slots=True)
class Session:
    conn: int
    control: _Bucket
    audio: _Bucket
    member: Member | None = None
    device: str = ""
    nonce: bytes = b""
    peer: str = ""
    enrolling: bool = False
    last_position: float = float("-inf")
    joined: set[str] = field(default_factory=set)
    strikes: int = 0
    last_not_holder_error: float = float("-inf")
    #: A session of the HTTP API: it asks and is answered, but is not "on the air" (no
    #: presence, no voice, nothing pushed to it; a radio of the same device is not displaced).
    api: bool = False

    @property
    def on_air(self) -> bool:
        """Signed in from a radio or console: it receives what is pushed to its member."""
        return self.member is not None and not self.api


@dataclass(slots=True)
class _Stream:
    stream: int
    conn: int
    group: _Group
    member: Member
    last_seq: int = -1
    talker_start: str = ""
    sealed: bool = False  # announced with an envelope: plaintext frames are refused


@dataclass(slots=True)
class _Group:
    tg: Talkgroup
    floor: Floor
    listeners: dict[int, None] = field(default_factory=dict)  # ordered set of conns
    active: _Stream | None = None
    targets: tuple[int, ...] = ()
    e2e: dict[int, str] = field(default_factory=dict)  # envelopes of pending requests
    emergency_member: str = ""

    def refresh_targets(self) -> None:
        talker = self.active.conn if self.active else -1
        self.targets = tuple(c for c in self.listeners if c != talker)


@dataclass(slots=True)
class Stats:
    frames_in: int = 0
    deliveries: int = 0
    dropped_not_holder: int = 0
    dropped_bad: int = 0
    dropped_stale: int = 0
    dropped_rate: int = 0
    control_in: int = 0
    errors_sent: int = 0
    transmissions: int = 0


class Hub:
    """All server state for one network; one instance per server process."""

    def __init__(self, roster: Roster, devices: DeviceDirectory | None = None) -> None:
        self.roster = roster
        self.devices = devices
        self.failures = FailureLimiter()
        #: Newest group-key epoch per talkgroup (the adapter seeds it from the store).
        self.key_epochs: dict[str, int] = {}
        self.sessions: dict[int, Session] = {}
        self.stats = Stats()
        self._stream_ids = itertools.count(1)
        self._session_ids = itertools.count(1)
        self._groups: dict[str, _Group] = {
            tg.id: _Group(tg, Floor(new_stream=self._next_stream, time_limit=tg.time_limit,
                                    emergency_time_limit=tg.emergency_time_limit,
                                    queue_timeout=tg.queue_timeout))
            for tg in roster.talkgroups.values()
        }
        self._by_number = {g.tg.number: g for g in self._groups.values()}
        self._streams: dict[int, _Stream] = {}
        self._deadlines: dict[str, float] = {}  # per talkgroup, kept by _apply
        self._member_sessions: dict[str, int] = {}
        self._devices: dict[tuple[str, str], int] = {}
        self._presence: dict[str, bool] = {}
        self._presence_due: float | None = None
        self._rollcalls: dict[str, RollCall] = {}  # open ones, by talkgroup
        self.orders = OrderBook()  # open orders; the adapter restores them at start

    def _next_stream(self) -> int:
        return next(self._stream_ids) & wire.U32 or next(self._stream_ids)

    # ---- connection lifecycle ---------------------------------------------------------------

    def connect(self, conn: int, now: float, *, nonce: bytes = b"",
                peer: str = "", api: bool = False) -> list[Output]:
        """A socket (or, ``api``, an HTTP API sign-in) opened; ``nonce`` (fresh random bytes)
        is what its device must sign."""
        self.sessions[conn] = Session(conn, _Bucket(CONTROL_BURST, CONTROL_RATE, now),
                                      _Bucket(AUDIO_BURST, AUDIO_RATE, now),
                                      nonce=nonce, peer=peer, api=api)
        return [self._send(conn, wire.Challenge(nonce=b64e(nonce),
                                                auth=self.devices is not None))]

    def disconnect(self, conn: int, now: float) -> list[Output]:
        session = self.sessions.pop(conn, None)
        if session is None:
            return []
        out: list[Output] = []
        for tg_id in sorted(session.joined):
            out += self._leave_group(session, self._groups[tg_id], now)
        member = session.member
        if member is not None and not session.api:
            if self._devices.get((member.id, session.device)) == conn:
                del self._devices[(member.id, session.device)]
            left = self._member_sessions[member.id] - 1
            if left:
                self._member_sessions[member.id] = left
            else:
                del self._member_sessions[member.id]
                self._presence_changed(member.id, False, now)
        return out

    def _presence_changed(self, member_id: str, online: bool, now: float) -> None:
        self._presence[member_id] = online
        if self._presence_due is None:
            self._presence_due = now + PRESENCE_BATCH

    def shutdown(self, now: float) -> list[Output]:
        """End every transmission (so recordings are finished) and close every connection."""
        out: list[Output] = []
        for group in self._groups.values():
            out += self._apply(group, group.floor.close(now), now)
        out += [Close(conn, CLOSE_GOING_AWAY, "server shutting down") for conn in self.sessions]
        return out

    # ---- timers -----------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        times = [t for t in (min(self._deadlines.values(), default=None), self._presence_due)
                 if t is not None]
        times += [rc.deadline for rc in self._rollcalls.values()]
        if (escalation := self.orders.next_deadline()) is not None:
            times.append(escalation)
        return min(times, default=None)

    def tick(self, now: float) -> list[Output]:
        out: list[Output] = []
        for tg_id in [t for t, d in self._deadlines.items() if d <= now]:
            group = self._groups[tg_id]
            out += self._apply(group, group.floor.tick(now), now)
        for rc in [rc for rc in self._rollcalls.values() if rc.deadline <= now]:
            out += self._close_rollcall(rc, now)
        for esc in self.orders.due(now):
            out += self._escalate(esc, now)
        if self._presence_due is not None and self._presence_due <= now:
            changes, self._presence, self._presence_due = self._presence, {}, None
            out.append(self._broadcast(wire.Presence(
                online=sorted(m for m, on in changes.items() if on),
                offline=sorted(m for m, on in changes.items() if not on))))
        return out

    # ---- audio: the hot path ----------------------------------------------------------------

    def route_audio(self, conn: int, data: bytes, now: float) -> tuple[int, tuple[int, ...]]:
        """Check a frame and say where it goes: ``(stream, targets)``.

        Raises :class:`ProtocolError` for a malformed frame (the caller answers with an error)
        and returns ``(0, ())`` for a frame that is silently dropped and counted: audio from
        someone who does not hold the floor, a stale sequence number, or a flood.
        """
        stats = self.stats
        stats.frames_in += 1
        try:
            flags, number, stream_id, seq, _ts = wire.peek_header(data)
        except ProtocolError:
            stats.dropped_bad += 1
            raise
        stream = self._streams.get(stream_id)
        if stream is None or stream.conn != conn or stream.group.tg.number != number:
            stats.dropped_not_holder += 1
            return 0, ()
        if seq <= stream.last_seq:
            stats.dropped_stale += 1
            return 0, ()
        if stream.sealed and not flags & wire.FLAG_SEALED:
            stats.dropped_bad += 1  # never let plaintext slip into a sealed transmission
            return 0, ()
        session = self.sessions[conn]
        if not session.audio.take(now):
            stats.dropped_rate += 1
            return 0, ()
        stream.last_seq = seq
        targets = stream.group.targets
        stats.deliveries += len(targets)
        return stream_id, targets

    def audio_error(self, conn: int, exc: ProtocolError) -> list[Output]:
        """A malformed audio frame: answer it, and close a connection that keeps at it."""
        session = self.sessions.get(conn)
        return self._strike(session, exc.code, exc.message) if session else []

    def audio_refused(self, conn: int, now: float) -> list[Output]:
        """Tell a sender, at most now and then, that its audio is being dropped."""
        session = self.sessions.get(conn)
        if session is None or now - session.last_not_holder_error < NOT_HOLDER_ERROR_INTERVAL:
            return []
        session.last_not_holder_error = now
        return [self._error(conn, ErrorCode.NOT_HOLDER,
                            "audio dropped: you do not hold the floor for that stream")]

    # ---- control messages -------------------------------------------------------------------

    def receive_text(self, conn: int, data: str | bytes, now: float) -> list[Output]:
        session = self.sessions.get(conn)
        if session is None:
            return []
        self.stats.control_in += 1
        ref = None
        try:
            msg = wire.decode_client(data)
            ref = msg.ref
            # Checked after decoding, so the refusal carries the request's ref and the client
            # knows which request to send again (a refused request was not carried out).
            if not session.control.take(now):
                return self._strike(session, ErrorCode.RATE_LIMITED,
                                    "too many requests; slow down", ref)
            out = self._dispatch(session, msg, now)
        except ProtocolError as exc:
            if exc.code == ErrorCode.UNSUPPORTED_VERSION:
                return [self._error(conn, exc.code, exc.message, ref),
                        Close(conn, CLOSE_PROTOCOL_ERROR, exc.code.value)]
            return self._strike(session, exc.code, exc.message, ref)
        except Refused as exc:
            return self._strike(session, exc.code, exc.message, ref)
        session.strikes = 0
        return out

    def _strike(self, session: Session, code: ErrorCode, message: str,
                ref: int | None = None) -> list[Output]:
        session.strikes += 1
        out: list[Output] = [self._error(session.conn, code, message, ref)]
        if session.strikes >= MAX_STRIKES:
            out.append(Close(session.conn, CLOSE_POLICY, "too many refused requests"))
        return out

    def _dispatch(self, session: Session, msg: wire.ClientMessage, now: float) -> list[Output]:
        if isinstance(msg, wire.Ping):
            return [self._send(session.conn, wire.Pong(t=msg.t, server_time=now, ref=msg.ref))]
        if isinstance(msg, wire.Hello):
            return self._hello(session, msg, now)
        if isinstance(msg, wire.Enroll):
            return self._enroll(session, msg, now)
        if session.member is None:
            raise Refused("say hello first", ErrorCode.NOT_AUTHENTICATED)
        if session.api and isinstance(msg, (wire.Join, wire.Leave, wire.FloorRequest,
                                            wire.FloorRelease, wire.PublishKeys)):
            raise Refused("voice and key publishing go over the radio protocol, not the "
                          "HTTP API", ErrorCode.NOT_ALLOWED)
        if isinstance(msg, wire.Join):
            return self._join(session, self._member_group(session, msg.talkgroup), msg.ref, now)
        if isinstance(msg, wire.Leave):
            group = self._joined_group(session, msg.talkgroup)
            out = self._leave_group(session, group, now)
            return [*out, self._send(session.conn, wire.Left(talkgroup=group.tg.id, ref=msg.ref))]
        if isinstance(msg, wire.FloorRequest):
            return self._floor_request(session, msg, now)
        if isinstance(msg, wire.FloorRelease):
            return self._floor_release(session, msg, now)
        if isinstance(msg, wire.EmergencyClear):
            return self._emergency_clear(session, msg, now)
        if isinstance(msg, wire.DirectoryRequest):
            return self._directory(session, msg)
        if isinstance(msg, wire.PublishKeys):
            return self._publish_keys(session, msg, now)
        if isinstance(msg, wire.MessageSend):
            return self._message_send(session, msg, now)
        if isinstance(msg, wire.OrderIssue):
            return self._order_issue(session, msg, now)
        if isinstance(msg, wire.OrderAck):
            return self._order_ack(session, msg, now)
        if isinstance(msg, wire.Position):
            return self._position(session, msg, now)
        if isinstance(msg, wire.PositionsRequest):
            return self._positions_request(session, msg)
        if isinstance(msg, wire.RollcallStart):
            return self._rollcall_start(session, msg, now)
        if isinstance(msg, wire.RollcallAnswer):
            return self._rollcall_answer(session, msg, now)
        if isinstance(msg, wire.Receipt):
            return self._receipt(session, msg, now)
        raise ProtocolError(f"unexpected message {type(msg).__name__}", ErrorCode.UNKNOWN_TYPE)

    def _hello(self, session: Session, msg: wire.Hello, now: float) -> list[Output]:
        if msg.v != wire.PROTOCOL_VERSION:
            raise ProtocolError(f"protocol version {msg.v} is not supported; this server "
                                f"speaks {wire.PROTOCOL_VERSION}", ErrorCode.UNSUPPORTED_VERSION)
        if session.member is not None:
            raise Refused("hello was already accepted on this connection", ErrorCode.BAD_MESSAGE)
        member = self.roster.members.get(msg.member)
        if member is None:
            return self._login_failed(session, msg, ErrorCode.UNKNOWN_MEMBER,
                                      f"no member {msg.member!r} on this network", now)
        if self.devices is not None:
            refused = self._check_login(session, msg, now)
            if refused is not None:
                return self._login_failed(session, msg, refused.code, refused.message, now)
        if session.api:
            return self._api_hello(session, member, msg, now)
        out: list[Output] = []
        other = self._devices.get((member.id, msg.device))
        if other is not None:
            out.append(self._error(other, ErrorCode.DUPLICATE_SESSION,
                                   "this device signed in again on another connection"))
            out.append(Close(other, CLOSE_POLICY, ErrorCode.DUPLICATE_SESSION.value))
            out += self.disconnect(other, now)
        session.member, session.device = member, msg.device
        if self.devices is not None:
            out.append(Audit("login", now, actor=msg.device, subject=member.id,
                             detail={"peer": session.peer}))
            out.append(LoadKeys(session.conn, msg.device))
        self._devices[(member.id, msg.device)] = session.conn
        count = self._member_sessions.get(member.id, 0)
        self._member_sessions[member.id] = count + 1
        if not count:
            self._presence_changed(member.id, True, now)
        out.append(self._send(session.conn, self._welcome(member, msg.ref, now)))
        out.append(LoadMessages(session.conn, member.id))
        for group in self._groups.values():
            if group.floor.emergency and member.id in group.tg.members:
                out.append(self._send(session.conn, wire.Emergency(
                    talkgroup=group.tg.id, member=group.emergency_member, active=True)))
        return out

    def _api_hello(self, session: Session, member: Member, msg: wire.Hello,
                   now: float) -> list[Output]:
        """An HTTP API sign-in: same checks as a radio's, but it goes on no air."""
        session.member, session.device = member, msg.device
        out: list[Output] = []
        if self.devices is not None:
            out.append(Audit("login", now, actor=msg.device, subject=member.id,
                             detail={"peer": session.peer, "via": "http"}))
        out.append(self._send(session.conn, self._welcome(member, msg.ref, now)))
        return out

    def _welcome(self, member: Member, ref: int | None, now: float) -> wire.Welcome:
        groups = [wire.TalkgroupInfo(id=tg.id, number=tg.number, name=tg.name,
                                     can_transmit=tg.can_transmit(member.id))
                  for tg in self.roster.talkgroups_of(member.id)]
        statuses = [wire.StatusInfo(code=s.code, text_id=s.text_id, text_en=s.text_en)
                    for s in self.roster.status_codes.values()]
        return wire.Welcome(v=wire.PROTOCOL_VERSION, session=next(self._session_ids),
                            member=self._member_info(member), talkgroups=groups,
                            server_time=now, status_codes=statuses, ref=ref)

    def _check_login(self, session: Session, msg: wire.Hello, now: float) -> Refused | None:
        """Why this signed hello may not sign in, or None if it may."""
        if self.failures.blocked(session.peer, now):
            return Refused("too many failed sign-ins from your address; wait a minute",
                           ErrorCode.RATE_LIMITED)
        assert self.devices is not None
        record = self.devices.get(msg.device)
        if msg.auth is None:
            return Refused("this network requires an enrolled device; sign the challenge",
                           ErrorCode.NOT_AUTHENTICATED)
        if record is None or record.member != msg.member:
            return Refused(f"device {msg.device!r} is not enrolled for {msg.member!r}",
                           ErrorCode.UNKNOWN_DEVICE)
        if record.revoked:
            return Refused("this device has been disabled by an administrator",
                           ErrorCode.DEVICE_REVOKED)
        try:
            verify_login(DevicePublic(record.sign_pub, record.dh_pub), b64d(msg.auth),
                         session.nonce, msg.member)
        except CryptoError:
            return Refused("the sign-in signature does not verify", ErrorCode.BAD_SIGNATURE)
        return None

    def _login_failed(self, session: Session, msg: wire.Hello, code: ErrorCode, message: str,
                      now: float) -> list[Output]:
        if code != ErrorCode.RATE_LIMITED:
            self.failures.failed(session.peer, now)
        out: list[Output] = [self._error(session.conn, code, message, msg.ref),
                             Close(session.conn, CLOSE_POLICY, code.value)]
        if self.devices is not None:
            out.append(Audit("login_failed", now, actor=msg.device, subject=msg.member,
                             detail={"code": code.value, "peer": session.peer}))
        return out

    def _enroll(self, session: Session, msg: wire.Enroll, now: float) -> list[Output]:
        if self.devices is None:
            raise Refused("this network does not enroll devices", ErrorCode.NOT_ALLOWED)
        if session.member is not None or session.enrolling:
            raise Refused("enroll before signing in, once per connection",
                          ErrorCode.BAD_MESSAGE)
        if self.failures.blocked(session.peer, now):
            raise Refused("too many failed attempts from your address; wait a minute",
                          ErrorCode.RATE_LIMITED)
        try:
            hashed = code_hash(msg.code)
            public = DevicePublic(b64d(msg.sign_pub), b64d(msg.dh_pub))
            verify_enroll(public, b64d(msg.proof), normalize_code(msg.code), msg.member)
        except (CryptoError, Refused):
            self.failures.failed(session.peer, now)
            return [self._error(session.conn, ErrorCode.ENROLLMENT_INVALID,
                                "enrollment refused: check the code and try again", msg.ref),
                    Audit("enroll_failed", now, actor="", subject=msg.member,
                          detail={"peer": session.peer, "why": "proof"})]
        session.enrolling = True
        record = DeviceRecord(device_id=public.device_id, member=msg.member,
                              sign_pub=public.sign_pub, dh_pub=public.dh_pub, enrolled_at=now,
                              label=msg.label)
        return [Redeem(session.conn, hashed, record, msg.ref)]

    def enroll_result(self, redeem: Redeem, ok: bool, now: float) -> list[Output]:
        """The environment redeemed (or could not redeem) the code of a :class:`Redeem`."""
        session = self.sessions.get(redeem.conn)
        record = redeem.record
        if not ok:
            if session is not None:
                self.failures.failed(session.peer, now)
                session.enrolling = False
            out: list[Output] = [Audit("enroll_failed", now, subject=record.member,
                                       detail={"peer": session.peer if session else "",
                                               "why": "code"})]
            if session is not None:
                out.append(self._error(redeem.conn, ErrorCode.ENROLLMENT_INVALID,
                                       "enrollment refused: check the code and try again",
                                       redeem.ref))
            return out
        out = self._note_device(record)
        out.append(Audit("enrolled", now, actor=record.device_id, subject=record.member,
                         detail={"label": record.label}))
        if session is not None:
            out.append(self._send(redeem.conn, wire.Enrolled(
                member=record.member, device=record.device_id, ref=redeem.ref)))
        return out

    def device_changed(self, record: DeviceRecord, now: float) -> list[Output]:
        """The directory learnt of a new or changed device; a revoked one is cut off now."""
        if self.devices is None:
            return []
        out = self._note_device(record)
        if not record.revoked:
            return out
        for conn, session in list(self.sessions.items()):
            if session.device == record.device_id and session.member is not None:
                out.append(self._error(conn, ErrorCode.DEVICE_REVOKED,
                                       "this device has been disabled by an administrator"))
                out.append(Close(conn, CLOSE_POLICY, ErrorCode.DEVICE_REVOKED.value))
                out += self.disconnect(conn, now)
        return out

    def _note_device(self, record: DeviceRecord) -> list[Output]:
        """Keep the directory; tell admins' devices when a device appears or is revoked."""
        assert self.devices is not None
        before = self.devices.get(record.device_id)
        self.devices.put(record)
        if before is not None and before.revoked == record.revoked:
            return []
        admins = tuple(c for c, s in self.sessions.items()
                       if s.on_air and s.member is not None and s.member.role is Role.ADMIN)
        if not admins:
            return []
        groups = [tg.id for tg in self.roster.talkgroups_of(record.member)]
        return [Send(admins, wire.encode(wire.DeviceUpdate(
            device=record.device_id, member=record.member, revoked=record.revoked,
            talkgroups=groups)))]

    # ---- messages: stored before they are acknowledged, forwarded until received ---------------

    def _message_send(self, session: Session, msg: wire.MessageSend,
                      now: float) -> list[Output]:
        assert session.member is not None
        group = self._member_group(session, msg.talkgroup)
        plain = msg.text is not None or msg.status is not None
        if plain == (msg.sealed is not None):
            raise ProtocolError("a message has either text/status or sealed content",
                                ErrorCode.BAD_MESSAGE)
        if self.devices is not None and plain:
            raise Refused("this network carries messages end-to-end sealed only",
                          ErrorCode.NOT_ALLOWED)
        if msg.status is not None and msg.status not in self.roster.status_codes:
            raise Refused(f"status: unknown code {msg.status!r}; one of "
                          f"{', '.join(self.roster.status_codes)}", ErrorCode.BAD_MESSAGE)
        if msg.text is not None and not msg.text.strip():
            raise Refused("text: empty", ErrorCode.BAD_MESSAGE)
        stored = StoredMessage(id=msg.id, talkgroup=group.tg.id, sender=session.member.id,
                               sender_device=session.device, sent_at=now, text=msg.text,
                               status=msg.status, sealed=msg.sealed, epoch=msg.epoch)
        recipients = tuple(sorted(group.tg.members - {session.member.id}))
        return [StoreMessage(stored, recipients, session.conn, msg.ref)]

    def message_stored(self, store: StoreMessage, added: bool, now: float) -> list[Output]:
        """The message is durable (``added`` False: a retry of one stored before): tell the
        sender, and hand it to every recipient online now."""
        out: list[Output] = []
        if store.conn in self.sessions:
            out.append(self._send(store.conn, wire.MessageAccepted(
                id=store.message.id, recipients=len(store.recipients), stored_at=now,
                ref=store.ref)))
        if added:
            wanted = set(store.recipients)
            to = self._conns_of(wanted)
            if to:
                out.append(Send(to, wire.encode(self._message(store.message))))
        return out

    def deliver_pending(self, conn: int, messages: Iterable[StoredMessage],
                        receipts: Iterable[ReceiptRecord]) -> list[Output]:
        """At sign-in: what arrived while the member was away, oldest first, and the receipts
        of what it sent."""
        if conn not in self.sessions:
            return []
        out: list[Output] = [self._send(conn, self._message(m)) for m in messages]
        out += [self._send(conn, wire.ReceiptUpdate(id=r.id, member=r.member, state=r.state,
                                                    at=r.at)) for r in receipts]
        return out

    def _receipt(self, session: Session, msg: wire.Receipt, now: float) -> list[Output]:
        assert session.member is not None
        return [StoreReceipt(ReceiptRecord(msg.id, session.member.id, msg.state, now))]

    def receipt_stored(self, receipt: ReceiptRecord, sender: str | None) -> list[Output]:
        """A new receipt was recorded (``sender`` None: nothing changed, say nothing)."""
        if sender is None:
            return []
        to = self._conns_of({sender})
        if not to:
            return []
        return [Send(to, wire.encode(wire.ReceiptUpdate(
            id=receipt.id, member=receipt.member, state=receipt.state, at=receipt.at)))]

    @staticmethod
    def _message(m: StoredMessage) -> wire.Message:
        return wire.Message(id=m.id, talkgroup=m.talkgroup, sender=m.sender,
                            sender_device=m.sender_device, sent_at=m.sent_at, text=m.text,
                            status=m.status, sealed=m.sealed, epoch=m.epoch)

    # ---- orders: acknowledged, or repeated and escalated ------------------------------------

    def _order_issue(self, session: Session, msg: wire.OrderIssue, now: float) -> list[Output]:
        assert session.member is not None
        group = self._member_group(session, msg.talkgroup)
        if session.member.role not in ORDER_ROLES:
            raise Refused(f"{session.member.name} may not issue orders", ErrorCode.NOT_ALLOWED)
        if (msg.text is None) == (msg.sealed is None):
            raise ProtocolError("an order has either text or sealed content",
                                ErrorCode.BAD_MESSAGE)
        if self.devices is not None and msg.text is not None:
            raise Refused("this network carries orders end-to-end sealed only",
                          ErrorCode.NOT_ALLOWED)
        for member in msg.to:
            if member not in group.tg.members or member == session.member.id:
                raise Refused(f"to: {member!r} is not another member of {group.tg.name}",
                              ErrorCode.NOT_MEMBER)
        order = Order(msg.id, group.tg.id, session.member.id, now, now + msg.due_in,
                      msg.ack_within, msg.text, msg.sealed, msg.epoch, session.device,
                      {m: Recipient(m) for m in dict.fromkeys(msg.to)})
        return [StoreOrder(order, session.conn, msg.ref)]

    def order_stored(self, store: StoreOrder, added: bool, now: float) -> list[Output]:
        order = store.order
        out: list[Output] = []
        if added:
            self.orders.add(order)
            to = self._conns_of(set(order.recipients))
            if to:
                out.append(Send(to, wire.encode(self._order_msg(order))))
        if store.conn in self.sessions:
            out.append(self._send(store.conn, wire.OrderStatus(
                id=order.id, member=order.by, state="issued", at=order.sent_at,
                ref=store.ref)))
        return out

    def _order_ack(self, session: Session, msg: wire.OrderAck, now: float) -> list[Output]:
        assert session.member is not None
        order = self.orders.orders.get(msg.id)
        r = self.orders.acknowledge(msg.id, session.member.id, msg.state, now)
        if order is None or r is None:
            return []
        status = wire.encode(wire.OrderStatus(id=order.id, member=r.member, state=r.state,
                                              at=now, escalations=r.escalations))
        return [StoreOrderState(order.id, r.member, r.state, now, r.escalations),
                Send(self._conns_of({order.by}), status)]

    def _escalate(self, esc: Escalation, now: float) -> list[Output]:
        order, member = esc.order, esc.member
        out: list[Output] = [StoreOrderState(order.id, member, "issued", now, esc.level)]
        to = self._conns_of({member})
        if to:
            out.append(Send(to, wire.encode(self._order_msg(order, repeat=esc.level))))
        operators = {m.id for m in self.roster.members.values()
                     if m.role is Role.ADMIN or (m.role is Role.STAFF and not m.region)}
        alert = self._conns_of(operators | {order.by})
        if alert:
            out.append(Send(alert, wire.encode(wire.OrderStatus(
                id=order.id, member=member, state="escalated", at=now,
                escalations=esc.level))))
        return out

    def deliver_orders(self, conn: int, orders: Iterable[Order]) -> list[Output]:
        """At sign-in: the orders this member has not yet acknowledged."""
        if conn not in self.sessions:
            return []
        return [self._send(conn, self._order_msg(o)) for o in orders]

    def _conns_of(self, members: AbstractSet[str]) -> tuple[int, ...]:
        """The signed-in connections of these members (all their devices)."""
        return tuple(c for c, s in self.sessions.items()
                     if s.on_air and s.member is not None and s.member.id in members)

    @staticmethod
    def _order_msg(order: Order, repeat: int = 0) -> wire.OrderMsg:
        return wire.OrderMsg(id=order.id, talkgroup=order.talkgroup, by=order.by,
                             to=list(order.recipients), sent_at=order.sent_at,
                             due_at=order.due_at, sender_device=order.sender_device,
                             text=order.text, sealed=order.sealed, epoch=order.epoch,
                             repeat=repeat)

    # ---- positions: private, shown only to the roles the roster names ------------------------

    def _position(self, session: Session, msg: wire.Position, now: float) -> list[Output]:
        assert session.member is not None
        if now - session.last_position < POSITION_INTERVAL:
            return []
        session.last_position = now
        fix = Fix(session.member.id, session.device, msg.lat, msg.lon, msg.accuracy, now)
        viewers = self.roster.position_viewers | {fix.member}
        to = self._conns_of(viewers)
        update = wire.PositionUpdate(member=fix.member, lat=fix.lat, lon=fix.lon,
                                     accuracy=fix.accuracy, at=fix.at)
        return [StorePosition(fix), Send(to, wire.encode(update))]

    def _positions_request(self, session: Session, msg: wire.PositionsRequest) -> list[Output]:
        assert session.member is not None
        own_track = msg.member == session.member.id
        if session.member.id not in self.roster.position_viewers and not own_track:
            raise Refused(f"{session.member.name} may not see members' positions",
                          ErrorCode.NOT_ALLOWED)
        if msg.member is not None and msg.member not in self.roster.members:
            raise Refused(f"no member {msg.member!r}", ErrorCode.UNKNOWN_MEMBER)
        return [LoadPositions(session.conn, msg.member, msg.since, msg.ref)]

    def deliver_positions(self, load: LoadPositions, fixes: Iterable[Fix]) -> list[Output]:
        if load.conn not in self.sessions:
            return []
        return [self._send(load.conn, wire.Positions(positions=[
            wire.PositionInfo(member=f.member, lat=f.lat, lon=f.lon, accuracy=f.accuracy,
                              at=f.at) for f in fixes], ref=load.ref))]

    # ---- roll call ----------------------------------------------------------------------------

    def _rollcall_start(self, session: Session, msg: wire.RollcallStart,
                        now: float) -> list[Output]:
        assert session.member is not None
        group = self._member_group(session, msg.talkgroup)
        if session.member.role not in ROLLCALL_ROLES:
            raise Refused(f"{session.member.name} may not poll {group.tg.name}",
                          ErrorCode.NOT_ALLOWED)
        if group.tg.id in self._rollcalls:
            raise Refused(f"a roll call of {group.tg.name} is already open",
                          ErrorCode.NOT_ALLOWED)
        rc = RollCall(msg.id, group.tg.id, session.member.id, now, now + msg.timeout,
                      frozenset(group.tg.members - {session.member.id}))
        self._rollcalls[group.tg.id] = rc
        poll = wire.encode(wire.Rollcall(id=rc.id, talkgroup=rc.talkgroup, by=rc.by,
                                         started_at=now, deadline=rc.deadline))
        return [Send(self._member_conns(group.tg), poll),
                self._send(session.conn, self._board(rc, now, ref=msg.ref))]

    def _rollcall_answer(self, session: Session, msg: wire.RollcallAnswer,
                         now: float) -> list[Output]:
        assert session.member is not None
        rc = next((r for r in self._rollcalls.values() if r.id == msg.id), None)
        if rc is None:
            raise Refused("no open roll call with that id", ErrorCode.NOT_ALLOWED)
        if rc.answer(session.member.id, now) is None:
            return []
        return self._rollcall_progress(rc, now)

    def _rollcall_progress(self, rc: RollCall, now: float) -> list[Output]:
        if rc.complete:
            return self._close_rollcall(rc, now)
        to = self._conns_of({rc.by})
        return [Send(to, wire.encode(self._board(rc, now)))] if to else []

    def _close_rollcall(self, rc: RollCall, now: float) -> list[Output]:
        rc.close(now)
        del self._rollcalls[rc.talkgroup]
        tg = self.roster.talkgroups[rc.talkgroup]
        return [Send(self._member_conns(tg), wire.encode(self._board(rc, now))),
                StoreRollcall(rc)]

    @staticmethod
    def _board(rc: RollCall, now: float, ref: int | None = None) -> wire.RollcallBoard:
        answered = [wire.RollcallEntry(member=a.member,
                                       seconds=round(a.seconds_after(rc.started_at), 3),
                                       via=a.via)
                    for a in sorted(rc.answers.values(), key=lambda a: a.at)]
        return wire.RollcallBoard(id=rc.id, talkgroup=rc.talkgroup, by=rc.by,
                                  started_at=rc.started_at, deadline=rc.deadline,
                                  answered=answered, silent=rc.silent(), closed=rc.closed,
                                  ref=ref)

    # ---- end-to-end keys: the server routes sealed keys it cannot open ------------------------

    def _key_holders(self, tg: Talkgroup) -> list[DeviceRecord]:
        """Devices that get a talkgroup's key: its members', and the auditors' (who may replay
        any recording). Revoked devices never do."""
        assert self.devices is not None
        auditors = {m.id for m in self.roster.members.values() if m.role is Role.AUDITOR}
        return [d for d in self.devices.devices.values()
                if not d.revoked and (d.member in tg.members or d.member in auditors)]

    def _directory(self, session: Session, msg: wire.DirectoryRequest) -> list[Output]:
        if self.devices is None:
            raise Refused("this network has no enrolled devices", ErrorCode.NOT_ALLOWED)
        assert session.member is not None
        group = self._groups.get(msg.talkgroup)
        if group is None:
            raise Refused(f"no talkgroup {msg.talkgroup!r}", ErrorCode.UNKNOWN_TALKGROUP)
        if (session.member.id not in group.tg.members
                and session.member.role not in (Role.ADMIN, Role.AUDITOR)):
            raise Refused(f"{session.member.name} is not a member of {group.tg.name}",
                          ErrorCode.NOT_MEMBER)
        devices = [wire.DeviceInfo(device=d.device_id, member=d.member,
                                   role=self.roster.members[d.member].role.value,
                                   sign_pub=b64e(d.sign_pub), dh_pub=b64e(d.dh_pub))
                   for d in self._key_holders(group.tg) if d.member in self.roster.members]
        return [self._send(session.conn, wire.Directory(
            talkgroup=group.tg.id, devices=devices,
            epoch=self.key_epochs.get(group.tg.id, 0), ref=msg.ref))]

    def _publish_keys(self, session: Session, msg: wire.PublishKeys,
                      now: float) -> list[Output]:
        """A key keeper (an admin's device) hands out a talkgroup key sealed per device."""
        assert session.member is not None
        if self.devices is None or session.member.role is not Role.ADMIN:
            raise Refused("only an admin's device may publish group keys",
                          ErrorCode.NOT_ALLOWED)
        group = self._groups.get(msg.talkgroup)
        if group is None:
            raise Refused(f"no talkgroup {msg.talkgroup!r}", ErrorCode.UNKNOWN_TALKGROUP)
        current = self.key_epochs.get(msg.talkgroup, 0)
        if msg.epoch < current:
            raise Refused(f"epoch {msg.epoch} is older than the current {current}",
                          ErrorCode.NOT_ALLOWED)
        keeper = self.devices.get(session.device)
        assert keeper is not None  # signed in on a closed network
        holders = {d.device_id: d for d in self._key_holders(group.tg)}
        keeper_pub = DevicePublic(keeper.sign_pub, keeper.dh_pub)
        stored: list[SealedKey] = []
        skipped = 0
        for entry in msg.keys:
            known = self.devices.get(entry.device)
            if known is not None and known.revoked and entry.device not in holders:
                # Revoked after the keeper read the directory: a benign race, not an attack.
                skipped += 1
                continue
            if entry.device not in holders:
                raise Refused(f"device {entry.device} may not hold the key of "
                              f"{group.tg.name}", ErrorCode.NOT_MEMBER)
            try:
                sealed, sig = b64d(entry.sealed), b64d(entry.sig)
                verify_sealed_key(keeper_pub, sig, msg.talkgroup, msg.epoch, entry.device,
                                  sealed)
            except CryptoError as exc:
                raise Refused(f"key for {entry.device} is not signed by your device",
                              ErrorCode.BAD_SIGNATURE) from exc
            stored.append(SealedKey(msg.talkgroup, msg.epoch, entry.device, keeper.device_id,
                                    keeper.sign_pub, sealed, sig))
        self.key_epochs[msg.talkgroup] = msg.epoch
        out: list[Output] = [StoreKeys(tuple(stored), session.conn, msg.ref,
                                       msg.talkgroup, msg.epoch, skipped)]
        if msg.epoch > current:
            out.append(Audit("key_rotated", now, actor=session.device, subject=msg.talkgroup,
                             detail={"epoch": msg.epoch}))
        return out

    def keys_stored(self, store: StoreKeys) -> list[Output]:
        """The keys of a :class:`StoreKeys` are stored: deliver them to every device online
        now (a device signing in meanwhile also gets them) and acknowledge to the keeper."""
        out = self.deliver_keys(None, store.keys)
        if store.keeper in self.sessions:
            out.append(self._send(store.keeper, wire.KeysPublished(
                talkgroup=store.talkgroup, epoch=store.epoch, stored=len(store.keys),
                skipped=store.skipped, ref=store.ref)))
        return out

    def deliver_keys(self, conn: int | None, keys: Iterable[SealedKey]) -> list[Output]:
        """Send sealed keys to the sessions of their devices (only ``conn``, if given)."""
        by_device: dict[str, list[int]] = {}
        for c, s in self.sessions.items():
            if s.on_air and (conn is None or c == conn):
                by_device.setdefault(s.device, []).append(c)
        out: list[Output] = []
        for k in keys:
            keeper = self.devices.get(k.keeper) if self.devices is not None else None
            if keeper is None:
                continue  # a keeper unknown here cannot be vouched for: send nothing
            for c in by_device.get(k.device_id, ()):
                out.append(self._send(c, wire.Keys(
                    talkgroup=k.talkgroup, epoch=k.epoch, keeper=k.keeper,
                    keeper_sign=b64e(keeper.sign_pub), keeper_dh=b64e(keeper.dh_pub),
                    sealed=b64e(k.sealed), sig=b64e(k.signature))))
        return out

    def _join(self, session: Session, group: _Group, ref: int | None,
              now: float) -> list[Output]:
        session.joined.add(group.tg.id)
        group.listeners[session.conn] = None
        group.refresh_targets()
        online = sorted({s.member.id for c in group.listeners
                         if (s := self.sessions.get(c)) is not None and s.member is not None})
        out: list[Output] = [self._send(session.conn, wire.Joined(
            talkgroup=group.tg.id, number=group.tg.number, online=online,
            emergency=group.floor.emergency, ref=ref))]
        active = group.active
        if active is not None and active.conn != session.conn:
            # Late entry: the joiner hears the rest of the transmission in progress at once.
            out.append(Send((session.conn,), active.talker_start))
        return out

    def _leave_group(self, session: Session, group: _Group, now: float) -> list[Output]:
        session.joined.discard(group.tg.id)
        group.listeners.pop(session.conn, None)
        group.e2e.pop(session.conn, None)
        group.refresh_targets()
        return self._apply(group, group.floor.drop(session.conn, now), now)

    def _floor_request(self, session: Session, msg: wire.FloorRequest,
                       now: float) -> list[Output]:
        assert session.member is not None
        member = session.member
        group = self._joined_group(session, msg.talkgroup)
        if not group.tg.can_transmit(member.id):
            return [self._send(session.conn, wire.FloorDenied(
                talkgroup=group.tg.id, code=ErrorCode.NOT_ALLOWED,
                reason=f"{member.name} may listen to {group.tg.name} but not transmit",
                ref=msg.ref))]
        for other_id in session.joined:
            other = self._groups[other_id]
            busy = other.active is not None and other.active.conn == session.conn
            if other is not group and busy:
                return [self._send(session.conn, wire.FloorDenied(
                    talkgroup=group.tg.id, code=ErrorCode.ALREADY_TRANSMITTING,
                    reason=f"already transmitting on {other.tg.name}", ref=msg.ref))]
        if self.devices is not None and msg.e2e is None and not msg.emergency:
            # A closed network carries sealed voice only; an emergency call is never refused.
            return [self._send(session.conn, wire.FloorDenied(
                talkgroup=group.tg.id, code=ErrorCode.NOT_ALLOWED,
                reason="this network carries end-to-end sealed voice only", ref=msg.ref))]
        out: list[Output] = []
        rc = self._rollcalls.get(group.tg.id)
        if rc is not None and rc.answer(member.id, now, "ptt") is not None:
            out += self._rollcall_progress(rc, now)  # keying up answers a roll call
        if msg.e2e is not None:
            group.e2e[session.conn] = msg.e2e
        events = group.floor.request(session.conn, member.priority, now, emergency=msg.emergency,
                                     may_preempt=group.tg.can_preempt(member.id))
        return out + self._apply(group, events, now, session.conn, msg.ref)

    def _floor_release(self, session: Session, msg: wire.FloorRelease,
                       now: float) -> list[Output]:
        group = self._joined_group(session, msg.talkgroup)
        floor = group.floor
        holder = floor.holder
        holds = holder is not None and holder.party == session.conn
        if not holds and floor.position(session.conn) is None:
            raise Refused(f"you do not hold or wait for the floor of {group.tg.name}",
                          ErrorCode.NOT_HOLDER)
        return self._apply(group, floor.release(session.conn, now), now, session.conn, msg.ref)

    def _emergency_clear(self, session: Session, msg: wire.EmergencyClear,
                         now: float) -> list[Output]:
        assert session.member is not None
        group = self._member_group(session, msg.talkgroup)
        if not group.tg.can_clear(session.member.id):
            raise Refused(f"{session.member.name} may not clear emergencies on {group.tg.name}",
                          ErrorCode.NOT_ALLOWED)
        if not group.floor.emergency:
            raise Refused(f"{group.tg.name} is not in emergency", ErrorCode.NO_EMERGENCY)
        return self._apply(group, group.floor.clear_emergency(session.conn, now), now,
                           session.conn, msg.ref)

    # ---- floor events -> outputs ------------------------------------------------------------

    def _apply(self, group: _Group, events: Iterable[FloorEvent], now: float,
               requester: int | None = None, ref: int | None = None) -> list[Output]:
        """Turn floor events into messages; ``ref`` goes only on answers to ``requester``."""
        tg = group.tg
        out: list[Output] = []
        for ev in events:
            if isinstance(ev, Granted):
                mine = ref if ev.party == requester else None
                member = self._member_of(ev.party)
                out.append(self._send(ev.party, wire.FloorGranted(
                    talkgroup=tg.id, number=tg.number, stream=ev.stream,
                    priority=int(ev.priority), limit_ms=round((ev.deadline - ev.started_at) * 1000),
                    emergency=ev.emergency, ref=mine)))
                start = wire.TalkerStart(
                    talkgroup=tg.id, number=tg.number, stream=ev.stream,
                    member=self._member_info(member), priority=int(ev.priority),
                    started_at=ev.started_at, emergency=ev.emergency,
                    e2e=group.e2e.pop(ev.party, None))
                late = wire.encode(msgspec.structs.replace(start, late=True))
                stream = _Stream(ev.stream, ev.party, group, member, talker_start=late,
                                 sealed=start.e2e is not None)
                group.active = stream
                self._streams[ev.stream] = stream
                group.refresh_targets()
                self.stats.transmissions += 1
                out.append(Send(group.targets, wire.encode(start)))
                out.append(RecordStart(ev.stream, tg.id, member.id, member.name, int(ev.priority),
                                       ev.emergency, ev.started_at, start.e2e))
            elif isinstance(ev, Ended):
                stream = self._streams.pop(ev.stream)
                # Tell those who were hearing it (not the talker, who never got talker_start).
                heard = group.targets
                if group.active is stream:
                    group.active = None
                group.refresh_targets()
                out.append(Send(heard, wire.encode(wire.TalkerStop(
                    talkgroup=tg.id, stream=ev.stream, member=stream.member.id,
                    outcome=ev.outcome))))
                if ev.outcome == "completed" and ev.party in self.sessions:
                    out.append(self._send(ev.party, wire.FloorReleased(
                        talkgroup=tg.id, stream=ev.stream,
                        ref=ref if ev.party == requester else None)))
                out.append(RecordEnd(ev.stream, ev.outcome, ev.ended_at))
            elif isinstance(ev, Revoked):
                if ev.party in self.sessions:
                    out.append(self._send(ev.party, wire.FloorRevoked(
                        talkgroup=tg.id, stream=ev.stream, reason=ev.reason)))
            elif isinstance(ev, Queued):
                if ev.party in self.sessions:
                    out.append(self._send(ev.party, wire.FloorQueued(
                        talkgroup=tg.id, position=ev.position,
                        ref=ref if ev.party == requester else None)))
            elif isinstance(ev, Denied):
                group.e2e.pop(ev.party, None)
                if ev.party in self.sessions:
                    out.append(self._send(ev.party, wire.FloorDenied(
                        talkgroup=tg.id, code=ev.code, reason=ev.reason,
                        ref=ref if ev.party == requester else None)))
            elif isinstance(ev, EmergencyRaised):
                group.emergency_member = self._member_of(ev.party).id
                out.append(Audit("emergency_raised", now, actor=group.emergency_member,
                                 subject=tg.id))
                out.append(Send(self._member_conns(tg), wire.encode(wire.Emergency(
                    talkgroup=tg.id, member=group.emergency_member, active=True))))
            elif isinstance(ev, EmergencyCleared):
                out.append(Audit("emergency_cleared", now, actor=self._member_of(ev.by).id,
                                 subject=tg.id, detail={"raised_by": group.emergency_member}))
                out.append(Send(self._member_conns(tg), wire.encode(wire.Emergency(
                    talkgroup=tg.id, member=group.emergency_member, active=False,
                    by=self._member_of(ev.by).id))))
                group.emergency_member = ""
        deadline = group.floor.next_deadline()
        if deadline is None:
            self._deadlines.pop(tg.id, None)
        else:
            self._deadlines[tg.id] = deadline
        return out

    # ---- helpers ----------------------------------------------------------------------------

    def _member_group(self, session: Session, tg_id: str) -> _Group:
        group = self._groups.get(tg_id)
        if group is None:
            raise Refused(f"no talkgroup {tg_id!r}", ErrorCode.UNKNOWN_TALKGROUP)
        assert session.member is not None
        if session.member.id not in group.tg.members:
            raise Refused(f"{session.member.name} is not a member of {group.tg.name}",
                          ErrorCode.NOT_MEMBER)
        return group

    def _joined_group(self, session: Session, tg_id: str) -> _Group:
        group = self._member_group(session, tg_id)
        if tg_id not in session.joined:
            raise Refused(f"join {group.tg.name} first", ErrorCode.NOT_JOINED)
        return group

    def _member_of(self, conn: int) -> Member:
        """Floor events only name parties that are signed in when the event happens."""
        session = self.sessions.get(conn)
        if session is None or session.member is None:
            raise LocalProtocolError(f"floor event for unknown connection {conn}")
        return session.member

    def _member_conns(self, tg: Talkgroup) -> tuple[int, ...]:
        return self._conns_of(tg.members)

    def _member_info(self, member: Member) -> wire.MemberInfo:
        return wire.MemberInfo(id=member.id, name=member.name, role=member.role.value,
                               region=member.region)

    def _send(self, conn: int, msg: msgspec.Struct) -> Send:
        return Send((conn,), wire.encode(msg))

    def _broadcast(self, msg: msgspec.Struct) -> Send:
        return Send(tuple(c for c, s in self.sessions.items() if s.on_air),
                    wire.encode(msg))

    def error_to(self, conn: int, exc: SiagaError, ref: int | None = None) -> Output:
        """An environment failure (e.g. the database) reported to the one who asked."""
        return self._error(conn, exc.code, exc.message, ref)

    def _error(self, conn: int, code: ErrorCode, message: str,
               ref: int | None = None) -> Send:
        self.stats.errors_sent += 1
        return self._send(conn, wire.Error(code=code.value, message=message, ref=ref))


__all__ = [
    "Audit",
    "Close",
    "Hub",
    "LoadKeys",
    "LoadMessages",
    "LoadPositions",
    "Output",
    "RecordEnd",
    "RecordStart",
    "Redeem",
    "Send",
    "Stats",
    "StoreKeys",
    "StoreMessage",
    "StoreOrder",
    "StoreOrderState",
    "StorePosition",
    "StoreReceipt",
    "StoreRollcall",
]
