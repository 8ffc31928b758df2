"""Election (TPS) and flood field reports: append-only, one row per report id.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tps_reports",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("tps", sa.String(64), nullable=False),
        sa.Column("regency", sa.String(16), nullable=False),
        sa.Column("reporter", sa.String(64), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tps_reports"),
    )
    op.create_index("ix_tps_reports_regency_at", "tps_reports", ["regency", "at"])
    op.create_index("ix_tps_reports_tps_at", "tps_reports", ["tps", "at"])
    op.create_index("ix_tps_reports_reporter", "tps_reports", ["reporter"])
    op.create_table(
        "flood_reports",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("incident", sa.String(64), nullable=False),
        sa.Column("regency", sa.String(16), nullable=False),
        sa.Column("reporter", sa.String(64), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_flood_reports"),
    )
    op.create_index("ix_flood_reports_incident_at", "flood_reports", ["incident", "at"])
    op.create_index("ix_flood_reports_regency_at", "flood_reports", ["regency", "at"])
    op.create_index("ix_flood_reports_reporter", "flood_reports", ["reporter"])


def downgrade() -> None:
    op.drop_index("ix_flood_reports_reporter", table_name="flood_reports")
    op.drop_index("ix_flood_reports_regency_at", table_name="flood_reports")
    op.drop_index("ix_flood_reports_incident_at", table_name="flood_reports")
    op.drop_table("flood_reports")
    op.drop_index("ix_tps_reports_reporter", table_name="tps_reports")
    op.drop_index("ix_tps_reports_tps_at", table_name="tps_reports")
    op.drop_index("ix_tps_reports_regency_at", table_name="tps_reports")
    op.drop_table("tps_reports")
