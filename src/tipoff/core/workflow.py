"""The rep workflow's rules, as pure functions with `now` passed in: whether a rescore
deserves another alert (no noise) and why, where an alert stands, when an SLA runs out
(working hours), and how a score history reads as a sparkline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tipoff.core.routing import Track
from tipoff.core.scoring_model import Routing, WorkingHours


class AlertStatus(StrEnum):
    """Where an alert stands; the values are what `alerts.status` stores."""

    PENDING = "pending"  # queued: not yet accepted by Slack
    SENT = "sent"
    BUNDLED = "bundled"  # summed up in its channel's bundle, never posted on its own
    FAILED = "failed"  # refused by Slack for good (`failure_reason` says why)


class ReasonKind(StrEnum):
    """Why an alert was queued."""

    ENTERED = "entered"  # entered an alerting track
    NEW_SIGNAL = "new signal"  # new strong evidence rules
    SCORE_UP = "score up"  # a jump since the last alert
    BUNDLE = "bundle"  # one message for a channel's many alerts


class OwnerVia(StrEnum):
    """How an account got its owner; the claim and assignment values are what
    `account_owners.via` stores."""

    CLAIM = "claim"  # a rep clicked Claim on an alert
    ASSIGN = "assign"  # `/tipoff assign`
    TRAIT = "trait"  # an `owner_email` trait (a CDP's `group` call, the CRM sync)


# What `alerts.reason` holds at most.
MAX_REASON_CHARS = 255


@dataclass(frozen=True, slots=True)
class AlertReason:
    """Why an alert was queued, as data; `text` is the one way it is written down."""

    kind: ReasonKind
    track: Track | None = None  # ENTERED: the track entered
    rules: tuple[str, ...] = ()  # NEW_SIGNAL: the new strong evidence rules, sorted
    points: int = 0  # SCORE_UP: how far above the last alert's score

    @property
    def text(self) -> str:
        """As `alerts.reason` stores it: "entered hot", "new signal: a, b",
        "score up 20 since the last alert" or "bundle"."""
        match self.kind:
            case ReasonKind.ENTERED:
                assert self.track is not None
                return f"entered {self.track.value}"
            case ReasonKind.NEW_SIGNAL:
                return f"{self.kind.value}: {', '.join(self.rules)}"[:MAX_REASON_CHARS]
            case ReasonKind.SCORE_UP:
                return f"{self.kind.value} {self.points} since the last alert"
            case ReasonKind.BUNDLE:
                return self.kind.value


BUNDLE = AlertReason(ReasonKind.BUNDLE)


@dataclass(frozen=True, slots=True)
class LastAlert:
    """The newest alert queued for an account: its track, score, evidence rules and time."""

    track: Track
    score: int
    rules: frozenset[str]
    at: datetime


def alert_decision(
    *,
    previous: Track | None,
    current: Track,
    score: int,
    strong_rules: frozenset[str],
    last: LastAlert | None,
    quiet_until: datetime | None,
    routing: Routing,
    now: datetime,
) -> AlertReason | None:
    """Why this score deserves an alert, or None.

    `previous` is the track of the last stored score, `strong_rules` the evidence rules
    now worth at least `routing.strong_signal_points`, `quiet_until` the end of a snooze
    or of the cooldown after a Wrong (nothing alerts before it). After an alert:

    - entering a track above the one last alerted alerts at once (an account that turned
      hot is news even inside the cooldown);
    - otherwise nothing alerts for `cooldown_hours`; after it, re-entering an alerting
      track, a new strong evidence rule, or a score `jump_points` above the last alert's.
    """
    if not current.alerts:
        return None
    if quiet_until is not None and now < quiet_until:
        return None
    entered = previous is None or previous.rank < current.rank
    entered_current = AlertReason(ReasonKind.ENTERED, track=current)
    if last is None:
        return entered_current if entered else None
    if entered and current.rank > last.track.rank:
        return entered_current
    if now < last.at + timedelta(hours=routing.cooldown_hours):
        return None
    if entered:
        return entered_current
    # New evidence first: it tells a rep what happened, where a jump only says how much
    # (scores have no top, so a strong new signal usually jumps too).
    new = sorted(strong_rules - last.rules)
    if new:
        return AlertReason(ReasonKind.NEW_SIGNAL, rules=tuple(new))
    if score - last.score >= routing.jump_points:
        return AlertReason(ReasonKind.SCORE_UP, points=score - last.score)
    return None


def quiet_until(
    *, snoozed_until: datetime | None, wrong_at: datetime | None, routing: Routing
) -> datetime | None:
    """The end of an account's quiet time: its snooze, or the cooldown after a Wrong."""
    ends = [t for t in (snoozed_until,) if t is not None]
    if wrong_at is not None:
        ends.append(wrong_at + timedelta(days=routing.wrong_cooldown_days))
    return max(ends) if ends else None


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def add_working_hours(start: datetime, hours: float, working: WorkingHours) -> datetime:
    """`start` plus `hours` of working time (UTC in, UTC out): the clock only runs
    between `working.start` and `working.end` on `working.days`, local time."""
    zone = ZoneInfo(working.time_zone)
    opens = time.fromisoformat(working.start)
    closes = time.fromisoformat(working.end)
    remaining = timedelta(hours=hours)
    at = start.astimezone(zone)
    for _ in range(3700):  # ten years of days: an end is always found long before
        day = at.date()
        day_open = datetime.combine(day, opens, zone)
        day_close = datetime.combine(day, closes, zone)
        if _DAYS[day.weekday()] in working.days and at < day_close:
            at = max(at, day_open)
            left_today = day_close - at
            if remaining <= left_today:
                return (at + remaining).astimezone(start.tzinfo)
            remaining -= left_today
        at = datetime.combine(day + timedelta(days=1), opens, zone)
    raise ValueError("working hours never add up")  # pragma: no cover - days is non-empty


_BARS = "▁▂▃▄▅▆▇█"


def weekly_scores(
    history: Sequence[tuple[datetime, int, str]], score: int, now: datetime, *, weeks: int = 8
) -> list[int | None]:
    """The score at the end of each of the last `weeks` weeks, oldest first, the last one
    being now (`score`); None for weeks before the account's first score. `history` is
    (scored_at, score, track), newest first, as stored."""
    oldest_first = sorted(history, key=lambda h: h[0])
    points: list[int | None] = []
    for back in range(weeks - 1, 0, -1):
        end = now - timedelta(weeks=back)
        known = [s for at, s, _ in oldest_first if at <= end]
        points.append(known[-1] if known else None)
    points.append(score)
    return points


def sparkline(values: Sequence[int | None], *, hot_at: int) -> str:
    """Scores as bars ▁…█ on a fixed scale for the model (so 40 always looks like 40):
    eight steps from 0 to twice `hot_at`, so the hot threshold is half-high and scores
    up there, which have no upper bound, still differ; a week without a score is a space."""
    top = 2 * max(1, hot_at)
    return "".join(" " if v is None else _BARS[min(7, max(0, v) * 8 // (top + 1))] for v in values)
