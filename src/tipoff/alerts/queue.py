"""The alerts a rescore queues: each account's decision (core.workflow.alert_decision)
as an outbox row, addressed to its owner or to the channel of its segment or track, its
message laid out now (what is posted later, and what an erasure rewrites, is this
stored text), and bundled when a channel would get many in one run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from tipoff import reps
from tipoff.core.history import AccountHistory
from tipoff.core.opener import suggested_opener
from tipoff.core.routing import Track, alert_channel
from tipoff.core.scoring import ScoreResult
from tipoff.core.scoring_model import Routing
from tipoff.core.workflow import BUNDLE, AlertReason, AlertStatus, ReasonKind
from tipoff.slack.blocks import BundleEntry, alert_message, bundle_message

# An account that alerts: what it is, its score, and why it alerts.
Alerting = tuple[AccountHistory, ScoreResult, AlertReason]


def outbox_rows(
    alerting: Sequence[Alerting],
    destinations: Mapping[int, reps.Destination],
    *,
    routing: Routing,
    default_channel: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """The outbox rows (alerts table columns) for `alerting`, bundled per channel;
    `destinations` gives an account's owner, size and region where known."""
    rows = [
        _alert_row(
            history,
            result,
            reason,
            destinations.get(result.account_id),
            routing=routing,
            default_channel=default_channel,
            now=now,
        )
        for history, result, reason in alerting
    ]
    if not rows:
        return rows
    histories = {history.id: history for history, _, _ in alerting}
    return _bundled(rows, histories, routing, now)


def _alert_row(
    history: AccountHistory,
    result: ScoreResult,
    reason: AlertReason,
    known: reps.Destination | None,
    *,
    routing: Routing,
    default_channel: str,
    now: datetime,
) -> dict[str, Any]:
    """An outbox row: to the owner's DM when the account has one, the segment's or
    track's channel otherwise (and as the fallback when the DM cannot be reached)."""
    message = alert_message(
        history,
        result,
        now=now,
        opener=suggested_opener(history, result),
        reason=_said(reason, result),
    )
    owner = known.owner if known else None
    return {
        "account_id": result.account_id,
        "track": result.track.value,
        "score": result.score,
        "reason": reason.text,
        "text": message.text,
        "blocks": message.blocks,
        "target": alert_channel(
            result.track,
            employees=known.employees if known else history.employees,
            region=known.region if known else None,
            routing=routing,
            default=default_channel,
        ),
        "owner_user_id": owner.slack_user_id if owner else None,
        "owner_email": owner.email if owner else None,
        "evidence_rules": sorted({e.rule_id for e in result.evidence if e.points > 0}),
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
    histories: dict[int, AccountHistory],
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
                label=histories[r["account_id"]].label,
                domain=histories[r["account_id"]].domain,
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
