"""Signals summed the way the model reads them.

No rule needs an account's signals one by one. A rule reads how many fall in its window,
by how many people, how old the newest is, their decayed weight and which detail values
they carry. So signals are summed into one `Tally` per (event, person, detail values):
`tally` does it in Python, and the database does the same sums with one GROUP BY
(`store.histories.load_tallies`). A full rescore then reads a few aggregates per account
instead of millions of rows, and both paths score through the same `score_tallies`.
A replay, which sums one history at many moments, makes its signals ready for summing
once (`summands`) and sums them at each moment (`tally_at`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from tipoff.core.history import Signal
from tipoff.core.scoring_model import Category, Decay, ScoringModel, SignalRule

DAY = timedelta(days=1)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TallyPlan:
    """The sums a model needs, every window measured back from `now`."""

    events: tuple[str, ...]  # the model's vocabulary; no other event is ever read
    windows: tuple[float, ...]  # days: Tally.counts[i + 1] counts inside windows[i]
    weighted: tuple[float | None, ...]  # windows summing decayed weight; None: the lookback
    weighted_events: frozenset[str]  # the events some decaying `each` rule reads
    details: tuple[tuple[str, frozenset[str]], ...]  # (property, the events it details)

    def count_index(self, days: float | None) -> int:
        """Where `Tally.counts` holds the signals of the last `days` (None: lookback)."""
        return 0 if days is None else self.windows.index(days) + 1

    def weight_index(self, days: float | None) -> int:
        return self.weighted.index(days)

    def detail_index(self, prop: str) -> int:
        return next(i for i, (name, _) in enumerate(self.details) if name == prop)


class Tally(NamedTuple):
    """One person's signals of one event (with the same detail values), summed.

    A tuple, not a frozen dataclass: a full rescore makes one for each of hundreds of
    thousands of rows, and a frozen dataclass took 2 µs to make, a tuple 0.8."""

    event: str
    person_id: int | None
    details: tuple[str | None, ...]  # one value per TallyPlan.details property
    newest: datetime
    counts: tuple[int, ...]  # [in the lookback, *in each of TallyPlan.windows]
    weights: tuple[float, ...]  # decayed weight in each TallyPlan.weighted window


def per_model(build: Callable[[ScoringModel], T]) -> Callable[[ScoringModel], T]:
    """Memoises `build(model)` per model object: scoring asks for these millions of
    times, and models are not hashable (their rules are lists)."""
    cache: dict[int, tuple[ScoringModel, T]] = {}

    def cached(model: ScoringModel) -> T:
        hit = cache.get(id(model))
        if hit is not None and hit[0] is model:  # the id of a dead model can be reused
            return hit[1]
        if len(cache) >= 16:
            cache.clear()
        value = build(model)
        cache[id(model)] = (model, value)
        return value

    return cached


@per_model
def categories(model: ScoringModel) -> dict[str, Category]:
    """The model's event vocabulary as one dict: event name → category."""
    table: dict[str, Category] = {}
    for category in reversed(Category):  # the first category listing a name wins
        table.update(dict.fromkeys(getattr(model.events, category.value), category))
    return table


@per_model
def tally_plan(model: ScoringModel) -> TallyPlan:
    vocabulary = categories(model)
    timing = model.timing
    windows = {timing.recent_days, timing.recent_days + timing.baseline_days}
    windows.update(r.window_days for r in model.signals if r.window_days is not None)
    decaying = [r for r in model.signals if r.each and r.decays]
    details: dict[str, set[str]] = {}
    for rule in model.signals:
        if rule.detail_property is not None:
            details.setdefault(rule.detail_property, set()).update(rule_events(rule, model))
    return TallyPlan(
        events=tuple(vocabulary),
        windows=tuple(sorted(windows)),
        weighted=tuple(dict.fromkeys(r.window_days for r in decaying)),
        weighted_events=frozenset(e for r in decaying for e in rule_events(r, model)),
        details=tuple((prop, frozenset(events)) for prop, events in details.items()),
    )


def rule_events(rule: SignalRule, model: ScoringModel) -> list[str]:
    """The events a signal rule reads: its own list, or all of its category's."""
    if rule.category is not None:
        return list(getattr(model.events, rule.category.value))
    return list(rule.events or [])


def decay_factor(age: timedelta, decay: Decay) -> float:
    """Full weight through the grace period, then halving every half-life."""
    days = max(0.0, age / DAY - decay.grace_days)
    return float(0.5 ** (days / decay.half_life_days))


def detail_value(value: Any) -> str | None:
    """A property as a detail a rep can read: non-empty text, nothing else."""
    return value if isinstance(value, str) and value else None


def nul_escaped(properties: Mapping[str, Any]) -> bool:
    """Whether the properties' JSON text holds a NUL escape ("\\u0000"): such properties
    give no details, as in the database, where PostgreSQL cannot read them as text."""
    return "\\u0000" in json.dumps(dict(properties))


# What `tally` groups a signal under: (event, person, detail values).
GroupKey = tuple[str, int | None, tuple[str | None, ...]]


@dataclass(frozen=True, slots=True)
class Summands:
    """An account's signals as `tally` sums them, worked out once for scoring them at
    many moments (a replay scores every account on every day): only the events the model
    knows, each with the group it is summed in and whether it carries decayed weight.
    What a signal adds to its group does not depend on the moment; only which windows it
    falls in, and its weight, do. In the signals' own order, so sums add up as `tally`'s."""

    model: ScoringModel
    signals: tuple[tuple[datetime, GroupKey, bool], ...]  # (occurred_at, group, weighted)


def summands(signals: Iterable[Signal], model: ScoringModel) -> Summands:
    """`signals` made ready for `tally_at`, at any moment."""
    plan = tally_plan(model)
    known = categories(model)
    no_details: tuple[str | None, ...] = (None,) * len(plan.details)
    found = []
    for signal in signals:
        if signal.event not in known:
            continue
        details = no_details
        if any(signal.event in events for _, events in plan.details) and not nul_escaped(
            signal.properties
        ):  # the JSON check once per signal, not once per detail property
            details = tuple(
                detail_value(signal.properties.get(prop)) if signal.event in events else None
                for prop, events in plan.details
            )
        found.append(
            (
                signal.occurred_at,
                (signal.event, signal.person_id, details),
                signal.event in plan.weighted_events,
            )
        )
    return Summands(model, tuple(found))


def tally(signals: Iterable[Signal], model: ScoringModel, now: datetime) -> list[Tally]:
    """Sums `signals` as `score_tallies` reads them: the ones in the lookback up to
    `now`, of events the model knows."""
    return tally_at(summands(signals, model), now)


def tally_at(prepared: Summands, now: datetime) -> list[Tally]:
    """`tally` of the signals `prepared` was made from, at `now`."""
    model = prepared.model
    plan = tally_plan(model)
    oldest = now - model.lookback_days * DAY
    cutoffs = [now - days * DAY for days in plan.windows]
    weight_cutoffs = [None if days is None else now - days * DAY for days in plan.weighted]
    groups: dict[GroupKey, list[Any]] = {}
    for at, key, weighted in prepared.signals:
        if not oldest <= at <= now:
            continue
        sums = groups.get(key)
        if sums is None:
            sums = groups[key] = [at, [0] * (len(cutoffs) + 1), [0.0] * len(weight_cutoffs)]
        elif at > sums[0]:
            sums[0] = at
        counts: list[int] = sums[1]
        counts[0] += 1
        for i, cutoff in enumerate(cutoffs, start=1):
            if at > cutoff:
                counts[i] += 1
        if weighted and weight_cutoffs:
            weight = decay_factor(now - at, model.decay)
            for i, since in enumerate(weight_cutoffs):
                if since is None or at > since:
                    sums[2][i] += weight
    return [
        Tally(event, person_id, details, newest, tuple(counts), tuple(weights))
        for (event, person_id, details), (newest, counts, weights) in groups.items()
    ]


def newest_first(latest: Mapping[T, datetime], tiebreak: Callable[[T], Any]) -> list[T]:
    """Keys by their time, newest first; `tiebreak` orders equal times."""
    if len(latest) == 1:
        return list(latest)
    return sorted(sorted(latest, key=tiebreak), key=latest.__getitem__, reverse=True)
