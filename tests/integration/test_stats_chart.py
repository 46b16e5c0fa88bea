"""`/tipoff stats` also posts a chart: precision and conversion (with the lift) by track,
a PNG with the same figures as its alt text, uploaded into the rep's DM with Tipoff
through Slack's current upload flow (files.getUploadURLExternal, the bytes to the URL it
returns, files.completeUploadExternal), against the fake Web API through slack_sdk. The
figures stay in the text; without matplotlib, or when Slack refuses the file, only the
text is posted."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from tests import seed
from tests.conftest import NOW
from tests.fakes.signing import slash_command
from tests.fakes.slack_bot import SlackBot, slack_bot
from tests.integration.test_quality_slack import stats
from tipoff.settings import Settings
from tipoff.store.tables import alerts, feedback

REP = "U0MAYAREP01"  # who sends the slash command (tests.fakes.signing)
PRECISION = "precision 100% (1 of 1; too few to tell)"


async def logged(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    """The records holding `text` once there is one (the chart follows the answer)."""
    for _ in range(200):
        found = [r for r in caplog.records if text in r.getMessage()]
        if found:
            return found
        await asyncio.sleep(0.025)
    raise AssertionError(f"nothing logged with {text!r}")


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[SlackBot]:
    async with slack_bot(settings, now=NOW) as running:
        sent = NOW - timedelta(hours=12)
        async with running.runtime.db.transaction() as conn:
            acme = await seed.hot_acme(conn, NOW)
            alert = await conn.execute(
                alerts.insert().values(
                    account_id=acme, track="hot", score=90, reason="entered hot",
                    text="Acme is hot", blocks=[], target="#sales-alerts", status="sent",
                    attempts=1, next_attempt_at=sent, channel="C0SALESALRT", ts="1.0001",
                    created_at=sent, sent_at=sent,
                )
            )  # fmt: skip
            await conn.execute(
                feedback.insert().values(
                    alert_id=alert.inserted_primary_key[0], account_id=acme,
                    slack_user_id="U0MAYAREP01", slack_user_name="maya.rep", verdict="right",
                    created_at=sent + timedelta(minutes=10),
                )
            )  # fmt: skip
        yield running


async def test_stats_uploads_a_chart_with_alt_text_to_the_reps_dm(bot: SlackBot) -> None:
    body = await stats(bot)
    assert PRECISION in body["text"]  # the key numbers stay in the text
    await bot.fake.wait_for("files.completeUploadExternal")
    flow = [
        c.method
        for c in bot.fake.calls
        if c.method.startswith("files.") or c.method in ("upload", "conversations.open")
    ]
    assert flow == [
        "conversations.open",
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    (chart,) = bot.fake.files.values()
    assert chart.completed and chart.channel == "D" + REP[1:]
    assert chart.filename == "tipoff-stats.png"
    assert chart.content is not None and chart.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert chart.title == "Precision and lift by track, last 90 days"
    assert chart.alt_txt is not None
    assert f"track hot: {PRECISION}" in chart.alt_txt
    assert "eligible accounts not alerted: converted none" in chart.alt_txt
    assert not bot.fake.calls_to("files.upload")  # the retired method


async def test_without_matplotlib_the_text_is_posted_and_the_chart_skipped(
    bot: SlackBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the extra were not installed
    with caplog.at_level(logging.INFO):
        body = await stats(bot)
        skipped = await logged(caplog, "chart skipped")
    assert PRECISION in body["text"]
    assert not [c for c in bot.fake.calls if c.method.startswith("files.")]
    assert len(skipped) == 1 and skipped[0].levelno == logging.INFO
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_refused_upload_is_logged_and_the_rep_keeps_the_text(
    bot: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot.fake.fail_next("files.getUploadURLExternal", error="missing_scope")
    with caplog.at_level(logging.INFO):
        body = await stats(bot)
        (refused,) = await logged(caplog, "chart was not posted")
        response = await bot.send(slash_command("stats", response_url=bot.fake.response_url))
        assert response.status_code == 200
    assert PRECISION in body["text"]
    assert "missing_scope" in refused.getMessage() and refused.levelno == logging.WARNING
    await bot.fake.wait_for("files.completeUploadExternal")  # the next one goes through
