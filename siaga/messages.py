"""Text and status messages: the value types the hub, the store and the client share.

Delivery is at least once on the wire (a recipient's device acknowledges each message with a
``delivered`` receipt; until then the server resends it at every sign-in) and exactly once on
screen (devices drop an id they have already shown).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: How long a sender is reminded of receipts at sign-in (one week, like 1:1 messages in Zello).
RECEIPT_HISTORY: Final = 7 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: str
    talkgroup: str
    sender: str
    sender_device: str
    sent_at: float
    text: str | None = None
    status: str | None = None
    sealed: str | None = None
    epoch: int = 0
    #: A direct message: its one recipient (``talkgroup`` is then empty) and its content
    #: sealed per recipient device, as ``(device, sealed)`` pairs.
    to: str | None = None
    sealed_for: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ReceiptRecord:
    id: str
    member: str
    state: str
    at: float


__all__ = ["RECEIPT_HISTORY", "ReceiptRecord", "StoredMessage"]
