"""Create the devices and enrollments tables (device identity).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("member", sa.String(64), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("sign_pub", sa.LargeBinary(32), nullable=False),
        sa.Column("dh_pub", sa.LargeBinary(32), nullable=False),
        sa.Column("enrolled_at", sa.Double(), nullable=False),
        sa.Column("revoked_at", sa.Double(), nullable=True),
        sa.Column("revoked_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", name="pk_devices"),
    )
    op.create_index("ix_devices_member", "devices", ["member"])
    op.create_index("ix_devices_updated_at", "devices", ["updated_at"])
    op.create_table(
        "enrollments",
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("member", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("used_at", sa.Double(), nullable=True),
        sa.Column("device_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name="pk_enrollments"),
    )


def downgrade() -> None:
    op.drop_table("enrollments")
    op.drop_index("ix_devices_updated_at", table_name="devices")
    op.drop_index("ix_devices_member", table_name="devices")
    op.drop_table("devices")
