"""Roll calls and their answers.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rollcalls",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("talkgroup", sa.String(64), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("deadline", sa.Double(), nullable=False),
        sa.Column("closed_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rollcalls"),
    )
    op.create_index("ix_rollcalls_talkgroup_started_at", "rollcalls", ["talkgroup", "started_at"])
    op.create_table(
        "rollcall_answers",
        sa.Column("rollcall_id", sa.String(64), nullable=False),
        sa.Column("member", sa.String(64), nullable=False),
        sa.Column("answered_at", sa.Double(), nullable=True),
        sa.Column("via", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("rollcall_id", "member", name="pk_rollcall_answers"),
    )


def downgrade() -> None:
    op.drop_table("rollcall_answers")
    op.drop_index("ix_rollcalls_talkgroup_started_at", table_name="rollcalls")
    op.drop_table("rollcalls")
