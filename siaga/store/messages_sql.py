"""Messages and their per-recipient delivery state: the store-and-forward queue.

A message is stored with one delivery row per recipient in one transaction *before* the sender
is told it was accepted, so an acknowledged message survives ``kill -9``. A recipient who was
offline gets every undelivered message on its next sign-in, oldest first.
"""

from __future__ import annotations

import threading
from typing import Any

import msgspec
from sqlalchemy import (
    ColumnElement,
    Double,
    Engine,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    and_,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from ..errors import StoreError
from ..messages import ReceiptRecord, StoredMessage
from .sql import Base


class MessageRow(Base):
    """Mirrors migration 0005."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_sender_sent_at", "sender", "sent_at"),
                      Index("ix_messages_to_member_sent_at", "to_member", "sent_at"))

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    talkgroup: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(64))
    sender_device: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[float] = mapped_column(Double)
    text: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(64))
    sealed: Mapped[str | None] = mapped_column(Text)
    epoch: Mapped[int] = mapped_column(Integer)
    to_member: Mapped[str | None] = mapped_column(String(64))  # a direct message (0010)
    sealed_for: Mapped[str | None] = mapped_column(Text)  # JSON [[device, sealed], ...]


class DeliveryRow(Base):
    __tablename__ = "deliveries"
    __table_args__ = (PrimaryKeyConstraint("message_id", "recipient", name="pk_deliveries"),
                      Index("ix_deliveries_recipient_delivered_at", "recipient", "delivered_at"))

    message_id: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(64))
    delivered_at: Mapped[float | None] = mapped_column(Double)
    read_at: Mapped[float | None] = mapped_column(Double)


_MSG: Table = MessageRow.__table__  # type: ignore[assignment]
_DEL: Table = DeliveryRow.__table__  # type: ignore[assignment]


class MessageStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()

    def add(self, message: StoredMessage, recipients: list[str]) -> bool:
        """Store a message and its delivery rows, atomically. False if the id was already
        stored (a sender's retry): the message is not duplicated."""
        with self._lock:
            try:
                with self.engine.begin() as conn:
                    # The insert comes first: no read before the write (see keys_sql). The
                    # unique id turns a retried message into an IntegrityError, not a copy.
                    conn.execute(insert(_MSG).values(
                        id=message.id, talkgroup=message.talkgroup, sender=message.sender,
                        sender_device=message.sender_device, sent_at=message.sent_at,
                        text=message.text, status=message.status, sealed=message.sealed,
                        epoch=message.epoch, to_member=message.to,
                        sealed_for=(msgspec.json.encode(message.sealed_for).decode()
                                    if message.sealed_for else None)))
                    if recipients:
                        conn.execute(insert(_DEL), [
                            {"message_id": message.id, "recipient": r, "delivered_at": None,
                             "read_at": None} for r in recipients])
                    return True
            except IntegrityError:
                return False
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot store message {message.id}: {exc}") from exc

    def pending(self, member: str) -> list[StoredMessage]:
        """Messages this member has not yet received, in the order they were stored."""
        stmt = (select(_MSG).join(_DEL, _DEL.c.message_id == _MSG.c.id)
                .where(_DEL.c.recipient == member, _DEL.c.delivered_at.is_(None))
                .order_by(_MSG.c.seq))
        with self._lock:
            try:
                with self.engine.connect() as conn:
                    return [_message(r) for r in conn.execute(stmt)]
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot read messages for {member}: {exc}") from exc

    def recent(self, talkgroups: list[str], since: float = 0.0, limit: int = 100,
               member: str | None = None) -> list[StoredMessage]:
        """Messages of these talkgroups (and, with ``member``, its direct messages both ways)
        sent after ``since``, oldest first: a reader's history. Delivery rows are not touched:
        showing is the client's receipt to send."""
        which: ColumnElement[bool] = _MSG.c.talkgroup.in_(talkgroups)
        if member is not None:
            which = or_(which, _MSG.c.to_member == member,
                        and_(_MSG.c.to_member.is_not(None), _MSG.c.sender == member))
        stmt = (select(_MSG).where(which, _MSG.c.sent_at > since)
                .order_by(_MSG.c.seq.desc()).limit(limit))
        with self._lock:
            try:
                with self.engine.connect() as conn:
                    rows = conn.execute(stmt).all()
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot read messages: {exc}") from exc
        return [_message(r) for r in reversed(rows)]

    def mark(self, message_id: str, member: str, state: str, at: float) -> str | None:
        """Record a receipt; returns the message's sender, or None when nothing changed
        (unknown message, not a recipient, or already in that state)."""
        column = _DEL.c.delivered_at if state == "delivered" else _DEL.c.read_at
        values = {"delivered_at": at} if state == "delivered" else {"read_at": at}
        stmt = (update(_DEL).where(_DEL.c.message_id == message_id, _DEL.c.recipient == member,
                                   column.is_(None)).values(**values))
        with self._lock:
            try:
                with self.engine.begin() as conn:
                    if conn.execute(stmt).rowcount != 1:
                        return None
                    if state == "read":  # reading implies delivery
                        conn.execute(update(_DEL).where(
                            _DEL.c.message_id == message_id, _DEL.c.recipient == member,
                            _DEL.c.delivered_at.is_(None)).values(delivered_at=at))
                    sender = conn.execute(select(_MSG.c.sender).where(
                        _MSG.c.id == message_id)).scalar_one_or_none()
                    return str(sender) if sender is not None else None
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot record a receipt for {message_id}: {exc}") from exc

    def receipts(self, sender: str, since: float) -> list[ReceiptRecord]:
        """Receipts of the messages ``sender`` sent since ``since``, for its next sign-in."""
        stmt = (select(_DEL.c.message_id, _DEL.c.recipient, _DEL.c.delivered_at, _DEL.c.read_at)
                .join(_MSG, _DEL.c.message_id == _MSG.c.id)
                .where(_MSG.c.sender == sender, _MSG.c.sent_at >= since)
                .order_by(_MSG.c.seq))
        out: list[ReceiptRecord] = []
        with self._lock:
            try:
                with self.engine.connect() as conn:
                    for mid, who, delivered, read in conn.execute(stmt):
                        if delivered is not None:
                            out.append(ReceiptRecord(mid, who, "delivered", delivered))
                        if read is not None:
                            out.append(ReceiptRecord(mid, who, "read", read))
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot read receipts of {sender}: {exc}") from exc
        return out


def _message(r: Any) -> StoredMessage:
    sealed_for = tuple((d, b) for d, b in msgspec.json.decode(r.sealed_for)) if r.sealed_for else ()
    return StoredMessage(r.id, r.talkgroup, r.sender, r.sender_device, r.sent_at, r.text,
                         r.status, r.sealed, r.epoch, r.to_member, sealed_for)


__all__ = ["DeliveryRow", "MessageRow", "MessageStore"]
