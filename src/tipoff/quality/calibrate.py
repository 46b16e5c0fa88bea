"""`tipoff calibrate`: new points for the same rules, fitted to outcomes and feedback.

Why scipy: the fit is a logistic regression of "converted within N days" (and reps'
Right/Wrong) on how much of each rule an account had earned, and a readable model needs
two things general-purpose fitters do not give together: signs kept (a rule that adds
points keeps adding them, a negative signal stays negative) and a penalty that holds weakly
supported rules near zero. `scipy.optimize.minimize` (L-BFGS-B) takes bounds and an
explicit penalised likelihood in a dozen lines, on the one well-kept library (plus numpy)
that an optional `[calibrate]` extra adds; scikit-learn's LogisticRegression cannot bound
signs, and statsmodels brings pandas and patsy for a fit we do not need formulas for.

How weights become points: a rule's feature is the points it earned divided by its
points (1 for a fresh hit, less once decayed, more for `each` rules up to their cap), so
points = scale × weight keeps decay and caps meaning the same. The scale is picked on the
training period among those that alert between half and 120% as many account-days as the
current model: the one whose alerts converted best. The routing thresholds are kept.
Timing points are not refitted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import yaml

from tipoff.core.history import AccountHistory
from tipoff.core.routing import Dimensions, route
from tipoff.core.scoring import score_of
from tipoff.core.scoring_model import ScoringModel
from tipoff.errors import TipoffError
from tipoff.model.loader import parse_model
from tipoff.quality.dataset import OUTCOME_EVENTS, QualityData, newest_verdicts
from tipoff.quality.replay import AccountScores

MIN_EACH = 10  # conversions and non-conversions (or Right and Wrong) needed, each
SNAPSHOT_EVERY = timedelta(days=3)
# Only moments when the account was active count: that is when the model decides.
ACTIVE_WITHIN = timedelta(days=7)
PENALTY = 1.0  # L2 on the weights (not the intercept)
VOLUME_RANGE = (0.5, 1.2)


class TooLittleData(TipoffError):
    def __init__(self, positives: int, negatives: int, until: datetime) -> None:
        super().__init__(
            f"Too little labelled data to calibrate: {positives} converted and {negatives} "
            f"not converted (conversions, plus Right/Wrong verdicts) before {until:%Y-%m-%d}; "
            f"need at least {MIN_EACH} of each. Import CRM outcomes "
            "(`tipoff outcomes import FILE`), collect more feedback, or widen --since."
        )
        self.positives, self.negatives = positives, negatives


@dataclass(frozen=True, slots=True)
class Example:
    account_id: int
    at: datetime
    features: dict[str, float]
    dimension_of: dict[str, str]
    timing: float
    title_match: bool
    label: int


@dataclass(frozen=True, slots=True)
class Fit:
    points: dict[str, float]  # rule id -> new points (rounded)
    weights: dict[str, float]  # rule id -> fitted log-odds per unit of the rule
    intercept: float
    scale: float
    examples: int
    positives: int


def rule_points(model: ScoringModel) -> dict[str, float]:
    return {r.id: r.points for r in model.fit} | {r.id: r.points for r in model.signals}


def examples(
    data: QualityData,
    model: ScoringModel,
    *,
    start: datetime,
    until: datetime,
    days: int,
    verdicts: bool = True,
) -> list[Example]:
    """Snapshots, every 3 days, of each account active in the week before, whose N-day
    outcome is known by `until` (label: converted within N days), plus (with `verdicts`)
    each rep's newest Right/Wrong on an account before `until` (label: Right), scored
    when it was given."""
    points = rule_points(model)
    window = timedelta(days=days)
    found: list[Example] = []
    moments: list[datetime] = []
    moment = start
    while moment + window <= until:
        moments.append(moment)
        moment += SNAPSHOT_EVERY
    for account_id, history in sorted(data.histories.items()):
        if model.exclude.excludes(history.domain):
            continue
        converted = data.conversions(account_id)
        scores = AccountScores(history, model)
        for at in moments:
            if any(c <= at for c in converted):
                break  # in the pipeline already: no longer a prediction
            label = int(any(at < c <= at + window for c in converted))
            example = _example(scores, points, at, label)
            if example is not None:
                found.append(example)
    if not verdicts:
        return found
    for verdict in newest_verdicts(data.verdicts, key_on_alert=False):
        judged = data.histories.get(verdict.account_id)
        if judged is None or verdict.created_at >= until:
            continue
        example = _example(
            AccountScores(judged, model),
            points,
            verdict.created_at,
            int(verdict.verdict == "right"),
        )
        if example is not None:
            found.append(example)
    return found


def _active(history: AccountHistory, at: datetime) -> bool:
    """Whether the account did anything (an outcome is not something it did) in the week
    up to `at`: only then does the model decide anything about it."""
    recent = at - ACTIVE_WITHIN
    return any(
        recent < s.occurred_at <= at for s in history.signals if s.event not in OUTCOME_EVENTS
    )


def _example(
    scores: AccountScores, points: dict[str, float], at: datetime, label: int
) -> Example | None:
    history = scores.history
    if not _active(history, at):
        return None  # nothing happened lately: not a moment the model decides anything
    result = scores(at)
    features = {
        e.rule_id: e.points / points[e.rule_id] for e in result.evidence if e.rule_id in points
    }
    return Example(
        account_id=history.id,
        at=at,
        features=features,
        dimension_of={e.rule_id: e.dimension for e in result.evidence},
        timing=sum(e.points for e in result.evidence if e.dimension == "timing"),
        title_match=result.title_match,
        label=label,
    )


def fit(model: ScoringModel, found: Sequence[Example], *, until: datetime) -> Fit:
    """Raises TooLittleData unless `found` (labelled before `until`) holds at least
    MIN_EACH examples of each label."""
    import numpy as np
    from scipy.optimize import minimize  # type: ignore[import-untyped, unused-ignore]

    positives = sum(e.label for e in found)
    negatives = len(found) - positives
    if positives < MIN_EACH or negatives < MIN_EACH:
        raise TooLittleData(positives, negatives, until)

    current = rule_points(model)
    rules = list(current)
    x = np.array([[e.features.get(r, 0.0) for r in rules] for e in found])
    y = np.array([e.label for e in found], dtype=float)

    def loss(beta: Any) -> tuple[float, Any]:
        z = beta[0] + x @ beta[1:]
        p = 1.0 / (1.0 + np.exp(-z))
        value = float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * PENALTY * beta[1:] @ beta[1:])
        gradient = np.concatenate(([np.sum(p - y)], x.T @ (p - y) + PENALTY * beta[1:]))
        return value, gradient

    bounds = [(None, None)] + [(0.0, None) if current[r] > 0 else (None, 0.0) for r in rules]
    solved = minimize(loss, np.zeros(len(rules) + 1), jac=True, method="L-BFGS-B", bounds=bounds)
    intercept, weights = (
        float(solved.x[0]),
        {r: float(w) for r, w in zip(rules, solved.x[1:], strict=True)},
    )

    dimension = _dimensions(model)
    base_alerts = sum(_alerts(model, e, current, dimension) for e in found)
    best: tuple[float, int, float] | None = None  # (precision, volume, scale)
    for step in range(1, 401):
        scale = step * 0.5
        points = {r: _round(scale * weights[r], current[r]) for r in rules}
        alerting = [e for e in found if _alerts(model, e, points, dimension)]
        volume = len(alerting)
        if not VOLUME_RANGE[0] * base_alerts <= volume <= VOLUME_RANGE[1] * base_alerts:
            continue
        precision = sum(e.label for e in alerting) / volume if volume else 0.0
        if best is None or (precision, volume) > best[:2]:
            best = (precision, volume, scale)
    scale = best[2] if best is not None else 20.0
    return Fit(
        points={r: _round(scale * weights[r], current[r]) for r in rules},
        weights=weights,
        intercept=intercept,
        scale=scale,
        examples=len(found),
        positives=positives,
    )


def _round(value: float, old: float) -> float:
    """Whole points, never 0 (a rule must earn something), on the rule's side of 0."""
    whole = max(1, round(abs(value)))
    return float(math.copysign(whole, old))


def _dimensions(model: ScoringModel) -> dict[str, str]:
    found = {r.id: "fit" for r in model.fit}
    return found | {r.id: model.dimension_of(r).value for r in model.signals}


def _alerts(
    model: ScoringModel, e: Example, points: dict[str, float], dimension: dict[str, str]
) -> bool:
    totals = {"fit": 0.0, "product": 0.0, "marketing": 0.0, "timing": e.timing}
    for rule, amount in e.features.items():
        totals[dimension[rule]] += amount * points[rule]
    dims = Dimensions(**totals)
    score = score_of(dims.total)
    return route(dims, score, title_match=e.title_match, routing=model.routing).alerts


def candidate_text(text: str, model: ScoringModel, points: dict[str, float], name: str) -> str:
    """`text` (the current model file) with new points (and caps scaled with them) and a
    new name; comments, order and layout are kept, so a diff shows only the numbers."""
    root = yaml.compose(text)
    assert isinstance(root, yaml.MappingNode)
    edits: list[tuple[int, int, str]] = []
    caps = {r.id: r.cap for r in model.signals if r.cap is not None}
    old = rule_points(model)
    for key, value in root.value:
        if key.value == "name":
            edits.append((value.start_mark.index, value.end_mark.index, name))
        if key.value not in ("fit", "signals") or not isinstance(value, yaml.SequenceNode):
            continue
        for item in value.value:
            fields = {k.value: v for k, v in item.value}
            rule = fields["id"].value
            node = fields["points"]
            edits.append((node.start_mark.index, node.end_mark.index, _number(points[rule])))
            if rule in caps and "cap" in fields:
                cap = max(1.0, round(caps[rule] * abs(points[rule] / old[rule])))
                node = fields["cap"]
                edits.append((node.start_mark.index, node.end_mark.index, _number(cap)))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    parse_model(text, source="candidate model")  # the same check as `tipoff model check`
    return text


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


@dataclass(frozen=True, slots=True)
class Ranking:
    """How well a model's scores order account-days by whether they converted: the
    probability that a converting one outscores one that did not (ties count half),
    0.5 being a coin toss. The Mann–Whitney U statistic over the two groups' sizes."""

    auc: float
    positives: int
    negatives: int


def ranking(
    data: QualityData, model: ScoringModel, *, start: datetime, until: datetime, days: int
) -> Ranking:
    """`model`'s ranking of the snapshots (every 3 days, active accounts) from `start`
    whose outcome is known by `until` (the held-out period, for a candidate fitted
    before `start`)."""
    window = timedelta(days=days)
    scored: list[tuple[float, int]] = []
    for account_id, history in sorted(data.histories.items()):
        if model.exclude.excludes(history.domain):
            continue
        converted = data.conversions(account_id)
        scores = AccountScores(history, model)
        at = start
        while at + window <= until:
            if any(c <= at for c in converted):
                break
            if _active(history, at):
                label = int(any(at < c <= at + window for c in converted))
                scored.append((scores(at).raw_points, label))
            at += SNAPSHOT_EVERY
    positives = [s for s, label in scored if label]
    negatives = [s for s, label in scored if not label]
    if not positives or not negatives:
        return Ranking(0.5, len(positives), len(negatives))
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return Ranking(wins / (len(positives) * len(negatives)), len(positives), len(negatives))
