"""Scheduled work inside `tipoff serve`: rescoring, alert delivery, the rep workflow
(SLA reminders and escalations, the daily digest), owners deactivated in Slack, and the CRM
sync (when a CRM is configured).

Each job runs at most once at a time (a slow run is skipped, not stacked) and its errors
are logged with the traceback and never stop the scheduler."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from tipoff.alerts.delivery import deliver_pending_alerts
from tipoff.alerts.digest import send_digests
from tipoff.alerts.sla import check_slas
from tipoff.crm_sync import SyncReport, sync_crm
from tipoff.privacy import prune_signals
from tipoff.reps import lapse_deactivated_owners
from tipoff.runtime import Runtime
from tipoff.scores.rescoring import rescore
from tipoff.startup import crm_client, crm_configured

log = logging.getLogger(__name__)


def _guarded(name: str, job: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            await job()
        except asyncio.CancelledError:
            # Shutdown stopped it mid-run: its open transaction rolls back, and the next
            # start picks the work up again. Not a failure worth a traceback.
            log.info("scheduled job %s stopped by shutdown", name)
        except Exception:
            log.exception("scheduled job %s failed; it will run again at its next interval", name)

    return run


def build_scheduler(runtime: Runtime) -> AsyncIOScheduler:
    settings = runtime.settings
    scheduler = AsyncIOScheduler(
        timezone="UTC", job_defaults={"max_instances": 1, "coalesce": True}
    )
    scheduler.add_job(
        _guarded("rescore", lambda: _timed(runtime, "changed", rescore(runtime))),
        "interval",
        seconds=settings.rescore_interval_seconds,
        id="rescore-changed",
        name="rescore changed accounts",
        next_run_time=runtime.clock(),
    )
    scheduler.add_job(
        _guarded("rescore-all", lambda: _timed(runtime, "all", rescore(runtime, everything=True))),
        "interval",
        seconds=settings.full_rescore_interval_seconds,
        id="rescore-all",
        name="rescore all accounts",
    )
    scheduler.add_job(
        _guarded("deliver", lambda: deliver_pending_alerts(runtime)),
        "interval",
        seconds=settings.delivery_interval_seconds,
        id="deliver-alerts",
        name="deliver alerts",
        next_run_time=runtime.clock(),
    )
    scheduler.add_job(
        _guarded("workflow", lambda: run_workflow(runtime)),
        "interval",
        seconds=settings.workflow_interval_seconds,
        id="rep-workflow",
        name="SLA reminders and daily digests",
    )
    scheduler.add_job(
        _guarded("owners", lambda: lapse_deactivated_owners(runtime)),
        "interval",
        hours=6,
        id="check-owners",
        name="end the claims of owners deactivated in Slack",
    )
    if crm_configured(settings):
        scheduler.add_job(
            _guarded("crm-sync", lambda: run_crm_sync(runtime)),
            "interval",
            minutes=settings.crm_sync_minutes,
            id="crm-sync",
            name="sync scores, owners and deals with the CRM",
            next_run_time=runtime.clock(),
        )
    if settings.retention_days is not None:
        scheduler.add_job(
            _guarded("retention", lambda: apply_retention(runtime)),
            "interval",
            hours=24,
            id="retention",
            name="delete signals past retention",
            next_run_time=runtime.clock(),
        )
    return scheduler


async def run_crm_sync(runtime: Runtime, *, dry_run: bool = False) -> SyncReport | None:
    """One CRM sync with the configured CRM (None when there is none), its client closed
    after it."""
    client = crm_client(runtime.settings)
    if client is None:
        return None
    try:
        report = await sync_crm(runtime, client, dry_run=dry_run)
    finally:
        await client.aclose()
    log.info(
        "CRM sync (%s): %d written, %d unchanged, %d refused, %d unmatched, %d duplicates,"
        " %d outcomes, %d owners%s",
        report.crm,
        len(report.written),
        report.unchanged,
        len(report.refused),
        len(report.unmatched),
        len(report.duplicates),
        report.outcomes,
        len(report.owners),
        "; stopped: " + report.stopped if report.stopped else "",
    )
    return report


async def _timed(runtime: Runtime, scope: str, work: Awaitable[Any]) -> None:
    started = time.perf_counter()
    await work
    runtime.metrics.rescore_seconds.labels(scope).observe(time.perf_counter() - started)


async def apply_retention(runtime: Runtime) -> int:
    """Deletes signals older than TIPOFF_RETENTION_DAYS; their accounts get rescored."""
    days = runtime.settings.retention_days
    if days is None:
        return 0
    async with runtime.db.transaction() as conn:
        deleted = await prune_signals(conn, older_than=runtime.clock() - timedelta(days=days))
    if deleted:
        log.info("retention: deleted %d signals older than %d days", deleted, days)
    return deleted


async def run_workflow(runtime: Runtime) -> None:
    """One pass of the rep workflow's timers: SLAs first, then the digest."""
    await check_slas(runtime)
    await send_digests(runtime)
