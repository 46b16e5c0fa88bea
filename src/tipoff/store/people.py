"""The people table: who did what, each with their traits and the account they are in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, delete, insert, update

from tipoff.core.traits import PERSON_COLUMNS, Stored
from tipoff.store.db import Connection
from tipoff.store.dialect import (
    insert_returning_ids,
    lock_for_writing,
    lock_in_order,
    select_where_in,
)
from tipoff.store.tables import people


@dataclass(slots=True)
class NewPerson:
    """A person's values as ingest writes them. (Not frozen, nor are the other rows
    here: a batch builds thousands, and a frozen dataclass is built twice as slowly.)"""

    email: str | None
    name: str | None
    title: str | None
    account_id: int | None
    account_via: str | None  # tipoff.core.identity.VIA_GROUP or VIA_DOMAIN
    traits: dict[str, Any]
    trait_times: dict[str, int]


@dataclass(slots=True)
class KnownPerson(NewPerson):
    """A stored person."""

    id: int


@dataclass(frozen=True, slots=True)
class PersonNow:
    """What traits set in a person's row, and their account, as stored now."""

    stored: Stored
    account_id: int | None
    account_via: str | None


@dataclass(frozen=True, slots=True)
class PersonWrite:
    """A person's row as a unit of work leaves it: traits and account."""

    id: int
    stored: Stored
    account_id: int | None
    account_via: str | None


async def people_where(
    conn: Connection, *, key: Literal["id", "email"], values: Sequence[Any]
) -> list[KnownPerson]:
    """The people whose `key` column is one of `values`."""
    rows = await select_where_in(conn, people, _KNOWN_COLUMNS, key=key, values=values)
    return [
        KnownPerson(
            id=id_,
            email=email,
            name=name,
            title=title,
            account_id=account_id,
            account_via=account_via,
            traits=traits or {},
            trait_times=trait_times or {},
        )
        for id_, email, name, title, account_id, account_via, traits, trait_times in rows
    ]


_KNOWN_COLUMNS = (
    "id", "email", "name", "title", "account_id", "account_via", "traits", "trait_times"
)  # fmt: skip


async def people_now(conn: Connection, ids: Iterable[int]) -> dict[int, PersonNow]:
    """id -> what traits set in that person's row and their account, as stored now; a
    person not stored (erased meanwhile) is left out."""
    columns = ("id", "traits", "trait_times", *PERSON_COLUMNS, "account_id", "account_via")
    found: dict[int, PersonNow] = {}
    for row in await select_where_in(conn, people, columns, key="id", values=sorted(ids)):
        id_, traits, trait_times, *values, account_id, account_via = row
        stored = Stored(
            traits or {},
            trait_times or {},
            dict(zip(PERSON_COLUMNS, values, strict=True)),
        )
        found[id_] = PersonNow(stored, account_id, account_via)
    return found


async def lock_people_for_writing(conn: Connection) -> None:
    """What this unit of work reads of people next stays so until it commits: SQLite's
    write lock, taken now (`dialect.lock_for_writing`); elsewhere rows are locked."""
    await lock_for_writing(conn, people)


async def lock_people(conn: Connection, ids: Sequence[int]) -> None:
    """Locks these people's rows, in id order (`dialect.lock_in_order`)."""
    await lock_in_order(conn, people, ids)


def _row(person: NewPerson, now: datetime) -> dict[str, Any]:
    return {
        "email": person.email,
        "name": person.name,
        "title": person.title,
        "account_id": person.account_id,
        "account_via": person.account_via,
        "traits": person.traits,
        "trait_times": person.trait_times,
        "created_at": now,
        "updated_at": now,
    }


async def add_person(conn: Connection, person: NewPerson, *, now: datetime) -> int:
    """The id of a new person row, inserted at once."""
    result = await conn.execute(insert(people).values(_row(person, now)).returning(people.c.id))
    return int(result.scalar_one())


async def add_people(conn: Connection, new: Sequence[NewPerson], *, now: datetime) -> list[int]:
    """The ids of new person rows, in the order of `new`, inserted in one round trip."""
    return await insert_returning_ids(conn, people, [_row(p, now) for p in new])


async def set_email(conn: Connection, person_id: int, *, email: str, now: datetime) -> None:
    """The person's email is `email` from now on."""
    await conn.execute(
        update(people).where(people.c.id == person_id).values(email=email, updated_at=now)
    )


async def write_people(conn: Connection, writes: Sequence[PersonWrite], *, now: datetime) -> None:
    """One executemany: each person's traits, name, title and account as `writes` says."""
    await conn.execute(
        update(people)
        .where(people.c.id == bindparam("b_id"))
        .values(
            name=bindparam("b_name"),
            title=bindparam("b_title"),
            traits=bindparam("b_traits", type_=people.c.traits.type),
            trait_times=bindparam("b_trait_times", type_=people.c.trait_times.type),
            account_id=bindparam("b_account_id"),
            account_via=bindparam("b_account_via"),
            updated_at=bindparam("b_updated_at", type_=people.c.updated_at.type),
        ),
        [
            {
                "b_id": w.id,
                "b_name": w.stored.columns["name"],
                "b_title": w.stored.columns["title"],
                "b_traits": w.stored.traits,
                "b_trait_times": w.stored.times,
                "b_account_id": w.account_id,
                "b_account_via": w.account_via,
                "b_updated_at": now,
            }
            for w in writes
        ],
    )


async def delete_person(conn: Connection, person_id: int) -> None:
    """The person's row is gone (merged into another: nothing may point at it any more)."""
    await conn.execute(delete(people).where(people.c.id == person_id))
