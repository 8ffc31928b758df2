"""The situation report: rows built from orders and roll calls, Markdown in both languages,
and a PDF (valid, with the regency names and the chart) from fpdf2's core fonts."""

from __future__ import annotations

import re
import zlib

import pytest

from siaga.election import (
    IncidentKind,
    Logistics,
    Relocation,
    TpsReport,
    TpsStatus,
    election_board,
    load_tps_registry,
)
from siaga.flood import (
    Fulfilment,
    IncidentReport,
    IncidentStatus,
    NeedKind,
    NeedReport,
    ShelterReport,
    flood_board,
)
from siaga.i18n import CATALOG
from siaga.orders import Order, Recipient
from siaga.rollcall import RollCall
from siaga.roster import Roster
from siaga.sitrep import (
    SEALED_TEXT,
    EmergencyRow,
    OrderRow,
    SilentRow,
    Sitrep,
    latin1,
    order_rows,
    silent_rows,
    to_markdown,
    to_pdf,
    wib,
)

NOW = 1_795_000_000.0  # 2026-11-18 ... UTC


def make_sitrep(roster: Roster, empty: bool = False) -> Sitrep:
    names = {c: r.name for c, r in roster.regions.items()}
    registry = load_tps_registry(roster.regions)
    sabak = registry.of_regency("15.06")
    kota = registry.of_regency("15.71")
    tps_reports = [] if empty else [
        TpsReport("t1", sabak[0].id, "kpu", NOW - 600, TpsStatus.VOTING,
                  logistics=Logistics.ARRIVED),
        TpsReport("t2", sabak[0].id, "kpu", NOW - 300, TpsStatus.RELOCATED, 120,
                  (IncidentKind.FLOODING,), relocated_to=Relocation("Masjid Al-Ikhlas", -1.1,
                                                                    103.8)),
        TpsReport("t3", sabak[1].id, "kpu", NOW - 200, TpsStatus.DISRUPTED,
                  incidents=(IncidentKind.POWER,), note="Genset | rusak"),
        TpsReport("t4", kota[0].id, "kpu", NOW - 100, TpsStatus.COUNTING, kota[0].voters),
    ]
    flood_reports = [] if empty else [
        IncidentReport("f1", "banjir-sabak", "bpbd", NOW - 3600, "15.06", -1.12, 103.82,
                       "Banjir Muara Sabak — Sungai Batanghari", IncidentStatus.ACTIVE, 120,
                       1500, 400),
        ShelterReport("f2", "masjid", "banjir-sabak", "bpbd", NOW - 3000, "Masjid Raya",
                      -1.11, 103.83, 300, 250),
        NeedReport("f3", "perahu", "banjir-sabak", "bpbd", NOW - 2900, NeedKind.BOATS, 4,
                   "unit"),
        Fulfilment("f4", "perahu", "bpbd", NOW - 1000, 1),
        IncidentReport("f5", "genangan", "bpbd", NOW - 500, "15.71", -1.6, 103.6,
                       "Genangan Telanaipura", IncidentStatus.RECEDING, 20, 30, 0),
    ]
    members = {m.id: m.name for m in roster.members.values()}
    orders = [
        Order("o1", "komando", "gubernur", NOW - 900, NOW + 3600, 60, "Laporkan TPS terdampak",
              recipients={"bupati-tanjabtim": Recipient("bupati-tanjabtim", "copied"),
                          "bupati-tebo": Recipient("bupati-tebo", escalations=2)}),
        Order("o2", "komando", "gubernur", NOW - 800, NOW + 7200, 60, None, sealed="x",
              recipients={"bupati-bungo": Recipient("bupati-bungo", "done")}),
    ]
    rollcall = RollCall("rc1", "komando", "operator-provinsi", NOW - 1800, NOW - 1680,
                        frozenset({"gubernur", "bupati-kerinci", "ghost"}))
    rollcall.answer("gubernur", NOW - 1790)
    return Sitrep(
        NOW, "Provinsi Jambi",
        election_board(registry, tps_reports, names, roster.province),
        flood_board(flood_reports, names, roster.province),
        [] if empty else order_rows(orders, members),
        [] if empty else silent_rows(rollcall, roster),
        [] if empty else [EmergencyRow("gabungan", "BPBD Provinsi Jambi", NOW - 3500),
                          EmergencyRow("komando", "Bupati Tebo", NOW - 7000, NOW - 6900,
                                       "Gubernur Jambi")])


def test_rows_from_orders_and_rollcalls(roster: Roster) -> None:
    sitrep = make_sitrep(roster)
    o1, o2 = sitrep.orders
    assert o1 == OrderRow("o1", "Gubernur Jambi", ["Bupati Tanjung Jabung Timur", "Bupati Tebo"],
                          "Laporkan TPS terdampak", NOW + 3600,
                          ["Bupati Tanjung Jabung Timur"], ["Bupati Tebo"], [], 2)
    assert o2.text == SEALED_TEXT and o2.done == ["Bupati Bungo"]
    assert sitrep.silent == [
        SilentRow("Bupati Kerinci", "Kabupaten Kerinci", NOW - 1800),
        SilentRow("ghost", "", NOW - 1800)]
    assert silent_rows(None, roster) == []
    assert sitrep.to_dict()["election"]["province"]["tps_total"] == 43


def test_wib_and_latin1() -> None:
    assert wib(0.0) == "01-01-1970 07:00 WIB"
    assert wib(0.0, with_date=False) == "01-01 07:00 WIB"
    assert latin1("Banjir — “Sabak” ≥ 1 m… café ā 水") == 'Banjir - "Sabak" >= 1 m... café a ?'
    latin1("x").encode("latin-1")


@pytest.mark.parametrize("lang", ["id", "en"])
def test_markdown_has_every_section(roster: Roster, lang: str) -> None:
    md = to_markdown(make_sitrep(roster), lang)
    heading = {"id": "Laporan Situasi", "en": "Situation Report"}[lang]
    assert md.startswith(f"# {heading} — Provinsi Jambi\n")
    assert "WIB" in md
    for region in roster.regions.values():
        assert f"## {region.name} ({region.code})" in md
    assert "Genset \\| rusak" in md  # user text cannot break a table
    assert "Masjid Al-Ikhlas" in md and "Banjir Muara Sabak" in md
    assert SEALED_TEXT in md and "Bupati Kerinci" in md and "gabungan" in md
    words = {
        "id": ["Ringkasan provinsi", "Perintah terbuka", "Stasiun diam", "Panggilan darurat",
               "dipindah", "terganggu", "listrik padam", "perahu 3 unit", "masih berlangsung",
               "Pemilu", "aktif", "partisipasi 82,0%", "surut", "100,0%", "1.500"],
        "en": ["Province summary", "Open orders", "Silent stations", "Recent emergencies",
               "relocated", "disrupted", "power cut", "boats 3 unit", "still active",
               "Election", "active", "turnout 82.0%", "receding", "100.0%", "1,500"],
    }[lang]
    for word in words:
        assert word in md, word


@pytest.mark.parametrize("lang", ["id", "en"])
def test_markdown_when_nothing_happened(roster: Roster, lang: str) -> None:
    md = to_markdown(make_sitrep(roster, empty=True), lang)
    expected = {"id": ["Tidak ada kejadian banjir.", "Tidak ada perintah terbuka.",
                       "Semua stasiun menjawab.", "Tidak ada panggilan darurat.",
                       "Belum melapor: 15.01.01.01.001, "],
                "en": ["No flood incidents.", "No open orders.", "Every station answered.",
                       "No emergencies.", "Not yet reported: 15.01.01.01.001, "]}[lang]
    for text in expected:
        assert text in md, text


def test_markdown_regency_without_tps(roster: Roster) -> None:
    sitrep = make_sitrep(roster, empty=True)
    sitrep.election.stations = [s for s in sitrep.election.stations if s.regency != "15.01"]
    assert "Tidak ada TPS terdaftar." in to_markdown(sitrep, "id")
    assert "No polling stations registered." in to_markdown(sitrep, "en")


def _page_text(pdf: bytes) -> str:
    """The text shown on the pages of an uncompressed PDF (the strings of Tj operators)."""
    return " ".join(re.findall(r"\((.*?)\) ?Tj", pdf.decode("latin-1")))


@pytest.mark.parametrize("lang", ["id", "en"])
def test_pdf_is_valid_and_names_every_regency(roster: Roster, lang: str) -> None:
    sitrep = make_sitrep(roster)
    raw = to_pdf(sitrep, lang, compress=False)
    assert raw.startswith(b"%PDF-") and raw.rstrip().endswith(b"%%EOF")
    text = _page_text(raw)
    for region in roster.regions.values():
        assert region.name in text, region.name
    assert "Banjir Muara Sabak - Sungai Batanghari" in text  # the dash mapped to Latin-1
    assert "WIB" in text
    assert re.search(rb"\sre f\b", raw)  # filled rectangles: the turnout bars
    compressed = to_pdf(sitrep, lang)
    assert compressed.startswith(b"%PDF-") and len(compressed) < len(raw)
    assert to_pdf(sitrep, lang) == compressed  # deterministic: dated by generated_at


def test_pdf_when_nothing_happened(roster: Roster) -> None:
    raw = to_pdf(make_sitrep(roster, empty=True), "en", compress=False)
    text = _page_text(raw)
    assert "No open orders." in text and "no data yet" in text


def test_every_sitrep_label_is_translated() -> None:
    keys = [k for k in CATALOG if k.startswith("sr_")]
    assert len(keys) > 40
    for key in keys:
        ident, en = CATALOG[key]
        assert ident and en, key
    for prefix, enum in (("tps", TpsStatus), ("kind", IncidentKind), ("logistics", Logistics),
                         ("flood", IncidentStatus), ("need", NeedKind)):
        for value in enum:
            assert f"sr_{prefix}_{value.value}" in CATALOG


def test_compressed_streams_decompress(roster: Roster) -> None:
    raw = to_pdf(make_sitrep(roster), "id")
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", raw, re.DOTALL)
    assert streams and any(b"Tj" in zlib.decompress(s) for s in streams
                           if s[:1] == b"x")


def test_modules_export_what_they_name() -> None:
    import siaga.election
    import siaga.fields
    import siaga.flood
    import siaga.sitrep
    import siaga.store.ops_sql

    for module in (siaga.election, siaga.fields, siaga.flood, siaga.sitrep,
                   siaga.store.ops_sql):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_many_unreported_tps_are_counted_not_listed(roster: Roster) -> None:
    from siaga.election import Tps, TpsRegistry

    registry = TpsRegistry(Tps(f"15.01.01.01.{n:03d}", "15.01", "Siulak", "Koto Kapeh", n,
                               -1.87, 101.44, 200) for n in range(1, 36))
    names = {c: r.name for c, r in roster.regions.items()}
    sitrep = make_sitrep(roster, empty=True)
    sitrep.election = election_board(registry, [], names)
    md = to_markdown(sitrep, "en")
    assert "15.01.01.01.030 and 5 more" in md and "15.01.01.01.031" not in md
    assert "dan 5 lainnya" in _page_text(to_pdf(sitrep, "id", compress=False))
