"""Rescoring and lookups: the service every edge (scheduler, CLI, Slack) calls.

A rescore reads the accounts due (or all of them) with their signals summed by the
database (core.tally), scores each with the pure core, and in one transaction stores the
scores, appends score history on change, and queues an alert in the outbox when an
account enters an alerting track (or, after its cooldown, jumps or shows a new strong
signal: core.workflow.alert_decision), addressed to its owner or to the channel of its
segment or track, and bundled when a channel would get many.

It does so batch by batch, three ways: on PostgreSQL each batch is claimed and done in
one transaction; on SQLite a batch is read and scored first and written under the write
lock; and a long pass on SQLite is read and scored by worker processes, one per core,
while this process writes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff import workflow
from tipoff.core.history import AccountHistory
from tipoff.core.opener import suggested_opener
from tipoff.core.routing import Dimensions, Track, alert_channel
from tipoff.core.scoring import Contact, Evidence, ScoreResult, score_tallies
from tipoff.core.tally import Tally
from tipoff.core.workflow import (
    BUNDLE,
    AlertReason,
    AlertStatus,
    ReasonKind,
    alert_decision,
    quiet_until,
)
from tipoff.model import ScoringModel
from tipoff.model.schema import Routing
from tipoff.runtime import Runtime
from tipoff.slack.blocks import BundleEntry, alert_message, bundle_message
from tipoff.store import queries
from tipoff.store.db import Database
from tipoff.store.dialect import (
    ROW_BY_ROW,
    lock_for_writing,
    locks_rows,
    sqlite_utc_text,
    upsert,
)
from tipoff.store.queries import AccountRow
from tipoff.store.tables import accounts, alerts, score_history, scores

log = logging.getLogger(__name__)

BATCH_SIZE = 500
IN_PROCESSES_FROM = 20  # batches: a pass this long is scored by worker processes


@dataclass
class RescoreSummary:
    scored: int = 0
    alerts_queued: int = 0
    tracks: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class Lookup:
    """What `/tipoff <text>` and `tipoff score` show: the candidates for `query`, and
    when exactly one matched, its fresh score and recent history."""

    query: str
    matches: list[AccountRow]
    suggestions: list[AccountRow] = field(default_factory=list)  # when nothing matched
    account: AccountHistory | None = None
    result: ScoreResult | None = None
    history: list[tuple[datetime, int, str]] = field(default_factory=list)
    scored_at: datetime | None = None  # when `result` is the stored score: when it was made


async def rescore(
    runtime: Runtime, *, everything: bool = False, batch_size: int = BATCH_SIZE
) -> RescoreSummary:
    """Rescores accounts changed since their last score, or every account (scores decay
    with time, so a periodic full pass moves them without new signals).

    A pass walks the accounts once in id order: one changed again meanwhile waits for the
    next pass, so accounts that keep changing cannot starve the others, and a pass ends
    however fast signals arrive."""
    pass_ = _Pass(runtime, everything, batch_size, runtime.clock(), RescoreSummary())
    summary = pass_.summary
    if locks_rows(runtime.db.dialect):
        await _rescore_claiming(pass_)
    else:
        async with runtime.db.transaction() as conn:
            first = await pass_.due_after(conn, 0)
        if not first:
            return summary  # the usual pass, every second: nothing changed
        # Only a full first page can start a pass long enough for worker processes.
        if len(first) == batch_size and (due := await _due_for_processes(pass_)):
            workers = runtime.settings.rescore_processes
            log.info("scoring %d accounts in %d worker processes", due, workers)
            await _rescore_in_processes(pass_, first)
        else:
            await _rescore_checking(pass_, first)
    if summary.scored:
        log.info("rescored %d accounts, queued %d alerts", summary.scored, summary.alerts_queued)
    return summary


@dataclass(frozen=True, slots=True)
class _Pass:
    """One rescoring pass: what each way through it (claiming, checking, in processes)
    reads from and adds to."""

    runtime: Runtime
    everything: bool
    batch_size: int
    now: datetime
    summary: RescoreSummary

    async def due_after(self, conn: AsyncConnection, after_id: int) -> list[queries.Due]:
        """The pass's next page of due accounts, those with ids above `after_id`."""
        return await queries.due_accounts(
            conn, after_id, limit=self.batch_size, everything=self.everything
        )


async def _rescore_claiming(pass_: _Pass) -> None:
    """PostgreSQL: each batch is claimed, read, scored and written in one transaction;
    replicas skip each other's claims."""
    runtime = pass_.runtime
    after_id = 0
    while True:
        async with runtime.db.transaction() as conn:
            due = await pass_.due_after(conn, after_id)
            if not due:
                return
            batch = await _read_batch(conn, runtime.model, due, pass_.now)
            await _store(conn, pass_, await _scored(batch, pass_))
        if len(due) < pass_.batch_size:
            return
        after_id = due[-1].id


async def _rescore_checking(pass_: _Pass, first: list[queries.Due]) -> None:
    """SQLite: a batch is read and scored without the write lock, which ingest needs
    meanwhile; writing takes it and leaves out any account another rescorer (a replica,
    or the other pass) wrote since. The next batch is read while this one is scored: its
    list of accounts first, before scoring starts, then its sums, people and stored
    scores, which come back in one step each (`dialect.fetch_rows_at_once`), so SQLite
    works on the other core while the scorer holds the GIL. `first` is the pass's first
    page of due accounts, listed already."""
    runtime = pass_.runtime

    async def read(
        after_id: int, listed: asyncio.Event, due: list[queries.Due] | None = None
    ) -> _Batch | None:
        try:
            async with runtime.db.transaction() as conn:
                if due is None:
                    due = await pass_.due_after(conn, after_id)
                listed.set()
                return await _read_batch(conn, runtime.model, due, pass_.now) if due else None
        finally:
            listed.set()  # also when the read failed: awaiting it raises

    batch = await read(0, asyncio.Event(), first)
    while batch is not None:
        upcoming = None
        try:
            if len(batch.due) == pass_.batch_size:
                listed = asyncio.Event()
                upcoming = asyncio.ensure_future(read(batch.due[-1].id, listed))
                # Read row by row, that list would crawl once the scorer holds the GIL.
                await listed.wait()
            await _store_unless_rescored(pass_, await _scored(batch, pass_))
        except BaseException:
            if upcoming is not None:
                upcoming.cancel()
            raise
        batch = await upcoming if upcoming is not None else None


async def _due_for_processes(pass_: _Pass) -> int:
    """How many accounts worker processes should score in this pass: none unless the
    settings allow them, the database is a SQLite file they can open too, and the pass
    is long enough to pay for starting them (importing Tipoff takes a worker about a
    second, a batch about a tenth of that)."""
    runtime = pass_.runtime
    if not runtime.settings.rescore_processes or runtime.db.sqlite_file is None:
        return 0
    async with runtime.db.transaction() as conn:
        due = await queries.count_due(conn, everything=pass_.everything)
    return due if due >= IN_PROCESSES_FROM * pass_.batch_size else 0


async def _rescore_in_processes(pass_: _Pass, first: list[queries.Due]) -> None:
    """SQLite, a long pass (from its `first` page): worker processes read and score the
    batches, each through its own connection, and this process lists and writes them as
    `_rescore_checking` does.
    A process runs Python on one core at a time; several put every core to work, and
    leave the serving process free to answer lookups and ingest meanwhile."""
    runtime = pass_.runtime
    workers = runtime.settings.rescore_processes
    pool = ProcessPoolExecutor(
        workers,
        # Not fork: this process has threads (SQLite's, the scheduler's) a child would
        # inherit mid-operation.
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(runtime.settings.database_url, runtime.model),
    )
    loop = asyncio.get_running_loop()
    in_flight: deque[asyncio.Future[_Decided]] = deque()
    due = first  # the next page to send; empty once every page is sent
    try:
        while True:
            # Two batches a worker: each has its next one while this process writes.
            while due and len(in_flight) < 2 * workers:
                in_flight.append(loop.run_in_executor(pool, _scored_in_worker, due, pass_.now))
                if len(due) < pass_.batch_size:
                    due = []
                    continue
                async with runtime.db.transaction() as conn:
                    due = await pass_.due_after(conn, due[-1].id)
            if not in_flight:
                return
            await _store_unless_rescored(pass_, await in_flight.popleft())
    finally:
        for future in in_flight:
            future.cancel()
        pool.shutdown(wait=False, cancel_futures=True)


# A worker process's own event loop, database handle and model (set by `_start_worker`).
_worker: tuple[asyncio.AbstractEventLoop, Database, ScoringModel] | None = None


def _start_worker(database_url: str, model: ScoringModel) -> None:
    global _worker
    _worker = (asyncio.new_event_loop(), Database(database_url), model)


def _scored_in_worker(due: list[queries.Due], now: datetime) -> _Decided:
    assert _worker is not None, "_start_worker runs first in every worker process"
    loop, db, model = _worker
    return loop.run_until_complete(_read_and_scored(db, model, due, now))


async def _read_and_scored(
    db: Database, model: ScoringModel, due: list[queries.Due], now: datetime
) -> _Decided:
    try:
        async with db.transaction() as conn:
            await conn.execution_options(**{ROW_BY_ROW: True})  # nothing computes meanwhile
            batch = await _read_batch(conn, model, due, now)
    finally:
        # A worker is stopped without notice, and a pooled SQLite connection's thread
        # would keep its process from exiting.
        await db.dispose()
    return _decided(batch, model, now, db.dialect)


async def _store_unless_rescored(pass_: _Pass, decided: _Decided) -> None:
    """SQLite: stores `decided` under the write lock, leaving out any account another
    rescorer (a replica, or the other pass) wrote since it was read, and any account an
    erasure touched since: its score and alert, read before, could name the person
    erased. (An erasure is rare: the accounts whose signals changed meanwhile are left
    out with them, and all wait, still due, for the next pass.)"""
    async with pass_.runtime.db.transaction() as conn:
        await lock_for_writing(conn, accounts)
        marks = await queries.scored_marks(conn, decided.ids)
        decided = decided.unchanged_since(marks)
        if await queries.erasures_so_far(conn) != decided.erasures_seen:
            decided = decided.signals_unchanged(await queries.signal_versions(conn, decided.ids))
        await _store(conn, pass_, decided)


@dataclass(frozen=True, slots=True)
class _Batch:
    """Accounts to rescore and everything read about them in one snapshot."""

    due: list[queries.Due]
    histories: dict[int, AccountHistory]
    tallies: dict[int, list[Tally]]
    previous: dict[int, queries.StoredScore]
    memory: dict[int, workflow.Memory]
    erasures_seen: int  # queries.erasures_so_far in the same snapshot

    @property
    def ids(self) -> list[int]:
        return [d.id for d in self.due]


async def _read_batch(
    conn: AsyncConnection, model: ScoringModel, due: list[queries.Due], now: datetime
) -> _Batch:
    ids = [d.id for d in due]
    # The sums first: the longest read, and the one to overlap with scoring.
    tallies = await queries.load_tallies(conn, ids, model, now)
    return _Batch(
        due=due,
        histories=await queries.load_accounts(conn, ids),
        tallies=tallies,
        previous=await queries.stored_scores(conn, ids),
        memory=await workflow.memories(conn, ids, now),
        erasures_seen=await queries.erasures_so_far(conn),
    )


@dataclass(frozen=True, slots=True)
class _Decided:
    """A batch scored: the rows to store and the alerts to queue, each account with the
    mark (scored_version, scored_at) it had when read. All a writer needs, and small
    enough for a worker process to send back."""

    due: list[queries.Due]
    read_marks: dict[int, tuple[int, datetime | None]]
    score_rows: list[tuple[Any, ...]]  # `_score_row`s, for the backend that read the batch
    history_rows: list[dict[str, Any]]
    alerting: list[tuple[AccountHistory, ScoreResult, AlertReason]]
    erasures_seen: int

    @property
    def ids(self) -> list[int]:
        return [d.id for d in self.due]

    def unchanged_since(self, marks: dict[int, tuple[int, datetime | None]]) -> _Decided:
        """Without the accounts rescored since they were read (their `marks` differ)."""
        return self._only({i for i, mark in self.read_marks.items() if marks.get(i) == mark})

    def signals_unchanged(self, versions: dict[int, int]) -> _Decided:
        """Without the accounts whose signal_version moved past the one read."""
        return self._only({d.id for d in self.due if versions.get(d.id) == d.signal_version})

    def _only(self, kept: set[int]) -> _Decided:
        if len(kept) == len(self.due):
            return self
        return _Decided(
            due=[d for d in self.due if d.id in kept],
            read_marks={i: m for i, m in self.read_marks.items() if i in kept},
            score_rows=[r for r in self.score_rows if r[0] in kept],
            history_rows=[r for r in self.history_rows if r["account_id"] in kept],
            alerting=[a for a in self.alerting if a[1].account_id in kept],
            erasures_seen=self.erasures_seen,
        )


async def _scored(batch: _Batch, pass_: _Pass) -> _Decided:
    # Scoring is pure CPU work on plain data: a worker thread does it, so the event loop
    # keeps answering ingest and Slack while a big batch is scored.
    runtime = pass_.runtime
    return await asyncio.to_thread(_decided, batch, runtime.model, pass_.now, runtime.db.dialect)


def _decided(batch: _Batch, model: ScoringModel, now: datetime, dialect: str) -> _Decided:
    """Scores `batch`, appends score history where the score or track changed, and
    decides which accounts alert (core.workflow.alert_decision)."""
    routing = model.routing
    as_stored = _sqlite_stored if dialect == "sqlite" else _unchanged
    scored_at = as_stored(now)
    score_rows: list[tuple[Any, ...]] = []
    history_rows: list[dict[str, Any]] = []
    alerting: list[tuple[AccountHistory, ScoreResult, AlertReason]] = []
    read_marks: dict[int, tuple[int, datetime | None]] = {}
    for due in batch.due:
        account_id = due.id
        history = batch.histories[account_id]
        result = score_tallies(history, batch.tallies[account_id], model, now)
        before = batch.previous.get(account_id)
        read_marks[account_id] = (due.scored_version, before.scored_at if before else None)
        score_rows.append(_score_row(result, model, scored_at, as_stored))
        if before is None or (before.score, before.track) != (result.score, result.track.value):
            history_rows.append(
                {
                    "account_id": account_id,
                    "score": result.score,
                    "track": result.track.value,
                    "scored_at": now,
                }
            )
        known = batch.memory.get(account_id)
        reason = None
        if not result.excluded:
            reason = alert_decision(
                previous=Track(before.track) if before else None,
                current=result.track,
                score=result.score,
                strong_rules=frozenset(
                    e.rule_id for e in result.evidence if e.points >= routing.strong_signal_points
                ),
                last=known.last if known else None,
                quiet_until=quiet_until(
                    snoozed_until=known.snoozed_until if known else None,
                    wrong_at=known.wrong_at if known else None,
                    routing=routing,
                )
                if known
                else None,
                routing=routing,
                now=now,
            )
        if reason is not None:
            alerting.append((history, result, reason))
    return _Decided(batch.due, read_marks, score_rows, history_rows, alerting, batch.erasures_seen)


async def _store(conn: AsyncConnection, pass_: _Pass, decided: _Decided) -> None:
    """Stores the scores and score history of `decided` and queues its alerts."""
    if not decided.due:
        return
    runtime, now, summary = pass_.runtime, pass_.now, pass_.summary
    # Owners, sizes and regions only for the few accounts that alert.
    alerting = decided.alerting
    destination = await workflow.destinations(conn, [r.account_id for _, r, _ in alerting])
    alert_rows = [
        _alert_row(runtime, history, result, reason, destination.get(result.account_id), now)
        for history, result, reason in alerting
    ]
    dialect = conn.dialect.name
    if dialect == "sqlite":
        await conn.exec_driver_sql(_SQLITE_SCORE_UPSERT, decided.score_rows)
    else:
        await conn.execute(
            upsert(scores, dialect, key=["account_id"], update=_SCORE_COLUMNS[1:]),
            [dict(zip(_SCORE_COLUMNS, row, strict=True)) for row in decided.score_rows],
        )
    if decided.history_rows:
        await conn.execute(score_history.insert(), decided.history_rows)
    if alert_rows:
        histories = {history.id: history for history, _, _ in alerting}
        routing = runtime.model.routing
        await conn.execute(alerts.insert(), _bundled(alert_rows, histories, routing, now))
    # Record the version that was read: a signal ingested meanwhile bumped signal_version
    # past it, so the account stays due and is scored again on the next pass.
    await conn.execute(
        update(accounts)
        .where(accounts.c.id == bindparam("b_id"))
        .values(scored_version=bindparam("b_version")),
        [{"b_id": d.id, "b_version": d.signal_version} for d in decided.due],
    )
    summary.scored += len(decided.due)
    summary.alerts_queued += len(alert_rows)
    track = _SCORE_COLUMNS.index("track")
    summary.tracks.update(row[track] for row in decided.score_rows)


def _alert_row(
    runtime: Runtime,
    history: AccountHistory,
    result: ScoreResult,
    reason: AlertReason,
    known: workflow.Destination | None,
    now: datetime,
) -> dict[str, Any]:
    """An outbox row: to the owner's DM when the account has one, the segment's or
    track's channel otherwise (and as the fallback when the DM cannot be reached)."""
    message = alert_message(
        history,
        result,
        now=now,
        opener=suggested_opener(history, result),
        reason=_said(reason, result),
    )
    owner = known.owner if known else None
    return {
        "account_id": result.account_id,
        "track": result.track.value,
        "score": result.score,
        "reason": reason.text,
        "text": message.text,
        "blocks": message.blocks,
        "target": alert_channel(
            result.track,
            employees=known.employees if known else history.employees,
            region=known.region if known else None,
            routing=runtime.model.routing,
            default=runtime.settings.alert_channel,
        ),
        "owner_user_id": owner.slack_user_id if owner else None,
        "owner_email": owner.email if owner else None,
        "evidence_rules": sorted({e.rule_id for e in result.evidence if e.points > 0}),
        "status": AlertStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def _said(reason: AlertReason, result: ScoreResult) -> str:
    """The reason as a rep reads it: a new signal by its evidence sentence."""
    if reason.kind is not ReasonKind.NEW_SIGNAL:
        return reason.text
    return "New: " + "; ".join(e.text for e in result.evidence if e.rule_id in reason.rules)


def _bundled(
    rows: list[dict[str, Any]],
    histories: dict[int, AccountHistory],
    routing: Routing,
    now: datetime,
) -> list[dict[str, Any]]:
    """Alerts for a channel in one run, bundled when there are more than
    `routing.bundle_over`: one message with the best `bundle_top` and the rest summed
    up. Each account's own row is kept, as "bundled", so its cooldown counts from now."""
    by_channel: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["owner_user_id"] is None and row["owner_email"] is None:
            by_channel.setdefault(row["target"], []).append(row)
    out = [r for r in rows if r["owner_user_id"] is not None or r["owner_email"] is not None]
    for target, queued in by_channel.items():
        if len(queued) <= routing.bundle_over:
            out += queued
            continue
        queued.sort(key=lambda r: (-Track(r["track"]).rank, -r["score"], r["account_id"]))
        entries = [
            BundleEntry(
                account_id=r["account_id"],
                label=histories[r["account_id"]].label,
                domain=histories[r["account_id"]].domain,
                score=r["score"],
                track=r["track"],
            )
            for r in queued
        ]
        message = bundle_message(entries, top=routing.bundle_top, now=now)
        best = queued[0]
        out.append(
            {
                **best,
                "reason": BUNDLE.text,
                "text": message.text,
                "blocks": message.blocks,
                "evidence_rules": [],
                "target": target,
            }
        )
        out += [{**r, "status": AlertStatus.BUNDLED} for r in queued]
    return out


_SCORE_COLUMNS = [
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
]
_SQLITE_SCORE_UPSERT = (
    f"INSERT INTO scores ({', '.join(_SCORE_COLUMNS)})"  # noqa: S608 (column names only)
    f" VALUES ({', '.join('?' * len(_SCORE_COLUMNS))}) ON CONFLICT (account_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _SCORE_COLUMNS[1:])
)


def _stored_result(account_id: int, row: queries.CurrentScore, model: ScoringModel) -> ScoreResult:
    """The ScoreResult a stored score row was written from (`_score_row`'s inverse)."""
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


def _score_row(
    result: ScoreResult, model: ScoringModel, scored_at: Any, as_stored: Callable[[Any], Any]
) -> tuple[Any, ...]:
    """A scores row, in `_SCORE_COLUMNS` order, its JSON and time values `as_stored`."""
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


def _sqlite_stored(value: Any) -> Any:
    """A value as SQLAlchemy's JSON and `UTCDateTime` types store it on SQLite: JSON text
    (None too: "null"), naive UTC text. A worker process sends these back smaller than
    the objects, and the SQLite write skips SQLAlchemy's per-value processing."""
    return sqlite_utc_text(value) if isinstance(value, datetime) else json.dumps(value)


def _unchanged(value: Any) -> Any:
    return value


async def lookup(runtime: Runtime, text: str) -> Lookup:
    """Finds the account `text` names, with its score now.

    That is the stored score when no signal arrived since it was computed and it is no
    older than the full-rescore interval (the scheduler keeps every score that fresh):
    summing a big account's signals again takes far longer than a rep should wait.
    Otherwise it is scored now, from its stored signals."""
    now = runtime.clock()
    model = runtime.model
    async with runtime.db.transaction() as conn:
        matches = await queries.find_accounts(conn, text)
        if not matches:
            return Lookup(text, matches, await queries.similar_accounts(conn, text))
        if len(matches) != 1:
            return Lookup(text, matches)
        account_id = matches[0].id
        stored = await queries.current_score(conn, account_id)
        fresh_for = timedelta(seconds=runtime.settings.full_rescore_interval_seconds)
        if (
            stored is not None
            and stored.up_to_date
            and stored.model_name == model.name
            and timedelta(0) <= now - stored.scored_at <= fresh_for
        ):
            result = _stored_result(account_id, stored, model)
            scored_at: datetime | None = stored.scored_at
            named = {p for e in result.evidence for p in e.person_ids}
            if result.contact is not None:
                named.add(result.contact.person_id)
            accounts = await queries.load_accounts(conn, [account_id], only_people=named)
        else:
            accounts = await queries.load_accounts(conn, [account_id])
            tallies = await queries.load_tallies(conn, [account_id], model, now)
            result = score_tallies(accounts[account_id], tallies[account_id], model, now)
            scored_at = None
        history = await queries.score_history(conn, account_id)
    return Lookup(text, matches, [], accounts[account_id], result, history, scored_at)


async def top(runtime: Runtime, *, limit: int = 10) -> list[queries.TopRow]:
    async with runtime.db.transaction() as conn:
        return await queries.top_scores(conn, limit=limit)
