"""An account's history as the core scores it: the account with its people
(`load_accounts`), with every signal (`load_histories`, for replays), or with its signals
summed in the database (`load_tallies`, for rescoring). Each read takes the connection of
the caller's unit of work, so it runs inside the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, cast

from tipoff.core.history import AccountHistory, Person, Signal
from tipoff.core.scoring_model import ScoringModel
from tipoff.core.tally import Tally, tally_plan
from tipoff.store.db import Connection
from tipoff.store.dialect import (
    chunks,
    db_time,
    decay_clock,
    decay_weight_sql,
    fetch_rows,
    fetch_rows_at_once,
    in_list,
    json_key,
    text_property_sql,
    utc_from_db,
)

# Segment calls that say something happened; identify/group/alias only describe.
SIGNAL_KINDS = ("track", "page", "screen")


async def load_accounts(
    conn: Connection, account_ids: Sequence[int], *, only_people: Iterable[int] | None = None
) -> dict[int, AccountHistory]:
    """Accounts with their people (or only those of `only_people`), without signals
    (`load_tallies` sums those). Read at once: rescoring reads them while it scores."""
    found: dict[int, AccountHistory] = {}
    for chunk in chunks(account_ids):
        params: dict[str, Any] = {}
        # Someone known by neither name nor email is named in evidence by their userId.
        sql = (
            "SELECT id, account_id, name, email, title,"  # noqa: S608
            " CASE WHEN name IS NULL AND email IS NULL THEN (SELECT min(external_id)"
            " FROM identities WHERE person_id = people.id AND kind = 'user_id') END"
            f" FROM people WHERE account_id IN ({in_list('a', chunk, params)})"
        )
        if only_people is not None:
            sql += f" AND id IN ({in_list('p', only_people, params) or 'NULL'})"
        members: dict[int, dict[int, Person]] = {account_id: {} for account_id in chunk}
        for person_id, account_id, name, email, title, user_id in await fetch_rows_at_once(
            conn, sql, params, width=6
        ):
            members[account_id][person_id] = Person(person_id, name, email, title, user_id)
        params = {}
        sql = (
            "SELECT id, domain, name, employees, industry FROM accounts"  # noqa: S608
            f" WHERE id IN ({in_list('a', chunk, params)})"
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
    conn: Connection, account_ids: Sequence[int], *, since: datetime | None = None
) -> dict[int, AccountHistory]:
    """Accounts with their people and every signal (since `since`), one by one: what
    replaying history day by day needs. Scoring now needs only `load_tallies`.

    Times are parsed by `utc_from_db`, and properties are decoded only when read
    (`_JSONObject`): a replay reads millions of rows."""
    found = await load_accounts(conn, account_ids)
    signals: dict[int, list[Signal]] = {account_id: [] for account_id in found}
    for chunk in chunks(account_ids):
        params: dict[str, Any] = {}
        sql = (
            "SELECT account_id, event, occurred_at, person_id, properties FROM events"  # noqa: S608
            f" WHERE account_id IN ({in_list('a', chunk, params)})"
            f" AND kind IN ({in_list('k', SIGNAL_KINDS, params)})"
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
    conn: Connection, account_ids: Sequence[int], model: ScoringModel, now: datetime
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
        events_in = in_list(f"d{n}_", sorted(detailed), params)
        details.append(
            f"CASE WHEN event IN ({events_in}) THEN {text_property_sql(dialect, f'p{n}')} END"
        )
    weight = "NULL"
    if plan.weighted:
        params |= {"grace": float(model.decay.grace_days), "half": model.decay.half_life_days}
        params["now_number"] = decay_clock(now, dialect)
        weighted_in = in_list("we", sorted(plan.weighted_events), params)
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
    for chunk in chunks(account_ids):
        chunk_params = dict(params)
        sql = (
            f"SELECT account_id, event, person_id{detail_columns}, MAX(occurred_at),"  # noqa: S608
            f" {', '.join(['COUNT(*)', *counts, *weights])}"
            " FROM (SELECT account_id, event, person_id, occurred_at,"
            f" {weight} AS weight{''.join(f', {d} AS d{n}' for n, d in enumerate(details))}"
            " FROM events"
            f" WHERE account_id IN ({in_list('a', chunk, chunk_params)})"
            f" AND kind IN ({in_list('k', SIGNAL_KINDS, chunk_params)})"
            f" AND event IN ({in_list('e', plan.events, chunk_params)})"
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
