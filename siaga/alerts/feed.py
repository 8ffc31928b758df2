"""An Atom feed of published alerts, newest first, for others to subscribe to.

Like BMKG's list of CAP files, the feed only points at the documents: each entry links the CAP
XML (``{base_url}/alerts/{identifier}.xml``) and its detached signature (``.sig``), with the
Indonesian headline and description so a feed reader is useful on its own. The feed is not
signed; trust comes from the per-alert signatures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from urllib.parse import quote

from lxml import etree

from .cap import Alert, Info, _fmt_time, wib
from .signing import CAP_LABEL, SignedAlert

ATOM_NS: Final = "http://www.w3.org/2005/Atom"
CAP_MIME: Final = "application/cap+xml"
SIGNATURE_REL: Final = "related"
_A: Final = f"{{{ATOM_NS}}}"
_XML_LANG: Final = "{http://www.w3.org/XML/1998/namespace}lang"


def alert_url(base_url: str, identifier: str) -> str:
    return f"{base_url.rstrip('/')}/alerts/{quote(identifier, safe='')}.xml"


def signature_url(base_url: str, identifier: str) -> str:
    return f"{base_url.rstrip('/')}/alerts/{quote(identifier, safe='')}.sig"


def _add(parent: etree._Element, name: str, text: str | None = None,
         **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, _A + name, attrs)
    element.text = text
    return element


def _first_info(alert: Alert) -> Info | None:
    return alert.info("id-ID") or (alert.infos[0] if alert.infos else None)


def _entry(parent: etree._Element, alert: Alert, base_url: str) -> None:
    info = _first_info(alert)
    entry = _add(parent, "entry")
    url = alert_url(base_url, alert.identifier)
    _add(entry, "id", url)
    _add(entry, "title", (info.headline or info.event) if info else alert.identifier)
    _add(entry, "updated", _fmt_time(alert.sent))
    author = _add(entry, "author")
    _add(author, "name", (info.sender_name if info else None) or alert.sender)
    if info is not None:
        for category in info.categories:
            _add(entry, "category", term=category.value)
    _add(entry, "link", rel="alternate", type=CAP_MIME, href=url)
    _add(entry, "link", rel=SIGNATURE_REL, type="text/plain",
         title=f"Ed25519 signature ({CAP_LABEL})",
         href=signature_url(base_url, alert.identifier))
    if info is not None and info.description:
        _add(entry, "summary", info.description, type="text")


def feed(alerts: Sequence[SignedAlert], now: float, base_url: str, *,
         title: str = "Siaga: peringatan publik Provinsi Jambi") -> bytes:
    """The Atom document listing ``alerts``, newest ``sent`` first (ties by identifier).

    ``now`` is the feed's ``updated`` time. Each alert is parsed and schema-checked, so a broken
    document cannot reach subscribers.
    """
    parsed = sorted((a.to_alert() for a in alerts), key=lambda a: (a.sent, a.identifier),
                    reverse=True)
    root = etree.Element(_A + "feed", {_XML_LANG: "id"}, nsmap={None: ATOM_NS})
    base = base_url.rstrip("/")
    _add(root, "id", f"{base}/alerts/feed.atom")
    _add(root, "title", title)
    _add(root, "updated", _fmt_time(wib(now)))
    _add(root, "link", rel="self", type="application/atom+xml", href=f"{base}/alerts/feed.atom")
    _add(_add(root, "author"), "name", "Siaga")
    for alert in parsed:
        _entry(root, alert, base)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


__all__ = ["ATOM_NS", "CAP_MIME", "alert_url", "feed", "signature_url"]
