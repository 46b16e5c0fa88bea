"""The identities table: the ids (userId, anonymousId) each person is known by."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update

from tipoff.store.db import Connection
from tipoff.store.dialect import insert_many, select_where_in
from tipoff.store.tables import identities


async def people_known_as(
    conn: Connection, external_ids: Sequence[str], *, kind: str
) -> dict[str, int]:
    """external id -> the id of the person known by it, for those of `external_ids` (of
    `kind`: tipoff.core.identity.USER_ID or ANONYMOUS_ID) that someone is known by."""
    rows = await select_where_in(
        conn,
        identities,
        ("external_id", "person_id"),
        key="external_id",
        values=external_ids,
        equal=("kind", kind),
    )
    return {external_id: person_id for external_id, person_id in rows}


async def add_identities(conn: Connection, new: Sequence[tuple[str, str, int | None]]) -> None:
    """One executemany of (kind, external id, person id) rows."""
    await insert_many(conn, identities, ("kind", "external_id", "person_id"), list(new))


async def move_identities(conn: Connection, *, from_person: int, to_person: int) -> None:
    """Every id `from_person` is known by becomes `to_person`'s (a merge)."""
    await conn.execute(
        update(identities).where(identities.c.person_id == from_person).values(person_id=to_person)
    )
