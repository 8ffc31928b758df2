"""Storage of election and flood reports: round trips, idempotency by report id, filters, and
migration 0009 on a fresh SQLite file (up and down)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from siaga.election import IncidentKind, Logistics, Relocation, TpsReport, TpsStatus
from siaga.errors import StoreError
from siaga.flood import (
    FloodReport,
    Fulfilment,
    IncidentReport,
    IncidentStatus,
    NeedKind,
    NeedReport,
    ShelterReport,
)
from siaga.store import Store, open_store
from siaga.store.ops_sql import OpsStore
from siaga.store.sql import SqlStore, alembic_config, create_store_engine


@pytest.fixture
def ops(store: Store) -> Iterator[OpsStore]:
    assert isinstance(store, SqlStore)
    yield OpsStore(store.engine)


TPS_REPORTS = [
    TpsReport("t2", "15.06.01.01.001", "gubernur", 20.0, TpsStatus.RELOCATED, 120,
              (IncidentKind.FLOODING, IncidentKind.POWER), Logistics.ARRIVED,
              Relocation("Masjid Al-Ikhlas", -1.11, 103.83), "Pindah — air 40 cm"),
    TpsReport("t1", "15.06.01.01.001", "gubernur", 10.0, TpsStatus.OPEN),
    TpsReport("t3", "15.71.01.01.001", "kpu", 20.0, note="Saksi lengkap"),
]
FLOOD_REPORTS: list[FloodReport] = [
    IncidentReport("f1", "banjir-sabak", "bpbd", 10.0, "15.06", -1.12, 103.82, "Banjir",
                   IncidentStatus.ACTIVE, 80, 1200, 300, "catatan"),
    ShelterReport("f2", "masjid", "banjir-sabak", "bpbd", 11.0, "Masjid", -1.1, 103.8, 200, 50),
    NeedReport("f3", "beras", "banjir-sabak", "bpbd", 12.0, NeedKind.FOOD, 500, "kg", "segera"),
    Fulfilment("f4", "beras", "bpbd", 13.0, 100),
    IncidentReport("f5", "banjir-kota", "bpbd", 5.0, "15.71", -1.6, 103.6, "Genangan"),
]


def fill(ops: OpsStore) -> None:
    for r in TPS_REPORTS:
        assert ops.add_tps_report(r, r.tps[:5])
    for r in FLOOD_REPORTS:
        incident = "banjir-sabak" if r.id != "f5" else "banjir-kota"
        assert ops.add_flood_report(r, incident=incident, regency="15.06" if r.id != "f5"
                                    else "15.71")


def test_round_trip_in_time_order(ops: OpsStore) -> None:
    fill(ops)
    assert ops.tps_reports() == [TPS_REPORTS[1], TPS_REPORTS[0], TPS_REPORTS[2]]
    assert ops.flood_reports() == [FLOOD_REPORTS[4], *FLOOD_REPORTS[:4]]


def test_filters(ops: OpsStore) -> None:
    fill(ops)
    assert [r.id for r in ops.tps_reports(since=15.0)] == ["t2", "t3"]
    assert [r.id for r in ops.tps_reports(regency="15.71")] == ["t3"]
    assert [r.id for r in ops.tps_reports(since=15.0, regency="15.06")] == ["t2"]
    assert [r.id for r in ops.flood_reports(regency="15.06")] == ["f1", "f2", "f3", "f4"]
    assert [r.id for r in ops.flood_reports(since=12.0)] == ["f3", "f4"]


def test_retried_ids_are_stored_once(ops: OpsStore) -> None:
    fill(ops)
    assert not ops.add_tps_report(TPS_REPORTS[0], "15.06")
    assert not ops.add_flood_report(FLOOD_REPORTS[0], incident="banjir-sabak",
                                    regency="15.06")
    assert len(ops.tps_reports()) == 3 and len(ops.flood_reports()) == 5


def test_survives_reopening(tmp_path: Path) -> None:
    first = open_store(tmp_path / "d")
    try:
        assert isinstance(first, SqlStore)
        fill(OpsStore(first.engine))
    finally:
        first.close()
    second = open_store(tmp_path / "d")
    try:
        assert isinstance(second, SqlStore)
        assert len(OpsStore(second.engine).flood_reports()) == 5
    finally:
        second.close()


def test_unreadable_body_and_broken_database(ops: OpsStore) -> None:
    fill(ops)
    with ops.engine.begin() as conn:
        conn.execute(text("UPDATE tps_reports SET body = 'not json' WHERE id = 't1'"))
        conn.execute(text("UPDATE flood_reports SET body = '{\"type\": \"x\"}' WHERE id = 'f1'"))
    with pytest.raises(StoreError, match="tps_reports t1"):
        ops.tps_reports()
    with pytest.raises(StoreError, match="flood_reports f1"):
        ops.flood_reports()
    with ops.engine.begin() as conn:
        conn.execute(text("DROP TABLE tps_reports"))
    with pytest.raises(StoreError, match="cannot read tps_reports"):
        ops.tps_reports()
    with pytest.raises(StoreError, match="cannot store report"):
        ops.add_tps_report(TPS_REPORTS[0], "15.06")


def test_migration_0009_up_and_down_on_a_fresh_file(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0008")
        with engine.connect() as conn:
            assert not inspect(conn).has_table("tps_reports")
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0009")
        with engine.connect() as conn:
            insp = inspect(conn)
            assert {ix["name"]: ix["column_names"]
                    for ix in insp.get_indexes("tps_reports")} == {
                "ix_tps_reports_regency_at": ["regency", "at"],
                "ix_tps_reports_tps_at": ["tps", "at"],
                "ix_tps_reports_reporter": ["reporter"]}
            assert {ix["name"] for ix in insp.get_indexes("flood_reports")} == {
                "ix_flood_reports_incident_at", "ix_flood_reports_regency_at",
                "ix_flood_reports_reporter"}
            version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        assert version == [("0009",)]
        ops = OpsStore(engine)
        fill(ops)
        assert len(ops.tps_reports()) == 3
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0008")
        with engine.connect() as conn:
            assert not inspect(conn).has_table("flood_reports")
            assert inspect(conn).has_table("orders")
    finally:
        engine.dispose()
