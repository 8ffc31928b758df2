"""Election and flood operations on the radio side: reports in, boards and sitreps out.

Reports are checked by the domain modules (:mod:`siaga.election`, :mod:`siaga.flood`), stored
before they are acknowledged (:class:`StoreReport`), and only then folded into the state the
boards are drawn from. Boards and situation reports are read by anyone signed in; a member
with a region (a bupati, a regency operator) sees that regency.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .. import wire
from ..alerts import authorise, notice_scope, verify
from ..alerts.signing import SignedAlert
from ..crypto import DevicePublic, b64e
from ..election import TpsReport, check_tps_report, election_board
from ..errors import CryptoError, ErrorCode, Refused
from ..flood import FloodReport, check_flood_report, flood_report_from_dict
from ..roster import Member
from ..sitrep import Sitrep, order_rows, silent_rows
from .base import HubBase
from .outputs import Audit, Output, RenderSitrep, Send, StoreAlert, StoreReport
from .state import Session


class Operations(HubBase):
    """TPS and flood reports, the boards, the situation report."""

    # ---- reports ------------------------------------------------------------------------

    def _tps_report(self, session: Session, msg: wire.TpsReportSend,
                    now: float) -> list[Output]:
        assert session.member is not None
        fields = _fields(msg, exclude=("ref",))
        if msg.relocated_to is not None:
            fields["relocated_to"] = {"place": msg.relocated_to.place,
                                      "lat": msg.relocated_to.lat, "lon": msg.relocated_to.lon}
        report = TpsReport.from_dict({**fields, "reporter": session.member.id, "at": now})
        if report.id in self._tps_seen:  # a retry of a stored report
            return [self._send(session.conn, wire.ReportAccepted(id=report.id, stored_at=now,
                                                                 ref=msg.ref))]
        tps = check_tps_report(report, self.tps, session.member)
        return [StoreReport("tps", report, tps.regency, None, session.conn, msg.ref)]

    def _flood_report(self, session: Session, msg: wire.FloodReportSend,
                      now: float) -> list[Output]:
        assert session.member is not None
        fields = _fields(msg, exclude=("ref", "report"))
        report = flood_report_from_dict({"type": msg.report, **fields,
                                         "reporter": session.member.id, "at": now})
        if report.id in self.flood.seen:
            return [self._send(session.conn, wire.ReportAccepted(id=report.id, stored_at=now,
                                                                 ref=msg.ref))]
        scope = check_flood_report(report, self.flood, session.member,
                                   set(self.roster.regions))
        return [StoreReport("flood", report, scope.regency, scope.incident, session.conn,
                            msg.ref)]

    def report_stored(self, store: StoreReport, added: bool, now: float) -> list[Output]:
        """The report is durable (``added`` False: stored before): count it, acknowledge."""
        out: list[Output] = []
        if added:
            self._count(store.report)
            # Boards on screen refresh now, not at their next poll: tell whoever may see it.
            viewers = {m.id for m in self.roster.members.values()
                       if m.region in ("", store.regency)}
            to = self._conns_of(viewers)
            if to:
                out.append(Send(to, wire.encode(wire.BoardChanged(
                    board="election" if store.kind == "tps" else "flood",
                    regency=store.regency, at=now))))
        if store.conn in self.sessions:
            out.append(self._send(store.conn, wire.ReportAccepted(
                id=store.report.id, stored_at=now, ref=store.ref)))
        return out

    def restore_reports(self, tps: list[TpsReport], flood: list[FloodReport]) -> None:
        """At start: the stored reports, oldest first."""
        for report in [*tps, *flood]:
            self._count(report)

    def _count(self, report: TpsReport | FloodReport) -> None:
        if isinstance(report, TpsReport):
            if report.id not in self._tps_seen:
                self._tps_seen.add(report.id)
                self.tps_reports.append(report)
        else:
            self.flood.apply(report)

    # ---- public alerts ----------------------------------------------------------------------

    def _alert_publish(self, session: Session, msg: wire.AlertPublish) -> list[Output]:
        """A notice signed on the publisher's device: verified here against its enrolled key,
        so the feed carries only what an authorised member really signed."""
        assert session.member is not None
        record = self.devices.get(session.device) if self.devices is not None else None
        if record is None:
            raise Refused("public alerts must be signed by an enrolled device",
                          ErrorCode.NOT_ALLOWED)
        signed = SignedAlert(msg.xml.encode(), msg.sig, session.device)
        try:
            verify(signed, DevicePublic(record.sign_pub, record.dh_pub))
            alert = signed.to_alert()
        except CryptoError as exc:
            raise Refused(f"sig: {exc.message}", ErrorCode.BAD_SIGNATURE) from exc
        kind, region = notice_scope(alert)
        if region not in self.roster.regions:
            raise Refused(f"region: no kabupaten/kota {region!r}", ErrorCode.UNKNOWN_REGION)
        authorise(session.member, kind, region)
        headline = alert.infos[0].headline or "" if alert.infos else ""
        notice = wire.AlertNotice(id=alert.identifier, kind=kind.value, region=region,
                                  headline=headline, sender=session.member.id,
                                  url=f"/alerts/{alert.identifier}.xml")
        return [StoreAlert(SignedAlert(signed.xml, signed.signature_b64, signed.device_id),
                           notice, session.conn, msg.ref)]

    def alert_stored(self, store: StoreAlert, now: float) -> list[Output]:
        """The notice is in the feed: tell the publisher, and everyone on the air."""
        out: list[Output] = [self._broadcast(store.notice),
                             Audit("alert_published", now, actor=store.signed.device_id,
                                   subject=store.notice.id,
                                   detail={"kind": store.notice.kind,
                                           "region": store.notice.region})]
        if store.conn in self.sessions:
            out.append(self._send(store.conn, msgspec.structs.replace(store.notice,
                                                                      ref=store.ref)))
        return out

    # ---- boards and the situation report --------------------------------------------------

    def _board_request(self, session: Session, msg: wire.BoardRequest) -> list[Output]:
        assert session.member is not None
        regency = self._visible_regency(session.member, msg.regency)
        data = self.board(msg.board, regency)
        return [self._send(session.conn, wire.Board(board=msg.board, data=data, ref=msg.ref))]

    def board(self, which: str, regency: str | None = None) -> dict[str, Any]:
        """The election or flood board as plain data, of the province or one regency."""
        names = {code: r.name for code, r in self.roster.regions.items()}
        if which == "election":
            election = election_board(self.tps, self.tps_reports, names, self.roster.province)
            data = election.to_dict()
            if regency is not None:
                data["stations"] = [s for s in data["stations"] if s["regency"] == regency]
        else:
            data = self.flood.board(names, self.roster.province).to_dict()
            if regency is not None:
                data["incidents"] = [i for i in data["incidents"] if i["regency"] == regency]
        if regency is not None:
            data["regencies"] = [r for r in data["regencies"] if r["code"] == regency]
        return data

    def _visible_regency(self, member: Member, regency: str | None) -> str | None:
        if regency is not None and regency not in self.roster.regions:
            raise Refused(f"regency: no kabupaten/kota {regency!r}", ErrorCode.UNKNOWN_REGION)
        if member.region and regency not in (None, member.region):
            raise Refused(f"{member.name} sees the board of {member.region} only",
                          ErrorCode.NOT_ALLOWED)
        return member.region or regency

    def sitrep(self, now: float) -> Sitrep:
        """The situation report as of ``now``: boards, open orders, the silent stations of
        the latest roll call, recent emergencies."""
        names = {code: r.name for code, r in self.roster.regions.items()}
        members = {m.id: m.name for m in self.roster.members.values()}
        latest = max(self.last_rollcalls.values(), key=lambda rc: rc.started_at, default=None)
        return Sitrep(
            generated_at=now, title=self.roster.province or self.roster.network,
            election=election_board(self.tps, self.tps_reports, names, self.roster.province),
            flood=self.flood.board(names, self.roster.province),
            orders=order_rows([o for o in self.orders.orders.values() if o.open], members),
            silent=silent_rows(latest, self.roster),
            emergencies=list(self.emergencies))

    def _sitrep_request(self, session: Session, msg: wire.SitrepRequest,
                        now: float) -> list[Output]:
        return [RenderSitrep(self.sitrep(now), msg.format, msg.lang, session.conn, msg.ref)]

    def sitrep_rendered(self, render: RenderSitrep, content: bytes | str) -> list[Output]:
        if render.conn not in self.sessions:
            return []
        text = content if isinstance(content, str) else b64e(content)
        if len(text) > wire.MAX_SERVER_BYTES - 1024:
            return [self._error(render.conn, ErrorCode.TOO_LARGE,
                                "the report is too large for the radio link; fetch it over "
                                "the HTTP API (GET /api/v1/sitrep)", render.ref)]
        return [self._send(render.conn, wire.SitrepMsg(
            format=render.format, content=text, generated_at=render.sitrep.generated_at,
            ref=render.ref))]



def _fields(msg: Any, exclude: tuple[str, ...]) -> dict[str, Any]:
    """A wire message's given fields as plain data (what the domain decoders read); an empty
    ``incidents`` list means "no change", like an absent field."""
    return {k: v for k in msg.__struct_fields__ if k not in exclude
            and (v := getattr(msg, k)) is not None and v != []}
