"""Siaga's exception hierarchy and the stable error codes shared with the wire protocol.

Every error a peer can see carries a :class:`ErrorCode`; the code (not the message) is the
contract, so clients may branch on it and translations may key on it. The tree::

    SiagaError
    ├── ProtocolError        the remote side sent something malformed (frame, JSON, version, size)
    ├── Refused              a well-formed request that policy or state does not allow
    ├── LocalProtocolError   our own code misused an API (a bug here, never the peer's fault)
    ├── ConfigError          a roster or settings file is invalid
    ├── StoreError           the database or recording files could not be used
    ├── AudioError           audio could not be encoded, decoded, read or written
    └── CryptoError          a signature, a sealed key or an encrypted payload did not verify
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable, wire-visible error codes. Never renumber or rename; only add."""

    # malformed input (ProtocolError)
    BAD_FRAME = "bad_frame"
    BAD_MESSAGE = "bad_message"
    UNKNOWN_TYPE = "unknown_type"
    UNSUPPORTED_VERSION = "unsupported_version"
    TOO_LARGE = "too_large"
    # refusals (Refused)
    NOT_AUTHENTICATED = "not_authenticated"
    UNKNOWN_MEMBER = "unknown_member"
    UNKNOWN_TALKGROUP = "unknown_talkgroup"
    NOT_MEMBER = "not_member"
    NOT_JOINED = "not_joined"
    NOT_ALLOWED = "not_allowed"
    NOT_HOLDER = "not_holder"
    FLOOR_BUSY = "floor_busy"
    ALREADY_TRANSMITTING = "already_transmitting"
    RATE_LIMITED = "rate_limited"
    DUPLICATE_SESSION = "duplicate_session"
    NO_EMERGENCY = "no_emergency"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_DEVICE = "unknown_device"
    DEVICE_REVOKED = "device_revoked"
    ENROLLMENT_INVALID = "enrollment_invalid"
    DECRYPT_FAILED = "decrypt_failed"
    REPLAYED = "replayed"
    INVALID_FIELD = "invalid_field"
    UNKNOWN_TPS = "unknown_tps"
    UNKNOWN_REGION = "unknown_region"
    UNKNOWN_INCIDENT = "unknown_incident"
    # local and environment failures
    LOCAL_MISUSE = "local_misuse"
    CONFIG = "config"
    STORE = "store"
    AUDIO = "audio"
    INTERNAL = "internal"


class SiagaError(Exception):
    """Root of every error Siaga raises on purpose."""

    default_code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class ProtocolError(SiagaError):
    """The peer sent bytes that do not follow the protocol."""

    default_code = ErrorCode.BAD_MESSAGE


class Refused(SiagaError):
    """A valid request that the current state or policy does not allow."""

    default_code = ErrorCode.NOT_ALLOWED


class LocalProtocolError(SiagaError):
    """Our own side called an API in a way its state does not allow."""

    default_code = ErrorCode.LOCAL_MISUSE


class ConfigError(SiagaError):
    default_code = ErrorCode.CONFIG


class StoreError(SiagaError):
    default_code = ErrorCode.STORE


class AudioError(SiagaError):
    default_code = ErrorCode.AUDIO


class CryptoError(SiagaError):
    """Verification failed. Deliberately vague about why, so it is no oracle for an attacker."""

    default_code = ErrorCode.DECRYPT_FAILED


__all__ = [
    "AudioError",
    "ConfigError",
    "CryptoError",
    "ErrorCode",
    "LocalProtocolError",
    "ProtocolError",
    "Refused",
    "SiagaError",
    "StoreError",
]
