"""A typed model of the CAP 1.2 subset Siaga emits, its XML form and schema validation.

Public notices leave Siaga as OASIS Common Alerting Protocol 1.2 documents, the format BMKG and
most alerting systems already read. The model is a tree of frozen dataclasses whose field order
follows the schema's element order, so :func:`to_xml` is a straight walk and
``from_xml(to_xml(a)) == a`` holds. Every document written or read is checked against the bundled
CAP 1.2 XSD, so a bug here can never publish an invalid alert and foreign input is rejected
before it is looked at.

Sans-I/O: no clock (times are passed in, see :func:`wib`) and no files except the bundled schema,
read once through :mod:`importlib.resources`. Everything wrong with a document or a model value
raises :class:`AlertError`; exceptions of lxml never escape.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Final, TypeVar

from lxml import etree

from ..errors import ErrorCode, ProtocolError

CAP_NS: Final = "urn:oasis:names:tc:emergency:cap:1.2"
#: Jambi is on Western Indonesian Time all year; every time Siaga writes carries this offset.
WIB: Final = timezone(timedelta(hours=7), "WIB")
#: Larger documents are refused unread: a notice is a few KiB, and parsing is not free.
MAX_CAP_BYTES: Final = 256 * 1024
#: The geocode scheme for Kemendagri region codes ("15.06"), as BMKG-style consumers expect.
KEMENDAGRI: Final = "KEMENDAGRI"

_C: Final = f"{{{CAP_NS}}}"
# CAP 3.3.2 forbids spaces, commas and the XML-restricted "<" and "&" in identifier and sender.
_BAD_ID_CHARS: Final = re.compile(r"[\s,<&]")
# Characters XML 1.0 cannot carry at all (control characters, surrogates, U+FFFE/U+FFFF).
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NUMBER: Final = r"[-+]?\d+(?:\.\d+)?"
_POINT: Final = re.compile(rf"({_NUMBER}),({_NUMBER})")
_CIRCLE: Final = re.compile(rf"\s*({_NUMBER}),({_NUMBER})\s+({_NUMBER})\s*")


class AlertError(ProtocolError):
    """A CAP document or alert value is invalid: not XML, not CAP 1.2, or outside our profile."""

    default_code = ErrorCode.BAD_MESSAGE


# ---- CAP vocabularies (values are the exact CAP 1.2 strings) ------------------------------


class Status(StrEnum):
    ACTUAL = "Actual"
    EXERCISE = "Exercise"
    SYSTEM = "System"
    TEST = "Test"
    DRAFT = "Draft"


class MsgType(StrEnum):
    ALERT = "Alert"
    UPDATE = "Update"
    CANCEL = "Cancel"
    ACK = "Ack"
    ERROR = "Error"


class Scope(StrEnum):
    PUBLIC = "Public"
    RESTRICTED = "Restricted"
    PRIVATE = "Private"


class Category(StrEnum):
    GEO = "Geo"
    MET = "Met"
    SAFETY = "Safety"
    SECURITY = "Security"
    RESCUE = "Rescue"
    FIRE = "Fire"
    HEALTH = "Health"
    ENV = "Env"
    TRANSPORT = "Transport"
    INFRA = "Infra"
    CBRNE = "CBRNE"
    OTHER = "Other"


class ResponseType(StrEnum):
    SHELTER = "Shelter"
    EVACUATE = "Evacuate"
    PREPARE = "Prepare"
    EXECUTE = "Execute"
    AVOID = "Avoid"
    MONITOR = "Monitor"
    ASSESS = "Assess"
    ALL_CLEAR = "AllClear"
    NONE = "None"


class Urgency(StrEnum):
    IMMEDIATE = "Immediate"
    EXPECTED = "Expected"
    FUTURE = "Future"
    PAST = "Past"
    UNKNOWN = "Unknown"


class Severity(StrEnum):
    EXTREME = "Extreme"
    SEVERE = "Severe"
    MODERATE = "Moderate"
    MINOR = "Minor"
    UNKNOWN = "Unknown"


class Certainty(StrEnum):
    OBSERVED = "Observed"
    LIKELY = "Likely"
    POSSIBLE = "Possible"
    UNLIKELY = "Unlikely"
    UNKNOWN = "Unknown"


# ---- value checks shared by the model ---------------------------------------------------


def wib(now: float) -> datetime:
    """A Unix time as a WIB (+07:00) datetime in whole seconds, as CAP date-times require."""
    try:
        return datetime.fromtimestamp(math.floor(now), WIB)
    except (OverflowError, OSError, ValueError) as exc:  # inf, NaN, or beyond year 9999
        raise AlertError(f"time {now!r} is not a usable Unix timestamp") from exc


def _time(value: datetime, what: str) -> datetime:
    """Normalise to WIB and whole seconds so equal instants compare and serialise equal."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise AlertError(f"{what} must be timezone-aware")
    try:
        return value.astimezone(WIB).replace(microsecond=0)
    except OverflowError as exc:  # within a day of year 1 or 9999
        raise AlertError(f"{what} {value.isoformat()} is out of range") from exc


def _parse_time(text: str, what: str) -> datetime:
    """Read a schema-valid CAP date-time. The XSD admits a few Python cannot represent
    (24:00:00, year 1 at a positive offset); those are refused, never a crash."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise AlertError(f"{what} {text!r} is not a usable date-time") from exc
    return _time(value, what)


def _text(value: str, what: str) -> str:
    if _NOT_XML.search(value):
        raise AlertError(f"{what} contains a character XML cannot carry")
    return value


def _token(value: str, what: str) -> str:
    if not value or _BAD_ID_CHARS.search(value) or _NOT_XML.search(value):
        raise AlertError(f"{what} must be non-empty without spaces, commas, '<' or '&'")
    return value


def _coord(value: float, limit: float, what: str) -> float:
    if not (math.isfinite(value) and -limit <= value <= limit):
        raise AlertError(f"{what} {value!r} is out of range")
    return round(value, 6) + 0.0  # + 0.0 turns -0.0 into 0.0


def _num(value: float) -> str:
    """Fixed-point text (never ``1e-05``), exact for the six decimals the model keeps."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


_T = TypeVar("_T")


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)  # normalising a frozen dataclass in __post_init__


# ---- the model -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValuePair:
    """CAP's ``valueName``/``value`` pair, used by eventCode, parameter and geocode."""

    name: str
    value: str

    def __post_init__(self) -> None:
        _text(self.name, "valueName")
        _text(self.value, "value")


@dataclass(frozen=True, slots=True)
class Circle:
    """A CAP circle: centre in WGS 84 decimal degrees and a radius in kilometres."""

    lat: float
    lon: float
    radius_km: float

    def __post_init__(self) -> None:
        _set(self, "lat", _coord(self.lat, 90, "latitude"))
        _set(self, "lon", _coord(self.lon, 180, "longitude"))
        if not self.radius_km >= 0:
            raise AlertError(f"radius {self.radius_km!r} must not be negative")
        _set(self, "radius_km", _coord(self.radius_km, 20_037.5, "radius"))

    def to_cap(self) -> str:
        return f"{_num(self.lat)},{_num(self.lon)} {_num(self.radius_km)}"

    @classmethod
    def from_cap(cls, text: str) -> Circle:
        match = _CIRCLE.fullmatch(text)
        if match is None:
            raise AlertError(f"circle {text!r} is not 'lat,lon radius'")
        return cls(float(match[1]), float(match[2]), float(match[3]))


@dataclass(frozen=True, slots=True)
class Polygon:
    """A closed CAP polygon: at least four (lat, lon) points, the first repeated last."""

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        points = tuple((_coord(lat, 90, "latitude"), _coord(lon, 180, "longitude"))
                       for lat, lon in self.points)
        if len(points) < 4 or points[0] != points[-1]:
            raise AlertError("a polygon needs at least 4 points and must end where it starts")
        _set(self, "points", points)

    def to_cap(self) -> str:
        return " ".join(f"{_num(lat)},{_num(lon)}" for lat, lon in self.points)

    @classmethod
    def from_cap(cls, text: str) -> Polygon:
        points = []
        for pair in text.split():
            match = _POINT.fullmatch(pair)
            if match is None:
                raise AlertError(f"polygon point {pair!r} is not 'lat,lon'")
            points.append((float(match[1]), float(match[2])))
        return cls(tuple(points))


@dataclass(frozen=True, slots=True)
class Area:
    """Where a notice applies: a description, shapes, and region codes (``KEMENDAGRI``)."""

    desc: str
    polygons: tuple[Polygon, ...] = ()
    circles: tuple[Circle, ...] = ()
    geocodes: tuple[ValuePair, ...] = ()

    def __post_init__(self) -> None:
        _text(self.desc, "areaDesc")


@dataclass(frozen=True, slots=True)
class Info:
    """One ``<info>`` block: the notice in one language. Fields follow the schema's order."""

    language: str
    categories: tuple[Category, ...]
    event: str
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    response_types: tuple[ResponseType, ...] = ()
    audience: str | None = None
    event_codes: tuple[ValuePair, ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: tuple[ValuePair, ...] = ()
    areas: tuple[Area, ...] = ()

    def __post_init__(self) -> None:
        _token(self.language, "language")
        if not self.categories:
            raise AlertError("an info block needs at least one category")
        for name in ("effective", "onset", "expires"):
            value = getattr(self, name)
            if value is not None:
                _set(self, name, _time(value, name))
        for name in ("event", "audience", "sender_name", "headline", "description",
                     "instruction", "web", "contact"):
            value = getattr(self, name)
            if value is not None:
                _text(value, name)

    def parameter(self, name: str) -> str | None:
        """The value of the first parameter called ``name`` (e.g. ``alertLevel``)."""
        return next((p.value for p in self.parameters if p.name == name), None)


@dataclass(frozen=True, slots=True)
class Reference:
    """An earlier alert this one updates or cancels: CAP's ``sender,identifier,sent``."""

    sender: str
    identifier: str
    sent: datetime

    def __post_init__(self) -> None:
        _token(self.sender, "reference sender")
        _token(self.identifier, "reference identifier")
        _set(self, "sent", _time(self.sent, "reference sent"))

    def to_cap(self) -> str:
        return f"{self.sender},{self.identifier},{_fmt_time(self.sent)}"


@dataclass(frozen=True, slots=True)
class Alert:
    """A CAP ``<alert>``. Siaga's own notices carry an Indonesian info block first."""

    identifier: str
    sender: str
    sent: datetime
    status: Status
    msg_type: MsgType
    scope: Scope
    source: str | None = None
    restriction: str | None = None
    addresses: str | None = None
    codes: tuple[str, ...] = ()
    note: str | None = None
    references: tuple[Reference, ...] = ()
    incidents: str | None = None
    infos: tuple[Info, ...] = ()

    def __post_init__(self) -> None:
        _token(self.identifier, "identifier")
        _token(self.sender, "sender")
        _set(self, "sent", _time(self.sent, "sent"))
        for name in ("source", "restriction", "addresses", "note", "incidents"):
            value = getattr(self, name)
            if value is not None:
                _text(value, name)
        for code in self.codes:
            _text(code, "code")

    def info(self, language: str) -> Info | None:
        return next((i for i in self.infos if i.language == language), None)


# ---- schema ----------------------------------------------------------------------------


@cache
def _schema() -> etree.XMLSchema:
    """The bundled CAP 1.2 XSD, parsed once. (An XMLSchema is not shared across threads.)"""
    data = resources.files(__package__).joinpath("CAP-v1.2.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(data, etree.XMLParser(no_network=True)))


def _parse(xml: bytes) -> etree._Element:
    """Parse untrusted bytes: size-capped, no DTD, no entities, no network."""
    if len(xml) > MAX_CAP_BYTES:
        raise AlertError(f"document is larger than {MAX_CAP_BYTES} bytes")
    # Comments and processing instructions are dropped: C14N without comments would not cover
    # them, so text split by a comment must read the same as the bytes that were signed.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise AlertError(f"not well-formed XML: line {exc.lineno}: {exc.msg}") from exc
    if root.getroottree().docinfo.doctype:
        raise AlertError("a DOCTYPE is not allowed in a CAP document")
    return root


def _check_schema(root: etree._Element) -> None:
    if root.tag != f"{_C}alert":
        name = etree.QName(root).text.replace(_C, "cap:")
        raise AlertError(f"line {root.sourceline}: root element is {name}, not cap:alert")
    schema = _schema()
    if not schema.validate(root):
        error = schema.error_log[0]
        message = error.message.replace(_C, "cap:")
        raise AlertError(f"CAP 1.2 schema: line {error.line}: {message}")


def validate(xml: bytes) -> None:
    """Raise AlertError, naming the line and element, unless ``xml`` is a valid CAP 1.2 alert."""
    _check_schema(_parse(xml))


# ---- writing ---------------------------------------------------------------------------


def _fmt_time(value: datetime) -> str:
    return value.astimezone(WIB).isoformat(timespec="seconds")


def _add(parent: etree._Element, name: str, text: str | None) -> etree._Element:
    element = etree.SubElement(parent, _C + name)
    element.text = text
    return element


def _add_opt(parent: etree._Element, name: str, text: str | None) -> None:
    if text is not None:
        _add(parent, name, text)


def _add_pairs(parent: etree._Element, name: str, pairs: Iterable[ValuePair]) -> None:
    for pair in pairs:
        element = _add(parent, name, None)
        _add(element, "valueName", pair.name)
        _add(element, "value", pair.value)


def _add_info(parent: etree._Element, info: Info) -> None:
    el = _add(parent, "info", None)
    _add(el, "language", info.language)
    for category in info.categories:
        _add(el, "category", category.value)
    _add(el, "event", info.event)
    for response in info.response_types:
        _add(el, "responseType", response.value)
    _add(el, "urgency", info.urgency.value)
    _add(el, "severity", info.severity.value)
    _add(el, "certainty", info.certainty.value)
    _add_opt(el, "audience", info.audience)
    _add_pairs(el, "eventCode", info.event_codes)
    for name, when in (("effective", info.effective), ("onset", info.onset),
                       ("expires", info.expires)):
        _add_opt(el, name, None if when is None else _fmt_time(when))
    for name, text in (("senderName", info.sender_name), ("headline", info.headline),
                       ("description", info.description), ("instruction", info.instruction),
                       ("web", info.web), ("contact", info.contact)):
        _add_opt(el, name, text)
    _add_pairs(el, "parameter", info.parameters)
    for area in info.areas:
        area_el = _add(el, "area", None)
        _add(area_el, "areaDesc", area.desc)
        for polygon in area.polygons:
            _add(area_el, "polygon", polygon.to_cap())
        for circle in area.circles:
            _add(area_el, "circle", circle.to_cap())
        _add_pairs(area_el, "geocode", area.geocodes)


def to_xml(alert: Alert) -> bytes:
    """Serialise in schema order as UTF-8, then validate: an invalid alert is never returned."""
    root = etree.Element(_C + "alert", nsmap={None: CAP_NS})
    _add(root, "identifier", alert.identifier)
    _add(root, "sender", alert.sender)
    _add(root, "sent", _fmt_time(alert.sent))
    _add(root, "status", alert.status.value)
    _add(root, "msgType", alert.msg_type.value)
    _add_opt(root, "source", alert.source)
    _add(root, "scope", alert.scope.value)
    _add_opt(root, "restriction", alert.restriction)
    _add_opt(root, "addresses", alert.addresses)
    for code in alert.codes:
        _add(root, "code", code)
    _add_opt(root, "note", alert.note)
    if alert.references:
        _add(root, "references", " ".join(r.to_cap() for r in alert.references))
    _add_opt(root, "incidents", alert.incidents)
    for info in alert.infos:
        _add_info(root, info)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    _check_schema(_parse(xml))
    return xml


# ---- reading ---------------------------------------------------------------------------

_UNSUPPORTED: Final = frozenset({"resource", "altitude", "ceiling"})


def _string(element: etree._Element) -> str:
    return "".join(element.itertext())


def _children(parent: etree._Element, name: str) -> list[etree._Element]:
    return parent.findall(_C + name)


def _opt(parent: etree._Element, name: str) -> str | None:
    element = parent.find(_C + name)
    return None if element is None else _string(element)


def _req(parent: etree._Element, name: str) -> str:
    return _opt(parent, name) or ""  # the schema already guaranteed presence


def _opt_time(parent: etree._Element, name: str) -> datetime | None:
    text = _opt(parent, name)
    return None if text is None else _parse_time(text, name)


def _pairs(parent: etree._Element, name: str) -> tuple[ValuePair, ...]:
    return tuple(ValuePair(_req(el, "valueName"), _req(el, "value"))
                 for el in _children(parent, name))


def _enums(parent: etree._Element, name: str, kind: Callable[[str], _T]) -> tuple[_T, ...]:
    return tuple(kind(_string(el)) for el in _children(parent, name))


def _read_info(el: etree._Element) -> Info:
    for name in _UNSUPPORTED:
        found = el.find(f".//{_C}{name}")
        if found is not None:
            raise AlertError(f"line {found.sourceline}: <{name}> is not supported by Siaga's "
                             "CAP profile")
    areas = tuple(
        Area(desc=_req(a, "areaDesc"),
             polygons=tuple(Polygon.from_cap(_string(p)) for p in _children(a, "polygon")),
             circles=tuple(Circle.from_cap(_string(c)) for c in _children(a, "circle")),
             geocodes=_pairs(a, "geocode"))
        for a in _children(el, "area"))
    return Info(
        language=(_opt(el, "language") or "en-US").strip(),  # xs:language collapses; default
        categories=_enums(el, "category", Category),
        event=_req(el, "event"),
        urgency=Urgency(_req(el, "urgency")),
        severity=Severity(_req(el, "severity")),
        certainty=Certainty(_req(el, "certainty")),
        response_types=_enums(el, "responseType", ResponseType),
        audience=_opt(el, "audience"),
        event_codes=_pairs(el, "eventCode"),
        effective=_opt_time(el, "effective"),
        onset=_opt_time(el, "onset"),
        expires=_opt_time(el, "expires"),
        sender_name=_opt(el, "senderName"),
        headline=_opt(el, "headline"),
        description=_opt(el, "description"),
        instruction=_opt(el, "instruction"),
        web=_opt(el, "web"),
        contact=_opt(el, "contact"),
        parameters=_pairs(el, "parameter"),
        areas=areas,
    )


def _read_references(text: str | None) -> tuple[Reference, ...]:
    refs = []
    for item in (text or "").split():
        parts = item.split(",")
        if len(parts) != 3:
            raise AlertError(f"reference {item!r} is not 'sender,identifier,sent'")
        refs.append(Reference(parts[0], parts[1], _parse_time(parts[2], "reference sent")))
    return tuple(refs)


def _from_root(root: etree._Element) -> Alert:
    """Build the model from a schema-valid tree; CAP rules the XSD cannot express are checked
    by the model's constructors."""
    return Alert(
        identifier=_req(root, "identifier"),
        sender=_req(root, "sender"),
        sent=_parse_time(_req(root, "sent"), "sent"),
        status=Status(_req(root, "status")),
        msg_type=MsgType(_req(root, "msgType")),
        scope=Scope(_req(root, "scope")),
        source=_opt(root, "source"),
        restriction=_opt(root, "restriction"),
        addresses=_opt(root, "addresses"),
        codes=tuple(_string(el) for el in _children(root, "code")),
        note=_opt(root, "note"),
        references=_read_references(_opt(root, "references")),
        incidents=_opt(root, "incidents"),
        infos=tuple(_read_info(el) for el in _children(root, "info")),
    )


def from_xml(xml: bytes) -> Alert:
    """Parse and schema-validate a CAP 1.2 document. An enveloped ds:Signature is ignored."""
    root = _parse(xml)
    _check_schema(root)
    return _from_root(root)


def check_profile(alert: Alert) -> None:
    """Siaga's publishing profile on top of CAP: Indonesian first, English optional, and each
    block readable on its own (headline and description present)."""
    languages = [info.language for info in alert.infos]
    if not languages or languages[0] != "id-ID":
        raise AlertError("the first info block must be Indonesian (id-ID)")
    if languages[1:] not in ([], ["en-US"]):
        raise AlertError("after id-ID only one en-US info block may follow")
    for info in alert.infos:
        if not info.headline or not info.description:
            raise AlertError(f"the {info.language} block needs a headline and a description")


def codes_of(areas: Sequence[Area], scheme: str = KEMENDAGRI) -> list[str]:
    """Region codes named by ``areas`` under ``scheme``, in order, for routing and filtering."""
    return [g.value for a in areas for g in a.geocodes if g.name == scheme]


__all__ = [
    "CAP_NS",
    "KEMENDAGRI",
    "MAX_CAP_BYTES",
    "WIB",
    "Alert",
    "AlertError",
    "Area",
    "Category",
    "Certainty",
    "Circle",
    "Info",
    "MsgType",
    "Polygon",
    "Reference",
    "ResponseType",
    "Scope",
    "Severity",
    "Status",
    "Urgency",
    "ValuePair",
    "check_profile",
    "codes_of",
    "from_xml",
    "to_xml",
    "validate",
    "wib",
]
