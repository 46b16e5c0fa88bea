"""One score per account, from four dimensions, with every point traced to a rule.

`score_account` is a pure function of the account's stored history, the model and `now`,
so the scheduler, a lookup and a backtest replaying history all get the same answer. It
sums the signals first (core.tally); `score_tallies` scores sums the database made.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tipoff.core import evidence as say
from tipoff.core.history import AccountHistory, Person
from tipoff.core.routing import Dimensions, Track, route
from tipoff.core.scoring_model import Decay, FitRule, ScoringModel, SignalRule, Timing
from tipoff.core.tally import (
    DAY,
    Tally,
    TallyPlan,
    categories,
    decay_factor,
    newest_first,
    per_model,
    tally,
    tally_plan,
)
from tipoff.core.titles import titles_pattern

__all__ = [
    "Contact",
    "Evidence",
    "ScoreResult",
    "WholePoints",
    "decay_factor",
    "score_account",
    "score_of",
    "score_tallies",
]


@dataclass(frozen=True, slots=True)
class Evidence:
    rule_id: str
    dimension: str  # fit | product | marketing | timing
    points: float
    text: str
    person_ids: tuple[int, ...] = ()
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    person_id: int
    label: str
    email: str | None
    why: str


DIMENSIONS = ("fit", "product", "marketing", "timing")


@dataclass(frozen=True, slots=True)
class WholePoints:
    """An account's points as people read them: whole, and adding up.

    Rounded once: `total` is the exact sum rounded (as `score_of` rounds), and what that
    rounding gained or lost is shared out over the four dimensions, then each
    dimension's points over its evidence lines, by largest remainder. So the dimensions
    shown add up to the total, each dimension's lines add up to it, and no part is a
    whole point or more from its exact value. Every renderer reads these and never
    rounds a part itself: rounded separately, 77.6 + 2.6 showed as 78 + 3 under 80."""

    total: int  # may be below 0; the score is this floored at 0
    fit: int
    product: int
    marketing: int
    timing: int
    evidence: tuple[int, ...]  # one per ScoreResult.evidence, in its order

    def dimension(self, name: str) -> int:
        return int(getattr(self, name))


@dataclass(frozen=True, slots=True)
class ScoreResult:
    account_id: int
    score: int  # points: score_of(raw_points), 0 or more, no upper bound
    raw_points: float  # the sum of the dimensions, unrounded; orders equal scores
    dimensions: Dimensions  # exact, to a tenth: what routing compares
    track: Track
    evidence: tuple[Evidence, ...]  # strongest first
    contact: Contact | None
    title_match: bool
    excluded: bool = False
    _whole: WholePoints | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def whole(self) -> WholePoints:
        """The whole points shown (see WholePoints), derived from `evidence` alone, so a
        stored score read back shows the same ones as when it was computed. Worked out
        when first read: a rescore shows few of the results it makes (its alerts), and
        working them out for every account was a tenth of scoring."""
        whole = self._whole
        if whole is None:
            whole = whole_points(self.evidence)
            object.__setattr__(self, "_whole", whole)
        return whole

    def evidence_points(self) -> tuple[tuple[Evidence, int], ...]:
        """Each evidence line with the whole points it shows."""
        return tuple(zip(self.evidence, self.whole.evidence, strict=True))


def whole_points(evidence: Sequence[Evidence]) -> WholePoints:
    """The whole points shown for `evidence` (see WholePoints). Points are taken to the
    tenth, as scoring keeps them, and shared in integer tenths: exact, so a total on a
    half rounds the same way every time. Runs for every result shown."""
    tenths = [_tenths(e.points) for e in evidence]
    lines_of: dict[str, list[int]] = {name: [] for name in DIMENSIONS}
    for i, e in enumerate(evidence):
        lines_of[e.dimension].append(i)
    sums = [sum(tenths[i] for i in lines_of[name]) for name in DIMENSIONS]
    total = _rounded(sum(sums))
    shown = _share(total, sums)
    lines = [0] * len(evidence)
    for whole, mine in zip(shown, lines_of.values(), strict=True):
        if len(mine) == 1:
            lines[mine[0]] = whole
            continue
        for i, points in zip(mine, _share(whole, [tenths[i] for i in mine]), strict=True):
            lines[i] = points
    fit, product, marketing, timing = shown
    return WholePoints(total, fit, product, marketing, timing, tuple(lines))


def _tenths(points: float) -> int:
    return round(points * 10)


def _rounded(tenths: int) -> int:
    """`tenths` / 10 rounded as Python's round() rounds a float: halves to even."""
    whole, rest = divmod(tenths, 10)
    return whole + (rest > 5 or (rest == 5 and whole % 2 == 1))


def _share(whole: int, tenths: Sequence[int]) -> list[int]:
    """`whole` points shared over parts given in tenths, by largest remainder: each part
    gets its floor, and the points left over go one each to the largest remainders (on
    a tie, to the larger part, then the earlier). `whole` is the parts' sum rounded, so
    what is left over is at least 0 and at most the number of parts with a remainder."""
    shares = [t // 10 for t in tenths]
    left = whole - sum(shares)
    if left:
        order = sorted(range(len(tenths)), key=lambda i: (-(tenths[i] % 10), -abs(tenths[i]), i))
        for i in order[:left]:
            shares[i] += 1
    return shares


def score_account(
    history: AccountHistory, model: ScoringModel, now: datetime, *, worded: bool = True
) -> ScoreResult:
    return score_tallies(history, tally(history.signals, model, now), model, now, worded=worded)


def score_tallies(
    history: AccountHistory,
    tallies: Sequence[Tally],
    model: ScoringModel,
    now: datetime,
    *,
    worded: bool = True,
) -> ScoreResult:
    """Scores an account from its summed signals (`history.signals` is not read).

    `worded=False` gives the same score, dimensions, track and evidence rules, points,
    dimensions and times, without the words: no evidence text, no people named, no
    contact. For replays, which score every account on every past day and read only
    those: the words were a third of a backtest's time."""
    if model.exclude.excludes(history.domain):
        return ScoreResult(
            account_id=history.id,
            score=0,
            raw_points=0.0,
            dimensions=Dimensions(0.0, 0.0, 0.0, 0.0),
            track=Track.LOW_TOUCH,
            evidence=(
                Evidence(
                    "excluded",
                    "fit",
                    0.0,
                    f"{history.domain} is excluded by the model "
                    "(an internal, test or competitor domain)",
                ),
            ),
            contact=None,
            title_match=False,
            excluded=True,
        )

    hits: list[Evidence] = []
    title_match = False
    for fit_rule in model.fit:
        hit = _fit_hit(fit_rule, history, worded)
        if hit is not None:
            hits.append(hit)
            title_match = title_match or fit_rule.title_matches is not None

    vocabulary = categories(model)
    # Keyed by text (a Category equals and hashes as its value): enum member lookups
    # were a tenth of scoring's time.
    by_category: dict[str, list[Tally]] = {}
    by_event: dict[str, list[Tally]] = {}
    for t in tallies:
        category = vocabulary.get(t.event)
        if category is not None:
            by_category.setdefault(category, []).append(t)
            by_event.setdefault(t.event, []).append(t)

    for reads in _rules_read(model):
        if reads.events is None:
            candidates = by_category.get(reads.dimension, ())
        elif len(reads.events) == 1:
            candidates = by_event.get(reads.events[0], ())
        else:
            candidates = [t for event in reads.events for t in by_event.get(event, ())]
        if not candidates:  # most rules, at most accounts: skip the call
            continue
        hit = _signal_hit(reads, candidates, history.people, now, model.decay, worded)
        if hit is not None:
            hits.append(hit)

    activity = by_category.get("product", []) + by_category.get("marketing", [])
    timing_hit = _timing_hit(activity, model.timing, now, tally_plan(model), worded)
    if timing_hit is not None:
        hits.append(timing_hit)

    # In integer tenths, as whole_points adds them, so the score is its rounded total.
    totals = {name: 0 for name in DIMENSIONS}
    for hit in hits:
        totals[hit.dimension] += _tenths(hit.points)
    dimensions = Dimensions(**{k: v / 10 for k, v in totals.items()})
    raw = sum(totals.values()) / 10
    score = score_of(raw)
    hits.sort(key=lambda h: (-abs(h.points), h.rule_id))
    return ScoreResult(
        account_id=history.id,
        score=score,
        raw_points=raw,
        dimensions=dimensions,
        track=route(dimensions, score, title_match=title_match, routing=model.routing),
        evidence=tuple(hits),
        contact=_contact(hits, history.people) if worded else None,
        title_match=title_match,
    )


def score_of(raw_points: float) -> int:
    """The score reps see: an account's points (the sum of its four dimensions, so the
    evidence lines add up to it) in whole points, floored at 0.

    There is deliberately no top. Capping at 100 tied every hot account and hid what
    seeds/000 asks reps to see: an account with a demo request *and* three engineers in
    the product ranks well above either alone. The thresholds (`routing.qualify_at`,
    `hot_at`) are in the same points, as seeds/001's worked example states them."""
    return max(0, round(raw_points))


def _fit_hit(rule: FitRule, history: AccountHistory, worded: bool) -> Evidence | None:
    if rule.title_matches is not None:
        pattern = titles_pattern(tuple(rule.title_matches))
        matched = [p for p in history.people.values() if p.title and pattern.search(p.title)]
        if not matched:
            return None
        if not worded:
            return Evidence(rule.id, "fit", rule.points, "")
        matched.sort(key=lambda p: p.id)
        text = f"{say.who(matched)} {say.agree(rule.says, several=len(matched) > 1)}"
        return Evidence(rule.id, "fit", rule.points, text, tuple(p.id for p in matched))
    if rule.employees is not None:
        if history.employees is None or not rule.employees.contains(history.employees):
            return None
        if not worded:
            return Evidence(rule.id, "fit", rule.points, "")
        subject = f"{history.label} ({say.plural(history.employees, 'employee')})"
    else:
        industries = {i.lower() for i in rule.industry_in or []}
        if history.industry is None or history.industry.lower() not in industries:
            return None
        if not worded:
            return Evidence(rule.id, "fit", rule.points, "")
        subject = f"{history.label} ({history.industry})"
    return Evidence(rule.id, "fit", rule.points, f"{subject} {rule.says}")


@dataclass(frozen=True, slots=True)
class _RuleReads:
    """A signal rule with where its sums are, looked up once per model rather than
    for each of the rule's accounts."""

    rule: SignalRule
    dimension: str  # its category's value: product | marketing
    events: tuple[str, ...] | None  # None: every event of its category
    window: int  # Tally.counts index
    weight: int | None  # Tally.weights index, for a decaying `each` rule
    detail: int | None  # Tally.details index, for a rule with a detail_property


@per_model
def _rules_read(model: ScoringModel) -> tuple[_RuleReads, ...]:
    plan = tally_plan(model)
    return tuple(
        _RuleReads(
            rule,
            model.dimension_of(rule).value,
            None if rule.category is not None else tuple(rule.events or ()),
            plan.count_index(rule.window_days),
            plan.weight_index(rule.window_days) if rule.each and rule.decays else None,
            None if rule.detail_property is None else plan.detail_index(rule.detail_property),
        )
        for rule in model.signals
    )


def _signal_hit(
    reads: _RuleReads,
    candidates: Sequence[Tally],
    people: Mapping[int, Person],
    now: datetime,
    decay: Decay,
    worded: bool,
) -> Evidence | None:
    rule, window = reads.rule, reads.window
    # One walk over the tallies for what the rule compares and names: it runs for
    # every rule of every account scored.
    inside: list[Tally] = []
    count = 0
    latest: dict[int | None, datetime] = {}  # each person's newest signal; None: anonymous
    for t in candidates:
        counted = t.counts[window]
        if counted:
            inside.append(t)
            count += counted
            known = latest.get(t.person_id)
            if known is None or t.newest > known:
                latest[t.person_id] = t.newest
    if not inside:
        return None
    users = len(latest) - (None in latest)
    if count < rule.min_count or users < rule.min_users:
        return None
    newest = max(latest.values())

    if rule.each:
        if reads.weight is not None:
            weight = reads.weight
            points = rule.points * sum(t.weights[weight] for t in inside)
        else:
            points = rule.points * count
        if rule.cap is not None:
            points = max(-rule.cap, min(rule.cap, points))
    else:
        points = rule.points * (decay_factor(now - newest, decay) if rule.decays else 1.0)
    if not worded:
        return Evidence(rule.id, reads.dimension, round(points, 1), "", at=newest)

    # Newest first; at equal times named people before anonymous ones, then by id.
    involved = newest_first(latest, lambda pid: (pid is None, pid or 0))
    # Someone the account no longer lists (their signals stay with it) is named as what
    # the line can say of them: one of its anonymous visitors.
    persons = [people.get(pid) if pid is not None else None for pid in involved]
    details: list[str] = []
    if reads.detail is not None:
        d = reads.detail
        seen: dict[str, datetime] = {}
        for t in inside:
            value = t.details[d]
            if value is not None and (value not in seen or t.newest > seen[value]):
                seen[value] = t.newest
        details = newest_first(seen, lambda value: value)
    text = say.fill(
        rule.says,
        who=say.who(persons),
        several=len(persons) > 1,
        when=say.ago(newest, now),
        count=str(count),
        users=str(users),
        window=say.span(rule.window_days) if rule.window_days is not None else "",
        detail=say.join_names(details) if details else rule.detail_default,
    )
    return Evidence(
        rule.id,
        reads.dimension,
        round(points, 1),
        text,
        tuple(pid for pid in involved if pid is not None),
        newest,
    )


def _timing_hit(
    activity: Sequence[Tally], timing: Timing, now: datetime, plan: TallyPlan, worded: bool
) -> Evidence | None:
    """Compares recent activity with the baseline before it."""
    if not activity:
        return None
    last = max(t.newest for t in activity)
    if now - last > timing.inactive_after_days * DAY:
        text = (
            f"No activity for {say.duration(now - last)} (last signal {say.ago(last, now)})"
            if worded
            else ""
        )
        return Evidence("inactive", "timing", timing.inactive_points, text, at=last)
    recent_window = plan.count_index(timing.recent_days)
    both_windows = plan.count_index(timing.recent_days + timing.baseline_days)
    recent = sum(t.counts[recent_window] for t in activity)
    baseline = sum(t.counts[both_windows] for t in activity) - recent
    expected = baseline * timing.recent_days / timing.baseline_days
    if recent >= timing.min_events and recent >= timing.rising_ratio * expected:
        trend, points = "rising", timing.rising_points
    elif baseline >= timing.min_events and recent <= timing.fading_ratio * expected:
        trend, points = "fading", timing.fading_points
    else:
        return None
    if not worded:
        return Evidence(trend, "timing", points, "", at=last)
    # Said as weekly rates, as they are compared: 4 in 7 days against 6 in the 21 before
    # is rising (4 a week against 2), though 4 is fewer than 6.
    now_rate = say.per_week(recent, timing.recent_days)
    then_rate = say.per_week(baseline, timing.baseline_days)
    compared = (
        f"{say.plural(now_rate, 'signal')} a week in the last {say.span(timing.recent_days)},"
        f" against {say.number(then_rate)} a week in the {say.span(timing.baseline_days)} before"
    )
    return Evidence(trend, "timing", points, f"Activity is {trend}: {compared}", at=last)


def _contact(hits: Sequence[Evidence], people: Mapping[int, Person]) -> Contact | None:
    """Who to contact first: an engaged decision-maker (seeds/001: budget authority among
    the active users), else whoever raised a hand through marketing (seeds/000: intent
    from the buyer), else the person the product evidence credits most. Newer activity
    breaks ties; the person's strongest evidence line says why."""
    decision_makers: set[int] = set()
    credit: dict[int, float] = defaultdict(float)
    intent: dict[int, float] = defaultdict(float)
    latest: dict[int, float] = {}
    why: dict[int, str] = {}
    for hit in hits:  # strongest first
        if hit.points <= 0 or not hit.person_ids:
            continue
        if hit.dimension == "fit":
            decision_makers.update(hit.person_ids)
            continue
        share = hit.points / len(hit.person_ids)
        marketing = hit.dimension == "marketing"
        at = hit.at.timestamp() if hit.at is not None else None
        for pid in hit.person_ids:
            credit[pid] += share
            if marketing:
                intent[pid] += share
            why.setdefault(pid, hit.text)
            if at is not None:
                latest[pid] = max(latest.get(pid, 0.0), at)
    engaged = [pid for pid in credit if pid in people]
    if not engaged:
        return None

    def priority(pid: int) -> tuple[bool, float, float, float, int]:
        return (
            pid in decision_makers,
            round(intent[pid], 6),
            round(credit[pid], 6),
            latest.get(pid, 0.0),
            -pid,
        )

    best = max(engaged, key=priority)
    person = people[best]
    return Contact(best, person.label, person.email, why[best])
