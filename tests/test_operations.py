"""Election and flood operations over the radio protocol, against a real server: reports are
stored before they count, bad ones are refused naming the field, boards and sitreps follow."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import Connect

from siaga.errors import Refused
from siaga.roster import Roster
from siaga.server import Server, running_server
from siaga.store import Store

KERINCI_TPS = "15.01.01.01.001"
SABAK_TPS = "15.06.01.01.001"


async def test_tps_reports_fill_the_board(connect: Connect) -> None:
    operator = await connect("operator-kerinci")
    kpu = await connect("kpu")
    await operator.report_tps(KERINCI_TPS, status="voting", logistics="arrived")
    accepted = await operator.report_tps(KERINCI_TPS, ballots_cast=200, report_id="tps-rep-01")
    # A retry of the same id is acknowledged, and counted once.
    again = await operator.report_tps(KERINCI_TPS, ballots_cast=200, report_id="tps-rep-01")
    assert again.id == accepted.id
    await kpu.report_tps(SABAK_TPS, status="relocated", incidents=["flooding"],
                         relocated_to=("SD 12 Muara Sabak", -1.12, 103.83))
    board = await kpu.board("election")
    station = next(s for s in board["stations"] if s["id"] == KERINCI_TPS)
    assert (station["status"], station["ballots_cast"], station["logistics"]) == (
        "voting", 200, "arrived")
    assert station["reports"] == 2
    province = board["province"]
    assert province["tps_reported"] == 2 and province["ballots_cast"] == 200
    assert SABAK_TPS in next(r for r in board["regencies"] if r["code"] == "15.06")["relocated"]
    # The Kerinci operator sees Kerinci only.
    own = await operator.board("election")
    assert [r["code"] for r in own["regencies"]] == ["15.01"]
    with pytest.raises(Refused) as other:
        await operator.board("election", regency="15.06")
    assert other.value.code == "not_allowed"


@pytest.mark.parametrize(("member", "tps", "fields", "code", "field"), [
    ("operator-kerinci", "99.99.99", {"status": "open"}, "unknown_tps", "tps"),
    ("operator-kerinci", KERINCI_TPS, {"ballots_cast": 100_000}, "invalid_field",
     "ballots_cast"),
    ("operator-kerinci", KERINCI_TPS, {"status": "party"}, "invalid_field", "status"),
    ("operator-kerinci", KERINCI_TPS, {"status": "relocated"}, "invalid_field",
     "relocated_to"),
    ("operator-kerinci", SABAK_TPS, {"status": "open"}, "not_allowed", "tps"),
    ("auditor", KERINCI_TPS, {"status": "open"}, "not_allowed", ""),
    ("operator-kerinci", KERINCI_TPS, {}, "invalid_field", "report"),
])
async def test_bad_tps_reports_are_refused_naming_the_field(
        connect: Connect, server: Server, member: str, tps: str, fields: dict[str, object],
        code: str, field: str) -> None:
    client = await connect(member)
    with pytest.raises(Refused) as refused:
        await client.report_tps(tps, **fields)
    assert refused.value.code == code
    assert refused.value.message.startswith(field)
    assert server.hub.tps_reports == []  # nothing partial counted


async def test_flood_reports_shelters_needs_and_fulfilment(connect: Connect,
                                                           server: Server) -> None:
    bpbd = await connect("bpbd")
    bupati = await connect("bupati-tanjabtim")
    await bupati.report_flood("incident", incident="banjir-sabak", regency="15.06",
                              lat=-1.12, lon=103.82, title="Banjir Muara Sabak",
                              water_level_cm=80, affected=1200)
    await bupati.report_flood("incident", incident="banjir-sabak", water_level_cm=140,
                              evacuated=450)
    await bpbd.report_flood("shelter", shelter="posko-kantor-bupati", incident="banjir-sabak",
                            name="Kantor Bupati", lat=-1.11, lon=103.81, capacity=600,
                            occupants=450)
    await bpbd.report_flood("need", need="perahu-1", incident="banjir-sabak", kind="boats",
                            quantity=6, unit="unit")
    await bpbd.report_flood("fulfilment", need="perahu-1", quantity=4)
    board = await bpbd.board("flood")
    [incident] = board["incidents"]
    assert (incident["water_level_cm"], incident["affected"], incident["evacuated"]) == (
        140, 1200, 450)
    assert [p["water_level_cm"] for p in incident["timeline"]] == [80, 140]
    assert incident["needs"][0]["outstanding"] == 2
    assert incident["shelters"][0]["occupants"] == 450
    # Bad input: an update for nothing, a negative count, another regency, the wrong role.
    cases = [
        (bupati, {"incident": "nothing-here", "water_level_cm": 10}, "unknown_incident"),
        (bupati, {"incident": "banjir-baru", "regency": "15.99", "lat": -1.0, "lon": 103.0,
                  "title": "x"}, "unknown_region"),
        (await connect("bupati-kerinci"), {"incident": "banjir-sabak", "affected": 5},
         "not_allowed"),
        (await connect("kpu"), {"incident": "banjir-sabak", "affected": 5}, "not_allowed"),
    ]
    for client, fields, code in cases:
        with pytest.raises(Refused) as refused:
            await client.report_flood("incident", **fields)
        assert refused.value.code == code, fields
    with pytest.raises(Refused) as over:
        await bpbd.report_flood("shelter", shelter="posko-kantor-bupati",
                                incident="banjir-sabak", occupants=700)
    assert over.value.code == "invalid_field" and "occupants" in over.value.message
    assert len(server.hub.flood.seen) == 5


async def test_sitrep_over_the_radio(connect: Connect) -> None:
    gov = await connect("gubernur")
    operator = await connect("operator-tanjabtim")
    await operator.report_tps(SABAK_TPS, status="disrupted", incidents=["flooding"],
                              note="Air masuk TPS")
    markdown = await gov.sitrep()
    assert isinstance(markdown, str)
    assert "Tanjung Jabung Timur" in markdown and SABAK_TPS in markdown
    english = await gov.sitrep(lang="en")
    assert isinstance(english, str) and english != markdown
    pdf = await gov.sitrep("pdf")
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF")


async def test_reports_survive_a_restart_and_sitreps_are_written_on_schedule(
        roster: Roster, store: Store, data_dir: Path, connect: Connect,
        server: Server) -> None:
    operator = await connect("operator-kerinci")
    await operator.report_tps(KERINCI_TPS, status="counting", ballots_cast=150)
    bupati = await connect("bupati-kerinci")
    await bupati.report_flood("incident", incident="banjir-siulak", regency="15.01",
                              lat=-1.87, lon=101.44, title="Banjir Siulak", affected=30)
    async with running_server(roster, store, data_dir, sitrep_every=0.2) as again:
        assert [r.id for r in again.hub.tps_reports] == [r.id for r in server.hub.tps_reports]
        assert "banjir-siulak" in again.hub.flood.board({}, "").to_dict()["incidents"][0]["id"]
        folder = data_dir / "sitreps"
        for _ in range(100):
            if len(list(folder.glob("sitrep-*.pdf"))) >= 1:
                break
            await asyncio.sleep(0.05)
        [md] = folder.glob("sitrep-*.md")
        assert "Kerinci" in md.read_text(encoding="utf-8")
