"""`/tipoff stats` through the real Bolt app, signed as Slack signs it, on a real
database; figures worked out by hand. The command is acknowledged at once and answered
at its response_url (the fake's)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from tests import seed
from tests.conftest import NOW
from tests.fakes.signing import slash_command
from tests.fakes.slack_bot import SlackBot, slack_bot
from tipoff.settings import Settings
from tipoff.slack_app.listeners.commands import WORKING_ON_IT
from tipoff.store.tables import alerts, feedback


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[SlackBot]:
    async with slack_bot(settings, now=NOW) as running:
        yield running


async def stats(bot: SlackBot) -> dict[str, Any]:
    """`/tipoff stats`: acknowledged with a holding line, answered at its response_url."""
    response = await bot.send(slash_command("stats", response_url=bot.fake.response_url))
    assert response.status_code == 200, response.text
    assert response.json() == {"response_type": "ephemeral", "text": WORKING_ON_IT}
    (answered,) = await bot.fake.wait_for("response_url")
    return answered.params


async def test_stats_is_acknowledged_before_its_answer_is_delivered(bot: SlackBot) -> None:
    release = bot.fake.hold("response_url")  # Slack does not take the answer yet
    try:
        response = await bot.send(slash_command("stats", response_url=bot.fake.response_url))
        # Slack has its acknowledgement while the answer is still on its way.
        assert response.json() == {"response_type": "ephemeral", "text": WORKING_ON_IT}
        assert not release.is_set()
    finally:
        release.set()
    (answered,) = await bot.fake.wait_for("response_url")
    assert answered.params["response_type"] == "ephemeral"
    assert answered.params["text"].startswith("Model quality, last 90 days: 0 alerts")


async def test_stats_shows_counts_precision_and_time_to_claim(bot: SlackBot) -> None:
    sent = NOW - timedelta(hours=12)
    async with bot.runtime.db.transaction() as conn:
        acme = await seed.hot_acme(conn, NOW)
        alert = await conn.execute(
            alerts.insert().values(
                account_id=acme, track="hot", score=90, reason="entered hot", text="Acme is hot",
                blocks=[], target="#sales-alerts", status="sent", attempts=1, next_attempt_at=sent,
                channel="C0SALESALRT", ts="1.0001", created_at=sent, sent_at=sent,
            )
        )  # fmt: skip
        alert_id = alert.inserted_primary_key[0]
        for verdict, minutes, user in (("right", 10, "maya.rep"), ("claim", 30, "leo.rep")):
            await conn.execute(
                feedback.insert().values(
                    alert_id=alert_id, account_id=acme, slack_user_id=f"U{user}",
                    slack_user_name=user, verdict=verdict, created_at=sent + timedelta(minutes=minutes),
                )
            )  # fmt: skip

    body = await stats(bot)
    assert body["response_type"] == "ephemeral"
    assert body["text"] == (
        "Model quality, last 90 days: 1 alerts; precision 100% (1 of 1; too few to tell)"
    )
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    few = "100% (1 of 1; too few to tell)"
    assert sections == [
        "*Alerts by track*\n• hot: 1\n• total: 1 alerts for 1 accounts",
        f"*Precision (Right / Right+Wrong, newest verdict per rep)*\n• overall: {few}\n• track hot: {few}",
        # The rules that earned Acme's points 12 hours ago, when the alert was queued.
        "*Precision by rule*\n"
        + "\n".join(
            f"• {rule}: {few}"
            for rule in (
                "core_action",
                "decision_maker",
                "repeat_sessions",
                "rising",
                "second_active_user",
            )
        ),
        f"*Precision by segment*\n• mid-market (200–999): {few}",
        "*Reasons given for Wrong*\n• none",
        "*Conversion to opportunity within 30 days*\n• alerted: none\n• eligible, not alerted: none\n"
        "• lift: (too few to tell: 0 alerted, 0 not)\n"
        "• left out: 0 already converted, 1 too recent to judge (under 30 days)",
        "*Time to claim*\n• median 30 min from alert to claim (1 claimed, 0 not claimed)",
    ]


async def test_stats_on_an_empty_database(bot: SlackBot) -> None:
    body = await stats(bot)
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    assert sections[0] == "*Alerts by track*\n• total: 0 alerts for 0 accounts"
    assert sections[-1] == "*Time to claim*\n• no claims recorded"
