"""Only the right devices: enrollment, signed login, revocation, failed-login limits, audit.

The hub is tested without sockets (time stepped by hand); then the same flows end to end on a
real server with the Python client, and the admin CLI against the same database.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from siaga import wire
from siaga.cli import main
from siaga.client import Client
from siaga.client.identity import Identity
from siaga.crypto import DeviceKeys, b64e, sign_enroll, sign_login
from siaga.errors import ConfigError, ErrorCode, Refused
from siaga.hub import Audit, Close, Hub, Output, Redeem, Send
from siaga.identity import (
    DeviceDirectory,
    DeviceRecord,
    code_hash,
    new_code,
    normalize_code,
    resolve_member,
)
from siaga.roster import Role, Roster
from siaga.server import Server, running_server
from siaga.store import Store, open_store
from siaga.store.audit_sql import AuditLog
from siaga.store.identity_sql import DeviceRegistry

T0 = 1_800_000_000.0
NONCE = bytes(range(32))


def errors(out: list[Output], conn: int) -> list[str]:
    codes = []
    for o in out:
        if isinstance(o, Send) and conn in o.to:
            msg = wire.decode_server(o.text)
            if isinstance(msg, wire.Error):
                codes.append(msg.code)
    return codes


def record_for(keys: DeviceKeys, member: str, revoked: bool = False) -> DeviceRecord:
    pub = keys.public
    return DeviceRecord(pub.device_id, member, pub.sign_pub, pub.dh_pub, T0,
                        revoked_at=T0 if revoked else None)


class Closed:
    """A hub for a closed network with one enrolled device for the governor."""

    def __init__(self, roster: Roster) -> None:
        self.keys = DeviceKeys.generate()
        self.directory = DeviceDirectory()
        self.directory.put(record_for(self.keys, "gubernur"))
        self.hub = Hub(roster, self.directory)
        self.conns = 0

    def open(self, peer: str = "10.0.0.1", nonce: bytes = NONCE) -> tuple[int, list[Output]]:
        self.conns += 1
        return self.conns, self.hub.connect(self.conns, T0, nonce=nonce, peer=peer)

    def hello(self, conn: int, auth: bytes | None, member: str = "gubernur",
              device: str | None = None, now: float = T0) -> list[Output]:
        msg = wire.Hello(v=1, member=member, device=device or self.keys.public.device_id,
                         auth=b64e(auth) if auth is not None else None)
        return self.hub.receive_text(conn, wire.encode(msg), now)


@pytest.fixture
def closed(roster: Roster) -> Closed:
    return Closed(roster)


# ---- the hub alone -----------------------------------------------------------------------------


def test_challenge_is_the_first_message(closed: Closed) -> None:
    _conn, out = closed.open()
    [send] = out
    assert isinstance(send, Send)
    challenge = wire.decode_server(send.text)
    assert challenge == wire.Challenge(nonce=b64e(NONCE), auth=True)


def test_signed_login_is_welcomed_and_audited(closed: Closed) -> None:
    conn, _ = closed.open()
    out = closed.hello(conn, sign_login(closed.keys, NONCE, "gubernur"))
    assert not errors(out, conn)
    assert any(isinstance(o, Send) and '"welcome"' in o.text for o in out)
    [audit] = [o for o in out if isinstance(o, Audit)]
    assert (audit.kind, audit.subject) == ("login", "gubernur")


@pytest.mark.parametrize("case", ["no_auth", "other_nonce", "other_key", "unknown_device",
                                  "wrong_member", "revoked", "garbage"])
def test_bad_logins_are_refused_closed_and_audited(closed: Closed, case: str) -> None:
    conn, _ = closed.open()
    keys = closed.keys
    device = None
    member = "gubernur"
    auth: bytes | None = sign_login(keys, NONCE, "gubernur")
    expected = ErrorCode.BAD_SIGNATURE
    if case == "no_auth":
        auth, expected = None, ErrorCode.NOT_AUTHENTICATED
    elif case == "other_nonce":  # a signature captured on another connection: a replay
        auth = sign_login(keys, bytes(32), "gubernur")
    elif case == "other_key":  # a forger signing with its own key for the governor's device
        auth = sign_login(DeviceKeys.generate(), NONCE, "gubernur")
    elif case == "unknown_device":
        device, expected = DeviceKeys.generate().public.device_id, ErrorCode.UNKNOWN_DEVICE
    elif case == "wrong_member":  # the governor's device claiming to be a bupati
        member, expected = "bupati-tebo", ErrorCode.UNKNOWN_DEVICE
        auth = sign_login(keys, NONCE, "bupati-tebo")
    elif case == "revoked":
        closed.directory.put(record_for(keys, "gubernur", revoked=True))
        expected = ErrorCode.DEVICE_REVOKED
    elif case == "garbage":
        auth = b"\x00" * 10
    out = closed.hello(conn, auth, member=member, device=device)
    assert errors(out, conn) == [expected.value]
    assert any(isinstance(o, Close) and o.conn == conn for o in out)
    [audit] = [o for o in out if isinstance(o, Audit)]
    assert audit.kind == "login_failed" and audit.detail["code"] == expected.value
    assert closed.hub.sessions[conn].member is None  # nothing granted


def test_failed_logins_from_one_address_are_rate_limited(closed: Closed) -> None:
    for _ in range(5):
        conn, _ = closed.open(peer="203.0.113.9")
        closed.hello(conn, b"\x01" * 64)
    conn, _ = closed.open(peer="203.0.113.9")
    good = sign_login(closed.keys, NONCE, "gubernur")
    assert errors(closed.hello(conn, good), conn) == ["rate_limited"]
    # ... while the same device from another address still gets in,
    conn, _ = closed.open(peer="198.51.100.7")
    assert errors(closed.hello(conn, good), conn) == []
    # and the blocked address may try again after the window.
    conn, _ = closed.open(peer="203.0.113.9")
    assert errors(closed.hello(conn, good, now=T0 + 61), conn) == []


def test_enroll_flow_in_the_hub(closed: Closed) -> None:
    conn, _ = closed.open()
    keys = DeviceKeys.generate()
    code = new_code()
    msg = wire.Enroll(code=code, member="bupati-tebo", sign_pub=b64e(keys.public.sign_pub),
                      dh_pub=b64e(keys.public.dh_pub),
                      proof=b64e(sign_enroll(keys, normalize_code(code), "bupati-tebo")), ref=4)
    [redeem] = closed.hub.receive_text(conn, wire.encode(msg), T0)
    assert isinstance(redeem, Redeem) and redeem.code_hash == code_hash(code)
    assert redeem.record.device_id == keys.public.device_id
    out = closed.hub.enroll_result(redeem, True, T0)
    assert closed.directory.get(keys.public.device_id) is not None
    assert wire.Enrolled(member="bupati-tebo", device=keys.public.device_id, ref=4) in [
        wire.decode_server(o.text) for o in out if isinstance(o, Send)]
    # then the new device signs in on the same connection
    out = closed.hello(conn, sign_login(keys, NONCE, "bupati-tebo"), member="bupati-tebo",
                       device=keys.public.device_id)
    assert errors(out, conn) == []


def test_enroll_with_a_bad_proof_or_code_is_refused(closed: Closed) -> None:
    conn, _ = closed.open()
    keys, thief = DeviceKeys.generate(), DeviceKeys.generate()
    code = new_code()
    msg = wire.Enroll(code=code, member="bupati-tebo", sign_pub=b64e(keys.public.sign_pub),
                      dh_pub=b64e(keys.public.dh_pub),
                      proof=b64e(sign_enroll(thief, normalize_code(code), "bupati-tebo")))
    out = closed.hub.receive_text(conn, wire.encode(msg), T0)
    assert errors(out, conn) == ["enrollment_invalid"]
    assert not any(isinstance(o, Redeem) for o in out)
    # a good proof but a code the store does not accept (unknown, used or expired)
    msg = wire.Enroll(code=code, member="bupati-tebo", sign_pub=b64e(keys.public.sign_pub),
                      dh_pub=b64e(keys.public.dh_pub),
                      proof=b64e(sign_enroll(keys, normalize_code(code), "bupati-tebo")))
    [redeem] = closed.hub.receive_text(conn, wire.encode(msg), T0)
    assert isinstance(redeem, Redeem)
    out = closed.hub.enroll_result(redeem, False, T0)
    assert errors(out, conn) == ["enrollment_invalid"]
    assert closed.directory.get(keys.public.device_id) is None


def test_revocation_cuts_off_the_device_at_once(closed: Closed) -> None:
    conn, _ = closed.open()
    closed.hello(conn, sign_login(closed.keys, NONCE, "gubernur"))
    out = closed.hub.device_changed(record_for(closed.keys, "gubernur", revoked=True), T0 + 5)
    assert errors(out, conn) == ["device_revoked"]
    assert any(isinstance(o, Close) and o.conn == conn for o in out)
    assert conn not in closed.hub.sessions


def test_open_network_refuses_enrollment(roster: Roster) -> None:
    hub = Hub(roster)
    out = hub.connect(1, T0, nonce=NONCE)
    assert wire.decode_server(out[0].text) == wire.Challenge(  # type: ignore[union-attr]
        nonce=b64e(NONCE), auth=False)
    keys = DeviceKeys.generate()
    msg = wire.Enroll(code="ABCDE-FGHJK", member="gubernur", sign_pub=b64e(keys.public.sign_pub),
                      dh_pub=b64e(keys.public.dh_pub), proof=b64e(b"x" * 64))
    assert errors(hub.receive_text(1, wire.encode(msg), T0), 1) == ["not_allowed"]


# ---- codes and roster lookups ------------------------------------------------------------------


def test_codes_are_typed_forgivingly_and_hashed() -> None:
    code = new_code()
    assert len(code) == 11 and code[5] == "-"
    assert code_hash(code) == code_hash(code.lower().replace("-", " "))
    assert code_hash("0O1IL-00000".replace("O", "0")) == code_hash("00111-00000")
    with pytest.raises(Refused):
        normalize_code("short")
    assert code not in code_hash(code)


def test_resolve_member_by_role_and_region(roster: Roster) -> None:
    assert resolve_member(roster, role="bupati", region="15.04").id == "bupati-batanghari"
    assert resolve_member(roster, role="gubernur").role is Role.GOVERNOR
    assert resolve_member(roster, member="bpbd").id == "bpbd"
    with pytest.raises(ConfigError):
        resolve_member(roster, role="bupati")  # eleven of them: which one?
    with pytest.raises(ConfigError):
        resolve_member(roster, role="wizard")
    with pytest.raises(ConfigError):
        resolve_member(roster, member="nobody")


# ---- end to end ----------------------------------------------------------------------------------


def issue(store: Store, member: str, ttl: float = 3600.0, now: float | None = None) -> str:
    code = new_code()
    now = time.time() if now is None else now
    DeviceRegistry(store.engine).issue_code(code_hash(code), member=member, now=now,
                                            expires_at=now + ttl, created_by="admin")
    return code


async def test_enroll_login_revoke_end_to_end(roster: Roster, store: Store,
                                              data_dir: Path) -> None:
    async with running_server(roster, store, data_dir, require_auth=True) as server:
        with pytest.raises(Refused) as refused:
            await Client.connect(server.url, "gubernur")  # no device: refused up front
        assert refused.value.code == ErrorCode.NOT_AUTHENTICATED

        code = issue(store, "bupati-batanghari")
        identity = await Client.enroll(server.url, code, "bupati-batanghari", label="HT 1")
        path = data_dir / "ht1.json"
        identity.save(path)
        assert (path.stat().st_mode & 0o777) == 0o600
        loaded = Identity.load(path)
        assert loaded.device_id == identity.device_id

        # the code works once
        with pytest.raises(Refused) as again:
            await Client.enroll(server.url, code, "bupati-batanghari")
        assert again.value.code == ErrorCode.ENROLLMENT_INVALID

        radio = await Client.connect(server.url, identity=loaded)
        assert radio.welcome is not None and radio.welcome.member.id == "bupati-batanghari"
        await radio.join("batanghari")

        # an admin revokes the lost HT: it is cut off within a second ...
        started = time.monotonic()
        DeviceRegistry(store.engine).revoke(identity.device_id, now=time.time(), by="admin")
        await asyncio.wait_for(radio.closed.wait(), 3.0)
        assert time.monotonic() - started < 1.5
        await radio.close()
        # ... and cannot sign in again.
        with pytest.raises(Refused) as revoked:
            await Client.connect(server.url, identity=loaded)
        assert revoked.value.code == ErrorCode.DEVICE_REVOKED

        # an expired code is refused like an unknown one
        old = issue(store, "bupati-tebo", ttl=1.0, now=time.time() - 10)
        with pytest.raises(Refused) as expired:
            await Client.enroll(server.url, old, "bupati-tebo")
        assert expired.value.code == ErrorCode.ENROLLMENT_INVALID
        # a code issued for someone else cannot enroll the governor
        other = issue(store, "bupati-tebo")
        with pytest.raises(Refused):
            await Client.enroll(server.url, other, "gubernur")

    kinds = [e.kind for e in AuditLog(store.engine).entries()]
    for kind in ("server_started", "enrolled", "login", "enroll_failed", "login_failed",
                 "server_stopped"):
        assert kind in kinds, kind
    assert AuditLog(store.engine).verify().ok


def test_admin_cli_enroll_devices_revoke_and_audit(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from siaga import cli

    monkeypatch.setattr(cli.console, "width", 200)
    data = tmp_path / "data"
    assert main(["admin", "enroll", "--role", "bupati", "--region", "15.04",
                 "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "bupati-batanghari" in out
    code = out.split("code ")[1].split(",")[0].strip()
    assert len(normalize_code(code)) == 10

    store = open_store(data)
    try:
        keys = DeviceKeys.generate()
        record = record_for(keys, "bupati-batanghari")
        assert DeviceRegistry(store.engine).redeem(code_hash(code), record, time.time())
    finally:
        store.close()

    assert main(["admin", "devices", "--data-dir", str(data)]) == 0
    assert keys.public.device_id in capsys.readouterr().out
    assert main(["admin", "revoke", keys.public.device_id, "--data-dir", str(data)]) == 0
    assert main(["admin", "revoke", "dnosuchdevice", "--data-dir", str(data)]) == 2
    assert main(["admin", "enroll", "--role", "bupati", "--data-dir", str(data)]) == 1
    capsys.readouterr()
    assert main(["audit", "verify", "--data-dir", str(data)]) == 0
    assert "2" in capsys.readouterr().out  # enroll_issued + revoked

    # Tampering with the log in the database is found.
    store = open_store(data)
    try:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")
    finally:
        store.close()
    assert main(["audit", "verify", "--data-dir", str(data)]) == 1
    assert "1" in capsys.readouterr().out


async def test_server_without_auth_still_sends_challenge(server: Server) -> None:
    client = await Client.connect(server.url, "gubernur")
    try:
        assert client.welcome is not None
    finally:
        await client.close()


async def test_a_changed_roster_is_audited_at_start(roster: Roster, store: Store,
                                                    data_dir: Path) -> None:
    from dataclasses import replace

    async with running_server(roster, store, data_dir):
        pass
    async with running_server(roster, store, data_dir):
        pass  # same rules: nothing to report
    stricter = roster.with_talkgroup(replace(roster.talkgroups["komando"], time_limit=10.0))
    assert stricter.fingerprint() != roster.fingerprint()
    async with running_server(stricter, store, data_dir):
        pass
    entries = AuditLog(store.engine).entries()
    changes = [e for e in entries if e.kind == "rule_changed"]
    assert len(changes) == 1
    assert changes[0].detail == {"from": roster.fingerprint(), "to": stricter.fingerprint()}
    assert AuditLog(store.engine).verify().ok
