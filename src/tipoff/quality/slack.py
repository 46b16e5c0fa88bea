"""`/tipoff stats`: the quality report in Slack, for the last 90 days."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tipoff.quality import dataset
from tipoff.quality.report import Report, build_report, report_sections
from tipoff.runtime import Runtime
from tipoff.slack.blocks import SlackMessage

STATS_DAYS = 90
CONVERSION_DAYS = 30
SECTION_LIMIT = 2900  # Slack's limit for a section's text is 3000 characters


async def stats_message(runtime: Runtime) -> SlackMessage:
    now = runtime.clock()
    since = now - timedelta(days=STATS_DAYS)
    async with runtime.db.transaction() as conn:
        data = await dataset.load(
            conn, since=since, lookback=timedelta(days=runtime.model.lookback_days)
        )
    return stats_blocks(
        build_report(data, runtime.model, since=since, now=now, days=CONVERSION_DAYS)
    )


def stats_blocks(report: Report) -> SlackMessage:
    alerts = sum(report.alerts_by_track.values())
    text = (
        f"Model quality, last {STATS_DAYS} days: {alerts} alerts; "
        f"precision {report.precision.describe()}"
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Model quality"}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Since {report.since:%Y-%m-%d} · model `{report.model_name}` · "
                    "figures with their counts; small counts say so",
                }
            ],
        },
    ]
    for title, lines in report_sections(report):
        body = f"*{title}*\n" + "\n".join(f"• {_escape(line)}" for line in lines)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:SECTION_LIMIT]}})
    return SlackMessage(text=text, blocks=blocks)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
