"""Reads the core and the edges need, as plain dataclasses. Each takes the connection of
the caller's unit of work (`conn`), so it runs inside the caller's transaction."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, Literal, cast

from sqlalchemy import Select, and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.core.history import AccountHistory, Person, Signal, account_label, id_in_label
from tipoff.core.identity import account_search_text, normalize_domain
from tipoff.core.routing import Track
from tipoff.core.scoring_model import ScoringModel
from tipoff.core.tally import Tally, tally_plan
from tipoff.store.dialect import (
    claim,
    db_time,
    decay_clock,
    decay_weight_sql,
    fetch_rows,
    fetch_rows_at_once,
    json_key,
    text_property_sql,
    utc_from_db,
)
from tipoff.store.tables import accounts, erasures, scores
from tipoff.store.tables import score_history as history_table

# Segment calls that say something happened; identify/group/alias only describe.
SIGNAL_KINDS = ("track", "page", "screen")
# Keeps each IN (…) list well under every backend's bound-parameter limit.
_CHUNK = 500


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


@dataclass(frozen=True, slots=True)
class TopRow:
    account: AccountRow
    score: int
    raw_points: float
    track: str
    scored_at: datetime


@dataclass(frozen=True, slots=True)
class StoredScore:
    score: int
    track: str
    scored_at: datetime


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _account_row(row: Any) -> AccountRow:
    return AccountRow(row.id, row.domain, row.name, row.employees, row.industry)


_ACCOUNT_COLUMNS = (
    accounts.c.id,
    accounts.c.domain,
    accounts.c.name,
    accounts.c.employees,
    accounts.c.industry,
)


async def find_accounts(conn: AsyncConnection, text: str, *, limit: int = 5) -> list[AccountRow]:
    """Accounts a person may mean by `text` (an email address: its company's domain): an
    exact domain or name first, then the account an id label names ("Account 7", as one
    without name or domain is shown), then partial matches on name or domain, best first."""
    needle = account_search_text(text)
    if not needle:
        return []
    domain = normalize_domain(needle)
    if domain is not None:
        exact = (
            await conn.execute(select(*_ACCOUNT_COLUMNS).where(accounts.c.domain == domain))
        ).first()
        if exact is not None:
            return [_account_row(exact)]
    lowered = needle.lower()
    same_name = select(*_ACCOUNT_COLUMNS).where(func.lower(accounts.c.name) == lowered)
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
        return [_account_row(r) for r in by_name]
    labelled = id_in_label(needle)
    if labelled is not None:
        # The label shown for an account with neither name nor domain: that account.
        unnamed = (
            await conn.execute(
                select(*_ACCOUNT_COLUMNS).where(
                    accounts.c.id == labelled,
                    func.coalesce(accounts.c.name, "") == "",
                    func.coalesce(accounts.c.domain, "") == "",
                )
            )
        ).first()
        if unnamed is not None:
            return [_account_row(unnamed)]
    pattern = f"%{needle.lower().replace('%', '').replace('_', '')}%"
    partial = await conn.execute(
        select(*_ACCOUNT_COLUMNS)
        .where(or_(func.lower(accounts.c.name).like(pattern), accounts.c.domain.like(pattern)))
        .order_by(func.length(func.coalesce(accounts.c.name, accounts.c.domain)), accounts.c.id)
        .limit(limit)
    )
    return [_account_row(r) for r in partial]


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


async def similar_accounts(conn: AsyncConnection, text: str, *, limit: int = 3) -> list[AccountRow]:
    """Accounts whose name, a word of it, or domain is close to `text`, closest first."""
    needle = _similarity_key(text)
    if len(needle) < 3:
        return []
    rows = await conn.execute(
        select(*_ACCOUNT_COLUMNS)
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
            scored.append((best, row.id, _account_row(row)))
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


async def load_accounts(
    conn: AsyncConnection, account_ids: Sequence[int], *, only_people: Iterable[int] | None = None
) -> dict[int, AccountHistory]:
    """Accounts with their people (or only those of `only_people`), without signals
    (`load_tallies` sums those). Read at once: rescoring reads them while it scores."""
    found: dict[int, AccountHistory] = {}
    for chunk in _chunks(account_ids):
        params: dict[str, Any] = {}
        # Someone known by neither name nor email is named in evidence by their userId.
        sql = (
            "SELECT id, account_id, name, email, title,"  # noqa: S608
            " CASE WHEN name IS NULL AND email IS NULL THEN (SELECT min(external_id)"
            " FROM identities WHERE person_id = people.id AND kind = 'user_id') END"
            f" FROM people WHERE account_id IN ({_in_list('a', chunk, params)})"
        )
        if only_people is not None:
            sql += f" AND id IN ({_in_list('p', only_people, params) or 'NULL'})"
        members: dict[int, dict[int, Person]] = {account_id: {} for account_id in chunk}
        for person_id, account_id, name, email, title, user_id in await fetch_rows_at_once(
            conn, sql, params, width=6
        ):
            members[account_id][person_id] = Person(person_id, name, email, title, user_id)
        params = {}
        sql = (
            "SELECT id, domain, name, employees, industry FROM accounts"  # noqa: S608
            f" WHERE id IN ({_in_list('a', chunk, params)})"
        )
        for account_id, domain, name, employees, industry in await fetch_rows_at_once(
            conn, sql, params, width=5
        ):
            found[account_id] = AccountHistory(
                id=account_id,
                domain=domain,
                name=name,
                employees=employees,
                industry=industry,
                people=members[account_id],
            )
    return found


async def load_histories(
    conn: AsyncConnection, account_ids: Sequence[int], *, since: datetime | None = None
) -> dict[int, AccountHistory]:
    """Accounts with their people and every signal (since `since`), one by one: what
    replaying history day by day needs. Scoring now needs only `load_tallies`.

    Times are parsed by `utc_from_db`, and properties are decoded only when read
    (`_JSONObject`): a replay reads millions of rows."""
    found = await load_accounts(conn, account_ids)
    signals: dict[int, list[Signal]] = {account_id: [] for account_id in found}
    for chunk in _chunks(account_ids):
        params: dict[str, Any] = {}
        sql = (
            "SELECT account_id, event, occurred_at, person_id, properties FROM events"  # noqa: S608
            f" WHERE account_id IN ({_in_list('a', chunk, params)})"
            f" AND kind IN ({_in_list('k', SIGNAL_KINDS, params)})"
        )
        if since is not None:
            sql += " AND occurred_at >= :since"
            params["since"] = db_time(since, conn.dialect.name)
        for account_id, event, occurred_at, person_id, properties in await fetch_rows(
            conn, sql, params
        ):
            signals[account_id].append(
                Signal(event, utc_from_db(occurred_at), person_id, _properties(properties))
            )
    return {
        account_id: replace(history, signals=tuple(signals[account_id]))
        for account_id, history in found.items()
    }


async def load_tallies(
    conn: AsyncConnection, account_ids: Sequence[int], model: ScoringModel, now: datetime
) -> dict[int, list[Tally]]:
    """The accounts' signals summed as `core.tally.tally` sums them, by one GROUP BY in
    the database: a full rescore reads a few rows per account, not every signal."""
    plan = tally_plan(model)
    found: dict[int, list[Tally]] = {account_id: [] for account_id in account_ids}
    if not plan.events or not account_ids:
        return found
    dialect = conn.dialect.name
    params: dict[str, Any] = {
        "oldest": db_time(now - timedelta(days=model.lookback_days), dialect),
        "now": db_time(now, dialect),
    }
    details = []
    for n, (prop, detailed) in enumerate(plan.details):
        params[f"p{n}"] = json_key(prop, dialect)
        events_in = _in_list(f"d{n}_", sorted(detailed), params)
        details.append(
            f"CASE WHEN event IN ({events_in}) THEN {text_property_sql(dialect, f'p{n}')} END"
        )
    weight = "NULL"
    if plan.weighted:
        params |= {"grace": float(model.decay.grace_days), "half": model.decay.half_life_days}
        params["now_number"] = decay_clock(now, dialect)
        weighted_in = _in_list("we", sorted(plan.weighted_events), params)
        weight = f"CASE WHEN event IN ({weighted_in}) THEN {decay_weight_sql(dialect)} END"
    counts = []
    for n, days in enumerate(plan.windows):
        params[f"c{n}"] = db_time(now - timedelta(days=days), dialect)
        counts.append(f"COUNT(*) FILTER (WHERE occurred_at > :c{n})")
    weights = []
    for n, weighted_days in enumerate(plan.weighted):
        if weighted_days is None:
            weights.append("COALESCE(SUM(weight), 0.0)")
        else:
            params[f"w{n}"] = db_time(now - timedelta(days=weighted_days), dialect)
            weights.append(f"COALESCE(SUM(weight) FILTER (WHERE occurred_at > :w{n}), 0.0)")
    detail_columns = "".join(f", d{n}" for n in range(len(details)))
    for chunk in _chunks(account_ids):
        chunk_params = dict(params)
        sql = (
            f"SELECT account_id, event, person_id{detail_columns}, MAX(occurred_at),"  # noqa: S608
            f" {', '.join(['COUNT(*)', *counts, *weights])}"
            " FROM (SELECT account_id, event, person_id, occurred_at,"
            f" {weight} AS weight{''.join(f', {d} AS d{n}' for n, d in enumerate(details))}"
            " FROM events"
            f" WHERE account_id IN ({_in_list('a', chunk, chunk_params)})"
            f" AND kind IN ({_in_list('k', SIGNAL_KINDS, chunk_params)})"
            f" AND event IN ({_in_list('e', plan.events, chunk_params)})"
            " AND occurred_at >= :oldest AND occurred_at <= :now) AS signals"
            f" GROUP BY account_id, event, person_id{detail_columns}"
        )
        # Columns: account_id, event, person_id, *details, newest, *counts, *weights.
        newest = 3 + len(details)
        weights_from = newest + 2 + len(plan.windows)
        rows = await fetch_rows_at_once(
            conn,
            sql,
            chunk_params,
            width=weights_from + len(plan.weighted),
            reals=range(weights_from, weights_from + len(plan.weighted)),
        )
        for row in rows:
            found[row[0]].append(
                Tally(
                    row[1],
                    row[2],
                    tuple(row[3:newest]),
                    utc_from_db(row[newest]),
                    tuple(row[newest + 1 : weights_from]),
                    tuple(row[weights_from:]),
                )
            )
    return found


def _in_list(prefix: str, values: Iterable[Any], params: dict[str, Any]) -> str:
    """Placeholders `:prefix0, :prefix1, …` for `values`, which are added to `params`.
    Only these generated names are formatted into SQL text; every value is a parameter."""
    names = []
    for n, value in enumerate(values):
        params[f"{prefix}{n}"] = value
        names.append(f":{prefix}{n}")
    return ", ".join(names)


_NO_PROPERTIES: Mapping[str, Any] = MappingProxyType({})


def _properties(value: Any) -> Mapping[str, Any]:
    if value is None or value in ("{}", "null"):
        return _NO_PROPERTIES
    if isinstance(value, str):
        return _JSONObject(value)
    return cast(Mapping[str, Any], value)


class _JSONObject(Mapping[str, Any]):
    """A signal's properties, decoded from their JSON text on first use. Scoring reads the
    properties of few signals (the rules with a `detail_property`); decoding every row
    cost a fifth of a full rescore."""

    __slots__ = ("_text", "_value")

    def __init__(self, text: str) -> None:
        self._text = text
        self._value: dict[str, Any] | None = None

    def _decoded(self) -> dict[str, Any]:
        if self._value is None:
            value = json.loads(self._text)
            self._value = value if isinstance(value, dict) else {}
        return self._value

    def __getitem__(self, key: str) -> Any:
        return self._decoded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())

    def __repr__(self) -> str:
        return repr(self._decoded())


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
    conn: AsyncConnection, which: Iterable[int] | Select[Any] | Literal["every account"]
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
    else:
        for chunk in _chunks(sorted(set(which))):
            await conn.execute(bump.where(accounts.c.id.in_(chunk)))


async def due_accounts(
    conn: AsyncConnection, after_id: int, *, limit: int, everything: bool = False
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


async def count_due(conn: AsyncConnection, *, everything: bool = False) -> int:
    """How many accounts `due_accounts` would walk through."""
    query = select(func.count()).select_from(accounts)
    if not everything:
        query = query.where(_CHANGED_SINCE_SCORED)
    return int((await conn.execute(query)).scalar_one())


async def scored_marks(
    conn: AsyncConnection, account_ids: Sequence[int]
) -> dict[int, tuple[int, datetime | None]]:
    """(scored_version, scored_at) per account: what changes whenever it is rescored.
    Read under the write lock (`dialect.lock_for_writing`), it tells which accounts
    another rescorer wrote since they were read."""
    found: dict[int, tuple[int, datetime | None]] = {}
    for chunk in _chunks(account_ids):
        result = await conn.execute(
            select(accounts.c.id, accounts.c.scored_version, scores.c.scored_at)
            .outerjoin(scores, scores.c.account_id == accounts.c.id)
            .where(accounts.c.id.in_(chunk))
        )
        found.update({r.id: (r.scored_version, r.scored_at) for r in result})
    return found


@dataclass(frozen=True, slots=True)
class CurrentScore:
    """An account's stored score row, and whether signals arrived since it was scored."""

    score: int
    raw_points: float
    track: str
    dimensions: tuple[float, float, float, float]  # fit, product, marketing, timing
    evidence: list[dict[str, Any]]
    contact: dict[str, Any] | None
    model_name: str
    scored_at: datetime
    up_to_date: bool  # no signal since: scored_version has caught up with signal_version


async def current_score(conn: AsyncConnection, account_id: int) -> CurrentScore | None:
    row = (
        await conn.execute(
            select(scores, accounts.c.signal_version, accounts.c.scored_version)
            .join(accounts, accounts.c.id == scores.c.account_id)
            .where(scores.c.account_id == account_id)
        )
    ).one_or_none()
    if row is None:
        return None
    return CurrentScore(
        score=row.score,
        raw_points=row.raw_points,
        track=row.track,
        dimensions=(row.fit, row.product, row.marketing, row.timing),
        evidence=row.evidence,
        contact=row.contact,
        model_name=row.model_name,
        scored_at=row.scored_at,
        up_to_date=row.scored_version >= row.signal_version,
    )


async def erasures_so_far(conn: AsyncConnection) -> int:
    """How many erasures (`tipoff forget`) have been made: a rescorer that reads it with
    its batch and again before writing knows whether one came in between."""
    return int((await conn.execute(select(func.count()).select_from(erasures))).scalar_one())


async def signal_versions(conn: AsyncConnection, account_ids: Sequence[int]) -> dict[int, int]:
    """Each account's signal_version: it changes with every signal stored and every
    erasure that touched the account."""
    found: dict[int, int] = {}
    for chunk in _chunks(account_ids):
        result = await conn.execute(
            select(accounts.c.id, accounts.c.signal_version).where(accounts.c.id.in_(chunk))
        )
        found.update({r.id: r.signal_version for r in result})
    return found


async def stored_scores(
    conn: AsyncConnection, account_ids: Sequence[int]
) -> dict[int, StoredScore]:
    """Read with `fetch_rows_at_once`: rescoring reads them while it scores."""
    found: dict[int, StoredScore] = {}
    for chunk in _chunks(account_ids):
        params: dict[str, Any] = {}
        sql = (
            "SELECT account_id, score, track, scored_at FROM scores"  # noqa: S608
            f" WHERE account_id IN ({_in_list('a', chunk, params)})"
        )
        for account_id, score, track, scored_at in await fetch_rows_at_once(
            conn, sql, params, width=4
        ):
            found[account_id] = StoredScore(score, track, utc_from_db(scored_at))
    return found


async def top_scores(conn: AsyncConnection, *, limit: int = 10) -> list[TopRow]:
    """Best first: by track (a hot account outranks a monitor one whatever their scores),
    then score, then the unrounded points (two accounts at 95 may hold 95.4 and 95.2)."""
    track_rank = case({track.value: track.rank for track in Track}, value=scores.c.track, else_=-1)
    result = await conn.execute(
        select(
            *_ACCOUNT_COLUMNS,
            scores.c.score,
            scores.c.raw_points,
            scores.c.track,
            scores.c.scored_at,
        )
        .join(scores, scores.c.account_id == accounts.c.id)
        .order_by(
            track_rank.desc(), scores.c.score.desc(), scores.c.raw_points.desc(), accounts.c.id
        )
        .limit(limit)
    )
    return [TopRow(_account_row(r), r.score, r.raw_points, r.track, r.scored_at) for r in result]


async def score_history(
    conn: AsyncConnection, account_id: int, *, limit: int = 10
) -> list[tuple[datetime, int, str]]:
    """(scored_at, score, track), newest first: one entry per change of score or track."""
    result = await conn.execute(
        select(history_table.c.scored_at, history_table.c.score, history_table.c.track)
        .where(history_table.c.account_id == account_id)
        .order_by(history_table.c.scored_at.desc(), history_table.c.id.desc())
        .limit(limit)
    )
    return [(r.scored_at, r.score, r.track) for r in result]
