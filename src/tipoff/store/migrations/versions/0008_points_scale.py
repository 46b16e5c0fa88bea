"""scores in points (issue 14): stored scores capped at 100 become the account's points

Scores used to be clamped to 0-100; they are now the account's points with no top
(core.scoring.score_of). Left as they were, the first rescore after the upgrade would
move every saturated account from 100 to its points: a new score-history row, a "top
mover" in the digest, and, once its cooldown is over, a second alert "score up 45 since
the last alert" for an account where nothing happened.

So, for each account stored at 100 whose unclamped points (`scores.raw_points`) are
higher: its score, its newest score-history row and its newest alert, each where it
reads 100, take its points. Under the old scale such an account could not alert again on
a jump, so a jump is measured from the upgrade instead. Older history rows and alerts at
100 keep it: their unclamped points were never stored. The alert messages already posted
are not touched.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OLD_TOP = 100


def upgrade() -> None:
    conn = op.get_bind()
    saturated = conn.execute(
        sa.text(
            "SELECT account_id, raw_points FROM scores WHERE score = :top AND raw_points > :top"
        ),
        {"top": OLD_TOP},
    ).all()
    # score_of's rounding (Python's, to even), not the database's, so the stored scores are
    # the ones a rescore would write.
    points = [
        {"account_id": account_id, "score": round(raw), "top": OLD_TOP}
        for account_id, raw in saturated
        if round(raw) > OLD_TOP
    ]
    if not points:
        return
    conn.execute(sa.text("UPDATE scores SET score = :score WHERE account_id = :account_id"), points)
    for table in ("score_history", "alerts"):  # the newest row is the one compared with
        conn.execute(
            sa.text(
                f"UPDATE {table} SET score = :score WHERE score = :top AND id ="  # noqa: S608
                f" (SELECT max(id) FROM {table} WHERE account_id = :account_id)"
            ),
            points,
        )


def downgrade() -> None:
    for table in ("scores", "score_history", "alerts"):
        op.execute(f"UPDATE {table} SET score = {OLD_TOP} WHERE score > {OLD_TOP}")  # noqa: S608
