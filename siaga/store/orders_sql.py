"""Orders and each recipient's state, so open orders (and their escalation clocks) survive a
restart and offline recipients get them at sign-in."""

from __future__ import annotations

import threading

from sqlalchemy import (
    Double,
    Engine,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from ..errors import StoreError
from ..orders import Order, Recipient
from .sql import Base


class OrderRow(Base):
    """Mirrors migration 0008."""

    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    talkgroup: Mapped[str] = mapped_column(String(64))
    by: Mapped[str] = mapped_column(String(64))
    sender_device: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[float] = mapped_column(Double)
    due_at: Mapped[float] = mapped_column(Double)
    ack_within: Mapped[float] = mapped_column(Double)
    text: Mapped[str | None] = mapped_column(Text)
    sealed: Mapped[str | None] = mapped_column(Text)
    epoch: Mapped[int] = mapped_column(Integer)


class OrderRecipientRow(Base):
    __tablename__ = "order_recipients"
    __table_args__ = (PrimaryKeyConstraint("order_id", "member", name="pk_order_recipients"),)

    order_id: Mapped[str] = mapped_column(String(64))
    member: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    copied_at: Mapped[float | None] = mapped_column(Double)
    done_at: Mapped[float | None] = mapped_column(Double)
    escalations: Mapped[int] = mapped_column(Integer)


_ORD: Table = OrderRow.__table__  # type: ignore[assignment]
_REC: Table = OrderRecipientRow.__table__  # type: ignore[assignment]


class OrderStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()

    def add(self, order: Order) -> bool:
        """Store an order with its recipients; False for a retry of a stored one."""
        with self._lock:
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(_ORD).values(
                        id=order.id, talkgroup=order.talkgroup, by=order.by,
                        sender_device=order.sender_device, sent_at=order.sent_at,
                        due_at=order.due_at, ack_within=order.ack_within, text=order.text,
                        sealed=order.sealed, epoch=order.epoch))
                    conn.execute(insert(_REC), [
                        {"order_id": order.id, "member": r.member, "state": r.state,
                         "copied_at": None, "done_at": None, "escalations": 0}
                        for r in order.recipients.values()])
                    return True
            except IntegrityError:
                return False
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot store order {order.id}: {exc}") from exc

    def set_state(self, order_id: str, member: str, state: str, at: float,
                  escalations: int) -> None:
        values: dict[str, object] = {"state": state, "escalations": escalations}
        if state == "copied":
            values["copied_at"] = at
        elif state == "done":
            values["done_at"] = at
        with self._lock:
            try:
                with self.engine.begin() as conn:
                    conn.execute(update(_REC).where(_REC.c.order_id == order_id,
                                                    _REC.c.member == member).values(**values))
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot update order {order_id}: {exc}") from exc

    def open_orders(self, member: str | None = None,
                    states: tuple[str, ...] = ("issued", "copied")) -> list[Order]:
        """Orders with a recipient in ``states`` (``member``'s, or anyone's), oldest first."""
        query = select(_REC.c.order_id).where(_REC.c.state.in_(states))
        if member is not None:
            query = query.where(_REC.c.member == member)
        with self._lock:
            try:
                with self.engine.connect() as conn:
                    ids = {r[0] for r in conn.execute(query)}
                    rows = conn.execute(select(_ORD).where(_ORD.c.id.in_(ids))
                                        .order_by(_ORD.c.sent_at)).all()
                    recipients = conn.execute(select(_REC).where(
                        _REC.c.order_id.in_(ids))).all()
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot read orders: {exc}") from exc
        orders = {r.id: Order(r.id, r.talkgroup, r.by, r.sent_at, r.due_at, r.ack_within,
                              r.text, r.sealed, r.epoch, r.sender_device) for r in rows}
        for r in recipients:
            orders[r.order_id].recipients[r.member] = Recipient(
                r.member, r.state, r.copied_at, r.done_at, r.escalations)
        return list(orders.values())


__all__ = ["OrderRecipientRow", "OrderRow", "OrderStore"]
