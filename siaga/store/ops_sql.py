"""Field reports of election and flood operations: append-only, idempotent by report id.

Boards are folds of every report, so the store keeps reports, never derived state: a board
is rebuilt from :meth:`OpsStore.tps_reports` / :meth:`OpsStore.flood_reports` at start and
kept current by the hub. A retried report (same id) is stored once; ``add_*`` then returns
False so the adapter acknowledges it again without counting it twice. The body is the
report's JSON (``to_dict``); the indexed columns are copies for filtering.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Double, Engine, Index, String, Table, Text, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from ..election import TpsReport
from ..errors import SiagaError, StoreError
from ..flood import FloodReport, flood_report_from_dict, flood_report_to_dict
from .sql import Base

T = TypeVar("T")


class TpsReportRow(Base):
    """Mirrors migration 0009."""

    __tablename__ = "tps_reports"
    __table_args__ = (
        Index("ix_tps_reports_regency_at", "regency", "at"),
        Index("ix_tps_reports_tps_at", "tps", "at"),
        Index("ix_tps_reports_reporter", "reporter"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tps: Mapped[str] = mapped_column(String(64))
    regency: Mapped[str] = mapped_column(String(16))
    reporter: Mapped[str] = mapped_column(String(64))
    at: Mapped[float] = mapped_column(Double)
    body: Mapped[str] = mapped_column(Text)


class FloodReportRow(Base):
    """Mirrors migration 0009. ``kind`` is the report type (incident, shelter, need,
    fulfilment); ``incident`` is the incident it belongs to, a delivery's through its need."""

    __tablename__ = "flood_reports"
    __table_args__ = (
        Index("ix_flood_reports_incident_at", "incident", "at"),
        Index("ix_flood_reports_regency_at", "regency", "at"),
        Index("ix_flood_reports_reporter", "reporter"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    incident: Mapped[str] = mapped_column(String(64))
    regency: Mapped[str] = mapped_column(String(16))
    reporter: Mapped[str] = mapped_column(String(64))
    at: Mapped[float] = mapped_column(Double)
    body: Mapped[str] = mapped_column(Text)


_TPS: Table = TpsReportRow.__table__  # type: ignore[assignment]
_FLOOD: Table = FloodReportRow.__table__  # type: ignore[assignment]


class OpsStore:
    """Election and flood reports over the store's engine (``SqlStore.engine``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()

    def add_tps_report(self, report: TpsReport, regency: str) -> bool:
        """Store a checked report (``regency`` is its TPS's); False for a retried id."""
        return self._insert(_TPS, report.id, {
            "tps": report.tps, "regency": regency, "reporter": report.reporter,
            "at": report.at, "body": json.dumps(report.to_dict())})

    def add_flood_report(self, report: FloodReport, *, incident: str, regency: str) -> bool:
        """Store a checked report with its scope (``check_flood_report``'s answer);
        False for a retried id."""
        body = flood_report_to_dict(report)
        return self._insert(_FLOOD, report.id, {
            "kind": body["type"], "incident": incident, "regency": regency,
            "reporter": report.reporter, "at": report.at, "body": json.dumps(body)})

    def tps_reports(self, since: float | None = None,
                    regency: str | None = None) -> list[TpsReport]:
        """Reports in time order (ties by id), optionally from ``since`` on and of one
        regency."""
        return self._read(_TPS, since, regency, TpsReport.from_dict)

    def flood_reports(self, since: float | None = None,
                      regency: str | None = None) -> list[FloodReport]:
        """Reports in time order (ties by id). A board needs them all: a partial history
        (``since``) suits feeds of what changed."""
        return self._read(_FLOOD, since, regency, flood_report_from_dict)

    def _insert(self, table: Table, report_id: str, values: dict[str, Any]) -> bool:
        with self._lock:
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(table).values(id=report_id, **values))
                    return True
            except IntegrityError:
                return False
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot store report {report_id}: {exc}") from exc

    def _read(self, table: Table, since: float | None, regency: str | None,
              decode: Callable[[dict[str, Any]], T]) -> list[T]:
        query = select(table.c.id, table.c.body).order_by(table.c.at, table.c.id)
        if since is not None:
            query = query.where(table.c.at >= since)
        if regency is not None:
            query = query.where(table.c.regency == regency)
        with self._lock:
            try:
                with self.engine.connect() as conn:
                    rows = conn.execute(query).all()
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot read {table.name}: {exc}") from exc
        out = []
        for row in rows:
            try:
                out.append(decode(json.loads(row.body)))
            except (ValueError, SiagaError) as exc:
                raise StoreError(f"{table.name} {row.id}: stored body does not decode: "
                                 f"{exc}") from exc
        return out


__all__ = ["FloodReportRow", "OpsStore", "TpsReportRow"]
