"""End-to-end encryption on a real server: what listeners hear, what the server can read
(nothing), and the attacks a sealed talkgroup must withstand."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from conftest import server_in_thread
from sqlalchemy import text

from siaga import wire
from siaga.audio.files import read_audio
from siaga.audio.opus import SAMPLE_RATE
from siaga.cli import main
from siaga.client import Client
from siaga.client.client import Reception
from siaga.client.identity import Identity
from siaga.client.keyring import Keyring, Receiver
from siaga.crypto import DeviceKeys, GroupKey, b64e, new_nonce, seal_group_key, sign_sealed_key
from siaga.errors import CryptoError, Refused
from siaga.identity import code_hash, new_code
from siaga.recording import read_recording
from siaga.roster import Roster
from siaga.server import Server, running_server
from siaga.store import Store
from siaga.store.identity_sql import DeviceRegistry

WAIT = 5.0

Enroll = Callable[[str], Awaitable[Identity]]


@pytest.fixture
async def closed_server(roster: Roster, store: Store, data_dir: Path) -> AsyncIterator[Server]:
    async with running_server(roster, store, data_dir, require_auth=True) as server:
        yield server


@pytest.fixture
def enroll(closed_server: Server, store: Store) -> Enroll:
    async def _enroll(member: str) -> Identity:
        code = new_code()
        now = time.time()
        DeviceRegistry(store.engine).issue_code(code_hash(code), member=member, now=now,
                                                expires_at=now + 60, created_by="test")
        return await Client.enroll(closed_server.url, code, member)
    return _enroll


@pytest.fixture
async def radios(closed_server: Server, enroll: Enroll) -> AsyncIterator[dict[str, Client]]:
    """Signed-in keeper (admin), governor, a bupati and the auditor, joined to komando."""
    clients: dict[str, Client] = {}
    for member in ("admin", "gubernur", "bupati-kerinci", "auditor"):
        identity = await enroll(member)
        clients[member] = await Client.connect(closed_server.url, identity=identity)
        clients[member].identity = identity  # type: ignore[attr-defined]
    await clients["gubernur"].join("komando")
    await clients["bupati-kerinci"].join("komando")
    yield clients
    for client in clients.values():
        await client.close()


async def until(check: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(poll(), WAIT)


async def heard_one(client: Client, talkgroup: str) -> Reception:
    await until(lambda: any(r.done for r in client.heard(talkgroup)))
    return [r for r in client.heard(talkgroup) if r.done][-1]


async def test_sealed_talk_is_heard_verified_and_unreadable_on_the_server(
        radios: dict[str, Client], closed_server: Server, store: Store, data_dir: Path,
        opus_packets: list[bytes], tmp_path: Path) -> None:
    gk = await radios["admin"].publish_group_key("komando")
    gov, bupati = radios["gubernur"], radios["bupati-kerinci"]
    await until(lambda: bupati.keyring is not None and bupati.keyring.latest("komando") == gk)
    tx = await gov.send_packets("komando", opus_packets, realtime=False)
    assert tx.cipher is not None
    heard = await heard_one(bupati, "komando")
    assert heard.sealed and heard.verified_member == "gubernur" and heard.rejected == 0
    assert [f.payload for _, f in heard.frames] == opus_packets

    # The server's files: every frame sealed, no Opus packet and no key in the clear.
    await closed_server.recorder.drain()
    [rec] = store.list_recordings()
    assert rec.e2e is not None
    recording = data_dir / rec.path
    contents = read_recording(recording)
    assert contents.sealed and all(f.flags & wire.FLAG_SEALED for _, f in contents.frames)
    raw = recording.read_bytes()
    assert not any(packet in raw for packet in opus_packets)
    database = b"".join(p.read_bytes() for p in data_dir.glob("siaga.db*"))
    assert gk.secret not in database and gk.secret not in raw
    # ... so an export without a key is refused, and one with the auditor's identity works.
    out = tmp_path / "export.wav"
    assert main(["recordings", "export", str(rec.id), "-o", str(out),
                 "--data-dir", str(data_dir)]) == 2
    auditor_file = tmp_path / "auditor.json"
    radios["auditor"].identity.save(auditor_file)  # type: ignore[attr-defined]
    assert main(["recordings", "export", str(rec.id), "-o", str(out), "--identity",
                 str(auditor_file), "--data-dir", str(data_dir)]) == 0
    seconds = len(read_audio(out)) / SAMPLE_RATE
    assert abs(seconds - len(opus_packets) * 0.02) < 0.05
    # A device that never held the key cannot export it either.
    stranger = Identity(member="bupati-tebo", keys=DeviceKeys.generate())
    stranger_file = tmp_path / "stranger.json"
    stranger.save(stranger_file)
    assert main(["recordings", "export", str(rec.id), "-o", str(out), "--identity",
                 str(stranger_file), "--data-dir", str(data_dir)]) == 1


async def test_a_member_cannot_speak_as_another(radios: dict[str, Client],
                                                opus_packets: list[bytes]) -> None:
    """The bupati signs its envelope with a key the directory does not know for any device
    (it cannot sign with the governor's): listeners refuse every frame."""
    await radios["admin"].publish_group_key("komando")
    gov, bupati = radios["gubernur"], radios["bupati-kerinci"]
    await until(lambda: bupati.keyring is not None and bupati.keyring.latest("komando"))
    assert bupati.keyring is not None
    forger = DeviceKeys.generate()
    honest_begin = bupati.keyring.begin

    def forged_begin(talkgroup: str, now: float):  # type: ignore[no-untyped-def]
        _, gk, nonce = honest_begin(talkgroup, now)  # type: ignore[misc]
        from siaga.crypto import make_envelope
        return make_envelope(forger, talkgroup, gk.epoch, now, nonce=nonce), gk, nonce

    bupati.keyring.begin = forged_begin  # type: ignore[method-assign]
    await bupati.send_packets("komando", opus_packets[:10], realtime=False)
    heard = await heard_one(gov, "komando")
    assert heard.sealed and heard.verified_member is None
    assert heard.frames == [] and heard.problem is not None


async def test_rotation_after_revocation_locks_the_lost_device_out(
        radios: dict[str, Client], closed_server: Server, store: Store, enroll: Enroll,
        opus_packets: list[bytes]) -> None:
    admin, gov, bupati = radios["admin"], radios["gubernur"], radios["bupati-kerinci"]
    listener = await Client.connect(closed_server.url, identity=await enroll("bupati-merangin"))
    radios["bupati-merangin"] = listener  # closed by the fixture
    await listener.join("komando")
    first = await admin.publish_group_key("komando")
    await until(lambda: bupati.keyring is not None and bupati.keyring.latest("komando") == first)
    stolen = bupati.keyring  # what a thief has: the HT's keys and the keys it received
    assert stolen is not None

    DeviceRegistry(store.engine).revoke(bupati.keyring.device_id, now=time.time(), by="admin")
    await asyncio.wait_for(bupati.closed.wait(), 3.0)
    second = await admin.publish_group_key("komando")  # the directory no longer lists it
    assert second.epoch == first.epoch + 1
    await until(lambda: gov.keyring is not None and gov.keyring.latest("komando") == second)

    await until(lambda: listener.keyring.latest("komando") == second)  # type: ignore[union-attr]
    await gov.send_packets("komando", opus_packets[:10], realtime=False)
    heard = await heard_one(listener, "komando")
    assert heard.e2e is not None and len(heard.frames) == 10
    start = wire.TalkerStart(talkgroup="komando", number=1, stream=heard.stream,
                             member=heard.member, priority=3, started_at=heard.started_at,
                             e2e=heard.e2e)
    stolen.directory.update(listener.keyring.directory)  # type: ignore[union-attr]
    with pytest.raises(CryptoError):
        stolen.receiver(start, time.time())  # no key for the new epoch


def sealed_frame(receiver_key: GroupKey, keys: DeviceKeys) -> tuple[Receiver, wire.AudioFrame,
                                                                     Keyring]:
    ring = Keyring(keys.public.device_id, keys)
    ring.add_own(receiver_key)
    ring.directory[keys.public.device_id] = ("gubernur", keys.public)
    envelope, gk, nonce = ring.begin("komando", 100.0)  # type: ignore[misc]
    header = wire.AudioFrame(1, 9, 0, 0, b"", wire.FLAG_SEALED)
    frame = wire.AudioFrame(1, 9, 0, 0, ring.cipher(gk, nonce).seal(header.header(), b"opus"),
                            wire.FLAG_SEALED)
    start = wire.TalkerStart(talkgroup="komando", number=1, stream=9,
                             member=wire.MemberInfo(id="gubernur", name="G", role="governor"),
                             priority=3, started_at=100.0, e2e=envelope)
    return ring.receiver(start, 100.0), frame, ring


def test_tampered_replayed_and_plaintext_frames_are_rejected() -> None:
    keys = DeviceKeys.generate()
    receiver, frame, _ = sealed_frame(GroupKey.generate("komando", 1), keys)
    reception = Reception("komando", 9, wire.MemberInfo(id="gubernur", name="G", role="g"),
                          3, False, False, 100.0, 100.0, e2e="x")
    reception.ready(receiver)
    tampered = wire.AudioFrame(frame.talkgroup, frame.stream, frame.seq, frame.timestamp,
                               bytes([frame.payload[0] ^ 1]) + frame.payload[1:], frame.flags)
    moved = wire.AudioFrame(2, frame.stream, frame.seq, frame.timestamp, frame.payload,
                            frame.flags)
    plain = wire.AudioFrame(1, 9, 1, 20, b"opus", 0)
    for bad in (tampered, moved, plain):
        reception.accept(101.0, bad)
    assert reception.frames == [] and reception.rejected == 3
    reception.accept(101.0, frame)
    reception.accept(101.1, frame)  # replayed
    assert [f.payload for _, f in reception.frames] == [b"opus"] and reception.rejected == 4


def test_a_key_from_another_keeper_is_refused_after_the_first() -> None:
    me = DeviceKeys.generate()
    ring = Keyring(me.public.device_id, me)

    def keys_msg(keeper: DeviceKeys, epoch: int) -> wire.Keys:
        gk = GroupKey("komando", epoch, new_nonce(32))
        sealed = seal_group_key(gk, me.public)
        sig = sign_sealed_key(keeper, "komando", epoch, me.public.device_id, sealed)
        return wire.Keys(talkgroup="komando", epoch=epoch, keeper=keeper.public.device_id,
                         keeper_sign=b64e(keeper.public.sign_pub),
                         keeper_dh=b64e(keeper.public.dh_pub), sealed=b64e(sealed),
                         sig=b64e(sig))

    keeper, impostor = DeviceKeys.generate(), DeviceKeys.generate()
    assert ring.add_sealed(keys_msg(keeper, 1)) is not None
    assert ring.keeper == keeper.public.device_id  # trusted on first use
    assert ring.add_sealed(keys_msg(impostor, 2)) is None  # a server's own "keeper"
    assert ring.latest("komando").epoch == 1  # type: ignore[union-attr]
    assert ring.rejected_keys == 1


async def test_only_an_admin_publishes_and_only_to_key_holders(
        radios: dict[str, Client], enroll: Enroll, closed_server: Server) -> None:
    gov = radios["gubernur"]
    assert gov.keyring is not None
    with pytest.raises(Exception) as not_admin:
        await gov.publish_group_key("komando")
    assert "admin" in str(not_admin.value)
    # The keeper cannot seal komando's key to a device outside komando (bupati-tebo is not in
    # the Kerinci net): the server refuses the whole batch.
    tebo = await enroll("bupati-tebo")
    admin = radios["admin"]
    assert admin.keyring is not None
    gk = GroupKey.generate("kerinci", 1)
    sealed = seal_group_key(gk, tebo.keys.public)
    sig = sign_sealed_key(admin.keyring.keys, "kerinci", 1, tebo.device_id, sealed)
    entry = wire.SealedKeyInfo(device=tebo.device_id, sealed=b64e(sealed), sig=b64e(sig))
    with pytest.raises(Exception) as outsider:
        await admin._request(wire.PublishKeys(talkgroup="kerinci", epoch=1, keys=[entry]),
                             expect=wire.KeysPublished)
    assert "may not hold" in str(outsider.value)


async def test_a_device_revoked_while_keys_are_sealed_is_skipped_not_fatal(
        radios: dict[str, Client], enroll: Enroll, closed_server: Server, store: Store) -> None:
    """The keeper read the directory, then an HT was revoked: the batch still lands for
    everyone else (a whole refused batch once broke a re-run of the demo)."""
    admin = radios["admin"]
    assert admin.keyring is not None
    lost = await enroll("bupati-kerinci")
    gk = GroupKey.generate("kerinci", 7)

    def entry(ident: Identity) -> wire.SealedKeyInfo:
        sealed = seal_group_key(gk, ident.keys.public)
        assert admin.keyring is not None
        sig = sign_sealed_key(admin.keyring.keys, "kerinci", 7, ident.device_id, sealed)
        return wire.SealedKeyInfo(device=ident.device_id, sealed=b64e(sealed), sig=b64e(sig))

    stays = await enroll("bupati-kerinci")
    DeviceRegistry(store.engine).revoke(lost.device_id, now=time.time(), by="admin")
    devices = closed_server.hub.devices
    assert devices is not None
    await until(lambda: bool((rec := devices.get(lost.device_id)) and rec.revoked))
    answer = await admin._request(
        wire.PublishKeys(talkgroup="kerinci", epoch=7, keys=[entry(lost), entry(stays)]),
        expect=wire.KeysPublished)
    assert (answer.stored, answer.skipped) == (1, 1)


def test_cli_keys_rotate(tmp_path: Path, roster: Roster,
                         capsys: pytest.CaptureFixture[str]) -> None:
    """The keeper's command: each run makes the next epoch, sealed to the enrolled devices."""
    from siaga.store.keys_sql import KeyStore

    with server_in_thread(tmp_path / "srv", roster, require_auth=True) as (server, store):
        identities = {}
        for member in ("admin", "gubernur"):
            code = new_code()
            DeviceRegistry(store.engine).issue_code(code_hash(code), member=member,
                                                    now=time.time(),
                                                    expires_at=time.time() + 60,
                                                    created_by="test")
            identities[member] = asyncio.run(Client.enroll(server.url, code, member))
        keeper_file = tmp_path / "admin.json"
        identities["admin"].save(keeper_file)
        for epoch in (1, 2):
            assert main(["keys", "rotate", "--identity", str(keeper_file), "--server",
                         server.url, "-t", "komando"]) == 0
            assert f"komando: epoch {epoch}" in capsys.readouterr().out
        sealed = KeyStore(store.engine).for_device(identities["gubernur"].device_id)
        assert [(k.talkgroup, k.epoch) for k in sealed] == [("komando", 1), ("komando", 2)]
        # Only the keeper may do it.
        gov_file = tmp_path / "gov.json"
        identities["gubernur"].save(gov_file)
        assert main(["keys", "rotate", "--identity", str(gov_file), "--server", server.url,
                     "-t", "komando"]) == 1


async def test_running_keeper_rotates_on_enrollment_and_revocation(
        closed_server: Server, store: Store, enroll: Enroll) -> None:
    from siaga.store.keys_sql import KeyStore

    keeper = await Client.connect(closed_server.url, identity=await enroll("admin"))
    gov = await Client.connect(closed_server.url, identity=await enroll("gubernur"))
    assert gov.keyring is not None
    task = asyncio.get_running_loop().create_task(keeper.keep_keys(["komando"], settle=0.05))

    def epoch(client: Client) -> int:
        gk = client.keyring.latest("komando") if client.keyring else None
        return gk.epoch if gk else 0

    newcomer: Client | None = None
    try:
        await until(lambda: epoch(gov) >= 1)
        before = epoch(gov)
        # A new bupati HT is enrolled: the keeper makes a new epoch, sealed to it too.
        newcomer_id = await enroll("bupati-kerinci")
        newcomer = await Client.connect(closed_server.url, identity=newcomer_id)
        await until(lambda: epoch(newcomer) > before and epoch(gov) == epoch(newcomer))
        held = epoch(newcomer)
        # The HT is lost and revoked: the keeper makes a new epoch without it.
        DeviceRegistry(store.engine).revoke(newcomer_id.device_id, now=time.time(), by="admin")
        await until(lambda: epoch(gov) > held)
        stored = KeyStore(store.engine).for_device(newcomer_id.device_id)
        assert max(k.epoch for k in stored) == held < epoch(gov)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        for client in (keeper, gov, newcomer):
            if client is not None:
                await client.close()


def test_the_same_transmission_may_be_announced_again_but_not_replayed_elsewhere() -> None:
    keys = DeviceKeys.generate()
    _, _, ring = sealed_frame(GroupKey.generate("komando", 1), keys)
    envelope, _, _ = ring.begin("komando", 100.0)  # type: ignore[misc]

    def start(stream: int) -> wire.TalkerStart:
        return wire.TalkerStart(talkgroup="komando", number=1, stream=stream,
                                member=wire.MemberInfo(id="gubernur", name="G", role="g"),
                                priority=3, started_at=100.0, e2e=envelope)

    ring.receiver(start(5), 100.0)
    ring.receiver(start(5), 101.0)  # rejoined mid-transmission: the same stream, accepted
    with pytest.raises(CryptoError) as replay:
        ring.receiver(start(6), 102.0)  # the envelope replayed for another stream
    assert replay.value.code.value == "replayed"


async def test_closed_network_carries_no_plaintext_voice_except_an_emergency(
        radios: dict[str, Client], opus_packets: list[bytes]) -> None:
    gov, bupati = radios["gubernur"], radios["bupati-kerinci"]
    # No key yet: the client refuses rather than fall back to plaintext ...
    with pytest.raises(Refused):
        await gov.request_floor("komando")
    # ... and so does the server, for a request without an envelope.
    waiter = gov.wait_for(lambda m: isinstance(m, wire.FloorDenied))
    await gov._send(wire.FloorRequest(talkgroup="komando"))
    denied = await waiter
    assert isinstance(denied, wire.FloorDenied) and denied.code == "not_allowed"
    # An emergency is never refused: it goes out unsealed, and listeners are told so.
    tx = await gov.request_floor("komando", emergency=True)
    assert tx.cipher is None
    await tx.send_packets(opus_packets[:5], realtime=False)
    await tx.release()
    heard = await heard_one(bupati, "komando")
    assert not heard.sealed and len(heard.frames) == 5


async def test_plaintext_frames_are_dropped_from_a_sealed_transmission(
        radios: dict[str, Client], closed_server: Server, opus_packets: list[bytes]) -> None:
    await radios["admin"].publish_group_key("komando")
    gov, bupati = radios["gubernur"], radios["bupati-kerinci"]
    await gov.key_ready("komando")
    tx = await gov.request_floor("komando")
    cipher, tx.cipher = tx.cipher, None  # a buggy or hostile client "forgets" to seal
    await tx.send(opus_packets[0])
    tx.cipher = cipher
    await tx.send(opus_packets[1])
    await tx.release()
    heard = await heard_one(bupati, "komando")
    assert [f.payload for _, f in heard.frames] == [opus_packets[1]]
    assert closed_server.hub.stats.dropped_bad >= 1


async def test_direct_messages_are_sealed_to_the_recipients_devices(
        radios: dict[str, Client], enroll: Enroll, closed_server: Server, store: Store) -> None:
    gov, bupati = radios["gubernur"], radios["bupati-kerinci"]
    accepted = await gov.send_direct("bupati-kerinci", text="Hubungi saya segera")
    assert accepted.recipients == 1
    await until(lambda: accepted.id in bupati.inbox and bupati.inbox[accepted.id].verified)
    got = bupati.inbox[accepted.id]
    assert (got.text, got.to, got.talkgroup, got.sender) == (
        "Hubungi saya segera", "bupati-kerinci", "", "gubernur")
    # Not on any talkgroup: the auditor (in every talkgroup's key list) did not get it.
    await asyncio.sleep(0.1)
    assert accepted.id not in radios["auditor"].inbox
    # The server keeps only ciphertext.
    with store.engine.connect() as conn:
        row = conn.execute(text("SELECT text, sealed_for FROM messages WHERE id = :id"),
                           {"id": accepted.id}).one()
    assert row[0] is None and "Hubungi" not in row[1]
    # Offline: the bupati's HT is off; a second one, enrolled now, gets it at sign-in.
    second = await enroll("bupati-kerinci")
    await bupati.close()
    later = await gov.send_direct("bupati-kerinci", status="butuh_bantuan")
    ht = await Client.connect(closed_server.url, identity=second)
    try:
        await until(lambda: later.id in ht.inbox and ht.inbox[later.id].verified)
        assert ht.inbox[later.id].status == "butuh_bantuan"
    finally:
        await ht.close()


async def test_direct_message_refusals(radios: dict[str, Client], enroll: Enroll) -> None:
    gov = radios["gubernur"]
    tebo = await enroll("bupati-tebo")
    cases = [
        (wire.MessageSend(id="direct-001", to="bupati-kerinci", text="plain"), "not_allowed"),
        (wire.MessageSend(id="direct-002", to="bupati-kerinci", sealed_for=[
            wire.SealedFor(device=tebo.device_id, sealed="AAAA")]), "not_member"),
        (wire.MessageSend(id="direct-003", to="nobody", text="x"), "invalid_field"),
        (wire.MessageSend(id="direct-004", to="gubernur", text="x"), "invalid_field"),
        (wire.MessageSend(id="direct-005", to="bupati-kerinci", talkgroup="komando",
                          text="x"), "bad_message"),
        (wire.MessageSend(id="direct-006", to="bupati-kerinci", sealed="AAAA"), "bad_message"),
    ]
    for msg, code in cases:
        with pytest.raises(Refused) as refused:
            await gov._request(msg, expect=wire.MessageAccepted)
        assert refused.value.code == code, msg


async def test_alerts_are_published_through_the_server_only_if_signed_and_allowed(
        radios: dict[str, Client], enroll: Enroll, closed_server: Server,
        data_dir: Path) -> None:
    from siaga.alerts import AlertLevel, Wording, evacuation, publish
    from siaga.alerts.cap import Alert

    gov, bupati = radios["gubernur"], radios["bupati-kerinci"]
    regions = closed_server.hub.roster.regions

    def notice(sender: Client, region: str, headline: str) -> Alert:
        assert sender.keyring is not None
        return evacuation(sender=sender.keyring.device_id, now=time.time(),
                          region=regions[region], level=AlertLevel.SIAGA,
                          indonesian=Wording(headline, "Air naik di bantaran sungai."))

    sent = await gov.publish_alert(notice(gov, "15.06", "Siaga banjir Muara Sabak"))
    assert (sent.kind, sent.region, sent.sender) == ("evacuation", "15.06", "gubernur")
    assert (data_dir / sent.url.lstrip("/")).is_file()
    assert sent.id.encode() in (data_dir / "alerts" / "feed.xml").read_bytes()
    await until(lambda: any(a.id == sent.id for a in bupati.alerts))
    # A bupati may warn its own regency only.
    with pytest.raises(Refused) as other:
        await bupati.publish_alert(notice(bupati, "15.06", "Bukan wilayah saya"))
    assert other.value.code == "not_allowed"
    # Signed by one device, sent by another: the signature is checked against the sender.
    assert bupati.keyring is not None and gov.keyring is not None
    signed = publish(notice(gov, "15.01", "Palsu"), gov.keyring.keys)
    with pytest.raises(Refused) as forged:
        await bupati._request(wire.AlertPublish(xml=signed.xml.decode(),
                                                sig=signed.signature_b64),
                              expect=wire.AlertNotice)
    assert forged.value.code == "bad_signature"
    # Tampered after signing; not CAP at all.
    good = publish(notice(gov, "15.06", "Asli"), gov.keyring.keys)
    tampered = good.xml.decode().replace("Asli", "Palsu")
    for xml, code in ((tampered, "bad_signature"), ("<alert>nope</alert>", "bad_message")):
        with pytest.raises(Refused) as bad:
            await gov._request(wire.AlertPublish(xml=xml, sig=good.signature_b64),
                               expect=wire.AlertNotice)
        assert bad.value.code == code


def test_cli_publishes_an_alert_through_the_server(tmp_path: Path, roster: Roster,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with server_in_thread(tmp_path / "srv", roster, require_auth=True) as (server, store):
        code = new_code()
        DeviceRegistry(store.engine).issue_code(code_hash(code), member="bupati-tanjabtim",
                                                now=time.time(), expires_at=time.time() + 60,
                                                created_by="test")
        ident = asyncio.run(Client.enroll(server.url, code, "bupati-tanjabtim"))
        ident.save(tmp_path / "bupati.json")
        args = ["alert", "evacuation", "--level", "awas", "--headline", "Evakuasi Sabak",
                "--description", "Air naik", "--identity", str(tmp_path / "bupati.json"),
                "--server", server.url]
        assert main([*args, "--region", "15.06"]) == 0
        assert "/alerts/siaga-evacuation-15.06-" in capsys.readouterr().out
        assert len(list((tmp_path / "srv" / "alerts").glob("*.sig"))) == 1
        assert main([*args, "--region", "15.01"]) == 1  # not this bupati's regency
