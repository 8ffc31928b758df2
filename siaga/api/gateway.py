"""The HTTP API's way into the hub: each signed-in API client is a hub session.

An HTTP request is turned into the very wire message a radio would send and fed to
:class:`siaga.hub.Hub` on that client's session, so the roles, rules, rate limits and audit are
the radio side's own; there is no second rulebook. The hub's answer (matched by ``ref``) becomes
the HTTP response. API sessions are not "on the air": no presence, no voice, nothing pushed.

Sign-in is the radio's: the gateway hands out the hub's challenge nonce, the device signs it
(``siaga/v1/login``) and the hub checks the signature, the enrollment and revocation. A bearer
token then names the session until it expires, the client signs out, or the device is revoked.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import msgspec

from .. import wire
from ..crypto import b64e
from ..errors import ErrorCode, LocalProtocolError, Refused, SiagaError
from ..hub import Hub, Output

T = TypeVar("T", bound=msgspec.Struct)

#: Seconds a challenge may wait for its signature.
CHALLENGE_TTL = 60.0
#: Seconds a token is good for (a shift); the client signs in again after.
TOKEN_TTL = 12 * 3600.0
#: At most this many API sessions and pending challenges: a flood of sign-ins cannot grow
#: the server's memory without bound.
MAX_SESSIONS = 2000
#: Pending (unanswered) challenges per client address: one address asking for thousands cannot
#: use up :data:`MAX_SESSIONS` and lock everyone else out.
MAX_PENDING_PER_PEER = 16
#: Seconds to wait for an answer that needs the database (a stored message, an order).
ANSWER_TIMEOUT = 10.0
#: Connection numbers of API sessions, far from the WebSocket ones.
FIRST_CONN = 1 << 40


class ApiError(SiagaError):
    """A refusal on its way to becoming an HTTP error response."""


@dataclass(slots=True)
class _ApiSession:
    conn: int
    expires_at: float
    token: str = ""
    welcome: wire.Welcome | None = None
    peer: str = ""
    waiting: dict[int, asyncio.Future[wire.ServerMessage]] = field(default_factory=dict)
    closed: bool = False
    #: The request being fed to the hub right now: a refusal without a ref (the hub could not
    #: read one) is its answer.
    current: int | None = None


class Gateway:
    """API sessions over a hub; ``apply`` carries out hub outputs (the server's ``_apply``)."""

    def __init__(self, hub: Hub, apply: Callable[[list[Output]], None],
                 clock: Callable[[], float]) -> None:
        self.hub = hub
        self._apply = apply
        self._clock = clock
        self._conns = itertools.count(FIRST_CONN)
        self._refs = itertools.count(1)
        self.sessions: dict[int, _ApiSession] = {}
        self._tokens: dict[str, _ApiSession] = {}

    # ---- called by the server for outputs addressed to API sessions ------------------------

    def owns(self, conn: int) -> bool:
        return conn >= FIRST_CONN

    def deliver(self, conn: int, text: str) -> None:
        """A hub message for an API session: it answers a waiting request, or is dropped."""
        session = self.sessions.get(conn)
        if session is None:
            return
        msg = wire.decode_server(text)
        ref = getattr(msg, "ref", None)
        if ref is None and isinstance(msg, wire.Error):
            ref = session.current
        future = session.waiting.pop(ref, None) if ref is not None else None
        if future is not None and not future.done():
            future.set_result(msg)

    def closed(self, conn: int) -> None:
        """The hub closed the session (revoked device, too many refusals)."""
        session = self.sessions.get(conn)
        if session is not None:
            self._forget(session)

    # ---- sign-in ----------------------------------------------------------------------------

    def challenge(self, peer: str) -> tuple[str, str]:
        """A new pending sign-in: (challenge id, nonce to sign), both base64url."""
        now = self._clock()
        self._expire(now)
        if len(self.sessions) >= MAX_SESSIONS:
            raise Refused("too many API sessions; try again later", ErrorCode.RATE_LIMITED)
        pending = sum(1 for s in self.sessions.values() if s.peer == peer and s.welcome is None)
        if pending >= MAX_PENDING_PER_PEER:
            raise Refused("too many unanswered challenges from your address; answer one or "
                          "wait a minute", ErrorCode.RATE_LIMITED)
        conn = next(self._conns)
        nonce = secrets.token_bytes(32)
        session = _ApiSession(conn, now + CHALLENGE_TTL, peer=peer)
        self.sessions[conn] = session
        self._apply(self.hub.connect(conn, now, nonce=nonce, peer=peer, api=True))
        return f"{conn:x}", b64e(nonce)

    async def login(self, challenge: str, member: str, device: str,
                    signature: str | None) -> tuple[str, _ApiSession]:
        """Answer a challenge; on success a bearer token for the session."""
        try:
            conn = int(challenge, 16)
        except ValueError:
            conn = -1
        session = self.sessions.get(conn)
        if session is None or session.welcome is not None:
            raise Refused("challenge: unknown, used or expired; ask for a new one",
                          ErrorCode.NOT_AUTHENTICATED)
        hello = msgspec.convert({"type": "hello", "v": wire.PROTOCOL_VERSION, "member": member,
                                 "device": device, "auth": signature}, wire.ClientMessage)
        welcome = await self.ask(session, hello, wire.Welcome)
        session.welcome = welcome
        session.expires_at = self._clock() + TOKEN_TTL
        session.token = secrets.token_urlsafe(32)
        self._tokens[session.token] = session
        return session.token, session

    def session_of(self, token: str) -> _ApiSession:
        session = self._tokens.get(token)
        if session is None or session.expires_at <= self._clock():
            if session is not None:
                self._forget(session)
            raise Refused("sign in first (POST /api/v1/auth/challenge, then /login) and send "
                          "the token as 'Authorization: Bearer …'", ErrorCode.NOT_AUTHENTICATED)
        return session

    def logout(self, session: _ApiSession) -> None:
        self._forget(session)

    # ---- requests ---------------------------------------------------------------------------

    async def ask(self, session: _ApiSession, msg: wire.ClientMessage,
                  expect: type[T] | None) -> T:
        """Feed ``msg`` to the hub on ``session``; its answer of type ``expect``.

        With ``expect`` None the request has no answer on the radio side either: it succeeded
        if the hub did not refuse it at once (refusals are immediate)."""
        ref = next(self._refs)
        msg = msgspec.structs.replace(msg, ref=ref)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[wire.ServerMessage] = loop.create_future()
        session.waiting[ref] = future
        try:
            session.current = ref
            try:
                outputs = self.hub.receive_text(session.conn, wire.encode(msg), self._clock())
                self._apply(outputs)
            finally:
                session.current = None
            if expect is None and not future.done():
                return None  # type: ignore[return-value]
            answer = await asyncio.wait_for(future, ANSWER_TIMEOUT)
        except TimeoutError:
            raise ApiError("the server did not answer in time; try again",
                           ErrorCode.INTERNAL) from None
        finally:
            session.waiting.pop(ref, None)
        if isinstance(answer, wire.Error):
            raise ApiError(answer.message, _code(answer.code))
        if expect is not None and not isinstance(answer, expect):
            raise LocalProtocolError(f"expected {expect.__name__}, got {type(answer).__name__}")
        return answer  # type: ignore[return-value]

    # ---- housekeeping -----------------------------------------------------------------------

    def _expire(self, now: float) -> None:
        for session in [s for s in self.sessions.values() if s.expires_at <= now]:
            self._forget(session)

    def _forget(self, session: _ApiSession) -> None:
        if session.closed:
            return
        session.closed = True
        self.sessions.pop(session.conn, None)
        self._tokens.pop(session.token, None)
        for future in session.waiting.values():
            if not future.done():
                future.set_exception(ApiError("the session was closed",
                                              ErrorCode.NOT_AUTHENTICATED))
        self._apply(self.hub.disconnect(session.conn, self._clock()))

    def close(self) -> None:
        for session in list(self.sessions.values()):
            self._forget(session)


def _code(value: str) -> ErrorCode:
    try:
        return ErrorCode(value)
    except ValueError:
        return ErrorCode.INTERNAL
