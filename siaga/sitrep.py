"""The situation report (*laporan situasi*): election and flood boards, open orders, silent
stations and emergencies on one page set, as Markdown or PDF, in Bahasa Indonesia or English.

Built from plain inputs (boards, rows) so it needs no store or hub: the adapter gathers them,
this module only lays them out. Times are shown in WIB (UTC+7), the zone named, because the
people reading it are in Jambi whatever the server's clock says.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final

from fpdf import FPDF
from fpdf.enums import TableCellFillMode, XPos, YPos
from fpdf.fonts import FontFace

from .election import ElectionBoard, ElectionSummary, TpsState
from .flood import FloodBoard, FloodSummary, IncidentState
from .i18n import t
from .orders import Order
from .rollcall import RollCall
from .roster import Roster

#: Western Indonesia Time, the zone of Jambi.
WIB: Final = timezone(timedelta(hours=7), "WIB")
#: Shown instead of an order's text when it was sent sealed (end-to-end encrypted).
SEALED_TEXT: Final = "(tersegel/sealed)"


@dataclass(slots=True)
class OrderRow:
    id: str
    issued_by: str
    to: list[str]
    text: str
    due_at: float
    acknowledged: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    escalations: int = 0


@dataclass(slots=True)
class SilentRow:
    name: str
    region_name: str
    rollcall_at: float


@dataclass(slots=True)
class EmergencyRow:
    talkgroup: str
    raised_by: str
    at: float
    cleared_at: float | None = None
    cleared_by: str | None = None


@dataclass(slots=True)
class Sitrep:
    generated_at: float
    title: str
    election: ElectionBoard
    flood: FloodBoard
    orders: list[OrderRow] = field(default_factory=list)
    silent: list[SilentRow] = field(default_factory=list)
    emergencies: list[EmergencyRow] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def order_rows(orders: Iterable[Order], names: Mapping[str, str]) -> list[OrderRow]:
    """Rows for open orders, members by name; a sealed order's text is never shown."""
    rows = []
    for o in orders:
        def who(state: str, order: Order = o) -> list[str]:
            return [names.get(m, m) for m, r in sorted(order.recipients.items())
                    if r.state == state]
        rows.append(OrderRow(
            o.id, names.get(o.by, o.by), [names.get(m, m) for m in sorted(o.recipients)],
            o.text if o.text is not None else SEALED_TEXT, o.due_at,
            who("copied"), who("issued"), who("done"),
            sum(r.escalations for r in o.recipients.values())))
    return rows


def silent_rows(rollcall: RollCall | None, roster: Roster) -> list[SilentRow]:
    """Who did not answer the last roll call (none held: nobody)."""
    if rollcall is None:
        return []
    rows = []
    for member_id in rollcall.silent():
        member = roster.members.get(member_id)
        name = member.name if member else member_id
        region = roster.region_name(member.region) if member else ""
        rows.append(SilentRow(name, region, rollcall.started_at))
    return rows


# ---- formatting ------------------------------------------------------------------------------


def wib(at: float, with_date: bool = True) -> str:
    """A unix time as Jambi reads it, e.g. ``25-11-2026 17:05 WIB``."""
    moment = datetime.fromtimestamp(at, WIB)
    return moment.strftime("%d-%m-%Y %H:%M WIB" if with_date else "%d-%m %H:%M WIB")


def _num(n: int, lang: str) -> str:
    text = f"{n:,}"
    return text.replace(",", ".") if lang == "id" else text


def _pct(x: float | None, lang: str) -> str:
    if x is None:
        return "-"
    text = f"{100 * x:.1f}%"
    return text.replace(".", ",") if lang == "id" else text


def _label(prefix: str, value: str | None, lang: str) -> str:
    return "-" if value is None else t(f"sr_{prefix}_{value}", lang)


def _election_line(s: ElectionSummary, lang: str) -> str:
    line = t("sr_election_reported", lang, reported=s.tps_reported, total=s.tps_total)
    if s.voters_reporting:
        line += "; " + t("sr_election_ballots", lang, ballots=_num(s.ballots_cast, lang),
                         voters=_num(s.voters_reporting, lang), turnout=_pct(s.turnout, lang))
    return line


def _flood_line(s: FloodSummary, lang: str) -> str:
    line = t("sr_flood_summary", lang, active=s.by_status["active"],
             receding=s.by_status["receding"], closed=s.by_status["closed"],
             affected=_num(s.affected, lang), evacuated=_num(s.evacuated, lang),
             sheltered=_num(s.sheltered, lang), capacity=_num(s.shelter_capacity, lang))
    needs = [f"{_label('need', k, lang)} ({n})" for k, n in s.needs_outstanding.items() if n]
    if needs:
        line += "; " + t("sr_needs_open", lang, needs=", ".join(needs))
    return line


def _tps_row(s: TpsState, lang: str) -> list[str]:
    status = _label("tps", s.status, lang)
    if s.relocated_to is not None:
        status += " (" + t("sr_relocated_to", lang, place=s.relocated_to.place) + ")"
    ballots = "-" if s.ballots_cast is None else _num(s.ballots_cast, lang)
    return [s.id, s.village, status, f"{ballots} / {_num(s.voters, lang)}",
            _pct(s.turnout, lang), ", ".join(_label("kind", k, lang) for k in s.incidents),
            _label("logistics", s.logistics, lang),
            "-" if s.updated_at is None else wib(s.updated_at, with_date=False), s.note or ""]


def _incident_row(i: IncidentState, lang: str) -> list[str]:
    def count(n: int | None) -> str:
        return "-" if n is None else _num(n, lang)

    needs = "; ".join(f"{_label('need', n.kind, lang)} {_num(n.outstanding, lang)} {n.unit}"
                      for n in i.needs if n.outstanding > 0)
    sheltered = sum(s.occupants for s in i.shelters)
    return [i.title, _label("flood", i.status, lang), count(i.water_level_cm),
            count(i.affected), count(i.evacuated), _num(sheltered, lang), needs or "-",
            wib(i.updated_at, with_date=False), i.note or ""]


def _headers(lang: str, *keys: str) -> list[str]:
    return [t(k, lang) for k in keys]


TPS_COLUMNS: Final = ("sr_tps", "sr_village", "sr_status", "sr_ballots", "sr_turnout",
                      "sr_incidents", "sr_logistics", "sr_updated", "sr_note")
FLOOD_COLUMNS: Final = ("sr_incident", "sr_status", "sr_water", "sr_affected", "sr_evacuated",
                        "sr_sheltered", "sr_needs", "sr_updated", "sr_note")
ORDER_COLUMNS: Final = ("sr_order_by", "sr_order_to", "sr_order_text", "sr_order_due",
                        "sr_order_copied", "sr_order_pending", "sr_order_done",
                        "sr_order_escalations")


def _order_row(o: OrderRow) -> list[str]:
    return [o.issued_by, ", ".join(o.to), o.text, wib(o.due_at, with_date=False),
            ", ".join(o.acknowledged) or "-", ", ".join(o.pending) or "-",
            ", ".join(o.done) or "-", str(o.escalations)]


def _silent_row(s: SilentRow, lang: str) -> list[str]:
    return [s.name, s.region_name or t("sr_province_level", lang), wib(s.rollcall_at)]


def _emergency_row(e: EmergencyRow, lang: str) -> list[str]:
    cleared = (t("sr_still_active", lang) if e.cleared_at is None
               else f"{wib(e.cleared_at, with_date=False)} ({e.cleared_by or '-'})")
    return [e.talkgroup, e.raised_by, wib(e.at), cleared]


#: Unreported TPS are listed by id up to this many per regency, then counted.
MAX_UNREPORTED_IDS: Final = 30


def _election_part(sitrep: Sitrep, code: str, lang: str) -> tuple[list[str], list[list[str]]]:
    """A regency's election lines (summary, disrupted, relocated, not yet reported) and a
    table row per TPS that reported: with KPU's full list, thousands of silent TPS would
    bury the ones that matter."""
    summary = sitrep.election.regency(code)
    stations = sitrep.election.stations_of(code)
    if summary is None or not stations:
        return [t("sr_no_tps", lang)], []
    lines = [_election_line(summary, lang)]
    for key, ids in (("sr_disrupted", summary.disrupted), ("sr_relocated", summary.relocated)):
        if ids:
            lines.append(t(key, lang, ids=", ".join(ids)))
    silent = [s.id for s in stations if s.status is None]
    if silent:
        shown = ", ".join(silent[:MAX_UNREPORTED_IDS])
        more = len(silent) - MAX_UNREPORTED_IDS
        if more > 0:
            shown += " " + t("sr_and_more", lang, n=more)
        lines.append(t("sr_unreported", lang, ids=shown))
    return lines, [_tps_row(s, lang) for s in stations if s.status is not None]


def _regions(sitrep: Sitrep) -> list[tuple[str, str]]:
    """Every kabupaten/kota on either board, by code."""
    names = {r.code: r.name for r in sitrep.election.regencies}
    names.update({r.code: r.name for r in sitrep.flood.regencies if r.code not in names})
    return sorted(names.items())


def _sections(sitrep: Sitrep, lang: str) -> list[tuple[str, str, list[str], list[list[str]]]]:
    """The closing sections as (title key, key of the text when empty, headers, rows)."""
    return [
        ("sr_orders", "sr_no_orders", _headers(lang, *ORDER_COLUMNS),
         [_order_row(o) for o in sitrep.orders]),
        ("sr_silent", "sr_no_silent", _headers(lang, "sr_name", "sr_region", "sr_rollcall_at"),
         [_silent_row(s, lang) for s in sitrep.silent]),
        ("sr_emergencies", "sr_no_emergencies",
         _headers(lang, "sr_talkgroup", "sr_raised_by", "sr_at", "sr_cleared"),
         [_emergency_row(e, lang) for e in sitrep.emergencies]),
    ]


# ---- Markdown --------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def _md_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def to_markdown(sitrep: Sitrep, lang: str = "id") -> str:
    """The sitrep as GitHub-flavoured Markdown; user text is escaped inside tables."""
    el, fl = sitrep.election, sitrep.flood
    generated = t("sr_generated", lang, when=wib(sitrep.generated_at))
    out = [f"# {t('sr_title', lang, where=sitrep.title)}", "", f"*{generated}*",
           "", f"## {t('sr_province', lang)}", "",
           f"- **{t('sr_election', lang)}:** {_election_line(el.province, lang)}",
           f"- **{t('sr_flood', lang)}:** {_flood_line(fl.province, lang)}", ""]
    for code, name in _regions(sitrep):
        out += [f"## {name} ({code})", "", f"### {t('sr_election', lang)}", ""]
        lines, rows = _election_part(sitrep, code, lang)
        for line in lines:
            out += [line, ""]
        if rows:
            out += _md_table(_headers(lang, *TPS_COLUMNS), rows)
        out += [f"### {t('sr_flood', lang)}", ""]
        flood_summary = fl.regency(code)
        incidents = fl.incidents_of(code)
        if flood_summary is None or not incidents:
            out += [t("sr_no_incidents", lang), ""]
        else:
            out += [_flood_line(flood_summary, lang), ""]
            out += _md_table(_headers(lang, *FLOOD_COLUMNS),
                             (_incident_row(i, lang) for i in incidents))
    for title, empty, headers, rows in _sections(sitrep, lang):
        out += [f"## {t(title, lang)}", ""]
        out += _md_table(headers, rows) if rows else [t(empty, lang), ""]
    return "\n".join(out).rstrip() + "\n"


# ---- PDF -------------------------------------------------------------------------------------

_SUBSTITUTES: Final = str.maketrans({
    "—": "-", "–": "-", "−": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...",
    "•": "-", "→": "->", "≤": "<=", "≥": ">=", "\u00a0": " ", "\u200b": ""})


def latin1(text: str) -> str:
    """Text the PDF core fonts can draw (Latin-1 only): dashes and quotes mapped to ASCII,
    accented letters stripped of accents Latin-1 lacks, anything else as "?"."""
    out = []
    for ch in text.translate(_SUBSTITUTES):
        if ord(ch) < 256:
            out.append(ch)
        else:
            base = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore")
            out.append(base.decode("latin-1") or "?")
    return "".join(out)


class _Pdf(FPDF):
    """A page footer with the title, the time and the page number."""

    footer_text = ""
    lang_code = "id"

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("Helvetica", "", 7)
        self.set_text_color(110)
        self.cell(0, 5, latin1(self.footer_text), align="L")
        self.cell(0, 5, t("sr_page", self.lang_code, n=self.page_no()), align="R")
        self.set_text_color(0)


def _pdf_heading(pdf: FPDF, text: str, size: float) -> None:
    if pdf.get_y() > pdf.h - 40:
        pdf.add_page()
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", size)
    pdf.multi_cell(0, size * 0.5, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 9)


def _pdf_line(pdf: FPDF, text: str) -> None:
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(0, 4.5, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _pdf_table(pdf: FPDF, headers: Sequence[str], rows: Sequence[Sequence[str]],
               widths: Sequence[int]) -> None:
    pdf.set_font("Helvetica", "", 8)
    with pdf.table(col_widths=tuple(widths), line_height=4.2, padding=1, text_align="LEFT",
                   headings_style=FontFace(emphasis="BOLD", fill_color=(225, 225, 225)),
                   cell_fill_mode=TableCellFillMode.NONE) as table:
        for cells in [headers, *rows]:
            row = table.row()
            for cell in cells:
                row.cell(latin1(cell))
    pdf.ln(2)


def _turnout_chart(pdf: FPDF, sitrep: Sitrep, lang: str) -> None:
    """One horizontal bar per kabupaten/kota: the turnout of its reporting TPS."""
    _pdf_heading(pdf, t("sr_turnout_chart", lang), 11)
    label_w, bar_w, bar_h, gap = 60.0, 150.0, 4.0, 1.6
    x0 = pdf.l_margin + label_w
    rows = sitrep.election.regencies
    if pdf.get_y() + (bar_h + gap) * (len(rows) + 1) > pdf.h - 15:
        pdf.add_page()
    top = pdf.get_y() + 1
    pdf.set_draw_color(160)
    for frac in (0.0, 0.5, 1.0):
        x = x0 + bar_w * frac
        pdf.line(x, top, x, top + (bar_h + gap) * len(rows))
    pdf.set_font("Helvetica", "", 8)
    for i, r in enumerate(rows):
        y = top + i * (bar_h + gap)
        pdf.set_xy(pdf.l_margin, y)
        pdf.cell(label_w - 2, bar_h, latin1(r.name), align="R")
        if r.turnout is not None:
            pdf.set_fill_color(46, 125, 50)
            pdf.rect(x0, y, max(0.3, bar_w * r.turnout), bar_h, style="F")
        pdf.set_xy(x0 + bar_w + 2, y)
        pdf.cell(30, bar_h, latin1(_pct(r.turnout, lang) if r.turnout is not None
                                   else t("sr_no_data", lang)))
    y_axis = top + (bar_h + gap) * len(rows)
    for frac in (0.0, 0.5, 1.0):
        pdf.set_xy(x0 + bar_w * frac - 6, y_axis)
        pdf.cell(12, 4, _pct(frac, lang), align="C")
    pdf.set_xy(pdf.l_margin, y_axis + 6)
    pdf.set_draw_color(0)
    pdf.set_fill_color(255)


def to_pdf(sitrep: Sitrep, lang: str = "id", *, compress: bool = True) -> bytes:
    """The sitrep as an A4 landscape PDF (core fonts, no external files). ``compress=False``
    leaves page streams readable, for tests and for inspecting the output."""
    pdf = _Pdf(orientation="L", unit="mm", format="A4")
    pdf.lang_code = lang
    pdf.footer_text = f"{sitrep.title} - {wib(sitrep.generated_at)}"
    pdf.set_compression(compress)
    pdf.set_title(latin1(sitrep.title))
    pdf.set_creation_date(datetime.fromtimestamp(sitrep.generated_at, UTC))
    pdf.set_auto_page_break(True, margin=14)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 8, latin1(t("sr_title", lang, where=sitrep.title)),
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _pdf_line(pdf, t("sr_generated", lang, when=wib(sitrep.generated_at)))
    el, fl = sitrep.election, sitrep.flood
    _pdf_heading(pdf, t("sr_province", lang), 12)
    _pdf_line(pdf, f"{t('sr_election', lang)}: {_election_line(el.province, lang)}")
    _pdf_line(pdf, f"{t('sr_flood', lang)}: {_flood_line(fl.province, lang)}")
    _turnout_chart(pdf, sitrep, lang)
    for code, name in _regions(sitrep):
        _pdf_heading(pdf, f"{name} ({code})", 12)
        lines, rows = _election_part(sitrep, code, lang)
        _pdf_line(pdf, f"{t('sr_election', lang)}: {lines[0]}")
        for line in lines[1:]:
            _pdf_line(pdf, line)
        if rows:
            _pdf_table(pdf, _headers(lang, *TPS_COLUMNS), rows,
                       (30, 28, 32, 20, 16, 30, 16, 24, 40))
        flood_summary, incidents = fl.regency(code), fl.incidents_of(code)
        if flood_summary is None or not incidents:
            _pdf_line(pdf, f"{t('sr_flood', lang)}: {t('sr_no_incidents', lang)}")
        else:
            _pdf_line(pdf, f"{t('sr_flood', lang)}: {_flood_line(flood_summary, lang)}")
            _pdf_table(pdf, _headers(lang, *FLOOD_COLUMNS),
                       [_incident_row(i, lang) for i in incidents],
                       (44, 16, 14, 18, 18, 18, 44, 24, 40))
    widths = {"sr_orders": (22, 30, 60, 20, 30, 30, 30, 14),
              "sr_silent": (60, 60, 40), "sr_emergencies": (40, 50, 40, 50)}
    for title, empty, headers, rows in _sections(sitrep, lang):
        _pdf_heading(pdf, t(title, lang), 12)
        if rows:
            _pdf_table(pdf, headers, rows, widths[title])
        else:
            _pdf_line(pdf, t(empty, lang))
    return bytes(pdf.output())


__all__ = [
    "SEALED_TEXT", "WIB",
    "EmergencyRow", "OrderRow", "SilentRow", "Sitrep",
    "latin1", "order_rows", "silent_rows", "to_markdown", "to_pdf", "wib",
]
