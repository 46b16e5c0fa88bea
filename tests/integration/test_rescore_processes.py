"""A long pass on SQLite is scored by worker processes (TIPOFF_RESCORE_PROCESSES). It must
store exactly what scoring in the serving process stores: scores, history and alerts."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests import seed
from tests.conftest import NOW
from tests.fakes.slack_bot import Clock
from tipoff.runtime import Runtime
from tipoff.scores.rescoring import IN_PROCESSES_FROM, RescoreSummary, rescore
from tipoff.settings import Settings
from tipoff.startup import build_runtime
from tipoff.store.tables import alerts, score_history, scores

ACCOUNTS = 48
BATCH = 2  # 24 batches: a pass long enough for processes (IN_PROCESSES_FROM)


async def _populated(path: Path, processes: int) -> Runtime:
    """The same 48 accounts in a fresh SQLite file: hot, nurturing, gone quiet."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=f"sqlite+aiosqlite:///{path}", rescore_processes=processes
    )
    runtime = await build_runtime(settings)
    runtime.clock = Clock(NOW)
    async with runtime.db.transaction() as conn:
        for n in range(ACCOUNTS):
            if n % 3 == 0:
                await seed.hot_acme(conn, NOW, f"acme{n}.io", f"Acme {n}")
                continue
            account = await seed.account(conn, NOW, f"beta{n}.dev", f"Beta {n}", employees=40 + n)
            lee = await seed.person(conn, NOW, account, "Lee Park", f"lee@beta{n}.dev", "CTO")
            if n % 3 == 1:
                await seed.signal(conn, NOW - timedelta(days=n % 5), account, lee, "Demo Requested")
                await seed.signal(
                    conn, NOW - timedelta(hours=n), account, None, "Pricing Page Viewed"
                )
            else:
                await seed.signal(
                    conn, NOW - timedelta(days=40 + n), account, lee, "Session Started"
                )
    return runtime


async def _stored(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    async with runtime.db.transaction() as conn:
        return {
            "scores": [
                tuple(r) for r in await conn.execute(select(scores).order_by(scores.c.account_id))
            ],
            "history": [
                tuple(r)
                for r in await conn.execute(
                    select(score_history).order_by(score_history.c.account_id, score_history.c.id)
                )
            ],
            "alerts": [
                (r.account_id, r.track, r.score, r.reason, r.text, r.target, r.status)
                for r in await conn.execute(
                    select(alerts).order_by(alerts.c.account_id, alerts.c.id)
                )
            ],
        }


def _said(summary: RescoreSummary) -> tuple[int, int, dict[str, int]]:
    return summary.scored, summary.alerts_queued, dict(summary.tracks)


async def test_worker_processes_store_what_the_serving_process_would(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert ACCOUNTS // BATCH >= IN_PROCESSES_FROM
    caplog.set_level(logging.INFO, logger="tipoff.scores.rescoring")
    here = await _populated(tmp_path / "here.db", processes=0)
    workers = await _populated(tmp_path / "workers.db", processes=2)
    try:
        for later in (timedelta(0), timedelta(days=10)):  # the first pass, then decay
            here.clock = workers.clock = Clock(NOW + later)
            caplog.clear()
            in_process = await rescore(here, everything=True, batch_size=BATCH)
            assert "worker processes" not in caplog.text
            in_workers = await rescore(workers, everything=True, batch_size=BATCH)
            assert "scoring 48 accounts in 2 worker processes" in caplog.text
            assert in_process.scored == ACCOUNTS
            assert _said(in_workers) == _said(in_process)
            assert await _stored(workers) == await _stored(here)
        stored = await _stored(workers)
        assert stored["alerts"] and {t for _, t, *_ in stored["alerts"]} >= {"hot"}
        assert len(stored["history"]) > ACCOUNTS  # the second pass moved some scores
    finally:
        await here.close()
        await workers.close()


async def test_a_short_pass_is_scored_in_the_serving_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tipoff.scores.rescoring")
    runtime = await _populated(tmp_path / "short.db", processes=2)
    try:
        summary = await rescore(runtime, everything=True)  # one batch
        assert summary.scored == ACCOUNTS
        assert "worker processes" not in caplog.text
    finally:
        await runtime.close()
