"""Who a device is: enrolled devices, one-time enrollment codes, and failed-login limits.

Sans-I/O like the hub: the :class:`DeviceDirectory` is the hub's in-memory view of the enrolled
devices, kept in step with the database by the server adapter; codes are generated and hashed
here and stored (hashed only) by ``siaga.store.identity_sql``. Randomness comes from
:mod:`secrets`; time is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Final

from .errors import ConfigError, ErrorCode, Refused
from .roster import Member, Role, Roster

#: Code alphabet: Crockford-style base32 without look-alikes (no I, L, O, U), read aloud on a
#: phone line or typed on a handset.
CODE_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH: Final = 10  # 50 bits: with the failed-attempt limit, guessing is hopeless
DEFAULT_CODE_TTL: Final = 24 * 3600.0

#: Failed logins or enrollments from one peer address before it must wait.
FAILURE_BURST: Final = 5
FAILURE_WINDOW: Final = 60.0

#: Roles an admin may name instead of a member id, as people say them.
ROLE_ALIASES: Final[dict[str, Role]] = {
    "gubernur": Role.GOVERNOR, "governor": Role.GOVERNOR,
    "bupati": Role.REGIONAL_HEAD, "walikota": Role.REGIONAL_HEAD,
    "wali_kota": Role.REGIONAL_HEAD, "regional_head": Role.REGIONAL_HEAD,
    "staff": Role.STAFF, "staf": Role.STAFF, "operator": Role.STAFF,
    "police": Role.POLICE, "polisi": Role.POLICE, "fire": Role.FIRE, "damkar": Role.FIRE,
    "bpbd": Role.BPBD, "kpu": Role.KPU, "bawaslu": Role.BAWASLU,
    "auditor": Role.AUDITOR, "admin": Role.ADMIN,
}


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """An enrolled device as the server knows it: public keys only."""

    device_id: str
    member: str
    sign_pub: bytes
    dh_pub: bytes
    enrolled_at: float
    label: str = ""
    revoked_at: float | None = None
    revoked_by: str = ""

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True, slots=True)
class SealedKey:
    """One group key as the keeper published it for one device: sealed, and signed."""

    talkgroup: str
    epoch: int
    device_id: str
    keeper: str
    keeper_pub: bytes
    sealed: bytes
    signature: bytes


@dataclass(slots=True)
class DeviceDirectory:
    """The enrolled devices, by id; the hub consults it on every login."""

    devices: dict[str, DeviceRecord] = field(default_factory=dict)

    def put(self, record: DeviceRecord) -> None:
        self.devices[record.device_id] = record

    def get(self, device_id: str) -> DeviceRecord | None:
        return self.devices.get(device_id)

    def of_member(self, member: str) -> list[DeviceRecord]:
        return [d for d in self.devices.values() if d.member == member and not d.revoked]


# ---- enrollment codes ----------------------------------------------------------------------


def new_code() -> str:
    """A fresh one-time code, shown to the admin once as ``XXXXX-XXXXX``."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalize_code(code: str) -> str:
    """Accept what people type: any case, spaces or dashes, O for 0 and I/L for 1."""
    cleaned = code.upper().replace("-", "").replace(" ", "")
    cleaned = cleaned.translate(str.maketrans("OIL", "011"))
    if len(cleaned) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in cleaned):
        raise Refused("enrollment code is malformed", ErrorCode.ENROLLMENT_INVALID)
    return cleaned


def code_hash(code: str) -> str:
    """What the database keeps: a leaked database cannot be used to enroll a device."""
    digest = hashlib.sha256(b"siaga/v1/enroll-code\0" + normalize_code(code).encode())
    return base64.b32encode(digest.digest()).decode().rstrip("=").lower()


def resolve_member(roster: Roster, *, member: str | None = None, name: str | None = None,
                   role: str | None = None, region: str | None = None) -> Member:
    """Find the roster member an admin means, by id or by role (+ region, + name)."""
    if member:
        found = roster.members.get(member)
        if found is None:
            raise ConfigError(f"no member {member!r} in the roster")
        return found
    if not role:
        raise ConfigError("name the member (--member) or the role (--role, with --region)")
    wanted = ROLE_ALIASES.get(role.lower().replace(" ", "_").replace("-", "_"))
    if wanted is None:
        raise ConfigError(f"unknown role {role!r}; one of: {', '.join(sorted(ROLE_ALIASES))}")
    matches = [m for m in roster.members.values()
               if m.role == wanted and (region is None or m.region == region)]
    if name and len(matches) > 1:
        matches = [m for m in matches if name.lower() in m.name.lower()] or matches
    if len(matches) != 1:
        where = f" in region {region}" if region else ""
        raise ConfigError(f"{len(matches)} roster members have role {wanted.value}{where}; "
                          "give --region or --member")
    return matches[0]


# ---- failed attempts -------------------------------------------------------------------------


@dataclass(slots=True)
class FailureLimiter:
    """Counts failed logins/enrollments per peer; too many in a window means "wait"."""

    burst: int = FAILURE_BURST
    window: float = FAILURE_WINDOW
    _failures: dict[str, list[float]] = field(default_factory=dict)

    def blocked(self, peer: str, now: float) -> bool:
        recent = [t for t in self._failures.get(peer, []) if now - t < self.window]
        if recent:
            self._failures[peer] = recent
        else:
            self._failures.pop(peer, None)
        return len(recent) >= self.burst

    def failed(self, peer: str, now: float) -> None:
        self._failures.setdefault(peer, []).append(now)


__all__ = [
    "CODE_ALPHABET", "DEFAULT_CODE_TTL", "DeviceDirectory", "DeviceRecord", "FailureLimiter",
    "SealedKey",
    "code_hash", "new_code", "normalize_code", "resolve_member",
]
