"""Replaying stored history day by day under a model: which accounts would have been
alerted, and when. Pure: the same scoring (`core.tally`, `score_tallies`) and
`alert_decision` (cooldowns, score jumps, new strong signals) the live rescore uses, run
at past moments; nothing is written and nothing is sent. Snoozes and Wrong answers are
not replayed: they were given to the live model's alerts, not to the ones a candidate
would have sent."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from tipoff.core.history import AccountHistory
from tipoff.core.routing import Track
from tipoff.core.scoring import ScoreResult, score_tallies
from tipoff.core.scoring_model import ScoringModel
from tipoff.core.tally import summands, tally_at
from tipoff.core.workflow import LastAlert, alert_decision

DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ReplayAlert:
    account_id: int
    at: datetime
    track: str
    score: int
    rules: tuple[str, ...]  # the rules that earned positive points in that score


@dataclass(frozen=True, slots=True)
class Replay:
    model_name: str
    start: datetime
    end: datetime
    alerts: list[ReplayAlert]
    final_tracks: Mapping[int, Track]

    def first_alerts(self) -> dict[int, ReplayAlert]:
        first: dict[int, ReplayAlert] = {}
        for alert in self.alerts:
            first.setdefault(alert.account_id, alert)
        return first


def replay_days(start: datetime, end: datetime) -> list[datetime]:
    """Daily moments from `start` to `end`, anchored on `end` (so the last is `end`)."""
    days: list[datetime] = []
    moment = end
    while moment >= start:
        days.append(moment)
        moment -= DAY
    return days[::-1]


def replay(
    histories: Mapping[int, AccountHistory],
    model: ScoringModel,
    *,
    start: datetime,
    end: datetime,
    advance: Callable[[], None] | None = None,
) -> Replay:
    """Scores every account once a day from `start` to `end`. The day before `start`
    sets where each account stood, without alerting. `advance` is called once per
    account replayed (for a progress bar)."""
    days = replay_days(start, end)
    fired: list[ReplayAlert] = []
    final: dict[int, Track] = {}
    for account_id in sorted(histories):
        score = AccountScores(histories[account_id], model)
        previous: Track | None = None
        last: LastAlert | None = None
        if days:
            previous = score(days[0] - DAY).track
        for day in days:
            result = score(day)
            strong = frozenset(
                e.rule_id for e in result.evidence if e.points >= model.routing.strong_signal_points
            )
            reason = alert_decision(
                previous=previous,
                current=result.track,
                score=result.score,
                strong_rules=strong,
                last=last,
                quiet_until=None,
                routing=model.routing,
                now=day,
            )
            if not result.excluded and reason is not None:
                rules = tuple(e.rule_id for e in result.evidence if e.points > 0)
                fired.append(ReplayAlert(account_id, day, result.track.value, result.score, rules))
                # As the live outbox remembers it: every rule that earned points.
                last = LastAlert(result.track, result.score, frozenset(rules), day)
            previous = result.track
        if previous is not None:
            final[account_id] = previous
        if advance is not None:
            advance()
    fired.sort(key=lambda a: (a.at, a.account_id))
    return Replay(model.name, start, end, fired, final)


class AccountScores:
    """One account's score, without words, at any moment: for replays, which score the
    same history at many. Its signals are made ready for summing once
    (`core.tally.summands`), not again at every moment. Before its first signal an account
    scores on fit alone, the same at every moment, so that is scored once: it spares most
    of a long replay of a young account."""

    def __init__(self, history: AccountHistory, model: ScoringModel) -> None:
        self.history, self.model = history, model
        self.first = min((s.occurred_at for s in history.signals), default=None)
        self.summands = summands(history.signals, model)
        self.quiet: ScoreResult | None = None

    def __call__(self, at: datetime) -> ScoreResult:
        if self.first is None or at < self.first:
            if self.quiet is None:
                self.quiet = self._score(at)
            return self.quiet
        return self._score(at)

    def _score(self, at: datetime) -> ScoreResult:
        tallies = tally_at(self.summands, at)
        return score_tallies(self.history, tallies, self.model, at, worded=False)
