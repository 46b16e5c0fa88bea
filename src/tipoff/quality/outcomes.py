"""Importing CRM outcomes from CSV: opportunities opened, deals won and lost, each on an
account (by domain) with its date.

The file is read twice, streamed: first every row is checked (and every bad row reported
with its line number); only if all are good is it written, in one transaction, as Segment
`track` calls through the same ingest service as the HTTP API. So identity and de-duping
apply: each row's messageId comes from its content, and importing the same file twice
adds nothing. A `group` call places the source's CRM user at the account first, exactly as
a CRM integration sending Segment calls would.

Columns (a header row, any order, extra columns ignored):
    domain       the account's domain (must be known to Tipoff)
    outcome      opportunity | won | lost  (or the event names: Opportunity Created …)
    date         2026-10-01 or an ISO 8601 time (UTC when no offset is given)
    opportunity_id, amount   optional, kept as properties
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.core.identity import normalize_domain
from tipoff.errors import InvalidInput
from tipoff.ingest.segment import Group, SegmentCall, Track
from tipoff.ingest.service import ingest_messages
from tipoff.store.tables import accounts, sources

REQUIRED = ("domain", "outcome", "date")
OUTCOMES = {
    "opportunity": "Opportunity Created",
    "opportunity created": "Opportunity Created",
    "won": "Deal Won",
    "deal won": "Deal Won",
    "lost": "Deal Lost",
    "deal lost": "Deal Lost",
}
CHUNK = 500
MAX_REPORTED = 20


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    line: int
    domain: str
    event: str
    at: datetime
    properties: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BadRow:
    line: int
    problem: str


class BadOutcomeFile(InvalidInput):
    def __init__(self, path: str, bad: list[BadRow]) -> None:
        shown = "\n".join(f"  line {b.line}: {b.problem}" for b in bad[:MAX_REPORTED])
        more = f"\n  … and {len(bad) - MAX_REPORTED} more" if len(bad) > MAX_REPORTED else ""
        super().__init__(f"{path}: {len(bad)} bad row(s); nothing was imported.\n{shown}{more}")
        self.bad = bad


@dataclass(frozen=True, slots=True)
class ImportResult:
    rows: int
    imported: int
    duplicates: int


def _rows(handle: TextIO) -> Iterator[tuple[int, dict[str, str] | None, str | None]]:
    """(line, row, problem) for each data row; the header is line 1."""
    reader = csv.DictReader(handle)
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        yield 1, None, f"the header lacks column(s): {', '.join(missing)}"
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield reader.line_num, None, f"not valid CSV: {error}"
            return
        yield reader.line_num, row, None


def parse_row(line: int, row: dict[str, str], now: datetime) -> OutcomeRow | BadRow:
    domain = normalize_domain((row.get("domain") or "").strip())
    if domain is None:
        return BadRow(line, f"domain {row.get('domain')!r} is not a domain such as acme.com")
    outcome = (row.get("outcome") or "").strip().lower()
    if outcome not in OUTCOMES:
        return BadRow(line, f"outcome {row.get('outcome')!r} is not one of: opportunity, won, lost")
    raw = (row.get("date") or "").strip()
    try:
        at = (
            datetime.combine(datetime.strptime(raw, "%Y-%m-%d").date(), time(), UTC)
            if len(raw) == 10
            else datetime.fromisoformat(raw)
        )
    except ValueError:
        return BadRow(line, f"date {raw!r} is not a date such as 2026-10-01")
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    at = at.astimezone(UTC)
    if at > now:
        return BadRow(line, f"date {raw} is in the future")
    properties: dict[str, Any] = {"source": "crm import"}
    if opportunity := (row.get("opportunity_id") or "").strip():
        properties["opportunity_id"] = opportunity
    if amount := (row.get("amount") or "").strip():
        try:
            properties["amount"] = float(amount)
        except ValueError:
            return BadRow(line, f"amount {amount!r} is not a number")
    return OutcomeRow(line, domain, OUTCOMES[outcome], at, properties)


async def _known_domains(conn: AsyncConnection, domains: set[str]) -> dict[str, str]:
    """domain -> the groupId to send for it (its account's, else the domain)."""
    found: dict[str, str] = {}
    names = sorted(domains)
    for start in range(0, len(names), CHUNK):
        rows = await conn.execute(
            select(accounts.c.domain, accounts.c.group_id).where(
                accounts.c.domain.in_(names[start : start + CHUNK])
            )
        )
        found.update({r.domain: r.group_id or r.domain for r in rows})
    return found


async def import_outcomes(
    conn: AsyncConnection,
    path: Path,
    *,
    source_name: str,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Checks the whole file, then writes it, all in the caller's transaction. Raises
    BadOutcomeFile (nothing written) when any row is bad. `progress` gets the bytes read
    so far, twice over (checking, then writing)."""
    source_id = (
        await conn.execute(select(sources.c.id).where(sources.c.name == source_name))
    ).scalar()
    if source_id is None:
        result = await conn.execute(
            sources.insert().values(
                name=source_name,
                category="outcome",
                # No write key: this source only imports files. A hash no key can match.
                write_key_hash="import:" + source_name[:57],
                key_hint="(import)",
                created_at=now,
            )
        )
        assert result.inserted_primary_key is not None
        source_id = int(result.inserted_primary_key[0])

    bad: list[BadRow] = []
    count = 0
    pending: list[OutcomeRow] = []

    async def check(batch: list[OutcomeRow]) -> None:
        known = await _known_domains(conn, {r.domain for r in batch})
        bad.extend(
            BadRow(r.line, f"no account with domain {r.domain}")
            for r in batch
            if r.domain not in known
        )

    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle:
        for line, row, problem in _rows(handle):
            if progress is not None:
                progress(raw.tell())
            if row is None:
                bad.append(BadRow(line, problem or "unreadable"))
                continue
            count += 1
            parsed = parse_row(line, row, now)
            if isinstance(parsed, BadRow):
                bad.append(parsed)
                continue
            pending.append(parsed)
            if len(pending) >= CHUNK:
                await check(pending)
                pending = []
        if pending:
            await check(pending)
    if bad:
        raise BadOutcomeFile(str(path), sorted(bad, key=lambda b: b.line))
    if count == 0:
        raise InvalidInput(f"{path}: no rows to import")

    imported = duplicates = 0
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle:
        batch: list[OutcomeRow] = []
        for _line, row, _problem in _rows(handle):
            assert row is not None
            parsed = parse_row(_line, row, now)
            assert isinstance(parsed, OutcomeRow)
            batch.append(parsed)
            if len(batch) >= CHUNK:
                i, d = await _write(conn, source_id, batch, now)
                imported, duplicates, batch = imported + i, duplicates + d, []
                if progress is not None:
                    progress(raw.tell())
        if batch:
            i, d = await _write(conn, source_id, batch, now)
            imported, duplicates = imported + i, duplicates + d
    return ImportResult(rows=count, imported=imported, duplicates=duplicates)


async def _write(
    conn: AsyncConnection, source_id: int, batch: list[OutcomeRow], now: datetime
) -> tuple[int, int]:
    groups = await _known_domains(conn, {r.domain for r in batch})
    placements: list[SegmentCall] = [
        Group.model_validate(
            {
                "type": "group",
                "messageId": f"crm-group:{domain}",
                "userId": f"crm:{domain}",
                "groupId": groups[domain],
                "traits": {"domain": domain},
                "timestamp": now.isoformat(),
            }
        )
        for domain in sorted({r.domain for r in batch})
    ]
    outcomes: list[SegmentCall] = [
        Track.model_validate(
            {
                "type": "track",
                "messageId": (
                    f"crm-outcome:{r.properties.get('opportunity_id') or r.domain}"
                    f":{r.event}:{r.at.isoformat()}"
                ),
                "userId": f"crm:{r.domain}",
                "event": r.event,
                "properties": r.properties,
                "timestamp": r.at.isoformat(),
                "context": {"groupId": groups[r.domain]},
            }
        )
        for r in batch
    ]
    await ingest_messages(conn, source_id=source_id, messages=placements, received_at=now)
    result = await ingest_messages(conn, source_id=source_id, messages=outcomes, received_at=now)
    return result.accepted, result.duplicates
