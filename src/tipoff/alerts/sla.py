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

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.sql.elements import ColumnElement

from tipoff.alerts.outbox import Posted, post_or_record
from tipoff.core.workflow import BUNDLE, AlertStatus, add_working_hours
from tipoff.runtime import Runtime
from tipoff.slack import blocks
from tipoff.slack.install import may_post
from tipoff.store.tables import accounts, alerts, snoozes
from tipoff.workflow import owned_accounts

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
        owned = owned_accounts()
        sleeping = select(snoozes.c.account_id).where(snoozes.c.until > now)
        rows = (
            await conn.execute(
                select(
                    alerts.c.id,
                    alerts.c.track,
                    alerts.c.score,
                    alerts.c.channel,
                    alerts.c.ts,
                    alerts.c.sent_at,
                    alerts.c.reminded_at,
                    alerts.c.escalated_at,
                    accounts.c.name,
                    accounts.c.domain,
                )
                .join(accounts, accounts.c.id == alerts.c.account_id)
                .where(
                    alerts.c.status == AlertStatus.SENT,
                    alerts.c.reason != BUNDLE.text,
                    alerts.c.claimed_at.is_(None),
                    alerts.c.escalated_at.is_(None),
                    alerts.c.account_id.not_in(owned),
                    alerts.c.account_id.not_in(sleeping),
                )
                .order_by(alerts.c.id)
            )
        ).all()
    for row in rows:
        sla = routing.sla.get(row.track)
        if sla is None or row.sent_at is None or row.ts is None:
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


async def _remind(runtime: Runtime, row: Any, hours: float) -> bool:
    label = row.name or row.domain or "this account"
    text = blocks.reminder_text(label, hours)
    return await _step(
        runtime,
        row,
        alerts.c.reminded_at,
        kind="reminder",
        channel=row.channel,
        text=text,
        thread_ts=row.ts,
    )


async def _escalate(runtime: Runtime, row: Any, channel: str, hours: float) -> bool:
    label = row.name or row.domain or "An account"
    text = blocks.escalation_text(
        label, track=row.track, score=row.score, hours=hours, alert_channel=row.channel
    )
    return await _step(
        runtime, row, alerts.c.escalated_at, kind="escalation", channel=channel, text=text
    )


async def _step(
    runtime: Runtime,
    row: Any,
    column: Any,
    *,
    kind: str,
    channel: str,
    text: str,
    thread_ts: str | None = None,
) -> bool:
    now = runtime.clock()
    unmarked: ColumnElement[bool] = column.is_(None)
    async with runtime.db.transaction() as conn:
        marked = await conn.execute(
            update(alerts)
            .where(alerts.c.id == row.id, unmarked, alerts.c.claimed_at.is_(None))
            .values({column.key: now})
        )
        if marked.rowcount != 1:
            return False  # claimed meanwhile, or done by another run
    thread = {} if thread_ts is None else {"thread_ts": thread_ts}
    posted = await post_or_record(
        runtime,
        kind=kind,
        subject=str(row.id),
        channel=channel,
        undo=update(alerts).where(alerts.c.id == row.id).values({column.key: None}),
        text=text,
        **thread,
    )
    return posted is Posted.YES
