"""The shape of a scoring model file. Every field here is documented in the README's
"The model file" section; `tipoff model check` reports violations with their line."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

from tipoff.core import titles
from tipoff.core.event_names import EventNameMap, split_key

RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
EventName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class Category(StrEnum):
    PRODUCT = "product"
    MARKETING = "marketing"
    OUTCOME = "outcome"


class _Strict(BaseModel):
    # A typo in a key ("pionts") must be an error, not a silently ignored rule.
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventVocabulary(_Strict):
    """Which event names are product, marketing or outcome signals."""

    product: list[EventName] = []
    marketing: list[EventName] = []
    outcome: list[EventName] = []

    @model_validator(mode="after")
    def _each_event_once(self) -> EventVocabulary:
        seen: dict[str, str] = {}
        for category in Category:
            for name in getattr(self, category.value):
                if name in seen:
                    raise ValueError(
                        f"event {name!r} is listed under both {seen[name]} and {category.value}"
                    )
                seen[name] = category.value
        return self

    def category_of(self, event: str) -> Category | None:
        for category in Category:
            if event in getattr(self, category.value):
                return category
        return None


class SignalRule(_Strict):
    """Points for something people at an account did.

    The rule holds when, among the account's signals for `events` (or any event of
    `category`) within the last `window_days`, there are at least `min_count` of them by
    at least `min_users` different people. Its points then decay with the age of the
    newest matching signal (unless `decays: false`, for lasting states such as an
    unsubscribe). With `each`, every matching signal earns `points` (each decayed by its
    own age) up to `cap` in total, so one noisy event cannot dominate.
    """

    id: RuleId
    events: list[EventName] | None = None
    category: Category | None = None
    points: float
    says: str = Field(min_length=1, max_length=200)
    min_count: int = Field(default=1, ge=1)
    min_users: int = Field(default=1, ge=1)
    window_days: float | None = Field(default=None, gt=0)
    each: bool = False
    cap: float | None = Field(default=None, gt=0)
    decays: bool = True
    detail_property: str | None = None
    detail_default: str = "something"

    @field_validator("points")
    @classmethod
    def _points_nonzero(cls, value: float) -> float:
        if value == 0:
            raise ValueError("points must not be 0: a rule that earns nothing explains nothing")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SignalRule:
        if (self.events is None) == (self.category is None):
            raise ValueError("give exactly one of `events` (a list of names) or `category`")
        if self.events is not None and not self.events:
            raise ValueError("`events` must name at least one event")
        if self.category is Category.OUTCOME:
            raise ValueError("outcome events are labels for checking the model, not points")
        if self.cap is not None and not self.each:
            raise ValueError("`cap` only applies to rules with `each: true`")
        if self.each and (self.min_count > 1 or self.min_users > 1):
            raise ValueError("`each` rules earn per signal; drop min_count/min_users")
        if "{detail}" in self.says and self.detail_property is None:
            raise ValueError("`says` uses {detail} but no `detail_property` is given")
        return self


class Range(_Strict):
    min: int | None = None
    max: int | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("give `min`, `max` or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self

    def contains(self, value: int) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


def _titles_score(patterns: list[str]) -> list[str]:
    """Each problem of a rule's `title_matches` (tipoff.core.titles), at its pattern."""
    found = titles.problems(patterns)
    if found:
        raise ValidationError.from_exception_data(
            "title_matches",
            [
                InitErrorDetails(
                    type=PydanticCustomError("title_pattern", "{why}", {"why": why}),
                    loc=(index,),
                    input=patterns[index],
                )
                for index, why in found
            ],
        )
    return patterns


TitlePatterns = Annotated[list[str], AfterValidator(_titles_score)]

_PYDANTIC_ERROR_TYPES = frozenset(get_args(ErrorType))


def _raisable(error: Any) -> Any:
    """`error` (one of `ValidationError.errors()`) as `from_exception_data` takes it again:
    pydantic's own kinds as they are, ours (`title_pattern`, …) as the custom errors they were."""
    if error["type"] in _PYDANTIC_ERROR_TYPES:
        return error
    custom = PydanticCustomError(error["type"], "{why}", {"why": error["msg"]})
    return InitErrorDetails(type=custom, loc=error["loc"], input=error["input"])


class FitRule(_Strict):
    """Points for who the account is: exactly one of `title_matches` (any person at the
    account whose title matches one of these case-insensitive regular expressions),
    `employees` (a range) or `industry_in` (case-insensitive names)."""

    id: RuleId
    points: float
    says: str = Field(min_length=1, max_length=200)
    title_matches: TitlePatterns | None = None
    employees: Range | None = None
    industry_in: list[str] | None = None

    @model_validator(mode="after")
    def _one_condition(self) -> FitRule:
        given = [c for c in (self.title_matches, self.employees, self.industry_in) if c is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of `title_matches`, `employees` or `industry_in`")
        return self


class Decay(_Strict):
    """A signal keeps full points for `grace_days`, then halves every `half_life_days`."""

    half_life_days: float = Field(default=14, gt=0)
    grace_days: float = Field(default=7, ge=0)


class Timing(_Strict):
    """Rewards rising activity and penalises fading or stopped activity.

    Activity in the last `recent_days` is compared with the `baseline_days` before it,
    scaled to the same length."""

    recent_days: float = Field(default=7, gt=0)
    baseline_days: float = Field(default=21, gt=0)
    min_events: int = Field(default=3, ge=1)
    rising_ratio: float = Field(default=1.5, gt=1)
    rising_points: float = Field(default=5, ge=0)
    fading_ratio: float = Field(default=0.5, gt=0, lt=1)
    fading_points: float = Field(default=-10, le=0)
    inactive_after_days: float = Field(default=30, gt=0)
    inactive_points: float = Field(default=-20, le=0)


# The tracks that alert, as spelled in the model file (core.routing.Track's values).
ALERTING_TRACKS = ("hot", "sales-ready")
_HH_MM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _known_tracks(tracks: Iterable[str], what: str) -> None:
    unknown = [t for t in tracks if t not in ALERTING_TRACKS]
    if unknown:
        raise ValueError(
            f"{what}: {', '.join(map(repr, unknown))} is not an alerting track "
            f"(one of {', '.join(ALERTING_TRACKS)})"
        )


def _valid_time_zone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
    return name


class Segment(_Strict):
    """Alerts for accounts in this segment go to `channel` (first matching segment wins).
    `employees` is a range, `regions` matches the account's `region` trait
    (case-insensitive), `tracks` limits it to some alerting tracks (all when empty)."""

    name: str = Field(min_length=1, max_length=100)
    channel: str = Field(min_length=1, max_length=255)
    employees: Range | None = None
    regions: list[str] = []
    tracks: list[str] = []

    @model_validator(mode="after")
    def _has_condition(self) -> Segment:
        _known_tracks(self.tracks, f"segment {self.name!r} tracks")
        if self.employees is None and not self.regions and not self.tracks:
            raise ValueError(
                f"segment {self.name!r} matches every account: give `employees`, "
                "`regions` or `tracks`"
            )
        return self


class Sla(_Strict):
    """An unclaimed alert gets a reminder in its thread after `remind_after_hours`
    working hours, and is escalated after `escalate_after_hours` more."""

    remind_after_hours: float = Field(gt=0)
    escalate_after_hours: float = Field(gt=0)


class WorkingHours(_Strict):
    """When SLA clocks run: `start`–`end` local time on `days`, in `time_zone`."""

    start: str = "09:00"
    end: str = "17:00"
    days: list[str] = ["mon", "tue", "wed", "thu", "fri"]
    time_zone: str = "UTC"

    @field_validator("start", "end")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not _HH_MM.match(value):
            raise ValueError(f"{value!r} is not a time of day as HH:MM (24-hour)")
        return value

    @field_validator("days")
    @classmethod
    def _weekdays(cls, days: list[str]) -> list[str]:
        days = [d.strip().lower()[:3] for d in days]
        unknown = [d for d in days if d not in _WEEKDAYS]
        if unknown or not days:
            raise ValueError(f"days must be some of {', '.join(_WEEKDAYS)}")
        return days

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _valid_time_zone(value)

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if self.start >= self.end:
            raise ValueError(f"start ({self.start}) must be before end ({self.end})")
        return self


def _default_slas() -> dict[str, Sla]:
    return {
        "hot": Sla(remind_after_hours=4, escalate_after_hours=4),
        "sales-ready": Sla(remind_after_hours=8, escalate_after_hours=8),
    }


class Routing(_Strict):
    """Thresholds that turn dimensions into a track (see README, "Routing"), and where
    and how often alerts go (README, "Working from Slack"). Scores and thresholds are
    points, the sum of the rules' points, with no upper bound (core.scoring.score_of)."""

    qualify_at: int = Field(default=60, ge=0)
    hot_at: int = Field(default=80, ge=0)
    strong_product_at: float = Field(default=45)
    marketing_intent_at: float = Field(default=20)
    good_fit_at: float = Field(default=0)
    # Channel per alerting track; a track not named here uses TIPOFF_ALERT_CHANNEL.
    channels: dict[str, str] = {}
    segments: list[Segment] = []
    # No noise: after an alert, a Wrong or a snooze, an account stays quiet this long.
    cooldown_hours: float = Field(default=72, ge=0)
    wrong_cooldown_days: float = Field(default=14, ge=0)
    # After the cooldown, a new alert needs a higher track, a score up this much since
    # the last alert, or a new evidence line worth at least strong_signal_points.
    jump_points: int = Field(default=15, ge=1)
    strong_signal_points: float = Field(default=20, gt=0)
    # More than bundle_over alerts for one channel in one run become one message.
    bundle_over: int = Field(default=15, ge=1)
    bundle_top: int = Field(default=5, ge=1, le=20)
    sla: dict[str, Sla] = Field(default_factory=_default_slas)
    working_hours: WorkingHours = WorkingHours()

    @model_validator(mode="after")
    def _hot_above_qualify(self) -> Routing:
        if self.hot_at < self.qualify_at:
            raise ValueError(f"hot_at ({self.hot_at}) is below qualify_at ({self.qualify_at})")
        return self

    @field_validator("channels", "sla")
    @classmethod
    def _alerting_tracks_only(cls, value: dict[str, object]) -> dict[str, object]:
        _known_tracks(value, "a key")
        return value


class Exclusions(_Strict):
    """Accounts never scored: internal, test and competitor domains (subdomains too)."""

    domains: list[str] = []

    @field_validator("domains")
    @classmethod
    def _lowercase(cls, domains: list[str]) -> list[str]:
        return [d.strip().lower().lstrip("@") for d in domains]

    def excludes(self, domain: str | None) -> bool:
        if not domain:
            return False
        return any(domain == d or domain.endswith("." + d) for d in self.domains)


class ScoringModel(_Strict):
    version: int = Field(default=1, ge=1, le=1)
    name: str = Field(min_length=1, max_length=100)
    lookback_days: float = Field(default=180, gt=0)
    events: EventVocabulary
    fit: list[FitRule] = []
    signals: list[SignalRule] = []
    decay: Decay = Decay()
    timing: Timing = Timing()
    routing: Routing = Routing()
    exclude: Exclusions = Exclusions()
    # A source's own event names → Tipoff's (core.event_names): for every source, and
    # per source (by its `tipoff sources` name; its keys replace the same keys above).
    event_names: dict[EventName, EventName] = {}
    source_event_names: dict[str, dict[EventName, EventName]] = {}

    @cached_property
    def compiled_event_names(self) -> dict[str | None, EventNameMap]:
        maps: dict[str | None, EventNameMap] = {None: EventNameMap.build(self.event_names)}
        for source, names in self.source_event_names.items():
            maps[source] = EventNameMap.build(self.event_names, names)
        return maps

    def event_name_map(self, source: str) -> EventNameMap:
        """How the source named `source` has its event names stored."""
        maps = self.compiled_event_names
        return maps.get(source, maps[None])

    @model_validator(mode="wrap")
    @classmethod
    def _references_resolve(
        cls, data: Any, handler: ModelWrapValidatorHandler[ScoringModel]
    ) -> ScoringModel:
        """What one part of the file says about another (a rule's events and a mapping's
        target are listed under `events`; rule ids are unique) is checked on every part
        that is valid itself, so each such problem is reported at its own line together
        with every other problem, rather than once the rest of the file is right."""
        try:
            model: ScoringModel | None = handler(data)
            errors: list[Any] = []
        except ValidationError as error:
            model, errors = None, [_raisable(e) for e in error.errors()]
        problems = [
            InitErrorDetails(
                type=PydanticCustomError("reference", "{message}", {"message": message}),
                loc=loc,
                input=data,
            )
            for loc, message in _reference_problems(*_valid_parts(model, data))
        ]
        if errors or problems:
            raise ValidationError.from_exception_data(cls.__name__, [*errors, *problems])
        assert model is not None
        return model

    @field_validator("routing")
    @classmethod
    def _hot_reachable(cls, routing: Routing, info: ValidationInfo) -> Routing:
        # A field validator rather than a model one, so the problem is reported at the
        # `routing` line; the rules it needs are validated before it (field order).
        if not {"fit", "signals", "timing"} <= info.data.keys():
            return routing  # a rule is invalid: that is the problem to report
        most = _most_points(info.data["fit"], info.data["signals"], info.data["timing"])
        if routing.hot_at > most:
            raise ValueError(
                f"hot_at ({routing.hot_at}) is more than this model can ever score "
                f"({most:g} points, with every rule that adds points at its full points), "
                "so no account could be hot; thresholds are in the rules' points"
            )
        return routing

    def dimension_of(self, rule: SignalRule) -> Category:
        """The dimension a signal rule's points count towards."""
        if rule.category is not None:
            return rule.category
        category = self.events.category_of((rule.events or [""])[0])
        assert category is not None  # guaranteed by validation
        return category


def _most_points(fit: list[FitRule], signals: list[SignalRule], timing: Timing) -> float:
    """An upper bound on any account's score: every rule that adds points holding at once
    at full points (an `each` rule at its cap; infinite for one without a cap), plus
    rising timing."""
    most = timing.rising_points + sum(r.points for r in fit if r.points > 0)
    for rule in signals:
        if rule.points < 0:
            continue
        if rule.each:
            if rule.cap is None:
                return math.inf
            most += rule.cap
        else:
            most += rule.points
    return most


Loc = tuple[str | int, ...]


def _valid_parts(
    model: ScoringModel | None, data: Any
) -> tuple[
    EventVocabulary | None,
    list[tuple[Loc, str]],
    list[tuple[int, SignalRule]],
    list[tuple[Loc, str, str]],
]:
    """The parts the references are between, each only where it is valid by itself: the
    vocabulary, rule ids (with where they are), signal rules (by index) and event-name
    mappings (where, key, target)."""
    if model is not None:
        vocabulary: EventVocabulary | None = model.events
        fit: list[tuple[int, FitRule]] = list(enumerate(model.fit))
        signals = list(enumerate(model.signals))
        names: dict[str, Any] = model.event_names
        by_source: dict[str, Any] = model.source_event_names
    else:
        data = data if isinstance(data, dict) else {}
        vocabulary = _valid(EventVocabulary, data.get("events"))
        fit = _valid_items(FitRule, data.get("fit"))
        signals = _valid_items(SignalRule, data.get("signals"))
        names = data.get("event_names") if isinstance(data.get("event_names"), dict) else {}
        raw = data.get("source_event_names")
        by_source = raw if isinstance(raw, dict) else {}
    ids: list[tuple[Loc, str]] = [(("fit", i, "id"), rule.id) for i, rule in fit]
    ids += [(("signals", i, "id"), rule.id) for i, rule in signals]
    mappings: list[tuple[Loc, Any, Any]] = [
        (("event_names", key), key, target) for key, target in names.items()
    ]
    for source, mapped in by_source.items():
        if isinstance(mapped, dict):
            mappings += [
                (("source_event_names", source, key), key, target) for key, target in mapped.items()
            ]
    text = [
        (loc, k.strip(), t.strip())
        for loc, k, t in mappings
        if isinstance(k, str) and isinstance(t, str)
    ]
    return vocabulary, ids, signals, text


M = TypeVar("M", bound=BaseModel)


def _valid(model: type[M], data: Any) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def _valid_items(model: type[M], data: Any) -> list[tuple[int, M]]:
    items = data if isinstance(data, list) else []
    return [(i, valid) for i, item in enumerate(items) if (valid := _valid(model, item))]


def _reference_problems(
    vocabulary: EventVocabulary | None,
    ids: list[tuple[Loc, str]],
    signals: list[tuple[int, SignalRule]],
    mappings: list[tuple[Loc, str, str]],
) -> list[tuple[Loc, str]]:
    """Each reference that does not resolve, at its own place in the file."""
    problems: list[tuple[Loc, str]] = []
    seen: set[str] = set()
    for loc, rule_id in ids:
        if rule_id in seen:
            problems.append((loc, f"rule ids must be unique; repeated: {rule_id}"))
        seen.add(rule_id)
    for loc, key, _ in mappings:
        if split_key(key)[0].startswith("/"):
            problems.append((loc, f"{key!r} needs an event name before its path"))
    if vocabulary is None:
        return problems  # the vocabulary's own problems are reported; nothing to check against
    for loc, key, target in mappings:
        if vocabulary.category_of(target) is None:
            problems.append(
                (
                    loc,
                    f"{key!r} maps to {target!r}, which is not listed under `events`"
                    " (product, marketing or outcome)",
                )
            )
    for i, rule in signals:
        events = rule.events or []
        categories = {vocabulary.category_of(e) for e in events}
        for j, event in enumerate(events):
            if vocabulary.category_of(event) is None:
                problems.append(
                    (
                        ("signals", i, "events", j),
                        f"rule {rule.id!r} uses {event!r}, which is not listed under `events`"
                        " (product, marketing or outcome)",
                    )
                )
        categories.discard(None)
        if Category.OUTCOME in categories:
            problems.append((("signals", i, "events"), f"rule {rule.id!r} scores an outcome event"))
        elif len(categories) > 1:
            problems.append(
                (("signals", i, "events"), f"rule {rule.id!r} mixes product and marketing events")
            )
    return problems
