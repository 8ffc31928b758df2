"""End-to-end keys: the server routes sealed group keys it cannot open."""

from __future__ import annotations

from collections.abc import Iterable

from .. import wire
from ..crypto import DevicePublic, b64d, b64e, verify_sealed_key
from ..errors import (
    CryptoError,
    ErrorCode,
    Refused,
)
from ..identity import (
    DeviceRecord,
    SealedKey,
)
from ..roster import Role, Talkgroup
from .base import HubBase
from .outputs import (
    Audit,
    Output,
    StoreKeys,
)
from .state import (
    Session,
)


class Keys(HubBase):
    """The key keeper's publications and their delivery."""

    # ---- end-to-end keys: the server routes sealed keys it cannot open ------------------------

    def _key_holders(self, tg: Talkgroup) -> list[DeviceRecord]:
        """Devices that get a talkgroup's key: its members', and the auditors' (who may replay
        any recording). Revoked devices never do."""
        assert self.devices is not None
        auditors = {m.id for m in self.roster.members.values() if m.role is Role.AUDITOR}
        return [d for d in self.devices.devices.values()
                if not d.revoked and (d.member in tg.members or d.member in auditors)]

    def _directory(self, session: Session, msg: wire.DirectoryRequest) -> list[Output]:
        if self.devices is None:
            raise Refused("this network has no enrolled devices", ErrorCode.NOT_ALLOWED)
        assert session.member is not None
        if msg.member is not None:
            peer = self._direct_peer(session.member, msg.member)
            devices = [self._device_info(d) for d in self.devices.devices.values()
                       if d.member == peer.id and not d.revoked]
            return [self._send(session.conn, wire.Directory(
                talkgroup="", member=peer.id, devices=devices, ref=msg.ref))]
        group = self._groups.get(msg.talkgroup)
        if group is None:
            raise Refused(f"no talkgroup {msg.talkgroup!r}", ErrorCode.UNKNOWN_TALKGROUP)
        if (session.member.id not in group.tg.members
                and session.member.role not in (Role.ADMIN, Role.AUDITOR)):
            raise Refused(f"{session.member.name} is not a member of {group.tg.name}",
                          ErrorCode.NOT_MEMBER)
        devices = [self._device_info(d) for d in self._key_holders(group.tg)
                   if d.member in self.roster.members]
        return [self._send(session.conn, wire.Directory(
            talkgroup=group.tg.id, devices=devices,
            epoch=self.key_epochs.get(group.tg.id, 0), ref=msg.ref))]

    def _device_info(self, d: DeviceRecord) -> wire.DeviceInfo:
        return wire.DeviceInfo(device=d.device_id, member=d.member,
                               role=self.roster.members[d.member].role.value,
                               sign_pub=b64e(d.sign_pub), dh_pub=b64e(d.dh_pub))

    def _publish_keys(self, session: Session, msg: wire.PublishKeys,
                      now: float) -> list[Output]:
        """A key keeper (an admin's device) hands out a talkgroup key sealed per device."""
        assert session.member is not None
        if self.devices is None or session.member.role is not Role.ADMIN:
            raise Refused("only an admin's device may publish group keys",
                          ErrorCode.NOT_ALLOWED)
        group = self._groups.get(msg.talkgroup)
        if group is None:
            raise Refused(f"no talkgroup {msg.talkgroup!r}", ErrorCode.UNKNOWN_TALKGROUP)
        current = self.key_epochs.get(msg.talkgroup, 0)
        if msg.epoch < current:
            raise Refused(f"epoch {msg.epoch} is older than the current {current}",
                          ErrorCode.NOT_ALLOWED)
        keeper = self.devices.get(session.device)
        assert keeper is not None  # signed in on a closed network
        holders = {d.device_id: d for d in self._key_holders(group.tg)}
        keeper_pub = DevicePublic(keeper.sign_pub, keeper.dh_pub)
        stored: list[SealedKey] = []
        skipped = 0
        for entry in msg.keys:
            known = self.devices.get(entry.device)
            if known is not None and known.revoked and entry.device not in holders:
                # Revoked after the keeper read the directory: a benign race, not an attack.
                skipped += 1
                continue
            if entry.device not in holders:
                raise Refused(f"device {entry.device} may not hold the key of "
                              f"{group.tg.name}", ErrorCode.NOT_MEMBER)
            try:
                sealed, sig = b64d(entry.sealed), b64d(entry.sig)
                verify_sealed_key(keeper_pub, sig, msg.talkgroup, msg.epoch, entry.device,
                                  sealed)
            except CryptoError as exc:
                raise Refused(f"key for {entry.device} is not signed by your device",
                              ErrorCode.BAD_SIGNATURE) from exc
            stored.append(SealedKey(msg.talkgroup, msg.epoch, entry.device, keeper.device_id,
                                    keeper.sign_pub, sealed, sig))
        self.key_epochs[msg.talkgroup] = msg.epoch
        out: list[Output] = [StoreKeys(tuple(stored), session.conn, msg.ref,
                                       msg.talkgroup, msg.epoch, skipped)]
        if msg.epoch > current:
            out.append(Audit("key_rotated", now, actor=session.device, subject=msg.talkgroup,
                             detail={"epoch": msg.epoch}))
        return out

    def keys_stored(self, store: StoreKeys) -> list[Output]:
        """The keys of a :class:`StoreKeys` are stored: deliver them to every device online
        now (a device signing in meanwhile also gets them) and acknowledge to the keeper."""
        out = self.deliver_keys(None, store.keys)
        if store.keeper in self.sessions:
            out.append(self._send(store.keeper, wire.KeysPublished(
                talkgroup=store.talkgroup, epoch=store.epoch, stored=len(store.keys),
                skipped=store.skipped, ref=store.ref)))
        return out

    def deliver_keys(self, conn: int | None, keys: Iterable[SealedKey]) -> list[Output]:
        """Send sealed keys to the sessions of their devices (only ``conn``, if given)."""
        by_device: dict[str, list[int]] = {}
        for c, s in self.sessions.items():
            if s.on_air and (conn is None or c == conn):
                by_device.setdefault(s.device, []).append(c)
        out: list[Output] = []
        for k in keys:
            keeper = self.devices.get(k.keeper) if self.devices is not None else None
            if keeper is None:
                continue  # a keeper unknown here cannot be vouched for: send nothing
            for c in by_device.get(k.device_id, ()):
                out.append(self._send(c, wire.Keys(
                    talkgroup=k.talkgroup, epoch=k.epoch, keeper=k.keeper,
                    keeper_sign=b64e(keeper.sign_pub), keeper_dh=b64e(keeper.dh_pub),
                    sealed=b64e(k.sealed), sig=b64e(k.signature))))
        return out

