"""trait times (issue 23): when each trait key of a person or account was given

Ingest merges each call's trait keys into the row as stored when it writes, and a newer
call's value of a key wins whichever is written last; that needs each key's time. Rows
stored before have none: their keys count as older than any call.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both backends (SQLite has ADD and DROP COLUMN): a batch copy of
# these tables would drop the one that other tables' foreign keys point at.


def upgrade() -> None:
    for table in ("accounts", "people"):
        op.add_column(
            table, sa.Column("trait_times", sa.JSON(), nullable=False, server_default="{}")
        )


def downgrade() -> None:
    for table in ("people", "accounts"):
        op.drop_column(table, "trait_times")
