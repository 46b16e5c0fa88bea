"""SLA on alerts: an alert still unclaimed after its track's SLA (working hours, from the
model's `routing.sla` and `routing.working_hours`) gets a reminder in its thread; after a
second period it is escalated to TIPOFF_ESCALATION_CHANNEL.

Each step is marked in the database before it is posted (a second run, or a replica,
finds it done) and unmarked when Slack could not take it just now (an outage, a rate
limit, a dead token, which also pauses posting), so it is tried again next run: a
reminder is posted at most once, and never lost to a Slack outage. A refusal that cannot
succeed (channel_not_found, is_archived …) keeps the mark, so it is not retried every
minute, and is recorded for /healthz, /metrics and `tipoff alerts`.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from tipoff.alerts.outbox import Posted, post_or_record
from tipoff.core.workflow import add_working_hours
from tipoff.runtime import Runtime
from tipoff.slack import blocks
from tipoff.slack.install_state import may_post
from tipoff.store.alerts import (
    AwaitingClaim,
    SlaStep,
    awaiting_claim,
    mark_sla_step,
    unmark_sla_step,
)

log = logging.getLogger(__name__)


@dataclass
class SlaReport:
    reminded: int = 0
    escalated: int = 0


async def check_slas(runtime: Runtime) -> SlaReport:
    """Reminds and escalates the posted alerts whose SLA ran out; a claimed, assigned,
    CRM-owned or snoozed account's alerts are left alone."""
    report = SlaReport()
    if runtime.slack is None or not await may_post(runtime):
        return report
    now = runtime.clock()
    routing = runtime.model.routing
    async with runtime.db.transaction() as conn:
        rows = await awaiting_claim(conn, now=now)
    for row in rows:
        sla = routing.sla.get(row.track)
        if sla is None:
            continue
        remind_at = add_working_hours(row.sent_at, sla.remind_after_hours, routing.working_hours)
        if row.reminded_at is None:
            if now >= remind_at and await _remind(runtime, row, sla.remind_after_hours):
                report.reminded += 1
            continue
        escalate_at = add_working_hours(remind_at, sla.escalate_after_hours, routing.working_hours)
        channel = runtime.settings.escalation_channel
        if channel and now >= escalate_at:
            hours = sla.remind_after_hours + sla.escalate_after_hours
            if await _escalate(runtime, row, channel, hours):
                report.escalated += 1
    return report


async def _remind(runtime: Runtime, row: AwaitingClaim, hours: float) -> bool:
    label = row.name or row.domain or "this account"
    text = blocks.reminder_text(label, hours)
    return await _step(
        runtime,
        row,
        "reminded_at",
        kind="reminder",
        channel=row.channel,
        text=text,
        thread_ts=row.ts,
    )


async def _escalate(runtime: Runtime, row: AwaitingClaim, channel: str, hours: float) -> bool:
    label = row.name or row.domain or "An account"
    text = blocks.escalation_text(
        label, track=row.track, score=row.score, hours=hours, alert_channel=row.channel
    )
    return await _step(runtime, row, "escalated_at", kind="escalation", channel=channel, text=text)


async def _step(
    runtime: Runtime,
    row: AwaitingClaim,
    step: SlaStep,
    *,
    kind: str,
    channel: str,
    text: str,
    thread_ts: str | None = None,
) -> bool:
    async with runtime.db.transaction() as conn:
        if not await mark_sla_step(conn, row.id, step, at=runtime.clock()):
            return False  # claimed meanwhile, or done by another run
    thread = {} if thread_ts is None else {"thread_ts": thread_ts}
    posted = await post_or_record(
        runtime,
        kind=kind,
        subject=str(row.id),
        channel=channel,
        undo=functools.partial(unmark_sla_step, alert_id=row.id, step=step),
        text=text,
        **thread,
    )
    return posted is Posted.YES
