"""Signing in and enrolling devices; the device directory and revocation."""

from __future__ import annotations

from .. import wire
from ..crypto import DevicePublic, b64d, verify_enroll, verify_login
from ..errors import (
    CryptoError,
    ErrorCode,
    ProtocolError,
    Refused,
)
from ..identity import (
    DeviceRecord,
    code_hash,
    normalize_code,
)
from ..roster import Member, Role
from .base import HubBase
from .outputs import (
    Audit,
    Close,
    LoadKeys,
    LoadMessages,
    Output,
    Redeem,
    Send,
)
from .state import (
    CLOSE_POLICY,
    Session,
)


class SignIn(HubBase):
    """Hello, enrollment and the device directory."""

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

