"""The bundled demo history extended with outcomes and feedback, for trying (and testing)
the report, the backtest and calibration on something realistic.

On top of the 33 demo accounts, a seeded cohort of synthetic accounts lives through the
last 180 days. Each behaves like one of four kinds of account (buyers, engineers
evaluating with no budget, marketing-only leads, sign-ups that went nowhere), but whether
an account opens an opportunity depends only on what it *did*, through a noisy logistic
relationship in which declared intent (a demo request, the billing page, a usage limit,
an invited teammate, a decision-maker) matters much more than raw usage (many sessions,
many users), and content and email barely matter. That is the kind of world in which the
default model (which rewards usage heavily) is good but not right; nothing in it is
written in terms of the model's points, so calibration has to find the difference.

Alerts are what the default model would have queued, day by day; reps answer about 70%
of them, Right more often when the account really converted; half the alerts are claimed.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tipoff.core.routing import Track
from tipoff.core.scoring_model import ScoringModel
from tipoff.core.workflow import AlertReason, AlertStatus, ReasonKind
from tipoff.demo.sample_history import load_history, segment_messages
from tipoff.ingest.segment import SegmentCall, parse_call
from tipoff.ingest.service import ingest_messages
from tipoff.quality.dataset import CONVERSION_EVENTS
from tipoff.quality.replay import replay
from tipoff.store import accounts as stored_accounts
from tipoff.store import alerts as stored_alerts
from tipoff.store import feedback as stored_feedback
from tipoff.store import sources as stored_sources
from tipoff.store.db import Database
from tipoff.store.feedback import FeedbackRecord
from tipoff.store.histories import load_histories

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
SPAN_DAYS = 180
REPLAY_DAYS = 170
SEED = 4
COHORT = 400

FIRST = ["Ana", "Ben", "Chloe", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jo", "Kim", "Lior"]
LAST = ["Adler", "Brandt", "Costa", "Dahl", "Ekberg", "Fong", "Garcia", "Holm", "Iyer", "Jansen"]
INDUSTRIES = ["Software", "Fintech", "Logistics", "Healthcare", "Retail", "Media", "Education"]
ENGINEER_TITLES = ["Software Engineer", "Platform Engineer", "SRE", "DevOps Engineer", None]
DECIDER_TITLES = ["VP Engineering", "Director of Infrastructure", "CTO", "Head of Platform"]
WRONG_REASONS = [
    "Engineers evaluating, no budget",
    "Just a side project",
    "Already talking to us",
    "Wrong contact",
]


@dataclass(frozen=True, slots=True)
class SampleSummary:
    accounts: int
    events: int
    conversions: int
    alerts: int
    verdicts: int


def cohort_messages(now: datetime, *, seed: int = SEED, size: int = COHORT) -> list[dict[str, Any]]:
    """Segment calls (identify, group, track) for the synthetic cohort, oldest first
    within each person, ids stable for a given seed."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for index in range(size):
        out += _account(rng, index, now)
    return out


def _account(rng: random.Random, index: int, now: datetime) -> list[dict[str, Any]]:
    kind = rng.choices(["buyer", "evaluator", "marketing", "dormant"], [25, 35, 25, 15])[0]
    domain = f"cohort{index:03d}.example.io"
    employees = rng.choice([6, 25, 60, 140, 320, 700, 1800, 6000])
    industry = rng.choice(INDUSTRIES)
    start = now - timedelta(days=rng.uniform(20, SPAN_DAYS - 5), hours=rng.uniform(0, 23))
    span = rng.uniform(8, 28)

    def when() -> datetime:
        return min(now - HOUR, start + timedelta(days=rng.uniform(0, span)))

    users = {"buyer": rng.randint(1, 3), "evaluator": rng.randint(2, 4)}.get(kind, 1)
    decider = rng.random() < {"buyer": 0.6, "evaluator": 0.15, "marketing": 0.4}.get(kind, 0.1)
    people: list[tuple[str, str, str | None]] = []
    for n in range(users + (1 if decider else 0)):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        title = rng.choice(DECIDER_TITLES) if n == users else rng.choice(ENGINEER_TITLES)
        people.append((name, f"p{n}@{domain}", title))
    did: list[tuple[int, str, datetime, dict[str, Any]]] = []

    def act(who: int, event: str, p: float, **properties: Any) -> bool:
        if rng.random() < p:
            did.append((who, event, when(), properties))
            return True
        return False

    product = kind in ("buyer", "evaluator", "dormant")
    intent = {"demo": False, "billing": False, "limit": False, "invite": False}
    if product:
        act(0, "Signed Up", 1.0, plan="free")
        act(0, "Onboarding Completed", 0.8 if kind != "dormant" else 0.3)
    if kind in ("buyer", "evaluator"):
        act(0, "Core Action Completed", 0.9 if kind == "buyer" else 0.85)
        act(0, "Integration Connected", 0.7 if kind == "buyer" else 0.45, integration="PagerDuty")
        intent["invite"] = act(0, "Teammate Invited", 0.6 if kind == "buyer" else 0.3)
        intent["limit"] = act(0, "Usage Limit Hit", 0.55 if kind == "buyer" else 0.15)
        intent["billing"] = act(users - 1, "Billing Page Viewed", 0.6 if kind == "buyer" else 0.1)
    sessions = {"buyer": rng.randint(2, 6), "evaluator": rng.randint(5, 14)}.get(
        kind, rng.randint(0, 1) if product else 0
    )
    for s in range(sessions):
        act(s % users if users else 0, "Session Started", 1.0)
    marketing_person = len(people) - 1 if decider else 0
    intent["demo"] = act(
        marketing_person,
        "Demo Requested",
        {"buyer": 0.55, "marketing": 0.3, "evaluator": 0.05}.get(kind, 0.0),
    )
    for _ in range(rng.randint(0, 3) if kind != "dormant" else 0):
        act(marketing_person, "Content Downloaded", 0.8, title="Observability guide")
        act(marketing_person, "Webinar Attended", 0.4, webinar="Alerting at scale")
        act(marketing_person, "Email Clicked", 0.7)
    if kind in ("buyer", "marketing"):
        for _ in range(rng.randint(0, 3)):
            act(marketing_person, "Pricing Page Viewed", 1.0)
    if not did:
        act(0, "Signed Up", 1.0, plan="free")

    # Whether it converts depends on what it did, with noise (and not on the model).
    logit = (
        -3.2
        + 1.7 * intent["demo"]
        + 1.4 * intent["billing"]
        + 1.2 * intent["limit"]
        + 0.9 * intent["invite"]
        + 0.9 * decider
        + 0.4 * any(e == "Integration Connected" for _, e, _, _ in did)
        - 0.5 * (sessions >= 6)
        - 1.5 * (employees < 10)
        + rng.gauss(0, 0.5)
    )
    converts = rng.random() < 1 / (1 + math.exp(-logit))
    last = max(at for _, _, at, _ in did)
    if converts:
        opened = last + timedelta(days=rng.uniform(1, 20))
        if opened < now:
            did.append((0, "Opportunity Created", opened, {"opportunity_id": f"OPP-S{index}"}))
            closed = opened + timedelta(days=rng.uniform(15, 60))
            if closed < now:
                won = rng.random() < 0.45
                did.append(
                    (
                        0,
                        "Deal Won" if won else "Deal Lost",
                        closed,
                        {"opportunity_id": f"OPP-S{index}"},
                    )
                )

    messages: list[dict[str, Any]] = []
    for n, (name, email, title) in enumerate(people):
        user = f"u-{domain}-{n}"
        traits: dict[str, Any] = {"email": email, "name": name}
        if title:
            traits["title"] = title
        messages.append(
            {"type": "identify", "messageId": f"id-{user}", "userId": user, "traits": traits,
             "timestamp": _iso(start)}
        )  # fmt: skip
        messages.append(
            {"type": "group", "messageId": f"gr-{user}", "userId": user, "groupId": domain,
             "traits": {"name": f"Cohort {index:03d}", "domain": domain, "employees": employees,
                        "industry": industry},
             "timestamp": _iso(start)}
        )  # fmt: skip
    for k, (who, event, at, properties) in enumerate(sorted(did, key=lambda d: d[2])):
        messages.append(
            {"type": "track", "messageId": f"ev-{domain}-{k}", "userId": f"u-{domain}-{who}",
             "event": event, "properties": properties, "timestamp": _iso(at)}
        )  # fmt: skip
    return messages


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def load_sample(
    db: Database, model: ScoringModel, *, now: datetime, seed: int = SEED, size: int = COHORT
) -> SampleSummary:
    """Writes the demo history, the cohort, the alerts the model would have queued and
    reps' verdicts on them into `db` (migrated, empty)."""
    rng = random.Random(seed + 1)
    bodies = segment_messages(load_history(), now=now) + cohort_messages(now, seed=seed, size=size)
    calls: list[SegmentCall] = [parse_call(body["type"], body) for body in bodies]
    async with db.transaction() as conn:
        source_id = await stored_sources.add_import_source(
            conn, name="sample", category=None, write_key_hash="sample".ljust(64, "0"),
            key_hint="sample", created_at=now,
        )  # fmt: skip
        await ingest_messages(
            conn,
            source_id=source_id,
            event_names=model.event_name_map("sample"),
            messages=calls,
            received_at=now,
        )
        ids = await stored_accounts.all_account_ids(conn)
        histories = await load_histories(conn, ids)
    replayed = replay(histories, model, start=now - REPLAY_DAYS * DAY, end=now)
    alert_rows: list[dict[str, Any]] = []
    for n, alert in enumerate(replayed.alerts):
        alert_rows.append(
            {"account_id": alert.account_id, "track": alert.track, "score": alert.score,
             "reason": AlertReason(ReasonKind.ENTERED, track=Track(alert.track)).text,
             "text": f"alert {n}", "blocks": [],
             "target": "#sales-alerts", "status": AlertStatus.SENT, "attempts": 1,
             "next_attempt_at": alert.at, "channel": "C0SALESALRT", "ts": f"{n + 1}.000100",
             "created_at": alert.at, "sent_at": alert.at + timedelta(minutes=2)}
        )  # fmt: skip
    verdict_rows: list[FeedbackRecord] = []
    async with db.transaction() as conn:
        await stored_alerts.queue_alerts(conn, alert_rows)
        for row in await stored_alerts.alerts_queued_since(conn, now - REPLAY_DAYS * DAY):
            conversions = [
                s.occurred_at
                for s in histories[row.account_id].signals
                if s.event in CONVERSION_EVENTS
            ]
            good = any(row.created_at < c <= row.created_at + 30 * DAY for c in conversions)
            answered = row.created_at + timedelta(hours=rng.uniform(1, 72))
            if rng.random() < 0.7 and answered < now:
                right = rng.random() < (0.8 if good else 0.3)
                verdict_rows.append(
                    FeedbackRecord(
                        0, row.id, row.account_id, "U0REP0001",
                        rng.choice(["maya.rep", "leo.rep", "ines.rep"]),
                        "right" if right else "wrong",
                        None if right else rng.choice(WRONG_REASONS), answered,
                    )
                )  # fmt: skip
            assert row.sent_at is not None  # the sample's alerts were all posted
            claimed = row.sent_at + timedelta(hours=rng.uniform(0.5, 30))
            if rng.random() < 0.5 and claimed < now:
                verdict_rows.append(
                    FeedbackRecord(
                        0, row.id, row.account_id, "U0REP0002", "leo.rep", "claim", None, claimed
                    )
                )
        for verdict in verdict_rows:
            await stored_feedback.insert_verdict(conn, verdict)
    return SampleSummary(
        accounts=len(histories),
        events=sum(len(h.signals) for h in histories.values()),
        conversions=sum(
            any(s.event in CONVERSION_EVENTS for s in h.signals) for h in histories.values()
        ),
        alerts=len(alert_rows),
        verdicts=len(verdict_rows),
    )
