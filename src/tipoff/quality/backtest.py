"""`tipoff backtest`: a candidate model against the current one, replayed on stored
history side by side. Reads only; never writes a score, queues an alert or posts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tipoff.core.scoring_model import ScoringModel
from tipoff.quality.conversion import Conversion, conversion
from tipoff.quality.dataset import QualityData, newest_verdicts
from tipoff.quality.replay import Replay, replay
from tipoff.quality.stats import Proportion


@dataclass(frozen=True, slots=True)
class Side:
    """How one model would have done."""

    replay: Replay
    alerts_by_track: dict[str, int]
    alerted_accounts: frozenset[int]
    precision: Proportion  # recorded Right/Wrong on the accounts it alerted
    conversion: Conversion


@dataclass(frozen=True, slots=True)
class Backtest:
    since: datetime
    now: datetime
    current: Side
    candidate: Side
    labels: dict[int, str]  # account id -> name, for the lists below

    @property
    def entering(self) -> list[int]:
        """Accounts the candidate would alert and the current model would not."""
        return sorted(self.candidate.alerted_accounts - self.current.alerted_accounts)

    @property
    def leaving(self) -> list[int]:
        return sorted(self.current.alerted_accounts - self.candidate.alerted_accounts)

    def moved(self) -> list[tuple[str, list[str]]]:
        """The accounts only one model alerts, by name: what the terminal shows the first
        of and the --html page lists whole."""
        return [
            ("Alerted only by the candidate", [self.labels[i] for i in self.entering]),
            ("Alerted only by the current model", [self.labels[i] for i in self.leaving]),
        ]


def side(
    data: QualityData,
    model: ScoringModel,
    *,
    since: datetime,
    now: datetime,
    days: int,
    advance: Callable[[], None] | None = None,
) -> Side:
    replayed = replay(data.histories, model, start=since, end=now, advance=advance)
    first = {a.account_id: (a.at, a.track) for a in replayed.first_alerts().values()}
    alerted = frozenset(first)
    # Verdicts were given on accounts; a model is judged on those it would have alerted.
    judged = [
        v for v in newest_verdicts(data.verdicts, key_on_alert=False) if v.account_id in alerted
    ]
    return Side(
        replay=replayed,
        alerts_by_track=dict(sorted(Counter(a.track for a in replayed.alerts).items())),
        alerted_accounts=alerted,
        precision=Proportion(sum(v.verdict == "right" for v in judged), len(judged)),
        conversion=conversion(data, model, alerted=first, since=since, now=now, days=days),
    )


def backtest(
    data: QualityData,
    current: ScoringModel,
    candidate: ScoringModel,
    *,
    since: datetime,
    now: datetime,
    days: int = 30,
    advance: Callable[[], None] | None = None,
) -> Backtest:
    return Backtest(
        since=since,
        now=now,
        current=side(data, current, since=since, now=now, days=days, advance=advance),
        candidate=side(data, candidate, since=since, now=now, days=days, advance=advance),
        labels={i: h.label for i, h in data.histories.items()},
    )


def comparison_rows(result: Backtest) -> list[tuple[str, str, str]]:
    """(figure, current, candidate) rows for a side-by-side table."""
    cur, cand = result.current, result.candidate
    tracks = sorted(set(cur.alerts_by_track) | set(cand.alerts_by_track))
    rows = [
        ("model", cur.replay.model_name, cand.replay.model_name),
        ("alerts that would have fired", str(len(cur.replay.alerts)), str(len(cand.replay.alerts))),
    ]
    rows += [
        (f"  {t}", str(cur.alerts_by_track.get(t, 0)), str(cand.alerts_by_track.get(t, 0)))
        for t in tracks
    ]
    rows += [
        ("accounts alerted", str(len(cur.alerted_accounts)), str(len(cand.alerted_accounts))),
        ("precision vs recorded feedback", cur.precision.describe(), cand.precision.describe()),
        (
            f"converted within {cur.conversion.days} days, alerted",
            cur.conversion.alerted.describe(),
            cand.conversion.alerted.describe(),
        ),
        (
            "converted, eligible not alerted",
            cur.conversion.not_alerted.describe(),
            cand.conversion.not_alerted.describe(),
        ),
        ("lift", cur.conversion.lift.describe(), cand.conversion.lift.describe()),
    ]
    return rows
