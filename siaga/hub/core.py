"""The server's brain: sessions, talkgroups, floors and audio routing, without any I/O.

The asyncio server (``siaga.server``) owns sockets, files and the clock; it feeds the hub what
arrived and carries out what the hub returns. Control messages in, :data:`Output` values out:

* :class:`Send` — a control message (already JSON) for some connections;
* :class:`Close` — drop one connection with a WebSocket close code;
* :class:`RecordStart` / :class:`RecordEnd` — open and close a transmission's recording;
* :class:`Redeem` — ask the environment to redeem an enrollment code (a database write), whose
  answer comes back through :meth:`Hub.enroll_result`;
* :class:`Audit` — an event for the tamper-evident audit log;
* :class:`StoreKeys` / :class:`LoadKeys` — persist sealed group keys a key keeper published, and
  fetch a device's sealed keys when it signs in (answered through :meth:`Hub.deliver_keys`).

A hub built with a :class:`~siaga.identity.DeviceDirectory` is a closed network: a device signs
in by signing the per-connection challenge nonce with its enrolled key. Without one, it is an
open lab network where ``hello`` names any roster member (tests, benchmarks, local drills).

Audio takes a faster path: :meth:`Hub.route_audio` returns just the stream and the connections
to forward the very same bytes to, so relaying a frame allocates nothing but a tuple lookup.

Any malformed or forbidden input from one connection produces an ``error`` message (or closes
that connection) and leaves every other session untouched; it never raises into the caller."""

from __future__ import annotations

from .. import wire
from ..crypto import b64e
from ..errors import (
    ErrorCode,
    ProtocolError,
    Refused,
)
from .coordination import Coordination
from .keys import Keys
from .operations import Operations
from .outputs import (
    Close,
    Output,
)
from .signin import SignIn
from .state import (
    AUDIO_BURST,
    AUDIO_RATE,
    CLOSE_GOING_AWAY,
    CLOSE_PROTOCOL_ERROR,
    CONTROL_BURST,
    CONTROL_RATE,
    Session,
    _Bucket,
)
from .voice import Voice


class Hub(SignIn, Voice, Keys, Coordination, Operations):
    """All server state for one network; one instance per server process."""

    # ---- connection lifecycle ---------------------------------------------------------------

    def connect(self, conn: int, now: float, *, nonce: bytes = b"",
                peer: str = "", api: bool = False) -> list[Output]:
        """A socket (or, ``api``, an HTTP API sign-in) opened; ``nonce`` (fresh random bytes)
        is what its device must sign."""
        self.sessions[conn] = Session(conn, _Bucket(CONTROL_BURST, CONTROL_RATE, now),
                                      _Bucket(AUDIO_BURST, AUDIO_RATE, now),
                                      nonce=nonce, peer=peer, api=api)
        return [self._send(conn, wire.Challenge(nonce=b64e(nonce),
                                                auth=self.devices is not None))]

    def disconnect(self, conn: int, now: float) -> list[Output]:
        session = self.sessions.pop(conn, None)
        if session is None:
            return []
        out: list[Output] = []
        for tg_id in sorted(session.joined):
            out += self._leave_group(session, self._groups[tg_id], now)
        member = session.member
        if member is not None and not session.api:
            if self._devices.get((member.id, session.device)) == conn:
                del self._devices[(member.id, session.device)]
            left = self._member_sessions[member.id] - 1
            if left:
                self._member_sessions[member.id] = left
            else:
                del self._member_sessions[member.id]
                self._presence_changed(member.id, False, now)
        return out

    def shutdown(self, now: float) -> list[Output]:
        """End every transmission (so recordings are finished) and close every connection."""
        out: list[Output] = []
        for group in self._groups.values():
            out += self._apply(group, group.floor.close(now), now)
        out += [Close(conn, CLOSE_GOING_AWAY, "server shutting down") for conn in self.sessions]
        return out

    # ---- timers -----------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        times = [t for t in (min(self._deadlines.values(), default=None), self._presence_due)
                 if t is not None]
        times += [rc.deadline for rc in self._rollcalls.values()]
        if (escalation := self.orders.next_deadline()) is not None:
            times.append(escalation)
        return min(times, default=None)

    def tick(self, now: float) -> list[Output]:
        out: list[Output] = []
        for tg_id in [t for t, d in self._deadlines.items() if d <= now]:
            group = self._groups[tg_id]
            out += self._apply(group, group.floor.tick(now), now)
        for rc in [rc for rc in self._rollcalls.values() if rc.deadline <= now]:
            out += self._close_rollcall(rc, now)
        for esc in self.orders.due(now):
            out += self._escalate(esc, now)
        if self._presence_due is not None and self._presence_due <= now:
            changes, self._presence, self._presence_due = self._presence, {}, None
            out.append(self._broadcast(wire.Presence(
                online=sorted(m for m, on in changes.items() if on),
                offline=sorted(m for m, on in changes.items() if not on))))
        return out

    # ---- control messages -------------------------------------------------------------------

    def receive_text(self, conn: int, data: str | bytes, now: float) -> list[Output]:
        session = self.sessions.get(conn)
        if session is None:
            return []
        self.stats.control_in += 1
        ref = None
        try:
            msg = wire.decode_client(data)
            ref = msg.ref
            # Checked after decoding, so the refusal carries the request's ref and the client
            # knows which request to send again (a refused request was not carried out).
            if not session.control.take(now):
                return self._strike(session, ErrorCode.RATE_LIMITED,
                                    "too many requests; slow down", ref)
            out = self._dispatch(session, msg, now)
        except ProtocolError as exc:
            if ref is None:
                ref = wire.salvage_ref(data)  # so the sender knows which request failed
            if exc.code == ErrorCode.UNSUPPORTED_VERSION:
                return [self._error(conn, exc.code, exc.message, ref),
                        Close(conn, CLOSE_PROTOCOL_ERROR, exc.code.value)]
            return self._strike(session, exc.code, exc.message, ref)
        except Refused as exc:
            return self._strike(session, exc.code, exc.message, ref)
        session.strikes = 0
        return out

    def _dispatch(self, session: Session, msg: wire.ClientMessage, now: float) -> list[Output]:
        if isinstance(msg, wire.Ping):
            return [self._send(session.conn, wire.Pong(t=msg.t, server_time=now, ref=msg.ref))]
        if isinstance(msg, wire.Hello):
            return self._hello(session, msg, now)
        if isinstance(msg, wire.Enroll):
            return self._enroll(session, msg, now)
        if session.member is None:
            raise Refused("say hello first", ErrorCode.NOT_AUTHENTICATED)
        if session.api and isinstance(msg, (wire.Join, wire.Leave, wire.FloorRequest,
                                            wire.FloorRelease, wire.PublishKeys)):
            raise Refused("voice and key publishing go over the radio protocol, not the "
                          "HTTP API", ErrorCode.NOT_ALLOWED)
        if isinstance(msg, wire.Join):
            return self._join(session, self._member_group(session, msg.talkgroup), msg.ref, now)
        if isinstance(msg, wire.Leave):
            group = self._joined_group(session, msg.talkgroup)
            out = self._leave_group(session, group, now)
            return [*out, self._send(session.conn, wire.Left(talkgroup=group.tg.id, ref=msg.ref))]
        if isinstance(msg, wire.FloorRequest):
            return self._floor_request(session, msg, now)
        if isinstance(msg, wire.FloorRelease):
            return self._floor_release(session, msg, now)
        if isinstance(msg, wire.EmergencyClear):
            return self._emergency_clear(session, msg, now)
        if isinstance(msg, wire.DirectoryRequest):
            return self._directory(session, msg)
        if isinstance(msg, wire.PublishKeys):
            return self._publish_keys(session, msg, now)
        if isinstance(msg, wire.MessageSend):
            return self._message_send(session, msg, now)
        if isinstance(msg, wire.OrderIssue):
            return self._order_issue(session, msg, now)
        if isinstance(msg, wire.OrderAck):
            return self._order_ack(session, msg, now)
        if isinstance(msg, wire.Position):
            return self._position(session, msg, now)
        if isinstance(msg, wire.PositionsRequest):
            return self._positions_request(session, msg)
        if isinstance(msg, wire.RollcallStart):
            return self._rollcall_start(session, msg, now)
        if isinstance(msg, wire.RollcallAnswer):
            return self._rollcall_answer(session, msg, now)
        if isinstance(msg, wire.Receipt):
            return self._receipt(session, msg, now)
        if isinstance(msg, wire.TpsReportSend):
            return self._tps_report(session, msg, now)
        if isinstance(msg, wire.FloodReportSend):
            return self._flood_report(session, msg, now)
        if isinstance(msg, wire.BoardRequest):
            return self._board_request(session, msg)
        if isinstance(msg, wire.SitrepRequest):
            return self._sitrep_request(session, msg, now)
        if isinstance(msg, wire.AlertPublish):
            return self._alert_publish(session, msg)
        raise ProtocolError(f"unexpected message {type(msg).__name__}", ErrorCode.UNKNOWN_TYPE)

