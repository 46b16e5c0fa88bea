"""The scores and score_history tables: each account's current score row (how a
ScoreResult is written to it and read back, the best ones for `tipoff top`), and the
appended history of how scores moved, as digests, lookups and sparklines read it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, select

from tipoff.core.routing import Dimensions, Track
from tipoff.core.scoring import Contact, Evidence, ScoreResult
from tipoff.core.scoring_model import ScoringModel
from tipoff.store.accounts import ACCOUNT_ROW_COLUMNS, AccountRow, account_row
from tipoff.store.db import Connection
from tipoff.store.dialect import (
    chunks,
    fetch_rows_at_once,
    in_list,
    insert_many,
    insert_many_values,
    json_and_time_as_stored,
    upsert_rows,
    utc_from_db,
)
from tipoff.store.tables import accounts, scores
from tipoff.store.tables import score_history as history_table

# A scores row as rescoring writes it: its values in SCORE_COLUMNS order.
ScoreRow = tuple[Any, ...]

SCORE_COLUMNS = (
    "account_id",
    "score",
    "raw_points",
    "track",
    "fit",
    "product",
    "marketing",
    "timing",
    "evidence",
    "contact",
    "model_name",
    "scored_at",
)
ACCOUNT_ID = SCORE_COLUMNS.index("account_id")  # a ScoreRow's account id
TRACK = SCORE_COLUMNS.index("track")  # a ScoreRow's track


@dataclass(frozen=True, slots=True)
class ScoreChange:
    """A score history entry: the account's score or track changed at `at`."""

    account_id: int
    score: int
    track: str
    at: datetime


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


async def current_score(conn: Connection, account_id: int) -> CurrentScore | None:
    row = (
        await conn.execute(
            select(scores, accounts.c.signal_version, accounts.c.scored_version)
            .join(accounts, accounts.c.id == scores.c.account_id)
            .where(scores.c.account_id == account_id)
        )
    ).one_or_none()
    return None if row is None else current_score_of(row)


def current_score_of(row: Any) -> CurrentScore:
    """A row of the scores table's columns with its account's signal_version and
    scored_version, as a CurrentScore."""
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


def score_row_maker(
    model: ScoringModel, scored_at: datetime, dialect: str
) -> Callable[[ScoreResult], ScoreRow]:
    """Makes the scores rows of results scored at `scored_at`, as `upsert_rows` wants them
    on `dialect`: their JSON and time values are encoded by whoever calls it (a rescoring
    worker process), and the time once for all of them."""
    as_stored = json_and_time_as_stored(dialect)
    return functools.partial(
        _score_row, model=model, scored_at=as_stored(scored_at), as_stored=as_stored
    )


def _score_row(
    result: ScoreResult, *, model: ScoringModel, scored_at: Any, as_stored: Callable[[Any], Any]
) -> ScoreRow:
    """A scores row, its JSON and time values `as_stored`."""
    d = result.dimensions
    contact = result.contact
    evidence = [
        {
            "rule": e.rule_id,
            "dimension": e.dimension,
            "points": e.points,
            "text": e.text,
            "people": list(e.person_ids),
            "at": e.at.isoformat() if e.at is not None else None,
        }
        for e in result.evidence
    ]
    return (
        result.account_id,
        result.score,
        result.raw_points,
        result.track.value,
        d.fit,
        d.product,
        d.marketing,
        d.timing,
        as_stored(evidence),
        as_stored(
            None
            if contact is None
            else {
                "person_id": contact.person_id,
                "label": contact.label,
                "email": contact.email,
                "why": contact.why,
            }
        ),
        model.name,
        scored_at,
    )


def stored_result(account_id: int, row: CurrentScore, model: ScoringModel) -> ScoreResult:
    """The ScoreResult a stored score row was written from (`score_row`'s inverse)."""
    evidence = tuple(
        Evidence(
            e["rule"],
            e["dimension"],
            e["points"],
            e["text"],
            tuple(e.get("people", ())),  # rows written before people and times were kept
            datetime.fromisoformat(e["at"]) if e.get("at") else None,
        )
        for e in row.evidence
    )
    contact = row.contact
    title_rules = {rule.id for rule in model.fit if rule.title_matches is not None}
    return ScoreResult(
        account_id=account_id,
        score=row.score,
        raw_points=row.raw_points,
        dimensions=Dimensions(*row.dimensions),
        track=Track(row.track),
        evidence=evidence,
        contact=None
        if contact is None
        else Contact(contact["person_id"], contact["label"], contact["email"], contact["why"]),
        title_match=any(e.rule_id in title_rules for e in evidence),
        excluded=any(e.rule_id == "excluded" for e in evidence),
    )


async def store_scores(conn: Connection, rows: Sequence[ScoreRow]) -> None:
    """Writes `rows` as the accounts' current scores, replacing any stored before."""
    await upsert_rows(conn, scores, SCORE_COLUMNS, rows, key="account_id")


async def append_history(conn: Connection, changes: Sequence[ScoreChange]) -> None:
    """Appends score history: one entry per change of an account's score or track."""
    if changes:
        # A full pass can append one for every account: straight to the driver on SQLite.
        as_time, _ = insert_many_values(conn.dialect.name)
        await insert_many(
            conn,
            history_table,
            ("account_id", "score", "track", "scored_at"),
            [(c.account_id, c.score, c.track, as_time(c.at)) for c in changes],
        )


@dataclass(frozen=True)
class ScoredAt:
    account_id: int
    score: int
    track: str
    scored_at: datetime


async def scores_between(conn: Connection, *, since: datetime, until: datetime) -> list[ScoredAt]:
    """The scores stored after `since` and up to `until`, in the order they were stored."""
    rows = await conn.execute(
        select(
            history_table.c.account_id,
            history_table.c.score,
            history_table.c.track,
            history_table.c.scored_at,
        )
        .where(history_table.c.scored_at > since, history_table.c.scored_at <= until)
        .order_by(history_table.c.scored_at, history_table.c.id)
    )
    return [ScoredAt(r.account_id, r.score, r.track, r.scored_at) for r in rows]


async def score_as_of(conn: Connection, account_id: int, at: datetime) -> tuple[int, str] | None:
    """The account's score and track as last stored at or before `at`, if any."""
    row = (
        await conn.execute(
            select(history_table.c.score, history_table.c.track)
            .where(history_table.c.account_id == account_id, history_table.c.scored_at <= at)
            .order_by(history_table.c.scored_at.desc(), history_table.c.id.desc())
            .limit(1)
        )
    ).one_or_none()
    return None if row is None else (row.score, row.track)


async def recent_history(
    conn: Connection, account_id: int, now: datetime, *, weeks: int
) -> list[tuple[datetime, int, str]]:
    """Score history for a sparkline, newest first: the last `weeks` weeks, and the
    newest entry before them (the score the first week started from)."""
    since = now - timedelta(weeks=weeks)
    rows = await conn.execute(_newest_first(account_id).where(history_table.c.scored_at >= since))
    recent = [(r.scored_at, r.score, r.track) for r in rows]
    before = (
        await conn.execute(
            _newest_first(account_id).where(history_table.c.scored_at < since).limit(1)
        )
    ).one_or_none()
    return recent + ([(before.scored_at, before.score, before.track)] if before else [])


async def stored_scores(conn: Connection, account_ids: Sequence[int]) -> dict[int, StoredScore]:
    """Read with `fetch_rows_at_once`: rescoring reads them while it scores."""
    found: dict[int, StoredScore] = {}
    for chunk in chunks(account_ids):
        params: dict[str, Any] = {}
        sql = (
            "SELECT account_id, score, track, scored_at FROM scores"  # noqa: S608
            f" WHERE account_id IN ({in_list('a', chunk, params)})"
        )
        for account_id, score, track, scored_at in await fetch_rows_at_once(
            conn, sql, params, width=4
        ):
            found[account_id] = StoredScore(score, track, utc_from_db(scored_at))
    return found


async def top_scores(conn: Connection, *, limit: int = 10) -> list[TopRow]:
    """Best first: by track (a hot account outranks a monitor one whatever their scores),
    then score, then the unrounded points (two accounts at 95 may hold 95.4 and 95.2)."""
    track_rank = case({track.value: track.rank for track in Track}, value=scores.c.track, else_=-1)
    result = await conn.execute(
        select(
            *ACCOUNT_ROW_COLUMNS,
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
    return [TopRow(account_row(r), r.score, r.raw_points, r.track, r.scored_at) for r in result]


async def score_history(
    conn: Connection, account_id: int, *, limit: int = 10
) -> list[tuple[datetime, int, str]]:
    """(scored_at, score, track), newest first: one entry per change of score or track."""
    result = await conn.execute(_newest_first(account_id).limit(limit))
    return [(r.scored_at, r.score, r.track) for r in result]


def _newest_first(account_id: int) -> Select[Any]:
    """The account's score history entries (scored_at, score, track), newest first."""
    return (
        select(history_table.c.scored_at, history_table.c.score, history_table.c.track)
        .where(history_table.c.account_id == account_id)
        .order_by(history_table.c.scored_at.desc(), history_table.c.id.desc())
    )
