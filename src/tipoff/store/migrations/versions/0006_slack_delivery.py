"""Slack delivery (issue 15): failed alerts, the workspace's posting pause, other failed posts

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tipoff.store.dialect

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_WHEN = tipoff.store.dialect.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("failure_reason", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("failed_at", _WHEN, nullable=True))
    op.create_table(
        "slack_workspace",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paused_reason", sa.String(length=64), nullable=True),
        sa.Column("paused_detail", sa.Text(), nullable=True),
        sa.Column("paused_at", _WHEN, nullable=True),
        sa.Column("checked_at", _WHEN, nullable=True),
        sa.Column("resumed_at", _WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_workspace")),
    )
    op.create_table(
        "slack_failures",
        sa.Column("id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("failed_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_failures")),
    )
    op.create_index(
        op.f("ix_slack_failures_failed_at"), "slack_failures", ["failed_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_slack_failures_failed_at"), table_name="slack_failures")
    op.drop_table("slack_failures")
    op.drop_table("slack_workspace")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("failed_at")
        batch.drop_column("failure_reason")
