"""Tests for the storage layer (SQLite backend through the public interface)."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select

from siaga.errors import ErrorCode, StoreError
from siaga.store import (
    DATA_DIR_ENV,
    OUTCOMES,
    NewRecording,
    Recording,
    Store,
    data_dir,
    open_store,
)
from siaga.store.sql import Base, RecordingRow, SqlStore


def new(
    *,
    talkgroup: str = "bpbd-jambi",
    member: str = "op-01",
    started_at: float = 1_700_000_000.0,
    stream: int = 1,
    emergency: bool = False,
    path: str = "rec/2023/a.ogg",
    priority: int = 5,
) -> NewRecording:
    return NewRecording(
        stream=stream,
        talkgroup=talkgroup,
        member=member,
        member_name=f"Operator {member}",
        priority=priority,
        emergency=emergency,
        started_at=started_at,
        path=path,
    )


def as_sql(store: Store) -> SqlStore:
    assert isinstance(store, SqlStore)
    return store


def row_count(store: Store) -> int:
    with as_sql(store).engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(RecordingRow)).scalar_one())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "data")
    try:
        yield s
    finally:
        s.close()


# --- basic lifecycle -------------------------------------------------------------------


def test_add_then_get_returns_open_recording(store: Store) -> None:
    rec_id = store.add_recording(new(emergency=True, priority=9))
    got = store.get_recording(rec_id)
    assert got == Recording(
        id=rec_id,
        stream=1,
        talkgroup="bpbd-jambi",
        member="op-01",
        member_name="Operator op-01",
        priority=9,
        emergency=True,
        started_at=1_700_000_000.0,
        path="rec/2023/a.ogg",
        ended_at=None,
        outcome=None,
        frames=0,
        size_bytes=0,
    )
    assert got.duration is None


def test_finish_sets_outcome_and_duration(store: Store) -> None:
    rec_id = store.add_recording(new(started_at=100.0))
    store.finish_recording(rec_id, ended_at=112.25, outcome="preempted", frames=612, size_bytes=9)
    got = store.get_recording(rec_id)
    assert (got.ended_at, got.outcome, got.frames, got.size_bytes) == (112.25, "preempted", 612, 9)
    assert got.duration == pytest.approx(12.25)


def test_ids_are_distinct_and_increasing(store: Store) -> None:
    ids = [store.add_recording(new(started_at=float(i))) for i in range(5)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 5


def test_get_missing_raises_clear_error(store: Store) -> None:
    with pytest.raises(StoreError, match="no recording with id 4242") as info:
        store.get_recording(4242)
    assert info.value.code is ErrorCode.STORE


def test_finish_missing_raises(store: Store) -> None:
    with pytest.raises(StoreError, match="no recording with id 7"):
        store.finish_recording(7, ended_at=1.0, outcome="completed", frames=0, size_bytes=0)


def test_finish_twice_is_rejected_and_first_result_kept(store: Store) -> None:
    rec_id = store.add_recording(new(started_at=10.0))
    store.finish_recording(rec_id, ended_at=11.0, outcome="completed", frames=5, size_bytes=50)
    with pytest.raises(StoreError, match="already finished"):
        store.finish_recording(rec_id, ended_at=12.0, outcome="timed_out", frames=6, size_bytes=60)
    got = store.get_recording(rec_id)
    assert (got.ended_at, got.outcome, got.frames) == (11.0, "completed", 5)


def test_finish_before_start_is_rejected(store: Store) -> None:
    rec_id = store.add_recording(new(started_at=10.0))
    with pytest.raises(StoreError, match="before it started"):
        store.finish_recording(rec_id, ended_at=9.0, outcome="completed", frames=0, size_bytes=0)
    assert store.get_recording(rec_id).ended_at is None


@pytest.mark.parametrize("outcome", sorted(OUTCOMES))
def test_every_known_outcome_is_accepted(store: Store, outcome: str) -> None:
    rec_id = store.add_recording(new())
    store.finish_recording(
        rec_id, ended_at=1_700_000_001.0, outcome=outcome, frames=1, size_bytes=1
    )
    assert store.get_recording(rec_id).outcome == outcome


# --- listing -------------------------------------------------------------------------------


def test_list_is_newest_first_with_stable_ties(store: Store) -> None:
    a = store.add_recording(new(started_at=10.0))
    b = store.add_recording(new(started_at=30.0))
    c = store.add_recording(new(started_at=20.0))
    d = store.add_recording(new(started_at=30.0))
    assert [r.id for r in store.list_recordings()] == [d, b, c, a]


def test_list_filters(store: Store) -> None:
    ids: dict[tuple[str, str, float], int] = {}
    for tg in ("tg-a", "tg-b"):
        for member in ("m1", "m2"):
            for t in (10.0, 20.0, 30.0):
                ids[(tg, member, t)] = store.add_recording(
                    new(talkgroup=tg, member=member, started_at=t)
                )

    def expect(keys: list[tuple[str, str, float]]) -> list[int]:
        return [ids[k] for k in sorted(keys, key=lambda k: (k[2], ids[k]), reverse=True)]

    by_tg = store.list_recordings(talkgroup="tg-a")
    assert [r.id for r in by_tg] == expect([k for k in ids if k[0] == "tg-a"])
    by_member = store.list_recordings(member="m2")
    assert [r.id for r in by_member] == expect([k for k in ids if k[1] == "m2"])
    both = store.list_recordings(talkgroup="tg-b", member="m1")
    assert [r.id for r in both] == expect([k for k in ids if k[:2] == ("tg-b", "m1")])
    # since is inclusive, until exclusive
    window = store.list_recordings(since=20.0, until=30.0)
    assert [r.id for r in window] == expect([k for k in ids if k[2] == 20.0])
    assert store.list_recordings(talkgroup="nope") == []
    limited = store.list_recordings(limit=3)
    assert [r.id for r in limited] == expect(list(ids))[:3]


# --- recovery ------------------------------------------------------------------------------


def test_recover_unfinished_marks_only_open_ones(store: Store) -> None:
    done = store.add_recording(new(started_at=10.0))
    store.finish_recording(done, ended_at=11.0, outcome="completed", frames=1, size_bytes=1)
    open1 = store.add_recording(new(started_at=20.0))
    open2 = store.add_recording(new(started_at=30.0))

    assert store.recover_unfinished(100.0) == 2
    for rec_id in (open1, open2):
        got = store.get_recording(rec_id)
        assert (got.outcome, got.ended_at) == ("interrupted", 100.0)
    assert store.get_recording(done).outcome == "completed"
    assert store.get_recording(done).ended_at == 11.0
    assert store.recover_unfinished(200.0) == 0


def test_recover_never_ends_before_start(store: Store) -> None:
    rec_id = store.add_recording(new(started_at=500.0))
    assert store.recover_unfinished(400.0) == 1  # clock stepped back across a crash
    got = store.get_recording(rec_id)
    assert got.ended_at == 500.0
    assert got.duration == 0.0


# --- validation ----------------------------------------------------------------------------

BAD_NEW = [
    pytest.param({"talkgroup": ""}, "talkgroup", id="empty-talkgroup"),
    pytest.param({"talkgroup": "   "}, "talkgroup", id="blank-talkgroup"),
    pytest.param({"member": ""}, "member", id="empty-member"),
    pytest.param({"stream": -1}, "stream", id="negative-stream"),
    pytest.param({"started_at": float("nan")}, "started_at", id="nan-start"),
    pytest.param({"started_at": float("inf")}, "started_at", id="inf-start"),
    pytest.param({"started_at": -5.0}, "started_at", id="negative-start"),
    pytest.param({"path": ""}, "path", id="empty-path"),
    pytest.param({"path": "/etc/passwd"}, "inside the data directory", id="absolute-path"),
    pytest.param({"path": "../x.ogg"}, "inside the data directory", id="escaping-path"),
    pytest.param({"path": "C:\\x.ogg"}, "inside the data directory", id="windows-path"),
    pytest.param({"emergency": 1}, "emergency", id="non-bool-emergency"),
]


@pytest.mark.parametrize(("change", "message"), BAD_NEW)
def test_invalid_new_recording_rejected_and_not_stored(
    store: Store, change: dict[str, Any], message: str
) -> None:
    bad = dataclasses.replace(new(), **change)
    with pytest.raises(StoreError, match=message):
        store.add_recording(bad)
    assert row_count(store) == 0


BAD_FINISH = [
    pytest.param({"outcome": "exploded"}, "unknown outcome", id="unknown-outcome"),
    pytest.param({"outcome": ""}, "unknown outcome", id="empty-outcome"),
    pytest.param({"frames": -1}, "frames", id="negative-frames"),
    pytest.param({"size_bytes": -1}, "size_bytes", id="negative-size"),
    pytest.param({"ended_at": float("nan")}, "ended_at", id="nan-end"),
]


@pytest.mark.parametrize(("change", "message"), BAD_FINISH)
def test_invalid_finish_rejected_and_nothing_changed(
    store: Store, change: dict[str, Any], message: str
) -> None:
    rec_id = store.add_recording(new(started_at=1.0))
    kwargs: dict[str, Any] = {
        "ended_at": 2.0,
        "outcome": "completed",
        "frames": 1,
        "size_bytes": 1,
    }
    kwargs.update(change)
    with pytest.raises(StoreError, match=message):
        store.finish_recording(rec_id, **kwargs)
    assert store.get_recording(rec_id) == store.list_recordings()[0]
    got = store.get_recording(rec_id)
    assert (got.ended_at, got.outcome, got.frames, got.size_bytes) == (None, None, 0, 0)
    assert row_count(store) == 1


@pytest.mark.parametrize("limit", [0, -1])
def test_invalid_limit_rejected(store: Store, limit: int) -> None:
    with pytest.raises(StoreError, match="limit"):
        store.list_recordings(limit=limit)


def test_closed_store_raises_store_error(tmp_path: Path) -> None:
    s = open_store(tmp_path)
    s.close()
    s.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        s.list_recordings()


# --- opening, migrations, data directory ------------------------------------------------


@pytest.mark.sqlite_only
def test_reopening_data_dir_keeps_data(tmp_path: Path) -> None:
    first = open_store(tmp_path / "d")
    try:
        rec_id = first.add_recording(new())
        first.finish_recording(
            rec_id, ended_at=1_700_000_003.0, outcome="completed", frames=3, size_bytes=30
        )
    finally:
        first.close()
    assert (tmp_path / "d" / "siaga.db").is_file()

    second = open_store(tmp_path / "d")  # runs migrations again: must be a no-op
    try:
        got = second.get_recording(rec_id)
        assert (got.outcome, got.frames) == ("completed", 3)
        assert row_count(second) == 1
        with as_sql(second).engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        assert version == [("0010",)]
    finally:
        second.close()


def test_sqlite_url_is_used_as_is(tmp_path: Path) -> None:
    db = tmp_path / "custom.db"
    s = open_store(f"sqlite:///{db}")
    try:
        s.add_recording(new())
    finally:
        s.close()
    with sqlite3.connect(db) as raw:
        count = raw.execute("SELECT count(*) FROM recordings").fetchone()
    raw.close()
    assert count == (1,)


@pytest.mark.sqlite_only
def test_sqlite_pragmas_applied(store: Store) -> None:
    with as_sql(store).engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_schema_has_expected_indexes(store: Store) -> None:
    with as_sql(store).engine.connect() as conn:
        indexes = {ix["name"]: ix["column_names"] for ix in inspect(conn).get_indexes("recordings")}
    assert indexes == {
        "ix_recordings_talkgroup_started_at": ["talkgroup", "started_at"],
        "ix_recordings_member_started_at": ["member", "started_at"],
    }


def test_models_match_migrations() -> None:
    s = open_store("sqlite://")
    try:
        with as_sql(s).engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        s.close()
    assert diff == []


@pytest.mark.parametrize("url", ["mysql://u@h/db", "ftp://example.org/x"])
def test_unsupported_url_rejected(url: str) -> None:
    with pytest.raises(StoreError, match="unsupported"):
        open_store(url)


def test_data_dir_explicit_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "from-env"))
    got = data_dir(tmp_path / "explicit" / "nested")
    assert got == tmp_path / "explicit" / "nested"
    assert got.is_dir()
    assert not (tmp_path / "from-env").exists()


def test_data_dir_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "from-env"))
    got = data_dir()
    assert got == tmp_path / "from-env"
    assert got.is_dir()


def test_data_dir_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    got = data_dir()
    assert got == tmp_path / "siaga-data"
    assert got.is_dir()


def test_data_dir_that_is_a_file_raises(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create data directory"):
        data_dir(blocker / "sub")


@pytest.mark.sqlite_only
def test_open_store_with_env_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env"))
    s = open_store(data_dir())
    s.close()
    assert (tmp_path / "env" / "siaga.db").is_file()


# --- threads ---------------------------------------------------------------------------


def test_usable_from_worker_thread(store: Store) -> None:
    main_id = store.add_recording(new(started_at=1.0))
    with ThreadPoolExecutor(max_workers=1) as pool:
        worker_ident = pool.submit(threading.get_ident).result()
        assert worker_ident != threading.get_ident()
        worker_id = pool.submit(store.add_recording, new(started_at=2.0)).result()
        pool.submit(
            lambda: store.finish_recording(
                main_id, ended_at=3.0, outcome="completed", frames=1, size_bytes=2
            )
        ).result()
        listed = pool.submit(store.list_recordings).result()
    assert [r.id for r in listed] == [worker_id, main_id]
    assert store.get_recording(main_id).outcome == "completed"


def test_in_memory_store_shared_across_threads() -> None:
    s = open_store("sqlite://")
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            ids = list(pool.map(lambda i: s.add_recording(new(started_at=float(i))), range(40)))
        assert len(set(ids)) == 40
        assert len(s.list_recordings(limit=1000)) == 40
    finally:
        s.close()


# --- model-based property test ---------------------------------------------------------

_talkgroups = st.sampled_from(["tg-a", "tg-b", "tg-c"])
_members = st.sampled_from(["m1", "m2"])
_times = st.integers(min_value=0, max_value=50).map(float)

_add = st.builds(
    lambda tg, m, t: ("add", tg, m, t),
    _talkgroups,
    _members,
    _times,
)
_finish = st.builds(
    lambda idx, dt, outcome, frames: ("finish", idx, dt, outcome, frames),
    st.integers(min_value=0, max_value=30),
    st.integers(min_value=0, max_value=10).map(float),
    st.sampled_from(sorted(OUTCOMES)),
    st.integers(min_value=0, max_value=10_000),
)
_query = st.fixed_dictionaries(
    {},
    optional={
        "talkgroup": _talkgroups,
        "member": _members,
        "since": _times,
        "until": _times,
        "limit": st.integers(min_value=1, max_value=40),
    },
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(ops=st.lists(st.one_of(_add, _finish), max_size=30), queries=st.lists(_query, max_size=5))
def test_matches_in_memory_model(ops: list[tuple[Any, ...]], queries: list[dict[str, Any]]) -> None:
    s = open_store("sqlite://")
    model: dict[int, Recording] = {}
    order: list[int] = []
    try:
        for op in ops:
            if op[0] == "add":
                _, tg, member, t = op
                rec = new(talkgroup=tg, member=member, started_at=t)
                rec_id = s.add_recording(rec)
                assert rec_id not in model
                model[rec_id] = Recording(
                    id=rec_id,
                    **{f.name: getattr(rec, f.name) for f in dataclasses.fields(rec)},
                    ended_at=None,
                    outcome=None,
                    frames=0,
                    size_bytes=0,
                )
                order.append(rec_id)
            else:
                _, idx, dt, outcome, frames = op
                if not order:
                    continue
                rec_id = order[idx % len(order)]
                current = model[rec_id]
                end = current.started_at + dt
                if current.ended_at is not None:
                    with pytest.raises(StoreError, match="already finished"):
                        s.finish_recording(
                            rec_id, ended_at=end, outcome=outcome, frames=frames, size_bytes=1
                        )
                    continue
                s.finish_recording(
                    rec_id, ended_at=end, outcome=outcome, frames=frames, size_bytes=frames * 2
                )
                model[rec_id] = dataclasses.replace(
                    current, ended_at=end, outcome=outcome, frames=frames, size_bytes=frames * 2
                )

        for q in [{}, *queries]:
            limit = q.get("limit", 100)
            expected = [
                r
                for r in model.values()
                if q.get("talkgroup") in (None, r.talkgroup)
                and q.get("member") in (None, r.member)
                and ("since" not in q or r.started_at >= q["since"])
                and ("until" not in q or r.started_at < q["until"])
            ]
            expected.sort(key=lambda r: (r.started_at, r.id), reverse=True)
            assert s.list_recordings(**q) == expected[:limit]
        for rec_id, stored in model.items():
            assert s.get_recording(rec_id) == stored
    finally:
        s.close()


def test_sqlite_ddl_is_transactional(tmp_path: Path) -> None:
    """A failed migration must not leave a half-built schema behind."""
    from siaga.store.sql import create_store_engine

    engine = create_store_engine(f"sqlite:///{tmp_path / 'tx.db'}")
    try:
        with pytest.raises(RuntimeError), engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE half_done (x INTEGER)")
            raise RuntimeError("migration step failed")
        with engine.connect() as conn:
            assert not inspect(conn).has_table("half_done")
    finally:
        engine.dispose()


def test_compare_metadata_would_notice_drift() -> None:
    """Guard the guard: a model change without a migration must show up as a diff."""
    from sqlalchemy import Column, MetaData, String

    drifted = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["recordings"].append_column(Column("extra", String(10)))
    s = open_store("sqlite://")
    try:
        with as_sql(s).engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, drifted)
    finally:
        s.close()
    assert [d[0] for d in diff] == ["add_column"]
