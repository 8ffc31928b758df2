"""Messages and their per-recipient deliveries (store-and-forward).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("talkgroup", sa.String(64), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("sender_device", sa.String(64), nullable=False),
        sa.Column("sent_at", sa.Double(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("status", sa.String(64), nullable=True),
        sa.Column("sealed", sa.Text(), nullable=True),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_messages"),
        sa.UniqueConstraint("id", name="uq_messages_id"),
    )
    op.create_index("ix_messages_sender_sent_at", "messages", ["sender", "sent_at"])
    op.create_table(
        "deliveries",
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("delivered_at", sa.Double(), nullable=True),
        sa.Column("read_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("message_id", "recipient", name="pk_deliveries"),
    )
    op.create_index("ix_deliveries_recipient_delivered_at", "deliveries",
                    ["recipient", "delivered_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_recipient_delivered_at", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_messages_sender_sent_at", table_name="messages")
    op.drop_table("messages")
