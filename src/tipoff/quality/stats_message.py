"""`/tipoff stats`: the quality report of the last 90 days, as Slack shows it
(tipoff.slack.blocks.stats_message lays it out), and one chart of it: precision and
conversion (with the lift) by track, a PNG posted to the rep's DM with Tipoff with the
same figures as its alt text. The chart needs the `charts` extra; without it only the
text is posted."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from tipoff.quality import dataset
from tipoff.quality.report import Report, build_report, report_sections
from tipoff.quality.stats import Proportion
from tipoff.runtime import Runtime
from tipoff.slack import blocks
from tipoff.slack.blocks import SlackMessage

log = logging.getLogger(__name__)

STATS_DAYS = 90
CONVERSION_DAYS = 30
CHART_FILENAME = "tipoff-stats.png"
# matplotlib's style settings are process-wide: one chart drawn at a time.
_drawing = threading.Lock()
_NONE = Proportion(0, 0)


@dataclass(frozen=True, slots=True)
class StatsChart:
    png: bytes
    title: str
    alt_text: str


async def stats_report(runtime: Runtime) -> Report:
    now = runtime.clock()
    since = now - timedelta(days=STATS_DAYS)
    async with runtime.db.transaction() as conn:
        data = await dataset.load(
            conn, since=since, lookback=timedelta(days=runtime.model.lookback_days)
        )
    return build_report(data, runtime.model, since=since, now=now, days=CONVERSION_DAYS)


def message_of(report: Report) -> SlackMessage:
    return blocks.stats_message(
        days=STATS_DAYS,
        since=report.since,
        model_name=report.model_name,
        alerts=sum(report.alerts_by_track.values()),
        precision=report.precision.describe(),
        sections=report_sections(report),
    )


async def stats_message(runtime: Runtime) -> SlackMessage:
    return message_of(await stats_report(runtime))


def stats_chart(report: Report) -> StatsChart | None:
    """The chart of `report`, or None (logged once per call) without matplotlib."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        log.info("/tipoff stats: chart skipped, matplotlib is not installed (tipoff[charts])")
        return None
    from tipoff.quality import charts

    c = report.conversion
    base = c.not_alerted.rate
    # The alerting tracks (verdicts given outside an alert are in the text only).
    tracks = sorted(set(report.alerts_by_track) | set(c.by_track))
    precision = [charts.Row(t, report.precision_by_track.get(t, _NONE)) for t in tracks]
    lifts = {t: _lift(c.by_track.get(t, _NONE).rate, base) for t in tracks}
    conversion = [
        charts.Row(t, c.by_track.get(t, _NONE), lifts[t] and f"{lifts[t]} lift") for t in tracks
    ]
    conversion.append(charts.Row("not alerted", c.not_alerted, "", charts.BASELINE))
    with _drawing:
        png = charts.png(charts.stats_chart(precision, conversion, days=c.days))
    title = f"Precision and lift by track, last {STATS_DAYS} days"
    figures = [
        f"track {t}: precision {report.precision_by_track.get(t, _NONE).describe()}; converted"
        f" within {c.days} days {c.by_track.get(t, _NONE).describe()}"
        + (f", lift {lifts[t]}" if lifts[t] else "")
        for t in tracks
    ]
    figures.append(f"eligible accounts not alerted: converted {c.not_alerted.describe()}")
    return StatsChart(png, title, f"{title}. " + ". ".join(figures) + ".")


async def post_stats_chart(runtime: Runtime, report: Report, user_id: str) -> None:
    """Posts `report`'s chart into the DM of `user_id` with Tipoff. The figures are in
    the message already, so a chart that cannot be drawn or posted is logged, not
    reported to the rep."""
    from slack_sdk.errors import SlackApiError, SlackRequestError

    from tipoff.slack.failures import failure_of
    from tipoff.slack.uploads import upload_image

    if runtime.slack is None or not user_id:
        return
    chart = await asyncio.to_thread(stats_chart, report)
    if chart is None:
        return
    try:
        if user_id not in runtime.dm_channels:
            opened = await runtime.slack.conversations_open(users=user_id)
            runtime.dm_channels[user_id] = str((opened.get("channel") or {})["id"])
        await upload_image(
            runtime.slack,
            channel=runtime.dm_channels[user_id],
            content=chart.png,
            filename=CHART_FILENAME,
            title=chart.title,
            alt_text=chart.alt_text,
        )
    except SlackApiError as exc:
        log.warning("/tipoff stats: the chart was not posted (%s)", failure_of(exc).summary)
    except (SlackRequestError, KeyError) as exc:
        log.warning("/tipoff stats: the chart was not posted (%s)", exc)


def _lift(rate: float | None, base: float | None) -> str:
    return f"{rate / base:.1f}×" if rate is not None and base else ""
