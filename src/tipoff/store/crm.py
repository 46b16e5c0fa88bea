"""The CRM sync's tables: the CRM's account records as last read, what was written onto
them, where each incremental read stopped, and each run's summary (tipoff.crm_sync)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from tipoff.store.db import Connection
from tipoff.store.dialect import chunks, upsert
from tipoff.store.scores import CurrentScore, current_score_of
from tipoff.store.tables import (
    accounts,
    crm_cursors,
    crm_pending_deals,
    crm_records,
    crm_runs,
    crm_writes,
    scores,
)


@dataclass(frozen=True, slots=True)
class RecordRow:
    """A CRM account record as the sync keeps it: its normalised domain and owner."""

    record_id: str
    domain: str | None
    name: str | None
    owner_email: str | None
    modified_at: datetime


@dataclass(frozen=True, slots=True)
class ScoredAccount:
    """A Tipoff account with a stored score, as the sync matches and writes it."""

    account_id: int
    domain: str | None
    name: str | None
    owner_email: Any  # the `owner_email` trait as stored (any JSON value)
    score: CurrentScore


@dataclass(frozen=True, slots=True)
class Written:
    """What was last written onto an account's CRM record."""

    record_id: str
    score: int
    track: str
    evidence: str
    scored_at: datetime


@dataclass(frozen=True, slots=True)
class PendingDeal:
    """A deal read whose company could not be placed yet, kept to be placed again."""

    deal_id: str
    deal: dict[str, Any]  # as read, in JSON (the sync's own shape)
    reason: str


@dataclass(frozen=True, slots=True)
class RunRow:
    crm: str
    started_at: datetime
    finished_at: datetime
    written: int
    unchanged: int
    refused: int
    unmatched: int
    duplicates: int
    outcomes: int
    owners: int
    stopped: str | None
    report: dict[str, Any]


async def save_records(conn: Connection, crm: str, records: Sequence[RecordRow]) -> None:
    """Stores `records` as the CRM's, replacing what was read of them before."""
    if not records:
        return
    statement = upsert(
        crm_records,
        conn.dialect.name,
        key=["crm", "record_id"],
        update=["domain", "name", "owner_email", "modified_at"],
    )
    await conn.execute(
        statement,
        [
            {
                "crm": crm,
                "record_id": r.record_id,
                "domain": r.domain,
                "name": r.name,
                "owner_email": r.owner_email,
                "modified_at": r.modified_at,
            }
            for r in records
        ],
    )


async def forget_records(conn: Connection, crm: str, *, keep: set[str]) -> int:
    """Deletes the CRM's records other than `keep` (those a full read found); how many."""
    rows = await conn.execute(select(crm_records.c.record_id).where(crm_records.c.crm == crm))
    gone = sorted(r.record_id for r in rows if r.record_id not in keep)
    for chunk in chunks(gone):
        await conn.execute(
            delete(crm_records).where(crm_records.c.crm == crm, crm_records.c.record_id.in_(chunk))
        )
    return len(gone)


async def record_owners(
    conn: Connection, crm: str, record_ids: Sequence[str]
) -> dict[str, str | None]:
    """record id -> its owner's email as last read, for those of `record_ids` read before."""
    found: dict[str, str | None] = {}
    for chunk in chunks(sorted(record_ids)):
        rows = await conn.execute(
            select(crm_records.c.record_id, crm_records.c.owner_email).where(
                crm_records.c.crm == crm, crm_records.c.record_id.in_(chunk)
            )
        )
        found.update({r.record_id: r.owner_email for r in rows})
    return found


async def record_domains(conn: Connection, crm: str) -> dict[str, str | None]:
    """record id -> its normalised domain (None: it has none), for every record read."""
    rows = await conn.execute(
        select(crm_records.c.record_id, crm_records.c.domain).where(crm_records.c.crm == crm)
    )
    return {r.record_id: r.domain for r in rows}


async def scored_accounts(conn: Connection) -> list[ScoredAccount]:
    """Every account with a stored score, oldest account first."""
    rows = await conn.execute(
        select(
            scores,
            accounts.c.domain,
            accounts.c.name,
            accounts.c.traits,
            accounts.c.signal_version,
            accounts.c.scored_version,
        )
        .join(accounts, accounts.c.id == scores.c.account_id)
        .order_by(scores.c.account_id)
    )
    return [
        ScoredAccount(
            account_id=r.account_id,
            domain=r.domain,
            name=r.name,
            owner_email=(r.traits or {}).get("owner_email"),
            score=current_score_of(r),
        )
        for r in rows
    ]


async def owner_emails(conn: Connection, domains: Sequence[str]) -> dict[str, Any]:
    """domain -> its account's `owner_email` trait as stored, for the accounts of `domains`."""
    found: dict[str, Any] = {}
    for chunk in chunks(sorted(domains)):
        rows = await conn.execute(
            select(accounts.c.domain, accounts.c.traits).where(accounts.c.domain.in_(chunk))
        )
        found.update({r.domain: (r.traits or {}).get("owner_email") for r in rows})
    return found


async def last_writes(conn: Connection, crm: str) -> dict[int, Written]:
    """account id -> what was last written onto its record in `crm`."""
    rows = await conn.execute(select(crm_writes).where(crm_writes.c.crm == crm))
    return {
        r.account_id: Written(r.record_id, r.score, r.track, r.evidence, r.scored_at) for r in rows
    }


async def record_writes(
    conn: Connection, crm: str, written: Sequence[tuple[int, Written]], *, now: datetime
) -> None:
    """Keeps what was just written onto each account's record (account id, values)."""
    if not written:
        return
    statement = upsert(
        crm_writes,
        conn.dialect.name,
        key=["crm", "account_id"],
        update=["record_id", "score", "track", "evidence", "scored_at", "written_at"],
    )
    await conn.execute(
        statement,
        [
            {
                "crm": crm,
                "account_id": account_id,
                "record_id": w.record_id,
                "score": w.score,
                "track": w.track,
                "evidence": w.evidence,
                "scored_at": w.scored_at,
                "written_at": now,
            }
            for account_id, w in written
        ],
    )


async def saved_cursor(conn: Connection, crm: str, kind: str) -> str | None:
    return (
        await conn.execute(
            select(crm_cursors.c.cursor).where(crm_cursors.c.crm == crm, crm_cursors.c.kind == kind)
        )
    ).scalar_one_or_none()


async def save_cursor(conn: Connection, crm: str, kind: str, cursor: str, *, now: datetime) -> None:
    await conn.execute(
        upsert(crm_cursors, conn.dialect.name, key=["crm", "kind"], update=["cursor", "saved_at"]),
        [{"crm": crm, "kind": kind, "cursor": cursor, "saved_at": now}],
    )


async def pending_deals(conn: Connection, crm: str) -> list[PendingDeal]:
    """The CRM's deals waiting for their company, oldest kept first."""
    rows = await conn.execute(
        select(crm_pending_deals.c.deal_id, crm_pending_deals.c.deal, crm_pending_deals.c.reason)
        .where(crm_pending_deals.c.crm == crm)
        .order_by(crm_pending_deals.c.id)
    )
    return [PendingDeal(r.deal_id, dict(r.deal), r.reason) for r in rows]


async def keep_pending_deals(
    conn: Connection, crm: str, deals: Sequence[PendingDeal], *, now: datetime
) -> None:
    """Keeps `deals` to be placed again, replacing an earlier read of each (its `since`
    stays the first)."""
    if not deals:
        return
    statement = upsert(
        crm_pending_deals, conn.dialect.name, key=["crm", "deal_id"], update=["deal", "reason"]
    )
    await conn.execute(
        statement,
        [
            {"crm": crm, "deal_id": d.deal_id, "deal": d.deal, "reason": d.reason, "since": now}
            for d in deals
        ],
    )


async def drop_pending_deals(conn: Connection, crm: str, deal_ids: Sequence[str]) -> None:
    """Forgets `deal_ids` as pending: placed, or read again with nothing to wait for."""
    for chunk in chunks(sorted(set(deal_ids))):
        await conn.execute(
            delete(crm_pending_deals).where(
                crm_pending_deals.c.crm == crm, crm_pending_deals.c.deal_id.in_(chunk)
            )
        )


async def add_run(conn: Connection, run: RunRow) -> None:
    await conn.execute(
        crm_runs.insert(),
        [
            {
                "crm": run.crm,
                "started_at": run.started_at,
                "finished_at": run.finished_at,
                "written": run.written,
                "unchanged": run.unchanged,
                "refused": run.refused,
                "unmatched": run.unmatched,
                "duplicates": run.duplicates,
                "outcomes": run.outcomes,
                "owners": run.owners,
                "stopped": run.stopped,
                "report": run.report,
            }
        ],
    )


async def last_run(conn: Connection) -> RunRow | None:
    """The newest run of any CRM."""
    row = (
        await conn.execute(select(crm_runs).order_by(crm_runs.c.id.desc()).limit(1))
    ).one_or_none()
    if row is None:
        return None
    return RunRow(
        row.crm,
        row.started_at,
        row.finished_at,
        row.written,
        row.unchanged,
        row.refused,
        row.unmatched,
        row.duplicates,
        row.outcomes,
        row.owners,
        row.stopped,
        dict(row.report or {}),
    )
