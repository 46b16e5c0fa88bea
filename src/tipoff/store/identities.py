"""The identities table: the ids (userId, anonymousId) each person is known by."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select, update

from tipoff.store.db import Connection
from tipoff.store.dialect import IN_LIST, chunks
from tipoff.store.tables import identities


async def people_known_as(
    conn: Connection, external_ids: Sequence[str], *, kind: str
) -> dict[str, int]:
    """external id -> the id of the person known by it, for those of `external_ids` (of
    `kind`: tipoff.core.identity.USER_ID or ANONYMOUS_ID) that someone is known by."""
    found: dict[str, int] = {}
    for chunk in chunks(external_ids, IN_LIST):
        rows = await conn.execute(
            select(identities.c.external_id, identities.c.person_id).where(
                identities.c.kind == kind,
                identities.c.external_id.in_(chunk),
            )
        )
        found.update({row.external_id: row.person_id for row in rows})
    return found


async def add_identities(conn: Connection, new: Sequence[tuple[str, str, int | None]]) -> None:
    """One executemany of (kind, external id, person id) rows."""
    await conn.execute(
        insert(identities),
        [
            {"kind": kind, "external_id": external_id, "person_id": p}
            for kind, external_id, p in new
        ],
    )


async def move_identities(conn: Connection, *, from_person: int, to_person: int) -> None:
    """Every id `from_person` is known by becomes `to_person`'s (a merge)."""
    await conn.execute(
        update(identities).where(identities.c.person_id == from_person).values(person_id=to_person)
    )
