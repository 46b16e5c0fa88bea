"""The alerts a rescore queues: each account's decision (core.workflow.alert_decision)
as an outbox row, its message laid out now where the account was scored (`laid_out`:
what is posted later, and what an erasure rewrites, is this stored text), addressed by
the writer to its owner or to the channel of its segment or track, and bundled when a
channel would get many in one run (`outbox_rows`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tipoff import reps
from tipoff.core.history import AccountHistory
from tipoff.core.opener import suggested_opener
from tipoff.core.routing import Track, alert_channel
from tipoff.core.scoring import ScoreResult
from tipoff.core.scoring_model import Routing
from tipoff.core.workflow import BUNDLE, AlertReason, AlertStatus, ReasonKind
from tipoff.slack.blocks import Block, BundleEntry, alert_message, bundle_message

# An account that alerts: what it is, its score, and why it alerts.
Alerting = tuple[AccountHistory, ScoreResult, AlertReason]


@dataclass(frozen=True, slots=True)
class LaidOut:
    """An alert laid out where its account was scored (a rescoring worker process):
    all its outbox row needs but where it goes, which the writer reads (owner, size and
    region). Plain text and lists: cheap to send back, unlike the account and result."""

    account_id: int
    track: Track
    score: int
    reason: str  # the reason's text, as stored
    text: str
    blocks: list[Block]
    evidence_rules: list[str]
    employees: int | None  # the account's own size, where no destination gives one
    label: str  # for a bundle
    domain: str | None


def laid_out(alerting: Sequence[Alerting], *, now: datetime) -> list[LaidOut]:
    """Each alerting account's message, laid out now."""
    return [_laid_out(history, result, reason, now) for history, result, reason in alerting]


def _laid_out(
    history: AccountHistory, result: ScoreResult, reason: AlertReason, now: datetime
) -> LaidOut:
    message = alert_message(
        history,
        result,
        now=now,
        opener=suggested_opener(history, result),
        reason=_said(reason, result),
    )
    return LaidOut(
        account_id=result.account_id,
        track=result.track,
        score=result.score,
        reason=reason.text,
        text=message.text,
        blocks=message.blocks,
        evidence_rules=sorted({e.rule_id for e in result.evidence if e.points > 0}),
        employees=history.employees,
        label=history.label,
        domain=history.domain,
    )


def outbox_rows(
    alerts: Sequence[LaidOut],
    destinations: Mapping[int, reps.Destination],
    *,
    routing: Routing,
    default_channel: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """The outbox rows (alerts table columns) for `alerts`, bundled per channel;
    `destinations` gives an account's owner, size and region where known."""
    rows = [
        _alert_row(
            alert,
            destinations.get(alert.account_id),
            routing=routing,
            default_channel=default_channel,
            now=now,
        )
        for alert in alerts
    ]
    if not rows:
        return rows
    return _bundled(rows, {alert.account_id: alert for alert in alerts}, routing, now)


def _alert_row(
    alert: LaidOut,
    known: reps.Destination | None,
    *,
    routing: Routing,
    default_channel: str,
    now: datetime,
) -> dict[str, Any]:
    """An outbox row: to the owner's DM when the account has one, the segment's or
    track's channel otherwise (and as the fallback when the DM cannot be reached)."""
    owner = known.owner if known else None
    return {
        "account_id": alert.account_id,
        "track": alert.track.value,
        "score": alert.score,
        "reason": alert.reason,
        "text": alert.text,
        "blocks": alert.blocks,
        "target": alert_channel(
            alert.track,
            employees=known.employees if known else alert.employees,
            region=known.region if known else None,
            routing=routing,
            default=default_channel,
        ),
        "owner_user_id": owner.slack_user_id if owner else None,
        "owner_email": owner.email if owner else None,
        "evidence_rules": alert.evidence_rules,
        "status": AlertStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def _said(reason: AlertReason, result: ScoreResult) -> str:
    """The reason as a rep reads it: a new signal by its evidence sentence."""
    if reason.kind is not ReasonKind.NEW_SIGNAL:
        return reason.text
    return "New: " + "; ".join(e.text for e in result.evidence if e.rule_id in reason.rules)


def _bundled(
    rows: list[dict[str, Any]],
    alerts: dict[int, LaidOut],
    routing: Routing,
    now: datetime,
) -> list[dict[str, Any]]:
    """Alerts for a channel in one run, bundled when there are more than
    `routing.bundle_over`: one message with the best `bundle_top` and the rest summed
    up. Each account's own row is kept, as "bundled", so its cooldown counts from now."""
    by_channel: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["owner_user_id"] is None and row["owner_email"] is None:
            by_channel.setdefault(row["target"], []).append(row)
    out = [r for r in rows if r["owner_user_id"] is not None or r["owner_email"] is not None]
    for target, queued in by_channel.items():
        if len(queued) <= routing.bundle_over:
            out += queued
            continue
        queued.sort(key=lambda r: (-Track(r["track"]).rank, -r["score"], r["account_id"]))
        entries = [
            BundleEntry(
                account_id=r["account_id"],
                label=alerts[r["account_id"]].label,
                domain=alerts[r["account_id"]].domain,
                score=r["score"],
                track=r["track"],
            )
            for r in queued
        ]
        message = bundle_message(entries, top=routing.bundle_top, now=now)
        best = queued[0]
        out.append(
            {
                **best,
                "reason": BUNDLE.text,
                "text": message.text,
                "blocks": message.blocks,
                "evidence_rules": [],
                "target": target,
            }
        )
        out += [{**r, "status": AlertStatus.BUNDLED} for r in queued]
    return out
