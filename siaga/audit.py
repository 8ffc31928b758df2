"""A tamper-evident, hash-chained audit log: the sans-I/O core (no database, no clock).

Every :class:`AuditEntry` carries the SHA-256 of its own content and of the entry before it,
so changing, removing or reordering a stored entry breaks the chain at a place
:func:`verify` can name. Persistence lives in :mod:`siaga.store.audit_sql`; time is passed in.

Canonical encoding (the one rule every verifier must reproduce)
---------------------------------------------------------------
An entry's hash is ``sha256(DOMAIN + canonical_bytes(entry)).hexdigest()`` where ``DOMAIN`` is
``b"siaga/v1/audit\\0"`` and ``canonical_bytes`` is the UTF-8 encoding of the JSON object ::

    {"actor": actor, "at": at, "detail": detail, "kind": kind,
     "prev": prev, "seq": seq, "subject": subject}

written with, at every level:

* object keys sorted by Unicode code point, no whitespace (``,`` and ``:`` separators);
* strings as UTF-8, not ``\\u``-escaped; only ``"``, ``\\`` and control characters below
  U+0020 are escaped (``\\n``, ``\\t``, ... or ``\\u00XX``), as Python's :mod:`json` does;
* ``seq`` and integer detail values as plain decimal integers;
* ``at`` always as a float (``at=5`` is hashed as ``5.0``); floats in the shortest decimal form
  that reads back to the same IEEE-754 double, i.e. Python's ``repr(float)``: ``5.0``, ``0.1``,
  ``1e+16``, ``1e-07``, ``-0.0``. NaN and infinities are refused;
* ``true``/``false``/``null`` for booleans and ``None``; an int and a float of equal value are
  different values (``1`` vs ``1.0``) and the stored detail keeps which one it was.

This is close to, but not, RFC 8785 (JCS): JCS sorts keys by UTF-16 code unit and would write
``5.0`` as ``5``. :func:`canonical_bytes` is the only implementation here; use it.

What the chain cannot see
-------------------------
Each entry vouches for everything before it, never for what comes after. Deleting the newest
entries (truncating the tail) therefore leaves a shorter chain that is perfectly valid. To catch
that, note an :func:`anchor` of the head somewhere the database's owner cannot rewrite (on paper,
in the sitrep, in another system) and pass it to :func:`verify` later. Likewise someone who can
rewrite the whole database can rebuild a whole new valid chain; only an anchor kept elsewhere
exposes that. The chain is tamper-*evident*, not tamper-proof.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, TypeAlias

from siaga.errors import LocalProtocolError
from siaga.i18n import LANGS

DetailValue: TypeAlias = str | int | float | bool | None
Detail: TypeAlias = dict[str, DetailValue]

#: Every kind of event the audit log records. Closed: an unknown kind is a bug in the caller.
KINDS: Final = frozenset({
    "enroll_issued", "enrolled", "enroll_failed", "login", "login_failed", "revoked",
    "role_changed",
    "rule_changed", "emergency_raised", "emergency_cleared", "key_rotated",
    "server_started", "server_stopped", "alert_published",
})

#: Domain separation: these bytes prefix every hashed encoding, so an audit hash can never be
#: confused with a hash of anything else Siaga computes.
DOMAIN: Final = b"siaga/v1/audit\0"
#: ``prev`` of the first entry.
GENESIS: Final = "0" * 64

#: Problems :func:`verify` reports (``VerifyReport.problem``).
EDITED: Final = "edited"
DELETED_OR_REORDERED: Final = "deleted_or_reordered"
BAD_START: Final = "bad_start"
PROBLEMS: Final = frozenset({EDITED, DELETED_OR_REORDERED, BAD_START})

_ANCHOR_RE: Final = re.compile(r"([1-9][0-9]*):([0-9a-f]{64})")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One link of the chain. Build them with :class:`AuditChain`, not by hand."""

    seq: int
    """1-based position; contiguous."""
    at: float
    """Unix seconds, as given by the caller."""
    kind: str
    """One of :data:`KINDS`."""
    actor: str
    """Member or device id that caused the event; ``""`` for the system itself."""
    subject: str
    """What the event is about (a member, a device, a talkgroup...)."""
    detail: Detail
    """Flat extra facts; values are str, int, float, bool or None."""
    prev: str
    """``hash`` of the previous entry, or :data:`GENESIS` for the first."""
    hash: str
    """Hex SHA-256 of this entry; see the module docstring for the exact encoding."""


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of :func:`verify`.

    ``count`` is the number of entries checked and found intact: all of them when ``ok``,
    otherwise the ones before the problem. ``at_seq`` is the chain position (1-based) where the
    chain first stops being trustworthy, so ``at_seq == count + 1`` whenever there is a problem:
    for a missing entry it is the seq that should have come next, for an edited one its seq.
    """

    ok: bool
    count: int
    problem: str | None
    at_seq: int | None
    message: str


# --- canonical encoding, implemented once -------------------------------------------------


def _check_text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise LocalProtocolError(f"audit {name} must be a string, got {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(f"audit {name} is not valid Unicode text: {exc}") from exc
    return value


def _check_number(name: str, value: object) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LocalProtocolError(f"audit {name} must be a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise LocalProtocolError(f"audit {name} must be finite, got {value!r}")
    return value


def _check_detail(detail: object) -> Detail:
    if not isinstance(detail, Mapping):
        raise LocalProtocolError(f"audit detail must be a dict, got {type(detail).__name__}")
    out: Detail = {}
    for key, value in detail.items():
        _check_text("detail key", key)
        if value is None or isinstance(value, bool | str):
            if isinstance(value, str):
                _check_text(f"detail[{key!r}]", value)
            out[key] = value
        elif isinstance(value, int | float):
            out[key] = _check_number(f"detail[{key!r}]", value)
        else:
            raise LocalProtocolError(
                f"audit detail[{key!r}] must be str, int, float, bool or None, "
                f"got {type(value).__name__}"
            )
    return out


def canonical_bytes(
    seq: int, at: float, kind: str, actor: str, subject: str, detail: Mapping[str, object],
    prev: str,
) -> bytes:
    """The exact bytes that are hashed (without :data:`DOMAIN`); see the module docstring.

    Raises :class:`LocalProtocolError` if any field has a type the encoding does not allow.
    """
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise LocalProtocolError(f"audit seq must be an integer, got {seq!r}")
    payload = {
        "actor": _check_text("actor", actor),
        "at": float(_check_number("at", at)),
        "detail": _check_detail(detail),
        "kind": _check_text("kind", kind),
        "prev": _check_text("prev", prev),
        "seq": seq,
        "subject": _check_text("subject", subject),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)
    return text.encode("utf-8")


def entry_hash(
    seq: int, at: float, kind: str, actor: str, subject: str, detail: Mapping[str, object],
    prev: str,
) -> str:
    """Hex SHA-256 of :data:`DOMAIN` followed by :func:`canonical_bytes`."""
    data = canonical_bytes(seq, at, kind, actor, subject, detail, prev)
    return hashlib.sha256(DOMAIN + data).hexdigest()


def encode_detail(detail: Mapping[str, object]) -> str:
    """``detail`` as canonical JSON text (the same rules as the hash), for storage."""
    return json.dumps(_check_detail(detail), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False)


def decode_detail(text: str) -> Detail:
    """Inverse of :func:`encode_detail`; :class:`LocalProtocolError` if ``text`` is not one."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise LocalProtocolError(f"audit detail is not JSON: {exc}") from exc
    return _check_detail(value)


# --- appending ----------------------------------------------------------------------------


class AuditChain:
    """The head of a chain and the rule for the next link. Holds nothing else.

    ``AuditChain()`` starts a new chain; ``AuditChain(last_entry)`` continues one. It does not
    check the entry it continues from: a damaged head is :func:`verify`'s to report, and the
    log keeps recording meanwhile.
    """

    __slots__ = ("_hash", "_seq")

    def __init__(self, head: AuditEntry | None = None) -> None:
        self._seq = 0
        self._hash = GENESIS
        if head is not None:
            self._seq, self._hash = self._checked_head(head.seq, head.hash)

    @classmethod
    def from_head(cls, seq: int, hash: str) -> AuditChain:
        """Continue after the entry ``seq`` whose stored hash is ``hash`` (``0, GENESIS`` for
        an empty chain); all a store needs to read to append."""
        chain = cls()
        chain._seq, chain._hash = cls._checked_head(seq, hash)
        return chain

    @staticmethod
    def _checked_head(seq: object, hash: object) -> tuple[int, str]:
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise LocalProtocolError(f"audit head seq must be an integer >= 0, got {seq!r}")
        if not isinstance(hash, str):
            raise LocalProtocolError(f"audit head hash must be a string, got {hash!r}")
        return seq, hash

    @property
    def seq(self) -> int:
        """Seq of the head; 0 for an empty chain."""
        return self._seq

    @property
    def head_hash(self) -> str:
        return self._hash

    def peek(
        self,
        kind: str,
        at: float,
        actor: str = "",
        subject: str = "",
        detail: Mapping[str, DetailValue] | None = None,
    ) -> AuditEntry:
        """The entry :meth:`append` would produce, without advancing the head."""
        if kind not in KINDS:
            raise LocalProtocolError(
                f"unknown audit kind {kind!r}; expected one of {', '.join(sorted(KINDS))}"
            )
        _check_number("at", at)
        if at < 0:
            raise LocalProtocolError(f"audit at must not be negative, got {at!r}")
        clean = _check_detail({} if detail is None else detail)
        seq = self._seq + 1
        digest = entry_hash(seq, float(at), kind, actor, subject, clean, self._hash)
        return AuditEntry(seq=seq, at=float(at), kind=kind, actor=actor, subject=subject,
                          detail=clean, prev=self._hash, hash=digest)

    def append(
        self,
        kind: str,
        at: float,
        actor: str = "",
        subject: str = "",
        detail: Mapping[str, DetailValue] | None = None,
    ) -> AuditEntry:
        """Make the next entry and move the head to it.

        Raises :class:`LocalProtocolError` (and leaves the head alone) for an unknown ``kind``,
        a non-finite or negative ``at``, or fields of the wrong type.
        """
        entry = self.peek(kind, at, actor, subject, detail)
        self._seq, self._hash = entry.seq, entry.hash
        return entry


# --- anchoring and verifying ----------------------------------------------------------------


def anchor(entry: AuditEntry) -> str:
    """A short ``"seq:hash"`` text vouching for ``entry`` and, through the chain, all before
    it. Keep it outside the database; see the module docstring for why."""
    return f"{entry.seq}:{entry.hash}"


def parse_anchor(text: str) -> tuple[int, str]:
    """``(seq, hash)`` from :func:`anchor`'s text (surrounding blanks and hex case ignored).

    Raises :class:`LocalProtocolError` if ``text`` is not an anchor; a CLI should call this on
    what the admin typed before verifying.
    """
    match = _ANCHOR_RE.fullmatch(text.strip().lower()) if isinstance(text, str) else None
    if match is None:
        raise LocalProtocolError(f"not an audit anchor (expected 'seq:sha256-hex'): {text!r}")
    return int(match.group(1)), match.group(2)


class ChainVerifier:
    """:func:`verify`, one entry at a time, so a store can stream without holding the chain.

    Feed entries in seq order with :meth:`feed` (or :meth:`feed_unreadable` for a stored row
    that cannot even be decoded); after the first problem further input is ignored. Then call
    :meth:`finish`.
    """

    __slots__ = ("_anchor", "_anchor_seen", "_count", "_prev", "_report")

    def __init__(self, anchor: str | None = None) -> None:
        self._anchor = None if anchor is None else parse_anchor(anchor)
        self._anchor_seen = False
        self._count = 0
        self._prev = GENESIS
        self._report: VerifyReport | None = None

    @property
    def failed(self) -> bool:
        return self._report is not None

    def _fail(self, problem: str, message: str) -> VerifyReport:
        at_seq = self._count + 1
        self._report = VerifyReport(ok=False, count=self._count, problem=problem,
                                    at_seq=at_seq, message=f"entry {at_seq}: {message}")
        return self._report

    def feed(self, entry: AuditEntry) -> bool:
        """Check the next entry; ``False`` once the chain is known to be broken."""
        if self._report is not None:
            return False
        expected = self._count + 1
        seq = entry.seq
        if self._count == 0 and (seq != 1 or entry.prev != GENESIS):
            if seq != 1:
                self._fail(BAD_START, f"the chain starts at seq {seq!r}, not 1")
            else:
                self._fail(BAD_START, "the first entry does not link to the genesis value")
            return False
        if seq != expected:
            self._fail(DELETED_OR_REORDERED, f"missing or out of order (found seq {seq!r} next)")
            return False
        if entry.prev != self._prev:
            self._fail(DELETED_OR_REORDERED,
                       "does not link to the entry before it (an entry was removed, moved, "
                       "or the previous one rewritten)")
            return False
        try:
            actual = entry_hash(seq, entry.at, entry.kind, entry.actor, entry.subject,
                                entry.detail, entry.prev)
        except LocalProtocolError as exc:
            self._fail(EDITED, f"content is malformed ({exc.message})")
            return False
        if actual != entry.hash:
            self._fail(EDITED, "stored hash does not match its content")
            return False
        if self._anchor is not None and seq == self._anchor[0]:
            if entry.hash != self._anchor[1]:
                self._fail(EDITED, "differs from the anchored hash (rewritten since anchoring)")
                return False
            self._anchor_seen = True
        self._count = seq
        self._prev = entry.hash
        return True

    def feed_unreadable(self, seq: int, why: str) -> None:
        """Report a stored row at ``seq`` that could not be turned into an entry."""
        if self._report is not None:
            return
        if seq != self._count + 1:
            # Its position is already wrong; say that first, as feed would.
            self._fail(BAD_START if self._count == 0 else DELETED_OR_REORDERED,
                       f"missing or out of order (found seq {seq!r} next)")
            return
        self._fail(EDITED, f"stored row is unreadable ({why})")

    def finish(self) -> VerifyReport:
        if self._report is not None:
            return self._report
        if self._anchor is not None and not self._anchor_seen:
            return self._fail(
                DELETED_OR_REORDERED,
                f"missing: the anchor names entry {self._anchor[0]} but the chain ends "
                f"at {self._count} (entries were removed from the end)")
        return VerifyReport(ok=True, count=self._count, problem=None, at_seq=None,
                            message=f"{self._count} entries intact")


def verify(entries: Iterable[AuditEntry], anchor: str | None = None) -> VerifyReport:
    """Walk ``entries`` in order and report the first problem, or that all is intact.

    Detects an edited entry (``"edited"`` at its seq), a removed, inserted or moved entry
    (``"deleted_or_reordered"`` where the order breaks), a wrong first entry (``"bad_start"``),
    and an entry rewritten with a freshly computed hash (``"deleted_or_reordered"`` at the
    *next* entry, whose ``prev`` no longer matches). Removing entries from the end is invisible
    without ``anchor`` (see :func:`anchor`); with it, the anchored entry must be present with
    the anchored hash. Raises :class:`LocalProtocolError` only for a malformed ``anchor``.
    """
    checker = ChainVerifier(anchor)
    for entry in entries:
        if not checker.feed(entry):
            break
    return checker.finish()


# --- words for the operator -----------------------------------------------------------------

_TEXTS: Final[dict[str, tuple[str, str]]] = {
    "ok": ("Log audit utuh: {n} entri", "Audit log intact: {n} entries"),
    "broken": ("Log audit RUSAK pada entri {seq}: {what}",
               "Audit log BROKEN at entry {seq}: {what}"),
    EDITED: ("diubah", "edited"),
    DELETED_OR_REORDERED: ("dihapus atau urutannya diubah", "deleted or reordered"),
    BAD_START: ("awal rantai tidak sah", "invalid start of the chain"),
}


def format_report(report: VerifyReport, lang: str = "id") -> str:
    """One line for the operator, in Bahasa Indonesia (``"id"``, the default) or English."""
    index = LANGS.index(lang) if lang in LANGS else 0

    def say(key: str, **fields: object) -> str:
        return _TEXTS[key][index].format(**fields)

    if report.ok:
        return say("ok", n=report.count)
    problem = report.problem or DELETED_OR_REORDERED
    what = say(problem) if problem in _TEXTS else problem
    return say("broken", seq=report.at_seq, what=what)


__all__ = [
    "BAD_START",
    "DELETED_OR_REORDERED",
    "DOMAIN",
    "EDITED",
    "GENESIS",
    "KINDS",
    "PROBLEMS",
    "AuditChain",
    "AuditEntry",
    "ChainVerifier",
    "Detail",
    "DetailValue",
    "VerifyReport",
    "anchor",
    "canonical_bytes",
    "decode_detail",
    "encode_detail",
    "entry_hash",
    "format_report",
    "parse_anchor",
    "verify",
]
