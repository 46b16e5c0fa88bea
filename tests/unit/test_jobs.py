"""Scheduled jobs: a failure is logged and the scheduler keeps going; a shutdown that
stops a job mid-run (a full rescore can take a minute) is not reported as a failure."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tipoff.jobs import _guarded


async def test_a_job_stopped_by_shutdown_logs_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    started = asyncio.Event()

    async def long_pass() -> None:
        started.set()
        await asyncio.sleep(60)

    caplog.set_level(logging.INFO, logger="tipoff.jobs")
    task = asyncio.create_task(_guarded("rescore-all", long_pass)())
    await started.wait()
    task.cancel()
    await task  # ends quietly: nothing for the scheduler to report
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "scheduled job rescore-all stopped by shutdown")
    ]


async def test_a_failing_job_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken() -> None:
        raise RuntimeError("database is gone")

    await _guarded("deliver", broken)()
    (record,) = caplog.records
    assert record.levelname == "ERROR" and record.exc_info is not None
    assert "deliver failed" in record.getMessage()
