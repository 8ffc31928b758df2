"""Election-day operations: the polling stations (TPS), field reports on them, and the board
that rolls them up TPS → kabupaten/kota → province, as KPU's Sirekap and KawalPemilu do.

Sans-I/O: the registry is parsed from text, reports are checked against it and the sender,
and the board is a pure fold of reports sorted by time. The hub stamps ``at``; the store keeps
reports (append-only, idempotent by report id); the board is rebuilt from them at will.

TPS ids in the bundled sample (``siaga/data/jambi-tps.csv``) read
``<regency>.<kecamatan>.<desa>.<tps>``, e.g. ``15.06.01.02.003`` is TPS 003 of desa 02 of
kecamatan 01 in Tanjung Jabung Timur (15.06). The registry only requires an id to start with
its regency code and a dot, so KPU's own numbering can replace the sample as it is.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Final

from .errors import ConfigError, ErrorCode, Refused, SiagaError
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


class TpsStatus(StrEnum):
    PREPARING = "preparing"
    OPEN = "open"
    VOTING = "voting"
    COUNTING = "counting"
    FINISHED = "finished"
    DISRUPTED = "disrupted"
    RELOCATED = "relocated"


class IncidentKind(StrEnum):
    FLOODING = "flooding"
    LOGISTICS_DELAY = "logistics_delay"
    SECURITY = "security"
    POWER = "power"
    OTHER = "other"


class Logistics(StrEnum):
    """Where the ballot boxes and forms are: sent out, at the TPS, back at the PPK."""

    DISPATCHED = "dispatched"
    ARRIVED = "arrived"
    RETURNED = "returned"


#: Who may report on a TPS. Auditors read, never report.
ELECTION_REPORTERS: Final = frozenset({
    Role.GOVERNOR, Role.REGIONAL_HEAD, Role.STAFF, Role.KPU, Role.BAWASLU, Role.POLICE,
    Role.ADMIN})

#: Columns of the registry CSV, in order.
TPS_COLUMNS: Final = ("id", "regency", "district", "village", "number", "lat", "lon", "voters")


@dataclass(frozen=True, slots=True)
class Tps:
    """A polling station. ``voters`` is its voter list (DPT) size."""

    id: str
    regency: str
    district: str
    village: str
    number: int
    lat: float
    lon: float
    voters: int


class TpsRegistry:
    """The known polling stations, by id and by regency."""

    def __init__(self, stations: Iterable[Tps] = ()) -> None:
        self._by_id: dict[str, Tps] = {}
        for tps in stations:
            if tps.id in self._by_id:
                raise ConfigError(f"duplicate TPS id {tps.id!r}")
            self._by_id[tps.id] = tps

    @classmethod
    def from_csv(cls, text: str, region_codes: Collection[str],
                 source: str = "<tps>") -> TpsRegistry:
        """Parse the registry CSV (header ``TPS_COLUMNS``; ``#`` lines are comments).

        Every error names the source, the line and the column, so a KPU export with one bad
        row is fixed in one go.
        """
        stations: list[Tps] = []
        seen: dict[str, int] = {}
        header = False
        for line_no, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            cells = [c.strip() for c in next(csv.reader([line]))]
            where = f"{source}: line {line_no}"
            if not header:
                if tuple(cells) != TPS_COLUMNS:
                    raise ConfigError(f"{where}: header must be {','.join(TPS_COLUMNS)}")
                header = True
                continue
            if len(cells) != len(TPS_COLUMNS):
                raise ConfigError(f"{where}: expected {len(TPS_COLUMNS)} columns, "
                                  f"got {len(cells)}")
            row = dict(zip(TPS_COLUMNS, cells, strict=True))
            tps = _parse_row(row, region_codes, where)
            if tps.id in seen:
                raise ConfigError(f"{where}, column 'id': duplicate TPS id {tps.id!r} "
                                  f"(first on line {seen[tps.id]})")
            seen[tps.id] = line_no
            stations.append(tps)
        if not header:
            raise ConfigError(f"{source}: no header line")
        return cls(stations)

    def get(self, tps_id: str) -> Tps | None:
        return self._by_id.get(tps_id)

    def of_regency(self, code: str) -> list[Tps]:
        return [t for t in self._by_id.values() if t.regency == code]

    def regencies(self) -> list[str]:
        return sorted({t.regency for t in self._by_id.values()})

    def __iter__(self) -> Iterator[Tps]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, tps_id: object) -> bool:
        return tps_id in self._by_id


def _parse_row(row: dict[str, str], region_codes: Collection[str], where: str) -> Tps:
    def bad(column: str, problem: str) -> ConfigError:
        return ConfigError(f"{where}, column {column!r}: {problem} (got {row[column]!r})")

    def number(column: str) -> float:
        try:
            return float(row[column])
        except ValueError:
            raise bad(column, "not a number") from None

    def whole(column: str, minimum: int) -> int:
        try:
            value = int(row[column])
        except ValueError:
            raise bad(column, "not a whole number") from None
        if value < minimum:
            raise bad(column, f"must be at least {minimum}")
        return value

    if row["regency"] not in region_codes:
        raise bad("regency", "unknown region code")
    try:
        check_id(row["id"], "id")
    except SiagaError:
        raise bad("id", "must be 1-64 letters, digits or . _ : -") from None
    if not row["id"].startswith(row["regency"] + "."):
        raise bad("id", f"must start with its regency code {row['regency']}.")
    for column in ("district", "village"):
        if not row[column] or len(row[column]) > MAX_NAME:
            raise bad(column, f"must be 1-{MAX_NAME} characters")
    lat, lon = number("lat"), number("lon")
    try:
        check_coordinates(lat, lon)
    except SiagaError:
        raise bad("lat" if not -90 <= lat <= 90 else "lon", "off the globe") from None
    return Tps(row["id"], row["regency"], row["district"], row["village"],
               whole("number", 1), lat, lon, whole("voters", 0))


def default_tps_text() -> str:
    """The bundled sample registry (sample data, to be replaced by KPU's list)."""
    return resources.files("siaga").joinpath("data/jambi-tps.csv").read_text(encoding="utf-8")


def load_tps_registry(region_codes: Collection[str],
                      path: str | Path | None = None) -> TpsRegistry:
    """Load a registry file, or the bundled Jambi sample when ``path`` is None."""
    if path is None:
        return TpsRegistry.from_csv(default_tps_text(), region_codes, "jambi-tps.csv (built-in)")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read TPS registry {p}: {exc.strerror}") from exc
    return TpsRegistry.from_csv(text, region_codes, str(p))


# ---- reports ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Relocation:
    """Where a TPS moved to (a flooded school, say, to the mosque on higher ground)."""

    place: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class TpsReport:
    """One field report on one TPS. ``id`` is chosen by the client (random or prefixed with
    its member id, so two clients never pick the same) and makes a retry harmless; every
    change is optional and None (or empty) means "no change"."""

    id: str
    tps: str
    reporter: str
    at: float
    status: TpsStatus | None = None
    ballots_cast: int | None = None
    incidents: tuple[IncidentKind, ...] = ()
    logistics: Logistics | None = None
    relocated_to: Relocation | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return encode(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TpsReport:
        """From plain data (JSON); a wrong type or unknown status names the field."""
        return decode(data, cls)


def check_tps_report(report: TpsReport, registry: TpsRegistry, member: Member) -> Tps:
    """Check a report and its sender; returns the TPS it is about.

    Raises :class:`Refused` (``NOT_ALLOWED``, ``UNKNOWN_TPS``) or :class:`ProtocolError`
    (``INVALID_FIELD``, the message naming the field). Nothing is partly accepted.
    """
    check_id(report.id, "id")
    check_time(report.at)
    tps = registry.get(report.tps) if isinstance(report.tps, str) else None
    if tps is None:
        raise Refused(f"tps: unknown polling station {report.tps!r}", ErrorCode.UNKNOWN_TPS)
    check_reporter(member, report.reporter, ELECTION_REPORTERS, tps.regency,
                   "polling-station reports", field="tps")
    status = None if report.status is None else check_enum(report.status, TpsStatus, "status")
    if report.ballots_cast is not None:
        check_count(report.ballots_cast, "ballots_cast", tps.voters)
    if not isinstance(report.incidents, tuple | list):
        raise invalid("incidents", "must be a list")
    for kind in report.incidents:
        check_enum(kind, IncidentKind, "incidents")
    if report.logistics is not None:
        check_enum(report.logistics, Logistics, "logistics")
    moved = report.relocated_to
    if moved is not None:
        if not isinstance(moved, Relocation):
            raise invalid("relocated_to", "must have place, lat and lon")
        check_text(moved.place, "relocated_to.place", MAX_NAME, required=True)
        check_coordinates(moved.lat, moved.lon, "relocated_to.")
    if status is TpsStatus.RELOCATED and moved is None:
        raise invalid("relocated_to", "required when status is relocated")
    if moved is not None and status is not TpsStatus.RELOCATED:
        raise invalid("status", "must be relocated when relocated_to is given")
    if report.note is not None:
        check_text(report.note, "note", MAX_NOTE)
    if (status is None and report.ballots_cast is None and not report.incidents
            and report.logistics is None and moved is None and not report.note):
        raise invalid("report", "changes nothing: give a status, ballots_cast, incidents, "
                                "logistics, relocated_to or a note")
    return tps


# ---- the board -------------------------------------------------------------------------------


@dataclass(slots=True)
class TpsState:
    """The latest known state of one TPS; ``status`` is None until someone reports on it."""

    id: str
    regency: str
    district: str
    village: str
    number: int
    voters: int
    status: str | None = None
    ballots_cast: int | None = None
    turnout: float | None = None
    incidents: list[str] = field(default_factory=list)
    logistics: str | None = None
    relocated_to: Relocation | None = None
    note: str | None = None
    updated_at: float | None = None
    reporter: str | None = None
    reports: int = 0


@dataclass(slots=True)
class ElectionSummary:
    """Totals over a set of TPS (one kabupaten/kota, or the province when ``code`` is "").

    ``turnout`` is ballots cast over the voters of the TPS that reported ballots
    (``voters_reporting``), so a half-counted regency does not look like a low turnout.
    ``incidents`` counts TPS that reported each kind at least once.
    """

    code: str
    name: str
    tps_total: int = 0
    tps_reported: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in TpsStatus})
    voters: int = 0
    voters_reporting: int = 0
    ballots_cast: int = 0
    turnout: float | None = None
    incidents: dict[str, int] = field(
        default_factory=lambda: {k.value: 0 for k in IncidentKind})
    disrupted: list[str] = field(default_factory=list)
    relocated: list[str] = field(default_factory=list)

    def add(self, tps: TpsState) -> None:
        self.tps_total += 1
        self.voters += tps.voters
        if tps.status is not None:
            self.tps_reported += 1
            self.by_status[tps.status] += 1
        if tps.ballots_cast is not None:
            self.ballots_cast += tps.ballots_cast
            self.voters_reporting += tps.voters
        for kind in tps.incidents:
            self.incidents[kind] += 1
        if tps.status == TpsStatus.DISRUPTED:
            self.disrupted.append(tps.id)
        if tps.relocated_to is not None:
            self.relocated.append(tps.id)
        self.turnout = (min(1.0, self.ballots_cast / self.voters_reporting)
                        if self.voters_reporting else None)


@dataclass(slots=True)
class ElectionBoard:
    """Every TPS (by id), every kabupaten/kota (by code) and the province."""

    stations: list[TpsState]
    regencies: list[ElectionSummary]
    province: ElectionSummary
    as_of: float | None = None

    def regency(self, code: str) -> ElectionSummary | None:
        return next((r for r in self.regencies if r.code == code), None)

    def stations_of(self, code: str) -> list[TpsState]:
        return [s for s in self.stations if s.regency == code]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _turnout(ballots: int, voters: int) -> float | None:
    return min(1.0, ballots / voters) if voters > 0 else None


def election_board(registry: TpsRegistry, reports: Iterable[TpsReport],
                   region_names: Mapping[str, str], province: str = "") -> ElectionBoard:
    """Fold reports, in time order (ties by id), into the board.

    A report id seen twice counts once (the first given); reports on a TPS no longer in the
    registry are skipped. Every regency of ``region_names`` gets a summary, TPS or not.
    """
    states = {t.id: TpsState(t.id, t.regency, t.district, t.village, t.number, t.voters)
              for t in sorted(registry, key=lambda t: t.id)}
    unique: dict[str, TpsReport] = {}
    for r in reports:
        unique.setdefault(r.id, r)
    as_of = None
    for r in sorted(unique.values(), key=lambda r: (r.at, r.id)):
        s = states.get(r.tps)
        if s is None:
            continue
        as_of = r.at
        if r.status is not None:
            s.status = TpsStatus(r.status).value
        if r.ballots_cast is not None:
            s.ballots_cast = r.ballots_cast
            s.turnout = _turnout(r.ballots_cast, s.voters)
        for kind in r.incidents:
            if kind not in s.incidents:
                s.incidents.append(IncidentKind(kind).value)
        if r.logistics is not None:
            s.logistics = Logistics(r.logistics).value
        if r.relocated_to is not None:
            s.relocated_to = r.relocated_to
        if r.note:
            s.note = r.note
        s.updated_at, s.reporter = r.at, r.reporter
        s.reports += 1
    codes = sorted(set(region_names) | set(registry.regencies()))
    regencies = {c: ElectionSummary(c, region_names.get(c, c)) for c in codes}
    whole = ElectionSummary("", province)
    for s in states.values():
        s.incidents.sort()
        regencies[s.regency].add(s)
        whole.add(s)
    return ElectionBoard(list(states.values()), list(regencies.values()), whole, as_of)


__all__ = [
    "ELECTION_REPORTERS", "TPS_COLUMNS",
    "ElectionBoard", "ElectionSummary", "IncidentKind", "Logistics", "Relocation", "Tps",
    "TpsRegistry", "TpsReport", "TpsState", "TpsStatus",
    "check_tps_report", "default_tps_text", "election_board", "load_tps_registry",
]
