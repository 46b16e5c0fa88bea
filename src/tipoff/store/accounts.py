"""The accounts table: the companies Tipoff scores, keyed by groupId and by domain.
Here: finding one by what a person typed (`find_accounts`, `similar_accounts`), what
ingest reads and writes of them, what routing, delivery and the rep workflow read, their
locks, and the versions that say whether one is due for rescoring (`mark_for_rescoring`,
`due_accounts`). An account with its people and signals, as scoring reads it:
store.histories."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import Select, and_, bindparam, func, or_, select, update

from tipoff.core.history import account_label, id_in_label
from tipoff.core.identity import account_search_text, normalize_domain
from tipoff.core.traits import ACCOUNT_COLUMNS, Stored
from tipoff.store.db import Connection
from tipoff.store.dialect import (
    IN_LIST,
    chunks,
    claim,
    insert_returning_ids,
    lock_for_writing,
    lock_in_order,
    select_where_in,
    update_many,
)
from tipoff.store.tables import accounts, scores


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: int
    domain: str | None
    name: str | None
    employees: int | None
    industry: str | None

    @property
    def label(self) -> str:
        return account_label(self.id, self.name, self.domain)


def account_row(row: Any) -> AccountRow:
    return AccountRow(row.id, row.domain, row.name, row.employees, row.industry)


ACCOUNT_ROW_COLUMNS = (
    accounts.c.id,
    accounts.c.domain,
    accounts.c.name,
    accounts.c.employees,
    accounts.c.industry,
)


async def find_accounts(conn: Connection, text: str, *, limit: int = 5) -> list[AccountRow]:
    """Accounts a person may mean by `text` (an email address: its company's domain): an
    exact domain or name first, then the account an id label names ("Account 7", as one
    without name or domain is shown), then partial matches on name or domain, best first."""
    needle = account_search_text(text)
    if not needle:
        return []
    domain = normalize_domain(needle)
    if domain is not None:
        exact = (
            await conn.execute(select(*ACCOUNT_ROW_COLUMNS).where(accounts.c.domain == domain))
        ).first()
        if exact is not None:
            return [account_row(exact)]
    lowered = needle.lower()
    same_name = select(*ACCOUNT_ROW_COLUMNS).where(func.lower(accounts.c.name) == lowered)
    prefixes = _sqlite_name_prefixes(lowered) if conn.dialect.name == "sqlite" else None
    if prefixes:
        # Sorted here: with ORDER BY id … LIMIT, SQLite prefers walking every row in id
        # order to sorting the few the index finds. Exact-name twins are few.
        same_name = same_name.where(
            or_(*(and_(accounts.c.name >= p, accounts.c.name < _next(p)) for p in prefixes))
        )
        by_name = sorted((await conn.execute(same_name)).all(), key=lambda r: r.id)[:limit]
    else:
        by_name = list(await conn.execute(same_name.order_by(accounts.c.id).limit(limit)))
    if by_name:
        return [account_row(r) for r in by_name]
    labelled = id_in_label(needle)
    if labelled is not None:
        # The label shown for an account with neither name nor domain: that account.
        unnamed = (
            await conn.execute(
                select(*ACCOUNT_ROW_COLUMNS).where(
                    accounts.c.id == labelled,
                    func.coalesce(accounts.c.name, "") == "",
                    func.coalesce(accounts.c.domain, "") == "",
                )
            )
        ).first()
        if unnamed is not None:
            return [account_row(unnamed)]
    pattern = f"%{needle.lower().replace('%', '').replace('_', '')}%"
    partial = await conn.execute(
        select(*ACCOUNT_ROW_COLUMNS)
        .where(or_(func.lower(accounts.c.name).like(pattern), accounts.c.domain.like(pattern)))
        .order_by(func.length(func.coalesce(accounts.c.name, accounts.c.domain)), accounts.c.id)
        .limit(limit)
    )
    return [account_row(r) for r in partial]


def _sqlite_name_prefixes(lowered: str, length: int = 3) -> list[str] | None:
    """Every way a name whose SQLite `lower()` is `lowered` can begin: SQLite folds ASCII
    letters only, so "acm" → "acm", "acM", …, "ACM". Ranges over these prefixes let
    `ix_accounts_name` find a name typed in any case; without them, matching
    `lower(name)` reads every account (25 ms at 100k accounts). None when a prefix has
    no next string to bound its range."""
    prefixes = [""]
    for char in lowered[:length]:
        if ord(char) >= 0x10FFFF:
            return None
        cases = (char, char.upper()) if "a" <= char <= "z" else (char,)
        prefixes = [p + c for p in prefixes for c in cases]
    return prefixes


def _next(prefix: str) -> str:
    """The least string after every string that starts with `prefix` (binary order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


# Did-you-mean for a lookup that matched nothing (a typo: "acme.con", "globx"): the
# text is compared with a bounded sample of names and domains by similarity.
# Enough for most teams' whole account list; a bigger one is sampled, most recently
# updated first, so the scan stays a few milliseconds.
_SIMILAR_SCAN_LIMIT = 5000
_SIMILAR_CUTOFF = 0.75

_WORD = re.compile(r"[a-z0-9]+")


async def similar_accounts(conn: Connection, text: str, *, limit: int = 3) -> list[AccountRow]:
    """Accounts whose name, a word of it, or domain is close to `text`, closest first."""
    needle = _similarity_key(text)
    if len(needle) < 3:
        return []
    rows = await conn.execute(
        select(*ACCOUNT_ROW_COLUMNS)
        .order_by(accounts.c.updated_at.desc(), accounts.c.id.desc())
        .limit(_SIMILAR_SCAN_LIMIT)
    )
    scored: list[tuple[float, int, AccountRow]] = []
    matcher = difflib.SequenceMatcher(b=needle, autojunk=False)
    for row in rows:
        best = 0.0
        for candidate in _similarity_candidates(row.name, row.domain):
            matcher.set_seq1(candidate)
            if (
                matcher.real_quick_ratio() >= _SIMILAR_CUTOFF
                and matcher.quick_ratio() >= _SIMILAR_CUTOFF
            ):
                best = max(best, matcher.ratio())
        if best >= _SIMILAR_CUTOFF:
            scored.append((best, row.id, account_row(row)))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [account for _, _, account in scored[:limit]]


def _similarity_key(text: str) -> str:
    """Lower-case letters and digits; a domain is compared without its top-level part."""
    text = text.strip().lower().removeprefix("https://").removeprefix("http://")
    text = text.removeprefix("www.").split("/", 1)[0]
    if "." in text and " " not in text:
        text = text.rsplit(".", 1)[0]
    return "".join(_WORD.findall(text))


def _similarity_candidates(name: str | None, domain: str | None) -> list[str]:
    found: list[str] = []
    if name:
        words = _WORD.findall(name.lower())
        found.append("".join(words))
        found += [w for w in words if len(w) >= 3]
    if domain:
        found.append(_similarity_key(domain))
    return found


@dataclass(frozen=True, slots=True)
class Due:
    """An account to rescore, with the versions it had when read."""

    id: int
    signal_version: int
    scored_version: int


# An account is due when a signal arrived since its last score (`signal_version` counts them).
_CHANGED_SINCE_SCORED = accounts.c.signal_version > accounts.c.scored_version

EVERY_ACCOUNT: Final = "every account"


async def mark_for_rescoring(
    conn: Connection, which: Iterable[int] | Select[Any] | Literal["every account"]
) -> None:
    """Makes accounts due for rescoring: the next pass scores them again from what is
    stored now. `which` is account ids, a query selecting account ids, or EVERY_ACCOUNT.

    Their signal_version goes up by one, so each is due (`_CHANGED_SINCE_SCORED`), and a
    pass that read an account before this committed does not record a score of what it
    read as current (`signal_versions`). Ids are updated in id order, the order every
    writer locks accounts in."""
    bump = update(accounts).values(signal_version=accounts.c.signal_version + 1)
    if isinstance(which, str):
        await conn.execute(bump)
    elif isinstance(which, Select):
        await conn.execute(bump.where(accounts.c.id.in_(which.scalar_subquery())))
    elif conn.dialect.name == "sqlite":
        # Every ingest batch bumps hundreds of ids: SQLAlchemy's compiling of an IN list
        # that long each time cost more than SQLite's update.
        for chunk in chunks(sorted(set(which))):
            await conn.exec_driver_sql(
                "UPDATE accounts SET signal_version = signal_version + 1"  # noqa: S608
                f" WHERE id IN ({', '.join('?' * len(chunk))})",  # (placeholders only)
                tuple(chunk),
            )
    else:
        for chunk in chunks(sorted(set(which))):
            await conn.execute(bump.where(accounts.c.id.in_(chunk)))


async def due_accounts(
    conn: Connection, after_id: int, *, limit: int, everything: bool = False
) -> list[Due]:
    """Accounts changed since they were last scored (or all of them), with ids above
    `after_id`, in id order, claimed for this transaction where the backend can
    (`dialect.claim`)."""
    query = (
        select(accounts.c.id, accounts.c.signal_version, accounts.c.scored_version)
        .where(accounts.c.id > after_id)
        .order_by(accounts.c.id)
        .limit(limit)
    )
    if not everything:
        query = query.where(_CHANGED_SINCE_SCORED)
    return [Due(r.id, r.signal_version, r.scored_version) for r in await claim(conn, query)]


async def count_due(conn: Connection, *, everything: bool = False) -> int:
    """How many accounts `due_accounts` would walk through."""
    query = select(func.count()).select_from(accounts)
    if not everything:
        query = query.where(_CHANGED_SINCE_SCORED)
    return int((await conn.execute(query)).scalar_one())


async def scored_marks(
    conn: Connection, account_ids: Sequence[int]
) -> dict[int, tuple[int, datetime | None]]:
    """(scored_version, scored_at) per account: what changes whenever it is rescored.
    Read under the write lock (`dialect.lock_for_writing`), it tells which accounts
    another rescorer wrote since they were read."""
    found: dict[int, tuple[int, datetime | None]] = {}
    for chunk in chunks(account_ids):
        result = await conn.execute(
            select(accounts.c.id, accounts.c.scored_version, scores.c.scored_at)
            .outerjoin(scores, scores.c.account_id == accounts.c.id)
            .where(accounts.c.id.in_(chunk))
        )
        found.update({r.id: (r.scored_version, r.scored_at) for r in result})
    return found


async def signal_versions(conn: Connection, account_ids: Sequence[int]) -> dict[int, int]:
    """Each account's signal_version: it changes with every signal stored and every
    erasure that touched the account."""
    found: dict[int, int] = {}
    for chunk in chunks(account_ids):
        result = await conn.execute(
            select(accounts.c.id, accounts.c.signal_version).where(accounts.c.id.in_(chunk))
        )
        found.update({r.id: r.signal_version for r in result})
    return found


async def all_account_ids(conn: Connection) -> list[int]:
    """Every account's id, in id order."""
    result = await conn.execute(select(accounts.c.id).order_by(accounts.c.id))
    return [int(i) for i in result.scalars()]


async def lock_accounts(conn: Connection, account_ids: Sequence[int]) -> None:
    """Locks these accounts for this transaction, in id order (`dialect.lock_in_order`)."""
    await lock_in_order(conn, accounts, account_ids)


async def lock_accounts_for_writing(conn: Connection) -> None:
    """On SQLite, takes the write lock now (`dialect.lock_for_writing`), so what this
    transaction reads next stays true until it commits."""
    await lock_for_writing(conn, accounts)


async def record_scored_versions(conn: Connection, versions: Sequence[tuple[int, int]]) -> None:
    """Sets each (account id, signal_version) account's scored_version to that version:
    the one its score was computed from."""
    await update_many(
        conn,
        accounts,
        ["scored_version"],
        [(version, account_id) for account_id, version in versions],
        key="id",
    )


@dataclass(frozen=True)
class RoutedAccount:
    """What routing, delivery and a digest line read of an account."""

    name: str | None
    domain: str | None
    employees: int | None
    traits: dict[str, Any]  # `{}` when what a source sent is not an object

    @property
    def region(self) -> str | None:
        """The `region` trait, when it is text."""
        region = self.traits.get("region")
        return region if isinstance(region, str) else None


async def routed_accounts(conn: Connection, account_ids: Sequence[int]) -> dict[int, RoutedAccount]:
    """Per existing account among `account_ids`: its name, domain, size and traits."""
    return {
        r.id: RoutedAccount(
            r.name, r.domain, r.employees, r.traits if isinstance(r.traits, dict) else {}
        )
        for r in await conn.execute(
            select(
                accounts.c.id, accounts.c.name, accounts.c.domain, accounts.c.employees,
                accounts.c.traits,
            ).where(accounts.c.id.in_(sorted(account_ids)))
        )
    }  # fmt: skip


async def group_ids_of_domains(conn: Connection, domains: Sequence[str]) -> dict[str, str]:
    """domain -> the groupId of the account with that domain (the domain itself for an
    account without one), for those of `domains` (sorted) an account has."""
    found: dict[str, str] = {}
    for chunk in chunks(domains, IN_LIST):
        rows = await conn.execute(
            select(accounts.c.domain, accounts.c.group_id).where(accounts.c.domain.in_(chunk))
        )
        found.update({r.domain: r.group_id or r.domain for r in rows})
    return found


@dataclass(slots=True)
class NewAccount:
    """An account's values as ingest writes them: its keys and its traits. (Not frozen:
    see `people.NewPerson`.)"""

    domain: str | None
    group_id: str | None
    name: str | None
    employees: int | None
    industry: str | None
    traits: dict[str, Any]
    trait_times: dict[str, int]


@dataclass(slots=True)
class KnownAccount(NewAccount):
    """A stored account, as ingest reads it."""

    id: int


async def accounts_where(
    conn: Connection, *, key: Literal["id", "group_id", "domain"], values: Sequence[Any]
) -> list[KnownAccount]:
    """The accounts whose `key` column is one of `values`."""
    rows = await select_where_in(conn, accounts, _KNOWN_COLUMNS, key=key, values=values)
    return [
        KnownAccount(
            id=id_,
            domain=domain,
            group_id=group_id,
            name=name,
            employees=employees,
            industry=industry,
            traits=traits or {},
            trait_times=trait_times or {},
        )
        for id_, domain, group_id, name, employees, industry, traits, trait_times in rows
    ]


_KNOWN_COLUMNS = (
    "id", "domain", "group_id", "name", "employees", "industry", "traits", "trait_times"
)  # fmt: skip


async def account_traits_now(conn: Connection, ids: Iterable[int]) -> dict[int, Stored]:
    """id -> what traits set in that account's row, as stored now; an account not stored
    is left out."""
    columns = ("id", "traits", "trait_times", *ACCOUNT_COLUMNS)
    found: dict[int, Stored] = {}
    for row in await select_where_in(conn, accounts, columns, key="id", values=sorted(ids)):
        id_, traits, trait_times, *values = row
        found[id_] = Stored(
            traits or {},
            trait_times or {},
            dict(zip(ACCOUNT_COLUMNS, values, strict=True)),
        )
    return found


async def add_accounts(conn: Connection, new: Sequence[NewAccount], *, now: datetime) -> list[int]:
    """The ids of new account rows, in the order of `new`, inserted in one round trip;
    each is due for scoring."""
    return await insert_returning_ids(
        conn,
        accounts,
        [
            {
                "domain": a.domain,
                "group_id": a.group_id,
                "name": a.name,
                "employees": a.employees,
                "industry": a.industry,
                "traits": a.traits,
                "trait_times": a.trait_times,
                "created_at": now,
                "updated_at": now,
                "signal_version": 0,
                "scored_version": 0,
            }
            for a in new
        ],
    )


async def write_account_traits(
    conn: Connection, writes: Sequence[tuple[int, Stored]], *, now: datetime
) -> None:
    """One executemany: each (account id, traits) of `writes` is what that row's traits,
    name, employees and industry are from now on."""
    await conn.execute(
        update(accounts)
        .where(accounts.c.id == bindparam("b_id"))
        .values(
            name=bindparam("b_name"),
            employees=bindparam("b_employees"),
            industry=bindparam("b_industry"),
            traits=bindparam("b_traits", type_=accounts.c.traits.type),
            trait_times=bindparam("b_trait_times", type_=accounts.c.trait_times.type),
            updated_at=bindparam("b_updated_at", type_=accounts.c.updated_at.type),
        ),
        [
            {
                "b_id": account_id,
                "b_name": stored.columns["name"],
                "b_employees": stored.columns["employees"],
                "b_industry": stored.columns["industry"],
                "b_traits": stored.traits,
                "b_trait_times": stored.times,
                "b_updated_at": now,
            }
            for account_id, stored in writes
        ],
    )


async def adopt_group_id(
    conn: Connection, account_id: int, *, group_id: str, now: datetime
) -> None:
    """The account takes `group_id`, unless it has one by now (another request's stays)."""
    await conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id, accounts.c.group_id.is_(None))
        .values(group_id=group_id, updated_at=now)
    )


async def adopt_domain(conn: Connection, account_id: int, *, domain: str, now: datetime) -> None:
    """The account takes `domain`, unless it has one by now (another request's stays)."""
    await conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id, accounts.c.domain.is_(None))
        .values(domain=domain, updated_at=now)
    )


async def account_label_of(conn: Connection, account_id: int) -> str | None:
    """How the account is named to a rep (`core.history.account_label`); None if unknown."""
    row = (
        await conn.execute(
            select(accounts.c.name, accounts.c.domain).where(accounts.c.id == account_id)
        )
    ).one_or_none()
    if row is None:
        return None
    return account_label(account_id, row.name, row.domain)


async def account_exists(conn: Connection, account_id: int) -> bool:
    """Whether an account has this id (not merged away, not deleted)."""
    found = await conn.scalar(select(accounts.c.id).where(accounts.c.id == account_id))
    return found is not None


async def account_traits(conn: Connection, account_id: int) -> Any:
    """The account's traits as stored (None for no such account)."""
    return await conn.scalar(select(accounts.c.traits).where(accounts.c.id == account_id))
