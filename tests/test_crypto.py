"""Device identity and end-to-end encryption: round trips, every tamper case, replay, rotation,
and the byte layouts a second (browser) implementation must reproduce."""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Callable

import msgspec
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st

from siaga import crypto, wire
from siaga.crypto import (
    DeviceKeys,
    DevicePublic,
    GroupKey,
    ReplayWindow,
    StreamCipher,
    b64d,
    b64e,
    fingerprint,
    make_envelope,
    open_direct,
    open_envelope,
    open_group_key,
    open_sealed,
    peek_envelope,
    seal_direct,
    seal_group_key,
    seal_to,
    stream_key,
)
from siaga.errors import CryptoError, ErrorCode, LocalProtocolError

ALICE = DeviceKeys.from_bytes(bytes(range(64)))
BOB = DeviceKeys.from_bytes(bytes(range(64, 128)))
MALLORY = DeviceKeys.from_bytes(bytes(range(128, 192)))
CTX = b"test-context"
T0 = 1_750_000_000.0


def hkdf(secret: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(secret)


def framed(label: bytes, *parts: bytes) -> bytes:
    return label + b"\0" + b"".join(struct.pack(">I", len(p)) + p for p in parts)


def header(talkgroup: int = 7, stream: int = 42, seq: int = 0, flags: int = wire.FLAG_SEALED,
           timestamp: int = 0) -> bytes:
    return wire.AudioFrame(talkgroup, stream, seq, timestamp, b"", flags).header()


def flip(data: bytes, bit: int) -> bytes:
    bit %= len(data) * 8
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def group() -> GroupKey:
    return GroupKey("kabupaten", 1, bytes(range(100, 132)))


# ---- identities ----------------------------------------------------------------------------


def test_raw_key_sizes_are_32_bytes() -> None:
    keys = DeviceKeys.generate()
    assert len(keys.public.sign_pub) == 32
    assert len(keys.public.dh_pub) == 32
    assert len(keys.to_bytes()) == 64


def test_device_keys_round_trip_through_bytes() -> None:
    keys = DeviceKeys.generate()
    again = DeviceKeys.from_bytes(keys.to_bytes())
    assert again.public == keys.public
    assert again.to_bytes() == keys.to_bytes()
    keys.public.verify(again.sign(crypto.LOGIN, b"x"), crypto.LOGIN, b"x")


@pytest.mark.parametrize("size", [0, 32, 63, 65, 128])
def test_device_keys_of_wrong_length_are_rejected(size: int) -> None:
    with pytest.raises(CryptoError):
        DeviceKeys.from_bytes(bytes(size))
    with pytest.raises(CryptoError):
        DeviceKeys(bytes(32), bytes(size % 32 or 31))


def test_private_keys_do_not_print() -> None:
    assert ALICE.to_bytes().hex() not in repr(ALICE)
    assert ALICE.public.device_id in repr(ALICE)
    assert bytes(range(100, 132)).hex() not in repr(group())
    assert "secret" not in repr(group())


def test_device_id_is_stable_and_derived_from_both_keys() -> None:
    pub = ALICE.public
    digest = hashlib.sha256(b"siaga/v1/device-id" + pub.sign_pub + pub.dh_pub).digest()
    expected = "d" + base64.b32encode(digest).decode().lower()[:20]
    assert pub.device_id == expected
    assert pub.device_id == DeviceKeys.from_bytes(ALICE.to_bytes()).public.device_id
    assert DevicePublic(pub.sign_pub, BOB.public.dh_pub).device_id != pub.device_id
    assert DevicePublic(BOB.public.sign_pub, pub.dh_pub).device_id != pub.device_id


def test_device_id_is_a_wire_ident() -> None:
    for keys in (ALICE, BOB, DeviceKeys.generate()):
        device_id = keys.public.device_id
        assert len(device_id) == 21
        message = wire.decode_client(f'{{"type":"join","talkgroup":"{device_id}"}}')
        assert message == wire.Join(talkgroup=device_id)


def test_fingerprint_is_short_grouped_and_distinct() -> None:
    fp = fingerprint(ALICE.public)
    groups = fp.split("-")
    assert [len(g) for g in groups] == [4, 4, 4, 4]
    assert all(c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for c in "".join(groups))
    assert fp == fingerprint(DeviceKeys.from_bytes(ALICE.to_bytes()).public)
    assert fp != fingerprint(BOB.public)


def test_public_json_round_trip() -> None:
    data = ALICE.public.to_json()
    assert set(data) == {"sign_pub", "dh_pub"}
    assert b64d(data["sign_pub"]) == ALICE.public.sign_pub
    assert DevicePublic.from_json(msgspec.json.decode(msgspec.json.encode(data))) == ALICE.public


@pytest.mark.parametrize("data", [
    None,
    [],
    {},
    {"sign_pub": "AAAA"},
    {"sign_pub": 1, "dh_pub": 2},
    {"sign_pub": b64e(bytes(31)), "dh_pub": b64e(bytes(32))},
    {"sign_pub": b64e(bytes(32)), "dh_pub": b64e(bytes(33))},
    {"sign_pub": b64e(bytes(32)) + "=", "dh_pub": b64e(bytes(32))},
    {"sign_pub": "!" * 43, "dh_pub": b64e(bytes(32))},
])
def test_public_json_rejects_malformed_keys(data: object) -> None:
    with pytest.raises(CryptoError) as info:
        DevicePublic.from_json(data)
    assert info.value.code == ErrorCode.BAD_SIGNATURE


def test_b64_is_strict_and_canonical() -> None:
    for size in range(0, 70):
        data = bytes(range(size))
        assert b64d(b64e(data)) == data
        assert "=" not in b64e(data)
    for text in ["A", "AB=", "AB==", "A+B/", " AB", "AB\n", "AF", "é"]:
        with pytest.raises(CryptoError):
            b64d(text)


# ---- signatures ----------------------------------------------------------------------------


def test_signature_framing_is_the_documented_one() -> None:
    sig = ALICE.sign("siaga/v1/test", b"ab", b"c")
    key = Ed25519PublicKey.from_public_bytes(ALICE.public.sign_pub)
    key.verify(sig, framed(b"siaga/v1/test", b"ab", b"c"))
    assert len(sig) == 64


@pytest.mark.parametrize(("label", "parts"), [
    ("siaga/v1/other", (b"ab", b"c")),  # another purpose
    ("siaga/v1/test", (b"a", b"bc")),  # same concatenation, other split
    ("siaga/v1/test", (b"abc",)),
    ("siaga/v1/test", (b"ab", b"c", b"")),
])
def test_signature_does_not_transfer(label: str, parts: tuple[bytes, ...]) -> None:
    sig = ALICE.sign("siaga/v1/test", b"ab", b"c")
    with pytest.raises(CryptoError) as info:
        ALICE.public.verify(sig, label, *parts)
    assert info.value.code == ErrorCode.BAD_SIGNATURE


def test_signature_by_another_device_fails() -> None:
    with pytest.raises(CryptoError):
        BOB.public.verify(ALICE.sign(crypto.LOGIN, b"x"), crypto.LOGIN, b"x")


@given(st.binary(max_size=80))
def test_any_garbage_signature_is_only_a_crypto_error(signature: bytes) -> None:
    with pytest.raises(CryptoError):
        ALICE.public.verify(signature, crypto.LOGIN, b"x")


def test_labels_must_be_ascii() -> None:
    with pytest.raises(LocalProtocolError):
        ALICE.sign("siaga/v1/\u00e9")
    with pytest.raises(LocalProtocolError):
        ALICE.sign("siaga\0v1")


def test_login_challenge() -> None:
    nonce = crypto.new_nonce()
    assert len(nonce) == 32
    sig = crypto.sign_login(ALICE, nonce, "bupati")
    crypto.verify_login(ALICE.public, sig, nonce, "bupati")
    ALICE.public.verify(sig, "siaga/v1/login", nonce, b"bupati",
                        ALICE.public.device_id.encode())
    for args in [(crypto.new_nonce(), "bupati"), (nonce, "camat")]:
        with pytest.raises(CryptoError):
            crypto.verify_login(ALICE.public, sig, *args)
    with pytest.raises(CryptoError):
        crypto.verify_login(BOB.public, sig, nonce, "bupati")
    with pytest.raises(CryptoError):
        crypto.sign_login(ALICE, bytes(16), "bupati")


def test_enrollment_proof_of_possession() -> None:
    sig = crypto.sign_enroll(ALICE, "123-456", "bupati")
    crypto.verify_enroll(ALICE.public, sig, "123-456", "bupati")
    ALICE.public.verify(sig, "siaga/v1/enroll", b"123-456", b"bupati", ALICE.public.sign_pub,
                        ALICE.public.dh_pub)
    with pytest.raises(CryptoError):
        crypto.verify_enroll(ALICE.public, sig, "123-457", "bupati")
    # Mallory cannot enroll Alice's signing key with her own key-agreement key.
    with pytest.raises(CryptoError):
        crypto.verify_enroll(DevicePublic(ALICE.public.sign_pub, MALLORY.public.dh_pub), sig,
                             "123-456", "bupati")


# ---- sealing -------------------------------------------------------------------------------


def test_seal_round_trip() -> None:
    for plaintext in (b"", b"x", bytes(1000)):
        assert open_sealed(BOB, seal_to(BOB.public, plaintext, CTX), CTX) == plaintext


def test_sealed_layout_is_as_documented() -> None:
    """Decrypt by hand from the documented layout and KDF: what a browser would do."""
    blob = seal_to(BOB.public, b"secret", CTX)
    assert len(blob) == 1 + 32 + 12 + len(b"secret") + 16 == crypto.SEAL_OVERHEAD + 6
    assert blob[0] == 1
    eph_pub, nonce, body = blob[1:33], blob[33:45], blob[45:]
    bob_dh = X25519PrivateKey.from_private_bytes(BOB.to_bytes()[32:])
    shared = bob_dh.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    key = hkdf(shared, eph_pub + BOB.public.dh_pub, b"siaga/v1/seal" + CTX)
    assert AESGCM(key).decrypt(nonce, body, CTX) == b"secret"


def test_each_seal_is_fresh() -> None:
    assert seal_to(BOB.public, b"x", CTX) != seal_to(BOB.public, b"x", CTX)


def test_sealed_to_another_device_does_not_open() -> None:
    blob = seal_to(BOB.public, b"secret", CTX)
    with pytest.raises(CryptoError) as info:
        open_sealed(MALLORY, blob, CTX)
    assert info.value.code == ErrorCode.DECRYPT_FAILED


@pytest.mark.parametrize("context", [b"", b"test-contexT", CTX + b"\0"])
def test_sealed_with_another_context_does_not_open(context: bytes) -> None:
    with pytest.raises(CryptoError):
        open_sealed(BOB, seal_to(BOB.public, b"secret", CTX), context)


@given(st.integers(min_value=0))
def test_any_bit_flip_of_a_sealed_blob_fails(bit: int) -> None:
    blob = seal_to(BOB.public, b"secret group key", CTX)
    with pytest.raises(CryptoError) as info:
        open_sealed(BOB, flip(blob, bit), CTX)
    assert info.value.code == ErrorCode.DECRYPT_FAILED


@given(st.binary(max_size=200))
def test_garbage_blobs_fail_cleanly(blob: bytes) -> None:
    with pytest.raises(CryptoError):
        open_sealed(BOB, blob, CTX)


def test_truncated_or_bad_version_blobs_fail() -> None:
    blob = seal_to(BOB.public, b"secret", CTX)
    for cut in range(len(blob)):
        with pytest.raises(CryptoError):
            open_sealed(BOB, blob[:cut], CTX)
    with pytest.raises(CryptoError):
        open_sealed(BOB, b"\x02" + blob[1:], CTX)
    with pytest.raises(CryptoError):  # a low-order ephemeral key
        open_sealed(BOB, blob[:1] + bytes(32) + blob[33:], CTX)


def test_sealing_to_a_degenerate_key_fails() -> None:
    with pytest.raises(CryptoError):
        seal_to(DevicePublic(ALICE.public.sign_pub, bytes(32)), b"x", CTX)


def test_randomness_comes_from_new_nonce(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crypto, "new_nonce", lambda size=32: bytes([7]) * size)
    assert seal_to(BOB.public, b"x", CTX) == seal_to(BOB.public, b"x", CTX)
    assert DeviceKeys.generate().to_bytes() == bytes([7]) * 64
    assert GroupKey.generate("tg", 1).secret == bytes([7]) * 32


# ---- group keys ----------------------------------------------------------------------------


def test_group_key_round_trip() -> None:
    gk = GroupKey.generate("kabupaten", 3)
    assert len(gk.secret) == 32
    assert open_group_key(BOB, "kabupaten", 3, seal_group_key(gk, BOB.public)) == gk


def test_group_key_context_is_framed() -> None:
    assert crypto.group_key_context("tg", 258) == framed(b"siaga/v1/group-key", b"tg",
                                                         b"\0\0\1\2")


@pytest.mark.parametrize(("talkgroup", "epoch"), [("kabupaten", 4), ("provinsi", 3),
                                                   ("kabupate", 3)])
def test_sealed_group_key_cannot_be_relabelled(talkgroup: str, epoch: int) -> None:
    blob = seal_group_key(GroupKey.generate("kabupaten", 3), BOB.public)
    with pytest.raises(CryptoError):
        open_group_key(BOB, talkgroup, epoch, blob)
    with pytest.raises(CryptoError):
        open_group_key(MALLORY, "kabupaten", 3, blob)


def test_sealed_group_key_of_wrong_size_is_rejected() -> None:
    blob = seal_to(BOB.public, bytes(31), crypto.group_key_context("tg", 1))
    with pytest.raises(CryptoError):
        open_group_key(BOB, "tg", 1, blob)


@pytest.mark.parametrize(("talkgroup", "epoch", "size"), [("", 1, 32), ("tg", -1, 32),
                                                          ("tg", 2**32, 32), ("tg", 1, 16)])
def test_invalid_group_keys_are_local_misuse(talkgroup: str, epoch: int, size: int) -> None:
    with pytest.raises(LocalProtocolError):
        GroupKey(talkgroup, epoch, bytes(size))


# ---- audio frames --------------------------------------------------------------------------


def cipher(gk: GroupKey | None = None, nonce: bytes = bytes(16),
           device: str | None = None) -> StreamCipher:
    return stream_key(gk or group(), nonce, device or ALICE.public.device_id)


def test_frame_round_trip_through_the_wire_codec() -> None:
    sender, receiver = cipher(), cipher()
    for seq in range(5):
        frame = wire.AudioFrame(7, 42, seq, seq * 20, b"", wire.FLAG_SEALED)
        sealed = wire.AudioFrame(7, 42, seq, seq * 20,
                                 sender.seal(frame.header(), b"opus %d" % seq), wire.FLAG_SEALED)
        got = wire.decode_audio(sealed.encode())
        assert receiver.open(got.header(), got.payload) == b"opus %d" % seq


def test_frame_layout_is_as_documented() -> None:
    """Key = HKDF(secret, "", frame(audio, tg, epoch, nonce, device)); nonce = 0000|stream|seq."""
    gk, nonce, device = group(), bytes(range(16)), ALICE.public.device_id
    hdr = header(stream=0x01020304, seq=0x05060708)
    sealed = cipher(gk, nonce, device).seal(hdr, b"opus")
    assert len(sealed) == 4 + 16
    key = hkdf(gk.secret, b"", framed(b"siaga/v1/audio", b"kabupaten", b"\0\0\0\1", nonce,
                                      device.encode()))
    gcm_nonce = bytes(4) + bytes([1, 2, 3, 4, 5, 6, 7, 8])
    assert AESGCM(key).decrypt(gcm_nonce, sealed, hdr) == b"opus"


@given(st.integers(min_value=0))
def test_any_bit_flip_of_header_or_payload_fails(bit: int) -> None:
    hdr = header(seq=9)
    frame = hdr + cipher().seal(hdr, b"twenty ms of speech")
    tampered = flip(frame, bit)
    with pytest.raises(CryptoError) as info:
        cipher().open(tampered[:16], tampered[16:])
    assert info.value.code == ErrorCode.DECRYPT_FAILED


@pytest.mark.parametrize("moved", [
    header(stream=43, seq=3),  # into another stream
    header(talkgroup=8, seq=3),  # onto another talkgroup
    header(seq=4),  # renumbered
    header(seq=3, flags=wire.FLAG_SEALED | wire.FLAG_END),  # marked as last
    header(seq=3, timestamp=1),
])
def test_frame_moved_or_reordered_fails(moved: bytes) -> None:
    sealed = cipher().seal(header(seq=3), b"opus")
    cipher().open(header(seq=3), sealed)
    with pytest.raises(CryptoError):
        cipher().open(moved, sealed)


def test_frame_under_another_stream_key_fails() -> None:
    sealed = cipher().seal(header(), b"opus")
    others = [
        cipher(nonce=bytes(15) + b"\1"),  # another transmission
        cipher(device=BOB.public.device_id),  # claimed by another sender
        cipher(GroupKey("provinsi", 1, group().secret)),  # another talkgroup, same secret
        cipher(GroupKey("kabupaten", 2, group().secret)),
    ]
    for other in others:
        with pytest.raises(CryptoError):
            other.open(header(), sealed)


def test_key_rotation_locks_out_the_previous_epoch() -> None:
    """A member who only holds epoch 1 cannot hear what is sent under epoch 2."""
    old, new = GroupKey.generate("kabupaten", 1), GroupKey.generate("kabupaten", 2)
    nonce, device = crypto.new_nonce(16), ALICE.public.device_id
    sealed = stream_key(new, nonce, device).seal(header(), b"after the cut")
    assert stream_key(new, nonce, device).open(header(), sealed) == b"after the cut"
    with pytest.raises(CryptoError):
        stream_key(old, nonce, device).open(header(), sealed)
    with pytest.raises(CryptoError):  # nor can they open the new key, sealed to others
        open_group_key(MALLORY, "kabupaten", 2, seal_group_key(new, BOB.public))


def test_unsealed_or_short_frames_are_rejected() -> None:
    sealed = cipher().seal(header(), b"opus")
    with pytest.raises(CryptoError):
        cipher().open(header(flags=0), sealed)
    with pytest.raises(CryptoError):
        cipher().open(header()[:15], sealed)
    with pytest.raises(CryptoError):
        cipher().open(header(), sealed[:15])
    with pytest.raises(LocalProtocolError):
        cipher().seal(header(flags=0), b"opus")
    with pytest.raises(LocalProtocolError):
        cipher().seal(header(), bytes(wire.MAX_AUDIO_PAYLOAD - 15))
    assert len(cipher().seal(header(), bytes(wire.MAX_AUDIO_PAYLOAD - 16))) == 1500
    with pytest.raises(LocalProtocolError):
        stream_key(group(), bytes(15), "d")
    with pytest.raises(LocalProtocolError):
        StreamCipher(bytes(16))


# ---- replay window -------------------------------------------------------------------------


def replayed(window: ReplayWindow, seq: int) -> bool:
    try:
        window.check(seq)
    except CryptoError as exc:
        assert exc.code == ErrorCode.REPLAYED
        return True
    return False


def test_replay_window_accepts_in_order_and_reordered_frames() -> None:
    window = ReplayWindow()
    assert not any(replayed(window, seq) for seq in [0, 1, 2, 5, 4, 3, 10, 6, 300, 100])


def test_replay_window_rejects_duplicates_and_old_frames() -> None:
    window = ReplayWindow(size=8)
    for seq in [5, 3, 9]:
        window.check(seq)
    assert replayed(window, 5)
    assert replayed(window, 3)
    assert replayed(window, 9)
    assert replayed(window, 1)  # 9 - 1 = 8: just outside the window
    assert not replayed(window, 2)  # just inside
    assert replayed(window, 2)
    window.check(2**32 - 1)  # a huge jump does not build a huge mask
    assert replayed(window, 2**32 - 1)
    assert replayed(window, 2**32 - 9)
    assert not replayed(window, 2**32 - 8)


def test_replay_window_starts_anywhere_and_needs_a_size() -> None:
    window = ReplayWindow()
    window.check(1000)
    assert not replayed(window, 999)
    assert replayed(window, 1000 - 256)
    with pytest.raises(LocalProtocolError):
        ReplayWindow(0)


@given(st.lists(st.integers(min_value=0, max_value=600), max_size=200))
def test_replay_window_matches_a_model(seqs: list[int]) -> None:
    window, accepted, top = ReplayWindow(size=32), set[int](), -1
    for seq in seqs:
        expect_ok = seq not in accepted and (seq > top or top - seq < 32)
        assert replayed(window, seq) is not expect_ok
        if expect_ok:
            accepted.add(seq)
            top = max(top, seq)


# ---- stream envelope -----------------------------------------------------------------------


def envelope(keys: DeviceKeys = ALICE, talkgroup: str = "kabupaten", epoch: int = 1,
             started_at: float = T0, nonce: bytes | None = None) -> str:
    return make_envelope(keys, talkgroup, epoch, started_at, nonce=nonce)


def test_envelope_round_trip_and_size() -> None:
    text = envelope(nonce=bytes(range(16)))
    assert len(text) < 400 < wire.MAX_E2E_BYTES
    request = wire.FloorRequest(talkgroup="kabupaten", e2e=text)
    assert wire.decode_client(wire.encode(request)) == request
    env = open_envelope(text, ALICE.public, talkgroup="kabupaten", now=T0 + 5)
    assert env == crypto.Envelope("kabupaten", 1, ALICE.public.device_id, bytes(range(16)), T0)
    assert peek_envelope(text) == env
    longest = envelope(talkgroup="t" * 64, epoch=2**32 - 1)
    assert len(longest) < 400


def test_envelope_layout_is_as_documented() -> None:
    nonce = bytes(range(16))
    raw = b64d(envelope(nonce=nonce, epoch=3))
    device = ALICE.public.device_id.encode()
    body = (b"\1" + nonce + b"\0\0\0\3" + struct.pack(">d", T0) + b"\x09kabupaten"
            + bytes([len(device)]) + device)
    assert raw[:-64] == body
    ALICE.public.verify(raw[-64:], "siaga/v1/stream", body)


def test_each_envelope_has_a_fresh_nonce() -> None:
    assert peek_envelope(envelope()).nonce != peek_envelope(envelope()).nonce


def test_envelope_signed_by_another_device_is_rejected() -> None:
    forged = envelope(keys=MALLORY)
    with pytest.raises(CryptoError) as info:  # Mallory's envelope presented as Alice's
        open_envelope(forged, ALICE.public, talkgroup="kabupaten", now=T0)
    assert info.value.code == ErrorCode.BAD_SIGNATURE
    # Mallory's signature over a body naming Alice's device.
    raw = b64d(envelope())
    body = raw[:-64]
    forged = b64e(body + MALLORY.sign(crypto.ENVELOPE, body))
    with pytest.raises(CryptoError) as info:
        open_envelope(forged, ALICE.public, talkgroup="kabupaten", now=T0)
    assert info.value.code == ErrorCode.BAD_SIGNATURE


def test_envelope_naming_another_device_is_rejected() -> None:
    """Alice signs an envelope that claims Bob's device: her key must not vouch for his id."""
    body = b64d(envelope())[:-64].replace(ALICE.public.device_id.encode(),
                                          BOB.public.device_id.encode())
    claimed = b64e(body + ALICE.sign(crypto.ENVELOPE, body))
    assert peek_envelope(claimed).device_id == BOB.public.device_id
    for pub in (ALICE.public, BOB.public):
        with pytest.raises(CryptoError) as info:
            open_envelope(claimed, pub, talkgroup="kabupaten", now=T0)
        assert info.value.code == ErrorCode.BAD_SIGNATURE


def test_envelope_for_another_talkgroup_is_rejected() -> None:
    with pytest.raises(CryptoError) as info:
        open_envelope(envelope(), ALICE.public, talkgroup="provinsi", now=T0)
    assert info.value.code == ErrorCode.BAD_SIGNATURE


@pytest.mark.parametrize("now", [T0 + 30.001, T0 - 31, float("nan"), float("inf")])
def test_stale_envelope_is_rejected(now: float) -> None:
    with pytest.raises(CryptoError) as info:
        open_envelope(envelope(), ALICE.public, talkgroup="kabupaten", now=now)
    assert info.value.code == ErrorCode.REPLAYED


def test_envelope_age_limit_is_inclusive_and_adjustable() -> None:
    open_envelope(envelope(), ALICE.public, talkgroup="kabupaten", now=T0 + 30)
    open_envelope(envelope(), ALICE.public, talkgroup="kabupaten", now=T0 + 100, max_age=120)


def test_replayed_envelope_is_rejected() -> None:
    seen: set[bytes] = set()
    text = envelope()
    env = open_envelope(text, ALICE.public, talkgroup="kabupaten", now=T0, seen=seen)
    assert seen == {env.nonce}
    with pytest.raises(CryptoError) as info:
        open_envelope(text, ALICE.public, talkgroup="kabupaten", now=T0 + 1, seen=seen)
    assert info.value.code == ErrorCode.REPLAYED
    # a rejected envelope is not remembered
    with pytest.raises(CryptoError):
        open_envelope(envelope(keys=MALLORY), ALICE.public, talkgroup="kabupaten", now=T0,
                      seen=seen)
    assert seen == {env.nonce}


@given(st.integers(min_value=0))
def test_any_bit_flip_of_an_envelope_fails(bit: int) -> None:
    raw = flip(b64d(envelope()), bit)
    with pytest.raises(CryptoError):
        open_envelope(b64e(raw), ALICE.public, talkgroup="kabupaten", now=T0)


@given(st.text(max_size=400) | st.binary(max_size=300).map(b64e))
def test_garbage_envelopes_raise_only_crypto_errors(text: str) -> None:
    with pytest.raises(CryptoError):
        open_envelope(text, ALICE.public, talkgroup="kabupaten", now=T0)
    try:
        peek_envelope(text)
    except CryptoError as exc:
        assert exc.code == ErrorCode.BAD_SIGNATURE


def test_malformed_envelopes_are_rejected() -> None:
    raw = b64d(envelope())
    device = ALICE.public.device_id.encode()
    cases = [
        "A" * (wire.MAX_E2E_BYTES + 4),  # too long
        b64e(b"\2" + raw[1:]),  # unknown version
        b64e(raw + b"\0"),  # trailing byte
        b64e(raw[:29] + b"\xff" + raw[30:]),  # talkgroup length past the end
        b64e(raw[:29] + b"\0" + raw[30 + 9:]),  # empty talkgroup
        b64e(raw[:29 + 10] + b"\0" + raw[29 + 11 + len(device):]),  # empty device id
        b64e(raw[:29] + b"\x09\xff" + raw[31:]),  # talkgroup not UTF-8
        b64e(raw[:21] + struct.pack(">d", float("nan")) + raw[29:]),  # started_at NaN
    ]
    for text in cases:
        with pytest.raises(CryptoError) as info:
            open_envelope(text, ALICE.public, talkgroup="kabupaten", now=T0)
        assert info.value.code == ErrorCode.BAD_SIGNATURE, text


def test_envelope_arguments_are_checked_locally() -> None:
    makers: list[Callable[[], str]] = [
        lambda: envelope(nonce=bytes(15)), lambda: envelope(talkgroup=""),
        lambda: envelope(talkgroup="t" * 256), lambda: envelope(epoch=-1),
        lambda: envelope(epoch=2**32), lambda: envelope(started_at=float("nan"))]
    for make in makers:
        with pytest.raises(LocalProtocolError):
            make()


def test_whole_receive_path() -> None:
    """Talker: envelope + frames. Listener: directory lookup, envelope, group key, frames."""
    gk = GroupKey.generate("kabupaten", 5)
    directory = {k.public.device_id: k.public for k in (ALICE, BOB)}
    # the admin's key keeper seals the group key to each member device
    alice_gk = open_group_key(ALICE, "kabupaten", 5, seal_group_key(gk, ALICE.public))
    bob_gk = open_group_key(BOB, "kabupaten", 5, seal_group_key(gk, BOB.public))

    e2e = make_envelope(ALICE, "kabupaten", alice_gk.epoch, T0)
    talker = stream_key(alice_gk, peek_envelope(e2e).nonce, ALICE.public.device_id)
    frames = [header(seq=s) + talker.seal(header(seq=s), b"frame %d" % s) for s in range(4)]

    env = open_envelope(e2e, directory[peek_envelope(e2e).device_id], talkgroup="kabupaten",
                        now=T0 + 0.2, seen=set())
    assert env.epoch == bob_gk.epoch
    listener, window = stream_key(bob_gk, env.nonce, env.device_id), ReplayWindow()
    heard = []
    for frame in [frames[0], frames[2], frames[1], frames[1], frames[3]]:
        try:
            payload = listener.open(frame[:16], frame[16:])
            window.check(wire.decode_audio(frame).seq)
        except CryptoError:
            continue
        heard.append(payload)
    assert heard == [b"frame 0", b"frame 2", b"frame 1", b"frame 3"]


def test_exports_exist() -> None:
    for name in crypto.__all__:
        assert hasattr(crypto, name), name


def test_direct_message_opens_only_for_its_device_from_its_sender() -> None:
    blob = seal_direct("msg-000001", ALICE, BOB.public, b"Hubungi saya")
    assert open_direct(BOB, "msg-000001", ALICE.public, blob) == b"Hubungi saya"
    for keys, mid, sender in ((MALLORY, "msg-000001", ALICE.public),  # another device
                              (BOB, "msg-000002", ALICE.public),  # another id
                              (BOB, "msg-000001", MALLORY.public)):  # claimed by another
        with pytest.raises(CryptoError):
            open_direct(keys, mid, sender, blob)
    # Mallory cannot forge Alice's message to Bob: she can seal, but not sign as Alice.
    forged = seal_direct("msg-000001", MALLORY, BOB.public, b"Evakuasi palsu")
    with pytest.raises(CryptoError):
        open_direct(BOB, "msg-000001", ALICE.public, forged)
