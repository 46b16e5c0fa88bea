"""Deterministic, realistic data for the benchmarks.

A population of accounts is drawn from heavy-tailed distributions, as B2B SaaS data is:
most accounts are a person or two trying the product, a few are big customers with dozens
of active users. Users are bursty: their events come in sessions of a few minutes, and a
few power users make most of an account's events. Event names are the default model's
vocabulary plus the noise every real tracking plan carries (events no rule reads).

Everything is drawn from one `random.Random(seed)`: the same seed gives the same data.
"""

from __future__ import annotations

import csv
import json
import math
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tipoff.ingest.segment import MAX_BATCH_BYTES, MAX_BATCH_EVENTS

__all__ = [
    "MAX_BATCH_EVENTS",
    "VOCABULARY",
    "bulk_load",
    "new_sender_batches",
    "population",
    "segment_batches",
]

# (name, relative frequency, how it is sent). Frequencies are a typical PLG tracking plan's:
# sessions and core actions dominate; demo requests and unsubscribes are rare.
TRACKED: tuple[tuple[str, float], ...] = (
    ("Session Started", 30.0),
    ("Core Action Completed", 14.0),
    ("Signed Up", 0.8),
    ("Onboarding Completed", 0.8),
    ("Integration Connected", 1.5),
    ("Teammate Invited", 1.2),
    ("Usage Limit Hit", 0.8),
    ("Demo Requested", 0.25),
    ("Content Downloaded", 2.0),
    ("Webinar Attended", 0.6),
    ("Email Clicked", 5.0),
    ("Unsubscribed", 0.2),
    # Not in the model: stored, never scored.
    ("Button Clicked", 10.0),
    ("Report Exported", 3.0),
    ("Search Performed", 4.0),
)
# Segment `page` calls: the name becomes "<name> Page Viewed".
PAGES: tuple[tuple[str, float], ...] = (
    ("Pricing", 3.0),
    ("Billing", 0.8),
    ("Docs", 6.0),
    ("Home", 5.0),
)
# The names scoring sees, as stored in events.event.
VOCABULARY = tuple(name for name, _ in TRACKED) + tuple(f"{name} Page Viewed" for name, _ in PAGES)

_INTEGRATIONS = ("Slack", "GitHub", "Jira", "Salesforce", "HubSpot", "Zapier")
_CONTENT = ("PLG Playbook", "Pricing Guide", "Security Whitepaper", "ROI Calculator")
_WEBINARS = ("Scaling Onboarding", "Product Analytics 101", "Quarterly Roadmap")
_TITLES = (
    ("Software Engineer", 30),
    ("Senior Engineer", 15),
    ("Product Manager", 10),
    ("Designer", 6),
    ("Data Analyst", 6),
    ("Engineering Manager", 5),
    ("Director of Engineering", 3),
    ("VP Engineering", 2),
    ("CTO", 2),
    ("Founder", 2),
    ("", 19),
)
_INDUSTRIES = (
    ("Software", 40),
    ("Financial Services", 12),
    ("Healthcare", 8),
    ("Retail", 8),
    ("Manufacturing", 6),
    ("Media", 6),
    ("Education", 5),
    ("Non-profit", 2),
    (None, 13),
)
_SYLLABLES = (
    "ac", "bel", "cor", "dun", "ex", "fal", "gri", "hal", "ion", "jas", "kor", "lum",
    "mar", "nov", "or", "pex", "quo", "ros", "sol", "tar", "ul", "vex", "wen", "zen",
)  # fmt: skip
_SUFFIXES = ("Labs", "Systems", "Analytics", "Cloud", "Health", "Works", "Group", "AI")
_TLDS = ("com", "io", "co", "dev", "ai")
_FIRST = ("Maya", "Liam", "Ava", "Noah", "Ines", "Omar", "Sofia", "Kenji", "Lena", "Raj")
_LAST = ("Chen", "Berg", "Silva", "Okafor", "Novak", "Ito", "Haas", "Patel", "Moreau", "Lund")


@dataclass(frozen=True, slots=True)
class PersonSpec:
    index: int  # 1-based, also the person's row id when bulk-loaded
    user_id: str
    email: str
    name: str
    title: str


@dataclass(frozen=True, slots=True)
class AccountSpec:
    index: int  # 1-based, also the account's row id when bulk-loaded
    domain: str
    name: str
    employees: int
    industry: str | None
    people: tuple[PersonSpec, ...]
    activity: float  # relative share of all events


@dataclass(frozen=True, slots=True)
class EventSpec:
    account: int  # account index
    person: int  # person index
    name: str  # as stored: "Pricing Page Viewed" for a page call
    page: str | None  # the page call's name, or None for a track call
    at: datetime
    properties: dict[str, Any]


def _weighted(rng: random.Random, table: tuple[tuple[Any, float], ...], k: int) -> list[Any]:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table], k=k)


def _word(index: int) -> str:
    """A pronounceable word unique to `index` (mixed radix over the syllables)."""
    parts = []
    index += len(_SYLLABLES)  # at least two syllables
    while index:
        index, digit = divmod(index, len(_SYLLABLES))
        parts.append(_SYLLABLES[digit])
    return "".join(parts)


def population(accounts: int, *, seed: int) -> list[AccountSpec]:
    """`accounts` accounts: sizes, people and activity from heavy-tailed draws."""
    rng = random.Random(seed)
    found: list[AccountSpec] = []
    person_index = 0
    for index in range(1, accounts + 1):
        word = _word(index)
        employees = max(1, min(50_000, int(math.exp(rng.gauss(3.3, 1.6)))))
        # Most accounts have one or two users; a few have dozens (Pareto, α = 1.4).
        size = max(1, min(150, int(rng.paretovariate(1.4)), employees))
        domain = f"{word}.{rng.choice(_TLDS)}"
        people = []
        titles = _weighted(rng, _TITLES, size)
        for title in titles:
            person_index += 1
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            people.append(
                PersonSpec(
                    person_index,
                    f"u{person_index}",
                    f"{first.lower()}.{last.lower()}{person_index}@{domain}",
                    f"{first} {last}",
                    title,
                )
            )
        found.append(
            AccountSpec(
                index=index,
                domain=domain,
                name=f"{word.capitalize()} {rng.choice(_SUFFIXES)}",
                employees=employees,
                industry=_weighted(rng, _INDUSTRIES, 1)[0],
                people=tuple(people),
                activity=size * rng.paretovariate(1.2),
            )
        )
    return found


def _properties(rng: random.Random, name: str, page: str | None) -> dict[str, Any]:
    if page is not None:
        return {"path": f"/{page.lower()}"}
    if name == "Integration Connected":
        return {"integration": rng.choice(_INTEGRATIONS)}
    if name == "Content Downloaded":
        return {"title": rng.choice(_CONTENT)}
    if name == "Webinar Attended":
        return {"webinar": rng.choice(_WEBINARS)}
    return {}


def events(
    accounts: list[AccountSpec], total: int, *, now: datetime, days: int = 90, seed: int
) -> Iterator[EventSpec]:
    """`total` events over the `days` before `now`, account by account.

    Each account's share follows its activity; inside it, a few power users make most
    events, in sessions of a few minutes (bursts), more of them recent than old."""
    rng = random.Random(seed)
    counts = [0] * len(accounts)
    for position in rng.choices(range(len(accounts)), [a.activity for a in accounts], k=total):
        counts[position] += 1
    span = days * 86_400.0
    names = [(n, None) for n, _ in TRACKED] + [(f"{p} Page Viewed", p) for p, _ in PAGES]
    weights = [w for _, w in TRACKED] + [w for _, w in PAGES]
    for account, count in zip(accounts, counts, strict=True):
        if not count:
            continue
        people = account.people
        user_weights = [rng.paretovariate(1.1) for _ in people]
        sessions = max(1, count // 6)
        # Recency-skewed session starts: the square pulls them towards `now`.
        starts = [span * rng.random() ** 2 for _ in range(sessions)]
        owners = rng.choices(people, user_weights, k=sessions)
        picks = rng.choices(range(sessions), k=count)
        kinds = rng.choices(names, weights, k=count)
        for pick, (name, page) in zip(picks, kinds, strict=True):
            ago = max(0.0, starts[pick] - rng.expovariate(1 / 240.0))
            yield EventSpec(
                account.index,
                owners[pick].index,
                name,
                page,
                now - timedelta(seconds=ago),
                _properties(rng, name, page),
            )


# ---------------------------------------------------------------- Segment batches


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def segment_batches(
    accounts: list[AccountSpec],
    total: int,
    *,
    now: datetime,
    seed: int,
    batch_size: int = MAX_BATCH_EVENTS,
    live: bool = False,
) -> list[tuple[bytes, int]]:
    """`POST /v1/batch` bodies, `batch_size` calls each, as a Segment source sends them:
    an identify (and for most accounts a group) the first time a user is seen, then their
    track and page calls, in time order. Each body is within Segment's size limits.
    `live` leaves timestamps out (Tipoff then takes the time received): a live source."""
    rng = random.Random(seed + 1)
    stream = sorted(events(accounts, total, now=now, seed=seed), key=lambda e: e.at)
    by_index = {a.index: a for a in accounts}
    person_of = {p.index: (a, p) for a in accounts for p in a.people}
    grouped: set[int] = set()
    seen: set[int] = set()
    calls: list[dict[str, Any]] = []
    message = 0

    def add(call: dict[str, Any]) -> None:
        nonlocal message
        message += 1
        if call["timestamp"] is None:
            del call["timestamp"]
        call["messageId"] = f"bench-{seed}-{message}"
        calls.append(call)

    for event in stream:
        account, person = person_of[event.person]
        stamp = None if live else _iso(event.at)
        if person.index not in seen:
            seen.add(person.index)
            traits: dict[str, Any] = {"email": person.email, "name": person.name}
            if person.title:
                traits["title"] = person.title
            add(
                {"type": "identify", "userId": person.user_id, "timestamp": stamp, "traits": traits}
            )
            if account.index not in grouped and rng.random() < 0.7:
                grouped.add(account.index)
                a = by_index[account.index]
                group_traits: dict[str, Any] = {
                    "name": a.name,
                    "website": f"https://{a.domain}",
                    "employees": a.employees,
                }
                if a.industry:
                    group_traits["industry"] = a.industry
                add(
                    {
                        "type": "group",
                        "userId": person.user_id,
                        "groupId": f"g{a.index}",
                        "timestamp": stamp,
                        "traits": group_traits,
                    }
                )
        call: dict[str, Any]
        if event.page is not None:
            call = {"type": "page", "name": event.page, "properties": event.properties}
        else:
            call = {"type": "track", "event": event.name, "properties": event.properties}
        call["userId"] = person.user_id
        call["timestamp"] = stamp
        add(call)
    bodies = []
    for start in range(0, len(calls), batch_size):
        body = json.dumps({"batch": calls[start : start + batch_size]}, separators=(",", ":"))
        data = body.encode()
        if len(data) > MAX_BATCH_BYTES:
            raise ValueError(f"a generated batch is {len(data):,} bytes, over Segment's limit")
        bodies.append((data, len(calls[start : start + batch_size])))
    return bodies


def new_sender_batches(
    users: int,
    accounts: int,
    total: int,
    *,
    now: datetime,
    seed: int,
    batch_size: int = 1_000,
) -> list[tuple[bytes, int]]:
    """`POST /v1/batch` bodies of `total` `track` calls from `users` users Tipoff has never
    seen, spread over `accounts` accounts it has never seen either: the first day of an
    install, or a backfill. Each call names its account in `context.groupId` and comes
    with no identify or group call before it, as many sources send them. Users are drawn
    uniformly, so a user's first call is spread over the whole stream and most early
    batches are mostly new people."""
    rng = random.Random(seed + 11)
    account_of = [rng.randrange(accounts) for _ in range(users)]
    names = _weighted(rng, TRACKED, total)
    start = now - timedelta(days=1)
    calls: list[dict[str, Any]] = []
    for n, name in enumerate(names):
        user = rng.randrange(users)
        calls.append(
            {
                "type": "track",
                "event": name,
                "userId": f"new-{seed}-{user}",
                "timestamp": _iso(start + timedelta(seconds=86_400 * n / total)),
                "properties": _properties(rng, name, None),
                "context": {"groupId": f"new-g{seed}-{account_of[user]}"},
                "messageId": f"new-{seed}-{n}",
            }
        )
    bodies = []
    for first in range(0, len(calls), batch_size):
        chunk = calls[first : first + batch_size]
        body = json.dumps({"batch": chunk}, separators=(",", ":")).encode()
        if len(body) > MAX_BATCH_BYTES:
            raise ValueError(f"a generated batch is {len(body):,} bytes, over Segment's limit")
        bodies.append((body, len(chunk)))
    return bodies


# ---------------------------------------------------------------- bulk loading


def sqlite_time(at: datetime) -> str:
    """A UTC datetime as SQLAlchemy stores it in SQLite."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def bulk_load(
    path: str,
    accounts: list[AccountSpec],
    total: int,
    *,
    now: datetime,
    source_id: int,
    seed: int,
) -> int:
    """Writes the population and `total` events straight into the migrated SQLite file
    at `path`, as ingest would have stored them (setup for the read benchmarks, not a
    measurement). Returns the number of events written."""
    stamp = sqlite_time(now)
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")  # setup only: the measured runs use FULL
        with db:
            db.executemany(
                "INSERT INTO accounts (id, domain, group_id, name, employees, industry, traits,"
                " created_at, updated_at, signal_version, scored_version)"
                " VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?, 1, 0)",
                (
                    (
                        a.index,
                        a.domain,
                        f"g{a.index}",
                        a.name,
                        a.employees,
                        a.industry,
                        stamp,
                        stamp,
                    )
                    for a in accounts
                ),
            )
            db.executemany(
                "INSERT INTO people (id, email, name, title, account_id, account_via, traits,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'group', '{}', ?, ?)",
                (
                    (p.index, p.email, p.name, p.title or None, a.index, stamp, stamp)
                    for a in accounts
                    for p in a.people
                ),
            )
            db.executemany(
                "INSERT INTO identities (kind, external_id, person_id) VALUES ('user_id', ?, ?)",
                ((p.user_id, p.index) for a in accounts for p in a.people),
            )
        written = 0
        rows: list[tuple[Any, ...]] = []
        for event in events(accounts, total, now=now, seed=seed):
            written += 1
            rows.append(
                (
                    source_id,
                    f"load-{written}",
                    "page" if event.page else "track",
                    event.name,
                    event.person,
                    event.account,
                    sqlite_time(event.at),
                    stamp,
                    json.dumps(event.properties, separators=(",", ":")),
                )
            )
            if len(rows) == 50_000:
                _insert_events(db, rows)
                rows = []
        _insert_events(db, rows)
        return written
    finally:
        db.close()


def outcomes_csv(path: Path, accounts: list[AccountSpec], rows: int, *, seed: int) -> int:
    """A CRM export: `rows` opportunities opened, won and lost over the last two years,
    busy accounts more often than idle ones. Returns the number of rows written."""
    rng = random.Random(seed + 11)
    outcomes = (("opportunity", 6.0), ("won", 1.5), ("lost", 2.5))
    first = datetime(2024, 6, 1, tzinfo=UTC)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["domain", "outcome", "date", "opportunity_id", "amount"])
        for start in range(0, rows, 10_000):
            n = min(10_000, rows - start)
            picks = rng.choices(accounts, [a.activity for a in accounts], k=n)
            kinds = _weighted(rng, outcomes, n)
            for i, (account, kind) in enumerate(zip(picks, kinds, strict=True)):
                day = first + timedelta(days=rng.randrange(730))
                amount = round(rng.lognormvariate(9.5, 1.0), -2)
                out.writerow(
                    [account.domain, kind, day.date().isoformat(), f"opp-{start + i}", amount]
                )
    return rows


def signals_csv(
    path: Path, accounts: list[AccountSpec], rows: int, *, now: datetime, seed: int
) -> int:
    """A marketing-automation export of `rows` signals over the 90 days before `now`, as
    HubSpot writes one (its header names, a byte-order mark, times with an offset), busy
    accounts' people more often than idle ones'. Returns the number of rows written."""
    rng = random.Random(seed + 13)
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        out = csv.writer(handle)
        out.writerow(["Email", "Event", "Timestamp", "Name", "Job Title", "Integration"])
        for start in range(0, rows, 10_000):
            n = min(10_000, rows - start)
            picks = rng.choices(accounts, [a.activity for a in accounts], k=n)
            names = _weighted(rng, TRACKED, n)
            for account, name in zip(picks, names, strict=True):
                person = rng.choice(account.people)
                at = now - timedelta(seconds=rng.randrange(90 * 86_400))
                integration = rng.choice(_INTEGRATIONS) if name == "Integration Connected" else ""
                out.writerow(
                    [person.email, name, at.isoformat(), person.name, person.title, integration]
                )
    return rows


EVENT_INSERT = (
    "INSERT INTO events (source_id, message_id, kind, event, person_id, account_id,"
    " occurred_at, received_at, properties) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _insert_events(db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    with db:
        db.executemany(EVENT_INSERT, rows)
