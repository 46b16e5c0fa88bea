"""Erasure and retention: removing a person's data on request, and old signals on schedule.

An erasure deletes the person's signals and identities and their row, scrubs their name
and email from stored evidence and alert messages, marks the account for rescoring, and
records that it happened under a SHA-256 of the email (never the address itself), so an
auditor can check "was this person erased?" without the record undoing the erasure."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.core.identity import normalize_email
from tipoff.errors import InvalidInput, NotFound
from tipoff.store.tables import (
    accounts,
    alerts,
    erasures,
    events,
    identities,
    people,
    scores,
)

REMOVED = "[removed]"


@dataclass(frozen=True, slots=True)
class Erasure:
    email_hash: str
    events_deleted: int
    alerts_scrubbed: int
    account_id: int | None


def email_hash(email: str) -> str:
    return hashlib.sha256(email.encode("utf-8")).hexdigest()


async def forget_person(
    conn: AsyncConnection, *, email: str, requested_by: str, now: datetime
) -> Erasure:
    """Erases the person with `email`. NotFound when Tipoff holds no such person."""
    address = normalize_email(email)
    if address is None:
        raise InvalidInput(f"{email!r} is not an email address")
    person = (
        await conn.execute(
            select(people.c.id, people.c.name, people.c.account_id).where(people.c.email == address)
        )
    ).one_or_none()
    if person is None:
        raise NotFound(f"no person with the email {address} is stored")
    deleted = await conn.execute(delete(events).where(events.c.person_id == person.id))
    await conn.execute(delete(identities).where(identities.c.person_id == person.id))
    await conn.execute(delete(people).where(people.c.id == person.id))

    scrubbed = 0
    if person.account_id is not None:
        # The next rescore rewrites evidence without them; until then nothing names them.
        await conn.execute(
            update(accounts)
            .where(accounts.c.id == person.account_id)
            .values(signal_version=accounts.c.signal_version + 1)
        )
        await conn.execute(
            update(scores)
            .where(scores.c.account_id == person.account_id)
            .values(evidence=[], contact=None)
        )
        names = [n for n in (person.name, address) if n]
        rows = await conn.execute(
            select(alerts.c.id, alerts.c.text, alerts.c.blocks).where(
                alerts.c.account_id == person.account_id
            )
        )
        for row in rows.all():
            text, blocks = _scrub(row.text, names), _scrub(json.dumps(row.blocks), names)
            if text != row.text or blocks != json.dumps(row.blocks):
                await conn.execute(
                    update(alerts)
                    .where(alerts.c.id == row.id)
                    .values(text=text, blocks=json.loads(blocks))
                )
                scrubbed += 1
    record = Erasure(email_hash(address), deleted.rowcount, scrubbed, person.account_id)
    await conn.execute(
        erasures.insert().values(
            email_hash=record.email_hash,
            events_deleted=record.events_deleted,
            requested_by=requested_by,
            erased_at=now,
        )
    )
    return record


def _scrub(text: str, names: list[str]) -> str:
    for name in names:
        text = text.replace(name, REMOVED)
    return text


async def prune_signals(conn: AsyncConnection, *, older_than: datetime) -> int:
    """Deletes every stored call that happened before `older_than`; their accounts are
    rescored (their scores would otherwise still count what is gone). Returns the count."""
    touched = select(events.c.account_id).where(
        events.c.occurred_at < older_than, events.c.account_id.is_not(None)
    )
    await conn.execute(
        update(accounts)
        .where(accounts.c.id.in_(touched.distinct().scalar_subquery()))
        .values(signal_version=accounts.c.signal_version + 1)
    )
    result = await conn.execute(delete(events).where(events.c.occurred_at < older_than))
    return int(result.rowcount)


async def was_erased(conn: AsyncConnection, email: str) -> bool:
    address = normalize_email(email) or email
    found = await conn.execute(
        select(func.count()).where(erasures.c.email_hash == email_hash(address))
    )
    return bool(found.scalar_one())
