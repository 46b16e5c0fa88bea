"""The rescoring pass: the service the scheduler and the CLI call.

A rescore reads the accounts due (or all of them) with their signals summed by the
database (core.tally), scores each with the pure core, and in one transaction stores the
scores, appends score history on change, and queues an alert in the outbox when an
account enters an alerting track (or, after its cooldown, jumps or shows a new strong
signal: core.workflow.alert_decision), as tipoff.alerts.queue lays it out, addresses
and bundles it.

It does so batch by batch, three ways: on PostgreSQL each batch is claimed and done in
one transaction; on SQLite a batch is read and scored first and written under the write
lock; and a long pass on SQLite is read and scored by worker processes, one per core,
while this process writes.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
from collections import Counter, deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from tipoff import reps
from tipoff.alerts import queue
from tipoff.core.history import AccountHistory
from tipoff.core.routing import Track
from tipoff.core.scoring import score_tallies
from tipoff.core.tally import Tally
from tipoff.core.workflow import alert_decision, quiet_until
from tipoff.model import ScoringModel
from tipoff.runtime import Runtime
from tipoff.store import accounts, erasures, histories, scores
from tipoff.store.alerts import queue_alerts
from tipoff.store.db import Connection, Database
from tipoff.store.scores import ScoreChange, ScoreRow

log = logging.getLogger(__name__)

BATCH_SIZE = 500
IN_PROCESSES_FROM = 20  # batches: a pass this long is scored by worker processes


@dataclass
class RescoreSummary:
    scored: int = 0
    alerts_queued: int = 0
    tracks: Counter[str] = field(default_factory=Counter)


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
    if runtime.db.locks_rows:
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

    async def due_after(self, conn: Connection, after_id: int) -> list[accounts.Due]:
        """The pass's next page of due accounts, those with ids above `after_id`."""
        return await accounts.due_accounts(
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


async def _rescore_checking(pass_: _Pass, first: list[accounts.Due]) -> None:
    """SQLite: a batch is read and scored without the write lock, which ingest needs
    meanwhile; writing takes it and leaves out any account another rescorer (a replica,
    or the other pass) wrote since. The next batch is read while this one is scored: its
    list of accounts first, before scoring starts, then its sums, people and stored
    scores, which come back in one step each (`dialect.fetch_rows_at_once`), so SQLite
    works on the other core while the scorer holds the GIL. `first` is the pass's first
    page of due accounts, listed already."""
    runtime = pass_.runtime

    async def read(
        after_id: int, listed: asyncio.Event, due: list[accounts.Due] | None = None
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
        due = await accounts.count_due(conn, everything=pass_.everything)
    return due if due >= IN_PROCESSES_FROM * pass_.batch_size else 0


async def _rescore_in_processes(pass_: _Pass, first: list[accounts.Due]) -> None:
    """SQLite, a long pass (from its `first` page): worker processes read and score the
    batches, each through its own connection, and this process lists and writes them as
    `_rescore_checking` does.
    A process runs Python on one core at a time; several put every core to work, and
    leave the serving process free to answer lookups and ingest meanwhile."""
    runtime = pass_.runtime
    workers = runtime.settings.rescore_processes
    pool = ProcessPoolExecutor(
        workers,
        mp_context=_worker_context(),
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


def _worker_context() -> multiprocessing.context.BaseContext:
    """How worker processes start: forked from multiprocessing's fork server, a process
    started once that has imported the scoring code, so a pass no longer waits for each
    worker to import Tipoff (half a second to a second a process, every pass). Not forked
    from this process: it has threads (SQLite's, the scheduler's) a child would inherit
    mid-operation; the fork server has none. Spawned where there is no fork server."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])  # read when the fork server starts
    return context


# A worker process's own event loop, database handle and model (set by `_start_worker`).
_worker: tuple[asyncio.AbstractEventLoop, Database, ScoringModel] | None = None


# Objects allocated (net) before a worker's youngest-generation collection; CPython's
# default is 700. A worker's batch leaves next to no cyclic garbage (its objects go when
# their references do), and a medium pass never reaches this many.
_WORKER_YOUNGEST_THRESHOLD = 50_000


def _start_worker(database_url: str, model: ScoringModel) -> None:
    global _worker
    _worker = (asyncio.new_event_loop(), Database(database_url), model)
    # As the server does (server._settled_garbage_collector): what the worker holds from
    # its start (the fork server's imports, the model) lives as long as the worker and is
    # left out of the collector's scans, which run less often. With CPython's defaults, a
    # medium pass's collections took 0.94 s of its two workers' CPU (about 950 in each,
    # 7 of them full); now 0.24 s, nearly all before this runs or in the collect below.
    gc.collect()
    gc.freeze()
    gc.set_threshold(_WORKER_YOUNGEST_THRESHOLD, *gc.get_threshold()[1:])


def _scored_in_worker(due: list[accounts.Due], now: datetime) -> _Decided:
    assert _worker is not None, "_start_worker runs first in every worker process"
    loop, db, model = _worker
    return loop.run_until_complete(_read_and_scored(db, model, due, now))


async def _read_and_scored(
    db: Database, model: ScoringModel, due: list[accounts.Due], now: datetime
) -> _Decided:
    try:
        async with db.transaction(row_by_row=True) as conn:  # nothing computes meanwhile
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
        await accounts.lock_accounts_for_writing(conn)
        marks = await accounts.scored_marks(conn, decided.ids)
        decided = decided.unchanged_since(marks)
        if await erasures.erasures_so_far(conn) != decided.erasures_seen:
            decided = decided.signals_unchanged(await accounts.signal_versions(conn, decided.ids))
        await _store(conn, pass_, decided)


@dataclass(frozen=True, slots=True)
class _Batch:
    """Accounts to rescore and everything read about them in one snapshot."""

    due: list[accounts.Due]
    histories: dict[int, AccountHistory]
    tallies: dict[int, list[Tally]]
    previous: dict[int, scores.StoredScore]
    memory: dict[int, reps.Memory]
    erasures_seen: int  # erasures.erasures_so_far in the same snapshot

    @property
    def ids(self) -> list[int]:
        return [d.id for d in self.due]


async def _read_batch(
    conn: Connection, model: ScoringModel, due: list[accounts.Due], now: datetime
) -> _Batch:
    ids = [d.id for d in due]
    # The sums first: the longest read, and the one to overlap with scoring.
    tallies = await histories.load_tallies(conn, ids, model, now)
    return _Batch(
        due=due,
        histories=await histories.load_accounts(conn, ids),
        tallies=tallies,
        previous=await scores.stored_scores(conn, ids),
        memory=await reps.memories(conn, ids, now),
        erasures_seen=await erasures.erasures_so_far(conn),
    )


@dataclass(frozen=True, slots=True)
class _Decided:
    """A batch scored: the rows to store and the alerts to queue, each account with the
    mark (scored_version, scored_at) it had when read. All a writer needs, and small
    enough for a worker process to send back."""

    due: list[accounts.Due]
    read_marks: dict[int, tuple[int, datetime | None]]
    score_rows: list[ScoreRow]  # as stored by the backend that read the batch
    history_rows: list[ScoreChange]
    alerts: list[queue.LaidOut]  # laid out where scored: the writer only addresses them
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
            score_rows=[r for r in self.score_rows if r[scores.ACCOUNT_ID] in kept],
            history_rows=[r for r in self.history_rows if r.account_id in kept],
            alerts=[a for a in self.alerts if a.account_id in kept],
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
    score_row = scores.score_row_maker(model, now, dialect)
    score_rows: list[ScoreRow] = []
    history_rows: list[ScoreChange] = []
    alerting: list[queue.Alerting] = []
    read_marks: dict[int, tuple[int, datetime | None]] = {}
    for due in batch.due:
        account_id = due.id
        history = batch.histories[account_id]
        result = score_tallies(history, batch.tallies[account_id], model, now)
        before = batch.previous.get(account_id)
        read_marks[account_id] = (due.scored_version, before.scored_at if before else None)
        score_rows.append(score_row(result))
        if before is None or (before.score, before.track) != (result.score, result.track.value):
            history_rows.append(ScoreChange(account_id, result.score, result.track.value, now))
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
    alerts = queue.laid_out(alerting, now=now)
    return _Decided(batch.due, read_marks, score_rows, history_rows, alerts, batch.erasures_seen)


async def _store(conn: Connection, pass_: _Pass, decided: _Decided) -> None:
    """Stores the scores and score history of `decided` and queues its alerts."""
    if not decided.due:
        return
    runtime, now, summary = pass_.runtime, pass_.now, pass_.summary
    # Owners, sizes and regions only for the few accounts that alert.
    alerts = decided.alerts
    destinations = await reps.destinations(conn, [a.account_id for a in alerts])
    alert_rows = queue.outbox_rows(
        alerts,
        destinations,
        routing=runtime.model.routing,
        default_channel=runtime.settings.alert_channel,
        now=now,
    )
    await scores.store_scores(conn, decided.score_rows)
    await scores.append_history(conn, decided.history_rows)
    await queue_alerts(conn, alert_rows)
    # Record the version that was read: a signal ingested meanwhile bumped signal_version
    # past it, so the account stays due and is scored again on the next pass.
    await accounts.record_scored_versions(conn, [(d.id, d.signal_version) for d in decided.due])
    summary.scored += len(decided.due)
    summary.alerts_queued += len(alerts)  # accounts: a bundle's own row is not one
    summary.tracks.update(row[scores.TRACK] for row in decided.score_rows)
