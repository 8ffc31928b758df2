"""Detached Ed25519 signatures over canonical CAP documents.

CAP 1.2 allows an enveloped XML-DSig, but a hand-made XML-DSig is a classic source of
signature-wrapping bugs. Instead the publishing device signs the C14N 1.0 bytes of the whole
document with its Siaga device key (label ``siaga/v1/cap``) and the signature travels beside the
document (``{identifier}.sig``). The document itself names the signing device in ``<note>``, so
a consumer knows which key to check; the signature is never part of the signed bytes.
``docs/alerts.md`` describes the format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Final

from lxml import etree

from ..crypto import DeviceKeys, DevicePublic, b64d, b64e
from ..errors import CryptoError, ErrorCode
from .cap import Alert, AlertError, _check_schema, _from_root, _parse, check_profile, to_xml

CAP_LABEL: Final = "siaga/v1/cap"
NOTE_PREFIX: Final = "siaga-signature:"
_NOTE: Final = re.compile(
    rf"^{NOTE_PREFIX} device=(\S+) label=(\S+) ed25519 detached=(\S+)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class SignedAlert:
    """A CAP document as published: its exact (canonical) bytes, the base64url Ed25519
    signature served as ``{identifier}.sig``, and the id of the device that signed it."""

    xml: bytes
    signature_b64: str
    device_id: str

    def to_alert(self) -> Alert:
        """The parsed alert (schema-checked, not signature-checked: call :func:`verify`)."""
        return _from_root(_valid_root(self.xml))


def signature_note(device_id: str, identifier: str) -> str:
    """The ``<note>`` line that points a consumer at the signer and the detached signature."""
    return (f"{NOTE_PREFIX} device={device_id} label={CAP_LABEL} "
            f"ed25519 detached={identifier}.sig")


def signer_of(alert: Alert) -> str | None:
    """The device id the alert's note names as its signer, or None."""
    match = _NOTE.search(alert.note or "")
    if match is None or match[2] != CAP_LABEL or match[3] != f"{alert.identifier}.sig":
        return None
    return match[1]


def with_signer(alert: Alert, device_id: str) -> Alert:
    """``alert`` with the signature note for ``device_id``, after any human note (an earlier
    signature line is replaced)."""
    kept = [line for line in (alert.note or "").split("\n")
            if line and not line.startswith(NOTE_PREFIX)]
    return replace(alert, note="\n".join([*kept, signature_note(device_id, alert.identifier)]))


def _valid_root(xml: bytes) -> etree._Element:
    root = _parse(xml)
    _check_schema(root)
    return root


def _canonical(root: etree._Element) -> bytes:
    """Inclusive C14N 1.0 without comments: the form XML-DSig would also sign."""
    return etree.tostring(root, method="c14n", with_comments=False)


def sign(alert_xml: bytes, keys: DeviceKeys) -> SignedAlert:
    """Sign a CAP document that follows Siaga's profile and names ``keys`` in its note.

    The returned ``xml`` is the canonical form, byte for byte what was signed, so it is what a
    server must serve.
    """
    root = _valid_root(alert_xml)
    alert = _from_root(root)
    check_profile(alert)
    device_id = keys.public.device_id
    if signer_of(alert) != device_id:
        raise AlertError(f"the alert's note must name the signing device {device_id} "
                         "(see with_signer)")
    canonical = _canonical(root)
    return SignedAlert(canonical, b64e(keys.sign(CAP_LABEL, canonical)), device_id)


def publish(alert: Alert, keys: DeviceKeys) -> SignedAlert:
    """Add the signature note, serialise, validate and sign: the one call a publisher needs."""
    return sign(to_xml(with_signer(alert, keys.public.device_id)), keys)


def verify(signed: SignedAlert, public: DevicePublic) -> None:
    """Raise unless ``public``'s device signed exactly this document.

    AlertError if the document is not valid CAP 1.2 or not in Siaga's profile; CryptoError
    (BAD_SIGNATURE) if the signature, the device id or the note's signer do not match.
    Re-serialising the document (e.g. adding an XML declaration) does not break it, since the
    canonical form is what is checked; any change to content does.
    """
    bad = ErrorCode.BAD_SIGNATURE
    if signed.device_id != public.device_id:
        raise CryptoError("signed by another device", bad)
    root = _valid_root(signed.xml)
    alert = _from_root(root)
    check_profile(alert)
    if signer_of(alert) != signed.device_id:
        raise CryptoError("the alert's note names another signer", bad)
    try:
        signature = b64d(signed.signature_b64)
    except CryptoError as exc:
        raise CryptoError("signature is not base64url", bad) from exc
    public.verify(signature, CAP_LABEL, _canonical(root))


__all__ = [
    "CAP_LABEL",
    "NOTE_PREFIX",
    "SignedAlert",
    "publish",
    "sign",
    "signature_note",
    "signer_of",
    "verify",
    "with_signer",
]
