"""The Siaga wire format, version 1: JSON control messages and binary audio frames.

Both travel over one WebSocket: control messages as text frames, audio as binary frames.
This module only converts between bytes and typed values; it holds no state and does no I/O.
``docs/protocol.md`` is the human description and must agree with this file.

Audio frames carry a fixed 16-byte header, big-endian::

    0      1      2             4                 8                 12                16
    +------+------+-------------+-----------------+-----------------+-----------------+---...
    | ver  | flags| talkgroup # |    stream id    |    sequence     |  timestamp (ms) | payload
    +------+------+-------------+-----------------+-----------------+-----------------+---...

The server routes on the header and never looks at the payload, so the payload can be plain
Opus today and an AEAD ciphertext (with the header as associated data) once end-to-end
encryption lands, without changing the frame layout.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, cast, get_args

import msgspec

from .errors import ErrorCode, ProtocolError

PROTOCOL_VERSION: Final = 1
SUBPROTOCOL: Final = "siaga.v1"

#: Largest text (control) message a client may send, in bytes.
MAX_CONTROL_BYTES: Final = 8 * 1024
#: Largest message a server may send (a device directory of a big talkgroup is larger).
MAX_SERVER_BYTES: Final = 256 * 1024
#: Largest audio payload accepted (an Opus packet is at most 1275 bytes; room for AEAD and tag).
MAX_AUDIO_PAYLOAD: Final = 1500
#: Largest opaque end-to-end envelope carried in a floor request.
MAX_E2E_BYTES: Final = 2048

HEADER: Final = struct.Struct(">BBHIII")
HEADER_SIZE: Final = HEADER.size
MAX_AUDIO_FRAME: Final = HEADER_SIZE + MAX_AUDIO_PAYLOAD

#: Frame flags.
FLAG_END: Final = 0x01  # last frame of a transmission
FLAG_SEALED: Final = 0x02  # payload is end-to-end encrypted
KNOWN_FLAGS: Final = FLAG_END | FLAG_SEALED

U16: Final = 0xFFFF
U32: Final = 0xFFFF_FFFF


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """One voice packet: 20 ms of Opus (or its sealed form) plus routing header."""

    talkgroup: int
    stream: int
    seq: int
    timestamp: int
    payload: bytes
    flags: int = 0

    @property
    def end(self) -> bool:
        return bool(self.flags & FLAG_END)

    def header(self) -> bytes:
        """The header bytes alone: the associated data an AEAD binds the payload to."""
        return HEADER.pack(
            PROTOCOL_VERSION, self.flags, self.talkgroup, self.stream, self.seq, self.timestamp
        )

    def encode(self) -> bytes:
        if not (0 <= self.talkgroup <= U16 and 0 <= self.stream <= U32):
            raise ValueError("talkgroup or stream out of range")
        if not (0 <= self.seq <= U32 and 0 <= self.timestamp <= U32):
            raise ValueError("sequence or timestamp out of range")
        if len(self.payload) > MAX_AUDIO_PAYLOAD:
            raise ValueError("payload too large")
        return self.header() + self.payload


def peek_header(data: bytes) -> tuple[int, int, int, int, int]:
    """Validate a frame's header and return ``(flags, talkgroup, stream, seq, timestamp)``.

    This is the relay's hot path: it checks everything the server relies on without copying
    the payload, so a frame can be forwarded as the very bytes object that arrived.
    """
    size = len(data)
    if size < HEADER_SIZE:
        raise ProtocolError(f"audio frame of {size} bytes is shorter than its header",
                            ErrorCode.BAD_FRAME)
    if size > MAX_AUDIO_FRAME:
        raise ProtocolError(f"audio frame of {size} bytes exceeds {MAX_AUDIO_FRAME}",
                            ErrorCode.TOO_LARGE)
    version, flags, talkgroup, stream, seq, timestamp = HEADER.unpack_from(data)
    if version != PROTOCOL_VERSION:
        raise ProtocolError(f"audio frame version {version} is not supported",
                            ErrorCode.UNSUPPORTED_VERSION)
    if flags & ~KNOWN_FLAGS:
        raise ProtocolError(f"unknown audio frame flags 0x{flags:02x}", ErrorCode.BAD_FRAME)
    return flags, talkgroup, stream, seq, timestamp


def decode_audio(data: bytes) -> AudioFrame:
    flags, talkgroup, stream, seq, timestamp = peek_header(data)
    return AudioFrame(talkgroup, stream, seq, timestamp, bytes(data[HEADER_SIZE:]), flags)


# --------------------------------------------------------------------------------------------
# Control messages
# --------------------------------------------------------------------------------------------

Ident = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
Text = Annotated[str, msgspec.Meta(max_length=200)]
E2E = Annotated[str, msgspec.Meta(max_length=MAX_E2E_BYTES)]
Ref = Annotated[int, msgspec.Meta(ge=0, le=2**53)]

FloorReason = Literal["preempted", "time_limit", "emergency", "released", "connection_lost",
                      "left", "disabled"]
Outcome = Literal["completed", "preempted", "timed_out", "connection_lost", "interrupted"]


class _Msg(msgspec.Struct, tag_field="type", forbid_unknown_fields=True, omit_defaults=True):
    """Client messages: strict, so a typo in a field is an error and not silently ignored."""


class _Out(msgspec.Struct, tag_field="type", omit_defaults=True):
    """Server messages: clients ignore fields they do not know, so servers can add some."""


# ---- client -> server ----------------------------------------------------------------------


Base64 = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]*$", max_length=512)]  # unpadded
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class Hello(_Msg, tag="hello"):
    """Sign in. On a network that requires it, ``device`` is the enrolled device id and
    ``auth`` its signature (base64url) over the connection's challenge nonce."""

    v: int
    member: Ident
    device: Ident
    auth: Base64 | None = None
    ref: Ref | None = None


class Enroll(_Msg, tag="enroll"):
    """Redeem a one-time code: register this device's public keys for ``member``.

    ``proof`` is the device's signature over the code and its keys: possession of the
    private key is shown before the server stores anything."""

    code: Code
    member: Ident
    sign_pub: Base64
    dh_pub: Base64
    proof: Base64
    label: Text = ""
    ref: Ref | None = None


class Join(_Msg, tag="join"):
    talkgroup: Ident
    ref: Ref | None = None


class Leave(_Msg, tag="leave"):
    talkgroup: Ident
    ref: Ref | None = None


class FloorRequest(_Msg, tag="floor_request"):
    """Press of the PTT key. ``e2e`` is forwarded untouched to listeners in ``talker_start``."""

    talkgroup: Ident
    emergency: bool = False
    e2e: E2E | None = None
    ref: Ref | None = None


class FloorRelease(_Msg, tag="floor_release"):
    talkgroup: Ident
    ref: Ref | None = None


class EmergencyClear(_Msg, tag="emergency_clear"):
    talkgroup: Ident
    ref: Ref | None = None


class DirectoryRequest(_Msg, tag="directory_request"):
    """Ask for the enrolled devices of a talkgroup's members (to seal keys or verify talkers),
    or of one ``member`` (to seal a direct message or check its sender)."""

    talkgroup: Ident = ""
    member: Ident | None = None
    ref: Ref | None = None


class SealedKeyInfo(msgspec.Struct, forbid_unknown_fields=True):
    device: Ident
    sealed: Base64
    sig: Base64


class PublishKeys(_Msg, tag="publish_keys"):
    """From a key keeper: a talkgroup key of ``epoch``, sealed to each listed device.

    Sent in batches (a message stays under the size limit); several batches may carry one
    epoch."""

    talkgroup: Ident
    epoch: Annotated[int, msgspec.Meta(ge=1, le=2**32 - 1)]
    keys: Annotated[list[SealedKeyInfo], msgspec.Meta(min_length=1, max_length=24)]
    ref: Ref | None = None


MessageId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
#: Longest text of a message, in characters (a sealed one is limited by its encoded size).
MAX_TEXT: Final = 1000


class SealedFor(msgspec.Struct, forbid_unknown_fields=True):
    """A direct message's content sealed to one of the recipient's devices."""

    device: Ident
    sealed: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]*$", max_length=1800)]


#: A direct message is sealed to at most this many devices of its recipient.
MAX_DIRECT_DEVICES: Final = 4


class MessageSend(_Msg, tag="message_send"):
    """A text or status message to a ``talkgroup``, or directly ``to`` one member; ``id`` is
    chosen by the sender (a retry with the same id is stored once). On a closed network the
    content travels only sealed: ``sealed`` under the talkgroup key, or, for a direct
    message, ``sealed_for`` each of the recipient's devices."""

    id: MessageId
    talkgroup: Ident | None = None
    to: Ident | None = None
    text: Annotated[str, msgspec.Meta(max_length=MAX_TEXT)] | None = None
    status: Ident | None = None
    sealed: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]*$", max_length=4096)] | None = None
    sealed_for: Annotated[list[SealedFor],
                          msgspec.Meta(min_length=1, max_length=MAX_DIRECT_DEVICES)] | None = None
    epoch: Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)] = 0
    ref: Ref | None = None


class Receipt(_Msg, tag="receipt"):
    """This member's device got (``delivered``) or showed (``read``) a message."""

    id: MessageId
    state: Literal["delivered", "read"]
    ref: Ref | None = None


class RollcallStart(_Msg, tag="rollcall_start"):
    """Poll a talkgroup: every other member is asked to answer within ``timeout`` seconds."""

    id: MessageId
    talkgroup: Ident
    timeout: Annotated[float, msgspec.Meta(ge=5, le=3600)] = 120.0
    ref: Ref | None = None


class RollcallAnswer(_Msg, tag="rollcall_answer"):
    id: MessageId
    ref: Ref | None = None


class Position(_Msg, tag="position"):
    """Where this device is. Only roles the roster allows (and the member) see it."""

    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    accuracy: Annotated[float, msgspec.Meta(ge=0, le=100_000)] = 0.0
    ref: Ref | None = None


class PositionsRequest(_Msg, tag="positions_request"):
    """Latest position of every member, or the track of one ``member`` since ``since``."""

    member: Ident | None = None
    since: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    ref: Ref | None = None


class OrderIssue(_Msg, tag="order_issue"):
    """An order to named members of a talkgroup, due in ``due_in`` seconds; each must answer
    "copy" within ``ack_within`` seconds or it is repeated and the operators alerted."""

    id: MessageId
    talkgroup: Ident
    to: Annotated[list[Ident], msgspec.Meta(min_length=1, max_length=50)]
    due_in: Annotated[float, msgspec.Meta(ge=60, le=14 * 86400)]
    ack_within: Annotated[float, msgspec.Meta(ge=5, le=86400)] = 600.0
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)] | None = None
    sealed: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]*$", max_length=4096)] | None = None
    epoch: Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)] = 0
    ref: Ref | None = None


class OrderAck(_Msg, tag="order_ack"):
    id: MessageId
    state: Literal["copied", "done"]
    ref: Ref | None = None


Note = Annotated[str, msgspec.Meta(max_length=500)]
Count = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
Lat = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Lon = Annotated[float, msgspec.Meta(ge=-180, le=180)]


class RelocationInfo(msgspec.Struct, forbid_unknown_fields=True):
    place: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    lat: Lat
    lon: Lon


class TpsReportSend(_Msg, tag="tps_report"):
    """A polling station's news: any of status, ballots cast, incidents, ballot logistics,
    relocation, a note. ``id`` is chosen by the reporter (a retry is stored once)."""

    id: MessageId
    tps: Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z._-]{1,64}$")]
    status: Ident | None = None
    ballots_cast: Count | None = None
    incidents: Annotated[list[Ident], msgspec.Meta(max_length=8)] = []
    logistics: Ident | None = None
    relocated_to: RelocationInfo | None = None
    note: Note | None = None
    ref: Ref | None = None


class FloodReportSend(_Msg, tag="flood_report"):
    """A flood report: an ``incident`` (first report: regency, lat/lon and title), a
    ``shelter``, a ``need`` (food, boats, medicine, ...) or a ``fulfilment`` of a need. Only
    the fields of that ``report`` kind may be given."""

    id: MessageId
    report: Literal["incident", "shelter", "need", "fulfilment"]
    incident: Ident | None = None
    shelter: Ident | None = None
    need: Ident | None = None
    regency: Ident | None = None
    lat: Lat | None = None
    lon: Lon | None = None
    title: Annotated[str, msgspec.Meta(max_length=120)] | None = None
    name: Annotated[str, msgspec.Meta(max_length=120)] | None = None
    status: Ident | None = None
    water_level_cm: Count | None = None
    affected: Count | None = None
    evacuated: Count | None = None
    capacity: Count | None = None
    occupants: Count | None = None
    kind: Ident | None = None
    quantity: Count | None = None
    unit: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    note: Note | None = None
    ref: Ref | None = None


class BoardRequest(_Msg, tag="board_request"):
    """The election or flood board: the province, or one ``regency`` (members with a region
    see their own)."""

    board: Literal["election", "flood"]
    regency: Ident | None = None
    ref: Ref | None = None


class SitrepRequest(_Msg, tag="sitrep_request"):
    """The situation report now, as Markdown (or PDF, base64url)."""

    format: Literal["markdown", "pdf"] = "markdown"
    lang: Literal["id", "en"] = "id"
    ref: Ref | None = None


class AlertPublish(_Msg, tag="alert_publish"):
    """A public notice (CAP 1.2 XML in Siaga's profile) signed by this device: the server
    checks the signature, the schema and that the member may publish it for that region,
    then adds it to the public feed."""

    xml: Annotated[str, msgspec.Meta(min_length=1, max_length=7000)]
    sig: Base64
    ref: Ref | None = None


class Ping(_Msg, tag="ping"):
    t: float = 0.0
    ref: Ref | None = None


ClientMessage = (
    Hello | Enroll | Join | Leave | FloorRequest | FloorRelease | EmergencyClear
    | DirectoryRequest | PublishKeys | MessageSend | Receipt | RollcallStart | RollcallAnswer
    | Position | PositionsRequest | OrderIssue | OrderAck | TpsReportSend | FloodReportSend
    | BoardRequest | SitrepRequest | AlertPublish | Ping
)


# ---- server -> client ----------------------------------------------------------------------


class TalkgroupInfo(msgspec.Struct, omit_defaults=True):
    id: str
    number: int
    name: str
    can_transmit: bool = True


class MemberInfo(msgspec.Struct, omit_defaults=True):
    id: str
    name: str
    role: str
    region: str = ""


class Challenge(_Out, tag="challenge"):
    """First message from the server: the nonce a device signs to sign in."""

    nonce: str
    auth: bool = False  # whether this network requires enrolled, signed-in devices
    v: int = PROTOCOL_VERSION


class Enrolled(_Out, tag="enrolled"):
    member: str
    device: str
    ref: Ref | None = None


class DeviceInfo(msgspec.Struct, omit_defaults=True):
    device: str
    member: str
    role: str
    sign_pub: str
    dh_pub: str


class Directory(_Out, tag="directory"):
    talkgroup: str  # empty when one ``member``'s devices were asked for
    devices: list[DeviceInfo]
    epoch: int = 0  # the talkgroup's newest key epoch (0: no key yet)
    member: str | None = None
    ref: Ref | None = None


class Keys(_Out, tag="keys"):
    """A group key sealed to this device, signed by the keeper that made it."""

    talkgroup: str
    epoch: int
    keeper: str  # the keeper's device id, which commits to both of its public keys
    keeper_sign: str
    keeper_dh: str
    sealed: str
    sig: str


class DeviceUpdate(_Out, tag="device_update"):
    """To admins' devices: a device was enrolled or revoked, so the key keeper can rotate the
    keys of the talkgroups its member is in."""

    device: str
    member: str
    revoked: bool
    talkgroups: list[str]


class MessageAccepted(_Out, tag="message_accepted"):
    """The message is stored: from now on it reaches every recipient, even after a crash."""

    id: str
    recipients: int
    stored_at: float
    ref: Ref | None = None


class Message(_Out, tag="message"):
    """A message for this member: on a ``talkgroup``, or (``talkgroup`` empty) sent ``to``
    this member directly."""

    id: str
    talkgroup: str
    sender: str
    sender_device: str
    sent_at: float
    text: str | None = None
    status: str | None = None
    sealed: str | None = None
    epoch: int = 0
    to: str | None = None
    sealed_for: list[SealedFor] | None = None


class ReceiptUpdate(_Out, tag="receipt_update"):
    """To the sender: a recipient's device got or showed the message."""

    id: str
    member: str
    state: str
    at: float


class Rollcall(_Out, tag="rollcall"):
    """To each member: please answer (one key, or just key up on the talkgroup)."""

    id: str
    talkgroup: str
    by: str
    started_at: float
    deadline: float


class RollcallEntry(msgspec.Struct):
    member: str
    seconds: float
    via: str


class RollcallBoard(_Out, tag="rollcall_board"):
    """Who answered, how fast, who is silent: live to the one who polled, and to everyone
    in the talkgroup when it closes."""

    id: str
    talkgroup: str
    by: str
    started_at: float
    deadline: float
    answered: list[RollcallEntry]
    silent: list[str]
    closed: bool = False
    ref: Ref | None = None


class PositionInfo(msgspec.Struct):
    member: str
    lat: float
    lon: float
    accuracy: float
    at: float


class PositionUpdate(_Out, tag="position_update"):
    member: str
    lat: float
    lon: float
    accuracy: float
    at: float


class Positions(_Out, tag="positions"):
    positions: list[PositionInfo]
    ref: Ref | None = None


class OrderMsg(_Out, tag="order"):
    """An order for this member (again, with ``repeat`` > 0, when it was not acknowledged)."""

    id: str
    talkgroup: str
    by: str
    to: list[str]
    sent_at: float
    due_at: float
    sender_device: str = ""
    text: str | None = None
    sealed: str | None = None
    epoch: int = 0
    repeat: int = 0


class OrderStatus(_Out, tag="order_status"):
    """To the issuer (and, on escalation, the operators): where an order stands."""

    id: str
    member: str
    state: Literal["issued", "copied", "done", "escalated"]
    at: float
    escalations: int = 0
    ref: Ref | None = None


class KeysPublished(_Out, tag="keys_published"):
    talkgroup: str
    epoch: int
    stored: int
    skipped: int = 0
    ref: Ref | None = None


class StatusInfo(msgspec.Struct):
    code: str
    text_id: str
    text_en: str


class Welcome(_Out, tag="welcome"):
    v: int
    session: int
    member: MemberInfo
    talkgroups: list[TalkgroupInfo]
    server_time: float
    status_codes: list[StatusInfo] = []
    ref: Ref | None = None


class Joined(_Out, tag="joined"):
    talkgroup: str
    number: int
    online: list[str]
    emergency: bool = False
    ref: Ref | None = None


class Left(_Out, tag="left"):
    talkgroup: str
    ref: Ref | None = None


class FloorGranted(_Out, tag="floor_granted"):
    talkgroup: str
    number: int
    stream: int
    priority: int
    limit_ms: int
    emergency: bool = False
    ref: Ref | None = None


class FloorQueued(_Out, tag="floor_queued"):
    talkgroup: str
    position: int
    ref: Ref | None = None


class FloorDenied(_Out, tag="floor_denied"):
    talkgroup: str
    code: str
    reason: str
    ref: Ref | None = None


class FloorRevoked(_Out, tag="floor_revoked"):
    """The server took the floor away; the talker must stop sending."""

    talkgroup: str
    stream: int
    reason: FloorReason


class FloorReleased(_Out, tag="floor_released"):
    talkgroup: str
    stream: int
    ref: Ref | None = None


class TalkerStart(_Out, tag="talker_start"):
    talkgroup: str
    number: int
    stream: int
    member: MemberInfo
    priority: int
    started_at: float
    emergency: bool = False
    late: bool = False
    e2e: str | None = None


class TalkerStop(_Out, tag="talker_stop"):
    talkgroup: str
    stream: int
    member: str
    outcome: Outcome


class Presence(_Out, tag="presence"):
    """Members whose first device came online or last device went offline, batched."""

    online: list[str] = []
    offline: list[str] = []


class Emergency(_Out, tag="emergency"):
    talkgroup: str
    member: str
    active: bool
    by: str = ""


class ReportAccepted(_Out, tag="report_accepted"):
    """A TPS or flood report is stored (and counts on the boards from now on)."""

    id: str
    stored_at: float
    ref: Ref | None = None


class Board(_Out, tag="board"):
    """A board as plain data (see ``siaga.election``/``siaga.flood`` ``*.to_dict()``)."""

    board: str
    data: dict[str, Any]
    ref: Ref | None = None


class BoardChanged(_Out, tag="board_changed"):
    """A report was stored: the ``board`` of ``regency`` changed (ask ``board_request``)."""

    board: str
    regency: str
    at: float


class SitrepMsg(_Out, tag="sitrep"):
    format: str
    content: str  # Markdown, or base64url PDF
    generated_at: float
    ref: Ref | None = None


class AlertNotice(_Out, tag="alert"):
    """A public notice was published (to everyone on the air, and answering
    ``alert_publish``): fetch it from ``url`` (``url`` + ``.sig``: its signature)."""

    id: str
    kind: str
    region: str
    headline: str
    sender: str
    url: str
    ref: Ref | None = None


class Error(_Out, tag="error"):
    code: str
    message: str
    ref: Ref | None = None


class Pong(_Out, tag="pong"):
    t: float = 0.0
    server_time: float = 0.0
    ref: Ref | None = None


ServerMessage = (
    Challenge | Enrolled | Directory | DeviceUpdate | Keys | KeysPublished | Message
    | MessageAccepted | ReceiptUpdate | Rollcall | RollcallBoard | PositionUpdate | Positions
    | OrderMsg | OrderStatus | ReportAccepted | Board | BoardChanged | SitrepMsg | AlertNotice
    | Welcome | Joined | Left
    | FloorGranted | FloorQueued | FloorDenied | FloorRevoked | FloorReleased | TalkerStart
    | TalkerStop | Presence | Emergency | Error | Pong
)

CLIENT_TYPES: Final = frozenset(str(m.__struct_config__.tag) for m in get_args(ClientMessage))
SERVER_TYPES: Final = frozenset(str(m.__struct_config__.tag) for m in get_args(ServerMessage))

_encoder = msgspec.json.Encoder()
_client_decoder = msgspec.json.Decoder(ClientMessage)
_server_decoder = msgspec.json.Decoder(ServerMessage)
_type_probe = msgspec.json.Decoder(dict[str, object])


def encode(message: msgspec.Struct) -> str:
    return _encoder.encode(message).decode()


def _decode(data: str | bytes, decoder: msgspec.json.Decoder[object],
            known: frozenset[str], limit: int) -> object:
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > limit:
        raise ProtocolError(f"control message of {len(raw)} bytes exceeds {limit}",
                            ErrorCode.TOO_LARGE)
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        _raise_unknown_type(raw, known)
        raise ProtocolError(_field_first(str(exc)), ErrorCode.BAD_MESSAGE) from exc
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"malformed JSON: {exc}", ErrorCode.BAD_MESSAGE) from exc


_AT = re.compile(r"^(?P<what>.*) - at `\$\.(?P<path>[^`]+)`$", re.S)
_NAMED = re.compile(r"^Object (?:contains )?(?P<kind>missing required field|unknown field) "
                    r"`(?P<field>[^`]+)`$")


def _field_first(problem: str) -> str:
    """msgspec says "Expected `int` >= 0 - at `$.ballots_cast`"; errors here start with the
    field, as the domain checks' do ("ballots_cast: expected `int` >= 0"), so a form can mark
    it."""
    match = _AT.match(problem)
    what, path = (match["what"], match["path"] + ".") if match else (problem, "")
    named = _NAMED.match(what)
    if named is not None:  # missing or unknown field: that field is the one to name
        return f"{path}{named['field']}: {named['kind']}"
    if not path:
        return f"invalid message: {problem}"
    return f"{path[:-1]}: {what[:1].lower()}{what[1:]}"


def _raise_unknown_type(raw: bytes, known: frozenset[str]) -> None:
    try:
        probe = _type_probe.decode(raw)
    except msgspec.MsgspecError:
        return
    kind = probe.get("type")
    if isinstance(kind, str) and kind not in known:
        raise ProtocolError(f"unknown message type {kind[:40]!r}", ErrorCode.UNKNOWN_TYPE)


def decode_client(data: str | bytes) -> ClientMessage:
    """Parse a message a client sent; raises :class:`ProtocolError` with a stable code."""
    return cast(ClientMessage, _decode(data, _client_decoder, CLIENT_TYPES, MAX_CONTROL_BYTES))


def salvage_ref(data: str | bytes) -> int | None:
    """The ``ref`` of a message that failed to decode, if it has a readable one: the error
    can then name the request it answers. Never raises."""
    if len(data) > MAX_CONTROL_BYTES:
        return None
    try:
        raw = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return None
    ref = raw.get("ref") if isinstance(raw, dict) else None
    return ref if isinstance(ref, int) and not isinstance(ref, bool) and 0 <= ref <= 2**53 \
        else None


def decode_server(data: str | bytes) -> ServerMessage:
    """Parse a message the server sent (used by clients)."""
    return cast(ServerMessage, _decode(data, _server_decoder, SERVER_TYPES, MAX_SERVER_BYTES))


__all__ = [
    "FLAG_END",
    "FLAG_SEALED",
    "HEADER_SIZE",
    "MAX_AUDIO_FRAME",
    "MAX_AUDIO_PAYLOAD",
    "MAX_CONTROL_BYTES",
    "MAX_DIRECT_DEVICES",
    "MAX_SERVER_BYTES",
    "MAX_TEXT",
    "PROTOCOL_VERSION",
    "SUBPROTOCOL",
    "AlertNotice",
    "AlertPublish",
    "AudioFrame",
    "Board",
    "BoardChanged",
    "BoardRequest",
    "Challenge",
    "ClientMessage",
    "DeviceInfo",
    "DeviceUpdate",
    "Directory",
    "DirectoryRequest",
    "Emergency",
    "EmergencyClear",
    "Enroll",
    "Enrolled",
    "Error",
    "FloodReportSend",
    "FloorDenied",
    "FloorGranted",
    "FloorQueued",
    "FloorRelease",
    "FloorReleased",
    "FloorRequest",
    "FloorRevoked",
    "Hello",
    "Join",
    "Joined",
    "Keys",
    "KeysPublished",
    "Leave",
    "Left",
    "MemberInfo",
    "Message",
    "MessageAccepted",
    "MessageId",
    "MessageSend",
    "OrderAck",
    "OrderIssue",
    "OrderMsg",
    "OrderStatus",
    "Ping",
    "Pong",
    "Position",
    "PositionInfo",
    "PositionUpdate",
    "Positions",
    "PositionsRequest",
    "Presence",
    "PublishKeys",
    "Receipt",
    "ReceiptUpdate",
    "RelocationInfo",
    "ReportAccepted",
    "Rollcall",
    "RollcallAnswer",
    "RollcallBoard",
    "RollcallEntry",
    "RollcallStart",
    "SealedFor",
    "SealedKeyInfo",
    "ServerMessage",
    "SitrepMsg",
    "SitrepRequest",
    "StatusInfo",
    "TalkerStart",
    "TalkerStop",
    "TalkgroupInfo",
    "TpsReportSend",
    "Welcome",
    "decode_audio",
    "decode_client",
    "decode_server",
    "encode",
    "peek_header",
    "salvage_ref",
]
