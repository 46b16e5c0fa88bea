"""Backfilling signals from CSV: a HubSpot or Marketo export, or a warehouse query, becomes
the same Segment calls a live integration would have sent.

Each row is one signal: who (an email or a user id), which event, when, and optional
account domain, name, title and properties. It is sent through the ingest service as
  - a `group` call placing the person at the row's domain (when it has one: a domain
    column acts like a group, so it outranks the email's domain, as on the HTTP API),
  - an `identify` call with the row's email, name and title (when it has any),
  - a `track` call of the event at its time, with every other column as a property named
    by its normalised header ("Form Name" is form_name), empty cells left out.
Each call is validated as `/v1/batch` validates its items (Segment's 32 KB an event), and
resolved and de-duplicated by the same code, so identity and limits are the HTTP API's.

A row's messageId is its `message_id` column when it has one (a Segment warehouse export
then de-duplicates against what the HTTP API already received from that source), else a
hash of who (the user id, else the email), event, time and properties: importing the file
again, or an export that overlaps it, under the same source adds nothing. Two rows equal
in all of those are one signal; give times rather than dates, or a column telling them
apart, for repeats.

The file is checked whole (`check_signals`) before any database is opened
(`ingest.csvfile`); it is then written (`import_signals`) ROWS_A_TRANSACTION rows at a
time, as `/v1/batch` sends many calls: the rows' group and identify calls (a person's once,
and none already stored), then their track calls, in one call of the ingest service and
one transaction, committed on its own so that a running `tipoff serve` keeps taking
ingest meanwhile. An interrupted import is finished by running it again: what was stored
is skipped.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tipoff.core.event_names import EventNameMap
from tipoff.core.identity import PERSONAL_EMAIL_DOMAINS, normalize_domain, normalize_email
from tipoff.core.scoring_model import EventVocabulary
from tipoff.errors import InvalidInput, TooLarge
from tipoff.ingest import csvfile
from tipoff.ingest.csvfile import BadRow
from tipoff.ingest.segment import (
    Group,
    Identify,
    SegmentCall,
    Track,
    describe_validation_error,
    parse_batch,
)
from tipoff.ingest.service import ingest_messages, stored_event_name
from tipoff.names import CSV_IMPORT_SOURCE
from tipoff.sources import import_source
from tipoff.store.db import Connection, Database
from tipoff.store.events import seen_message_ids

log = logging.getLogger(__name__)

# Accepted header names (matched case-insensitively, spaces and hyphens as "_") → column.
HEADERS: dict[str, tuple[str, ...]] = {
    "email": ("email", "email_address", "e_mail"),
    "user_id": ("user_id", "userid"),
    "event": ("event", "event_name", "activity_type"),
    "timestamp": ("timestamp", "time", "date", "occurred_at", "event_date", "activity_date"),
    "domain": ("domain", "account_domain", "company_domain", "company_domain_name"),
    "name": ("name", "full_name"),
    "first_name": ("first_name", "firstname"),
    "last_name": ("last_name", "lastname"),
    "title": ("title", "job_title"),
    "message_id": ("message_id", "messageid"),
}
COLUMNS = csvfile.Columns.named(
    HEADERS, required=(("email", "user_id"), ("event",), ("timestamp",))
)
DEFAULT_SOURCE = CSV_IMPORT_SOURCE
# Segment's limits on ids and event names (`ingest.segment`).
_MAX_ID = 255
# Distinct event names counted for the "not in the model" warning; past this, rows of
# new names are still imported, only not counted.
_MAX_EVENT_NAMES = 1000
# Rows written in one transaction, as one call of the ingest service: per-call costs
# (lookups of the people and accounts involved, the commit) are shared by more rows, while
# a running `tipoff serve` waits for the write lock, which ingest takes first, for under a
# second (5,000 rows: 10 % less CPU, but up to 1.8 s of waiting on a busy machine).
ROWS_A_TRANSACTION = 2_000
# Group and identify calls remembered as checked (see `check_signals`).
_MAX_CHECKED = 100_000


@dataclass(frozen=True, slots=True)
class SignalRow:
    line: int
    user_id: str  # the row's user id, else its email: the Segment userId of its calls
    email: str | None
    name: str | None
    title: str | None
    domain: str | None
    event: str
    at: datetime
    properties: dict[str, str]
    message_id: str


@dataclass(frozen=True, slots=True)
class CheckedSignals:
    file: csvfile.CheckedFile
    now: datetime  # what the rows' times were checked against (none in the future)
    events: Counter[str]  # rows per event name as stored (the first _MAX_EVENT_NAMES names)


def parse_row(line: int, row: Mapping[str, str], now: datetime) -> SignalRow | BadRow:
    """One row's signal, or what is wrong with it. Pure."""
    cells = {key: value.strip() for key, value in row.items()}
    email = None
    if raw_email := cells.pop("email", ""):
        email = normalize_email(raw_email)
        if email is None:
            return BadRow(line, f"email {raw_email!r} is not an email address")
    user_id = cells.pop("user_id", "") or email
    if user_id is None:
        return BadRow(line, "needs an email or a user_id")
    if len(user_id) > _MAX_ID:
        return BadRow(line, f"user_id is longer than {_MAX_ID} characters")
    event = cells.pop("event", "")
    if not event:
        return BadRow(line, "event is empty")
    if len(event) > _MAX_ID:
        return BadRow(line, f"event is longer than {_MAX_ID} characters")
    at = csvfile.parse_time("timestamp", cells.pop("timestamp", ""), now)
    if isinstance(at, str):
        return BadRow(line, at)
    domain = None
    if raw_domain := cells.pop("domain", ""):
        domain = normalize_domain(raw_domain)
        if domain is None or len(domain) > _MAX_ID:
            return BadRow(line, f"domain {raw_domain!r} is not a domain such as acme.com")
        if domain in PERSONAL_EMAIL_DOMAINS:
            return BadRow(line, f"domain {domain} is a mailbox provider, not a company")
    first, last = cells.pop("first_name", ""), cells.pop("last_name", "")
    name = cells.pop("name", "") or f"{first} {last}".strip()
    title = cells.pop("title", "")
    given_id = cells.pop("message_id", "")
    if len(given_id) > _MAX_ID:
        return BadRow(line, f"message_id is longer than {_MAX_ID} characters")
    properties = {key: value for key, value in cells.items() if value}
    return SignalRow(
        line=line,
        user_id=user_id,
        email=email,
        name=name or None,
        title=title or None,
        domain=domain,
        event=event,
        at=at,
        properties=properties,
        message_id=given_id
        or _content_id("csv", user_id, event, at.isoformat(), sorted(properties.items())),
    )


def segment_items(row: SignalRow, group_ids: Mapping[str, str]) -> list[dict[str, Any]]:
    """The row as `/v1/batch` items: group and identify (when the row has what they carry),
    then the track. `group_ids` gives the groupId for a domain (the domain by default).
    The group call comes first so that the identify's email does not also found an
    account for the email's domain, which the person would leave at once."""
    at = row.at.isoformat()
    items: list[dict[str, Any]] = []
    context: dict[str, Any] = {}
    if row.domain is not None:
        group_id = group_ids.get(row.domain, row.domain)
        context["groupId"] = group_id
        items.append(
            {
                "type": "group",
                "messageId": _group_message_id(row.user_id, row.domain),
                "userId": row.user_id,
                "groupId": group_id,
                "traits": {"domain": row.domain},
                "timestamp": at,
            }
        )
    traits = _traits(row.email, row.name, row.title)
    if traits:
        items.append(
            {
                "type": "identify",
                "messageId": _identify_message_id(row.user_id, row.email, row.name, row.title),
                "userId": row.user_id,
                "traits": traits,
                "timestamp": at,
            }
        )
    items.append(
        {
            "type": "track",
            "messageId": row.message_id,
            "userId": row.user_id,
            "event": row.event,
            "properties": row.properties,
            "timestamp": at,
            "context": context,
        }
    )
    return items


def check_limits(row: SignalRow) -> SegmentCall | BadRow:
    """The row's calls checked as `/v1/batch` checks its items (types, Segment's 32 KB an
    event): its track call, or what is wrong, named by call rather than batch position."""
    items = segment_items(row, {})
    try:
        *_, track = parse_batch({"batch": items})
    except (InvalidInput, TooLarge) as error:
        kinds = [item["type"] for item in items]
        problem = re.sub(
            r"batch\[(\d+)\]", lambda m: f"the {kinds[int(m.group(1))]} call", error.message
        )
        return BadRow(row.line, problem)
    return track


def unscored_events(events: Counter[str], vocabulary: EventVocabulary) -> list[tuple[str, int]]:
    """The imported event names the model file does not list, most rows first."""
    return [(n, c) for n, c in events.most_common() if vocabulary.category_of(n) is None]


def _rows(
    now: datetime, check: Callable[[list[SignalRow]], Awaitable[list[BadRow]]] | None = None
) -> csvfile.Pass[SignalRow]:
    return csvfile.Pass(COLUMNS, lambda line, row: parse_row(line, row, now), check)


async def check_signals(
    path: Path,
    *,
    event_names: EventNameMap,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> CheckedSignals:
    """Checks every row of the file, opening no database. Raises BadCsvFile when any row
    is bad. `event_names` is the model's map for the source the rows are imported under;
    `progress` is `csvfile.check_csv`'s."""
    events: Counter[str] = Counter()
    # Group and identify calls found valid: a person's repeat on each of their rows, the
    # same call but for its time (their messageId is a hash of what they say), and the
    # track call beside each checks that time; so each is checked once (its time's
    # length kept, for the size limit). Forgotten past _MAX_CHECKED, to keep memory flat.
    checked_placements: set[tuple[str, int]] = set()

    def count(row: SignalRow, track: SegmentCall) -> None:
        event = stored_event_name(track, event_names) or row.event
        if event in events or len(events) < _MAX_EVENT_NAMES:
            events[event] += 1

    async def check(batch: list[SignalRow]) -> list[BadRow]:
        items: list[dict[str, Any]] = []
        placements: set[tuple[str, int]] = set()
        for row in batch:
            *calls, track = segment_items(row, {})
            for call in calls:
                key = (call["messageId"], len(call["timestamp"]))
                if key not in checked_placements and key not in placements:
                    placements.add(key)
                    items.append(call)
            items.append(track)
        try:
            parsed = parse_batch({"batch": items})
        except (InvalidInput, TooLarge):
            # Some row is bad: each is checked on its own, so that each is named.
            bad: list[BadRow] = []
            for row in batch:
                checked = check_limits(row)
                if isinstance(checked, BadRow):
                    bad.append(checked)
                else:
                    count(row, checked)
            return bad
        signals = [call for call in parsed if isinstance(call, Track)]
        for row, signal in zip(batch, signals, strict=True):
            count(row, signal)
        if len(checked_placements) + len(placements) > _MAX_CHECKED:
            checked_placements.clear()
        checked_placements.update(placements)
        return []

    checked = await csvfile.check_csv(path, _rows(now, check), progress=progress)
    return CheckedSignals(file=checked, now=now, events=events)


async def import_signals(
    db: Database,
    checked: CheckedSignals,
    *,
    source_name: str,
    event_names: EventNameMap,
    progress: Callable[[int, int], None] | None = None,
    rows_a_transaction: int = ROWS_A_TRANSACTION,
) -> csvfile.ImportResult:
    """Writes a file `check_signals` found clean, `rows_a_transaction` rows at a time,
    each in one call of the ingest service and one transaction, under the source
    `source_name` (created before the first)."""
    now = checked.now
    source_id: int | None = None

    async def write(batch: list[SignalRow]) -> tuple[int, int]:
        nonlocal source_id
        if source_id is None:
            async with db.transaction() as conn:
                source_id = await import_source(conn, source_name, category=None, now=now)
        # A running server may create the same person or account meanwhile (a unique
        # index): the batch rolls back whole, and running it again finds them.
        return await db.run_retrying(
            lambda conn: _write(conn, source_id, event_names, batch, now, checked.file.path),
            what=f"import of {len(batch)} signal row(s)",
            integrity_races=True,
        )

    return await csvfile.write_csv(
        checked.file, _rows(now), write, progress=progress, batch_rows=rows_a_transaction
    )


async def _write(
    conn: Connection,
    source_id: int,
    event_names: EventNameMap,
    batch: list[SignalRow],
    now: datetime,
    path: Path,
) -> tuple[int, int]:
    """The batch's rows as one call of the ingest service: every group and identify call
    (each once, and none already stored), then every track call, as one `/v1/batch`
    would send them. Returns (signals stored, rows already stored)."""
    groups = await csvfile.known_domains(conn, {r.domain for r in batch if r.domain is not None})
    placements: dict[str, dict[str, Any]] = {}
    tracks: list[dict[str, Any]] = []
    for row in batch:
        *calls, track = segment_items(row, groups)
        for call in calls:
            placements.setdefault(call["messageId"], call)
        tracks.append(track)
    # A person's group and identify calls repeat on each of their rows, the same call
    # each time (the first row's is the one kept): only those not yet stored are sent,
    # so each is validated and resolved once, and all those sent are stored.
    stored_before = await seen_message_ids(conn, sorted(placements), source_id=source_id)
    people = [call for key, call in placements.items() if key not in stored_before]
    stored = await ingest_messages(
        conn,
        source_id=source_id,
        event_names=event_names,
        messages=_calls([*people, *tracks], path),
        received_at=now,
    )
    # Every call in `people` is stored (on PostgreSQL, unless a concurrent import of the
    # same rows stored one in between: its row is then counted as a duplicate).
    imported = max(stored.accepted - len(people), 0)
    return imported, len(tracks) - imported


def _calls(items: list[dict[str, Any]], path: Path) -> list[SegmentCall]:
    """`items` as calls. `check_signals` checked them as `/v1/batch` checks its items
    (Segment's 32 KB an event too), so they are only validated again here, as the file
    was read again: a row changed since is refused rather than stored."""
    calls: list[SegmentCall] = []
    for item in items:
        try:
            calls.append(_CALL_TYPES[item["type"]].model_validate(item))
        except ValidationError as error:
            problem = describe_validation_error(error, prefix=f"the {item['type']} call")
            raise InvalidInput(
                f"{path} changed while it was imported ({problem}); what was written"
                " before stays, and importing the file again skips it"
            ) from None
    return calls


_CALL_TYPES: dict[str, type[Track | Identify | Group]] = {
    "track": Track,
    "identify": Identify,
    "group": Group,
}


def _content_id(kind: str, *content: object) -> str:
    digest = hashlib.sha256(_COMPACT.encode(content).encode("utf-8"))
    return f"{kind}:{digest.hexdigest()[:40]}"


# `json.dumps(content, separators=(",", ":"))`, which builds an encoder on every call.
# The ids it hashes are stored: a re-import must find them, so they never change.
_COMPACT = json.JSONEncoder(separators=(",", ":"))


# A person's group and identify calls repeat on each of their rows: their ids are
# remembered rather than hashed again (a bounded cache, so memory stays flat).
@functools.lru_cache(maxsize=1 << 15)
def _group_message_id(user_id: str, domain: str) -> str:
    return _content_id("csv-group", user_id, domain)


@functools.lru_cache(maxsize=1 << 15)
def _identify_message_id(
    user_id: str, email: str | None, name: str | None, title: str | None
) -> str:
    return _content_id("csv-identify", user_id, _traits(email, name, title))


def _traits(email: str | None, name: str | None, title: str | None) -> dict[str, str]:
    """What an identify call says of a row's person: those of these it has."""
    return {
        key: value
        for key, value in (("email", email), ("name", name), ("title", title))
        if value is not None
    }
