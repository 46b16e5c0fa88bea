"""Importing CRM outcomes from CSV: opportunities opened, deals won and lost, each on an
account (by domain) with its date, from a file of ours or a CRM's own deal export.

The file is read twice, streamed (`ingest.csvfile`): first every row is checked (and every
bad row reported with its line number), with no database opened; only if all are good is
it written, in one transaction, as Segment `track` calls through the same ingest service
as the HTTP API. So identity and de-duping apply: each row's messageId comes from its
content, and importing the same file twice adds nothing. A `group` call places the
source's CRM user at the account first, exactly as a CRM integration sending Segment
calls would; a domain Tipoff has not seen yet becomes a new account (a CRM holds many
accounts that have sent no signals yet).

Columns (a header row, any order, extra columns ignored; header names are matched without
case, spaces as "_", and HubSpot's and Salesforce's export names are accepted, `HEADERS`):
    domain        the account's domain (Company Domain Name, Website: a URL will do)
    outcome       opportunity | won | lost (or the event names: Opportunity Created …)
      or stage    the CRM's deal stage (Deal Stage, dealstage, Stage, StageName):
                  Closed Won / closedwon → Deal Won, Closed Lost / closedlost → Deal Lost,
                  any other stage is an open deal → Opportunity Created
    date          when it was won, lost or opened (Close Date, closedate, CloseDate):
                  2026-10-01 or an ISO 8601 time (UTC when no offset is given)
    created_date  optional (Create Date, createdate, Created Date): when the deal was
                  opened, stored as an Opportunity Created besides its won or lost; an
                  open deal's date, when given (an open deal's close date is a forecast)
    opportunity_id, amount   optional, kept as properties (Record ID, Opportunity ID)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tipoff.core.event_names import EventNameMap
from tipoff.core.identity import PERSONAL_EMAIL_DOMAINS, normalize_domain
from tipoff.ingest.csvfile import (
    BadRow,
    CheckedFile,
    Columns,
    ImportResult,
    Pass,
    check_csv,
    known_domains,
    parse_time,
    write_csv,
)
from tipoff.ingest.segment import Group, SegmentCall, Track
from tipoff.ingest.service import IngestResult, ingest_messages
from tipoff.sources import import_source
from tipoff.store.db import Connection

OPENED, WON, LOST = "Opportunity Created", "Deal Won", "Deal Lost"
OUTCOMES = {
    "opportunity": OPENED,
    "opportunity created": OPENED,
    "won": WON,
    "deal won": WON,
    "lost": LOST,
    "deal lost": LOST,
}
# A deal stage as HubSpot (label or internal id) and Salesforce (StageName) write a closed
# one, letters and digits only. HubSpot's default pipeline ends in closedwon/closedlost,
# Salesforce's standard picklist in "Closed Won"/"Closed Lost".
_CLOSED_STAGES = {"closedwon": WON, "won": WON, "closedlost": LOST, "lost": LOST}
# Accepted header names (normalised: lower case, spaces and hyphens as "_") → column.
HEADERS: dict[str, tuple[str, ...]] = {
    "domain": (
        "domain", "account_domain", "company_domain", "company_domain_name",
        "website", "company_website", "account_website",
    ),
    "outcome": ("outcome",),
    "stage": (
        "stage", "deal_stage", "dealstage", "stage_name", "stagename", "opportunity_stage",
    ),
    "date": ("date", "close_date", "closedate", "closed_date", "closeddate"),
    "created_date": ("created_date", "create_date", "createdate", "createddate"),
    "opportunity_id": (
        "opportunity_id", "opportunityid", "deal_id", "dealid", "record_id", "hs_object_id",
    ),
    "amount": ("amount", "deal_amount"),
}  # fmt: skip
COLUMNS = Columns.named(
    HEADERS, required=(("domain",), ("outcome", "stage"), ("date", "created_date"))
)
_MAX_DOMAIN = 255


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    line: int
    domain: str
    outcomes: tuple[tuple[str, datetime], ...]  # (event, when), oldest first
    properties: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OutcomeImport:
    result: ImportResult
    new_accounts: int  # domains Tipoff had no account for, now accounts


def parse_row(line: int, row: dict[str, str], now: datetime) -> OutcomeRow | BadRow:
    """One row's outcomes, or what is wrong with it. Pure."""
    cells = {key: value.strip() for key, value in row.items()}
    raw_domain = cells.get("domain", "")
    domain = normalize_domain(raw_domain)
    if domain is None or len(domain) > _MAX_DOMAIN:
        return BadRow(line, f"domain {raw_domain!r} is not a domain such as acme.com")
    if domain in PERSONAL_EMAIL_DOMAINS:
        return BadRow(line, f"domain {domain} is a mailbox provider, not a company")
    event = _event(line, cells)
    if isinstance(event, BadRow):
        return event
    created: datetime | None = None
    if raw_created := cells.get("created_date", ""):
        parsed = parse_time("created_date", raw_created, now)
        if isinstance(parsed, str):
            return BadRow(line, parsed)
        created = parsed
    outcomes = _dated(line, event, created, cells.get("date", ""), now)
    if isinstance(outcomes, BadRow):
        return outcomes
    properties: dict[str, Any] = {"source": "crm import"}
    if opportunity := cells.get("opportunity_id", ""):
        properties["opportunity_id"] = opportunity
    if amount := cells.get("amount", ""):
        try:
            properties["amount"] = float(amount)
        except ValueError:
            return BadRow(line, f"amount {amount!r} is not a number")
    return OutcomeRow(line, domain, outcomes, properties)


def _dated(
    line: int, event: str, created: datetime | None, date: str, now: datetime
) -> tuple[tuple[str, datetime], ...] | BadRow:
    """A row's (event, time)s, or the problem with its dates. A won or lost deal is its
    close date, after its opening if the row has a created_date. An open deal is its
    created_date when there is one: its close date is then a forecast, not read."""
    if event == OPENED and created is not None:
        return ((OPENED, created),)
    if not date:
        closed = "" if event == OPENED else ": a closed deal needs its close date"
        return BadRow(line, f"date is empty{closed}")
    at = parse_time("date", date, now)
    if isinstance(at, str):
        if event == OPENED and at.endswith("is in the future"):
            at += (
                ": an open deal's close date is a forecast; add a created_date column"
                " (Create Date) for when it was opened"
            )
        return BadRow(line, at)
    return ((OPENED, created), (event, at)) if created is not None else ((event, at),)


def _event(line: int, cells: dict[str, str]) -> str | BadRow:
    """The row's outcome event, from its outcome or else its deal stage."""
    if outcome := cells.get("outcome", ""):
        event = OUTCOMES.get(outcome.lower())
        if event is None:
            return BadRow(line, f"outcome {outcome!r} is not one of: opportunity, won, lost")
        return event
    stage = cells.get("stage", "")
    if not stage:
        return BadRow(line, "outcome is empty" if "outcome" in cells else "stage is empty")
    key = re.sub(r"[^a-z0-9]", "", stage.lower())
    if key in _CLOSED_STAGES:
        return _CLOSED_STAGES[key]
    if key.startswith("closed"):
        return BadRow(
            line,
            f"stage {stage!r} is closed but neither Closed Won nor Closed Lost: rename it "
            "in the file to one of those",
        )
    return OPENED  # an open stage: the deal is an opportunity so far


async def check_outcomes(
    path: Path, *, now: datetime, progress: Callable[[int, int], None] | None = None
) -> CheckedFile:
    """Checks every row of the file, opening no database. Raises BadCsvFile when any row
    is bad. `progress` is `csvfile.check_csv`'s."""
    return await check_csv(path, _rows(now), progress=progress)


async def import_outcomes(
    conn: Connection,
    checked: CheckedFile,
    *,
    source_name: str,
    event_names: EventNameMap,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> OutcomeImport:
    """Writes a file `check_outcomes` found clean (checked against `now`), all in the
    caller's transaction, under the source `source_name`."""
    source_id = await import_source(conn, source_name, category="outcome", now=now)
    new_accounts = 0

    async def write(batch: list[OutcomeRow]) -> tuple[int, int]:
        nonlocal new_accounts
        groups = await known_domains(conn, {r.domain for r in batch})
        new_accounts += len({r.domain for r in batch} - groups.keys())
        return await _write(conn, source_id, event_names, batch, groups, now)

    result = await write_csv(checked, _rows(now), write, progress=progress)
    return OutcomeImport(result=result, new_accounts=new_accounts)


def _rows(now: datetime) -> Pass[OutcomeRow]:
    return Pass(COLUMNS, lambda line, row: parse_row(line, row, now))


async def _write(
    conn: Connection,
    source_id: int,
    event_names: EventNameMap,
    batch: list[OutcomeRow],
    groups: dict[str, str],
    now: datetime,
) -> tuple[int, int]:
    outcomes = [
        Outcome(
            r.domain,
            event,
            at,
            message_id=(
                f"crm-outcome:{r.properties.get('opportunity_id') or r.domain}"
                f":{event}:{at.isoformat()}"
            ),
            properties=r.properties,
        )
        for r in batch
        for event, at in r.outcomes
    ]
    result = await store_outcomes(
        conn, outcomes, source_id=source_id, event_names=event_names, groups=groups, now=now
    )
    return result.accepted, result.duplicates


@dataclass(frozen=True, slots=True)
class Outcome:
    """An outcome to store: `event` (OPENED, WON or LOST) of the account at `domain`, at
    `at`. The same outcome read again has the same `message_id`, so it is stored once."""

    domain: str
    event: str
    at: datetime
    message_id: str
    properties: dict[str, Any]


async def store_outcomes(
    conn: Connection,
    outcomes: Sequence[Outcome],
    *,
    source_id: int,
    event_names: EventNameMap,
    groups: Mapping[str, str],
    now: datetime,
) -> IngestResult:
    """Stores `outcomes` through ingest, as a CRM's calls: each account's CRM user placed
    at it (a domain Tipoff has not seen founds its account), then the outcomes. `groups`
    gives the groupId of each known domain. Used by the CSV import and the CRM sync."""
    placements: list[SegmentCall] = [
        Group.model_validate(
            {
                "type": "group",
                "messageId": f"crm-group:{domain}",
                "userId": f"crm:{domain}",
                "groupId": groups.get(domain, domain),
                "traits": {"domain": domain},
                "timestamp": now.isoformat(),
            }
        )
        for domain in sorted({o.domain for o in outcomes})
    ]
    tracks: list[SegmentCall] = [
        Track.model_validate(
            {
                "type": "track",
                "messageId": o.message_id,
                "userId": f"crm:{o.domain}",
                "event": o.event,
                "properties": o.properties,
                "timestamp": o.at.isoformat(),
                "context": {"groupId": groups.get(o.domain, o.domain)},
            }
        )
        for o in outcomes
    ]
    await ingest_messages(
        conn, source_id=source_id, event_names=event_names, messages=placements, received_at=now
    )
    return await ingest_messages(
        conn, source_id=source_id, event_names=event_names, messages=tracks, received_at=now
    )
