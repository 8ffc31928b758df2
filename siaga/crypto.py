"""Device identity and end-to-end encryption for Siaga, version 1.

Only primitives a browser's WebCrypto also offers are used, so a web console can interoperate:
Ed25519 (signatures), X25519 (key agreement), HKDF-SHA256 and AES-256-GCM. Every signature and
every key derivation is domain-separated by an ASCII label that carries the version
(``siaga/v1/...``), so a signature or key made for one purpose is useless for any other.

The module is sans-I/O: no files, sockets or clocks. Time comes in as ``now``; the only source
of randomness is :func:`new_nonce`, which tests may replace. Every failure to verify, open or
parse foreign input raises :class:`CryptoError`; exceptions of ``cryptography`` never escape.
``docs/security.md`` describes the design, the formats and the threat model.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .errors import CryptoError, ErrorCode, LocalProtocolError
from .wire import FLAG_SEALED, HEADER_SIZE, MAX_AUDIO_PAYLOAD, MAX_E2E_BYTES, U32

# ---- labels (domain separation; never change a published one, add a v2 instead) -----------

LOGIN: Final = "siaga/v1/login"
ENROLL: Final = "siaga/v1/enroll"
ENVELOPE: Final = "siaga/v1/stream"
DEVICE_ID: Final = b"siaga/v1/device-id"
FINGERPRINT: Final = b"siaga/v1/fingerprint"
SEAL: Final = b"siaga/v1/seal"
GROUP_KEY: Final = "siaga/v1/group-key"
KEY_GRANT: Final = "siaga/v1/key-grant"
MESSAGE: Final = "siaga/v1/message"
MESSAGE_KEY: Final = "siaga/v1/message-key"
DIRECT: Final = "siaga/v1/direct"
AUDIO: Final = "siaga/v1/audio"

# ---- sizes ---------------------------------------------------------------------------------

KEY_SIZE: Final = 32  # raw Ed25519 / X25519 public and private keys, AES-256 and group keys
SIGNATURE_SIZE: Final = 64
GCM_NONCE_SIZE: Final = 12
GCM_TAG_SIZE: Final = 16
LOGIN_NONCE_SIZE: Final = 32
ENVELOPE_NONCE_SIZE: Final = 16
SEAL_VERSION: Final = 1
ENVELOPE_VERSION: Final = 1
#: What sealing adds to a plaintext: version, ephemeral X25519 public key, GCM nonce and tag.
SEAL_OVERHEAD: Final = 1 + KEY_SIZE + GCM_NONCE_SIZE + GCM_TAG_SIZE

_ENVELOPE_HEAD: Final = struct.Struct(">B16sId")  # version, nonce, epoch, started_at
_B64URL: Final = re.compile(r"[A-Za-z0-9_-]*")


def new_nonce(size: int = LOGIN_NONCE_SIZE) -> bytes:
    """Fresh random bytes from the OS. Every random key and nonce here comes from this call."""
    return os.urandom(size)


def b64e(data: bytes) -> str:
    """Base64url without padding: what keys, signatures and envelopes look like on the wire."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64d(text: str) -> bytes:
    """Strict inverse of :func:`b64e`; anything else (padding, stray bits) is a CryptoError.

    Strictness keeps one canonical text per value, so encoded forms can be compared or used as
    keys without an attacker minting look-alikes.
    """
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise CryptoError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64e(data) != text:
        raise CryptoError("not canonical base64url")
    return data


def _frame(label: str, parts: Iterable[bytes]) -> bytes:
    """``label NUL (len32 part)*``: one unambiguous byte string for signing or key derivation.

    Length prefixes mean no two different part lists give the same bytes, so a signature over
    ``("ab", "c")`` can never pass for one over ``("a", "bc")``.
    """
    if not label.isascii() or "\0" in label:
        raise LocalProtocolError(f"label {label!r} must be ASCII without NUL")
    out = [label.encode("ascii"), b"\0"]
    for part in parts:  # a part over 4 GiB cannot occur; to_bytes would raise OverflowError
        out.append(len(part).to_bytes(4, "big"))
        out.append(bytes(part))
    return b"".join(out)


def _u32(value: int) -> bytes:
    if not 0 <= value <= U32:
        raise LocalProtocolError(f"{value} does not fit in 32 bits")
    return value.to_bytes(4, "big")


def _hkdf(secret: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=salt, info=info).derive(secret)


def _base32(digest: bytes) -> str:
    return base64.b32encode(digest).decode("ascii").rstrip("=").lower()


# ---- identities ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DevicePublic:
    """What the server and other devices know about a device: its two raw public keys."""

    sign_pub: bytes
    dh_pub: bytes

    def __post_init__(self) -> None:
        if len(self.sign_pub) != KEY_SIZE or len(self.dh_pub) != KEY_SIZE:
            raise CryptoError("a device public key must be 32 bytes", ErrorCode.BAD_SIGNATURE)

    @property
    def device_id(self) -> str:
        """A stable id derived from both keys, so an id cannot be claimed with other keys.

        ``d`` + 20 base32 characters (100 bits): a valid wire ``Ident``.
        """
        digest = hashlib.sha256(DEVICE_ID + self.sign_pub + self.dh_pub).digest()
        return "d" + _base32(digest)[:20]

    def verify(self, signature: bytes, label: str, *parts: bytes) -> None:
        """Check a signature made by :meth:`DeviceKeys.sign` with the same label and parts."""
        message = _frame(label, parts)
        try:
            if len(signature) != SIGNATURE_SIZE:
                raise InvalidSignature
            Ed25519PublicKey.from_public_bytes(self.sign_pub).verify(signature, message)
        except (InvalidSignature, ValueError) as exc:
            raise CryptoError("signature does not verify", ErrorCode.BAD_SIGNATURE) from exc

    def to_json(self) -> dict[str, str]:
        return {"sign_pub": b64e(self.sign_pub), "dh_pub": b64e(self.dh_pub)}

    @classmethod
    def from_json(cls, data: object) -> DevicePublic:
        """Parse :meth:`to_json` output; foreign input, so anything malformed is a CryptoError."""
        if not isinstance(data, Mapping):
            raise CryptoError("device keys must be an object", ErrorCode.BAD_SIGNATURE)
        sign_pub, dh_pub = data.get("sign_pub"), data.get("dh_pub")
        if not isinstance(sign_pub, str) or not isinstance(dh_pub, str):
            raise CryptoError("device keys need sign_pub and dh_pub", ErrorCode.BAD_SIGNATURE)
        try:
            return cls(b64d(sign_pub), b64d(dh_pub))
        except CryptoError as exc:
            raise CryptoError(exc.message, ErrorCode.BAD_SIGNATURE) from exc


def fingerprint(pub: DevicePublic) -> str:
    """16 base32 characters in groups of 4 (80 bits), for admins to compare out of band."""
    digest = hashlib.sha256(FINGERPRINT + pub.sign_pub + pub.dh_pub).digest()
    text = _base32(digest)[:16].upper()
    return "-".join(text[i:i + 4] for i in range(0, 16, 4))


class DeviceKeys:
    """A device's private keys: generated on the device and never sent anywhere."""

    __slots__ = ("_dh", "_public", "_seed", "_sign")

    def __init__(self, seed: bytes, dh_private: bytes) -> None:
        if len(seed) != KEY_SIZE or len(dh_private) != KEY_SIZE:
            raise CryptoError("device private keys must be 32 bytes each")
        self._seed = bytes(seed)
        self._sign = Ed25519PrivateKey.from_private_bytes(self._seed)
        self._dh = X25519PrivateKey.from_private_bytes(bytes(dh_private))
        self._public = DevicePublic(
            self._sign.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
            self._dh.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
        )

    @classmethod
    def generate(cls) -> DeviceKeys:
        return cls(new_nonce(KEY_SIZE), new_nonce(KEY_SIZE))

    @property
    def public(self) -> DevicePublic:
        return self._public

    def sign(self, label: str, *parts: bytes) -> bytes:
        """Ed25519 over the framed label and parts (see ``_frame``)."""
        return self._sign.sign(_frame(label, parts))

    def to_bytes(self) -> bytes:
        """64 bytes: Ed25519 seed + X25519 private key. Store only in a file readable by owner."""
        return self._seed + self._dh.private_bytes_raw()

    @classmethod
    def from_bytes(cls, data: bytes) -> DeviceKeys:
        if len(data) != 2 * KEY_SIZE:
            raise CryptoError(f"device key file must be 64 bytes, not {len(data)}")
        return cls(data[:KEY_SIZE], data[KEY_SIZE:])

    def _agree(self, peer: bytes) -> bytes:
        return self._dh.exchange(X25519PublicKey.from_public_bytes(peer))

    def __repr__(self) -> str:  # never print private keys
        return f"DeviceKeys({self._public.device_id})"


# ---- login and enrollment ------------------------------------------------------------------


def login_parts(nonce: bytes, member: str, device_id: str) -> tuple[bytes, ...]:
    """What a device signs to log in: the server's per-connection nonce, who, and which device."""
    if len(nonce) != LOGIN_NONCE_SIZE:
        raise CryptoError("login nonce must be 32 bytes", ErrorCode.BAD_SIGNATURE)
    return (nonce, member.encode(), device_id.encode())


def sign_login(keys: DeviceKeys, nonce: bytes, member: str) -> bytes:
    return keys.sign(LOGIN, *login_parts(nonce, member, keys.public.device_id))


def verify_login(pub: DevicePublic, signature: bytes, nonce: bytes, member: str) -> None:
    """Raise CryptoError(BAD_SIGNATURE) unless ``pub``'s device signed this login challenge."""
    pub.verify(signature, LOGIN, *login_parts(nonce, member, pub.device_id))


def enroll_parts(code: str, member: str, pub: DevicePublic) -> tuple[bytes, ...]:
    """What a new device signs at enrollment: the one-time code, the member and both keys."""
    return (code.encode(), member.encode(), pub.sign_pub, pub.dh_pub)


def sign_enroll(keys: DeviceKeys, code: str, member: str) -> bytes:
    """Proof of possession of the signing key, bound to the one-time code it answers."""
    return keys.sign(ENROLL, *enroll_parts(code, member, keys.public))


def verify_enroll(pub: DevicePublic, signature: bytes, code: str, member: str) -> None:
    pub.verify(signature, ENROLL, *enroll_parts(code, member, pub))


# ---- sealing to a device (ECIES) -----------------------------------------------------------


def _seal_key(shared: bytes, eph_pub: bytes, dh_pub: bytes, context: bytes) -> AESGCM:
    return AESGCM(_hkdf(shared, eph_pub + dh_pub, SEAL + context))


def seal_to(recipient: DevicePublic, plaintext: bytes, context: bytes) -> bytes:
    """Encrypt for one device only; ``context`` says what the blob is and must match to open.

    Layout: ``01 | ephemeral X25519 public (32) | GCM nonce (12) | ciphertext + tag (16)``.
    """
    eph = X25519PrivateKey.from_private_bytes(new_nonce(KEY_SIZE))
    eph_pub = eph.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    try:
        shared = eph.exchange(X25519PublicKey.from_public_bytes(recipient.dh_pub))
    except ValueError as exc:  # a low-order point: the recipient key is not a real key
        raise CryptoError("recipient key is invalid", ErrorCode.BAD_SIGNATURE) from exc
    nonce = new_nonce(GCM_NONCE_SIZE)
    sealed = _seal_key(shared, eph_pub, recipient.dh_pub, context).encrypt(nonce, plaintext,
                                                                            context)
    return bytes([SEAL_VERSION]) + eph_pub + nonce + sealed


def open_sealed(keys: DeviceKeys, blob: bytes, context: bytes) -> bytes:
    """Inverse of :func:`seal_to`. Any failure is the same CryptoError(DECRYPT_FAILED)."""
    if len(blob) < SEAL_OVERHEAD or blob[0] != SEAL_VERSION:
        raise CryptoError("sealed blob is malformed", ErrorCode.DECRYPT_FAILED)
    eph_pub = blob[1:1 + KEY_SIZE]
    nonce = blob[1 + KEY_SIZE:1 + KEY_SIZE + GCM_NONCE_SIZE]
    try:
        shared = keys._agree(eph_pub)
        aead = _seal_key(shared, eph_pub, keys.public.dh_pub, context)
        return aead.decrypt(nonce, blob[1 + KEY_SIZE + GCM_NONCE_SIZE:], context)
    except (InvalidTag, ValueError) as exc:
        raise CryptoError("sealed blob does not open", ErrorCode.DECRYPT_FAILED) from exc


# ---- group keys ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupKey:
    """The shared secret of one talkgroup for one epoch; a new epoch after each membership cut."""

    talkgroup: str
    epoch: int
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_SIZE or not self.talkgroup:
            raise LocalProtocolError("a group key needs a talkgroup and a 32-byte secret")
        _u32(self.epoch)

    @classmethod
    def generate(cls, talkgroup: str, epoch: int) -> GroupKey:
        return cls(talkgroup, epoch, new_nonce(KEY_SIZE))


def group_key_context(talkgroup: str, epoch: int) -> bytes:
    """Binds a sealed group key to its talkgroup and epoch, so a copy cannot be relabelled."""
    return _frame(GROUP_KEY, (talkgroup.encode(), _u32(epoch)))


def seal_group_key(gk: GroupKey, recipient: DevicePublic) -> bytes:
    return seal_to(recipient, gk.secret, group_key_context(gk.talkgroup, gk.epoch))


def sign_sealed_key(keeper: DeviceKeys, talkgroup: str, epoch: int, device_id: str,
                    sealed: bytes) -> bytes:
    """The key keeper vouches for one sealed copy: a device accepts group keys only from the
    keeper it trusts, so a server cannot slip in a key of its own making."""
    return keeper.sign(KEY_GRANT, talkgroup.encode(), _u32(epoch), device_id.encode(), sealed)


def verify_sealed_key(keeper: DevicePublic, signature: bytes, talkgroup: str, epoch: int,
                      device_id: str, sealed: bytes) -> None:
    keeper.verify(signature, KEY_GRANT, talkgroup.encode(), _u32(epoch), device_id.encode(),
                  sealed)


def _message_parts(gk: GroupKey, message_id: str, sender_device: str) -> tuple[bytes, ...]:
    return (gk.talkgroup.encode(), _u32(gk.epoch), message_id.encode(), sender_device.encode())


def seal_message(gk: GroupKey, message_id: str, sender: DeviceKeys, payload: bytes) -> bytes:
    """A talkgroup message, signed by its sender then encrypted under the group key.

    The signature inside the ciphertext proves the sender to members without showing the
    server who signed; the associated data binds talkgroup, epoch, id and sender device, so
    the server cannot move a message or re-attribute it.
    """
    parts = _message_parts(gk, message_id, sender.public.device_id)
    signature = sender.sign(MESSAGE, *parts, payload)
    key = _hkdf(gk.secret, b"", _frame(MESSAGE_KEY, parts))
    nonce = new_nonce(GCM_NONCE_SIZE)
    return nonce + AESGCM(key).encrypt(nonce, signature + payload, _frame(MESSAGE, parts))


def open_message(gk: GroupKey, message_id: str, sender: DevicePublic, blob: bytes) -> bytes:
    parts = _message_parts(gk, message_id, sender.device_id)
    key = _hkdf(gk.secret, b"", _frame(MESSAGE_KEY, parts))
    try:
        plain = AESGCM(key).decrypt(blob[:GCM_NONCE_SIZE], blob[GCM_NONCE_SIZE:],
                                    _frame(MESSAGE, parts))
    except (InvalidTag, ValueError) as exc:
        raise CryptoError("sealed message does not open", ErrorCode.DECRYPT_FAILED) from exc
    signature, payload = plain[:SIGNATURE_SIZE], plain[SIGNATURE_SIZE:]
    sender.verify(signature, MESSAGE, *parts, payload)
    return payload


def _direct_parts(message_id: str, sender_device: str,
                  recipient_device: str) -> tuple[bytes, ...]:
    return (message_id.encode(), sender_device.encode(), recipient_device.encode())


def seal_direct(message_id: str, sender: DeviceKeys, recipient: DevicePublic,
                payload: bytes) -> bytes:
    """A one-to-one message for one of the recipient's devices: signed by the sender, then
    sealed to that device (:func:`seal_to`). Id, sender and recipient devices are bound in, so
    the server can neither redirect a copy to another device nor re-attribute it."""
    parts = _direct_parts(message_id, sender.public.device_id, recipient.device_id)
    signature = sender.sign(DIRECT, *parts, payload)
    return seal_to(recipient, signature + payload, _frame(DIRECT, parts))


def open_direct(keys: DeviceKeys, message_id: str, sender: DevicePublic, blob: bytes) -> bytes:
    parts = _direct_parts(message_id, sender.device_id, keys.public.device_id)
    plain = open_sealed(keys, blob, _frame(DIRECT, parts))
    signature, payload = plain[:SIGNATURE_SIZE], plain[SIGNATURE_SIZE:]
    sender.verify(signature, DIRECT, *parts, payload)
    return payload


def open_group_key(keys: DeviceKeys, talkgroup: str, epoch: int, blob: bytes) -> GroupKey:
    secret = open_sealed(keys, blob, group_key_context(talkgroup, epoch))
    if len(secret) != KEY_SIZE:
        raise CryptoError("sealed group key has the wrong size", ErrorCode.DECRYPT_FAILED)
    return GroupKey(talkgroup, epoch, secret)


# ---- audio frames --------------------------------------------------------------------------


class StreamCipher:
    """AES-256-GCM for the frames of one transmission; the frame header is associated data.

    The nonce is ``0000 | stream | seq`` from the header. The key is unique to one
    transmission (one envelope nonce) and ``seq`` only grows within it, so no nonce repeats.
    """

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise LocalProtocolError("a stream key must be 32 bytes")
        self._aead = AESGCM(key)

    @staticmethod
    def _nonce(header: bytes) -> bytes:
        return bytes(4) + header[4:12]

    def seal(self, header: bytes, plaintext: bytes) -> bytes:
        """Encrypt one Opus packet; ``header`` is the frame's 16 bytes with FLAG_SEALED set."""
        if len(header) != HEADER_SIZE or not header[1] & FLAG_SEALED:
            raise LocalProtocolError("seal needs a 16-byte header with FLAG_SEALED set")
        if len(plaintext) + GCM_TAG_SIZE > MAX_AUDIO_PAYLOAD:
            raise LocalProtocolError("audio packet too large to seal")
        return self._aead.encrypt(self._nonce(header), plaintext, header)

    def open(self, header: bytes, ciphertext: bytes) -> bytes:
        """Decrypt one frame; a changed header, payload, stream or talkgroup fails alike."""
        if (len(header) != HEADER_SIZE or not header[1] & FLAG_SEALED
                or len(ciphertext) < GCM_TAG_SIZE):
            raise CryptoError("frame is not sealed", ErrorCode.DECRYPT_FAILED)
        try:
            return self._aead.decrypt(self._nonce(header), ciphertext, header)
        except InvalidTag as exc:
            raise CryptoError("frame does not authenticate", ErrorCode.DECRYPT_FAILED) from exc


def stream_key(gk: GroupKey, envelope_nonce: bytes, sender_device: str) -> StreamCipher:
    """The key of one transmission, bound to its envelope's random nonce and its sender.

    The server assigns the stream id only when it grants the floor, after the envelope is
    signed, so the key is bound to the envelope nonce instead; the header (with the stream id)
    is still authenticated as associated data of every frame.
    """
    if len(envelope_nonce) != ENVELOPE_NONCE_SIZE:
        raise LocalProtocolError("envelope nonce must be 16 bytes")
    info = _frame(AUDIO, (gk.talkgroup.encode(), _u32(gk.epoch), envelope_nonce,
                          sender_device.encode()))
    return StreamCipher(_hkdf(gk.secret, b"", info))


class ReplayWindow:
    """Sliding-window replay check for the sequence numbers of one stream.

    Accepts reordering within ``size`` frames; rejects a number seen before or older than the
    window. Call :meth:`check` only after a frame decrypted, so forgeries cannot move the
    window. ``seq`` is a u32 that never wraps within a stream: the floor's time limit ends a
    transmission long before 2**32 frames of 20 ms (about 2.7 years).
    """

    __slots__ = ("_full", "_mask", "_top", "size")

    def __init__(self, size: int = 256) -> None:
        if size < 1:
            raise LocalProtocolError("replay window size must be positive")
        self.size = size
        self._full = (1 << size) - 1
        self._top = -1  # highest accepted seq; bit i of _mask is seq (_top - i)
        self._mask = 0

    def check(self, seq: int) -> None:
        if seq > self._top:
            shift = seq - self._top  # a jump past the window must not build a huge int
            self._mask = 1 if shift >= self.size else (self._mask << shift | 1) & self._full
            self._top = seq
            return
        age = self._top - seq
        if age >= self.size or self._mask >> age & 1:
            raise CryptoError(f"frame {seq} replayed or too old", ErrorCode.REPLAYED)
        self._mask |= 1 << age


# ---- stream envelope -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Envelope:
    """A signed statement by a device: "I start a transmission on this talkgroup now"."""

    talkgroup: str
    epoch: int
    device_id: str
    nonce: bytes
    started_at: float


def _plausible_time(t: float) -> bool:
    return -1e12 < t < 1e12  # also false for NaN and infinities


def _envelope_body(env: Envelope) -> bytes:
    tg, dev = env.talkgroup.encode(), env.device_id.encode()
    if not (0 < len(tg) < 256 and 0 < len(dev) < 256):
        raise LocalProtocolError("talkgroup and device id must be 1..255 bytes")
    if not _plausible_time(env.started_at):
        raise LocalProtocolError("started_at must be a finite Unix time")
    _u32(env.epoch)
    return (_ENVELOPE_HEAD.pack(ENVELOPE_VERSION, env.nonce, env.epoch, env.started_at)
            + bytes([len(tg)]) + tg + bytes([len(dev)]) + dev)


def make_envelope(keys: DeviceKeys, talkgroup: str, epoch: int, started_at: float, *,
                  nonce: bytes | None = None) -> str:
    """The ``e2e`` string of a floor request: signs who starts which transmission and when.

    Layout (base64url, no padding) of::

        version 01 | nonce (16) | epoch u32 | started_at f64 | len u8 | talkgroup
        | len u8 | device id | Ed25519 signature (64) over frame("siaga/v1/stream", body)

    ``nonce`` is random unless given (tests); it feeds :func:`stream_key`, so the talker reads
    it back with :func:`peek_envelope` or chooses it with :func:`new_nonce` beforehand.
    """
    nonce = new_nonce(ENVELOPE_NONCE_SIZE) if nonce is None else nonce
    if len(nonce) != ENVELOPE_NONCE_SIZE:
        raise LocalProtocolError("envelope nonce must be 16 bytes")
    body = _envelope_body(Envelope(talkgroup, epoch, keys.public.device_id, nonce,
                                   float(started_at)))
    return b64e(body + keys.sign(ENVELOPE, body))


def _parse_envelope(text: str) -> tuple[Envelope, bytes, bytes]:
    bad = CryptoError("malformed stream envelope", ErrorCode.BAD_SIGNATURE)
    if len(text) > MAX_E2E_BYTES:
        raise bad
    raw = b64d(text)
    head = _ENVELOPE_HEAD.size
    if len(raw) < head + 2 + SIGNATURE_SIZE:
        raise bad
    version, nonce, epoch, started_at = _ENVELOPE_HEAD.unpack_from(raw)
    tg_end = head + 1 + raw[head]
    if version != ENVELOPE_VERSION or tg_end >= len(raw):
        raise bad
    dev_end = tg_end + 1 + raw[tg_end]
    if dev_end + SIGNATURE_SIZE != len(raw) or not _plausible_time(started_at):
        raise bad
    try:
        talkgroup = raw[head + 1:tg_end].decode()
        device_id = raw[tg_end + 1:dev_end].decode()
    except UnicodeDecodeError as exc:
        raise bad from exc
    if not talkgroup or not device_id:
        raise bad
    env = Envelope(talkgroup, epoch, device_id, nonce, started_at)
    return env, raw[:dev_end], raw[dev_end:]


def peek_envelope(text: str) -> Envelope:
    """Parse without verifying, only to find the sender's device id in a directory.

    Trust nothing in the result until :func:`open_envelope` accepted the same text.
    """
    try:
        return _parse_envelope(text)[0]
    except CryptoError as exc:
        raise CryptoError(exc.message, ErrorCode.BAD_SIGNATURE) from exc


def open_envelope(text: str, sender: DevicePublic, *, talkgroup: str, now: float,
                  max_age: float = 30.0, seen: set[bytes] | None = None) -> Envelope:
    """Verify a received envelope: signed by ``sender``, for ``talkgroup``, fresh, not seen.

    Raises CryptoError with BAD_SIGNATURE (malformed, forged, other device or talkgroup) or
    REPLAYED (stale or nonce already in ``seen``). On success the nonce is added to ``seen``.
    """
    try:
        env, body, signature = _parse_envelope(text)
    except CryptoError as exc:
        raise CryptoError(exc.message, ErrorCode.BAD_SIGNATURE) from exc
    if env.device_id != sender.device_id:
        raise CryptoError("envelope is from another device", ErrorCode.BAD_SIGNATURE)
    sender.verify(signature, ENVELOPE, body)
    if env.talkgroup != talkgroup:
        raise CryptoError("envelope is for another talkgroup", ErrorCode.BAD_SIGNATURE)
    if not abs(now - env.started_at) <= max_age:
        raise CryptoError("envelope is stale", ErrorCode.REPLAYED)
    if seen is not None:
        if env.nonce in seen:
            raise CryptoError("envelope replayed", ErrorCode.REPLAYED)
        seen.add(env.nonce)
    return env


__all__ = [
    "ENROLL",
    "ENVELOPE",
    "LOGIN",
    "DeviceKeys",
    "DevicePublic",
    "Envelope",
    "GroupKey",
    "ReplayWindow",
    "StreamCipher",
    "b64d",
    "b64e",
    "enroll_parts",
    "fingerprint",
    "group_key_context",
    "login_parts",
    "make_envelope",
    "new_nonce",
    "open_direct",
    "open_envelope",
    "open_group_key",
    "open_message",
    "open_sealed",
    "peek_envelope",
    "seal_direct",
    "seal_group_key",
    "seal_message",
    "seal_to",
    "sign_enroll",
    "sign_login",
    "sign_sealed_key",
    "stream_key",
    "verify_enroll",
    "verify_login",
    "verify_sealed_key",
]
