"""Builders for Siaga's three kinds of public notice, and who may publish them.

Officials think in the Indonesian alert levels (Waspada, Siaga, Awas) and in places; consumers of
CAP filter on urgency, severity, certainty, category and responseType. The builders turn the one
into the other consistently, so two notices of the same kind and level always carry the same
CAP vocabulary, and every notice names its kabupaten/kota by Kemendagri code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from ..errors import Refused
from ..roster import Member, Region, Role
from .cap import (
    KEMENDAGRI,
    Alert,
    AlertError,
    Area,
    Category,
    Certainty,
    Circle,
    Info,
    MsgType,
    Polygon,
    Reference,
    ResponseType,
    Scope,
    Severity,
    Status,
    Urgency,
    ValuePair,
    check_profile,
    wib,
)

#: Parameter names other systems can rely on.
ALERT_LEVEL: Final = "alertLevel"
NOTICE_KIND: Final = "siagaNotice"
PLACE: Final = "place"
TPS: Final = "TPS"

DAY: Final = 24 * 3600.0


class AlertLevel(StrEnum):
    """Indonesian disaster alert levels, lowest first."""

    WASPADA = "Waspada"  # watch
    SIAGA = "Siaga"  # alert
    AWAS = "Awas"  # warning


class NoticeKind(StrEnum):
    EVACUATION = "evacuation"
    AID_POINT = "aid_point"
    TPS_RELOCATION = "tps_relocation"


#: How a level reads in CAP terms; the same for every notice so consumers can sort by it.
LEVEL_CAP: Final[dict[AlertLevel, tuple[Urgency, Severity, Certainty]]] = {
    AlertLevel.WASPADA: (Urgency.FUTURE, Severity.MODERATE, Certainty.POSSIBLE),
    AlertLevel.SIAGA: (Urgency.EXPECTED, Severity.SEVERE, Certainty.LIKELY),
    AlertLevel.AWAS: (Urgency.IMMEDIATE, Severity.EXTREME, Certainty.OBSERVED),
}

#: What people are asked to do on an evacuation notice at each level.
EVACUATION_RESPONSE: Final[dict[AlertLevel, ResponseType]] = {
    AlertLevel.WASPADA: ResponseType.MONITOR,
    AlertLevel.SIAGA: ResponseType.PREPARE,
    AlertLevel.AWAS: ResponseType.EVACUATE,
}

_EVENT: Final[dict[NoticeKind, tuple[str, str]]] = {
    NoticeKind.EVACUATION: ("Evakuasi", "Evacuation"),
    NoticeKind.AID_POINT: ("Titik Distribusi Bantuan", "Aid Distribution Point"),
    NoticeKind.TPS_RELOCATION: ("Relokasi TPS", "Polling Station Relocation"),
}

#: Roles that may publish each kind. A regional head only for their own kabupaten/kota; the
#: governor, BPBD and (for polling stations) the election commission KPU province-wide.
PUBLISHERS: Final[dict[NoticeKind, frozenset[Role]]] = {
    NoticeKind.EVACUATION: frozenset({Role.GOVERNOR, Role.REGIONAL_HEAD, Role.BPBD}),
    NoticeKind.AID_POINT: frozenset({Role.GOVERNOR, Role.REGIONAL_HEAD, Role.BPBD}),
    NoticeKind.TPS_RELOCATION: frozenset({Role.GOVERNOR, Role.REGIONAL_HEAD, Role.KPU}),
}


def may_publish(member: Member, kind: NoticeKind, region_code: str) -> bool:
    if member.role not in PUBLISHERS[kind]:
        return False
    return member.role != Role.REGIONAL_HEAD or member.region == region_code


def authorise(member: Member, kind: NoticeKind, region_code: str) -> None:
    """Raise Refused(NOT_ALLOWED) unless ``member`` may publish ``kind`` for that region."""
    if not may_publish(member, kind, region_code):
        raise Refused(f"{member.id} ({member.role}) may not publish {kind} for {region_code}")


def notice_scope(alert: Alert) -> tuple[NoticeKind, str]:
    """What a published notice is and where: its kind (the ``siagaNotice`` parameter) and its
    kabupaten/kota (the Kemendagri geocode of its areas). Every language block must agree, so
    a notice cannot say one thing to the checker and another to readers."""
    kinds = {p.value for info in alert.infos for p in info.parameters
             if p.name == NOTICE_KIND}
    regions = {g.value for info in alert.infos for area in info.areas for g in area.geocodes
               if g.name == KEMENDAGRI}
    if len(kinds) != 1 or len(regions) != 1:
        raise AlertError("a Siaga notice names exactly one kind (parameter siagaNotice) and "
                         "one kabupaten/kota (geocode Kemendagri) in every block")
    (kind,), (region,) = kinds, regions
    try:
        return NoticeKind(kind), region
    except ValueError:
        raise AlertError(f"unknown notice kind {kind!r}") from None


@dataclass(frozen=True, slots=True)
class Wording:
    """The human text of a notice in one language."""

    headline: str
    description: str
    instruction: str = ""


def new_identifier(sender: str, now: float, kind: NoticeKind, region_code: str,
                   headline: str) -> str:
    """A deterministic, URL-safe CAP identifier (no clock or randomness in the core): the same
    notice re-issued in the same second gets the same id, any other a different one."""
    stamp = wib(now).strftime("%Y%m%dT%H%M%S")
    digest = hashlib.sha256("\0".join((sender, str(now), kind, region_code, headline))
                            .encode()).hexdigest()[:10]
    return f"siaga-{kind.replace('_', '-')}-{region_code}-{stamp}-{digest}"


@dataclass(frozen=True, slots=True)
class _Plan:
    """Everything a builder decides; :func:`_build` turns it into an Alert."""

    kind: NoticeKind
    category: Category
    responses: tuple[ResponseType, ...]
    cap_terms: tuple[Urgency, Severity, Certainty]
    area: Area
    effective: float
    expires: float
    parameters: tuple[ValuePair, ...]


def _area(region: Region, desc: str | None, centre: tuple[float, float] | None,
          radius_km: float, polygon: Polygon | None) -> Area:
    lat, lon = centre if centre is not None else (region.lat, region.lon)
    return Area(
        desc=desc or f"Sekitar {region.seat}, {region.name}",
        polygons=(polygon,) if polygon is not None else (),
        circles=() if polygon is not None else (Circle(lat, lon, radius_km),),
        geocodes=(ValuePair(KEMENDAGRI, region.code),),
    )


def _build(plan: _Plan, *, sender: str, now: float, region: Region, indonesian: Wording,
           english: Wording | None, level: AlertLevel | None, sender_name: str | None,
           contact: str | None, web: str | None, identifier: str | None, status: Status,
           references: Sequence[Reference]) -> Alert:
    if not plan.expires > plan.effective:
        raise AlertError("a notice must expire after it takes effect")
    params: tuple[ValuePair, ...] = (ValuePair(NOTICE_KIND, plan.kind.value),)
    if level is not None:
        params += (ValuePair(ALERT_LEVEL, level.value),)
    params += plan.parameters
    urgency, severity, certainty = plan.cap_terms
    infos = []
    for language, wording, event in (("id-ID", indonesian, _EVENT[plan.kind][0]),
                                     ("en-US", english, _EVENT[plan.kind][1])):
        if wording is None:
            continue
        infos.append(Info(
            language=language, categories=(plan.category,), event=event,
            urgency=urgency, severity=severity, certainty=certainty,
            response_types=plan.responses, effective=wib(plan.effective),
            expires=wib(plan.expires), sender_name=sender_name,
            headline=wording.headline, description=wording.description,
            instruction=wording.instruction or None, web=web, contact=contact,
            parameters=params, areas=(plan.area,)))
    alert = Alert(
        identifier=identifier or new_identifier(sender, now, plan.kind, region.code,
                                                indonesian.headline),
        sender=sender, sent=wib(now), status=status,
        msg_type=MsgType.UPDATE if references else MsgType.ALERT, scope=Scope.PUBLIC,
        references=tuple(references), infos=tuple(infos))
    check_profile(alert)
    return alert


def evacuation(*, sender: str, now: float, region: Region, level: AlertLevel,
               indonesian: Wording, english: Wording | None = None,
               centre: tuple[float, float] | None = None, radius_km: float = 10.0,
               polygon: Polygon | None = None, area_desc: str | None = None,
               valid_for: float = DAY, sender_name: str | None = None,
               contact: str | None = None, web: str | None = None,
               identifier: str | None = None, status: Status = Status.ACTUAL,
               references: Sequence[Reference] = ()) -> Alert:
    """An evacuation notice. The area is ``polygon`` if given, else a circle of ``radius_km``
    around ``centre`` (default: the region's seat). Awas asks people to evacuate, Siaga to
    prepare, Waspada to monitor."""
    plan = _Plan(NoticeKind.EVACUATION, Category.SAFETY, (EVACUATION_RESPONSE[level],),
                 LEVEL_CAP[level], _area(region, area_desc, centre, radius_km, polygon),
                 now, now + valid_for, ())
    return _build(plan, sender=sender, now=now, region=region, indonesian=indonesian,
                  english=english, level=level, sender_name=sender_name, contact=contact,
                  web=web, identifier=identifier, status=status, references=references)


def aid_point(*, sender: str, now: float, region: Region, place: str,
              location: tuple[float, float], opens: float, closes: float,
              indonesian: Wording, english: Wording | None = None, radius_km: float = 2.0,
              level: AlertLevel | None = None, sender_name: str | None = None,
              contact: str | None = None, web: str | None = None,
              identifier: str | None = None, status: Status = Status.ACTUAL,
              references: Sequence[Reference] = ()) -> Alert:
    """Where and when aid is handed out: effective ``opens``, expires ``closes``. People are
    asked to act on the instruction (CAP "Execute"); the area is ``radius_km`` around it."""
    area = Area(desc=f"{place}, {region.name}",
                circles=(Circle(location[0], location[1], radius_km),),
                geocodes=(ValuePair(KEMENDAGRI, region.code),))
    plan = _Plan(NoticeKind.AID_POINT, Category.RESCUE, (ResponseType.EXECUTE,),
                 (Urgency.EXPECTED, Severity.MINOR, Certainty.OBSERVED), area, opens, closes,
                 (ValuePair(PLACE, place),))
    return _build(plan, sender=sender, now=now, region=region, indonesian=indonesian,
                  english=english, level=level, sender_name=sender_name, contact=contact,
                  web=web, identifier=identifier, status=status, references=references)


def tps_relocation(*, sender: str, now: float, region: Region, tps: str, new_place: str,
                   location: tuple[float, float], indonesian: Wording,
                   english: Wording | None = None, effective: float | None = None,
                   expires: float | None = None, radius_km: float = 1.0,
                   sender_name: str | None = None, contact: str | None = None,
                   web: str | None = None, identifier: str | None = None,
                   status: Status = Status.ACTUAL,
                   references: Sequence[Reference] = ()) -> Alert:
    """A polling station (TPS) moved to ``new_place`` at ``location``; valid from ``effective``
    (default now) for three days unless ``expires`` says otherwise."""
    start = now if effective is None else effective
    area = Area(desc=f"{new_place}, {region.name}",
                circles=(Circle(location[0], location[1], radius_km),),
                geocodes=(ValuePair(KEMENDAGRI, region.code),))
    plan = _Plan(NoticeKind.TPS_RELOCATION, Category.OTHER, (ResponseType.EXECUTE,),
                 (Urgency.EXPECTED, Severity.MINOR, Certainty.OBSERVED), area, start,
                 start + 3 * DAY if expires is None else expires,
                 (ValuePair(TPS, tps), ValuePair(PLACE, new_place)))
    return _build(plan, sender=sender, now=now, region=region, indonesian=indonesian,
                  english=english, level=None, sender_name=sender_name, contact=contact,
                  web=web, identifier=identifier, status=status, references=references)


__all__ = [
    "ALERT_LEVEL",
    "EVACUATION_RESPONSE",
    "LEVEL_CAP",
    "NOTICE_KIND",
    "PLACE",
    "PUBLISHERS",
    "TPS",
    "AlertLevel",
    "NoticeKind",
    "Wording",
    "aid_point",
    "authorise",
    "evacuation",
    "may_publish",
    "new_identifier",
    "notice_scope",
    "tps_relocation",
]
