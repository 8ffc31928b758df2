"""Flood operations: report checks (every bad input names its field and gets the right code),
the folded state, the board (timeline, shelters, needs) and its properties."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siaga.errors import ErrorCode, ProtocolError, Refused, SiagaError
from siaga.flood import (
    FLOOD_REPORTERS,
    FloodReport,
    FloodScope,
    FloodState,
    Fulfilment,
    IncidentReport,
    IncidentStatus,
    NeedKind,
    NeedReport,
    ShelterReport,
    check_flood_report,
    flood_board,
    flood_report_from_dict,
    flood_report_to_dict,
)
from siaga.roster import Member, Role

CODES = {"15.06", "15.71", "15.01"}
NAMES = {"15.01": "Kerinci", "15.06": "Tanjung Jabung Timur", "15.71": "Kota Jambi"}
BPBD = Member("bpbd", "BPBD", Role.BPBD)
SABAK = Member("bupati-tanjabtim", "Bupati", Role.REGIONAL_HEAD, "15.06")


def new_incident(**changes: Any) -> IncidentReport:
    fields: dict[str, Any] = {
        "id": "i1", "incident": "banjir-sabak", "reporter": "bpbd", "at": 10.0,
        "regency": "15.06", "lat": -1.12, "lon": 103.82, "title": "Banjir Muara Sabak",
        "water_level_cm": 80, "affected": 1200, "evacuated": 300}
    fields.update(changes)
    return IncidentReport(**fields)


def base_state() -> FloodState:
    return FloodState.of([
        new_incident(),
        ShelterReport("s1", "masjid-raya", "banjir-sabak", "bpbd", 11.0, "Masjid Raya",
                      -1.11, 103.83, 200, 150),
        NeedReport("n1", "beras", "banjir-sabak", "bpbd", 12.0, NeedKind.FOOD, 500, "kg"),
    ])


def check(report: FloodReport, member: Member = BPBD) -> FloodScope:
    return check_flood_report(report, base_state(), member, CODES)


def test_good_reports_pass_and_return_their_scope() -> None:
    assert check(new_incident(incident="baru")) == FloodScope("baru", "15.06")
    update = IncidentReport("u1", "banjir-sabak", "bpbd", 20.0,
                            status=IncidentStatus.RECEDING, water_level_cm=40)
    assert check(update) == FloodScope("banjir-sabak", "15.06")
    assert check(IncidentReport("u2", "banjir-sabak", "bpbd", 20.0, regency="15.06",
                                lat=-1.1, lon=103.8))
    assert check(ShelterReport("s2", "masjid-raya", "banjir-sabak", "bpbd", 21.0,
                               occupants=200))
    assert check(ShelterReport("s3", "sd-3", "banjir-sabak", "bpbd", 21.0, "SD 3", -1.1, 103.8,
                               100))
    assert check(NeedReport("n2", "beras", "banjir-sabak", "bpbd", 22.0, NeedKind.FOOD, 800,
                            "kg", "revisi"))
    assert check(Fulfilment("f1", "beras", "bpbd", 23.0, 100, "truk 1")) == FloodScope(
        "banjir-sabak", "15.06")
    assert check(IncidentReport("u3", "banjir-sabak", SABAK.id, 24.0, affected=1500), SABAK)


def shelter(**changes: Any) -> ShelterReport:
    fields: dict[str, Any] = {"id": "s9", "shelter": "gor", "incident": "banjir-sabak",
                              "reporter": "bpbd", "at": 30.0, "name": "GOR", "lat": -1.1,
                              "lon": 103.8, "capacity": 100, "occupants": 10}
    fields.update(changes)
    return ShelterReport(**fields)


def need(**changes: Any) -> NeedReport:
    fields: dict[str, Any] = {"id": "n9", "need": "air", "incident": "banjir-sabak",
                              "reporter": "bpbd", "at": 30.0, "kind": NeedKind.WATER,
                              "quantity": 100, "unit": "liter"}
    fields.update(changes)
    return NeedReport(**fields)


def update(**changes: Any) -> IncidentReport:
    fields: dict[str, Any] = {"id": "u9", "incident": "banjir-sabak", "reporter": "bpbd",
                              "at": 30.0}
    fields.update(changes)
    return IncidentReport(**fields)


BAD: list[tuple[FloodReport, ErrorCode, str]] = [
    (new_incident(regency="15.99"), ErrorCode.UNKNOWN_REGION, "regency"),
    (new_incident(incident="baru", lat=None), ErrorCode.INVALID_FIELD, "lat"),
    (new_incident(incident="baru", lat=-91.0), ErrorCode.INVALID_FIELD, "lat"),
    (new_incident(incident="baru", lon=181.0), ErrorCode.INVALID_FIELD, "lon"),
    (new_incident(incident="baru", lon=float("inf")), ErrorCode.INVALID_FIELD, "lon"),
    (new_incident(incident="baru", title=None), ErrorCode.INVALID_FIELD, "title"),
    (new_incident(incident="baru", title="x" * 121), ErrorCode.INVALID_FIELD, "title"),
    (new_incident(incident="bad id"), ErrorCode.INVALID_FIELD, "incident"),
    (new_incident(id=""), ErrorCode.INVALID_FIELD, "id"),
    (new_incident(at=float("nan")), ErrorCode.INVALID_FIELD, "at"),
    (new_incident(water_level_cm=-1), ErrorCode.INVALID_FIELD, "water_level_cm"),
    (new_incident(water_level_cm=2001), ErrorCode.INVALID_FIELD, "water_level_cm"),
    (new_incident(affected=-5), ErrorCode.INVALID_FIELD, "affected"),
    (new_incident(evacuated=-5), ErrorCode.INVALID_FIELD, "evacuated"),
    (new_incident(status="flooded"), ErrorCode.INVALID_FIELD, "status"),
    (new_incident(note="x" * 501), ErrorCode.INVALID_FIELD, "note"),
    (new_incident(regency="15.71"), ErrorCode.INVALID_FIELD, "regency"),
    (update(incident="tidak-ada"), ErrorCode.UNKNOWN_INCIDENT, "incident"),
    (update(), ErrorCode.INVALID_FIELD, "report"),
    (update(lat=-1.0), ErrorCode.INVALID_FIELD, "lon"),
    (shelter(incident="tidak-ada"), ErrorCode.UNKNOWN_INCIDENT, "incident"),
    (shelter(shelter="bad id"), ErrorCode.INVALID_FIELD, "shelter"),
    (shelter(occupants=101), ErrorCode.INVALID_FIELD, "occupants"),
    (shelter(occupants=-1), ErrorCode.INVALID_FIELD, "occupants"),
    (shelter(capacity=-1), ErrorCode.INVALID_FIELD, "capacity"),
    (shelter(capacity=None), ErrorCode.INVALID_FIELD, "capacity"),
    (shelter(name=""), ErrorCode.INVALID_FIELD, "name"),
    (shelter(lat=None, lon=None), ErrorCode.INVALID_FIELD, "lat"),
    (shelter(shelter="masjid-raya", name=None, lat=None, lon=None, capacity=None,
             occupants=201), ErrorCode.INVALID_FIELD, "occupants"),
    (shelter(shelter="masjid-raya", name=None, lat=None, lon=None, capacity=100,
             occupants=None), ErrorCode.INVALID_FIELD, "capacity"),
    (shelter(shelter="masjid-raya", name=None, lat=None, lon=None, capacity=None,
             occupants=None), ErrorCode.INVALID_FIELD, "report"),
    (need(incident="tidak-ada"), ErrorCode.UNKNOWN_INCIDENT, "incident"),
    (need(kind="helicopters"), ErrorCode.INVALID_FIELD, "kind"),
    (need(quantity=0), ErrorCode.INVALID_FIELD, "quantity"),
    (need(quantity=-3), ErrorCode.INVALID_FIELD, "quantity"),
    (need(unit=""), ErrorCode.INVALID_FIELD, "unit"),
    (need(need="beras"), ErrorCode.INVALID_FIELD, "kind"),
    (need(note="x" * 501), ErrorCode.INVALID_FIELD, "note"),
    (need(unit="x" * 31), ErrorCode.INVALID_FIELD, "unit"),
    (shelter(name="x" * 121), ErrorCode.INVALID_FIELD, "name"),
    (shelter(id="x" * 65), ErrorCode.INVALID_FIELD, "id"),
    (Fulfilment("f9", "tidak-ada", "bpbd", 30.0, 5), ErrorCode.UNKNOWN_INCIDENT, "need"),
    (Fulfilment("f9", "beras", "bpbd", 30.0, 0), ErrorCode.INVALID_FIELD, "quantity"),
    (Fulfilment("f9", "beras", "bpbd", 30.0, -1), ErrorCode.INVALID_FIELD, "quantity"),
    (Fulfilment("f9", "beras", "bpbd", 30.0, 1, 7), ErrorCode.INVALID_FIELD, "note"),  # type: ignore[arg-type]
    (update(reporter="polda", affected=1), ErrorCode.NOT_ALLOWED, "reporter"),
]


@pytest.mark.parametrize(("report", "code", "field"), BAD)
def test_bad_reports_name_their_field(report: FloodReport, code: ErrorCode,
                                      field: str) -> None:
    with pytest.raises(SiagaError) as info:
        check(report)
    assert info.value.code == code, info.value
    assert info.value.message.startswith(field + ":"), info.value.message
    expected = ProtocolError if code == ErrorCode.INVALID_FIELD else Refused
    assert isinstance(info.value, expected)


def test_need_of_another_incident_and_shelter_of_another_incident() -> None:
    state = base_state()
    state.apply(new_incident(id="i2", incident="lain"))
    for report in (need(need="beras", incident="lain", kind=NeedKind.FOOD),
                   shelter(shelter="masjid-raya", incident="lain")):
        with pytest.raises(ProtocolError, match=r"incident: .*belongs to"):
            check_flood_report(report, state, BPBD, CODES)


def test_not_a_report() -> None:
    with pytest.raises(ProtocolError, match="type:"):
        check_flood_report("banjir", FloodState(), BPBD, CODES)  # type: ignore[arg-type]


@pytest.mark.parametrize("role", sorted(set(Role) - FLOOD_REPORTERS))
def test_roles_outside_the_table_may_not_report(role: Role) -> None:
    with pytest.raises(Refused) as info:
        check(new_incident(reporter="m"), Member("m", "M", role))
    assert info.value.code == ErrorCode.NOT_ALLOWED and info.value.message.startswith(
        "reporter:")


def test_region_scoping() -> None:
    kerinci = Member("bupati-kerinci", "Bupati Kerinci", Role.REGIONAL_HEAD, "15.01")
    for report in (new_incident(reporter=kerinci.id, incident="x"),
                   update(reporter=kerinci.id, affected=3),
                   Fulfilment("f", "beras", kerinci.id, 30.0, 1)):
        with pytest.raises(Refused) as info:
            check(report, kerinci)
        assert info.value.code == ErrorCode.NOT_ALLOWED
        assert info.value.message.startswith("regency:")


def test_dict_round_trip_and_bad_data() -> None:
    reports: list[FloodReport] = [
        new_incident(status=IncidentStatus.ACTIVE), shelter(), need(),
        Fulfilment("f", "air", "bpbd", 1.0, 3, "perahu karet")]
    for r in reports:
        assert flood_report_from_dict(json.loads(json.dumps(flood_report_to_dict(r)))) == r
    for data, field in [({"type": "tornado"}, "type"), ({}, "type"),
                        ({**flood_report_to_dict(need()), "kind": "jets"}, "kind"),
                        ({**flood_report_to_dict(shelter()), "capacity": "many"}, "capacity")]:
        with pytest.raises(ProtocolError) as info:
            flood_report_from_dict(data)
        assert info.value.code == ErrorCode.INVALID_FIELD
        assert info.value.message.startswith(field + ":"), info.value.message


def test_board_timeline_shelters_needs_and_totals() -> None:
    reports: list[FloodReport] = [
        new_incident(),
        IncidentReport("i2", "banjir-sabak", "bpbd", 20.0, water_level_cm=120, affected=2000,
                       note="Air naik", lat=-1.13, lon=103.81, title="Banjir besar Sabak"),
        IncidentReport("i3", "banjir-sabak", "bpbd", 30.0, status=IncidentStatus.RECEDING,
                       water_level_cm=60),
        ShelterReport("s1", "masjid-raya", "banjir-sabak", "bpbd", 11.0, "Masjid Raya",
                      -1.11, 103.83, 200, 150),
        ShelterReport("s2", "masjid-raya", "banjir-sabak", "bpbd", 25.0, occupants=180,
                      capacity=250, name="Masjid Raya Sabak", lat=-1.1, lon=103.8),
        NeedReport("n1", "beras", "banjir-sabak", "bpbd", 12.0, NeedKind.FOOD, 500, "kg"),
        Fulfilment("f1", "beras", "bpbd", 13.0, 200),
        NeedReport("n2", "beras", "banjir-sabak", "bpbd", 14.0, NeedKind.FOOD, 600, "kg",
                   "tambah"),
        NeedReport("n3", "perahu", "banjir-sabak", "bpbd", 15.0, NeedKind.BOATS, 2, "unit"),
        Fulfilment("f2", "perahu", "bpbd", 16.0, 3),  # more than asked: nothing outstanding
        new_incident(id="j1", incident="banjir-kota", regency="15.71", at=5.0, affected=50,
                     evacuated=0),
        IncidentReport("j2", "banjir-kota", "bpbd", 40.0, status=IncidentStatus.CLOSED),
        # orphans, as in a partial history: ignored
        IncidentReport("o1", "nowhere", "bpbd", 1.0, affected=5),
        ShelterReport("o2", "x", "nowhere", "bpbd", 1.0, "X", 0.0, 0.0, 1),
        NeedReport("o3", "y", "nowhere", "bpbd", 1.0, NeedKind.OTHER, 1, "x"),
        Fulfilment("o4", "z", "bpbd", 1.0, 1),
    ]
    board = flood_board(reports, NAMES, "Provinsi Jambi")
    assert [i.id for i in board.incidents] == ["banjir-sabak", "banjir-kota"]
    sabak = board.incidents_of("15.06")[0]
    assert (sabak.status, sabak.water_level_cm, sabak.affected, sabak.evacuated) == (
        "receding", 60, 2000, 300)
    assert (sabak.title, sabak.lat, sabak.note, sabak.reported_at, sabak.updated_at) == (
        "Banjir besar Sabak", -1.13, "Air naik", 10.0, 30.0)
    assert [(p.at, p.status, p.water_level_cm) for p in sabak.timeline] == [
        (10.0, "active", 80), (20.0, "active", 120), (30.0, "receding", 60)]
    [masjid] = sabak.shelters
    assert (masjid.name, masjid.capacity, masjid.occupants, masjid.occupancy) == (
        "Masjid Raya Sabak", 250, 180, 0.72)
    beras, perahu = sabak.needs
    assert (beras.requested, beras.fulfilled, beras.outstanding, beras.note) == (
        600, 200, 400, "tambah")
    assert (perahu.fulfilled, perahu.outstanding) == (3, 0)
    s = board.regency("15.06")
    assert s is not None
    assert (s.incidents, s.active, s.affected, s.evacuated, s.sheltered) == (1, 0, 2000, 300,
                                                                           180)
    assert s.by_status["receding"] == 1 and s.needs_outstanding == {
        "food": 1, "water": 0, "boats": 0, "medicine": 0, "shelter": 0, "other": 0}
    kota = board.regency("15.71")
    assert kota is not None and kota.by_status["closed"] == 1 and kota.affected == 0
    assert board.regency("nope") is None
    assert board.province.name == "Provinsi Jambi" and board.province.incidents == 2
    assert board.as_of == 40.0
    assert json.loads(json.dumps(board.to_dict()))["province"]["sheltered"] == 180


def test_state_apply_counts_each_id_once_and_board_is_a_snapshot() -> None:
    state = FloodState()
    assert state.apply(new_incident())
    assert not state.apply(new_incident())
    board = state.board(NAMES)
    state.apply(IncidentReport("i2", "banjir-sabak", "bpbd", 20.0, affected=9))
    assert board.incidents[0].affected == 1200
    assert state.incident_of(Fulfilment("f", "nope", "bpbd", 1.0, 1)) is None
    assert state.incident_of(update()) == "banjir-sabak"


# ---- properties --------------------------------------------------------------------------

INCIDENTS = {"a": "15.06", "b": "15.71", "c": "15.06"}


@st.composite
def flood_reports(draw: st.DrawFn) -> list[FloodReport]:
    out: list[FloodReport] = []
    for i in range(draw(st.integers(0, 30))):
        at = float(draw(st.integers(0, 100)))
        inc = draw(st.sampled_from(sorted(INCIDENTS)))
        which = draw(st.sampled_from(["incident", "shelter", "need", "fulfil"]))
        rid = f"r{i}"
        if which == "incident":
            out.append(IncidentReport(
                rid, inc, "bpbd", at, INCIDENTS[inc], -1.0, 103.0, f"Banjir {inc}",
                draw(st.none() | st.sampled_from(list(IncidentStatus))),
                draw(st.none() | st.integers(0, 2000)), draw(st.none() | st.integers(0, 10**4)),
                draw(st.none() | st.integers(0, 10**4))))
        elif which == "shelter":
            cap = draw(st.integers(0, 500))
            out.append(ShelterReport(rid, f"sh-{inc}-{draw(st.integers(0, 1))}", inc, "bpbd",
                                     at, "Posko", -1.0, 103.0, cap,
                                     draw(st.integers(0, cap))))
        elif which == "need":
            kind = draw(st.sampled_from(list(NeedKind)))
            out.append(NeedReport(rid, f"need-{inc}-{kind}", inc, "bpbd", at, kind,
                                  draw(st.integers(1, 1000)), "unit"))
        else:
            kind = draw(st.sampled_from(list(NeedKind)))
            out.append(Fulfilment(rid, f"need-{inc}-{kind}", "bpbd", at,
                                  draw(st.integers(1, 1000))))
    return out


@given(flood_reports(), st.randoms())
def test_board_properties(reports: list[FloodReport], rnd: Any) -> None:
    board = flood_board(reports, NAMES)
    totals = board.to_dict()
    for key in ("incidents", "affected", "evacuated", "shelters", "sheltered",
                "shelter_capacity"):
        assert totals["province"][key] == sum(r[key] for r in totals["regencies"]), key
    for key in ("by_status", "needs_outstanding"):
        for k, v in totals["province"][key].items():
            assert v == sum(r[key][k] for r in totals["regencies"])
    for inc in board.incidents:
        assert [p.at for p in inc.timeline] == sorted(p.at for p in inc.timeline)
        assert all(n.outstanding == max(0, n.requested - n.fulfilled) for n in inc.needs)
        assert all(s.occupants <= s.capacity for s in inc.shelters)
    shuffled = list(reports)
    rnd.shuffle(shuffled)
    assert flood_board(shuffled, NAMES) == board
    assert flood_board(shuffled + [dataclasses.replace(r) for r in reports], NAMES) == board
