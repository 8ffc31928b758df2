"""Orders that must be acknowledged: issued to named members, each of whom must answer "copy"
and later "done"; silence is escalated (the order repeated, the operators alerted).

Sans-I/O: the book holds open orders and says when the next escalation is due; the hub feeds
it acknowledgements and the time, the store keeps it across restarts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

State = Literal["issued", "copied", "done"]
#: An unacknowledged order is repeated at most this many times.
MAX_ESCALATIONS: Final = 3


@dataclass(slots=True)
class Recipient:
    member: str
    state: State = "issued"
    copied_at: float | None = None
    done_at: float | None = None
    escalations: int = 0


@dataclass(slots=True)
class Order:
    id: str
    talkgroup: str
    by: str
    sent_at: float
    due_at: float
    ack_within: float
    text: str | None = None
    sealed: str | None = None
    epoch: int = 0
    sender_device: str = ""
    recipients: dict[str, Recipient] = field(default_factory=dict)

    def next_escalation(self, member: str) -> float | None:
        r = self.recipients[member]
        if r.state != "issued" or r.escalations >= MAX_ESCALATIONS:
            return None
        return self.sent_at + self.ack_within * (r.escalations + 1)

    @property
    def open(self) -> bool:
        return any(r.state != "done" for r in self.recipients.values())


@dataclass(frozen=True, slots=True)
class Escalation:
    order: Order
    member: str
    level: int  # 1 for the first repeat


class OrderBook:
    """The open orders of the network."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}

    def add(self, order: Order) -> None:
        self.orders[order.id] = order

    def acknowledge(self, order_id: str, member: str, state: State,
                    at: float) -> Recipient | None:
        """Record "copy" or "done" (done implies copy); None if nothing changed."""
        order = self.orders.get(order_id)
        if order is None or member not in order.recipients:
            return None
        r = order.recipients[member]
        rank = {"issued": 0, "copied": 1, "done": 2}
        if rank[state] <= rank[r.state]:
            return None
        if r.copied_at is None:
            r.copied_at = at
        if state == "done":
            r.done_at = at
        r.state = state
        if not order.open:
            del self.orders[order_id]
        return r

    def next_deadline(self) -> float | None:
        times = [t for o in self.orders.values() for m in o.recipients
                 if (t := o.next_escalation(m)) is not None]
        return min(times, default=None)

    def due(self, now: float) -> list[Escalation]:
        """Every escalation whose time has come; each is counted as it is returned."""
        out = []
        for order in self.orders.values():
            for member, r in order.recipients.items():
                when = order.next_escalation(member)
                if when is not None and when <= now:
                    r.escalations += 1
                    out.append(Escalation(order, member, r.escalations))
        return out


__all__ = ["MAX_ESCALATIONS", "Escalation", "Order", "OrderBook", "Recipient", "State"]
