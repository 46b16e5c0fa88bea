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


def conversion(
    data: QualityData,
    model: ScoringModel,
    *,
    alerted: Mapping[int, tuple[datetime, str]],  # account id -> (first alert, its track)
    since: datetime,
    now: datetime,
    days: int,
) -> Conversion:
    window = timedelta(days=days)
    counts: dict[bool, list[int]] = {True: [0, 0], False: [0, 0]}  # alerted -> [hits, n]
    tracks: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    already = recent = 0
    for account_id, history in data.histories.items():
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
        hit = int(any(start < at <= start + window for at in converted))
        group = counts[track is not None]
        group[0] += hit
        group[1] += 1
        if track is not None:
            tracks[track][0] += hit
            tracks[track][1] += 1
    return Conversion(
        days=days,
        alerted=Proportion(*counts[True]),
        not_alerted=Proportion(*counts[False]),
        by_track={t: Proportion(h, n) for t, (h, n) in sorted(tracks.items())},
        already_converted=already,
        too_recent=recent,
    )
