"""Public alerts as CAP 1.2: builders, schema validation (and its failures), round trips,
detached signatures, the Atom feed, and hostile or odd input."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

import siaga.alerts
from siaga.alerts import (
    ALERT_LEVEL,
    ATOM_NS,
    CAP_NS,
    KEMENDAGRI,
    MAX_CAP_BYTES,
    WIB,
    Alert,
    AlertError,
    AlertLevel,
    Area,
    Category,
    Certainty,
    Circle,
    Info,
    MsgType,
    NoticeKind,
    Polygon,
    Reference,
    ResponseType,
    Scope,
    Severity,
    SignedAlert,
    Status,
    Urgency,
    ValuePair,
    Wording,
    aid_point,
    authorise,
    check_profile,
    codes_of,
    evacuation,
    feed,
    from_xml,
    may_publish,
    new_identifier,
    publish,
    sign,
    signature_note,
    signer_of,
    to_xml,
    tps_relocation,
    validate,
    verify,
    wib,
    with_signer,
)
from siaga.crypto import DeviceKeys, b64e
from siaga.errors import CryptoError, ErrorCode, ProtocolError, Refused, SiagaError
from siaga.roster import Region, Roster, load_roster

ALICE = DeviceKeys.from_bytes(bytes(range(64)))
MALLORY = DeviceKeys.from_bytes(bytes(range(128, 192)))
T0 = 1_750_000_000.0  # 2025-06-15 22:06:40 WIB
SENDER = "bpbd@jambiprov.go.id"
BASE = "https://siaga.jambiprov.go.id"
MERANGIN: Region = load_roster().regions["15.02"]  # for property tests (no fixtures there)
C = f"{{{CAP_NS}}}"
A = f"{{{ATOM_NS}}}"

EVAC_ID = Wording(
    "Evakuasi banjir Muara Sabak",
    "Sungai Batanghari meluap; air setinggi 1,5 m di Kecamatan Muara Sabak Timur.",
    "Segera menuju posko pengungsian di Kantor Bupati Tanjung Jabung Timur.")
EVAC_EN = Wording(
    "Flood evacuation, Muara Sabak",
    "The Batanghari river has overflowed; water is 1.5 m deep in Muara Sabak Timur.",
    "Go now to the evacuation post at the regent's office.")


def _evac(roster: Roster, level: AlertLevel = AlertLevel.AWAS, now: float = T0,
          english: Wording | None = EVAC_EN) -> Alert:
    return evacuation(sender=SENDER, now=now, region=roster.regions["15.06"], level=level,
                      indonesian=EVAC_ID, english=english, contact="BPBD Jambi 0741-123456",
                      web="https://bpbd.jambiprov.go.id/", sender_name="BPBD Provinsi Jambi")


def _aid(roster: Roster, now: float = T0) -> Alert:
    return aid_point(
        sender=SENDER, now=now, region=roster.regions["15.04"], place="Lapangan Muara Bulian",
        location=(-1.705, 103.258), opens=now + 3600, closes=now + 8 * 3600,
        indonesian=Wording("Pembagian sembako di Lapangan Muara Bulian",
                           "Beras, minyak dan air bersih untuk warga terdampak banjir.",
                           "Bawa KTP atau KK."),
        english=Wording("Food aid at Muara Bulian field", "Rice, oil and clean water."),
        level=AlertLevel.SIAGA)


def _tps(roster: Roster, now: float = T0) -> Alert:
    return tps_relocation(
        sender="kpu.tanjabtim", now=now, region=roster.regions["15.06"], tps="TPS 007",
        new_place="SD Negeri 12 Muara Sabak", location=(-1.118, 103.825),
        indonesian=Wording("TPS 007 pindah ke SD Negeri 12 Muara Sabak",
                           "Lokasi lama tergenang banjir.",
                           "Pemilih TPS 007 datang ke lokasi baru."))


BUILDERS: dict[str, Callable[[Roster], Alert]] = {
    "evacuation": _evac, "aid_point": _aid, "tps_relocation": _tps}


def _tree(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def _texts(root: etree._Element, path: str) -> list[str]:
    return [el.text or "" for el in root.iterfind(path, {"c": CAP_NS})]


# ---- builders ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_builders_give_schema_valid_profile_alerts_that_round_trip(roster: Roster,
                                                                   kind: str) -> None:
    alert = BUILDERS[kind](roster)
    xml = to_xml(alert)
    validate(xml)
    check_profile(alert)
    assert from_xml(xml) == alert
    assert xml.startswith(b"<?xml")
    root = _tree(xml)
    assert _texts(root, "c:info/c:language")[0] == "id-ID"
    assert _texts(root, "c:info/c:parameter[c:valueName='siagaNotice']/c:value")[0] == \
        NoticeKind(kind).value
    assert _texts(root, "c:sent")[0].endswith("+07:00")


def test_evacuation_for_tanjung_jabung_timur_at_awas(roster: Roster) -> None:
    region = roster.regions["15.06"]
    assert (region.name, region.seat) == ("Kabupaten Tanjung Jabung Timur", "Muara Sabak")
    alert = _evac(roster)
    root = _tree(to_xml(alert))
    assert _texts(root, "c:info/c:language") == ["id-ID", "en-US"]
    assert _texts(root, "c:info/c:event") == ["Evakuasi", "Evacuation"]
    assert _texts(root, "c:info/c:category") == ["Safety", "Safety"]
    assert _texts(root, "c:info/c:responseType") == ["Evacuate", "Evacuate"]
    assert _texts(root, "c:info[1]/c:urgency") == ["Immediate"]
    assert _texts(root, "c:info[1]/c:severity") == ["Extreme"]
    assert _texts(root, "c:info[1]/c:certainty") == ["Observed"]
    assert _texts(root, "c:info[1]/c:parameter[c:valueName='alertLevel']/c:value") == ["Awas"]
    assert _texts(root, "c:info[1]/c:area/c:areaDesc") == [
        "Sekitar Muara Sabak, Kabupaten Tanjung Jabung Timur"]
    assert _texts(root, "c:info[1]/c:area/c:circle") == ["-1.12,103.82 10"]
    assert _texts(root, "c:info[1]/c:area/c:geocode/c:valueName") == [KEMENDAGRI]
    assert _texts(root, "c:info[1]/c:area/c:geocode/c:value") == ["15.06"]
    assert _texts(root, "c:sent") == ["2025-06-15T22:06:40+07:00"]
    assert _texts(root, "c:info[1]/c:expires") == ["2025-06-16T22:06:40+07:00"]
    assert _texts(root, "c:scope") == ["Public"]
    assert alert.infos[0].parameter(ALERT_LEVEL) == "Awas"
    assert alert.infos[0].parameter("missing") is None
    assert codes_of(alert.infos[0].areas) == ["15.06"]
    assert alert.info("en-US") is alert.infos[1]
    assert alert.info("fr-FR") is None


@pytest.mark.parametrize(("level", "urgency", "severity", "certainty", "response"), [
    (AlertLevel.WASPADA, "Future", "Moderate", "Possible", "Monitor"),
    (AlertLevel.SIAGA, "Expected", "Severe", "Likely", "Prepare"),
    (AlertLevel.AWAS, "Immediate", "Extreme", "Observed", "Evacuate"),
])
def test_alert_levels_map_to_fixed_cap_terms(roster: Roster, level: AlertLevel, urgency: str,
                                             severity: str, certainty: str,
                                             response: str) -> None:
    info = _evac(roster, level).infos[0]
    assert (info.urgency, info.severity, info.certainty) == (urgency, severity, certainty)
    assert info.response_types == (ResponseType(response),)


def test_english_is_optional_and_indonesian_always_first(roster: Roster) -> None:
    alert = _evac(roster, english=None)
    assert [i.language for i in alert.infos] == ["id-ID"]
    validate(to_xml(alert))


def test_aid_point_and_tps_vocabulary(roster: Roster) -> None:
    aid = _aid(roster).infos[0]
    assert aid.categories == (Category.RESCUE,)
    assert aid.response_types == (ResponseType.EXECUTE,)
    assert aid.effective == wib(T0 + 3600) and aid.expires == wib(T0 + 8 * 3600)
    assert aid.parameter(ALERT_LEVEL) == "Siaga"
    assert aid.parameter("place") == "Lapangan Muara Bulian"
    assert codes_of(aid.areas) == ["15.04"]
    tps = _tps(roster)
    assert [i.language for i in tps.infos] == ["id-ID"]
    info = tps.infos[0]
    assert info.categories == (Category.OTHER,)
    assert info.parameter("TPS") == "TPS 007"
    assert info.parameter(ALERT_LEVEL) is None
    assert info.expires == wib(T0 + 3 * 24 * 3600)
    assert info.instruction == "Pemilih TPS 007 datang ke lokasi baru."


def test_builder_options_polygon_update_and_explicit_identifier(roster: Roster) -> None:
    first = _evac(roster)
    square = Polygon(((-1.0, 103.7), (-1.0, 103.9), (-1.2, 103.9), (-1.2, 103.7), (-1.0, 103.7)))
    update = evacuation(sender=SENDER, now=T0 + 600, region=roster.regions["15.06"],
                        level=AlertLevel.SIAGA, indonesian=EVAC_ID, polygon=square,
                        identifier="siaga-custom-1", status=Status.EXERCISE,
                        references=[Reference(first.sender, first.identifier, first.sent)])
    assert update.identifier == "siaga-custom-1"
    assert update.msg_type == MsgType.UPDATE
    assert update.infos[0].areas[0].circles == ()
    xml = to_xml(update)
    root = _tree(xml)
    assert _texts(root, "c:references") == [
        f"{SENDER},{first.identifier},2025-06-15T22:06:40+07:00"]
    assert _texts(root, "c:info/c:area/c:polygon") == [
        "-1,103.7 -1,103.9 -1.2,103.9 -1.2,103.7 -1,103.7"]
    assert from_xml(xml) == update
    with pytest.raises(AlertError, match="expire after"):
        aid_point(sender=SENDER, now=T0, region=roster.regions["15.04"], place="X",
                  location=(-1.7, 103.2), opens=T0, closes=T0, indonesian=EVAC_ID)


def test_identifiers_are_deterministic_url_safe_and_distinct() -> None:
    one = new_identifier(SENDER, T0, NoticeKind.EVACUATION, "15.06", "a")
    assert one == new_identifier(SENDER, T0, NoticeKind.EVACUATION, "15.06", "a")
    assert one != new_identifier(SENDER, T0, NoticeKind.EVACUATION, "15.06", "b")
    assert one.startswith("siaga-evacuation-15.06-20250615T220640-")
    assert all(ch.isalnum() or ch in "-._" for ch in one)


def test_who_may_publish(roster: Roster) -> None:
    m = roster.members
    assert may_publish(m["bupati-tanjabtim"], NoticeKind.EVACUATION, "15.06")
    assert not may_publish(m["bupati-tanjabtim"], NoticeKind.EVACUATION, "15.04")
    assert may_publish(m["gubernur"], NoticeKind.TPS_RELOCATION, "15.04")
    assert may_publish(m["bpbd"], NoticeKind.AID_POINT, "15.72")
    assert not may_publish(m["bpbd"], NoticeKind.TPS_RELOCATION, "15.72")
    assert may_publish(m["kpu"], NoticeKind.TPS_RELOCATION, "15.72")
    assert not may_publish(m["bawaslu"], NoticeKind.TPS_RELOCATION, "15.72")
    assert not may_publish(m["polda"], NoticeKind.EVACUATION, "15.06")
    authorise(m["walikota-kotajambi"], NoticeKind.AID_POINT, "15.71")
    with pytest.raises(Refused) as info:
        authorise(m["operator-tanjabtim"], NoticeKind.EVACUATION, "15.06")
    assert info.value.code == ErrorCode.NOT_ALLOWED


# ---- the model and round trips ------------------------------------------------------------

FULL = Alert(
    identifier="full-1", sender="test@siaga", sent=datetime(2025, 1, 2, 3, 4, 5, 678, WIB),
    status=Status.TEST, msg_type=MsgType.CANCEL, scope=Scope.RESTRICTED, source="latihan",
    restriction="hanya BPBD", addresses='"BPBD Jambi" polda', codes=("siaga/v1", "x"),
    note="catatan", incidents="inc-1 inc-2",
    references=(Reference("a@b", "old-1", datetime(2025, 1, 1, tzinfo=UTC)),
                Reference("a@b", "old-2", datetime(2025, 1, 1, 12, tzinfo=WIB))),
    infos=(Info(language="id-ID", categories=(Category.GEO, Category.MET), event="Gempa",
                urgency=Urgency.PAST, severity=Severity.UNKNOWN, certainty=Certainty.UNLIKELY,
                response_types=(ResponseType.ALL_CLEAR, ResponseType.NONE), audience="umum",
                event_codes=(ValuePair("SAME", "EQW"),),
                onset=datetime(2025, 1, 2, tzinfo=timezone(timedelta(hours=-3))),
                headline="", description="", web="https://example.org/a?b=1&c=2",
                areas=(Area("Kota Jambi", circles=(Circle(-1.61, 103.61, 0.5),
                                                   Circle(0.0, -0.0, 0.0))),
                       Area("kosong"))),
           Info(language="en-US", categories=(Category.CBRNE,), event="Quake",
                urgency=Urgency.UNKNOWN, severity=Severity.MINOR,
                certainty=Certainty.UNKNOWN)),
)


def test_every_supported_element_round_trips() -> None:
    xml = to_xml(FULL)
    assert from_xml(xml) == FULL
    root = _tree(xml)
    assert _texts(root, "c:sent") == ["2025-01-02T03:04:05+07:00"]  # whole seconds, WIB
    assert _texts(root, "c:info/c:onset") == ["2025-01-02T10:00:00+07:00"]
    assert _texts(root, "c:info/c:area/c:circle") == ["-1.61,103.61 0.5", "0,0 0"]
    assert FULL.references[0].sent.utcoffset() == timedelta(hours=7)


def test_an_info_without_language_defaults_to_en_us() -> None:
    root = _tree(to_xml(FULL))
    info = root.find(f"{C}info")
    assert info is not None
    language = info.find(f"{C}language")
    assert language is not None
    info.remove(language)
    assert from_xml(etree.tostring(root)).infos[0].language == "en-US"


@pytest.mark.parametrize("make", [
    lambda: replace(FULL, identifier="has space"),
    lambda: replace(FULL, identifier="a,b"),
    lambda: replace(FULL, sender=""),
    lambda: replace(FULL, sent=datetime(2025, 1, 1)),  # naive
    lambda: replace(FULL, note="bell\x07"),
    lambda: replace(FULL, codes=("\x00",)),
    lambda: Info(language="id-ID", categories=(), event="x", urgency=Urgency.PAST,
                 severity=Severity.MINOR, certainty=Certainty.OBSERVED),
    lambda: Info(language="id-ID", categories=(Category.GEO,), event="x\ufffe",
                 urgency=Urgency.PAST, severity=Severity.MINOR, certainty=Certainty.OBSERVED),
    lambda: Circle(91.0, 0.0, 1.0),
    lambda: Circle(0.0, 181.0, 1.0),
    lambda: Circle(0.0, 0.0, -1.0),
    lambda: Circle(0.0, float("nan"), 1.0),
    lambda: Circle.from_cap("1,2"),
    lambda: Polygon(((0.0, 0.0), (1.0, 1.0), (0.0, 0.0))),
    lambda: Polygon(((0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.5, 0.5))),
    lambda: Polygon.from_cap("0,0 1,1 1;0 0,0"),
    lambda: Reference("a b", "x", datetime(2025, 1, 1, tzinfo=WIB)),
    lambda: wib(float("inf")),
])
def test_model_rejects_what_cap_forbids(make: Callable[[], object]) -> None:
    with pytest.raises(AlertError):
        make()


@pytest.mark.parametrize(("alert", "message"), [
    (replace(FULL, infos=()), "Indonesian"),
    (replace(FULL, infos=FULL.infos[::-1]), "Indonesian"),
    (replace(FULL, infos=(FULL.infos[0], FULL.infos[1], FULL.infos[1])), "only one en-US"),
    (replace(FULL, infos=FULL.infos[:1]), "headline"),
])
def test_profile_requires_indonesian_first_and_readable_blocks(alert: Alert,
                                                               message: str) -> None:
    with pytest.raises(AlertError, match=message):
        check_profile(alert)


# ---- schema validation --------------------------------------------------------------------


def _mutate(roster: Roster, change: Callable[[etree._Element], None]) -> bytes:
    root = _tree(to_xml(_evac(roster)))
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _first(root: etree._Element, name: str) -> etree._Element:
    element = root.find(f".//{C}{name}")
    assert element is not None
    return element


def _drop_sender(root: etree._Element) -> None:
    root.remove(_first(root, "sender"))


def _huge(root: etree._Element) -> None:
    _first(root, "severity").text = "Huge"


def _swap(root: etree._Element) -> None:
    urgency = _first(root, "urgency")
    urgency.addprevious(_first(root, "severity"))  # severity now before urgency


def _bad_time(root: etree._Element) -> None:
    _first(root, "sent").text = "2025-06-15 22:06:40"


def _no_offset(root: etree._Element) -> None:
    _first(root, "expires").text = "2025-06-16T22:06:40"


def _fraction(root: etree._Element) -> None:
    _first(root, "sent").text = "2025-06-15T22:06:40.5+07:00"


def _bad_month(root: etree._Element) -> None:
    _first(root, "effective").text = "2025-13-15T22:06:40+07:00"


def _bad_category(root: etree._Element) -> None:
    _first(root, "category").text = "Flood"


@pytest.mark.parametrize(("change", "names"), [
    (_drop_sender, ["sender", "line 4"]),
    (_huge, ["severity", "Huge", "enumeration"]),
    (_swap, ["severity", "not expected"]),
    (_bad_time, ["sent", "2025-06-15 22:06:40"]),
    (_no_offset, ["expires"]),
    (_fraction, ["sent"]),
    (_bad_month, ["effective"]),
    (_bad_category, ["category", "Flood"]),
])
def test_schema_failures_name_the_element_and_line(roster: Roster,
                                                   change: Callable[[etree._Element], None],
                                                   names: list[str]) -> None:
    xml = _mutate(roster, change)
    with pytest.raises(AlertError) as info:
        validate(xml)
    text = str(info.value)
    assert "CAP 1.2 schema: line " in text
    assert "{urn:" not in text  # the namespace is shortened to cap:
    for name in names:
        assert name in text
    assert info.value.code == ErrorCode.BAD_MESSAGE
    assert isinstance(info.value, ProtocolError) and isinstance(info.value, SiagaError)
    with pytest.raises(AlertError):
        from_xml(xml)  # every parsed document is validated too


@pytest.mark.parametrize(("xml", "message"), [
    (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'>", "not well-formed"),
    (b"", "not well-formed"),
    (b"<value xmlns='urn:oasis:names:tc:emergency:cap:1.2'>x</value>", "not cap:alert"),
    (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.1'/>", "not cap:alert"),
    (b"<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>]>"
     b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'>&lol;</alert>", "DOCTYPE"),
    (b"<!DOCTYPE x SYSTEM 'file:///etc/passwd'><alert/>", "DOCTYPE"),
    (b" " * (MAX_CAP_BYTES + 1), "larger"),
])
def test_hostile_or_foreign_documents_are_refused(xml: bytes, message: str) -> None:
    with pytest.raises(AlertError, match=message):
        validate(xml)


@pytest.mark.parametrize("references", ["a@b,only-two", "a@b,x,yesterday"])
def test_malformed_references_are_refused(roster: Roster, references: str) -> None:
    def add(root: etree._Element) -> None:
        element = etree.Element(f"{C}references")
        element.text = references
        _first(root, "info").addprevious(element)

    xml = _mutate(roster, add)
    validate(xml)  # CAP's schema types references as a plain string
    with pytest.raises(AlertError, match="reference"):
        from_xml(xml)


def _minimal(sent: str, sender: str = "b") -> bytes:
    return (f"<alert xmlns='{CAP_NS}'><identifier>a</identifier><sender>{sender}</sender>"
            f"<sent>{sent}</sent><status>Actual</status><msgType>Alert</msgType>"
            "<scope>Public</scope></alert>").encode()


@pytest.mark.parametrize("sent", ["2025-06-15T24:00:00+07:00", "0001-01-01T00:00:00+07:00"])
def test_schema_valid_times_python_cannot_hold_are_refused_not_crashes(sent: str) -> None:
    validate(_minimal(sent))
    with pytest.raises(AlertError, match="sent"):
        from_xml(_minimal(sent))


def test_whitespace_the_schema_collapses_is_tolerated() -> None:
    alert = from_xml(_minimal(" 2025-06-15T22:06:40+07:00\n"))
    assert alert.sent == wib(T0)


def test_comments_cannot_hide_text() -> None:
    alert = from_xml(_minimal("2025-06-15T22:06:40+07:00", "bp<!-- x -->bd<?pi y?>@x"))
    assert alert.sender == "bpbd@x"


def test_unsupported_elements_are_refused_and_enveloped_signatures_ignored(
        roster: Roster) -> None:
    def add_resource(root: etree._Element) -> None:
        resource = etree.Element(f"{C}resource")
        etree.SubElement(resource, f"{C}resourceDesc").text = "peta"
        etree.SubElement(resource, f"{C}mimeType").text = "image/png"
        _first(root, "area").addprevious(resource)

    xml = _mutate(roster, add_resource)
    validate(xml)  # valid CAP ...
    with pytest.raises(AlertError, match="resource"):
        from_xml(xml)  # ... but outside what Siaga models

    def add_dsig(root: etree._Element) -> None:
        sig = etree.SubElement(root, "{http://www.w3.org/2000/09/xmldsig#}Signature")
        sig.text = "third-party"

    assert from_xml(_mutate(roster, add_dsig)) == _evac(roster)


# ---- signatures -------------------------------------------------------------------------


def test_publish_and_verify(roster: Roster) -> None:
    alert = _evac(roster)
    signed = publish(alert, ALICE)
    verify(signed, ALICE.public)
    assert signed.device_id == ALICE.public.device_id
    assert not signed.xml.startswith(b"<?xml")  # canonical form: exactly the signed bytes
    assert signed.signature_b64.encode() not in signed.xml
    parsed = signed.to_alert()
    assert parsed == with_signer(alert, ALICE.public.device_id)
    assert signer_of(parsed) == ALICE.public.device_id
    assert parsed.note == signature_note(ALICE.public.device_id, alert.identifier)
    assert f"detached={alert.identifier}.sig" in (parsed.note or "")
    # the canonical form may be re-serialised (declaration, quoting) and still verify
    again = etree.tostring(etree.fromstring(signed.xml), xml_declaration=True,
                           encoding="UTF-8")
    assert again != signed.xml
    verify(replace(signed, xml=again), ALICE.public)


def test_tampered_document_fails(roster: Roster) -> None:
    signed = publish(_evac(roster), ALICE)
    tampered = signed.xml.replace(b"<value>Awas</value>", b"<value>Siaga</value>", 1)
    assert tampered != signed.xml
    validate(tampered)  # still valid CAP, so only the signature catches it
    with pytest.raises(CryptoError) as info:
        verify(replace(signed, xml=tampered), ALICE.public)
    assert info.value.code == ErrorCode.BAD_SIGNATURE
    with pytest.raises(AlertError):
        verify(replace(signed, xml=signed.xml.replace(b"Extreme", b"Huge")), ALICE.public)


def test_comments_added_after_signing_change_nothing(roster: Roster) -> None:
    signed = publish(_evac(roster), ALICE)
    commented = signed.xml.replace(b"Evakuasi banjir", b"Evakuasi<!-- palsu --> banjir", 1)
    assert commented != signed.xml
    verify(replace(signed, xml=commented), ALICE.public)
    assert replace(signed, xml=commented).to_alert() == signed.to_alert()


def test_wrong_key_or_claimed_device_fails(roster: Roster) -> None:
    signed = publish(_evac(roster), ALICE)
    with pytest.raises(CryptoError, match="another device") as info:
        verify(signed, MALLORY.public)
    assert info.value.code == ErrorCode.BAD_SIGNATURE
    # Mallory signs Alice's document and claims to be Alice
    forged = b64e(MALLORY.sign("siaga/v1/cap", signed.xml))
    with pytest.raises(CryptoError, match="does not verify"):
        verify(replace(signed, signature_b64=forged), ALICE.public)
    # Mallory signs the same bytes as herself: the note still names Alice
    own = SignedAlert(signed.xml, forged, MALLORY.public.device_id)
    with pytest.raises(CryptoError, match="another signer"):
        verify(own, MALLORY.public)
    # a signature made under another label does not pass either
    other_label = b64e(ALICE.sign("siaga/v1/login", signed.xml))
    with pytest.raises(CryptoError):
        verify(replace(signed, signature_b64=other_label), ALICE.public)
    with pytest.raises(CryptoError, match="base64"):
        verify(replace(signed, signature_b64="not base64!"), ALICE.public)


def test_sign_requires_the_note_to_name_the_signer(roster: Roster) -> None:
    alert = _evac(roster)
    with pytest.raises(AlertError, match="must name the signing device"):
        sign(to_xml(alert), ALICE)
    with pytest.raises(AlertError, match="must name the signing device"):
        sign(to_xml(with_signer(alert, MALLORY.public.device_id)), ALICE)
    bad_profile = with_signer(replace(alert, infos=alert.infos[1:]), ALICE.public.device_id)
    with pytest.raises(AlertError, match="Indonesian"):
        sign(to_xml(bad_profile), ALICE)


def test_with_signer_keeps_a_human_note_and_replaces_an_old_signature_line(
        roster: Roster) -> None:
    alert = replace(_evac(roster), note="Dikeluarkan atas perintah Bupati.")
    once = with_signer(alert, MALLORY.public.device_id)
    twice = with_signer(once, ALICE.public.device_id)
    assert twice.note == ("Dikeluarkan atas perintah Bupati.\n"
                          + signature_note(ALICE.public.device_id, alert.identifier))
    assert signer_of(twice) == ALICE.public.device_id
    assert signer_of(alert) is None
    # a note for another identifier does not count
    moved = replace(twice, identifier="other-id")
    assert signer_of(moved) is None
    verify(publish(alert, ALICE), ALICE.public)


# ---- feed -------------------------------------------------------------------------------


def test_feed_lists_every_alert_newest_first(roster: Roster) -> None:
    alerts = [_evac(roster, now=T0), _aid(roster, now=T0 + 7200), _tps(roster, now=T0 + 60)]
    signed = [publish(a, ALICE) for a in alerts]
    xml = feed(signed, T0 + 9000, BASE + "/")
    root = etree.fromstring(xml)  # well-formed
    assert root.tag == f"{A}feed"
    ns = {"a": ATOM_NS}
    assert root.findtext("a:updated", namespaces=ns) == "2025-06-16T00:36:40+07:00"
    assert root.findtext("a:id", namespaces=ns) == f"{BASE}/alerts/feed.atom"
    entries = root.findall("a:entry", ns)
    newest_first = [alerts[1], alerts[2], alerts[0]]
    assert [e.findtext("a:title", namespaces=ns) for e in entries] == [
        a.infos[0].headline for a in newest_first]
    for entry, alert in zip(entries, newest_first, strict=True):
        url = f"{BASE}/alerts/{alert.identifier}"
        links = {link.get("rel"): link.get("href") for link in entry.findall("a:link", ns)}
        assert links == {"alternate": url + ".xml", "related": url + ".sig"}
        assert entry.findtext("a:id", namespaces=ns) == url + ".xml"
        assert entry.findtext("a:updated", namespaces=ns) == alert.sent.isoformat()
        assert entry.findtext("a:summary", namespaces=ns) == alert.infos[0].description
    assert entries[0].findtext("a:author/a:name", namespaces=ns) == SENDER
    assert entries[2].findtext("a:author/a:name", namespaces=ns) == "BPBD Provinsi Jambi"


def test_feed_of_nothing_and_of_foreign_alerts() -> None:
    empty = etree.fromstring(feed([], T0, BASE))
    assert empty.findall(f"{A}entry") == []
    # an alert outside the profile (no info) still gets an entry titled by its identifier
    bare = SignedAlert(to_xml(replace(FULL, infos=())), "", "d")
    english = SignedAlert(to_xml(replace(FULL, identifier="en-1",
                                         infos=FULL.infos[1:])), "", "d")
    root = etree.fromstring(feed([bare, english], T0, BASE))
    titles = [e.findtext(f"{A}title") for e in root.findall(f"{A}entry")]
    assert titles == ["full-1", "Quake"]


# ---- properties -------------------------------------------------------------------------

# Any text XML 1.0 can carry: no control characters except tab/newline/CR, no surrogates.
XML_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters=[
    *map(chr, range(0x20)), "\ufffe", "\uffff"]) | st.sampled_from(["\t", "\n", "\r"]))
INDONESIAN = st.sampled_from(["Banjir bandang di Sungai Batang Merangin & sekitarnya",
                              "Warga diminta <segera> mengungsi ke \"posko\" 'terdekat'",
                              "]]> kabut asap; ISPU > 300", "Siaga — Awas ✓"])


@given(headline=st.one_of(XML_TEXT, INDONESIAN), description=st.one_of(XML_TEXT, INDONESIAN))
def test_arbitrary_text_round_trips_and_stays_valid(headline: str, description: str) -> None:
    alert = evacuation(sender=SENDER, now=T0, region=MERANGIN, level=AlertLevel.SIAGA,
                       indonesian=Wording(headline or "x", description or "y"),
                       english=Wording(description or "y", headline or "x"))
    xml = to_xml(alert)
    validate(xml)
    assert from_xml(xml) == alert
    signed = publish(alert, ALICE)
    verify(signed, ALICE.public)
    assert signed.to_alert().infos == alert.infos


def test_exports_exist() -> None:
    for name in siaga.alerts.__all__:
        assert hasattr(siaga.alerts, name), name
