"""Create the recordings table.

Written out by hand rather than imported from the models: a migration is history and must
not change when the models do.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("stream", sa.Integer(), nullable=False),
        sa.Column("talkgroup", sa.String(64), nullable=False),
        sa.Column("member", sa.String(64), nullable=False),
        sa.Column("member_name", sa.String(200), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("ended_at", sa.Double(), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recordings"),
    )
    op.create_index("ix_recordings_talkgroup_started_at", "recordings", ["talkgroup", "started_at"])
    op.create_index("ix_recordings_member_started_at", "recordings", ["member", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_recordings_member_started_at", table_name="recordings")
    op.drop_index("ix_recordings_talkgroup_started_at", table_name="recordings")
    op.drop_table("recordings")
