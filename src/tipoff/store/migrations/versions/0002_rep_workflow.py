"""rep workflow (issue 3): ownership, claims, snoozes, cooldowns, SLAs, digests

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import tipoff.store.dialect

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_WHEN = tipoff.store.dialect.UTCDateTime(timezone=True)

_ALERT_COLUMNS: list[tuple[str, Any]] = [
    ("owner_user_id", sa.String(length=64)),
    ("owner_email", sa.String(length=320)),
    ("evidence_rules", sa.JSON()),
    ("claimed_by", sa.String(length=64)),
    ("claimed_at", _WHEN),
    ("reminded_at", _WHEN),
    ("escalated_at", _WHEN),
]


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        for name, type_ in _ALERT_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    op.create_table(
        "account_owners",
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("slack_user_id", sa.String(length=64), nullable=False),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("assigned_by", sa.String(length=64), nullable=False),
        sa.Column("assigned_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_owners_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_owners")),
    )
    op.create_index(op.f("ix_account_owners_slack_user_id"), "account_owners", ["slack_user_id"])
    op.create_table(
        "snoozes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("slack_user_id", sa.String(length=64), nullable=False),
        sa.Column("until", _WHEN, nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_snoozes_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snoozes")),
    )
    op.create_index(op.f("ix_snoozes_account_id"), "snoozes", ["account_id"])
    op.create_table(
        "slack_users",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("slack_user_id", sa.String(length=64), nullable=True),
        sa.Column("looked_up_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_slack_users")),
    )
    op.create_table(
        "digests",
        sa.Column("channel", sa.String(length=255), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("sent_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("channel", "day", name=op.f("pk_digests")),
    )


def downgrade() -> None:
    op.drop_table("digests")
    op.drop_table("slack_users")
    op.drop_index(op.f("ix_snoozes_account_id"), table_name="snoozes")
    op.drop_table("snoozes")
    op.drop_index(op.f("ix_account_owners_slack_user_id"), table_name="account_owners")
    op.drop_table("account_owners")
    with op.batch_alter_table("alerts") as batch:
        for name, _ in reversed(_ALERT_COLUMNS):
            batch.drop_column(name)
