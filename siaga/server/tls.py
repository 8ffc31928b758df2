"""TLS for the server: load a certificate and key, or make a self-signed pair for the field.

A province deployment normally uses a certificate from a CA the HTs already trust. Where there
is none (a command post on a closed network), :func:`make_self_signed` makes an ECDSA P-256
certificate; each device is then given that certificate (``siaga talk --ca FILE``) and trusts
only it. Operators compare :func:`fingerprint` on both ends before trusting the file.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import ssl
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import ConfigError

log = logging.getLogger("siaga.server.tls")

#: Default lifetime of a self-signed certificate (the longest that browsers and phones accept).
SELF_SIGNED_DAYS = 825


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read TLS {what} {path}: {exc.strerror or exc}") from exc


def _no_password() -> bytes:
    raise ConfigError("encrypted")  # replaced by a clearer message in server_context


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side context for ``cert`` (PEM, optionally followed by its chain) and ``key``.

    TLS 1.2 is the minimum. Every failure is a :class:`ConfigError` naming the file at fault.
    """
    cert, key = Path(cert), Path(key)
    cert_pem = _read(cert, "certificate")
    key_pem = _read(key, "key")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key, password=_no_password)
    except (ssl.SSLError, ConfigError, OSError) as exc:
        raise ConfigError(_diagnose(cert, cert_pem, key, key_pem, exc)) from exc
    leaf = x509.load_pem_x509_certificate(cert_pem)
    if leaf.not_valid_after_utc < datetime.datetime.now(datetime.UTC):
        log.warning("TLS certificate %s expired on %s: clients will refuse it", cert,
                    leaf.not_valid_after_utc.date())
    return context


def _diagnose(cert: Path, cert_pem: bytes, key: Path, key_pem: bytes, exc: Exception) -> str:
    """Say which file :meth:`ssl.SSLContext.load_cert_chain` did not like, and why."""
    try:
        x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        return f"TLS certificate {cert} is not a PEM certificate"
    try:
        serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        return f"TLS key {key} is encrypted with a password; give an unencrypted key"
    except (ValueError, NotImplementedError):
        return f"TLS key {key} is not a PEM private key"
    return f"TLS key {key} does not belong to certificate {cert} ({exc})"


def make_self_signed(cert_path: Path, key_path: Path,
                     hosts: Iterable[str] = ("localhost", "127.0.0.1"),
                     days: int = SELF_SIGNED_DAYS) -> x509.Certificate:
    """Write a self-signed ECDSA P-256 certificate valid for ``hosts`` and its key (mode 0600).

    ``hosts`` are DNS names or IP addresses, each put in the SubjectAlternativeName (clients
    check the name they connect to against it); the first is also the common name.
    """
    names = list(hosts)
    if not names:
        raise ConfigError("a self-signed certificate needs at least one host name or address")
    if days < 1:
        raise ConfigError("a certificate must be valid for at least one day")
    alt: list[x509.GeneralName] = []
    for host in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt.append(x509.DNSName(host))
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Siaga"),
    ])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))  # tolerate HT clocks running slow
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    try:
        cert_path, key_path = Path(cert_path), Path(key_path)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key_pem)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    except OSError as exc:
        raise ConfigError(f"cannot write {exc.filename or 'TLS files'}: "
                          f"{exc.strerror or exc}") from exc
    return cert


def fingerprint(cert: x509.Certificate | Path) -> str:
    """The certificate's SHA-256 fingerprint as colon-separated hex (what browsers show)."""
    if not isinstance(cert, x509.Certificate):
        try:
            cert = x509.load_pem_x509_certificate(_read(Path(cert), "certificate"))
        except ValueError as exc:
            raise ConfigError(f"TLS certificate {cert} is not a PEM certificate") from exc
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


__all__ = ["SELF_SIGNED_DAYS", "fingerprint", "make_self_signed", "server_context"]
