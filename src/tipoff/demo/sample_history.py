"""The bundled demo history: accounts, their people and what those people did, with times
relative to "now" so that a replay always looks current.

`history.yml` (next to this module) is validated by the models below. `segment_batches`
turns it into Segment HTTP Tracking API batch bodies for `POST /v1/batch`, exactly as a
Segment library would send them; `account_histories` turns the same history into the
core's `AccountHistory` objects, so tests can score the demo without a database and check
that every account lands on the track its story claims.

Identity, as the demo states it: every person listed under an account is placed there by
a `group` call (so a gmail.com address at a tiny company still counts for it); `strays`
are people with personal addresses and no `group` call, who belong to no account.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
    model_validator,
)

from tipoff import __version__
from tipoff.core.history import AccountHistory, Person, Signal
from tipoff.core.identity import company_domain, normalize_domain, normalize_email
from tipoff.core.routing import Track
from tipoff.ingest.segment import MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_EVENT_BYTES
from tipoff.yamlfile import YamlFileError, YamlProblem, validate_yaml

HISTORY_RESOURCE = "history.yml"


# messageIds are uuid5s in this namespace, so a replay sends the same ids and de-duplicates.
MESSAGE_NAMESPACE = uuid.UUID("5b0f2d8e-7c1a-4c5e-9a43-2f6d1e0b7a11")
LIBRARY = {"name": "tipoff-demo", "version": __version__}
MAX_AGO = timedelta(days=365)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]

_AGO = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def parse_ago(value: object) -> timedelta:
    """ "2d4h" -> 2 days 4 hours; "3h", "40d" and "45m" work too."""
    if isinstance(value, timedelta):
        return value
    example = "write e.g. '40d', '2d4h', '3h' or '45m'"
    if not isinstance(value, str):
        raise ValueError(f"a time ago must be text, not {value!r}; {example}")
    match = _AGO.match(value.strip().replace(" ", ""))
    if match is None or not any(match.groups()):
        raise ValueError(f"{value!r} is not a time ago; {example}")
    days, hours, minutes = (int(group or 0) for group in match.groups())
    delta = timedelta(days=days, hours=hours, minutes=minutes)
    if delta <= timedelta(0):
        raise ValueError(f"{value!r} is not in the past; {example}")
    if delta > MAX_AGO:
        raise ValueError(f"{value!r} is more than a year ago; the demo replays recent history")
    return delta


Ago = Annotated[timedelta, BeforeValidator(parse_ago)]


class _Strict(BaseModel):
    # A typo in a key ("tittle") must be an error, not a silently missing trait.
    model_config = ConfigDict(extra="forbid", frozen=True)


class DemoEvent(_Strict):
    """One thing a person did, once per entry of `ago`: a `track` call named after the
    event, or a `page` call (`page: Pricing` is stored as "Pricing Page Viewed").
    `anonymous` events are sent with the person's anonymousId only, before they identify."""

    track: Text | None = None
    page: Text | None = None
    ago: list[Ago] = Field(min_length=1)
    properties: dict[str, JsonValue] = Field(default_factory=dict)
    anonymous: bool = False

    @field_validator("ago", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return value if isinstance(value, list) else [value]

    @model_validator(mode="after")
    def _track_or_page(self) -> DemoEvent:
        if (self.track is None) == (self.page is None):
            raise ValueError("give exactly one of `track` (an event name) or `page` (a page name)")
        if self.track is not None and self.track.endswith(" Page Viewed"):
            page = self.track.removesuffix(" Page Viewed")
            raise ValueError(
                f"send page visits as `page: {page}`; ingest stores them as {self.track!r}"
            )
        return self

    @property
    def event_name(self) -> str:
        """The event as ingest stores it: a page call named X becomes "X Page Viewed"."""
        return self.track if self.track is not None else f"{self.page} Page Viewed"


class DemoPerson(_Strict):
    name: Text
    email: Text
    title: Text | None = None
    user_id: Text | None = None  # Segment userId; derived from the email when not given
    anonymous_id: Text | None = None  # for a visitor who browsed before identifying
    events: list[DemoEvent] = []

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        email = normalize_email(value)
        if email is None:
            raise ValueError(f"{value!r} is not an email address")
        return email

    @model_validator(mode="after")
    def _anonymous_then_identified(self) -> DemoPerson:
        anonymous = [ago for event in self.events if event.anonymous for ago in event.ago]
        known = [ago for event in self.events if not event.anonymous for ago in event.ago]
        if anonymous and self.anonymous_id is None:
            raise ValueError(f"{self.email} has anonymous events but no `anonymous_id`")
        if self.anonymous_id is not None:
            if not known:
                raise ValueError(
                    f"{self.email} has an `anonymous_id` but never identifies: give at "
                    "least one event that is not anonymous"
                )
            if anonymous and min(anonymous) <= max(known):
                raise ValueError(
                    f"{self.email}: anonymous events must all come before the first "
                    "identified one (the visitor identifies later)"
                )
        return self

    @property
    def segment_user_id(self) -> str:
        if self.user_id is not None:
            return self.user_id
        return "usr_" + uuid.uuid5(MESSAGE_NAMESPACE, self.email).hex[:16]


class DemoAccount(_Strict):
    name: Text
    domain: Text
    employees: int = Field(ge=1)
    industry: Text
    plan: Text | None = None  # the account's plan in the product; none before sign-up
    expect: Track  # the track the default model gives this account
    scenario: Literal["A", "B", "C"] | None = None  # seeds/000, "Combining signals"
    group_id: Text | None = None  # Segment groupId; the domain when not given
    people: list[DemoPerson] = Field(min_length=1)

    @field_validator("domain")
    @classmethod
    def _bare_domain(cls, value: str) -> str:
        if normalize_domain(value) != value:
            raise ValueError(f"{value!r} is not a bare lower-case domain such as 'acme.com'")
        return value

    @model_validator(mode="after")
    def _people_belong(self) -> DemoAccount:
        for person in self.people:
            domain = company_domain(person.email)
            if domain is not None and domain != self.domain:
                raise ValueError(
                    f"{person.email} is a work address at {domain}, not at {self.domain}; "
                    "list the person under that account"
                )
        if not any(person.events for person in self.people):
            raise ValueError(f"{self.name} has no events: nobody at it did anything")
        return self

    @property
    def segment_group_id(self) -> str:
        return self.group_id if self.group_id is not None else self.domain


class DemoHistory(_Strict):
    site: Text  # the product's site, for page URLs
    accounts: list[DemoAccount] = Field(min_length=1)
    strays: list[DemoPerson] = []  # personal addresses, no group call: in no account

    @model_validator(mode="after")
    def _unique(self) -> DemoHistory:
        people = [p for a in self.accounts for p in a.people] + list(self.strays)
        _no_repeats("domain", [a.domain for a in self.accounts])
        _no_repeats("groupId", [a.segment_group_id for a in self.accounts])
        _no_repeats("scenario", [a.scenario for a in self.accounts if a.scenario])
        _no_repeats("email", [p.email for p in people])
        _no_repeats("user id", [p.segment_user_id for p in people])
        _no_repeats("anonymous id", [p.anonymous_id for p in people if p.anonymous_id])
        for stray in self.strays:
            if company_domain(stray.email) is not None:
                raise ValueError(
                    f"stray {stray.email} has a work address, so ingest would place them at "
                    "that domain's account; strays must use personal mail (gmail.com …)"
                )
            if not stray.events:
                raise ValueError(f"stray {stray.email} has no events")
        return self

    def people(self) -> Iterator[tuple[DemoAccount | None, DemoPerson]]:
        """Everyone in file order, with their account (None for strays)."""
        for account in self.accounts:
            for person in account.people:
                yield account, person
        for stray in self.strays:
            yield None, stray


def _no_repeats(what: str, values: Sequence[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} appears more than once")
        seen.add(value)


# ---------------------------------------------------------------------------- loading


HistoryProblem = YamlProblem


class DemoHistoryError(YamlFileError):
    what = "demo history"


def load_history() -> DemoHistory:
    """The history bundled with Tipoff (`tipoff/demo/history.yml`)."""
    text = resources.files("tipoff.demo").joinpath(HISTORY_RESOURCE).read_text("utf-8")
    return parse_history(text, source="bundled demo history")


def parse_history(text: str, *, source: str = "<demo history>") -> DemoHistory:
    return validate_yaml(text, DemoHistory, source=source, error=DemoHistoryError)


# ---------------------------------------------------------------------------- replaying


@dataclass(frozen=True, slots=True)
class _Occurrence:
    """One expanded event: an entry of an event's `ago` list, placed in time."""

    index: int  # position among the person's occurrences, for the messageId
    at: datetime
    event: DemoEvent
    properties: dict[str, JsonValue]


def _utc(now: datetime) -> datetime:
    """`now` in UTC, to the millisecond, since Segment timestamps carry milliseconds."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` must be timezone-aware")
    now = now.astimezone(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _occurrences(person: DemoPerson, *, now: datetime, site: str) -> list[_Occurrence]:
    out: list[_Occurrence] = []
    for event in person.events:
        properties: dict[str, JsonValue] = {}
        if event.page is not None:
            path = "/" + re.sub(r"[^a-z0-9]+", "-", event.page.lower()).strip("-")
            properties = {"path": path, "url": site.rstrip("/") + path, "title": event.page}
        properties.update(event.properties)
        for ago in event.ago:
            out.append(_Occurrence(len(out), now - ago, event, properties))
    return out


def _message_id(scope: str, person: DemoPerson, kind: str, index: int = 0) -> str:
    return str(uuid.uuid5(MESSAGE_NAMESPACE, f"{scope}/{person.email}/{kind}/{index}"))


def segment_messages(history: DemoHistory, *, now: datetime) -> list[dict[str, Any]]:
    """Every Segment call of the history, in the order a replay sends them: `identify`
    calls, then `group` calls, then `track` and `page` calls oldest first."""
    now = _utc(now)
    identifies: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    events: list[tuple[datetime, int, dict[str, Any]]] = []
    first_seen = {
        account.domain: min(
            now - ago for person in account.people for e in person.events for ago in e.ago
        )
        for account in history.accounts
    }
    for account, person in history.people():
        scope = account.domain if account is not None else "stray"
        occurrences = _occurrences(person, now=now, site=history.site)
        identified = [o.at for o in occurrences if not o.event.anonymous]
        # A person identifies with their first identified event (a sign-up, a form); a
        # contact who did nothing yet is known since the account's first activity.
        if identified:
            since = min(identified)
        else:
            assert account is not None  # strays must have events (validated)
            since = first_seen[account.domain]
        traits: dict[str, JsonValue] = {"email": person.email, "name": person.name}
        if person.title is not None:
            traits["title"] = person.title
        identify: dict[str, Any] = {
            "type": "identify",
            "messageId": _message_id(scope, person, "identify"),
            "userId": person.segment_user_id,
            "traits": traits,
            "timestamp": _iso(since),
            "context": {"library": LIBRARY},
        }
        if person.anonymous_id is not None:
            identify["anonymousId"] = person.anonymous_id
        identifies.append(identify)
        if account is not None:
            group_traits: dict[str, JsonValue] = {
                "name": account.name,
                "domain": account.domain,
                "website": f"https://{account.domain}",
                "employees": account.employees,
                "industry": account.industry,
            }
            if account.plan is not None:
                group_traits["plan"] = account.plan
            groups.append(
                {
                    "type": "group",
                    "messageId": _message_id(scope, person, "group"),
                    "userId": person.segment_user_id,
                    "groupId": account.segment_group_id,
                    "traits": group_traits,
                    "timestamp": _iso(since),
                    "context": {"library": LIBRARY},
                }
            )
        for occurrence in occurrences:
            event = occurrence.event
            message: dict[str, Any] = {
                "type": "page" if event.page is not None else "track",
                "messageId": _message_id(scope, person, "event", occurrence.index),
            }
            if event.anonymous:
                message["anonymousId"] = person.anonymous_id
            else:
                message["userId"] = person.segment_user_id
            if event.page is not None:
                message["name"] = event.page
            else:
                message["event"] = event.track
            message["properties"] = dict(occurrence.properties)
            message["timestamp"] = _iso(occurrence.at)
            message["context"] = {"library": LIBRARY}
            events.append((occurrence.at, len(events), message))
    events.sort(key=lambda item: (item[0], item[1]))
    return identifies + groups + [message for _, _, message in events]


def _size(value: object) -> int:
    # json.dumps' default separators are the roomier ones, so this is an upper bound on
    # what an HTTP client sends.
    return len(json.dumps(value).encode())


def segment_batches(
    history: DemoHistory, *, now: datetime, batch_size: int = 500
) -> list[dict[str, Any]]:
    """Bodies for `POST /v1/batch`: at most `batch_size` calls each, within the limits
    Tipoff's own ingest (Segment's) accepts, so every body the demo sends is taken."""
    if not 1 <= batch_size <= MAX_BATCH_EVENTS:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_EVENTS}")
    now = _utc(now)
    sent_at = _iso(now)
    envelope = _size({"batch": [], "sentAt": sent_at})
    batches: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []
    size = envelope
    for message in segment_messages(history, now=now):
        message_size = _size(message)
        if message_size > MAX_EVENT_BYTES:
            raise ValueError(
                f"call {message['messageId']} is {message_size} bytes; Segment accepts at "
                f"most {MAX_EVENT_BYTES} bytes a call"
            )
        if current and (len(current) >= batch_size or size + 2 + message_size > MAX_BATCH_BYTES):
            batches.append({"batch": current, "sentAt": sent_at})
            current, size = [], envelope
        current.append(message)
        size += 2 + message_size  # ", " between calls
    if current:
        batches.append({"batch": current, "sentAt": sent_at})
    return batches


def account_histories(
    history: DemoHistory, *, now: datetime
) -> list[tuple[DemoAccount, AccountHistory]]:
    """Each account as the core sees it after a replay: people keyed by stable ids (in
    file order, from 1), signals named as ingest stores them. Strays belong to no
    account and appear nowhere here."""
    now = _utc(now)
    out: list[tuple[DemoAccount, AccountHistory]] = []
    person_id = 0
    for account_id, account in enumerate(history.accounts, start=1):
        people: dict[int, Person] = {}
        signals: list[Signal] = []
        for person in account.people:
            person_id += 1
            people[person_id] = Person(person_id, person.name, person.email, person.title)
            for occurrence in _occurrences(person, now=now, site=history.site):
                signals.append(
                    Signal(
                        occurrence.event.event_name,
                        occurrence.at,
                        person_id,
                        dict(occurrence.properties),
                    )
                )
        signals.sort(key=lambda signal: signal.occurred_at)
        out.append(
            (
                account,
                AccountHistory(
                    id=account_id,
                    domain=account.domain,
                    name=account.name,
                    employees=account.employees,
                    industry=account.industry,
                    people=people,
                    signals=tuple(signals),
                ),
            )
        )
    return out
