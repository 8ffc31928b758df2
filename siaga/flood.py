"""Flood and emergency operations: incidents with their water level and people affected,
evacuation shelters, needs (food, water, boats, ...) and what was delivered against them.

Sans-I/O: reports are frozen dataclasses, checked against the state folded so far
(:class:`FloodState`) and the sender; the board is a pure fold of every report sorted by time.
Each report carries a client-chosen ``id``, so a retry over a bad link is stored and counted
once. A later report on the same incident, shelter or need updates only the fields it gives
(None means "no change").
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from .errors import ErrorCode, Refused
from .fields import (
    MAX_NAME,
    MAX_NOTE,
    check_coordinates,
    check_count,
    check_enum,
    check_id,
    check_reporter,
    check_text,
    check_time,
    decode,
    encode,
    invalid,
)
from .roster import Member, Role


class IncidentStatus(StrEnum):
    ACTIVE = "active"
    RECEDING = "receding"
    CLOSED = "closed"


class NeedKind(StrEnum):
    FOOD = "food"
    WATER = "water"
    BOATS = "boats"
    MEDICINE = "medicine"
    SHELTER = "shelter"
    OTHER = "other"


#: Who may report floods, shelters, needs and deliveries.
FLOOD_REPORTERS: Final = frozenset({
    Role.GOVERNOR, Role.REGIONAL_HEAD, Role.STAFF, Role.POLICE, Role.FIRE, Role.BPBD,
    Role.ADMIN})
#: The highest plausible water level (cm above ground); more is a typo, not a flood.
MAX_WATER_LEVEL_CM: Final = 2000


@dataclass(frozen=True, slots=True)
class IncidentReport:
    """A flood incident, first reported or updated. The first report needs ``regency``,
    ``lat``/``lon`` and ``title``; its status is then ``active`` unless given."""

    id: str
    incident: str
    reporter: str
    at: float
    regency: str | None = None
    lat: float | None = None
    lon: float | None = None
    title: str | None = None
    status: IncidentStatus | None = None
    water_level_cm: int | None = None
    affected: int | None = None
    evacuated: int | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ShelterReport:
    """An evacuation shelter of an incident; the first report needs name, position and
    capacity, later ones usually just the occupants."""

    id: str
    shelter: str
    incident: str
    reporter: str
    at: float
    name: str | None = None
    lat: float | None = None
    lon: float | None = None
    capacity: int | None = None
    occupants: int | None = None


@dataclass(frozen=True, slots=True)
class NeedReport:
    """A request for supplies; reporting the same ``need`` again revises the quantity."""

    id: str
    need: str
    incident: str
    reporter: str
    at: float
    kind: NeedKind
    quantity: int
    unit: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Fulfilment:
    """A delivery against a need."""

    id: str
    need: str
    reporter: str
    at: float
    quantity: int
    note: str | None = None


FloodReport = IncidentReport | ShelterReport | NeedReport | Fulfilment

#: The ``type`` tag of each report in its plain-data form (JSON, the store).
REPORT_TYPES: Final[dict[str, type[FloodReport]]] = {
    "incident": IncidentReport, "shelter": ShelterReport, "need": NeedReport,
    "fulfilment": Fulfilment}


def flood_report_to_dict(report: FloodReport) -> dict[str, Any]:
    """Plain data with a ``type`` tag, the inverse of :func:`flood_report_from_dict`."""
    tag = next(k for k, v in REPORT_TYPES.items() if isinstance(report, v))
    return {"type": tag, **encode(report)}


def flood_report_from_dict(data: Mapping[str, Any]) -> FloodReport:
    """From plain data; an unknown ``type``, a wrong type or enum value names the field."""
    kind = REPORT_TYPES.get(data.get("type", ""))
    if kind is None:
        raise invalid("type", f"must be one of: {', '.join(REPORT_TYPES)}")
    report: FloodReport = decode({k: v for k, v in data.items() if k != "type"}, kind)
    return report


# ---- the folded state ------------------------------------------------------------------------


@dataclass(slots=True)
class TimelinePoint:
    """An incident's state just after one of its reports."""

    at: float
    status: str
    water_level_cm: int | None
    affected: int | None
    evacuated: int | None


@dataclass(slots=True)
class ShelterState:
    id: str
    incident: str
    name: str
    lat: float | None
    lon: float | None
    capacity: int
    occupants: int = 0
    occupancy: float | None = None
    updated_at: float = 0.0


@dataclass(slots=True)
class NeedState:
    id: str
    incident: str
    kind: str
    unit: str
    requested: int
    fulfilled: int = 0
    outstanding: int = 0
    note: str | None = None
    requested_at: float = 0.0
    updated_at: float = 0.0


@dataclass(slots=True)
class IncidentState:
    """An incident's latest state, its timeline, shelters and needs."""

    id: str
    regency: str
    title: str
    lat: float | None
    lon: float | None
    status: str = IncidentStatus.ACTIVE.value
    water_level_cm: int | None = None
    affected: int | None = None
    evacuated: int | None = None
    note: str | None = None
    reported_at: float = 0.0
    updated_at: float = 0.0
    reporter: str = ""
    timeline: list[TimelinePoint] = field(default_factory=list)
    shelters: list[ShelterState] = field(default_factory=list)
    needs: list[NeedState] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.status != IncidentStatus.CLOSED


@dataclass(frozen=True, slots=True)
class FloodScope:
    """What a checked report is about: its incident and that incident's kabupaten/kota
    (the store indexes reports by both)."""

    incident: str
    regency: str


class FloodState:
    """Every incident, shelter and need reported so far; reports are applied in time order.

    The hub keeps one to check new reports against and applies each report once it is
    stored; boards are built from a fresh one. ``seen`` holds the ids applied, so the hub
    can acknowledge a retry at once instead of checking it against a state it already changed.
    """

    def __init__(self) -> None:
        self.incidents: dict[str, IncidentState] = {}
        self.shelters: dict[str, ShelterState] = {}
        self.needs: dict[str, NeedState] = {}
        self.seen: set[str] = set()
        self.as_of: float | None = None

    @classmethod
    def of(cls, reports: Iterable[FloodReport]) -> FloodState:
        """Fold reports sorted by (time, id); a repeated id counts once (the first given)."""
        unique: dict[str, FloodReport] = {}
        for r in reports:
            unique.setdefault(r.id, r)
        state = cls()
        for r in sorted(unique.values(), key=lambda r: (r.at, r.id)):
            state.apply(r)
        return state

    def incident_of(self, report: FloodReport) -> str | None:
        """The incident a report belongs to (a delivery's through its need), if known."""
        if isinstance(report, Fulfilment):
            need = self.needs.get(report.need)
            return need.incident if need else None
        return report.incident

    def apply(self, report: FloodReport) -> bool:
        """Apply one checked (or stored) report; False if its id was seen or it refers to
        nothing known, as in a partial history. Checking is :func:`check_flood_report`'s job."""
        if report.id in self.seen:
            return False
        applied = self._apply(report)
        if applied:
            self.seen.add(report.id)
            self.as_of = report.at if self.as_of is None else max(self.as_of, report.at)
        return applied

    def _apply(self, r: FloodReport) -> bool:
        if isinstance(r, IncidentReport):
            return self._incident(r)
        if isinstance(r, ShelterReport):
            return self._shelter(r)
        if isinstance(r, NeedReport):
            return self._need(r)
        return self._fulfil(r)

    def _incident(self, r: IncidentReport) -> bool:
        inc = self.incidents.get(r.incident)
        if inc is None:
            if r.regency is None:
                return False
            inc = IncidentState(r.incident, r.regency, r.title or r.incident, r.lat, r.lon,
                                reported_at=r.at)
            self.incidents[r.incident] = inc
        if r.title is not None:
            inc.title = r.title
        if r.lat is not None and r.lon is not None:
            inc.lat, inc.lon = r.lat, r.lon
        if r.status is not None:
            inc.status = IncidentStatus(r.status).value
        for name in ("water_level_cm", "affected", "evacuated", "note"):
            value = getattr(r, name)
            if value is not None:
                setattr(inc, name, value)
        inc.updated_at, inc.reporter = r.at, r.reporter
        inc.timeline.append(TimelinePoint(r.at, inc.status, inc.water_level_cm, inc.affected,
                                          inc.evacuated))
        return True

    def _shelter(self, r: ShelterReport) -> bool:
        inc = self.incidents.get(r.incident)
        shelter = self.shelters.get(r.shelter)
        if shelter is None:
            if inc is None:
                return False
            shelter = ShelterState(r.shelter, r.incident, r.name or r.shelter, r.lat, r.lon,
                                   r.capacity or 0)
            self.shelters[r.shelter] = shelter
            inc.shelters.append(shelter)
        if r.name is not None:
            shelter.name = r.name
        if r.lat is not None and r.lon is not None:
            shelter.lat, shelter.lon = r.lat, r.lon
        if r.capacity is not None:
            shelter.capacity = r.capacity
        if r.occupants is not None:
            shelter.occupants = r.occupants
        shelter.occupancy = (shelter.occupants / shelter.capacity if shelter.capacity
                             else None)
        shelter.updated_at = r.at
        return True

    def _need(self, r: NeedReport) -> bool:
        inc = self.incidents.get(r.incident)
        need = self.needs.get(r.need)
        if need is None:
            if inc is None:
                return False
            need = NeedState(r.need, r.incident, NeedKind(r.kind).value, r.unit, r.quantity,
                             requested_at=r.at)
            self.needs[r.need] = need
            inc.needs.append(need)
        need.requested, need.unit = r.quantity, r.unit
        if r.note is not None:
            need.note = r.note
        need.outstanding = max(0, need.requested - need.fulfilled)
        need.updated_at = r.at
        return True

    def _fulfil(self, r: Fulfilment) -> bool:
        need = self.needs.get(r.need)
        if need is None:
            return False
        need.fulfilled += r.quantity
        need.outstanding = max(0, need.requested - need.fulfilled)
        need.updated_at = r.at
        return True

    def board(self, region_names: Mapping[str, str], province: str = "") -> FloodBoard:
        """A snapshot (a deep copy: later reports do not change it)."""
        incidents = [copy.deepcopy(i) for i in sorted(self.incidents.values(),
                                                      key=lambda i: (i.regency, i.id))]
        codes = sorted(set(region_names) | {i.regency for i in incidents})
        regencies = {c: FloodSummary(c, region_names.get(c, c)) for c in codes}
        whole = FloodSummary("", province)
        for inc in incidents:
            regencies[inc.regency].add(inc)
            whole.add(inc)
        return FloodBoard(incidents, list(regencies.values()), whole, self.as_of)


# ---- checks ----------------------------------------------------------------------------------


def check_flood_report(report: FloodReport, known_state: FloodState, member: Member,
                       region_codes: Collection[str]) -> FloodScope:
    """Check a report against what is known and who sends it; returns what it is about.

    Raises :class:`Refused` (``NOT_ALLOWED``, ``UNKNOWN_REGION``, ``UNKNOWN_INCIDENT``) or
    :class:`ProtocolError` (``INVALID_FIELD``, the message naming the field).
    """
    if not isinstance(report, IncidentReport | ShelterReport | NeedReport | Fulfilment):
        raise invalid("type", f"must be one of: {', '.join(REPORT_TYPES)}")
    check_id(report.id, "id")
    check_time(report.at)
    if isinstance(report, IncidentReport):
        scope = _scope_incident(report, known_state, region_codes)
    elif isinstance(report, Fulfilment):
        check_id(report.need, "need")
        need = known_state.needs.get(report.need)
        if need is None:
            raise Refused(f"need: unknown need {report.need!r}", ErrorCode.UNKNOWN_INCIDENT)
        scope = FloodScope(need.incident, known_state.incidents[need.incident].regency)
    else:
        check_id(report.incident, "incident")
        inc = known_state.incidents.get(report.incident)
        if inc is None:
            raise Refused(f"incident: unknown incident {report.incident!r}",
                          ErrorCode.UNKNOWN_INCIDENT)
        scope = FloodScope(inc.id, inc.regency)
    check_reporter(member, report.reporter, FLOOD_REPORTERS, scope.regency, "flood reports")
    if isinstance(report, IncidentReport):
        _check_incident(report, report.incident in known_state.incidents)
    elif isinstance(report, ShelterReport):
        _check_shelter(report, known_state.shelters.get(report.shelter))
    elif isinstance(report, NeedReport):
        _check_need(report, known_state.needs.get(report.need))
    else:
        _quantity(report.quantity)
        _note(report.note)
    return scope


def _scope_incident(r: IncidentReport, state: FloodState,
                    region_codes: Collection[str]) -> FloodScope:
    check_id(r.incident, "incident")
    if r.regency is not None and r.regency not in region_codes:
        raise Refused(f"regency: unknown region {r.regency!r}", ErrorCode.UNKNOWN_REGION)
    inc = state.incidents.get(r.incident)
    if inc is None:
        if r.regency is None:
            raise Refused(f"incident: unknown incident {r.incident!r} (a first report needs "
                          "regency, lat, lon and title)", ErrorCode.UNKNOWN_INCIDENT)
        return FloodScope(r.incident, r.regency)
    if r.regency is not None and r.regency != inc.regency:
        raise invalid("regency", f"incident {inc.id} is in {inc.regency}, not {r.regency}")
    return FloodScope(inc.id, inc.regency)


def _quantity(value: object) -> None:
    if check_count(value, "quantity") < 1:
        raise invalid("quantity", "must be at least 1")


def _note(note: object) -> None:
    if note is not None:
        check_text(note, "note", MAX_NOTE)


def _position(lat: float | None, lon: float | None, required: bool) -> bool:
    if lat is None and lon is None and not required:
        return False
    check_coordinates(lat, lon)
    return True


def _check_incident(r: IncidentReport, known: bool) -> None:
    moved = _position(r.lat, r.lon, required=not known)
    if r.title is not None or not known:
        check_text(r.title, "title", MAX_NAME, required=True)
    if r.status is not None:
        check_enum(r.status, IncidentStatus, "status")
    if r.water_level_cm is not None:
        check_count(r.water_level_cm, "water_level_cm", MAX_WATER_LEVEL_CM)
    for name in ("affected", "evacuated"):
        value = getattr(r, name)
        if value is not None:
            check_count(value, name)
    _note(r.note)
    if known and not moved and all(getattr(r, n) is None for n in (
            "title", "status", "water_level_cm", "affected", "evacuated", "note")):
        raise invalid("report", "changes nothing")


def _check_shelter(r: ShelterReport, shelter: ShelterState | None) -> None:
    check_id(r.shelter, "shelter")
    if shelter is not None and shelter.incident != r.incident:
        raise invalid("incident", f"shelter {shelter.id} belongs to incident "
                                  f"{shelter.incident}")
    moved = _position(r.lat, r.lon, required=shelter is None)
    if r.name is not None or shelter is None:
        check_text(r.name, "name", MAX_NAME, required=True)
    if shelter is None or r.capacity is not None:
        capacity = check_count(r.capacity, "capacity")
    else:
        capacity = shelter.capacity
    if r.occupants is not None:
        check_count(r.occupants, "occupants")
        if r.occupants > capacity:
            raise invalid("occupants", f"must be at most the capacity ({capacity})")
    elif shelter is not None and shelter.occupants > capacity:
        raise invalid("capacity", f"must be at least the occupants ({shelter.occupants})")
    if shelter is not None and not moved and r.name is None and r.capacity is None \
            and r.occupants is None:
        raise invalid("report", "changes nothing")


def _check_need(r: NeedReport, need: NeedState | None) -> None:
    check_id(r.need, "need")
    kind = check_enum(r.kind, NeedKind, "kind")
    if need is not None and need.incident != r.incident:
        raise invalid("incident", f"need {need.id} belongs to incident {need.incident}")
    if need is not None and need.kind != kind:
        raise invalid("kind", f"need {need.id} is for {need.kind}")
    _quantity(r.quantity)
    check_text(r.unit, "unit", 30, required=True)
    _note(r.note)


# ---- the board -------------------------------------------------------------------------------


@dataclass(slots=True)
class FloodSummary:
    """Totals over the incidents of one kabupaten/kota (or the province when ``code`` is "").

    People (affected, evacuated, sheltered) count only open incidents, so the figures are
    the situation now; ``needs_outstanding`` counts open needs per kind, since each need has
    its own unit (kg of rice, litres of water, boats) and quantities do not add up across them.
    """

    code: str
    name: str
    incidents: int = 0
    by_status: dict[str, int] = field(
        default_factory=lambda: {s.value: 0 for s in IncidentStatus})
    affected: int = 0
    evacuated: int = 0
    shelters: int = 0
    sheltered: int = 0
    shelter_capacity: int = 0
    needs_outstanding: dict[str, int] = field(
        default_factory=lambda: {k.value: 0 for k in NeedKind})

    @property
    def active(self) -> int:
        return self.by_status[IncidentStatus.ACTIVE.value]

    def add(self, inc: IncidentState) -> None:
        self.incidents += 1
        self.by_status[inc.status] += 1
        if not inc.open:
            return
        self.affected += inc.affected or 0
        self.evacuated += inc.evacuated or 0
        for s in inc.shelters:
            self.shelters += 1
            self.sheltered += s.occupants
            self.shelter_capacity += s.capacity
        for n in inc.needs:
            if n.outstanding > 0:
                self.needs_outstanding[n.kind] += 1


@dataclass(slots=True)
class FloodBoard:
    incidents: list[IncidentState]
    regencies: list[FloodSummary]
    province: FloodSummary
    as_of: float | None = None

    def regency(self, code: str) -> FloodSummary | None:
        return next((r for r in self.regencies if r.code == code), None)

    def incidents_of(self, code: str) -> list[IncidentState]:
        return [i for i in self.incidents if i.regency == code]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def flood_board(reports: Iterable[FloodReport], region_names: Mapping[str, str],
                province: str = "") -> FloodBoard:
    """Fold every report (sorted by time, duplicates by id once) into the board; every
    regency of ``region_names`` gets a summary, incidents or not."""
    return FloodState.of(reports).board(region_names, province)


__all__ = [
    "FLOOD_REPORTERS", "MAX_WATER_LEVEL_CM", "REPORT_TYPES",
    "FloodBoard", "FloodReport", "FloodScope", "FloodState", "FloodSummary", "Fulfilment",
    "IncidentReport", "IncidentState", "IncidentStatus", "NeedKind", "NeedReport", "NeedState",
    "ShelterReport", "ShelterState", "TimelinePoint",
    "check_flood_report", "flood_board", "flood_report_from_dict", "flood_report_to_dict",
]
