"""`/tipoff stats`: the quality report of the last 90 days, as Slack shows it
(tipoff.slack.blocks.stats_message lays it out)."""

from __future__ import annotations

from datetime import timedelta

from tipoff.quality import dataset
from tipoff.quality.report import build_report, report_sections
from tipoff.runtime import Runtime
from tipoff.slack import blocks
from tipoff.slack.blocks import SlackMessage

STATS_DAYS = 90
CONVERSION_DAYS = 30


async def stats_message(runtime: Runtime) -> SlackMessage:
    now = runtime.clock()
    since = now - timedelta(days=STATS_DAYS)
    async with runtime.db.transaction() as conn:
        data = await dataset.load(
            conn, since=since, lookback=timedelta(days=runtime.model.lookback_days)
        )
    report = build_report(data, runtime.model, since=since, now=now, days=CONVERSION_DAYS)
    return blocks.stats_message(
        days=STATS_DAYS,
        since=report.since,
        model_name=report.model_name,
        alerts=sum(report.alerts_by_track.values()),
        precision=report.precision.describe(),
        sections=report_sections(report),
    )
