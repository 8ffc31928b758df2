"""Coordination: messages with receipts, orders, positions, roll calls."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from .. import wire
from ..errors import (
    ErrorCode,
    ProtocolError,
    Refused,
)
from ..messages import ReceiptRecord, StoredMessage
from ..orders import Escalation, Order, Recipient
from ..positions import Fix
from ..rollcall import RollCall
from ..roster import Role
from .base import HubBase
from .outputs import (
    LoadPositions,
    Output,
    Send,
    StoreMessage,
    StoreOrder,
    StoreOrderState,
    StorePosition,
    StoreReceipt,
    StoreRollcall,
)
from .state import (
    Session,
)

#: Who may issue orders.
ORDER_ROLES = frozenset({Role.GOVERNOR, Role.STAFF, Role.BPBD, Role.ADMIN})

#: A device's position reports closer together than this are dropped (not an error).
POSITION_INTERVAL: Final = 1.0

#: Who may poll a talkgroup (radio check / absensi).
ROLLCALL_ROLES = frozenset({Role.GOVERNOR, Role.STAFF, Role.BPBD, Role.ADMIN})



class Coordination(HubBase):
    """Messages, orders, positions and roll calls."""

    # ---- messages: stored before they are acknowledged, forwarded until received ---------------

    def _message_send(self, session: Session, msg: wire.MessageSend,
                      now: float) -> list[Output]:
        assert session.member is not None
        if (msg.talkgroup is None) == (msg.to is None):
            raise ProtocolError("a message goes to a talkgroup or to one member: give "
                                "'talkgroup' or 'to'", ErrorCode.BAD_MESSAGE)
        if msg.to is not None:
            return self._direct_send(session, msg, now)
        assert msg.talkgroup is not None
        group = self._member_group(session, msg.talkgroup)
        if msg.sealed_for is not None:
            raise ProtocolError("sealed_for: only for direct messages; a talkgroup message "
                                "is sealed under the talkgroup key", ErrorCode.BAD_MESSAGE)
        plain = msg.text is not None or msg.status is not None
        if plain == (msg.sealed is not None):
            raise ProtocolError("a message has either text/status or sealed content",
                                ErrorCode.BAD_MESSAGE)
        if self.devices is not None and plain:
            raise Refused("this network carries messages end-to-end sealed only",
                          ErrorCode.NOT_ALLOWED)
        self._check_content(msg)
        stored = StoredMessage(id=msg.id, talkgroup=group.tg.id, sender=session.member.id,
                               sender_device=session.device, sent_at=now, text=msg.text,
                               status=msg.status, sealed=msg.sealed, epoch=msg.epoch)
        recipients = tuple(sorted(group.tg.members - {session.member.id}))
        return [StoreMessage(stored, recipients, session.conn, msg.ref)]

    def _check_content(self, msg: wire.MessageSend) -> None:
        if msg.status is not None and msg.status not in self.roster.status_codes:
            raise Refused(f"status: unknown code {msg.status!r}; one of "
                          f"{', '.join(self.roster.status_codes)}", ErrorCode.BAD_MESSAGE)
        if msg.text is not None and not msg.text.strip():
            raise Refused("text: empty", ErrorCode.BAD_MESSAGE)

    def _direct_send(self, session: Session, msg: wire.MessageSend,
                     now: float) -> list[Output]:
        """One member to another: they must share a talkgroup; on a closed network the
        content is sealed to each of the recipient's enrolled devices."""
        assert session.member is not None and msg.to is not None
        to = self._direct_peer(session.member, msg.to)
        if msg.sealed is not None:
            raise ProtocolError("sealed: a direct message is sealed_for the recipient's "
                                "devices", ErrorCode.BAD_MESSAGE)
        plain = msg.text is not None or msg.status is not None
        if plain == (msg.sealed_for is not None):
            raise ProtocolError("a message has either text/status or sealed content",
                                ErrorCode.BAD_MESSAGE)
        if self.devices is not None and plain:
            raise Refused("this network carries messages end-to-end sealed only",
                          ErrorCode.NOT_ALLOWED)
        sealed_for = tuple((s.device, s.sealed) for s in msg.sealed_for or ())
        if len({d for d, _ in sealed_for}) != len(sealed_for):
            raise Refused("sealed_for: a device is listed twice", ErrorCode.INVALID_FIELD)
        if self.devices is not None:
            mine = {d.device_id for d in self.devices.devices.values()
                    if d.member == to.id and not d.revoked}
            for device, _ in sealed_for:
                if device not in mine:
                    raise Refused(f"sealed_for: {device} is not an enrolled device of "
                                  f"{to.name}", ErrorCode.NOT_MEMBER)
        self._check_content(msg)
        stored = StoredMessage(id=msg.id, talkgroup="", sender=session.member.id,
                               sender_device=session.device, sent_at=now, text=msg.text,
                               status=msg.status, to=to.id, sealed_for=sealed_for)
        return [StoreMessage(stored, (to.id,), session.conn, msg.ref)]

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
                out.append(Send(to, wire.encode(self.message_of(store.message))))
        return out

    def deliver_pending(self, conn: int, messages: Iterable[StoredMessage],
                        receipts: Iterable[ReceiptRecord]) -> list[Output]:
        """At sign-in: what arrived while the member was away, oldest first, and the receipts
        of what it sent."""
        if conn not in self.sessions:
            return []
        out: list[Output] = [self._send(conn, self.message_of(m)) for m in messages]
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
    def message_of(m: StoredMessage) -> wire.Message:
        return wire.Message(id=m.id, talkgroup=m.talkgroup, sender=m.sender,
                            sender_device=m.sender_device, sent_at=m.sent_at, text=m.text,
                            status=m.status, sealed=m.sealed, epoch=m.epoch, to=m.to,
                            sealed_for=[wire.SealedFor(device=d, sealed=b)
                                        for d, b in m.sealed_for] or None)

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
                self._send(session.conn, self.board_of(rc, now, ref=msg.ref))]

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
        return [Send(to, wire.encode(self.board_of(rc, now)))] if to else []

    def _close_rollcall(self, rc: RollCall, now: float) -> list[Output]:
        rc.close(now)
        del self._rollcalls[rc.talkgroup]
        self.last_rollcalls[rc.talkgroup] = rc
        tg = self.roster.talkgroups[rc.talkgroup]
        return [Send(self._member_conns(tg), wire.encode(self.board_of(rc, now))),
                StoreRollcall(rc)]

    @staticmethod
    def board_of(rc: RollCall, now: float, ref: int | None = None) -> wire.RollcallBoard:
        answered = [wire.RollcallEntry(member=a.member,
                                       seconds=round(a.seconds_after(rc.started_at), 3),
                                       via=a.via)
                    for a in sorted(rc.answers.values(), key=lambda a: a.at)]
        return wire.RollcallBoard(id=rc.id, talkgroup=rc.talkgroup, by=rc.by,
                                  started_at=rc.started_at, deadline=rc.deadline,
                                  answered=answered, silent=rc.silent(), closed=rc.closed,
                                  ref=ref)

