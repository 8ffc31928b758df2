"""The asyncio WebSocket server: a thin adapter that moves bytes between sockets and the hub.

Everything the server decides is decided in :class:`siaga.hub.Hub`; this module only reads
frames, stamps them with the time, carries out the hub's outputs, arms its one timer and records
frames. A bad frame from one connection is answered (or that connection closed) by the hub; no
exception from a peer's input reaches the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import random
import re
import secrets
import ssl as ssl_module
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from uvicorn import Server as uvicorn_Server
from websockets.asyncio.server import Server as WsServer
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .. import wire
from ..alerts.archive import AlertArchive
from ..api.gateway import Gateway
from ..election import TpsRegistry, TpsReport
from ..errors import ProtocolError, SiagaError, StoreError
from ..hub import (
    Audit,
    Close,
    Hub,
    LoadKeys,
    LoadMessages,
    LoadPositions,
    Output,
    RecordEnd,
    RecordStart,
    Redeem,
    RenderSitrep,
    Send,
    StoreAlert,
    StoreKeys,
    StoreMessage,
    StoreOrder,
    StoreOrderState,
    StorePosition,
    StoreReceipt,
    StoreReport,
    StoreRollcall,
)
from ..identity import DeviceDirectory
from ..messages import RECEIPT_HISTORY
from ..roster import Roster
from ..store import Store
from ..store.audit_sql import AuditLog
from ..store.identity_sql import DeviceRegistry
from ..store.keys_sql import KeyStore
from ..store.messages_sql import MessageStore
from ..store.ops_sql import OpsStore
from ..store.orders_sql import OrderStore
from ..store.positions_sql import PositionStore
from ..store.rollcall_sql import RollcallStore
from ..web import Console
from .recorder import Recorder
from .sitreps import default_tps, render_sitrep, write_sitrep

log = logging.getLogger("siaga.server")
T = TypeVar("T")

#: Seconds a connection may stay silent before saying hello.
HELLO_TIMEOUT = 10.0
#: Files of the public alert feed that ``GET /alerts/NAME`` serves (no paths, no dot files).
ALERT_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.(xml|sig)")
#: How often the device table is read for revocations: a revoked HT is cut off within this.
DEVICE_POLL = 0.5
#: Seconds between keepalive pings, spread ±25% per connection: HTs that reconnect all at once
#: (after a restart, or when a cell comes back) would otherwise be pinged in one burst that
#: stalls the event loop for tens of milliseconds every interval (seen in the benchmark).
KEEPALIVE = 20.0


class Server:
    """One Siaga network served on one host and port."""

    def __init__(self, roster: Roster, store: Store, data_dir: Path, *,
                 host: str = "127.0.0.1", port: int = 8750,
                 clock: Callable[[], float] = time.time,
                 require_auth: bool = False,
                 ssl: ssl_module.SSLContext | None = None,
                 http_port: int | None = None,
                 tps: TpsRegistry | None = None,
                 sitrep_every: float | None = None) -> None:
        self.registry = DeviceRegistry(store.engine) if require_auth else None
        self.hub = Hub(roster, DeviceDirectory() if require_auth else None,
                       tps if tps is not None else default_tps(roster))
        self.recorder = Recorder(store, data_dir)
        self.store = store
        self.console = Console(roster)  # the browser console, served on this port
        self.host, self.port = host, port
        self.ssl = ssl  # None: plain ws:// (behind a TLS-terminating proxy, or a lab)
        self._clock = clock
        self._conns: dict[int, ServerConnection] = {}
        self._ids = itertools.count(1)
        self._ws: WsServer | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._armed: float | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._poller: asyncio.Task[None] | None = None
        self.audit = AuditLog(store.engine)
        self.keystore = KeyStore(store.engine)
        # One writer thread: audit entries reach the hash chain, and messages the store, in
        # the order they happened.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="siaga-writer")
        self.messages = MessageStore(store.engine)
        self.rollcalls = RollcallStore(store.engine)
        self.positions = PositionStore(store.engine)
        self.order_store = OrderStore(store.engine)
        self.ops = OpsStore(store.engine)
        self.sitrep_every = sitrep_every  # seconds between sitreps written to data/sitreps
        self._sitreps: asyncio.Task[None] | None = None
        self.gateway = Gateway(self.hub, self._apply, clock)
        self.http_port = http_port  # None: no HTTP API
        self._http_server: Any = None
        self._http_task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        scheme = "wss" if self.ssl is not None else "ws"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}/"

    async def start(self) -> None:
        recovered = await asyncio.to_thread(self.store.recover_unfinished, self._clock())
        if recovered:
            log.warning("marked %d recordings left unfinished by a crash as interrupted",
                        recovered)
        for order in await asyncio.to_thread(self.order_store.open_orders):
            self.hub.orders.add(order)  # escalation clocks run on across a restart
        self.hub.restore_reports(await asyncio.to_thread(self.ops.tps_reports),
                                 await asyncio.to_thread(self.ops.flood_reports))
        for rc in reversed(await asyncio.to_thread(self.rollcalls.history, None, 200)):
            self.hub.last_rollcalls[rc.talkgroup] = rc  # newest last wins
        if self.registry is not None:
            self.hub.key_epochs = await asyncio.to_thread(self.keystore.epochs)
            self._polled = self._clock()
            for record in await asyncio.to_thread(self.registry.devices):
                self.hub.device_changed(record, self._polled)
            self._poller = asyncio.get_running_loop().create_task(self._poll_devices())
        self._ws = await serve(
            self._handle, self.host, self.port,
            compression=None,  # voice is already compressed; deflate would cost memory per peer
            max_size=2 * wire.MAX_CONTROL_BYTES,
            max_queue=64,
            write_limit=64 * 1024,
            ping_interval=KEEPALIVE, ping_timeout=20,
            ssl=self.ssl,
            process_request=self._http,
        )
        sock = next(iter(self._ws.sockets))
        self.port = sock.getsockname()[1]
        if self.http_port is not None:
            await self._start_http()
        if self.sitrep_every:
            self._sitreps = asyncio.get_running_loop().create_task(
                self._write_sitreps(self.sitrep_every))
        roster = self.hub.roster.fingerprint()
        previous = await asyncio.to_thread(self._last_roster)
        events = [Audit("server_started", self._clock(), detail={
            "port": self.port, "devices_required": self.registry is not None,
            "tls": self.ssl is not None, "roster": roster})]
        if previous is not None and previous != roster:
            # Roles and talkgroup rules live in the roster file: a change shows up here.
            events.append(Audit("rule_changed", self._clock(), subject="roster",
                                detail={"from": previous, "to": roster}))
        self._apply(events)
        log.info("serving %s on %s", self.hub.roster.network, self.url)

    def clock(self) -> float:
        return self._clock()

    @property
    def http_url(self) -> str | None:
        if self.http_port is None:
            return None
        scheme = "https" if self.ssl is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.http_port}/"

    async def _start_http(self) -> None:
        """The HTTP API on its own port, in this event loop (it shares the hub)."""
        import socket

        import uvicorn

        from ..api import create_app

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.http_port or 0))
        self.http_port = sock.getsockname()[1]
        config = uvicorn.Config(create_app(self), log_level="warning", lifespan="off",
                                access_log=False, ws="none")
        config.load()
        config.ssl = self.ssl  # the same certificate as the radio port
        http = _EmbeddedHttp(config)
        self._http_server = http
        self._http_task = asyncio.get_running_loop().create_task(http.serve(sockets=[sock]))
        while not http.started and not self._http_task.done():
            await asyncio.sleep(0.01)
        if self._http_task.done():
            self._http_task.result()  # raises what stopped it

    async def close(self) -> None:
        """Stop gracefully: end transmissions, finish recordings, then close connections."""
        if self._http_server is not None and self._http_task is not None:
            self._http_server.should_exit = True
            await asyncio.gather(self._http_task, return_exceptions=True)
        self.gateway.close()
        if self._sitreps is not None:
            self._sitreps.cancel()
            await asyncio.gather(self._sitreps, return_exceptions=True)
        self._apply(self.hub.shutdown(self._clock()))
        if self._timer:
            self._timer.cancel()
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        if self._ws is not None:
            self._ws.close()
            await self._ws.wait_closed()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.recorder.close()
        self._apply([Audit("server_stopped", self._clock())])
        await asyncio.get_running_loop().run_in_executor(self._writer, lambda: None)
        self._writer.shutdown(wait=True)

    async def serve_forever(self) -> None:
        assert self._ws is not None
        await self._ws.serve_forever()

    # ---- per connection ---------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        conn = next(self._ids)
        self._conns[conn] = ws
        hub = self.hub
        clock = self._clock
        peer = ws.remote_address[0] if ws.remote_address else ""
        self._apply(hub.connect(conn, clock(), nonce=secrets.token_bytes(32), peer=str(peer)))
        loop = asyncio.get_running_loop()
        hello_timer = loop.call_later(HELLO_TIMEOUT, self._hello_overdue, conn)
        try:
            async for message in ws:
                now = clock()
                if isinstance(message, bytes):
                    self._audio(conn, message, now)
                else:
                    self._apply(hub.receive_text(conn, message, now))
                    self._rearm()
        except ConnectionClosed:
            pass
        finally:
            hello_timer.cancel()
            del self._conns[conn]
            self._apply(hub.disconnect(conn, clock()))
            self._rearm()

    def _audio(self, conn: int, data: bytes, now: float) -> None:
        try:
            stream, targets = self.hub.route_audio(conn, data, now)
        except ProtocolError as exc:
            self._apply(self.hub.audio_error(conn, exc))
            return
        if not stream:
            self._apply(self.hub.audio_refused(conn, now))
            return
        if targets:
            conns = self._conns
            broadcast([conns[c] for c in targets], data)
        self.recorder.frame(stream, data, now)

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        """Plain HTTP beside the WebSocket: the public alert feed, for anyone to subscribe to
        without an account, a health check, and the browser console's files (siaga.web); a
        WebSocket upgrade goes on to the handshake."""
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            return connection.respond(200, "ok\n")
        if not path.startswith("/alerts/"):
            response = self.console.respond(request)  # None: a WebSocket handshake goes on
            if response is None:
                connection.ping_interval = KEEPALIVE * random.uniform(0.75, 1.25)
            return response
        name = path[len("/alerts/"):]
        if not ALERT_FILE.fullmatch(name):
            return connection.respond(404, "not found\n")
        file = self.recorder.data_dir / "alerts" / name
        if not file.is_file():
            return connection.respond(404, "not found\n")
        kind = ("application/atom+xml" if name == "feed.xml" else
                "application/cap+xml" if name.endswith(".xml") else "text/plain")
        headers = Headers([("Content-Type", f"{kind}; charset=utf-8"),
                           ("Cache-Control", "no-cache"), ("Access-Control-Allow-Origin", "*")])
        return Response(200, "OK", headers, file.read_bytes())

    def _hello_overdue(self, conn: int) -> None:
        session = self.hub.sessions.get(conn)
        if session is not None and session.member is None:
            self._close(conn, 1008, "no hello")

    # ---- carrying out the hub's decisions ---------------------------------------------------

    def _apply(self, outputs: Iterable[Output]) -> None:
        conns = self._conns
        for out in outputs:
            if isinstance(out, Send):
                if len(out.to) == 1:
                    ws = conns.get(out.to[0])
                    if ws is not None:
                        broadcast((ws,), out.text)
                    elif self.gateway.owns(out.to[0]):
                        self.gateway.deliver(out.to[0], out.text)
                elif out.to:
                    broadcast([conns[c] for c in out.to if c in conns], out.text)
            elif isinstance(out, RecordStart):
                self.recorder.start(out)
            elif isinstance(out, RecordEnd):
                self.recorder.end(out)
            elif isinstance(out, Close):
                self._close(out.conn, out.code, out.reason)
            elif isinstance(out, StoreKeys):
                self._spawn(self._store_keys(out))
            elif isinstance(out, LoadKeys):
                self._spawn(self._load_keys(out))
            elif isinstance(out, StoreMessage):
                self._spawn(self._store_message(out))
            elif isinstance(out, StoreReceipt):
                self._spawn(self._store_receipt(out))
            elif isinstance(out, LoadMessages):
                self._spawn(self._load_messages(out))
            elif isinstance(out, StoreOrder):
                self._spawn(self._store_order(out))
            elif isinstance(out, StoreOrderState):
                self._writer.submit(self._quietly, self.order_store.set_state, out.order_id,
                                    out.member, out.state, out.at, out.escalations)
            elif isinstance(out, StorePosition):
                self._writer.submit(self._quietly, self.positions.add, out.fix)
            elif isinstance(out, LoadPositions):
                self._spawn(self._load_positions(out))
            elif isinstance(out, StoreRollcall):
                self._writer.submit(self._store_rollcall, out)
            elif isinstance(out, StoreReport):
                self._spawn(self._store_report(out))
            elif isinstance(out, RenderSitrep):
                self._spawn(self._render_sitrep(out))
            elif isinstance(out, StoreAlert):
                self._spawn(self._store_alert(out))
            elif isinstance(out, Redeem):
                self._spawn(self._redeem(out))
            elif isinstance(out, Audit):
                self._writer.submit(self._append_audit, out)

    def _close(self, conn: int, code: int, reason: str) -> None:
        ws = self._conns.get(conn)
        if ws is not None:
            self._spawn(ws.close(code, reason))
        elif self.gateway.owns(conn):
            self.gateway.closed(conn)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _store_keys(self, store: StoreKeys) -> None:
        try:
            await asyncio.to_thread(self.keystore.put, list(store.keys), self._clock())
        except SiagaError as exc:
            log.error("cannot store %d sealed group keys: %s", len(store.keys), exc)
            return  # not stored: not delivered, not acknowledged (the keeper will retry)
        self._apply(self.hub.keys_stored(store))

    async def _load_keys(self, load: LoadKeys) -> None:
        try:
            keys = await asyncio.to_thread(self.keystore.for_device, load.device_id)
        except SiagaError as exc:
            log.error("cannot load the group keys of %s: %s", load.device_id, exc)
            return
        self._apply(self.hub.deliver_keys(load.conn, keys))

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer, fn, *args)

    async def _store_message(self, store: StoreMessage) -> None:
        try:
            added = await self._write(self.messages.add, store.message, list(store.recipients))
        except SiagaError as exc:
            log.error("cannot store message %s: %s", store.message.id, exc)
            self._apply([self.hub.error_to(store.conn, exc, store.ref)])
            return  # not stored: not acknowledged, so the sender retries
        self._apply(self.hub.message_stored(store, added, self._clock()))

    async def _store_receipt(self, store: StoreReceipt) -> None:
        r = store.receipt
        try:
            sender = await self._write(self.messages.mark, r.id, r.member, r.state, r.at)
        except SiagaError as exc:
            log.error("cannot store a receipt for %s: %s", r.id, exc)
            return
        self._apply(self.hub.receipt_stored(r, sender))

    async def _store_order(self, store: StoreOrder) -> None:
        try:
            added = await self._write(self.order_store.add, store.order)
        except SiagaError as exc:
            log.error("cannot store order %s: %s", store.order.id, exc)
            self._apply([self.hub.error_to(store.conn, exc, store.ref)])
            return
        self._apply(self.hub.order_stored(store, added, self._clock()))
        self._rearm()

    async def _store_report(self, store: StoreReport) -> None:
        try:
            if isinstance(store.report, TpsReport):
                added = await self._write(self.ops.add_tps_report, store.report, store.regency)
            else:
                added = await self._write(functools.partial(
                    self.ops.add_flood_report, store.report, incident=store.incident or "",
                    regency=store.regency))
        except SiagaError as exc:
            log.error("cannot store report %s: %s", store.report.id, exc)
            self._apply([self.hub.error_to(store.conn, exc, store.ref)])
            return  # not stored: not counted, not acknowledged (the reporter retries)
        self._apply(self.hub.report_stored(store, added, self._clock()))

    async def _store_alert(self, store: StoreAlert) -> None:
        archive = AlertArchive(self.recorder.data_dir / "alerts")

        def write() -> None:
            archive.add(store.signed)
            archive.write_feed(self._clock(), self.feed_base)
        try:
            await self._write(write)
        except (OSError, SiagaError) as exc:
            log.error("cannot publish alert %s: %s", store.notice.id, exc)
            self._apply([self.hub.error_to(store.conn, StoreError(
                f"the alert could not be published: {exc}"), store.ref)])
            return
        self._apply(self.hub.alert_stored(store, self._clock()))

    @property
    def feed_base(self) -> str:
        """Where the alert feed is served: this radio port, over HTTP(S)."""
        return self.url.replace("ws", "http", 1).rstrip("/")

    async def _render_sitrep(self, render: RenderSitrep) -> None:
        content = await asyncio.to_thread(render_sitrep, render.sitrep, render.format,
                                          render.lang)
        self._apply(self.hub.sitrep_rendered(render, content))

    async def _write_sitreps(self, every: float) -> None:
        """On a schedule: the situation report as Markdown and PDF in data/sitreps/."""
        while True:
            await asyncio.sleep(every)
            try:
                paths = await asyncio.to_thread(
                    write_sitrep, self.hub.sitrep(self._clock()),
                    self.recorder.data_dir / "sitreps")
                log.info("sitrep written: %s", ", ".join(p.name for p in paths))
            except (OSError, SiagaError) as exc:
                log.error("cannot write the scheduled sitrep: %s", exc)

    @staticmethod
    def _quietly(fn: Callable[..., object], *args: Any) -> None:
        """Run a store write in the writer thread; a failure is logged, never raised."""
        try:
            fn(*args)
        except SiagaError as exc:
            log.error("store write failed: %s", exc)

    async def _load_positions(self, load: LoadPositions) -> None:
        try:
            if load.member is None:
                fixes = await asyncio.to_thread(self.positions.latest)
            else:
                fixes = await asyncio.to_thread(self.positions.track, load.member, load.since)
        except SiagaError as exc:
            log.error("cannot read positions: %s", exc)
            return
        self._apply(self.hub.deliver_positions(load, fixes))

    def _store_rollcall(self, out: StoreRollcall) -> None:
        try:
            self.rollcalls.save(out.rollcall)
        except SiagaError as exc:
            log.error("cannot store roll call %s: %s", out.rollcall.id, exc)

    async def _load_messages(self, load: LoadMessages) -> None:
        since = self._clock() - RECEIPT_HISTORY
        try:
            pending = await asyncio.to_thread(self.messages.pending, load.member)
            receipts = await asyncio.to_thread(self.messages.receipts, load.member, since)
            orders = await asyncio.to_thread(self.order_store.open_orders, load.member,
                                             ("issued",))
        except SiagaError as exc:
            log.error("cannot load messages for %s: %s", load.member, exc)
            return
        self._apply(self.hub.deliver_pending(load.conn, pending, receipts))
        self._apply(self.hub.deliver_orders(load.conn, orders))

    def _last_roster(self) -> str | None:
        """The roster fingerprint the previous start logged, if any."""
        head = self.audit.head()
        if head is None:
            return None
        for entry in reversed(self.audit.entries(since_seq=max(0, head.seq - 5000))):
            if entry.kind == "server_started":
                value = entry.detail.get("roster")
                return value if isinstance(value, str) else None
        return None

    def _append_audit(self, event: Audit) -> None:
        try:
            self.audit.append(event.kind, event.at, event.actor, event.subject, event.detail)
        except SiagaError as exc:
            log.error("cannot append %s to the audit log: %s", event.kind, exc)

    async def _redeem(self, redeem: Redeem) -> None:
        assert self.registry is not None
        try:
            ok = await asyncio.to_thread(self.registry.redeem, redeem.code_hash, redeem.record,
                                         self._clock())
        except SiagaError as exc:
            log.error("enrollment of %s failed: %s", redeem.record.device_id, exc)
            ok = False
        self._apply(self.hub.enroll_result(redeem, ok, self._clock()))

    async def _poll_devices(self) -> None:
        """Pick up enrollments and revocations made elsewhere (``siaga admin revoke``)."""
        assert self.registry is not None
        while True:
            await asyncio.sleep(DEVICE_POLL)
            since = self._polled - DEVICE_POLL  # overlap: a row committed late is not missed
            self._polled = self._clock()
            try:
                changed = await asyncio.to_thread(self.registry.devices, changed_since=since)
            except SiagaError as exc:
                log.error("cannot poll devices: %s", exc)
                continue
            for record in changed:
                self._apply(self.hub.device_changed(record, self._clock()))

    def _rearm(self) -> None:
        deadline = self.hub.next_deadline()
        if deadline == self._armed:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._armed = deadline
        if deadline is not None:
            delay = max(0.0, deadline - self._clock())
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._armed = None
        self._apply(self.hub.tick(self._clock()))
        self._rearm()


class _EmbeddedHttp(uvicorn_Server):
    """uvicorn inside Siaga's own process: Siaga, not uvicorn, handles the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


@contextlib.asynccontextmanager
async def running_server(roster: Roster, store: Store, data_dir: Path, *,
                         host: str = "127.0.0.1", port: int = 0,
                         require_auth: bool = False,
                         ssl: ssl_module.SSLContext | None = None,
                         **options: Any) -> AsyncIterator[Server]:
    """Start a server for the duration of a ``with`` block (tests, demo, benchmarks);
    ``options`` go to :class:`Server` (``http_port``, ``tps``, ``sitrep_every``)."""
    server = Server(roster, store, data_dir, host=host, port=port, require_auth=require_auth,
                    ssl=ssl, **options)
    await server.start()
    try:
        yield server
    finally:
        await server.close()
