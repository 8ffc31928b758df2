"""The hash-chained audit log: the sans-I/O chain, then the SQL store under tampering."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from siaga.audit import (
    BAD_START,
    DELETED_OR_REORDERED,
    DOMAIN,
    EDITED,
    GENESIS,
    KINDS,
    AuditChain,
    AuditEntry,
    VerifyReport,
    anchor,
    canonical_bytes,
    entry_hash,
    format_report,
    parse_anchor,
    verify,
)
from siaga.errors import ErrorCode, LocalProtocolError, StoreError
from siaga.store import open_store
from siaga.store.audit_sql import VERIFY_PAGE, AuditLog  # registers AuditRow on Base.metadata
from siaga.store.sql import Base, SqlStore, create_store_engine

T0 = 1_764_000_000.0


def make_chain(n: int) -> list[AuditEntry]:
    chain = AuditChain()
    return [
        chain.append("login", T0 + i, actor=f"dev-{i}", subject="op-01",
                     detail={"peer": "10.0.0.7", "n": i})
        for i in range(n)
    ]


# --- the chain, without a database -----------------------------------------------------------


def test_chain_links_each_entry_to_the_one_before() -> None:
    entries = make_chain(4)
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert entries[0].prev == GENESIS == "0" * 64
    for before, after in itertools.pairwise(entries):
        assert after.prev == before.hash
    assert all(len(e.hash) == 64 and int(e.hash, 16) >= 0 for e in entries)
    assert len({e.hash for e in entries}) == 4
    assert verify(entries) == VerifyReport(True, 4, None, None, "4 entries intact")


def test_hash_follows_the_documented_encoding() -> None:
    """Pin the encoding byte for byte, so any change to it is a deliberate, visible one."""
    entry = AuditChain().append("enrolled", 5, actor="dev-1", subject="gubernur",
                                detail={"z": None, "a": True, "label": "HP Ibu Gubernur",
                                        "f": 0.1, "i": 7, "q": 'ka"ta\n'})
    expected = (
        '{"actor":"dev-1","at":5.0,"detail":{"a":true,"f":0.1,"i":7,'
        '"label":"HP Ibu Gubernur","q":"ka\\"ta\\n","z":null},"kind":"enrolled",'
        f'"prev":"{GENESIS}","seq":1,"subject":"gubernur"}}'
    ).encode()
    assert canonical_bytes(1, 5.0, "enrolled", "dev-1", "gubernur", entry.detail,
                           GENESIS) == expected
    assert entry.hash == hashlib.sha256(b"siaga/v1/audit\0" + expected).hexdigest()
    assert DOMAIN == b"siaga/v1/audit\0"
    assert entry.at == 5.0 and isinstance(entry.at, float)


def test_non_ascii_is_hashed_as_utf8_and_int_differs_from_float() -> None:
    data = canonical_bytes(1, 1.0, "login", "", "Kerinci — Sungai Penuh", {"v": 1}, GENESIS)
    assert "Kerinci — Sungai Penuh".encode() in data
    assert entry_hash(1, 1.0, "login", "", "", {"v": 1}, GENESIS) != entry_hash(
        1, 1.0, "login", "", "", {"v": 1.0}, GENESIS)


def test_chain_continues_from_a_head() -> None:
    first = make_chain(3)
    chain = AuditChain(first[-1])
    more = chain.append("server_stopped", T0 + 10)
    assert (more.seq, more.prev) == (4, first[-1].hash)
    assert verify([*first, more]).ok
    resumed = AuditChain.from_head(4, more.hash)
    last = resumed.append("server_started", T0 + 20)
    assert (last.seq, last.prev) == (5, more.hash)
    assert (resumed.seq, resumed.head_hash) == (5, last.hash)
    assert verify([*first, more, last]).ok


def test_entry_keeps_its_own_copy_of_detail() -> None:
    detail: dict[str, str | int | float | bool | None] = {"peer": "a"}
    entry = AuditChain().append("login", T0, detail=detail)
    detail["peer"] = "b"
    assert entry.detail == {"peer": "a"}
    assert verify([entry]).ok


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "logged_in"}, "unknown audit kind"),
        ({"at": float("nan")}, "finite"),
        ({"at": float("inf")}, "finite"),
        ({"at": -1.0}, "negative"),
        ({"at": True}, "number"),
        ({"at": "now"}, "number"),
        ({"actor": 7}, "actor must be a string"),
        ({"subject": None}, "subject must be a string"),
        ({"subject": "\ud800"}, "not valid Unicode"),
        ({"detail": {"xs": [1, 2]}}, "must be str, int, float, bool or None"),
        ({"detail": {"nested": {"a": 1}}}, "must be str, int, float, bool or None"),
        ({"detail": {1: "x"}}, "detail key must be a string"),
        ({"detail": {"v": float("nan")}}, "finite"),
        ({"detail": ["not", "a", "dict"]}, "must be a dict"),
    ],
)
def test_misuse_raises_local_protocol_error_and_leaves_head(
    kwargs: dict[str, Any], match: str
) -> None:
    chain = AuditChain()
    chain.append("server_started", T0)
    args: dict[str, Any] = {"kind": "login", "at": T0, "actor": "", "subject": "",
                            "detail": None, **kwargs}
    with pytest.raises(LocalProtocolError, match=match) as info:
        chain.append(**args)
    assert info.value.code is ErrorCode.LOCAL_MISUSE
    assert chain.seq == 1
    assert chain.append("server_stopped", T0 + 1).seq == 2


def test_every_kind_is_accepted() -> None:
    chain = AuditChain()
    entries = [chain.append(kind, T0) for kind in sorted(KINDS)]
    assert len(KINDS) == 14 and verify(entries).ok


def test_edited_field_is_reported_at_that_entry() -> None:
    entries = make_chain(5)
    for change in ({"detail": {"peer": "evil", "n": 2}}, {"at": T0 + 99}, {"actor": "x"},
                   {"subject": "y"}, {"kind": "logout_not_a_kind"}, {"hash": "f" * 64}):
        tampered = list(entries)
        tampered[2] = dataclasses.replace(entries[2], **change)
        report = verify(tampered)
        assert (report.ok, report.problem, report.at_seq, report.count) == (
            False, EDITED, 3, 2), change


def test_deleted_middle_entry_is_reported_where_it_is_missing() -> None:
    entries = make_chain(5)
    report = verify(entries[:2] + entries[3:])
    assert (report.problem, report.at_seq, report.count) == (DELETED_OR_REORDERED, 3, 2)
    assert "found seq 4" in report.message


def test_swapped_entries_are_reported() -> None:
    entries = make_chain(5)
    swapped = [entries[0], entries[3], entries[2], entries[1], entries[4]]
    report = verify(swapped)
    assert (report.problem, report.at_seq) == (DELETED_OR_REORDERED, 2)


def test_deleted_first_entry_is_a_bad_start() -> None:
    entries = make_chain(3)
    report = verify(entries[1:])
    assert (report.problem, report.at_seq, report.count) == (BAD_START, 1, 0)
    fake_first = dataclasses.replace(entries[0], prev="1" * 64)
    assert verify([fake_first, *entries[1:]]).problem == BAD_START


def test_forged_entry_with_recomputed_hash_is_caught_at_the_next_one() -> None:
    entries = make_chain(5)
    e = entries[2]
    forged_detail: dict[str, str | int | float | bool | None] = {"peer": "elsewhere", "n": 2}
    forged = dataclasses.replace(e, detail=forged_detail, hash=entry_hash(
        e.seq, e.at, e.kind, e.actor, e.subject, forged_detail, e.prev))
    report = verify([*entries[:2], forged, *entries[3:]])
    assert (report.problem, report.at_seq, report.count) == (DELETED_OR_REORDERED, 4, 3)


def test_truncated_tail_needs_an_anchor() -> None:
    entries = make_chain(5)
    mark = anchor(entries[-1])
    assert mark == f"5:{entries[-1].hash}"
    assert verify(entries, anchor=mark).ok
    assert verify(entries[:4]).ok  # the chain alone cannot tell
    report = verify(entries[:4], anchor=mark)
    assert (report.ok, report.problem, report.at_seq, report.count) == (
        False, DELETED_OR_REORDERED, 5, 4)
    # An older anchor still vouches for its entry and everything before it.
    assert verify(entries[:4], anchor=anchor(entries[1])).ok
    assert not verify([], anchor=mark).ok


def test_forged_last_entry_is_caught_by_the_anchor() -> None:
    entries = make_chain(3)
    mark = anchor(entries[-1])
    e = entries[-1]
    forged = dataclasses.replace(e, actor="someone-else", hash=entry_hash(
        e.seq, e.at, e.kind, "someone-else", e.subject, e.detail, e.prev))
    assert verify([*entries[:2], forged]).ok
    report = verify([*entries[:2], forged], anchor=mark)
    assert (report.problem, report.at_seq) == (EDITED, 3)


def test_empty_chain_is_intact() -> None:
    assert verify([]) == VerifyReport(True, 0, None, None, "0 entries intact")


@pytest.mark.parametrize("bad", ["", "5", "0:" + "a" * 64, "5:" + "a" * 63, "x:y",
                                 "-1:" + "a" * 64, "5:" + "g" * 64])
def test_malformed_anchor_is_refused(bad: str) -> None:
    with pytest.raises(LocalProtocolError, match="not an audit anchor"):
        parse_anchor(bad)
    with pytest.raises(LocalProtocolError):
        verify(make_chain(1), anchor=bad)


def test_anchor_is_forgiving_about_blanks_and_case() -> None:
    entry = make_chain(1)[0]
    assert parse_anchor(f"  1:{entry.hash.upper()}\n") == (1, entry.hash)


def test_format_report_in_both_languages() -> None:
    good = VerifyReport(True, 42, None, None, "42 entries intact")
    assert format_report(good) == "Log audit utuh: 42 entri"
    assert format_report(good, lang="en") == "Audit log intact: 42 entries"
    bad = VerifyReport(False, 16, EDITED, 17, "entry 17: stored hash does not match")
    assert format_report(bad) == "Log audit RUSAK pada entri 17: diubah"
    assert format_report(bad, lang="en") == "Audit log BROKEN at entry 17: edited"
    gone = VerifyReport(False, 2, DELETED_OR_REORDERED, 3, "")
    assert format_report(gone, "id") == (
        "Log audit RUSAK pada entri 3: dihapus atau urutannya diubah")
    assert format_report(gone, "en") == "Audit log BROKEN at entry 3: deleted or reordered"
    start = VerifyReport(False, 0, BAD_START, 1, "")
    assert format_report(start, "en") == "Audit log BROKEN at entry 1: invalid start of the chain"
    assert format_report(good, lang="fr") == format_report(good)  # unknown language: Bahasa


# --- the SQL store ---------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    s = open_store(tmp_path / "data")
    assert isinstance(s, SqlStore)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def log(store: SqlStore) -> AuditLog:
    return AuditLog(store.engine)


def fill(log: AuditLog, n: int) -> list[AuditEntry]:
    return [log.append("login", T0 + i, f"dev-{i}", "op-01", {"peer": "10.0.0.7", "n": i})
            for i in range(n)]


def sql(engine: Engine, statement: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


def swap_rows(engine: Engine, a: int, b: int) -> None:
    """Exchange everything but the seq of two rows, as someone reordering history would."""
    cols = "at, kind, actor, subject, detail, prev, hash"
    with engine.begin() as conn:
        rows = {seq: conn.execute(text(f"SELECT {cols} FROM audit_log WHERE seq = :s"),
                                  {"s": seq}).one()._asdict() for seq in (a, b)}
        for seq, other in ((a, b), (b, a)):
            conn.execute(text("UPDATE audit_log SET at=:at, kind=:kind, actor=:actor, "
                              "subject=:subject, detail=:detail, prev=:prev, hash=:hash "
                              "WHERE seq = :seq"), {**rows[other], "seq": seq})


def forge_row(engine: Engine, log: AuditLog, seq: int) -> None:
    """Rewrite one row's detail and give it a correct hash for its new content."""
    e = log.entries(since_seq=seq - 1, limit=1)[0]
    detail: dict[str, str | int | float | bool | None] = {"peer": "forged", "n": -1}
    digest = entry_hash(e.seq, e.at, e.kind, e.actor, e.subject, detail, e.prev)
    sql(engine, "UPDATE audit_log SET detail = :d, hash = :h WHERE seq = :s",
        d=json.dumps(detail), h=digest, s=seq)


def problem(report: VerifyReport) -> tuple[str | None, int | None]:
    return report.problem, report.at_seq


def test_store_appends_reads_and_verifies(log: AuditLog) -> None:
    assert log.head() is None and log.entries() == []
    assert log.verify() == VerifyReport(True, 0, None, None, "0 entries intact")
    written = fill(log, 6)
    assert log.entries() == written
    assert log.entries(since_seq=2, limit=3) == written[2:5]
    assert log.entries(since_seq=6) == []
    assert log.head() == written[-1]
    assert log.verify() == VerifyReport(True, 6, None, None, "6 entries intact")
    assert log.verify(anchor=anchor(written[-1])).ok
    # Types survive the round trip exactly (the hash depends on them).
    first = written[0]
    assert first.detail == {"peer": "10.0.0.7", "n": 0} and type(first.detail["n"]) is int


def test_store_round_trips_every_detail_type(log: AuditLog) -> None:
    detail: dict[str, str | int | float | bool | None] = {
        "s": "Muaro Jambi — ☂", "i": -(2**62), "f": 0.1, "z": -0.0, "big": 1e300,
        "t": True, "n": None, "one_float": 1.0, "one_int": 1, "": "empty key"}
    written = log.append("rule_changed", T0, "admin", "komando-provinsi", detail)
    assert log.entries() == [written]
    assert log.verify().ok


def test_store_refuses_bad_arguments(log: AuditLog) -> None:
    with pytest.raises(LocalProtocolError):
        log.append("nope", T0)
    with pytest.raises(LocalProtocolError):
        log.append("login", T0, detail={"x": object()})  # type: ignore[dict-item]
    with pytest.raises(LocalProtocolError):
        log.entries(since_seq=-1)
    with pytest.raises(LocalProtocolError):
        log.entries(limit=0)
    with pytest.raises(LocalProtocolError):
        log.verify(anchor="garbage")
    assert log.head() is None  # nothing half-written


def test_edit_via_sql_is_reported_as_edited(log: AuditLog, store: SqlStore) -> None:
    fill(log, 5)
    sql(store.engine, "UPDATE audit_log SET detail = :d WHERE seq = 3", d='{"peer":"evil"}')
    report = log.verify()
    assert (report.ok, report.problem, report.at_seq, report.count) == (False, EDITED, 3, 2)


@pytest.mark.parametrize(
    "assignment",
    ["at = at + 1", "kind = 'revoked'", "actor = 'x'", "subject = 'y'",
     "hash = '" + "a" * 64 + "'",
     pytest.param("at = 'yesterday'", marks=pytest.mark.sqlite_only),  # PostgreSQL refuses it
     "detail = 'not json'", "detail = '[1, 2]'",
     pytest.param("actor = 12", marks=pytest.mark.sqlite_only)],
)
def test_each_column_edit_is_caught(log: AuditLog, store: SqlStore, assignment: str) -> None:
    fill(log, 4)
    sql(store.engine, f"UPDATE audit_log SET {assignment} WHERE seq = 2")
    assert problem(log.verify()) == (EDITED, 2)


def test_unreadable_row_makes_listing_fail_clearly(log: AuditLog, store: SqlStore) -> None:
    fill(log, 3)
    sql(store.engine, "UPDATE audit_log SET detail = '{' WHERE seq = 3")
    with pytest.raises(StoreError, match="audit entry 3 is unreadable"):
        log.entries()
    with pytest.raises(StoreError, match="audit entry 3 is unreadable"):
        log.head()
    assert len(log.entries(limit=2)) == 2  # earlier rows are still readable
    # Appending still works: the chain keeps recording while the damage awaits an auditor.
    assert log.append("server_stopped", T0 + 9).seq == 4


def test_deleted_middle_row_is_reported(log: AuditLog, store: SqlStore) -> None:
    fill(log, 5)
    sql(store.engine, "DELETE FROM audit_log WHERE seq = 3")
    report = log.verify()
    assert (report.problem, report.at_seq, report.count) == (DELETED_OR_REORDERED, 3, 2)


def test_deleted_first_row_is_a_bad_start(log: AuditLog, store: SqlStore) -> None:
    fill(log, 3)
    sql(store.engine, "DELETE FROM audit_log WHERE seq = 1")
    assert problem(log.verify()) == (BAD_START, 1)


def test_swapped_rows_are_reported(log: AuditLog, store: SqlStore) -> None:
    fill(log, 6)
    swap_rows(store.engine, 2, 5)
    assert problem(log.verify()) == (DELETED_OR_REORDERED, 2)


def test_swapped_neighbours_are_reported(log: AuditLog, store: SqlStore) -> None:
    fill(log, 4)
    swap_rows(store.engine, 3, 4)
    assert problem(log.verify()) == (DELETED_OR_REORDERED, 3)


def test_deleted_last_row_needs_the_anchor(log: AuditLog, store: SqlStore) -> None:
    written = fill(log, 5)
    mark = anchor(written[-1])
    sql(store.engine, "DELETE FROM audit_log WHERE seq = 5")
    alone = log.verify()
    assert alone == VerifyReport(True, 4, None, None, "4 entries intact")  # undetectable
    anchored = log.verify(anchor=mark)
    assert (anchored.ok, anchored.problem, anchored.at_seq, anchored.count) == (
        False, DELETED_OR_REORDERED, 5, 4)
    assert format_report(anchored, "en") == "Audit log BROKEN at entry 5: deleted or reordered"


def test_forged_row_is_caught_at_the_next_entry(log: AuditLog, store: SqlStore) -> None:
    written = fill(log, 5)
    forge_row(store.engine, log, 3)
    assert log.entries()[2].detail == {"peer": "forged", "n": -1}
    report = log.verify()
    assert (report.problem, report.at_seq, report.count) == (DELETED_OR_REORDERED, 4, 3)
    # The forged last entry is only visible against an anchor.
    forge_row(store.engine, log, 5)
    sql(store.engine, "DELETE FROM audit_log WHERE seq = 4")
    sql(store.engine, "DELETE FROM audit_log WHERE seq = 3")
    assert not log.verify(anchor=anchor(written[-1])).ok


def test_verify_streams_across_pages(log: AuditLog, store: SqlStore) -> None:
    n = VERIFY_PAGE * 2 + 3
    fill(log, n)
    assert log.verify() == VerifyReport(True, n, None, None, f"{n} entries intact")
    sql(store.engine, "DELETE FROM audit_log WHERE seq = :s", s=VERIFY_PAGE + 1)
    assert problem(log.verify()) == (DELETED_OR_REORDERED, VERIFY_PAGE + 1)


def test_concurrent_appends_form_one_contiguous_chain(log: AuditLog) -> None:
    per_thread, threads = 25, 4
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                log.append("login", T0 + i, f"dev-{worker}", "op-01", {"i": i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    entries = log.entries()
    assert [e.seq for e in entries] == list(range(1, per_thread * threads + 1))
    assert log.verify().ok
    assert sorted((e.actor, e.detail["i"]) for e in entries) == sorted(
        (f"dev-{w}", i) for w in range(threads) for i in range(per_thread))


def test_two_engines_on_one_file_do_not_fork_the_chain(tmp_path: Path) -> None:
    """Two processes' worth of appenders: separate engines, separate locks, one database."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    SqlStore.open(url).close()  # migrate
    engines = [create_store_engine(url) for _ in range(2)]
    logs = [AuditLog(e) for e in engines]
    try:
        errors: list[BaseException] = []

        def work(log: AuditLog, worker: int) -> None:
            try:
                for i in range(20):
                    log.append("login", T0 + i, f"w{worker}", "", {"i": i})
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        pool = [threading.Thread(target=work, args=(logs[w % 2], w)) for w in range(4)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        assert errors == []
        assert [e.seq for e in logs[0].entries()] == list(range(1, 81))
        assert logs[1].verify().ok
    finally:
        for e in engines:
            e.dispose()


def test_appending_after_reopening_continues_the_chain(tmp_path: Path) -> None:
    first = open_store(tmp_path / "d")
    assert isinstance(first, SqlStore)
    try:
        before = fill(AuditLog(first.engine), 3)
    finally:
        first.close()
    second = open_store(tmp_path / "d")
    assert isinstance(second, SqlStore)
    try:
        log = AuditLog(second.engine)
        assert log.head() == before[-1]
        after = log.append("server_started", T0 + 100)
        assert (after.seq, after.prev) == (4, before[-1].hash)
        assert log.verify(anchor=anchor(before[-1])).ok
        assert verify(log.entries()).ok
    finally:
        second.close()


def test_database_failures_become_store_errors() -> None:
    engine = create_store_engine("sqlite://")  # never migrated: no audit_log table
    try:
        log = AuditLog(engine)
        with pytest.raises(StoreError, match="cannot append to the audit log") as info:
            log.append("server_started", T0)
        assert info.value.code is ErrorCode.STORE
        with pytest.raises(StoreError, match="cannot read the audit log"):
            log.entries()
        with pytest.raises(StoreError):
            log.verify()
    finally:
        engine.dispose()


def test_audit_model_matches_its_migration() -> None:
    s = SqlStore.open("sqlite://")
    try:
        with s.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        s.close()
    assert "audit_log" in Base.metadata.tables
    # Other modules' tables are their tests' business; nothing may differ about ours.
    assert [d for d in diff if "audit_log" in repr(d)] == []


# --- property: any single tampering is found, no later than where it happened -----------------

_EDITS = ["detail", "at", "kind", "actor", "subject", "prev", "hash"]
_tampering = st.one_of(
    st.tuples(st.just("edit"), st.sampled_from(_EDITS)),
    st.tuples(st.just("delete"), st.just("")),
    st.tuples(st.just("swap"), st.just("")),
    st.tuples(st.just("forge"), st.just("")),
    st.tuples(st.just("truncate"), st.just("")),
)
_appends = st.lists(
    st.tuples(
        st.sampled_from(sorted(KINDS)),
        st.floats(min_value=0, max_value=4e9, allow_nan=False),
        st.text(max_size=8),
        st.dictionaries(st.text(max_size=4), st.one_of(
            st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
            st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=6)),
            max_size=3),
    ),
    min_size=2, max_size=9,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(appends=_appends, tamper=_tampering, data=st.data())
def test_any_single_tampering_is_detected_in_place(
    appends: list[tuple[str, float, str, dict[str, Any]]],
    tamper: tuple[str, str],
    data: st.DataObject,
) -> None:
    s = SqlStore.open("sqlite://")
    try:
        log = AuditLog(s.engine)
        written = [log.append(kind, at, actor, "subj", detail)
                   for kind, at, actor, detail in appends]
        n = len(written)
        mark = anchor(written[-1])
        assert log.verify(anchor=mark).ok
        op, field = tamper
        k = data.draw(st.integers(1, n), label="position")
        latest = k  # the furthest position at which the problem may be reported
        tail_only = False  # only an anchor can see this one
        if op == "edit":
            row = written[k - 1]
            new: object = {
                "detail": json.dumps({**row.detail, "tampered": True}),
                "at": row.at + 1.0,
                "kind": next(kd for kd in sorted(KINDS) if kd != row.kind),
                "actor": row.actor + "x",
                "subject": "other",
                "prev": "1" * 64,
                "hash": "2" * 64,
            }[field]
            sql(s.engine, f"UPDATE audit_log SET {field} = :v WHERE seq = :s", v=new, s=k)
        elif op == "delete":
            sql(s.engine, "DELETE FROM audit_log WHERE seq = :s", s=k)
            tail_only = k == n
        elif op == "swap":
            j = data.draw(st.integers(1, n).filter(lambda x: x != k), label="other")
            swap_rows(s.engine, k, j)
            latest = min(k, j)
        elif op == "forge":
            forge_row(s.engine, log, k)
            latest = min(k + 1, n)
            tail_only = k == n
        else:  # truncate: drop entries k..n
            sql(s.engine, "DELETE FROM audit_log WHERE seq >= :s", s=k)
            tail_only = True
        report = log.verify(anchor=mark)
        assert not report.ok
        assert report.at_seq is not None and report.at_seq <= latest, (op, field, k, report)
        assert report.count == report.at_seq - 1
        if not tail_only:
            unanchored = log.verify()
            assert not unanchored.ok
            assert unanchored.at_seq is not None and unanchored.at_seq <= latest
    finally:
        s.close()
