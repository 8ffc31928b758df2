"""Direct (one-to-one) messages: the recipient, and the content sealed per device.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("to_member", sa.String(64), nullable=True))
        batch.add_column(sa.Column("sealed_for", sa.Text(), nullable=True))
    op.create_index("ix_messages_to_member_sent_at", "messages", ["to_member", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_to_member_sent_at", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("sealed_for")
        batch.drop_column("to_member")
