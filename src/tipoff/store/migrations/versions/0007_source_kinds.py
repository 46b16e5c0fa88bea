"""destinations (issue 16): sources that receive Segment, RudderStack or PostHog webhooks

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=30), nullable=False, server_default="api")
        )
        batch.add_column(sa.Column("auth_header", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("secret_salt", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("secret_salt")
        batch.drop_column("auth_header")
        batch.drop_column("kind")
