"""``siaga demo``: an election day with a flood, played on a real server by simulated stations.

Everything here goes through the same public pieces a deployment uses — the server on a
loopback port, the Python client, real Opus speech clips, the SQLite store and the recording
files — so the demo is also an end-to-end check. It prints a radio log while it runs and a
summary at the end (floor access times, relay latency, late entry, recordings).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from . import wire
from .alerts import AlertLevel, Wording, evacuation
from .audio.clips import clip_path
from .audio.files import read_opus_packets
from .audit import VerifyReport, format_report
from .client import Client, Transmission
from .client.identity import Identity
from .demo_console import announce_console, hold_console
from .errors import Refused
from .i18n import t
from .identity import code_hash, new_code
from .roster import Priority, Roster, load_roster
from .server import Server
from .store import Recording, open_store
from .store.audit_sql import AuditLog
from .store.identity_sql import DeviceRegistry

#: The twelve stations of the brief (governor + 11 heads) plus the agencies in the scene.
HEADS = ["bupati-kerinci", "bupati-merangin", "bupati-sarolangun", "bupati-batanghari",
         "bupati-muarojambi", "bupati-tanjabtim", "bupati-tanjabbar", "bupati-tebo",
         "bupati-bungo", "walikota-kotajambi", "walikota-sungaipenuh"]
LATE_COMER = "walikota-sungaipenuh"
AGENCIES = ["polda", "bpbd", "operator-merangin"]
MONITOR = "operator-provinsi"
KEEPER = "admin"  # the admin's device makes and seals the talkgroup keys


@dataclass
class DemoResult:
    transmissions: list[Transmission] = field(default_factory=list)
    late_entry_ms: float | None = None
    relay_ms: list[float] = field(default_factory=list)
    recordings: list[Recording] = field(default_factory=list)
    enrolled: int = 0
    messages: list[str] = field(default_factory=list)
    alerts: list[Path] = field(default_factory=list)
    rollcall: wire.RollcallBoard | None = None
    order_states: dict[tuple[str, str], str] = field(default_factory=dict)
    positions: int = 0
    receipts: int = 0
    heard: int = 0  # transmissions heard, summed over every station
    sealed_heard: int = 0  # ... of which end-to-end sealed and verified
    rejected: int = 0  # frames refused by receivers (forged, tampered, replayed)
    audit: VerifyReport | None = None
    tps_reports: int = 0
    flood_reports: int = 0
    direct: tuple[str, bool] | None = None  # (text as the recipient opened it, verified)
    sitrep: list[Path] = field(default_factory=list)
    turnout: float | None = None
    relayed: int = 0
    dropped: int = 0
    duration: float = 0.0
    log: list[str] = field(default_factory=list)

    @property
    def access_ms(self) -> list[float]:
        """Access times of requests granted without queueing (MCPTT KPI 1)."""
        return [tx.access_time * 1000 for tx in self.transmissions if not tx.queued]

    @property
    def queue_waits(self) -> list[float]:
        return [tx.access_time for tx in self.transmissions if tx.queued]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Demo:
    """The scene. ``quick`` shortens every clip and limit, for tests; the order is the same."""

    def __init__(self, data_dir: Path, console: Console, lang: str = "id",
                 quick: bool = False) -> None:
        self.data_dir = data_dir
        self.console = console
        self.lang = lang
        self.quick = quick
        self.result = DemoResult()
        self.stations: dict[str, Client] = {}
        self._t0 = time.monotonic()
        self._clips: dict[str, list[bytes]] = {}
        self.limit = 1.0 if quick else 8.0
        self.roster = self._roster()
        self.registry: DeviceRegistry | None = None
        self.server: Server | None = None
        self.identities: dict[str, Identity] = {}
        self._background: list[asyncio.Task[None]] = []

    def _roster(self) -> Roster:
        roster = load_roster()
        net = roster.talkgroups["merangin"]
        return roster.with_talkgroup(replace(net, time_limit=self.limit))

    # ---- output -----------------------------------------------------------------------------

    def say(self, tg: str | None, text: str, style: str = "") -> None:
        stamp = time.monotonic() - self._t0
        name = self.roster.talkgroups[tg].name.upper() if tg else ""
        line = f"{int(stamp // 60):02d}:{stamp % 60:04.1f}  {name:<18} {text}"
        self.result.log.append(line)
        self.console.print(line, style=style, highlight=False, markup=False, soft_wrap=True)

    def scene(self, key: str, **fields: object) -> None:
        self.console.print()
        self.say(None, t("scene", self.lang, text=t(key, self.lang, **fields)), "bold cyan")

    def _name(self, member_id: str) -> str:
        return self.roster.members[member_id].name

    def _monitor_event(self, msg: wire.ServerMessage) -> None:
        lang = self.lang
        if isinstance(msg, wire.TalkerStart):
            tags = ""
            if msg.emergency:
                tags = f" [{t('prio_emergency', lang)}]"
            elif msg.priority == Priority.COMMAND:
                tags = f" [{t('prio_command', lang)}]"
            self.say(msg.talkgroup, "▶ " + t("talk_start", lang, who=msg.member.name, tags=tags),
                     "bold red" if msg.emergency else "green")
        elif isinstance(msg, wire.TalkerStop):
            rec = self.stations[MONITOR].heard_log
            secs = next((r.ended_at - r.announced_at for r in rec
                         if r.stream == msg.stream and r.ended_at), 0.0)
            self.say(msg.talkgroup, "■ " + t("talk_stop", lang, who=self._name(msg.member),
                                             outcome=t(msg.outcome, lang), secs=secs), "dim")
        elif isinstance(msg, wire.Message):
            shown = self.stations[MONITOR].inbox.get(msg.id)
            if shown is not None:
                codes = self.roster.status_codes
                body = shown.text if shown.text is not None else (
                    codes[shown.status].text_id if shown.status in codes else shown.status)
                lock = " 🔒" if shown.verified else ""
                self.say(msg.talkgroup, f"✉ {self._name(msg.sender)}: {body}{lock}", "blue")
        elif isinstance(msg, wire.RollcallBoard) and msg.closed:
            self.result.rollcall = msg
            times = sorted(e.seconds for e in msg.answered)
            median = times[len(times) // 2] if times else float("nan")
            silent = ", ".join(self._name(m) for m in msg.silent) or "-"
            self.say(msg.talkgroup, "📋 " + t("rollcall_done", self.lang,
                                             n=len(msg.answered),
                                             total=len(msg.answered) + len(msg.silent),
                                             median=median, silent=silent), "bold blue")
        elif isinstance(msg, wire.Emergency):
            if msg.active:
                self.say(msg.talkgroup, "⚠ " + t("emergency_on", lang, who=self._name(msg.member)),
                         "bold white on red")
            else:
                self.say(msg.talkgroup, "✓ " + t("emergency_off", lang, who=self._name(msg.by)),
                         "bold green")

    def _station_event(self, member_id: str) -> Callable[[wire.ServerMessage], None]:
        who = self._name(member_id)

        def on_event(msg: wire.ServerMessage) -> None:
            lang = self.lang
            if isinstance(msg, wire.FloorQueued):
                self.say(msg.talkgroup, "… " + t("queued", lang, who=who, pos=msg.position),
                         "yellow")
            elif isinstance(msg, wire.FloorDenied):
                self.say(msg.talkgroup, "✗ " + t("denied", lang, who=who, reason=msg.reason),
                         "red")
            elif isinstance(msg, wire.FloorRevoked):
                self.say(msg.talkgroup, "✂ " + t("revoked", lang, who=who,
                                                 reason=t(msg.reason, lang)), "bold magenta")
            elif isinstance(msg, wire.OrderStatus) and msg.member != member_id:
                self.result.order_states[(msg.id, msg.member)] = msg.state
                style = "bold red" if msg.state == "escalated" else "cyan"
                self.say("komando", "☑ " + t(f"order_{msg.state}", lang,
                                             who=self._name(msg.member), n=msg.escalations),
                         style)
        return on_event

    # ---- stations ---------------------------------------------------------------------------

    async def _enroll(self, url: str, member_id: str) -> Identity:
        """What an admin and an HT do once: a one-time code, redeemed with keys made here."""
        assert self.registry is not None
        code = new_code()
        now = time.time()
        self.registry.issue_code(code_hash(code), member=member_id, now=now,
                                 expires_at=now + 600, created_by="demo")
        identity = await Client.enroll(url, code, member_id, label=f"HT {member_id}")
        path = self.data_dir / "identities" / f"{member_id}.json"
        if path.exists():  # a new demo run retires the device of the last one, as an admin would
            old = Identity.load(path)
            self.registry.revoke(old.device_id, now=now, by="demo")
            path.unlink()
        identity.save(path)
        self.result.enrolled += 1
        return identity

    async def _connect(self, url: str, member_id: str, talkgroups: list[str]) -> Client:
        on_event = (self._monitor_event if member_id == MONITOR
                    else self._station_event(member_id))
        client = await Client.connect(url, identity=self.identities[member_id],
                                      on_event=on_event)
        self.stations[member_id] = client
        for tg in talkgroups:
            await client.join(tg)
        region = self.roster.regions.get(self.roster.members[member_id].region)
        if region is not None:  # the regency stations report where they are: their seat
            await client.report_position(region.lat, region.lon, accuracy=25.0)
        return client

    def _nets_of(self, member_id: str) -> list[str]:
        nets = [tg.id for tg in self.roster.talkgroups_of(member_id)]
        return [n for n in nets if n != "darurat"] + ["darurat"]

    def clip(self, name: str) -> list[bytes]:
        if name not in self._clips:
            packets = read_opus_packets(clip_path(name))
            self._clips[name] = packets[:75] if self.quick else packets
        return self._clips[name]

    async def talk(self, member_id: str, tg: str, clip: str, *,
                   emergency: bool = False) -> Transmission | None:
        client = self.stations[member_id]
        try:
            tx = await client.request_floor(tg, emergency=emergency)
        except Refused:
            return None
        self.result.transmissions.append(tx)
        key = "granted_queued" if tx.queued else "granted"
        self.say(tg, "  " + t(key, self.lang, who=self._name(member_id),
                              ms=tx.access_time * 1000, secs=tx.access_time,
                              limit=round(tx.limit_ms / 1000)), "cyan")
        await tx.send_packets(self.clip(clip))
        await tx.release()
        client.transmissions.pop(tg, None)
        return tx

    async def message(self, member_id: str, talkgroup: str, *, text: str | None = None,
                      status: str | None = None) -> None:
        accepted = await self.stations[member_id].send_message(talkgroup, text=text,
                                                               status=status)
        self.result.messages.append(accepted.id)

    async def publish_evacuation(self) -> None:
        """The governor's public notice: CAP 1.2, signed on the governor's device and checked
        by the server (signature, schema, the governor's right), then in the feed that radio
        stations and apps subscribe to, so the official word can be told from rumours."""
        ident = self.identities["gubernur"]
        region = self.roster.regions["15.06"]
        alert = evacuation(
            sender=ident.device_id, now=time.time(), region=region, level=AlertLevel.AWAS,
            sender_name=self.roster.members["gubernur"].name,
            indonesian=Wording("Evakuasi warga Muara Sabak",
                               "Banjir merendam Muara Sabak; tiga TPS dipindahkan.",
                               "Segera menuju posko pengungsian di Kantor Bupati."),
            english=Wording("Evacuate Muara Sabak",
                            "Flooding in Muara Sabak; three polling stations relocated.",
                            "Go to the shelter at the Regent's office now."))
        notice = await self.stations["gubernur"].publish_alert(alert)
        path = self.data_dir / notice.url.lstrip("/")
        self.result.alerts.append(path)
        self.say(None, "📢 " + t("alert_published", self.lang, path=path.name), "bold yellow")

    def _after(self, seconds: float, coro: Awaitable[object]) -> asyncio.Task[object]:
        async def later() -> object:
            await asyncio.sleep(seconds * (0.25 if self.quick else 1.0))
            return await coro
        return asyncio.get_running_loop().create_task(later())

    # ---- the scene --------------------------------------------------------------------------

    async def _secure(self, url: str) -> None:
        """Enroll every station, then let the admin's device (the key keeper) seal each
        talkgroup's key to every enrolled device: all voice in the scene is end to end."""
        # The auditor is enrolled too (not on the air): it holds every key, to replay records.
        for member_id in [MONITOR, "gubernur", *HEADS, *AGENCIES, KEEPER, "auditor"]:
            self.identities[member_id] = await self._enroll(url, member_id)
        keeper = await Client.connect(url, identity=self.identities[KEEPER])
        self.stations[KEEPER] = keeper
        for tg in self.roster.talkgroups:
            await keeper.publish_group_key(tg)
        self.say(None, t("demo_enrolled", self.lang, n=self.result.enrolled,
                         path=self.data_dir / "identities"))
        self.say(None, t("demo_keys", self.lang, n=len(self.roster.talkgroups)))

    async def run(self, url: str) -> None:
        await self._secure(url)
        await self._connect(url, MONITOR, self._nets_of(MONITOR))
        await self._connect(url, "gubernur", ["komando", "gabungan", "darurat"])
        for member_id in [h for h in HEADS if h != LATE_COMER] + AGENCIES:
            await self._connect(url, member_id, self._nets_of(member_id))
        self.say(None, t("demo_stations", self.lang, n=len(self.stations) - 1))

        # 0. The provincial operator polls the command net; the heads answer one by one and
        #    Sungai Penuh, not yet on the air, stays silent. It runs on while the scene goes on.
        self.scene("scene_rollcall")
        board = await self.stations[MONITOR].start_rollcall("komando", timeout=5)
        for i, head in enumerate(h for h in HEADS if h != LATE_COMER):
            self._after(0.3 + 0.37 * i, self.stations[head].answer_rollcall(board.id))

        # An order that must be acknowledged: Muaro Jambi copies only after it is repeated,
        # Tanjung Jabung Barat stays silent and is escalated to the operator.
        self.scene("scene_order")
        order = await self.stations["gubernur"].issue_order(
            "komando", ["bupati-muarojambi", "bupati-tanjabbar"],
            "Siapkan perahu karet dan posko pengungsian di wilayah rawan banjir.",
            due_in=3600, ack_within=5)

        async def copy_late() -> None:
            client = self.stations["bupati-muarojambi"]
            while client.orders.get(order.id, (wire.OrderMsg(
                    id="", talkgroup="", by="", to=[], sent_at=0, due_at=0),))[0].repeat < 1:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            await client.acknowledge_order(order.id)

        self._background.append(asyncio.get_running_loop().create_task(copy_late()))

        # 1. The governor opens the command net; the Merangin operator starts a long report
        #    on the regency net at the same time; Sungai Penuh comes on the air late.
        self.scene("scene_open")
        opening = self._after(0, self.talk("gubernur", "komando", "gubernur_buka"))
        self.scene("scene_limit", limit=f"{self.limit:g}")
        logistics = self._after(0.3, self.talk("operator-merangin", "merangin",
                                               "logistik_panjang"))
        await asyncio.sleep(2.5 * (0.25 if self.quick else 1.0))
        await self._late_entry(url)
        await opening

        # 2. Three regencies answer at once: one talks, two wait in the queue, served in order.
        self.scene("scene_replies")
        replies = [self._after(0.05 * i, self.talk(head, "komando", f"lapor_{code}"))
                   for i, (head, code) in enumerate([
                       ("bupati-kerinci", "1501"), ("bupati-batanghari", "1504"),
                       ("walikota-kotajambi", "1571")])]
        # Heads who are not on the air report with one key: a status message, sealed.
        for head in ("bupati-merangin", "bupati-tebo", "bupati-bungo", "bupati-sarolangun"):
            await self.message(head, "komando", status="tps_aman")
        # Polling stations report in: open, voting, ballots cast, logistics arrived.
        self.scene("scene_tps")
        await self.tps_reports()

        # 3. On the joint net the police report, and the governor cuts in with higher priority.
        police = self._after(1.0, self.talk("polda", "gabungan", "polda_patroli"))
        await asyncio.sleep(3.5 * (0.25 if self.quick else 1.0))
        self.scene("scene_preempt")
        await self.talk("gubernur", "gabungan", "gubernur_potong")
        await police

        # 4. Flooded Tanjung Jabung Timur raises an emergency on the command net: it takes the
        #    floor from whoever is talking, and BPBD answers on the joint net.
        self.scene("scene_emergency")
        await self.message("bupati-tanjabtim", "komando", status="banjir")
        await self.message("bupati-tanjabtim", "komando",
                           text="3 TPS di Muara Sabak terendam, 120 KK dievakuasi, butuh perahu")
        await self.flood_reports()
        await self.publish_evacuation()
        bpbd = self._after(2.0, self.talk("bpbd", "gabungan", "bpbd_jawab"))
        await self.talk("bupati-tanjabtim", "komando", "darurat_1506", emergency=True)
        await asyncio.gather(*replies, bpbd, logistics)

        # 5. The governor clears the emergency, writes to the bupati directly, and closes;
        #    the provincial operator files the situation report.
        self.scene("scene_close")
        await self.stations["gubernur"].clear_emergency("komando")
        await self.direct_message()
        await self.talk("gubernur", "komando", "gubernur_arahan")
        await self.write_sitrep()
        await asyncio.sleep(0.3)
        for task in self._background:
            task.cancel()

    # ---- election and flood operations ------------------------------------------------------

    async def tps_reports(self) -> None:
        """Each head reports the first polling station of its regency: voting, ballots cast so
        far, logistics arrived. Tanjung Jabung Timur's first TPS is already flooded."""
        assert self.server is not None
        tps = self.server.hub.tps
        for head in HEADS:
            region = self.roster.members[head].region
            stations = tps.of_regency(region)
            if not stations or head not in self.stations or region == "15.06":
                continue
            first = stations[0]
            await self.stations[head].report_tps(first.id, status="voting", logistics="arrived",
                                                 ballots_cast=first.voters * 3 // 5)
            self.result.tps_reports += 1
        board = await self.stations[MONITOR].board("election")
        self.result.turnout = board["province"]["turnout"]
        self.say(None, "🗳 " + t("tps_board", self.lang, n=board["province"]["tps_reported"],
                                 total=board["province"]["tps_total"],
                                 pct=(self.result.turnout or 0) * 100), "cyan")

    async def flood_reports(self) -> None:
        """The flooded TPS is moved to dry ground; the flood is reported with its shelter and
        the boats it needs; BPBD sends some."""
        assert self.server is not None
        bupati, bpbd = self.stations["bupati-tanjabtim"], self.stations["bpbd"]
        flooded = self.server.hub.tps.of_regency("15.06")[0]
        await bupati.report_tps(flooded.id, status="relocated", incidents=["flooding"],
                                relocated_to=("SD Negeri 12 Muara Sabak", -1.105, 103.835),
                                note="Air setinggi 80 cm di lokasi TPS")
        self.result.tps_reports += 1
        self.say("komando", "🗳 " + t("tps_relocated", self.lang, tps=flooded.id,
                                      place="SD Negeri 12 Muara Sabak"), "yellow")
        await bupati.report_flood("incident", incident="banjir-muara-sabak", regency="15.06",
                                  lat=-1.12, lon=103.82, title="Banjir Muara Sabak",
                                  water_level_cm=80, affected=1200, evacuated=450)
        await bpbd.report_flood("shelter", shelter="posko-kantor-bupati",
                                incident="banjir-muara-sabak", name="Posko Kantor Bupati",
                                lat=-1.115, lon=103.815, capacity=600, occupants=450)
        await bpbd.report_flood("need", need="perahu-karet", incident="banjir-muara-sabak",
                                kind="boats", quantity=6, unit="unit")
        await bpbd.report_flood("fulfilment", need="perahu-karet", quantity=4)
        self.result.flood_reports += 4
        self.say("gabungan", "🌊 " + t("flood_reported", self.lang, affected=1200,
                                       evacuated=450, outstanding=2), "yellow")

    async def direct_message(self) -> None:
        """One to one, sealed to the bupati's own HT: the others on the net never see it."""
        bupati = self.stations["bupati-tanjabtim"]
        text = "Terima kasih. Kabari saya langsung bila perahu sudah tiba."
        accepted = await self.stations["gubernur"].send_direct("bupati-tanjabtim", text=text)
        for _ in range(100):
            got = bupati.inbox.get(accepted.id)
            if got is not None and got.verified:
                break
            await asyncio.sleep(0.02)
        got = bupati.inbox.get(accepted.id)
        self.result.direct = ((got.text or "", got.verified) if got is not None
                              else ("", False))
        verified = "verified" if got is not None and got.verified else "not_verified"
        self.say(None, "✉ " + t("direct_sent", self.lang, to=self._name("bupati-tanjabtim"),
                                state=t(verified, self.lang)), "magenta")

    async def write_sitrep(self) -> None:
        """The provincial operator asks for the situation report and files it."""
        operator = self.stations[MONITOR]
        markdown = await operator.sitrep("markdown", self.lang)
        pdf = await operator.sitrep("pdf", self.lang)
        folder = self.data_dir / "sitreps"
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / time.strftime("sitrep-demo-%Y%m%d-%H%M%S")
        md_path, pdf_path = stem.with_suffix(".md"), stem.with_suffix(".pdf")
        md_path.write_text(str(markdown), encoding="utf-8")
        pdf_path.write_bytes(pdf if isinstance(pdf, bytes) else pdf.encode())
        self.result.sitrep = [md_path, pdf_path]
        self.say(None, "📄 " + t("sitrep_written", self.lang, path=md_path.name), "bold")

    async def _late_entry(self, url: str) -> None:
        client = await self._connect(url, LATE_COMER, [])
        joined_at = client.clock()
        await client.join("komando")
        for _ in range(200):
            reception = next((r for r in client.heard("komando") if r.frames), None)
            if reception is not None:
                ms = (reception.frames[0][0] - joined_at) * 1000
                self.result.late_entry_ms = ms
                self.say("komando", "↘ " + t("late_entry", self.lang,
                                             who=self._name(LATE_COMER), ms=ms), "yellow")
                break
            await asyncio.sleep(0.01)
        for tg in self._nets_of(LATE_COMER):
            if tg != "komando":
                await client.join(tg)

    # ---- results ----------------------------------------------------------------------------

    async def collect_positions(self) -> None:
        self.result.positions = len(await self.stations["gubernur"].positions())

    def collect(self) -> None:
        for client in self.stations.values():
            self.result.receipts += sum(len(by_member) for mid, by_member
                                        in client.receipts.items()
                                        if mid in self.result.messages)
        sent = {tx.stream: tx.sent_at for tx in self.result.transmissions}
        for client in self.stations.values():
            for reception in client.heard_log:
                self.result.heard += 1
                self.result.sealed_heard += reception.verified_member is not None
                self.result.rejected += reception.rejected
                times = sent.get(reception.stream)
                if not times:
                    continue
                for arrived, frame in reception.frames:
                    if frame.seq < len(times):
                        self.result.relay_ms.append((arrived - times[frame.seq]) * 1000)

    def summary(self) -> Table:
        r, lang = self.result, self.lang
        table = Table(title=t("summary", lang), show_header=False)
        table.add_column(style="bold")
        table.add_column()
        access = r.access_ms
        outcomes: dict[str, int] = {}
        for rec in r.recordings:
            outcomes[rec.outcome or "?"] = outcomes.get(rec.outcome or "?", 0) + 1
        table.add_row(t("sum_tx", lang), str(len(r.recordings)))
        table.add_row(t("sum_outcomes", lang),
                      ", ".join(f"{t(k, lang)}: {v}" for k, v in sorted(outcomes.items())))
        table.add_row(t("sum_access", lang), f"{_pct(access, 0.5):.1f} / {_pct(access, 0.95):.1f}"
                                             f" / {max(access, default=float('nan')):.1f} ms")
        table.add_row(t("sum_relay", lang),
                      f"{_pct(r.relay_ms, 0.5):.2f} / {_pct(r.relay_ms, 0.95):.2f} / "
                      f"{max(r.relay_ms, default=float('nan')):.2f} ms "
                      f"(n={len(r.relay_ms)})")
        waits = ", ".join(f"{w:.1f}" for w in r.queue_waits) or "-"
        table.add_row(t("sum_queue", lang), f"{waits} s")
        late = f"{r.late_entry_ms:.0f} ms" if r.late_entry_ms is not None else "-"
        table.add_row(t("sum_late", lang), late)
        table.add_row(t("sum_frames", lang), f"{r.relayed} / {r.dropped}")
        table.add_row(t("sum_rec", lang), f"{len(r.recordings)} → {self.data_dir / 'recordings'}")
        table.add_row(t("sum_messages", lang), t("sum_messages_value", lang,
                                                 n=len(r.messages), receipts=r.receipts))
        table.add_row(t("sum_positions", lang), str(r.positions))
        states = sorted(f"{self._name(m)}: {t('state_' + s, lang)}"
                        for (_, m), s in r.order_states.items())
        table.add_row(t("sum_orders", lang), "; ".join(states) or "-")
        if r.rollcall is not None:
            rc = r.rollcall
            table.add_row(t("sum_rollcall", lang), f"{len(rc.answered)}/"
                          f"{len(rc.answered) + len(rc.silent)}")
        table.add_row(t("sum_alerts", lang), ", ".join(p.name for p in r.alerts) or "-")
        turnout = f"{r.turnout * 100:.1f}%" if r.turnout is not None else "-"
        table.add_row(t("sum_operations", lang), t("sum_operations_value", lang,
                                                   tps=r.tps_reports, flood=r.flood_reports,
                                                   turnout=turnout))
        if r.direct is not None:
            table.add_row(t("sum_direct", lang), f"{r.direct[0]!r} "
                          f"({t('verified' if r.direct[1] else 'not_verified', lang)})")
        table.add_row(t("sum_sitrep", lang), ", ".join(str(p) for p in r.sitrep) or "-")
        table.add_row(t("sum_devices", lang), str(r.enrolled))
        table.add_row(t("sum_e2e", lang), t("sum_e2e_value", lang, sealed=r.sealed_heard,
                                             heard=r.heard, rejected=r.rejected))
        if r.audit is not None:
            table.add_row(t("sum_audit", lang), format_report(r.audit, lang))
        table.add_row(t("sum_duration", lang), f"{r.duration:.1f} s")
        return table


async def run_demo(data_dir: Path, *, console: Console | None = None, lang: str = "id",
                   quick: bool = False, port: int = 0) -> DemoResult:
    """Run the whole scene against a fresh server on loopback and return what happened."""
    console = console or Console()
    demo = Demo(data_dir, console, lang, quick)
    console.print(f"[bold]{t('demo_title', lang)}[/bold]")
    store = open_store(data_dir)
    started = time.monotonic()
    since = time.time()
    server = Server(demo.roster, store, data_dir, port=port, require_auth=True, http_port=0)
    demo.registry = DeviceRegistry(store.engine)
    demo.server = server
    await server.start()
    console.print(t("demo_server", lang, url=server.url, data=data_dir), highlight=False)
    console.print(t("demo_api", lang, url=f"{server.http_url}docs"), highlight=False)
    try:
        announce_console(demo, server)  # the browser console's address and governor's code
        await demo.run(server.url)
        demo.collect()
        await demo.collect_positions()
        await hold_console(demo, server)  # in a terminal: stay on the air for the console
        for client in demo.stations.values():
            await client.close()
    finally:
        stats = server.hub.stats
        demo.result.relayed = stats.deliveries
        demo.result.dropped = stats.dropped_not_holder + stats.dropped_stale + stats.dropped_bad
        await server.close()
    demo.result.recordings = await asyncio.to_thread(store.list_recordings, since=since,
                                                     limit=1000)
    demo.result.audit = await asyncio.to_thread(AuditLog(store.engine).verify)
    store.close()
    demo.result.duration = time.monotonic() - started
    console.print()
    console.print(demo.summary())
    console.print(t("rec_hint", lang, data=data_dir), style="dim", highlight=False)
    return demo.result
