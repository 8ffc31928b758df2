"""Election operations: the TPS registry, report checks (every bad input names its field) and
the board's fold (property-tested: totals add up, turnout ≤ 1, order and duplicates harmless)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siaga.election import (
    ELECTION_REPORTERS,
    IncidentKind,
    Logistics,
    Relocation,
    Tps,
    TpsRegistry,
    TpsReport,
    TpsStatus,
    check_tps_report,
    default_tps_text,
    election_board,
    load_tps_registry,
)
from siaga.errors import ConfigError, ErrorCode, ProtocolError, Refused, SiagaError
from siaga.roster import Member, Role, Roster

CODES = {"15.01", "15.06", "15.71"}
TPS_ID = "15.06.01.01.001"
CSV = """# sample
id,regency,district,village,number,lat,lon,voters
15.06.01.01.001,15.06,Muara Sabak Timur,Muara Sabak Ilir,1,-1.12,103.82,200
15.06.01.01.002,15.06,Muara Sabak Timur,Muara Sabak Ilir,2,-1.121,103.821,100

15.71.01.01.001,15.71,Telanaipura,Telanaipura,1,-1.6,103.6,300
"""
GOV = Member("gubernur", "Gubernur Jambi", Role.GOVERNOR)
HEAD_SABAK = Member("bupati-tanjabtim", "Bupati", Role.REGIONAL_HEAD, "15.06")
NAMES = {"15.01": "Kerinci", "15.06": "Tanjung Jabung Timur", "15.71": "Kota Jambi"}


@pytest.fixture(scope="module")
def registry() -> TpsRegistry:
    return TpsRegistry.from_csv(CSV, CODES)


def report(**changes: Any) -> TpsReport:
    fields: dict[str, Any] = {"id": "r1", "tps": TPS_ID, "reporter": "gubernur", "at": 10.0,
                              "status": TpsStatus.OPEN}
    fields.update(changes)
    return TpsReport(**fields)


# ---- registry ----------------------------------------------------------------------------


def test_registry_parses_and_indexes(registry: TpsRegistry) -> None:
    assert len(registry) == 3
    assert TPS_ID in registry and "nope" not in registry
    tps = registry.get(TPS_ID)
    assert tps == Tps(TPS_ID, "15.06", "Muara Sabak Timur", "Muara Sabak Ilir", 1, -1.12,
                      103.82, 200)
    assert [t.number for t in registry.of_regency("15.06")] == [1, 2]
    assert registry.of_regency("15.01") == []
    assert registry.regencies() == ["15.06", "15.71"]
    assert {t.id for t in registry} == {TPS_ID, "15.06.01.01.002", "15.71.01.01.001"}


def test_bundled_sample_covers_every_regency_near_its_seat(roster: Roster) -> None:
    registry = load_tps_registry(roster.regions)
    assert "sample" in default_tps_text().splitlines()[0].lower()
    for code, region in roster.regions.items():
        stations = registry.of_regency(code)
        assert 3 <= len(stations) <= 5, code
        for t in stations:
            assert abs(t.lat - region.lat) < 0.05 and abs(t.lon - region.lon) < 0.05, t.id
            assert t.id.startswith(code + ".") and t.voters > 0


def test_registry_from_file_and_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "tps.csv"
    path.write_text(CSV, encoding="utf-8")
    assert len(load_tps_registry(CODES, path)) == 3
    with pytest.raises(ConfigError, match="cannot read TPS registry"):
        load_tps_registry(CODES, tmp_path / "missing.csv")


HEADER = "id,regency,district,village,number,lat,lon,voters\n"


@pytest.mark.parametrize(("row", "column"), [
    ("15.06.1,15.99,D,V,1,-1,103,10", "regency"),
    ("15.06 x,15.06,D,V,1,-1,103,10", "id"),
    ("15.71.1,15.06,D,V,1,-1,103,10", "id"),
    ("15.06.1,15.06,,V,1,-1,103,10", "district"),
    ("15.06.1,15.06,D,,1,-1,103,10", "village"),
    ("15.06.1,15.06,D,V,x,-1,103,10", "number"),
    ("15.06.1,15.06,D,V,0,-1,103,10", "number"),
    ("15.06.1,15.06,D,V,1,north,103,10", "lat"),
    ("15.06.1,15.06,D,V,1,-91,103,10", "lat"),
    ("15.06.1,15.06,D,V,1,-1,181,10", "lon"),
    ("15.06.1,15.06,D,V,1,-1,nan,10", "lon"),
    ("15.06.1,15.06,D,V,1,-1,103,-5", "voters"),
])
def test_bad_registry_row_names_line_and_column(row: str, column: str) -> None:
    with pytest.raises(ConfigError) as info:
        TpsRegistry.from_csv("# c\n" + HEADER + row + "\n", CODES, "k.csv")
    assert f"k.csv: line 3, column {column!r}" in info.value.message


@pytest.mark.parametrize(("text", "match"), [
    ("", "no header"),
    ("id,regency\n", "header must be"),
    (HEADER + "15.06.1,15.06,D,V,1\n", "line 2: expected 8 columns"),
    (HEADER + "15.06.1,15.06,D,V,1,-1,103,5\n15.06.1,15.06,D,V,2,-1,103,5\n",
     "line 3, column 'id': duplicate.*first on line 2"),
])
def test_bad_registry_file(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TpsRegistry.from_csv(text, CODES)


def test_registry_refuses_duplicates_given_directly() -> None:
    tps = Tps("15.06.1", "15.06", "D", "V", 1, -1.0, 103.0, 5)
    with pytest.raises(ConfigError, match="duplicate"):
        TpsRegistry([tps, tps])


# ---- report checks -----------------------------------------------------------------------


def test_good_reports_pass(registry: TpsRegistry) -> None:
    assert check_tps_report(report(), registry, GOV).id == TPS_ID
    full = report(status=TpsStatus.RELOCATED, ballots_cast=200,
                  incidents=(IncidentKind.FLOODING, IncidentKind.POWER),
                  logistics=Logistics.ARRIVED,
                  relocated_to=Relocation("Masjid Al-Ikhlas", -1.11, 103.83), note="x" * 500)
    assert check_tps_report(full, registry, GOV).regency == "15.06"
    assert check_tps_report(report(reporter=HEAD_SABAK.id), registry, HEAD_SABAK)
    note_only = report(status=None, note="Saksi lengkap")
    assert check_tps_report(note_only, registry, GOV)


@pytest.mark.parametrize(("changes", "code", "field"), [
    ({"tps": "15.06.99"}, ErrorCode.UNKNOWN_TPS, "tps"),
    ({"id": ""}, ErrorCode.INVALID_FIELD, "id"),
    ({"id": "with space"}, ErrorCode.INVALID_FIELD, "id"),
    ({"at": float("nan")}, ErrorCode.INVALID_FIELD, "at"),
    ({"at": -1.0}, ErrorCode.INVALID_FIELD, "at"),
    ({"ballots_cast": -1}, ErrorCode.INVALID_FIELD, "ballots_cast"),
    ({"ballots_cast": 201}, ErrorCode.INVALID_FIELD, "ballots_cast"),
    ({"ballots_cast": 2.5}, ErrorCode.INVALID_FIELD, "ballots_cast"),
    ({"ballots_cast": True}, ErrorCode.INVALID_FIELD, "ballots_cast"),
    ({"status": "sleeping"}, ErrorCode.INVALID_FIELD, "status"),
    ({"status": 3}, ErrorCode.INVALID_FIELD, "status"),
    ({"incidents": ("tsunami",)}, ErrorCode.INVALID_FIELD, "incidents"),
    ({"incidents": "flooding"}, ErrorCode.INVALID_FIELD, "incidents"),
    ({"logistics": "lost"}, ErrorCode.INVALID_FIELD, "logistics"),
    ({"status": TpsStatus.RELOCATED}, ErrorCode.INVALID_FIELD, "relocated_to"),
    ({"relocated_to": Relocation("Masjid", -1.1, 103.8)}, ErrorCode.INVALID_FIELD, "status"),
    ({"status": TpsStatus.RELOCATED, "relocated_to": Relocation("Masjid", -95.0, 103.8)},
     ErrorCode.INVALID_FIELD, "relocated_to.lat"),
    ({"status": TpsStatus.RELOCATED, "relocated_to": Relocation("Masjid", -1.0, 200.0)},
     ErrorCode.INVALID_FIELD, "relocated_to.lon"),
    ({"status": TpsStatus.RELOCATED, "relocated_to": Relocation(" ", -1.0, 100.0)},
     ErrorCode.INVALID_FIELD, "relocated_to.place"),
    ({"status": TpsStatus.RELOCATED, "relocated_to": ("Masjid", 1, 2)},
     ErrorCode.INVALID_FIELD, "relocated_to"),
    ({"note": "x" * 501}, ErrorCode.INVALID_FIELD, "note"),
    ({"status": TpsStatus.RELOCATED, "relocated_to": Relocation("x" * 121, -1.0, 100.0)},
     ErrorCode.INVALID_FIELD, "relocated_to.place"),
    ({"id": "x" * 65}, ErrorCode.INVALID_FIELD, "id"),
    ({"note": 5}, ErrorCode.INVALID_FIELD, "note"),
    ({"status": None}, ErrorCode.INVALID_FIELD, "report"),
    ({"reporter": "someone-else"}, ErrorCode.NOT_ALLOWED, "reporter"),
])
def test_bad_reports_name_their_field(registry: TpsRegistry, changes: dict[str, Any],
                                      code: ErrorCode, field: str) -> None:
    with pytest.raises(SiagaError) as info:
        check_tps_report(report(**changes), registry, GOV)
    assert info.value.code == code
    assert info.value.message.startswith(field + ":"), info.value.message
    expected = ProtocolError if code == ErrorCode.INVALID_FIELD else Refused
    assert isinstance(info.value, expected)


@pytest.mark.parametrize("role", sorted(set(Role) - ELECTION_REPORTERS))
def test_roles_outside_the_table_may_not_report(registry: TpsRegistry, role: Role) -> None:
    member = Member("m", "M", role)
    with pytest.raises(Refused) as info:
        check_tps_report(report(reporter="m"), registry, member)
    assert info.value.code == ErrorCode.NOT_ALLOWED and "reporter:" in info.value.message


def test_auditors_never_report_and_kpu_bawaslu_do(registry: TpsRegistry) -> None:
    assert Role.AUDITOR not in ELECTION_REPORTERS
    for role in (Role.KPU, Role.BAWASLU, Role.POLICE, Role.STAFF, Role.ADMIN):
        assert check_tps_report(report(reporter="m"), registry, Member("m", "M", role))


def test_region_scoping(registry: TpsRegistry) -> None:
    outsider = Member("bupati-kerinci", "Bupati Kerinci", Role.REGIONAL_HEAD, "15.01")
    with pytest.raises(Refused) as info:
        check_tps_report(report(reporter=outsider.id), registry, outsider)
    assert info.value.code == ErrorCode.NOT_ALLOWED and info.value.message.startswith("tps:")


def test_report_dict_round_trip_and_bad_types() -> None:
    full = report(incidents=(IncidentKind.SECURITY,), status=TpsStatus.RELOCATED,
                  relocated_to=Relocation("Balai desa", -1.0, 103.0), ballots_cast=3)
    data = json.loads(json.dumps(full.to_dict()))
    assert TpsReport.from_dict(data) == full
    for bad, field in [({**data, "status": "asleep"}, "status"),
                       ({**data, "ballots_cast": "3"}, "ballots_cast"),
                       ({**data, "incidents": ["tsunami"]}, "incidents[0]"),
                       ({k: v for k, v in data.items() if k != "tps"}, "tps"),
                       ({**data, "relocated_to": {"place": "x", "lat": 1.0}},
                        "relocated_to.lon"),
                       ({**data, "relocated_to": {**data["relocated_to"], "lat": "north"}},
                        "relocated_to.lat")]:
        with pytest.raises(ProtocolError) as info:
            TpsReport.from_dict(bad)
        assert info.value.code == ErrorCode.INVALID_FIELD
        assert info.value.message.startswith(field + ":"), info.value.message


# ---- the board ---------------------------------------------------------------------------


def test_board_folds_latest_state(registry: TpsRegistry) -> None:
    reports = [
        report(id="a", at=1.0, status=TpsStatus.OPEN, logistics=Logistics.ARRIVED),
        report(id="b", at=2.0, status=None, incidents=(IncidentKind.FLOODING,), note="Air naik"),
        report(id="c", at=3.0, status=TpsStatus.RELOCATED,
               relocated_to=Relocation("Masjid", -1.11, 103.83), reporter="bupati"),
        report(id="d", at=4.0, status=TpsStatus.COUNTING, ballots_cast=150),
        report(id="e", at=5.0, tps="15.71.01.01.001", status=TpsStatus.DISRUPTED,
               incidents=(IncidentKind.POWER, IncidentKind.FLOODING)),
        report(id="f", at=6.0, tps="15.06.gone", status=TpsStatus.OPEN),  # not in registry
    ]
    board = election_board(registry, reports, NAMES, "Provinsi Jambi")
    s = next(s for s in board.stations if s.id == TPS_ID)
    assert (s.status, s.ballots_cast, s.turnout, s.logistics) == ("counting", 150, 0.75,
                                                                  "arrived")
    assert s.incidents == ["flooding"] and s.note == "Air naik"
    assert s.relocated_to == Relocation("Masjid", -1.11, 103.83)
    assert (s.updated_at, s.reporter, s.reports) == (4.0, "gubernur", 4)
    assert board.as_of == 5.0
    unreported = next(s for s in board.stations if s.id == "15.06.01.01.002")
    assert unreported.status is None and unreported.turnout is None
    sabak = board.regency("15.06")
    assert sabak is not None
    assert (sabak.name, sabak.tps_total, sabak.tps_reported, sabak.voters) == (
        "Tanjung Jabung Timur", 2, 1, 300)
    assert (sabak.ballots_cast, sabak.voters_reporting, sabak.turnout) == (150, 200, 0.75)
    assert sabak.by_status["counting"] == 1 and sabak.relocated == [TPS_ID]
    assert sabak.incidents["flooding"] == 1
    kerinci = board.regency("15.01")
    assert kerinci is not None and kerinci.tps_total == 0 and kerinci.turnout is None
    assert board.regency("99") is None
    p = board.province
    assert (p.code, p.name, p.tps_total, p.tps_reported) == ("", "Provinsi Jambi", 3, 2)
    assert p.disrupted == ["15.71.01.01.001"] and p.incidents["flooding"] == 2
    assert [t.id for t in board.stations_of("15.71")] == ["15.71.01.01.001"]
    as_json = json.loads(json.dumps(board.to_dict()))
    assert as_json["province"]["tps_total"] == 3


# ---- properties --------------------------------------------------------------------------

PROPERTY_REGISTRY = TpsRegistry.from_csv(CSV, CODES)
STATION_IDS = sorted(t.id for t in PROPERTY_REGISTRY)


@st.composite
def reports_strategy(draw: st.DrawFn) -> list[TpsReport]:
    n = draw(st.integers(0, 25))
    out = []
    for i in range(n):
        tps = PROPERTY_REGISTRY.get(draw(st.sampled_from(STATION_IDS)))
        assert tps is not None
        status = draw(st.none() | st.sampled_from(list(TpsStatus)))
        out.append(TpsReport(
            id=f"r{i}", tps=tps.id, reporter="gubernur",
            at=float(draw(st.integers(0, 1000))),
            status=status,
            ballots_cast=draw(st.none() | st.integers(0, tps.voters)),
            incidents=tuple(draw(st.lists(st.sampled_from(list(IncidentKind)), max_size=2))),
            logistics=draw(st.none() | st.sampled_from(list(Logistics))),
            relocated_to=(Relocation("Balai", -1.0, 103.0)
                          if status is TpsStatus.RELOCATED else None),
            note=f"catatan {i}"))
    return out


def _sum_check(board_dict: dict[str, Any]) -> None:
    province = board_dict["province"]
    for key in ("tps_total", "tps_reported", "voters", "voters_reporting", "ballots_cast"):
        assert province[key] == sum(r[key] for r in board_dict["regencies"]), key
    for key in ("by_status", "incidents"):
        for k, v in province[key].items():
            assert v == sum(r[key][k] for r in board_dict["regencies"])
    assert sorted(province["disrupted"]) == sorted(
        x for r in board_dict["regencies"] for x in r["disrupted"])


@given(reports_strategy(), st.randoms())
def test_board_properties(reports: list[TpsReport], rnd: Any) -> None:
    for r in reports:
        check_tps_report(r, PROPERTY_REGISTRY, GOV)
    board = election_board(PROPERTY_REGISTRY, reports, NAMES)
    _sum_check(board.to_dict())
    for summary in [*board.regencies, board.province]:
        assert summary.turnout is None or 0.0 <= summary.turnout <= 1.0
        assert summary.tps_reported <= summary.tps_total
    assert all(s.turnout is None or s.turnout <= 1.0 for s in board.stations)
    shuffled = list(reports)
    rnd.shuffle(shuffled)
    assert election_board(PROPERTY_REGISTRY, shuffled, NAMES) == board
    doubled = shuffled + [dataclasses.replace(r) for r in reports]
    assert election_board(PROPERTY_REGISTRY, doubled, NAMES) == board


def test_report_from_something_not_an_object() -> None:
    with pytest.raises(ProtocolError, match="report: expected `object`"):
        TpsReport.from_dict([1])  # type: ignore[arg-type]
