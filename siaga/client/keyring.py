"""A device's end-to-end keys: the group keys it holds, whom it trusts to issue them, and the
devices whose transmissions it can verify.

Sans-I/O: fed wire messages and the time, it answers with keys and ciphers; the client does the
talking. The receive path of one transmission is :class:`Receiver`: the talker's signed envelope
checked against the directory, the stream key derived from the group key of the envelope's
epoch, then every frame opened with its header as associated data and passed through a replay
window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import wire
from ..crypto import (
    DeviceKeys,
    DevicePublic,
    Envelope,
    GroupKey,
    ReplayWindow,
    StreamCipher,
    b64d,
    make_envelope,
    new_nonce,
    open_envelope,
    open_group_key,
    peek_envelope,
    stream_key,
    verify_sealed_key,
)
from ..errors import CryptoError, ErrorCode

#: How old a talker's envelope may be when it reaches a listener: a request may wait in the
#: queue and a late entrant hears a transmission up to its time limit after it began. The
#: ``seen`` set, not the age, is what stops replays.
ENVELOPE_MAX_AGE = 600.0
ENVELOPE_NONCE_SIZE = 16


@dataclass(slots=True)
class Receiver:
    """Opens the sealed frames of one transmission, after its envelope verified."""

    envelope: Envelope
    member: str
    cipher: StreamCipher
    window: ReplayWindow = field(default_factory=ReplayWindow)

    def open(self, frame: wire.AudioFrame) -> wire.AudioFrame:
        """The frame with its plaintext payload; :class:`CryptoError` if forged or replayed."""
        if not frame.flags & wire.FLAG_SEALED:
            raise CryptoError("unsealed frame in a sealed transmission", ErrorCode.DECRYPT_FAILED)
        plain = self.cipher.open(frame.header(), frame.payload)
        self.window.check(frame.seq)
        return wire.AudioFrame(frame.talkgroup, frame.stream, frame.seq, frame.timestamp, plain,
                               frame.flags & ~wire.FLAG_SEALED)


class UnknownDevice(Exception):
    """The envelope names a device not in the directory yet: fetch it, then try again."""

    def __init__(self, device_id: str) -> None:
        super().__init__(device_id)
        self.device_id = device_id


class Keyring:
    def __init__(self, device_id: str, keys: DeviceKeys, keeper: str | None = None) -> None:
        self.device_id = device_id
        self.keys = keys
        #: Device id of the key keeper this device trusts (it commits to the keeper's keys).
        #: Pinned at enrollment when known, otherwise trusted on first use, like an SSH host
        #: key: a server that later offers another keeper's keys is refused.
        self.keeper = keeper
        self.group_keys: dict[tuple[str, int], GroupKey] = {}
        self.directory: dict[str, tuple[str, DevicePublic]] = {}  # device -> (member, keys)
        #: Envelope nonce -> the stream it was announced for. The same transmission may be
        #: announced again (a listener leaves and rejoins it); the same envelope on another
        #: stream is a replay.
        self.seen: dict[bytes, int] = {}
        self.rejected_keys = 0

    # ---- keys and directory ------------------------------------------------------------------

    def add_sealed(self, msg: wire.Keys) -> GroupKey | None:
        """Accept a group key from the trusted keeper; a stranger's key is refused and
        counted, never used."""
        try:
            keeper = DevicePublic(b64d(msg.keeper_sign), b64d(msg.keeper_dh))
            if keeper.device_id != msg.keeper:
                raise CryptoError("keeper keys do not match its id", ErrorCode.BAD_SIGNATURE)
            if self.keeper is None:
                self.keeper = keeper.device_id
            elif self.keeper != keeper.device_id:
                raise CryptoError("group key from a keeper this device does not trust",
                                  ErrorCode.BAD_SIGNATURE)
            sealed, sig = b64d(msg.sealed), b64d(msg.sig)
            verify_sealed_key(keeper, sig, msg.talkgroup, msg.epoch, self.device_id, sealed)
            gk = open_group_key(self.keys, msg.talkgroup, msg.epoch, sealed)
        except CryptoError:
            self.rejected_keys += 1
            return None
        self.group_keys[(gk.talkgroup, gk.epoch)] = gk
        return gk

    def add_own(self, gk: GroupKey) -> None:
        """A key this device made itself (it is the keeper)."""
        self.group_keys[(gk.talkgroup, gk.epoch)] = gk

    def update_directory(self, msg: wire.Directory) -> None:
        for d in msg.devices:
            try:
                self.directory[d.device] = (d.member,
                                            DevicePublic(b64d(d.sign_pub), b64d(d.dh_pub)))
            except CryptoError:
                continue

    def latest(self, talkgroup: str) -> GroupKey | None:
        epochs = [e for (tg, e) in self.group_keys if tg == talkgroup]
        return self.group_keys[(talkgroup, max(epochs))] if epochs else None

    # ---- transmissions ----------------------------------------------------------------------

    def begin(self, talkgroup: str, now: float) -> tuple[str, GroupKey, bytes] | None:
        """A fresh signed envelope for a PTT press, or None without a key for the talkgroup."""
        gk = self.latest(talkgroup)
        if gk is None:
            return None
        nonce = new_nonce(ENVELOPE_NONCE_SIZE)
        return make_envelope(self.keys, talkgroup, gk.epoch, now, nonce=nonce), gk, nonce

    def cipher(self, gk: GroupKey, nonce: bytes) -> StreamCipher:
        return stream_key(gk, nonce, self.device_id)

    def receiver(self, start: wire.TalkerStart, now: float) -> Receiver:
        """Verify a live talker's envelope (fresh, never seen) and set up its decryption.

        Raises :class:`UnknownDevice` when the directory lacks the talker's device, and
        :class:`CryptoError` when the envelope is forged, replayed, or for a key not held.
        """
        assert start.e2e is not None
        receiver = self._receiver(start.e2e, start.talkgroup, now)
        nonce = receiver.envelope.nonce
        if self.seen.setdefault(nonce, start.stream) != start.stream:
            raise CryptoError("this transmission's envelope was already used on another stream",
                              ErrorCode.REPLAYED)
        return receiver

    def recording_receiver(self, e2e: str, talkgroup: str) -> Receiver:
        """The same for a stored transmission: signature and key checked, no freshness."""
        return self._receiver(e2e, talkgroup, None)

    def _receiver(self, e2e: str, talkgroup: str, now: float | None) -> Receiver:
        claimed = peek_envelope(e2e)
        entry = self.directory.get(claimed.device_id)
        if entry is None:
            raise UnknownDevice(claimed.device_id)
        member, public = entry
        # The key is looked up first, so a key that arrives a moment later still lets the
        # same transmission open.
        gk = self.group_keys.get((talkgroup, claimed.epoch))
        if gk is None:
            raise CryptoError(f"no key for {talkgroup} epoch {claimed.epoch}",
                              ErrorCode.DECRYPT_FAILED)
        envelope = open_envelope(e2e, public, talkgroup=talkgroup,
                                 now=claimed.started_at if now is None else now,
                                 max_age=ENVELOPE_MAX_AGE)
        return Receiver(envelope, member, stream_key(gk, envelope.nonce, envelope.device_id))


__all__ = ["ENVELOPE_MAX_AGE", "Keyring", "Receiver", "UnknownDevice"]
