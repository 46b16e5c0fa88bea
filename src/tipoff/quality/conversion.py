"""Conversion to opportunity within N days, for alerted accounts against accounts that
were eligible but not alerted: the lift an alert is worth.

An account is eligible when it had a product or marketing signal in the period and is
not excluded by the model. Its clock starts at its first alert (alerted) or its first
signal in the period (not alerted); it converts when an opportunity is opened (or a deal
won) within `days` after that. Accounts that had already converted by then are left out
(they were in the pipeline already), and so are accounts whose `days` have not passed
yet (too recent to judge), so that an alert from yesterday is not counted as a miss.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tipoff.core.scoring_model import ScoringModel
from tipoff.quality.dataset import QualityData
from tipoff.quality.stats import Lift, Proportion


@dataclass(frozen=True, slots=True)
class Conversion:
    days: int
    alerted: Proportion
    not_alerted: Proportion
    by_track: Mapping[str, Proportion] = field(default_factory=dict)
    already_converted: int = 0
    too_recent: int = 0

    @property
    def lift(self) -> Lift:
        return Lift(self.alerted, self.not_alerted)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One eligible account judged: when its clock started, the track of its first alert
    (None: not alerted) and whether it converted within the window."""

    account_id: int
    start: datetime
    track: str | None
    converted: bool


@dataclass(frozen=True, slots=True)
class Outcomes:
    judged: list[Outcome]
    already_converted: int
    too_recent: int


def outcomes(
    data: QualityData,
    model: ScoringModel,
    *,
    alerted: Mapping[int, tuple[datetime, str]],  # account id -> (first alert, its track)
    since: datetime,
    now: datetime,
    days: int,
) -> Outcomes:
    """Each eligible account's outcome (see the module docstring), by account id."""
    window = timedelta(days=days)
    judged: list[Outcome] = []
    already = recent = 0
    for account_id, history in sorted(data.histories.items()):
        if model.exclude.excludes(history.domain):
            continue
        track: str | None = None
        if account_id in alerted:
            start, track = alerted[account_id]
        else:
            first = data.first_activity(account_id, model, since)
            if first is None:
                continue
            start = first
        converted = data.conversions(account_id)
        if any(at <= start for at in converted):
            already += 1
            continue
        if start + window > now:
            recent += 1
            continue
        hit = any(start < at <= start + window for at in converted)
        judged.append(Outcome(account_id, start, track, hit))
    return Outcomes(judged, already, recent)


def conversion(
    data: QualityData,
    model: ScoringModel,
    *,
    alerted: Mapping[int, tuple[datetime, str]],  # account id -> (first alert, its track)
    since: datetime,
    now: datetime,
    days: int,
) -> Conversion:
    found = outcomes(data, model, alerted=alerted, since=since, now=now, days=days)
    counts: dict[bool, list[int]] = {True: [0, 0], False: [0, 0]}  # alerted -> [hits, n]
    tracks: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for outcome in found.judged:
        hit = int(outcome.converted)
        group = counts[outcome.track is not None]
        group[0] += hit
        group[1] += 1
        if outcome.track is not None:
            tracks[outcome.track][0] += hit
            tracks[outcome.track][1] += 1
    return Conversion(
        days=days,
        alerted=Proportion(*counts[True]),
        not_alerted=Proportion(*counts[False]),
        by_track={t: Proportion(h, n) for t, (h, n) in sorted(tracks.items())},
        already_converted=found.already_converted,
        too_recent=found.too_recent,
    )
