"""CRM sync (issue 22): CRM account records, what was written onto them, cursors, runs

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tipoff.store.dialect

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_WHEN = tipoff.store.dialect.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "crm_records",
        sa.Column("id", _ID, nullable=False),
        sa.Column("crm", sa.String(length=20), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("owner_email", sa.String(length=320), nullable=True),
        sa.Column("modified_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_records")),
        sa.UniqueConstraint("crm", "record_id", name="uq_crm_records_crm_record_id"),
    )
    op.create_index("ix_crm_records_domain", "crm_records", ["crm", "domain"], unique=False)
    op.create_table(
        "crm_writes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("crm", sa.String(length=20), nullable=False),
        sa.Column("account_id", _ID, nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("track", sa.String(length=20), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("scored_at", _WHEN, nullable=False),
        sa.Column("written_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_crm_writes_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_writes")),
        sa.UniqueConstraint("crm", "account_id", name="uq_crm_writes_crm_account_id"),
    )
    op.create_table(
        "crm_cursors",
        sa.Column("id", _ID, nullable=False),
        sa.Column("crm", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("cursor", sa.String(length=255), nullable=False),
        sa.Column("saved_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_cursors")),
        sa.UniqueConstraint("crm", "kind", name="uq_crm_cursors_crm_kind"),
    )
    op.create_table(
        "crm_runs",
        sa.Column("id", _ID, nullable=False),
        sa.Column("crm", sa.String(length=20), nullable=False),
        sa.Column("started_at", _WHEN, nullable=False),
        sa.Column("finished_at", _WHEN, nullable=False),
        sa.Column("written", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("unmatched", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("outcomes", sa.Integer(), nullable=False),
        sa.Column("owners", sa.Integer(), nullable=False),
        sa.Column("stopped", sa.Text(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_runs")),
    )
    op.create_index("ix_crm_runs_crm", "crm_runs", ["crm", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_crm_runs_crm", table_name="crm_runs")
    op.drop_table("crm_runs")
    op.drop_table("crm_cursors")
    op.drop_table("crm_writes")
    op.drop_index("ix_crm_records_domain", table_name="crm_records")
    op.drop_table("crm_records")
