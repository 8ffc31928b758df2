"""The state shared by the hub's parts, and the helpers they all use."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Set as AbstractSet

import msgspec

from .. import wire
from ..election import TpsRegistry, TpsReport
from ..errors import (
    ErrorCode,
    LocalProtocolError,
    Refused,
    SiagaError,
)
from ..flood import FloodState
from ..floor import (
    Floor,
)
from ..identity import (
    DeviceDirectory,
    FailureLimiter,
)
from ..orders import OrderBook
from ..rollcall import RollCall
from ..roster import Member, Role, Roster, Talkgroup
from ..sitrep import EmergencyRow
from .outputs import (
    Close,
    Output,
    Send,
)
from .state import (
    CLOSE_POLICY,
    MAX_STRIKES,
    PRESENCE_BATCH,
    Session,
    Stats,
    _Group,
    _Stream,
)

#: How many recent emergencies the hub remembers for situation reports.
RECENT_EMERGENCIES = 50


class HubBase:
    """State shared by the hub's parts, and the helpers they all use."""

    def __init__(self, roster: Roster, devices: DeviceDirectory | None = None,
                 tps: TpsRegistry | None = None) -> None:
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
        # Election and flood operations: the adapter restores the stored reports at start.
        self.tps = tps if tps is not None else TpsRegistry()
        self.tps_reports: list[TpsReport] = []
        self._tps_seen: set[str] = set()
        self.flood = FloodState()
        #: The last closed roll call of each talkgroup (its silent stations go in a sitrep).
        self.last_rollcalls: dict[str, RollCall] = {}
        #: Emergencies raised lately, newest last (for the sitrep).
        self.emergencies: deque[EmergencyRow] = deque(maxlen=RECENT_EMERGENCIES)

    def _next_stream(self) -> int:
        return next(self._stream_ids) & wire.U32 or next(self._stream_ids)


    def _presence_changed(self, member_id: str, online: bool, now: float) -> None:
        self._presence[member_id] = online
        if self._presence_due is None:
            self._presence_due = now + PRESENCE_BATCH


    def _conns_of(self, members: AbstractSet[str]) -> tuple[int, ...]:
        """The signed-in connections of these members (all their devices)."""
        return tuple(c for c, s in self.sessions.items()
                     if s.on_air and s.member is not None and s.member.id in members)

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

    def _direct_peer(self, member: Member, peer_id: str) -> Member:
        """The member ``peer_id``, if ``member`` may deal with it one to one: they share a
        talkgroup (admins and auditors, who keep the network, reach anyone)."""
        peer = self.roster.members.get(peer_id)
        if peer is None:
            raise Refused(f"to: no member {peer_id!r} on this network", ErrorCode.INVALID_FIELD)
        if peer.id == member.id:
            raise Refused("to: that is you", ErrorCode.INVALID_FIELD)
        if member.role not in (Role.ADMIN, Role.AUDITOR) and not any(
                member.id in tg.members and peer.id in tg.members
                for tg in self.roster.talkgroups.values()):
            raise Refused(f"{member.name} shares no talkgroup with {peer.name}",
                          ErrorCode.NOT_MEMBER)
        return peer

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


    def _strike(self, session: Session, code: ErrorCode, message: str,
                ref: int | None = None) -> list[Output]:
        session.strikes += 1
        out: list[Output] = [self._error(session.conn, code, message, ref)]
        if session.strikes >= MAX_STRIKES:
            out.append(Close(session.conn, CLOSE_POLICY, "too many refused requests"))
        return out

    def _note_emergency(self, talkgroup: str, raised_by: str, at: float) -> None:
        self.emergencies.append(EmergencyRow(talkgroup, raised_by, at))

    def _note_emergency_cleared(self, talkgroup: str, cleared_by: str, at: float) -> None:
        for row in reversed(self.emergencies):
            if row.talkgroup == talkgroup and row.cleared_at is None:
                row.cleared_at, row.cleared_by = at, cleared_by
                return

    # ---- provided by other parts of the hub --------------------------------------------------

    def disconnect(self, conn: int, now: float) -> list[Output]:
        raise NotImplementedError

    def _rollcall_progress(self, rc: RollCall, now: float) -> list[Output]:
        raise NotImplementedError

