"""Transport security: wss:// with a generated self-signed certificate.

A real server on loopback serves TLS; clients that trust its certificate talk and hear each
other, while clients that do not (system CAs only, a wrong host name, plain ws://) never get
past the handshake. Certificate and key files are checked with clear errors, and the CLI makes
them and checks its TLS options.
"""

from __future__ import annotations

import ipaddress
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import WAIT, server_in_thread
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from websockets.exceptions import InvalidHandshake

from siaga import cli, wire
from siaga.audio.files import write_wav
from siaga.audio.opus import SAMPLE_RATE
from siaga.cli import main
from siaga.client import Client, client_context
from siaga.errors import ConfigError, LocalProtocolError
from siaga.identity import code_hash, new_code
from siaga.roster import Roster
from siaga.server import Server, make_self_signed, running_server, server_context
from siaga.server.tls import fingerprint
from siaga.store import Store
from siaga.store.identity_sql import DeviceRegistry


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths and fingerprints are checked whole, so do not let Rich wrap them."""
    monkeypatch.setattr(cli.console, "width", 300)


@pytest.fixture
def cert_files(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "siaga.crt", tmp_path / "siaga.key"
    make_self_signed(cert, key)
    return cert, key


@pytest.fixture
async def tls_server(roster: Roster, store: Store, data_dir: Path,
                     cert_files: tuple[Path, Path]) -> AsyncIterator[Server]:
    async with running_server(roster, store, data_dir, host="127.0.0.1", port=0,
                              ssl=server_context(*cert_files)) as server:
        yield server


async def test_self_signed_certificate(cert_files: tuple[Path, Path]) -> None:
    cert_path, key_path = cert_files
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert cert.public_key() == key.public_key()
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert (key_path.stat().st_mode & 0o777) == 0o600
    assert fingerprint(cert_path) == fingerprint(cert)
    assert len(fingerprint(cert).split(":")) == 32


async def test_talk_over_tls(tls_server: Server, cert_files: tuple[Path, Path],
                             opus_packets: list[bytes]) -> None:
    assert tls_server.url.startswith("wss://127.0.0.1:")
    trust = client_context(cert_files[0])
    async with (await Client.connect(tls_server.url, "gubernur", "ht-1", ssl=trust,
                                     timeout=WAIT) as talker,
                await Client.connect(tls_server.url, "bupati-kerinci", "ht-2", ssl=trust,
                                     timeout=WAIT) as listener):
        tls = talker._ws.transport.get_extra_info("ssl_object")
        assert isinstance(tls, ssl.SSLObject) and tls.version() in ("TLSv1.2", "TLSv1.3")
        for radio in (talker, listener):
            await radio.join("komando")
        packets = opus_packets[:5]
        tx = await talker.send_packets("komando", packets, realtime=False)
        await listener.wait_for(
            lambda m: isinstance(m, wire.TalkerStop) and m.stream == tx.stream, past=True,
            timeout=WAIT)
        [heard] = listener.heard("komando")
        assert heard.member.id == "gubernur" and heard.packets() == packets


async def test_enroll_over_tls(roster: Roster, store: Store, data_dir: Path,
                               cert_files: tuple[Path, Path]) -> None:
    code, now = new_code(), time.time()
    DeviceRegistry(store.engine).issue_code(code_hash(code), member="bupati-tebo", now=now,
                                            expires_at=now + 60, created_by="admin")
    trust = client_context(cert_files[0])
    async with running_server(roster, store, data_dir, require_auth=True,
                              ssl=server_context(*cert_files)) as server:
        identity = await Client.enroll(server.url, code, "bupati-tebo", ssl=trust, timeout=WAIT)
        async with await Client.connect(server.url, identity=identity, ssl=trust,
                                        timeout=WAIT) as radio:
            assert radio.welcome is not None and radio.welcome.member.id == "bupati-tebo"


async def test_untrusted_certificate_is_refused(tls_server: Server) -> None:
    # default trust (the system CAs): the self-signed certificate is not among them
    with pytest.raises(ssl.SSLCertVerificationError, match="self-signed"):
        await Client.connect(tls_server.url, "gubernur", timeout=WAIT)
    with pytest.raises(ssl.SSLCertVerificationError):
        await Client.connect(tls_server.url, "gubernur", timeout=WAIT,
                             ssl=client_context(None))


async def test_host_name_is_checked(roster: Roster, store: Store, data_dir: Path,
                                    tmp_path: Path) -> None:
    """Trusting the certificate is not enough: it must also name the address dialled."""
    cert, key = tmp_path / "other.crt", tmp_path / "other.key"
    make_self_signed(cert, key, hosts=["siaga.jambiprov.go.id"])
    async with running_server(roster, store, data_dir, ssl=server_context(cert, key)) as srv:
        with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
            await Client.connect(srv.url, "gubernur", ssl=client_context(cert), timeout=WAIT)


async def test_plain_websocket_against_tls_port_fails(tls_server: Server,
                                                      cert_files: tuple[Path, Path]) -> None:
    plain = tls_server.url.replace("wss://", "ws://")
    with pytest.raises(InvalidHandshake):
        await Client.connect(plain, "gubernur", timeout=WAIT)
    with pytest.raises(LocalProtocolError, match="wss://"):  # a context needs a wss:// URL
        await Client.connect(plain, "gubernur", ssl=client_context(cert_files[0]),
                             timeout=WAIT)
    # the server shrugs it off and still serves TLS clients
    async with await Client.connect(tls_server.url, "gubernur", timeout=WAIT,
                                    ssl=client_context(cert_files[0])) as radio:
        assert radio.welcome is not None


def test_bad_certificate_and_key_files(tmp_path: Path, cert_files: tuple[Path, Path]) -> None:
    cert, key = cert_files
    other_cert, other_key = tmp_path / "b.crt", tmp_path / "b.key"
    make_self_signed(other_cert, other_key)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    locked = tmp_path / "locked.key"
    locked.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"rahasia")))
    cases = [
        (tmp_path / "missing.crt", key, "missing.crt"),
        (cert, tmp_path / "missing.key", "missing.key"),
        (junk, key, "junk.pem is not a PEM certificate"),
        (key, key, "siaga.key is not a PEM certificate"),
        (cert, junk, "junk.pem is not a PEM private key"),
        (cert, other_key, "b.key does not belong to certificate"),
        (cert, locked, "locked.key is encrypted"),
    ]
    for c, k, message in cases:
        with pytest.raises(ConfigError, match=message):
            server_context(c, k)
    context = server_context(cert, key)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    for bad in (tmp_path / "missing.crt", junk):
        with pytest.raises(ConfigError, match=bad.name):
            client_context(bad)
    assert client_context(cert).check_hostname


# ---- the command line -----------------------------------------------------------------------


def test_cli_self_signed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cert, key = tmp_path / "field.crt", tmp_path / "field.key"
    assert main(["tls", "self-signed", "--cert", str(cert), "--key", str(key),
                 "--host", "posko.local", "--host", "10.15.0.1", "--days", "30"]) == 0
    out = capsys.readouterr().out
    assert f"SHA-256: {fingerprint(cert)}" in out
    server_context(cert, key)  # accepted as they are
    made = x509.load_pem_x509_certificate(cert.read_bytes())
    san = made.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["posko.local"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.15.0.1")]
    days = (made.not_valid_after_utc - made.not_valid_before_utc).days
    assert 30 <= days <= 31
    # an existing key is not overwritten by accident
    before = key.read_bytes()
    assert main(["tls", "self-signed", "--cert", str(cert), "--key", str(key)]) == 2
    assert key.read_bytes() == before
    assert main(["tls", "self-signed", "--cert", str(cert), "--key", str(key),
                 "--force"]) == 0
    assert key.read_bytes() != before


def test_cli_serve_needs_both_tls_files(cert_files: tuple[Path, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    cert, key = cert_files
    assert main(["serve", "--tls-cert", str(cert)]) == 2
    assert main(["serve", "--tls-key", str(key)]) == 2
    assert "--tls-key" in capsys.readouterr().err


def test_cli_ca_needs_wss(cert_files: tuple[Path, Path]) -> None:
    plain = "ws://127.0.0.1:1/"
    assert main(["talk", "--as", "gubernur", "-t", "komando", "--server", plain,
                 "--ca", str(cert_files[0])]) == 2
    assert main(["enroll", "--code", "x", "--as", "gubernur", "--identity", "x.json",
                 "--server", plain, "--ca", str(cert_files[0])]) == 2


@pytest.fixture
def threaded_tls_server(tmp_path: Path, cert_files: tuple[Path, Path]) -> Iterator[Server]:
    """A TLS server in its own thread and loop, for the CLI (which runs its own loop)."""
    with server_in_thread(tmp_path / "srv", ssl=server_context(*cert_files)) as (server, _):
        yield server


def test_cli_talk_with_ca(threaded_tls_server: Server, cert_files: tuple[Path, Path],
                          tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wav = tmp_path / "pesan.wav"
    t = np.arange(int(SAMPLE_RATE * 0.2)) / SAMPLE_RATE
    write_wav(wav, (np.sin(2 * np.pi * 330 * t) * 8000).astype(np.int16))
    url = threaded_tls_server.url
    assert main(["talk", "--as", "gubernur", "-t", "komando", "--server", url,
                 "--ca", str(cert_files[0]), "--send", str(wav)]) == 0
    assert "10/10" in capsys.readouterr().out
    # without --ca the system CAs are used, and they do not know this certificate
    assert main(["talk", "--as", "gubernur", "-t", "komando", "--server", url,
                 "--send", str(wav)]) != 0
