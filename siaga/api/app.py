"""The HTTP API: what a radio can do, for programs and dashboards, with the same rules.

Request bodies are the radio protocol's own messages (``siaga.wire``) without ``type`` and
``ref``; they are decoded by the same strict decoder and handed to the hub through the
:class:`~siaga.api.gateway.Gateway`, so a refusal here is the refusal a radio gets, with the same
stable error code. The OpenAPI document is generated from those message types; ``/docs`` serves
it with Swagger UI from files shipped in the package (the field may be offline).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import msgspec
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline

from .. import wire
from ..errors import ErrorCode, ProtocolError, Refused, SiagaError
from ..positions import geojson
from .gateway import Gateway, _ApiSession

if TYPE_CHECKING:
    from ..server.app import Server

T = TypeVar("T", bound=msgspec.Struct)

PREFIX = "/api/v1"

#: HTTP status for each refusal; anything else malformed is 422.
STATUS: dict[ErrorCode, int] = {
    ErrorCode.NOT_AUTHENTICATED: 401, ErrorCode.BAD_SIGNATURE: 401,
    ErrorCode.UNKNOWN_DEVICE: 401, ErrorCode.DEVICE_REVOKED: 401,
    ErrorCode.UNKNOWN_MEMBER: 401, ErrorCode.NOT_MEMBER: 403, ErrorCode.NOT_ALLOWED: 403,
    ErrorCode.UNKNOWN_TALKGROUP: 404, ErrorCode.UNKNOWN_TPS: 404,
    ErrorCode.UNKNOWN_REGION: 404, ErrorCode.UNKNOWN_INCIDENT: 404,
    ErrorCode.TOO_LARGE: 413, ErrorCode.RATE_LIMITED: 429,
    ErrorCode.STORE: 503, ErrorCode.INTERNAL: 503,
}


class ErrorBody(msgspec.Struct):
    code: str
    message: str


class Challenge(msgspec.Struct):
    challenge: str
    nonce: str


class Login(msgspec.Struct, forbid_unknown_fields=True):
    """Sign ``nonce`` as a radio signs its connection's challenge (``siaga/v1/login``)."""

    challenge: Annotated[str, msgspec.Meta(max_length=32)]
    member: wire.Ident
    device: wire.Ident
    signature: wire.Base64 | None = None


class Token(msgspec.Struct):
    token: str
    expires_at: float
    welcome: wire.Welcome


class Accepted(msgspec.Struct):
    accepted: bool = True


def _schema(kind: Any, components: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of ``kind`` for OpenAPI; wire messages lose ``type`` and ``ref``,
    which the API fills in."""
    (schema,), defs = msgspec.json.schema_components(
        [kind], ref_template="#/components/schemas/{name}")
    for name, body in defs.items():
        if isinstance(kind, type) and name == kind.__name__ and issubclass(kind, wire._Msg):
            body = dict(body)
            props = {k: v for k, v in body["properties"].items() if k not in ("type", "ref")}
            body["properties"] = props
            body["required"] = [r for r in body.get("required", []) if r in props]
        components[name] = body
    return schema


_bearer = HTTPBearer(auto_error=False)


async def _session(request: Request, creds: Annotated[HTTPAuthorizationCredentials | None,
                                                      Depends(_bearer)]) -> _ApiSession:
    if creds is None:
        raise Refused("sign in and send 'Authorization: Bearer <token>'",
                      ErrorCode.NOT_AUTHENTICATED)
    gateway: Gateway = request.app.state.gateway
    return gateway.session_of(creds.credentials)


Session = Annotated[_ApiSession, Depends(_session)]


def create_app(server: Server) -> FastAPI:
    """The API of one running server (shares its hub, stores and event loop)."""
    app = FastAPIOffline(
        title="Siaga HTTP API", version="1",
        description="Coordination API of a Siaga network: messages, roll calls, positions, "
                    "orders and public alerts, with the roles and rules of the radio side. "
                    "Sign in with an enrolled device (challenge, then login), then send "
                    "`Authorization: Bearer <token>`. Errors carry the wire protocol's "
                    "stable codes.")
    gateway = server.gateway
    app.state.gateway = gateway
    components: dict[str, Any] = {}

    def docs(body: Any = None, answer: Any = None, status: int = 200) -> dict[str, Any]:
        """OpenAPI for a route: request body and answers from msgspec types."""
        extra: dict[str, Any] = {"responses": {
            str(status): {"description": "OK", "content": {"application/json": {
                "schema": _schema(answer or Accepted, components)}}},
            "default": {"description": "error (`code` is a stable wire error code)",
                        "content": {"application/json": {
                            "schema": _schema(ErrorBody, components)}}}}}
        if body is not None:
            extra["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": _schema(body, components)}}}
        return {"openapi_extra": extra, "status_code": status,
                "response_class": JSONResponse}

    @app.exception_handler(SiagaError)
    async def siaga_error(request: Request, exc: SiagaError) -> Response:
        return _json(ErrorBody(exc.code.value, exc.message), STATUS.get(exc.code, 422))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                          for e in exc.errors())
        return _json(ErrorBody(ErrorCode.BAD_MESSAGE.value, where), 422)

    async def body(request: Request, kind: type[T]) -> T:
        raw = await request.body()
        if len(raw) > wire.MAX_CONTROL_BYTES:
            raise ProtocolError(f"body: over {wire.MAX_CONTROL_BYTES} bytes",
                                ErrorCode.TOO_LARGE)
        try:
            fields = msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise ProtocolError(f"body: not JSON ({exc})", ErrorCode.BAD_MESSAGE) from None
        if not isinstance(fields, dict):
            raise ProtocolError("body: expected a JSON object", ErrorCode.BAD_MESSAGE)
        if issubclass(kind, wire._Msg):
            if "type" in fields or "ref" in fields:
                raise ProtocolError("body: 'type' and 'ref' are set by the API",
                                    ErrorCode.BAD_MESSAGE)
            return _wire(kind, fields)
        try:
            return msgspec.convert(fields, kind)
        except msgspec.ValidationError as exc:
            raise ProtocolError(f"body: {exc}", ErrorCode.BAD_MESSAGE) from None

    def welcome(s: _ApiSession) -> wire.Welcome:
        assert s.welcome is not None
        return s.welcome

    def talkgroups(s: _ApiSession) -> list[str]:
        return [t.id for t in welcome(s).talkgroups]

    async def read(fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    # ---- sign-in ----------------------------------------------------------------------------

    @app.post(f"{PREFIX}/auth/challenge", tags=["auth"], **docs(None, Challenge))
    async def auth_challenge(request: Request) -> Response:
        """Start a sign-in: sign the nonce with the device key, then POST /auth/login."""
        peer = request.client.host if request.client else ""
        challenge, nonce = gateway.challenge(f"http:{peer}")
        return _json(Challenge(challenge, nonce))

    @app.post(f"{PREFIX}/auth/login", tags=["auth"], **docs(Login, Token))
    async def auth_login(request: Request) -> Response:
        """Sign in with the signed challenge; the answer's token goes in every request."""
        login = await body(request, Login)
        token, s = await gateway.login(login.challenge, login.member, login.device,
                                       login.signature)
        return _json(Token(token, s.expires_at, welcome(s)))

    @app.post(f"{PREFIX}/auth/logout", tags=["auth"], **docs(None, Accepted))
    async def auth_logout(s: Session) -> Response:
        gateway.logout(s)
        return _json(Accepted())

    @app.get(f"{PREFIX}/me", tags=["auth"], **docs(None, wire.Welcome))
    async def me(s: Session) -> Response:
        """Who this token is: member, role, talkgroups, the network's status codes."""
        return _json(welcome(s))

    # ---- messages ---------------------------------------------------------------------------

    @app.post(f"{PREFIX}/messages", tags=["messages"],
              **docs(wire.MessageSend, wire.MessageAccepted, 201))
    async def message_send(request: Request, s: Session) -> Response:
        """A text or status message to a ``talkgroup``, or ``to`` one member (sealed on a
        closed network: ``sealed``, or ``sealed_for`` each recipient device); answered once
        stored, so it is never lost after this."""
        msg = await body(request, wire.MessageSend)
        return _json(await gateway.ask(s, msg, wire.MessageAccepted), 201)

    @app.get(f"{PREFIX}/messages", tags=["messages"], **docs(None, list[wire.Message]))
    async def messages(s: Session,
                       talkgroup: Annotated[str | None, Query(max_length=64)] = None,
                       since: Annotated[float, Query(ge=0)] = 0.0,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Response:
        """Messages of this member's talkgroups (or one of them) and, without ``talkgroup``,
        its direct messages both ways; oldest first."""
        mine = talkgroups(s)
        if talkgroup is not None and talkgroup not in mine:
            raise Refused(f"talkgroup: {talkgroup!r} is not one of yours",
                          ErrorCode.NOT_MEMBER)
        found = await read(server.messages.recent, [talkgroup] if talkgroup else mine,
                           since, limit, None if talkgroup else welcome(s).member.id)
        return _json([server.hub.message_of(m) for m in found])

    @app.post(f"{PREFIX}/receipts", tags=["messages"], **docs(wire.Receipt, Accepted, 202))
    async def receipt(request: Request, s: Session) -> Response:
        """This member got (``delivered``) or showed (``read``) a message."""
        await gateway.ask(s, await body(request, wire.Receipt), None)
        return _json(Accepted(), 202)

    # ---- roll calls -------------------------------------------------------------------------

    @app.post(f"{PREFIX}/rollcalls", tags=["rollcalls"],
              **docs(wire.RollcallStart, wire.RollcallBoard, 201))
    async def rollcall_start(request: Request, s: Session) -> Response:
        """Poll a talkgroup; the answer is the board as it starts."""
        msg = await body(request, wire.RollcallStart)
        return _json(await gateway.ask(s, msg, wire.RollcallBoard), 201)

    @app.post(f"{PREFIX}/rollcalls/answer", tags=["rollcalls"],
              **docs(wire.RollcallAnswer, Accepted, 202))
    async def rollcall_answer(request: Request, s: Session) -> Response:
        await gateway.ask(s, await body(request, wire.RollcallAnswer), None)
        return _json(Accepted(), 202)

    @app.get(f"{PREFIX}/rollcalls", tags=["rollcalls"], **docs(None, list[wire.RollcallBoard]))
    async def rollcalls(s: Session,
                        talkgroup: Annotated[str | None, Query(max_length=64)] = None,
                        limit: Annotated[int, Query(ge=1, le=200)] = 20) -> Response:
        """Closed roll calls of this member's talkgroups, newest first: compare over time."""
        mine = set(talkgroups(s))
        if talkgroup is not None and talkgroup not in mine:
            raise Refused(f"talkgroup: {talkgroup!r} is not one of yours",
                          ErrorCode.NOT_MEMBER)
        found = await read(server.rollcalls.history, talkgroup, limit * 4)
        boards = [server.hub.board_of(rc, rc.closed_at or rc.deadline)
                  for rc in found if rc.talkgroup in mine]
        return _json(boards[:limit])

    # ---- positions --------------------------------------------------------------------------

    @app.post(f"{PREFIX}/positions", tags=["positions"], **docs(wire.Position, Accepted, 202))
    async def position(request: Request, s: Session) -> Response:
        """Where this member is (lat/lon in degrees, accuracy in metres)."""
        await gateway.ask(s, await body(request, wire.Position), None)
        return _json(Accepted(), 202)

    @app.get(f"{PREFIX}/positions", tags=["positions"], **docs(None, wire.Positions))
    async def positions(s: Session,
                        member: Annotated[str | None, Query(max_length=64)] = None,
                        since: Annotated[float, Query(ge=0)] = 0.0,
                        format: Annotated[str, Query(pattern="^(json|geojson)$")] = "json",
                        ) -> Response:
        """Latest position of every member (or one member's track): only for roles the
        roster lets see positions. ``format=geojson`` gives a GeoJSON FeatureCollection."""
        msg = _wire(wire.PositionsRequest, {"member": member, "since": since})
        found = await gateway.ask(s, msg, wire.Positions)
        if format == "geojson":
            from ..positions import Fix

            fixes = [Fix(p.member, "", p.lat, p.lon, p.accuracy, p.at) for p in found.positions]
            names = {m.id: m.name for m in server.hub.roster.members.values()}
            return JSONResponse(geojson(fixes if member is None else fixes[-1:],
                                        {member: fixes} if member else None, names=names),
                                media_type="application/geo+json")
        return _json(found)

    # ---- orders -----------------------------------------------------------------------------

    @app.post(f"{PREFIX}/orders", tags=["orders"],
              **docs(wire.OrderIssue, wire.OrderStatus, 201))
    async def order_issue(request: Request, s: Session) -> Response:
        """An order to named members of a talkgroup; unacknowledged, it is repeated and the
        operators alerted."""
        msg = await body(request, wire.OrderIssue)
        return _json(await gateway.ask(s, msg, wire.OrderStatus), 201)

    @app.post(f"{PREFIX}/orders/ack", tags=["orders"], **docs(wire.OrderAck, Accepted, 202))
    async def order_ack(request: Request, s: Session) -> Response:
        """``copied`` (received and understood) or ``done``."""
        await gateway.ask(s, await body(request, wire.OrderAck), None)
        return _json(Accepted(), 202)

    @app.get(f"{PREFIX}/orders", tags=["orders"], **docs(None, list[OrderView]))
    async def orders(s: Session) -> Response:
        """Open orders of this member's talkgroups, with each recipient's state."""
        mine = set(talkgroups(s))
        found = [o for o in await read(server.order_store.open_orders) if o.talkgroup in mine]
        return _json([OrderView.of(o) for o in found])

    # ---- election and flood operations -------------------------------------------------------

    @app.post(f"{PREFIX}/election/reports", tags=["election"],
              **docs(wire.TpsReportSend, wire.ReportAccepted, 201))
    async def tps_report(request: Request, s: Session) -> Response:
        """A polling station's news (status, ballots cast, incidents, logistics,
        relocation); answered once stored."""
        msg = await body(request, wire.TpsReportSend)
        return _json(await gateway.ask(s, msg, wire.ReportAccepted), 201)

    @app.get(f"{PREFIX}/election/board", tags=["election"], **docs(None, wire.Board))
    async def election_board(s: Session,
                             regency: Annotated[str | None, Query(max_length=64)] = None,
                             ) -> Response:
        """Per TPS, per kabupaten/kota and province; a member with a region sees its own."""
        msg = _wire(wire.BoardRequest, {"board": "election", "regency": regency})
        return _json(await gateway.ask(s, msg, wire.Board))

    @app.get(f"{PREFIX}/election/tps", tags=["election"], **docs(None, list[TpsView]))
    async def tps_list(s: Session,
                       regency: Annotated[str | None, Query(max_length=64)] = None,
                       ) -> Response:
        """The polling stations (TPS registry), of one kabupaten/kota or all."""
        stations = (server.hub.tps.of_regency(regency) if regency is not None
                    else list(server.hub.tps))
        return _json([TpsView(t.id, t.regency, t.district, t.village, t.number, t.lat, t.lon,
                              t.voters) for t in stations])

    @app.post(f"{PREFIX}/flood/reports", tags=["flood"],
              **docs(wire.FloodReportSend, wire.ReportAccepted, 201))
    async def flood_report(request: Request, s: Session) -> Response:
        """A flood incident, shelter, need or fulfilment report; answered once stored."""
        msg = await body(request, wire.FloodReportSend)
        return _json(await gateway.ask(s, msg, wire.ReportAccepted), 201)

    @app.get(f"{PREFIX}/flood/board", tags=["flood"], **docs(None, wire.Board))
    async def flood_board(s: Session,
                          regency: Annotated[str | None, Query(max_length=64)] = None,
                          ) -> Response:
        """Incidents with their timelines, shelters and needs; regency and province totals."""
        msg = _wire(wire.BoardRequest, {"board": "flood", "regency": regency})
        return _json(await gateway.ask(s, msg, wire.Board))

    @app.get(f"{PREFIX}/sitrep", tags=["sitrep"], openapi_extra={"responses": {"200": {
        "description": "the report", "content": {"text/markdown": {"schema": {"type": "string"}},
                                                 "application/pdf": {"schema": {
                                                     "type": "string", "format": "binary"}}}}}})
    async def sitrep(s: Session,
                     format: Annotated[str, Query(pattern="^(markdown|pdf)$")] = "markdown",
                     lang: Annotated[str, Query(pattern="^(id|en)$")] = "id") -> Response:
        """The situation report now: election and flood per regency, open orders, silent
        stations of the latest roll call, recent emergencies."""
        from ..server.sitreps import render_sitrep

        content = await read(render_sitrep, server.hub.sitrep(server.clock()), format, lang)
        if isinstance(content, bytes):
            return Response(content, media_type="application/pdf")
        return Response(content, media_type="text/markdown; charset=utf-8")

    # ---- public alerts ----------------------------------------------------------------------

    @app.post(f"{PREFIX}/alerts", tags=["alerts"],
              **docs(wire.AlertPublish, wire.AlertNotice, 201))
    async def alert_publish(request: Request, s: Session) -> Response:
        """Publish a public notice: CAP 1.2 XML in Siaga's profile, signed by this device
        (``siaga.alerts.publish``). Checked (signature, schema, the member's right for that
        kabupaten/kota), added to the feed, announced on the air."""
        msg = await body(request, wire.AlertPublish)
        return _json(await gateway.ask(s, msg, wire.AlertNotice), 201)

    @app.get(f"{PREFIX}/alerts", tags=["alerts"], **docs(None, list[AlertView]))
    async def alerts() -> Response:
        """Published public notices (CAP 1.2), newest first; public, like the feed."""
        from ..alerts.archive import AlertArchive

        archive = AlertArchive(server.recorder.data_dir / "alerts")
        found = await read(archive.all)
        return _json([AlertView.of(a) for a in reversed(found)])

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(title=app.title, version=app.version,
                                 description=app.description, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(components)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


class TpsView(msgspec.Struct):
    id: str
    regency: str
    district: str
    village: str
    number: int
    lat: float
    lon: float
    voters: int


class RecipientView(msgspec.Struct):
    member: str
    state: str
    copied_at: float | None
    done_at: float | None
    escalations: int


class OrderView(msgspec.Struct):
    id: str
    talkgroup: str
    by: str
    sent_at: float
    due_at: float
    sealed: bool
    recipients: list[RecipientView]
    text: str | None = None

    @classmethod
    def of(cls, order: Any) -> OrderView:
        return cls(order.id, order.talkgroup, order.by, order.sent_at, order.due_at,
                   order.sealed is not None,
                   [RecipientView(**dataclasses.asdict(r)) for r in order.recipients.values()],
                   order.text)


class AlertView(msgspec.Struct):
    id: str
    sender: str
    sent: str
    headline: str
    xml: str
    sig: str

    @classmethod
    def of(cls, signed: Any) -> AlertView:
        alert = signed.to_alert()
        headline = alert.infos[0].headline if alert.infos else ""
        return cls(alert.identifier, alert.sender, alert.sent.isoformat(), headline,
                   f"/alerts/{alert.identifier}.xml", f"/alerts/{alert.identifier}.sig")


def _wire(kind: type[T], fields: dict[str, Any]) -> T:
    """A radio message from API input, through the radio's own decoder (same checks)."""
    tag = kind.__struct_config__.tag
    msg = wire.decode_client(msgspec.json.encode({"type": tag, **fields}))
    assert isinstance(msg, kind)
    return msg


def _json(value: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status, media_type="application/json")


__all__ = ["PREFIX", "STATUS", "create_app"]
