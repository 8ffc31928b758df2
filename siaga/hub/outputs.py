"""What the hub asks its environment to do: send, close, record, store, load."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..alerts.signing import SignedAlert
from ..election import TpsReport
from ..flood import FloodReport
from ..floor import (
    Outcome,
)
from ..identity import (
    DeviceRecord,
    SealedKey,
)
from ..messages import ReceiptRecord, StoredMessage
from ..orders import Order
from ..positions import Fix
from ..rollcall import RollCall
from ..sitrep import Sitrep
from ..wire import AlertNotice

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


@dataclass(frozen=True, slots=True)
class StoreReport:
    """Persist an election (``kind`` "tps") or flood report, then report back with
    :meth:`Hub.report_stored`: a report counts on the boards once it is durable."""

    kind: str
    report: TpsReport | FloodReport
    regency: str
    incident: str | None
    conn: int
    ref: int | None


@dataclass(frozen=True, slots=True)
class RenderSitrep:
    """Render ``sitrep`` (slow for a PDF: the adapter does it off the event loop), then send
    it with :meth:`Hub.sitrep_rendered`."""

    sitrep: Sitrep
    format: str
    lang: str
    conn: int
    ref: int | None


@dataclass(frozen=True, slots=True)
class StoreAlert:
    """Add a verified public notice to the archive and the feed, then report back with
    :meth:`Hub.alert_stored` (announced only once it is served)."""

    signed: SignedAlert
    notice: AlertNotice
    conn: int
    ref: int | None


Output = (Send | Close | RecordStart | RecordEnd | Redeem | Audit | StoreKeys | LoadKeys
          | StoreMessage | StoreReceipt | LoadMessages | StoreRollcall | StorePosition
          | LoadPositions | StoreOrder | StoreOrderState | StoreReport | RenderSitrep
          | StoreAlert)

