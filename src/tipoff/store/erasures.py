"""Erasures: what erasing a person deletes and rewrites in every table that can name them
(SCRUBBED; PERSON_FREE says why the other text columns cannot), and the record that an
erasure happened, kept under a SHA-256 of the email, never the address."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, delete, func, select, update

from tipoff.store.db import Connection
from tipoff.store.dialect import locks_rows
from tipoff.store.tables import (
    accounts,
    alerts,
    crm_writes,
    erasures,
    events,
    feedback,
    identities,
    people,
    scores,
    slack_users,
)

# Every stored column that can quote a person, with the column that says which account a
# row is about. Only the rows of the accounts the person belonged to or had signals on
# are read: that is everywhere Tipoff wrote them, and a namesake elsewhere keeps their name.
SCRUBBED: tuple[tuple[Column[Any], tuple[str, ...]], ...] = (
    (scores.c.account_id, ("evidence", "contact")),
    (alerts.c.account_id, ("text", "blocks", "last_error", "owner_email")),
    (feedback.c.account_id, ("reason",)),  # what a rep typed when saying Wrong
    (accounts.c.id, ("traits", "trait_times")),  # the times' keys are the traits' keys
    (people.c.account_id, ("name", "title", "traits", "trait_times")),  # "Assistant to José Núñez"
    (events.c.account_id, ("properties",)),  # other people's: an invitee's email
    # The evidence last written onto a CRM record: scrubbed, it differs from the account's
    # evidence now, so the next CRM sync writes the record again without the person.
    (crm_writes.c.account_id, ("evidence",)),
)

# The text columns that cannot quote the person erased, and why. A column added to the
# schema must be placed here or in SCRUBBED (tests/unit/test_privacy_redaction.py checks).
PERSON_FREE: dict[str, str] = {
    "sources.*": "configuration: names and write-key hashes",
    "accounts.domain accounts.group_id accounts.name accounts.industry": (
        "the company, not a person: kept so feedback and lookups still find it"
    ),
    "people.email": "other people's own addresses (the erased person's row is deleted)",
    "identities.*": "ids; the erased person's rows are deleted",
    "events.message_id events.kind events.event": "ids and event names",
    "scores.track scores.model_name score_history.*": "numbers and names Tipoff gives",
    "alerts.track alerts.reason alerts.target alerts.status alerts.channel alerts.ts": (
        "why and where it alerted: tracks, rule ids, channels"
    ),
    "alerts.owner_user_id alerts.claimed_by": "reps' Slack user IDs",
    "alerts.failure_reason": "Slack's error code for a failed post",
    "slack_workspace.*": "whether posting is paused, and Slack's reason",
    "slack_failures.*": "refused reminders and digests: alert ids, days, channels, error codes",
    "alerts.evidence_rules": "rule ids from the model file",
    "people.account_via": "how the person was placed: group or domain",
    "feedback.slack_user_id feedback.slack_user_name feedback.verdict": (
        "the rep who clicked, and what"
    ),
    "model_changes.*": "model files and who put them live",
    "account_owners.* snoozes.*": "reps' Slack user IDs",
    "slack_users.*": "a cache of Slack lookups: the erased address's row is deleted",
    "digests.*": "channels and days",
    "erasures.*": "a hash of the address, never the address",
    "crm_records.*": "the CRM's companies: ids, domains, names, and their owners (reps)",
    "crm_writes.crm crm_writes.record_id crm_writes.track": "CRM record ids and tracks",
    "crm_cursors.*": "where each read of the CRM stopped",
    "crm_pending_deals.*": "CRM deals waiting for their company: ids, dates, amounts",
    "crm_runs.*": "sync counts, companies' domains, reps' emails, the CRM's error codes",
}


# Rows read at a time: fetched one by one, the driver's round trips took most of the time.
_BATCH = 2000


@dataclass(frozen=True, slots=True)
class PersonToErase:
    """The stored person an erasure is about."""

    id: int
    name: str | None
    title: str | None
    account_id: int | None


@dataclass(frozen=True, slots=True)
class Scrubbed:
    """What `scrub` rewrote: rows by table name (tables with none left out), and the
    alerts among them that Slack shows, as (channel, ts), in alert order."""

    rows: dict[str, int]
    posted: list[tuple[str, str]]


async def person_with_email(conn: Connection, address: str) -> PersonToErase | None:
    """The person stored with this (normalised) email address."""
    row = (
        await conn.execute(
            select(people.c.id, people.c.name, people.c.title, people.c.account_id).where(
                people.c.email == address
            )
        )
    ).one_or_none()
    return None if row is None else PersonToErase(row.id, row.name, row.title, row.account_id)


async def accounts_of_person(conn: Connection, person: PersonToErase) -> set[int]:
    """Their account now, and any their signals were counted for before a group call
    moved them."""
    signalled = select(events.c.account_id).where(
        events.c.person_id == person.id, events.c.account_id.is_not(None)
    )
    return {person.account_id, *(await conn.scalars(signalled.distinct()))} - {None}


async def delete_person(conn: Connection, person_id: int, address: str) -> int:
    """Deletes the person's signals, identities and row, and the cached Slack lookup of
    their address. Returns how many signals were deleted."""
    deleted = await conn.execute(delete(events).where(events.c.person_id == person_id))
    await conn.execute(delete(identities).where(identities.c.person_id == person_id))
    await conn.execute(delete(people).where(people.c.id == person_id))
    await conn.execute(delete(slack_users).where(slack_users.c.email == address))
    return int(deleted.rowcount)


async def scrub(
    conn: Connection, account_ids: Sequence[int], rewrite: Callable[[Any], Any]
) -> Scrubbed:
    """Rewrites every SCRUBBED column of the rows about `account_ids` to `rewrite` of its
    value, where that differs."""
    rows: dict[str, int] = {}
    changed_alerts: list[Any] = []
    for account_column, columns in SCRUBBED:
        changed = await _scrub(conn, account_column, columns, account_ids, rewrite)
        if changed:
            rows[account_column.table.name] = len(changed)
        if account_column.table is alerts:
            changed_alerts = changed
    posted = await conn.execute(
        select(alerts.c.channel, alerts.c.ts)
        .where(
            alerts.c.id.in_(changed_alerts),
            alerts.c.channel.is_not(None),
            alerts.c.ts.is_not(None),
        )
        .order_by(alerts.c.id)
    )
    return Scrubbed(rows, [(channel, ts) for channel, ts in posted])


async def _scrub(
    conn: Connection,
    account_column: Column[Any],
    columns: Sequence[str],
    account_ids: Sequence[int],
    rewrite: Callable[[Any], Any],
) -> list[Any]:
    """Rewrites `columns` of the rows about `account_ids` that name the person; returns
    the keys of the rows rewritten. The rows are streamed (an account can have hundreds
    of thousands of signals) and the few that change are written once the read is done."""
    table = account_column.table
    (key,) = table.primary_key.columns
    if not account_ids:
        return []
    read = select(key, *(table.c[c] for c in columns)).where(account_column.in_(account_ids))
    if table is people and locks_rows(conn.dialect.name):
        # Ingest may be writing a colleague's traits right now: read them once that write
        # is in, and locked, so rewriting them keeps it. (The accounts are locked since
        # their signal_version went up; SQLite's write lock is this transaction's.)
        read = read.with_for_update(key_share=True)
    rows = await conn.stream(read.execution_options(yield_per=_BATCH))
    changes: list[tuple[Any, dict[str, Any]]] = []
    async for batch in rows.partitions():
        for row in batch:
            erased = {c: rewrite(getattr(row, c)) for c in columns}
            erased = {c: v for c, v in erased.items() if v != getattr(row, c)}
            if erased:
                changes.append((row[0], erased))
    for row_key, erased in changes:
        await conn.execute(update(table).where(key == row_key).values(**erased))
    return [row_key for row_key, _ in changes]


async def record_erasure(
    conn: Connection, *, email_hash: str, events_deleted: int, requested_by: str, at: datetime
) -> None:
    """Records that the person with this email hash was erased, by whom and when."""
    await conn.execute(
        erasures.insert().values(
            email_hash=email_hash,
            events_deleted=events_deleted,
            requested_by=requested_by,
            erased_at=at,
        )
    )


async def erasure_recorded(conn: Connection, email_hash: str) -> bool:
    """Whether an erasure of the person with this email hash is recorded."""
    found = await conn.execute(select(func.count()).where(erasures.c.email_hash == email_hash))
    return bool(found.scalar_one())


async def erasures_so_far(conn: Connection) -> int:
    """How many erasures (`tipoff forget`) have been made: a rescorer that reads it with
    its batch and again before writing knows whether one came in between."""
    return int((await conn.execute(select(func.count()).select_from(erasures))).scalar_one())
