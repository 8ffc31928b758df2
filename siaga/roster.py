"""The roster: who is on the network, which talkgroups exist, and who may do what on each.

A roster is a TOML file that a province edits for itself; ``siaga/data/jambi.toml`` is the
default. Membership and rights are written as *selectors* so that a file stays short and a new
regency head is added in one place:

``"*"``              every member
``"role:bpbd"``      every member with that role
``"region:15.04"``   every member of that kabupaten/kota
``"gubernur"``       one member, by id
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated

import msgspec

from .errors import ConfigError


class Role(StrEnum):
    GOVERNOR = "governor"
    REGIONAL_HEAD = "regional_head"
    STAFF = "staff"
    POLICE = "police"
    FIRE = "fire"
    BPBD = "bpbd"
    KPU = "kpu"  # election commission (Komisi Pemilihan Umum)
    BAWASLU = "bawaslu"  # election supervisory body (Badan Pengawas Pemilu)
    AUDITOR = "auditor"
    ADMIN = "admin"


class Priority(IntEnum):
    """Floor priority; a higher value pre-empts a lower one."""

    STAFF = 1
    REGIONAL = 2
    COMMAND = 3
    EMERGENCY = 4


ROLE_PRIORITY: dict[Role, Priority] = {
    Role.GOVERNOR: Priority.COMMAND,
    Role.REGIONAL_HEAD: Priority.REGIONAL,
}

ROLE_LABEL_ID: dict[Role, str] = {
    Role.GOVERNOR: "Gubernur",
    Role.REGIONAL_HEAD: "Kepala Daerah",
    Role.STAFF: "Staf/Operator",
    Role.POLICE: "Polisi",
    Role.FIRE: "Pemadam Kebakaran",
    Role.BPBD: "BPBD",
    Role.KPU: "KPU",
    Role.BAWASLU: "Bawaslu",
    Role.AUDITOR: "Auditor",
    Role.ADMIN: "Admin",
}


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    head_title: str
    seat: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    name: str
    role: Role
    region: str = ""

    @property
    def priority(self) -> Priority:
        return ROLE_PRIORITY.get(self.role, Priority.STAFF)


@dataclass(frozen=True, slots=True)
class Talkgroup:
    """A talkgroup and its rules. ``number`` is the compact id used in audio frame headers."""

    id: str
    number: int
    name: str
    members: frozenset[str]
    transmitters: frozenset[str]
    clearers: frozenset[str]
    preempters: frozenset[str] = frozenset()
    time_limit: float = 60.0
    emergency_time_limit: float = 120.0
    queue_timeout: float = 30.0
    description: str = ""

    def can_transmit(self, member_id: str) -> bool:
        return member_id in self.transmitters

    def can_clear(self, member_id: str) -> bool:
        return member_id in self.clearers

    def can_preempt(self, member_id: str) -> bool:
        """Whether a higher priority lets this member cut in, or only puts it first in line."""
        return member_id in self.preempters


@dataclass(frozen=True, slots=True)
class StatusCode:
    """A canned status an HT user sends with one key; shown in Indonesian, then English."""

    code: str
    text_id: str
    text_en: str


DEFAULT_STATUS_CODES: tuple[StatusCode, ...] = (
    StatusCode("tps_aman", "TPS aman", "Polling station safe"),
    StatusCode("banjir", "Banjir", "Flooding"),
    StatusCode("butuh_bantuan", "Butuh bantuan", "Need help"),
    StatusCode("logistik_tiba", "Logistik tiba", "Logistics arrived"),
    StatusCode("evakuasi", "Evakuasi berjalan", "Evacuation under way"),
    StatusCode("listrik_padam", "Listrik padam", "Power cut"),
)


@dataclass(frozen=True, slots=True)
class Roster:
    network: str
    province: str
    regions: dict[str, Region]
    members: dict[str, Member]
    talkgroups: dict[str, Talkgroup]
    by_number: dict[int, Talkgroup] = field(default_factory=dict)
    status_codes: dict[str, StatusCode] = field(
        default_factory=lambda: {s.code: s for s in DEFAULT_STATUS_CODES})
    #: Who may see members' positions (a member always sees its own): positions are private.
    position_viewers: frozenset[str] = frozenset()

    def talkgroups_of(self, member_id: str) -> list[Talkgroup]:
        return [tg for tg in self.talkgroups.values() if member_id in tg.members]

    def with_talkgroup(self, tg: Talkgroup) -> Roster:
        """A copy with ``tg`` replacing the talkgroup of the same id (e.g. a changed limit)."""
        groups = {**self.talkgroups, tg.id: tg}
        return replace(self, talkgroups=groups, by_number={t.number: t for t in groups.values()})

    def fingerprint(self) -> str:
        """A short hash of everything that decides who may do what: members, roles and every
        talkgroup rule. The server logs it at start, so a changed rule leaves an audit trace."""
        canonical = {
            "members": sorted((m.id, m.name, m.role.value, m.region)
                              for m in self.members.values()),
            "talkgroups": sorted(
                (t.id, t.number, t.name, sorted(t.members), sorted(t.transmitters),
                 sorted(t.clearers), sorted(t.preempters), t.time_limit,
                 t.emergency_time_limit, t.queue_timeout)
                for t in self.talkgroups.values()),
        }
        digest = hashlib.sha256(b"siaga/v1/roster\0" + msgspec.json.encode(canonical))
        return digest.hexdigest()[:16]

    def region_name(self, code: str) -> str:
        region = self.regions.get(code)
        return region.name if region else ""


# ---- the file format, validated by msgspec so errors name the offending field -----------------

Ident = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]


class _NetworkFile(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    province: str


class _RegionFile(msgspec.Struct, forbid_unknown_fields=True):
    code: str
    name: str
    head_title: str
    seat: str
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)]


class _MemberFile(msgspec.Struct, forbid_unknown_fields=True):
    id: Ident
    name: str
    role: Role
    region: str = ""


class _TalkgroupFile(msgspec.Struct, forbid_unknown_fields=True):
    id: Ident
    name: str
    members: list[str]
    transmit: list[str] = msgspec.field(default_factory=lambda: ["*"])
    clear_emergency: list[str] = msgspec.field(
        default_factory=lambda: ["role:governor", "role:admin", "role:bpbd"])
    preempt: list[str] = msgspec.field(default_factory=lambda: ["*"])
    time_limit: Seconds = 60.0
    emergency_time_limit: Seconds = 120.0
    queue_timeout: Seconds = 30.0
    description: str = ""


class _StatusFile(msgspec.Struct, forbid_unknown_fields=True):
    code: Ident
    text_id: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
    text_en: Annotated[str, msgspec.Meta(max_length=60)] = ""


class _RosterFile(msgspec.Struct, forbid_unknown_fields=True):
    network: _NetworkFile
    regions: list[_RegionFile] = []
    members: list[_MemberFile] = []
    talkgroups: list[_TalkgroupFile] = []
    status_codes: list[_StatusFile] | None = None
    position_viewers: list[str] = msgspec.field(
        default_factory=lambda: ["role:governor", "role:bpbd", "role:admin", "role:staff"])


def _select(selectors: Iterable[str], pool: Iterable[Member], where: str,
            within: frozenset[str] | None = None) -> frozenset[str]:
    pool = list(pool)
    ids = {m.id for m in pool}
    chosen: set[str] = set()
    for sel in selectors:
        if sel == "*":
            chosen.update(ids)
        elif sel.startswith("role:"):
            role = sel[5:]
            if role not in Role.__members__.values():
                raise ConfigError(f"{where}: unknown role in selector {sel!r}")
            chosen.update(m.id for m in pool if m.role == role)
        elif sel.startswith("region:"):
            code = sel[7:]
            chosen.update(m.id for m in pool if m.region == code)
        elif sel in ids:
            chosen.add(sel)
        else:
            raise ConfigError(f"{where}: selector {sel!r} matches no member")
    if within is not None:
        chosen &= within
    return frozenset(chosen)


def parse_roster(text: str, source: str = "<roster>") -> Roster:
    """Parse and check a roster; every error names the file and the field at fault."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    try:
        spec = msgspec.convert(raw, _RosterFile)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {exc}") from exc

    regions: dict[str, Region] = {}
    for r in spec.regions:
        if r.code in regions:
            raise ConfigError(f"{source}: duplicate region code {r.code!r}")
        regions[r.code] = Region(r.code, r.name, r.head_title, r.seat, r.lat, r.lon)

    members: dict[str, Member] = {}
    for m in spec.members:
        if m.id in members:
            raise ConfigError(f"{source}: duplicate member id {m.id!r}")
        if m.region and m.region not in regions and m.role != Role.GOVERNOR:
            raise ConfigError(f"{source}: member {m.id!r} names unknown region {m.region!r}")
        members[m.id] = Member(m.id, m.name, m.role, m.region)

    talkgroups: dict[str, Talkgroup] = {}
    for number, t in enumerate(spec.talkgroups, start=1):
        if t.id in talkgroups:
            raise ConfigError(f"{source}: duplicate talkgroup id {t.id!r}")
        where = f"{source}: talkgroup {t.id!r}"
        group = _select(t.members, members.values(), f"{where} members")
        if not group:
            raise ConfigError(f"{where} has no members")
        talkgroups[t.id] = Talkgroup(
            id=t.id,
            number=number,
            name=t.name,
            members=group,
            transmitters=_select(t.transmit, members.values(), f"{where} transmit", group),
            clearers=_select(t.clear_emergency, members.values(), f"{where} clear_emergency",
                             group),
            preempters=_select(t.preempt, members.values(), f"{where} preempt", group),
            time_limit=t.time_limit,
            emergency_time_limit=t.emergency_time_limit,
            queue_timeout=t.queue_timeout,
            description=t.description,
        )
    statuses = (DEFAULT_STATUS_CODES if spec.status_codes is None else
                tuple(StatusCode(s.code, s.text_id, s.text_en or s.text_id)
                      for s in spec.status_codes))
    return Roster(
        network=spec.network.name,
        province=spec.network.province,
        regions=regions,
        members=members,
        talkgroups=talkgroups,
        by_number={tg.number: tg for tg in talkgroups.values()},
        status_codes={s.code: s for s in statuses},
        position_viewers=_select(spec.position_viewers, members.values(),
                                 f"{source}: position_viewers"),
    )


def default_roster_text() -> str:
    return resources.files("siaga").joinpath("data/jambi.toml").read_text(encoding="utf-8")


def load_roster(path: str | Path | None = None) -> Roster:
    """Load a roster file, or the built-in Jambi Province roster when ``path`` is None."""
    if path is None:
        return parse_roster(default_roster_text(), "jambi.toml (built-in)")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read roster {p}: {exc.strerror}") from exc
    return parse_roster(text, str(p))


__all__ = [
    "DEFAULT_STATUS_CODES", "ROLE_LABEL_ID", "Member", "Priority", "Region", "Role", "Roster",
    "StatusCode", "Talkgroup",
    "default_roster_text", "load_roster", "parse_roster",
]
