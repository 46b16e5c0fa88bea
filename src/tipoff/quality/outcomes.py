"""Importing CRM outcomes from CSV: opportunities opened, deals won and lost, each on an
account (by domain) with its date.

The file is read twice, streamed: first every row is checked (and every bad row reported
with its line number); only if all are good is it written, in one transaction, as Segment
`track` calls through the same ingest service as the HTTP API. So identity and de-duping
apply: each row's messageId comes from its content, and importing the same file twice
adds nothing. A `group` call places the source's CRM user at the account first, exactly as
a CRM integration sending Segment calls would.

Columns (a header row, any order, extra columns ignored; `ingest.csvfile` reads it):
    domain       the account's domain (must be known to Tipoff)
    outcome      opportunity | won | lost  (or the event names: Opportunity Created …)
    date         2026-10-01 or an ISO 8601 time (UTC when no offset is given)
    opportunity_id, amount   optional, kept as properties
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.core.event_names import EventNameMap
from tipoff.core.identity import normalize_domain
from tipoff.ingest.csvfile import (
    BadRow,
    Columns,
    ImportResult,
    Pass,
    import_csv,
    known_domains,
    parse_time,
)
from tipoff.ingest.segment import Group, SegmentCall, Track
from tipoff.ingest.service import ingest_messages
from tipoff.sources import import_source

OUTCOMES = {
    "opportunity": "Opportunity Created",
    "opportunity created": "Opportunity Created",
    "won": "Deal Won",
    "deal won": "Deal Won",
    "lost": "Deal Lost",
    "deal lost": "Deal Lost",
}
COLUMNS = Columns(
    names={c: c for c in ("domain", "outcome", "date", "opportunity_id", "amount")},
    required=(("domain",), ("outcome",), ("date",)),
)
CHUNK = 500


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    line: int
    domain: str
    event: str
    at: datetime
    properties: dict[str, Any]


def parse_row(line: int, row: dict[str, str], now: datetime) -> OutcomeRow | BadRow:
    domain = normalize_domain(row["domain"].strip())
    if domain is None:
        return BadRow(line, f"domain {row['domain']!r} is not a domain such as acme.com")
    outcome = row["outcome"].strip().lower()
    if outcome not in OUTCOMES:
        return BadRow(line, f"outcome {row['outcome']!r} is not one of: opportunity, won, lost")
    at = parse_time("date", row["date"], now)
    if isinstance(at, str):
        return BadRow(line, at)
    properties: dict[str, Any] = {"source": "crm import"}
    if opportunity := (row.get("opportunity_id") or "").strip():
        properties["opportunity_id"] = opportunity
    if amount := (row.get("amount") or "").strip():
        try:
            properties["amount"] = float(amount)
        except ValueError:
            return BadRow(line, f"amount {amount!r} is not a number")
    return OutcomeRow(line, domain, OUTCOMES[outcome], at, properties)


async def import_outcomes(
    conn: AsyncConnection,
    path: Path,
    *,
    source_name: str,
    event_names: EventNameMap,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Checks the whole file, then writes it, all in the caller's transaction. Raises
    BadCsvFile (nothing written) when any row is bad. `progress` is `import_csv`'s."""
    source_id = await import_source(conn, source_name, category="outcome", now=now)

    async def check(batch: list[OutcomeRow]) -> list[BadRow]:
        known = await known_domains(conn, {r.domain for r in batch})
        return [
            BadRow(r.line, f"no account with domain {r.domain}")
            for r in batch
            if r.domain not in known
        ]

    async def write(batch: list[OutcomeRow]) -> tuple[int, int]:
        return await _write(conn, source_id, event_names, batch, now)

    rows = Pass(COLUMNS, lambda line, row: parse_row(line, row, now), write, check)
    return await import_csv(path, rows, progress=progress)


async def _write(
    conn: AsyncConnection,
    source_id: int,
    event_names: EventNameMap,
    batch: list[OutcomeRow],
    now: datetime,
) -> tuple[int, int]:
    groups = await known_domains(conn, {r.domain for r in batch})
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
    await ingest_messages(
        conn, source_id=source_id, event_names=event_names, messages=placements, received_at=now
    )
    result = await ingest_messages(
        conn, source_id=source_id, event_names=event_names, messages=outcomes, received_at=now
    )
    return result.accepted, result.duplicates
