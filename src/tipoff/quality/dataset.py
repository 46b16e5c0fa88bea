"""What the quality loop reads: accounts with their signals (outcomes included), the
alerts that were queued, and reps' verdicts. Read once, in one unit of work, into plain
data that the report, the backtest and calibration compute on without the database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.core.history import AccountHistory
from tipoff.model.schema import Category, ScoringModel
from tipoff.store import queries
from tipoff.store.tables import accounts, alerts, feedback

# An account "converts" when an opportunity is opened for it; a won deal implies one
# (CRMs that export only closed deals still count).
CONVERSION_EVENTS = ("Opportunity Created", "Deal Won")
OUTCOME_EVENTS = ("Opportunity Created", "Deal Won", "Deal Lost")


@dataclass(frozen=True, slots=True)
class AlertRecord:
    id: int
    account_id: int
    track: str
    score: int
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class Verdict:
    id: int
    alert_id: int | None
    account_id: int
    user: str
    verdict: str  # right | wrong | claim | snooze
    reason: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class QualityData:
    histories: Mapping[int, AccountHistory]
    alerts: list[AlertRecord]
    verdicts: list[Verdict]

    def conversions(self, account_id: int) -> list[datetime]:
        """When the account converted (oldest first)."""
        history = self.histories.get(account_id)
        if history is None:
            return []
        return sorted(s.occurred_at for s in history.signals if s.event in CONVERSION_EVENTS)

    def first_activity(
        self, account_id: int, model: ScoringModel, since: datetime
    ) -> datetime | None:
        """The account's first product or marketing signal at or after `since`."""
        history = self.histories[account_id]
        times = [
            s.occurred_at
            for s in history.signals
            if s.occurred_at >= since
            and model.events.category_of(s.event) in (Category.PRODUCT, Category.MARKETING)
        ]
        return min(times) if times else None


async def load(conn: AsyncConnection, *, since: datetime, lookback: timedelta) -> QualityData:
    """Everything from `since` on, plus `lookback` of signals before it (a score at
    `since` needs them)."""
    ids = [
        int(i)
        for i in (await conn.execute(select(accounts.c.id).order_by(accounts.c.id))).scalars()
    ]
    histories = await queries.load_histories(conn, ids, since=since - lookback)
    alert_rows = await conn.execute(
        select(
            alerts.c.id,
            alerts.c.account_id,
            alerts.c.track,
            alerts.c.score,
            alerts.c.created_at,
            alerts.c.sent_at,
        )
        .where(alerts.c.created_at >= since)
        .order_by(alerts.c.created_at, alerts.c.id)
    )
    verdict_rows = await conn.execute(
        select(feedback).where(feedback.c.created_at >= since).order_by(feedback.c.id)
    )
    return QualityData(
        histories=histories,
        alerts=[
            AlertRecord(r.id, r.account_id, r.track, r.score, r.created_at, r.sent_at)
            for r in alert_rows
        ],
        verdicts=[
            Verdict(
                r.id,
                r.alert_id,
                r.account_id,
                r.slack_user_name or r.slack_user_id,
                r.verdict,
                r.reason,
                r.created_at,
            )
            for r in verdict_rows
        ],
    )


def newest_verdicts(verdicts: Iterable[Verdict], *, key_on_alert: bool = True) -> list[Verdict]:
    """Each rep's newest Right/Wrong on each alert (or, for verdicts given outside an alert
    or with `key_on_alert` False, on each account): a rep who changed their mind counts
    once, with their last answer."""
    newest: dict[tuple[object, str], Verdict] = {}
    for v in sorted(verdicts, key=lambda v: (v.created_at, v.id)):
        if v.verdict not in ("right", "wrong"):
            continue
        target: object = (
            ("alert", v.alert_id)
            if key_on_alert and v.alert_id is not None
            else ("account", v.account_id)
        )
        newest[(target, v.user)] = v
    return sorted(newest.values(), key=lambda v: (v.created_at, v.id))


def segment_of(employees: int | None) -> str:
    """The size segment sales teams split by: SMB under 200 people, mid-market under
    1,000, enterprise above."""
    if employees is None:
        return "unknown size"
    if employees < 200:
        return "SMB (<200)"
    if employees < 1000:
        return "mid-market (200–999)"
    return "enterprise (1000+)"
