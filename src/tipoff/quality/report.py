"""`tipoff report` and `/tipoff stats`: how the model has done since a date.

Every figure carries its counts (see `stats.Proportion`). Precision counts each rep's
newest Right/Wrong on each alert (or, for a verdict given on a lookup, on each account).
"By rule" files a verdict under every rule that earned points in the account's score
(under the model in use) when the alert was queued, or when the verdict was given.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from tipoff.core.scoring import score_account
from tipoff.core.scoring_model import ScoringModel
from tipoff.quality.conversion import Conversion, conversion
from tipoff.quality.dataset import QualityData, Verdict, newest_verdicts, segment_of
from tipoff.quality.stats import Proportion

NOT_ON_AN_ALERT = "(not on an alert)"
NO_REASON = "(no reason given)"


@dataclass(frozen=True, slots=True)
class ClaimTimes:
    claimed: int  # alerts claimed
    unclaimed: int  # alerts in the period nobody claimed
    median: timedelta | None

    def describe(self) -> str:
        if not self.claimed:
            return "no claims recorded"
        assert self.median is not None
        return (
            f"median {_duration(self.median)} from alert to claim "
            f"({self.claimed} claimed, {self.unclaimed} not claimed)"
        )


@dataclass(frozen=True, slots=True)
class Report:
    since: datetime
    now: datetime
    model_name: str
    alerts_by_track: dict[str, int]
    alerted_accounts: int
    precision: Proportion
    precision_by_track: dict[str, Proportion]
    precision_by_rule: dict[str, Proportion]
    precision_by_segment: dict[str, Proportion]
    wrong_reasons: list[tuple[str, int]]
    conversion: Conversion
    claims: ClaimTimes


def build_report(
    data: QualityData, model: ScoringModel, *, since: datetime, now: datetime, days: int = 30
) -> Report:
    alerts_by_id = {a.id: a for a in data.alerts}
    verdicts = newest_verdicts(data.verdicts)

    by_track: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_rule: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_segment: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    reasons: Counter[str] = Counter()
    hits = 0
    for v in verdicts:
        right = int(v.verdict == "right")
        hits += right
        alert = alerts_by_id.get(v.alert_id) if v.alert_id is not None else None
        track = alert.track if alert is not None else NOT_ON_AN_ALERT
        history = data.histories.get(v.account_id)
        _add(by_track[track], right)
        _add(by_segment[segment_of(history.employees if history else None)], right)
        for rule in _rules_at(data, model, v, alert.created_at if alert else v.created_at):
            _add(by_rule[rule], right)
        if not right:
            reasons[(v.reason or NO_REASON).strip()] += 1

    first = first_alerts(data)
    return Report(
        since=since,
        now=now,
        model_name=model.name,
        alerts_by_track=dict(sorted(Counter(a.track for a in data.alerts).items())),
        alerted_accounts=len(first),
        precision=Proportion(hits, len(verdicts)),
        precision_by_track=_proportions(by_track),
        precision_by_rule=_proportions(by_rule),
        precision_by_segment=_proportions(by_segment),
        wrong_reasons=sorted(reasons.items(), key=lambda item: (-item[1], item[0])),
        conversion=conversion(data, model, alerted=first, since=since, now=now, days=days),
        claims=claim_times(data),
    )


def first_alerts(data: QualityData) -> dict[int, tuple[datetime, str]]:
    """Each alerted account's first alert in the period: (when, its track)."""
    first: dict[int, tuple[datetime, str]] = {}
    for alert in data.alerts:
        first.setdefault(alert.account_id, (alert.created_at, alert.track))
    return first


def claim_times(data: QualityData) -> ClaimTimes:
    """From an alert's delivery (or queueing, when never sent) to its first claim. A claim
    made outside an alert message counts for the account's latest alert before it."""
    first_claim: dict[int, datetime] = {}
    for v in data.verdicts:
        if v.verdict != "claim":
            continue
        alert_id = v.alert_id
        if alert_id is None:
            earlier = [
                a
                for a in data.alerts
                if a.account_id == v.account_id and a.created_at <= v.created_at
            ]
            if not earlier:
                continue
            alert_id = max(earlier, key=lambda a: (a.created_at, a.id)).id
        at = first_claim.get(alert_id)
        first_claim[alert_id] = v.created_at if at is None else min(at, v.created_at)
    waits = [
        first_claim[a.id] - (a.sent_at or a.created_at) for a in data.alerts if a.id in first_claim
    ]
    return ClaimTimes(
        claimed=len(waits),
        unclaimed=len(data.alerts) - len(waits),
        median=timedelta(seconds=statistics.median(w.total_seconds() for w in waits))
        if waits
        else None,
    )


def _rules_at(data: QualityData, model: ScoringModel, v: Verdict, at: datetime) -> list[str]:
    history = data.histories.get(v.account_id)
    if history is None:
        return []
    result = score_account(history, model, at, worded=False)
    return sorted({e.rule_id for e in result.evidence if e.points > 0})


def _add(counts: list[int], hit: int) -> None:
    counts[0] += hit
    counts[1] += 1


def _proportions(groups: dict[str, list[int]]) -> dict[str, Proportion]:
    """Most-judged first, then by name."""
    ordered = sorted(groups.items(), key=lambda item: (-item[1][1], item[0]))
    return {name: Proportion(h, n) for name, (h, n) in ordered}


def _duration(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return f"{round(hours * 60)} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def report_sections(report: Report) -> list[tuple[str, list[str]]]:
    """The report as titled sections of plain lines, for the terminal and for Slack."""
    alerts = [f"{track}: {count}" for track, count in report.alerts_by_track.items()]
    total = sum(report.alerts_by_track.values())
    alerts.append(f"total: {total} alerts for {report.alerted_accounts} accounts")
    precision = [f"overall: {report.precision.describe()}"]
    precision += [f"track {name}: {p.describe()}" for name, p in report.precision_by_track.items()]
    by_rule = [f"{name}: {p.describe()}" for name, p in report.precision_by_rule.items()]
    by_segment = [f"{name}: {p.describe()}" for name, p in report.precision_by_segment.items()]
    reasons = [f"{count}× {reason}" for reason, count in report.wrong_reasons] or ["none"]
    c = report.conversion
    conv = [
        f"alerted: {c.alerted.describe()}",
        f"eligible, not alerted: {c.not_alerted.describe()}",
        f"lift: {c.lift.describe()}",
    ]
    conv += [f"track {name}: {p.describe()}" for name, p in c.by_track.items()]
    conv.append(
        f"left out: {c.already_converted} already converted, "
        f"{c.too_recent} too recent to judge (under {c.days} days)"
    )
    return [
        ("Alerts by track", alerts),
        ("Precision (Right / Right+Wrong, newest verdict per rep)", precision),
        ("Precision by rule", by_rule or ["no verdicts yet"]),
        ("Precision by segment", by_segment or ["no verdicts yet"]),
        ("Reasons given for Wrong", reasons),
        (f"Conversion to opportunity within {c.days} days", conv),
        ("Time to claim", [report.claims.describe()]),
    ]
