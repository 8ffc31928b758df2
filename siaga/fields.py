"""Checks shared by the operators' field reports (election and flood): ids, counts, text,
coordinates, enum values, and who may report where.

One place for each rule, so that every refusal names the field at fault in the same words
("ballots_cast: must not be negative") and the wire, the API and the store agree. Errors are
:class:`ProtocolError` with ``INVALID_FIELD`` for a value out of range and :class:`Refused`
for a report the sender may not make.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from enum import StrEnum
from typing import Any, Final, TypeVar

import msgspec

from .errors import ErrorCode, ProtocolError, Refused
from .roster import Member, Role

#: Longest free-text note on a report (characters).
MAX_NOTE: Final = 500
#: Longest short text (a title, a place or shelter name, a unit).
MAX_NAME: Final = 120
#: Ids are chosen by clients (idempotency keys): short, printable, no spaces.
ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


def invalid(field: str, problem: str) -> ProtocolError:
    """The error for a field out of range; the message starts with the field's name."""
    return ProtocolError(f"{field}: {problem}", ErrorCode.INVALID_FIELD)


def check_id(value: object, field: str) -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise invalid(field, "must be 1-64 letters, digits or . _ : - (no spaces), "
                             "starting with a letter or digit")
    return value


def check_time(value: object, field: str = "at") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and value >= 0):
        raise invalid(field, "must be a finite, non-negative time in seconds")
    return float(value)


def check_count(value: object, field: str, maximum: int | None = None) -> int:
    """A whole number of people, ballots or items: not negative, at most ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, "must be a whole number")
    if value < 0:
        raise invalid(field, "must not be negative")
    if maximum is not None and value > maximum:
        raise invalid(field, f"must be at most {maximum}")
    return value


def check_text(value: object, field: str, max_len: int = MAX_NOTE,
               required: bool = False) -> str:
    if not isinstance(value, str):
        raise invalid(field, "must be text")
    if required and not value.strip():
        raise invalid(field, "must not be empty")
    if len(value) > max_len:
        raise invalid(field, f"must be at most {max_len} characters")
    return value


def check_coordinates(lat: object, lon: object, prefix: str = "") -> tuple[float, float]:
    """Decimal degrees on the globe (WGS 84); NaN and infinities are refused."""
    degrees = []
    for name, value, limit in (("lat", lat, 90.0), ("lon", lon, 180.0)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
                -limit <= value <= limit):
            raise invalid(prefix + name, f"must be a number from {-limit:g} to {limit:g}")
        degrees.append(float(value))
    return degrees[0], degrees[1]


def check_enum(value: object, kind: type[E], field: str) -> E:
    """A member of ``kind``; a plain string from the wire is accepted by its value."""
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return kind(value)
    except ValueError:
        allowed = ", ".join(k.value for k in kind)
        raise invalid(field, f"{value!r} is not one of: {allowed}") from None


def check_reporter(member: Member, reporter: str, roles: Collection[Role], regency: str,
                   what: str, field: str = "regency") -> None:
    """The role table and region scoping shared by every kind of report.

    Only ``roles`` may report; a member tied to a kabupaten/kota may report only on its own,
    a province-level member (region "") anywhere. ``reporter`` must be the sender: the
    report's author is never taken on trust from its body.
    """
    if reporter != member.id:
        raise Refused(f"reporter: {reporter!r} is not the sender {member.id!r}",
                      ErrorCode.NOT_ALLOWED)
    if member.role not in roles:
        raise Refused(f"reporter: role {member.role.value} may not send {what}",
                      ErrorCode.NOT_ALLOWED)
    if member.region and member.region != regency:
        raise Refused(f"{field}: {member.id} may report only on region {member.region}, "
                      f"not {regency}", ErrorCode.NOT_ALLOWED)


_AT_PATH = re.compile(r"^(?P<problem>.*) - at `\$\.?(?P<path>[^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `([^`]*)`$")


def decode(data: Mapping[str, Any], kind: type[T]) -> T:
    """Build a report dataclass from plain data (JSON, a wire body); errors name the field.

    Types and enum values are checked here; ranges and rules by the ``check_*`` functions.
    """
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        text = str(exc)
        m = _AT_PATH.match(text)
        path = (m.group("path") + ".") if m and m.group("path") else ""
        problem = m.group("problem") if m else text
        missing = _MISSING.match(problem)
        if missing:
            field, problem = path + missing.group(1), "required"
        else:
            field = path[:-1] or "report"
        raise invalid(field, problem[:1].lower() + problem[1:]) from exc


def encode(report: object) -> dict[str, Any]:
    """Plain data for a report dataclass (enums as their values), the inverse of decode."""
    out: dict[str, Any] = msgspec.to_builtins(report)
    return out


__all__ = [
    "ID_PATTERN", "MAX_NAME", "MAX_NOTE",
    "check_coordinates", "check_count", "check_enum", "check_id", "check_reporter",
    "check_text", "check_time", "decode", "encode", "invalid",
]
