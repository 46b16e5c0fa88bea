"""What the quality loop reads: accounts with their signals (outcomes included), the
alerts that were queued, and reps' verdicts. Read once, in one unit of work, into plain
data that the report, the backtest and calibration compute on without the database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from tipoff.core.history import AccountHistory
from tipoff.core.scoring_model import Category, ScoringModel
from tipoff.store.accounts import all_account_ids
from tipoff.store.alerts import AlertRecord, alerts_queued_since
from tipoff.store.db import Connection
from tipoff.store.feedback import verdicts_given_since
from tipoff.store.histories import load_histories

# An account "converts" when an opportunity is opened for it; a won deal implies one
# (CRMs that export only closed deals still count).
CONVERSION_EVENTS = ("Opportunity Created", "Deal Won")
OUTCOME_EVENTS = ("Opportunity Created", "Deal Won", "Deal Lost")


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

    def as_of(self, now: datetime) -> QualityData:
        """What was known at `now`: signals, alerts and verdicts after it left out, so
        that a review `--as-of` a past moment reads as it would have then."""
        return QualityData(
            histories={
                i: replace(h, signals=tuple(s for s in h.signals if s.occurred_at <= now))
                for i, h in self.histories.items()
            },
            alerts=[a for a in self.alerts if a.created_at <= now],
            verdicts=[v for v in self.verdicts if v.created_at <= now],
        )

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


async def load(conn: Connection, *, since: datetime, lookback: timedelta) -> QualityData:
    """Everything from `since` on, plus `lookback` of signals before it (a score at
    `since` needs them)."""
    ids = await all_account_ids(conn)
    histories = await load_histories(conn, ids, since=since - lookback)
    return QualityData(
        histories=histories,
        alerts=await alerts_queued_since(conn, since),
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
            for r in await verdicts_given_since(conn, since)
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
