"""CRM sync (issue 22): deals kept until their company can be placed

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tipoff.store.dialect

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_WHEN = tipoff.store.dialect.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "crm_pending_deals",
        sa.Column("id", _ID, nullable=False),
        sa.Column("crm", sa.String(length=20), nullable=False),
        sa.Column("deal_id", sa.String(length=64), nullable=False),
        sa.Column("deal", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("since", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_pending_deals")),
        sa.UniqueConstraint("crm", "deal_id", name="uq_crm_pending_deals_crm_deal_id"),
    )


def downgrade() -> None:
    op.drop_table("crm_pending_deals")
