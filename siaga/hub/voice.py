"""Voice: joining talkgroups, the floor, and audio routing (the hot path)."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from .. import wire
from ..errors import (
    ErrorCode,
    ProtocolError,
    Refused,
)
from ..floor import (
    Denied,
    EmergencyCleared,
    EmergencyRaised,
    Ended,
    FloorEvent,
    Granted,
    Queued,
    Revoked,
)
from .base import HubBase
from .outputs import (
    Audit,
    Output,
    RecordEnd,
    RecordStart,
    Send,
)
from .state import (
    NOT_HOLDER_ERROR_INTERVAL,
    Session,
    _Group,
    _Stream,
)


class Voice(HubBase):
    """Talkgroups, floors and the audio path."""

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
                self._note_emergency(tg.name, self._member_of(ev.party).name, now)
                out.append(Send(self._member_conns(tg), wire.encode(wire.Emergency(
                    talkgroup=tg.id, member=group.emergency_member, active=True))))
            elif isinstance(ev, EmergencyCleared):
                out.append(Audit("emergency_cleared", now, actor=self._member_of(ev.by).id,
                                 subject=tg.id, detail={"raised_by": group.emergency_member}))
                self._note_emergency_cleared(tg.name, self._member_of(ev.by).name, now)
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

