"""Slack outages: minutes of 5xx, 429 and timeouts. Alerts wait in the outbox and are
delivered afterwards, each exactly once; reps' clicks during the outage are kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests import seed
from tests.conftest import NOW
from tests.fakes.signing import block_action, interactivity, slash_command
from tests.fakes.slack_api import FakeSlackApi, running_fake_slack
from tests.fakes.slack_bot import Clock, running_runtime, slack_bot, with_slack
from tipoff.alerts.delivery import deliver_pending_alerts
from tipoff.runtime import Runtime
from tipoff.scores.rescoring import rescore
from tipoff.settings import Settings
from tipoff.slack.audience import CACHE_FOR
from tipoff.store.tables import alerts, feedback

STEP = timedelta(seconds=30)


@pytest.fixture
async def runtime(settings: Settings, fake_slack: FakeSlackApi) -> AsyncIterator[Runtime]:
    async with running_runtime(with_slack(settings, fake_slack), now=NOW) as rt:
        assert rt.slack is not None
        rt.slack.timeout = 1  # seconds; the fake's "timeouts" answer after 2
        yield rt


async def test_alerts_survive_twenty_minutes_of_outage_and_are_delivered_once(
    runtime: Runtime, fake_slack: FakeSlackApi
) -> None:
    async with runtime.db.transaction() as conn:
        for n in range(3):
            await seed.hot_acme(conn, NOW, f"acme{n}.io", f"Acme {n}")
    assert (await rescore(runtime)).alerts_queued == 3
    clock = runtime.clock
    assert isinstance(clock, Clock)

    # Twenty minutes: 5xx, then 429s (Retry-After 90 s), then timeouts, then 5xx again.
    outage_end = NOW + timedelta(minutes=20)
    fake_slack.fail_next("chat.postMessage", status=503, times=1000)
    timeouts_left = 2
    while clock.now < outage_end:
        minute = (clock.now - NOW) / timedelta(minutes=1)
        if 7 <= minute < 7.5:
            fake_slack.clear_failures()
            fake_slack.fail_next("chat.postMessage", status=429, retry_after=90, times=1000)
        elif 12 <= minute < 12.5 and timeouts_left:
            fake_slack.clear_failures()
            fake_slack.fail_next("chat.postMessage", status=503, delay=2, times=timeouts_left)
            fake_slack.fail_next("chat.postMessage", status=502, times=1000)  # then 5xx again
            timeouts_left = 0
        await deliver_pending_alerts(runtime)
        clock.now += STEP
    async with runtime.db.transaction() as conn:
        during = (await conn.execute(select(alerts.c.status, alerts.c.attempts))).all()
    assert {status for status, _ in during} == {"pending"}  # waited, not dropped
    assert all(attempts >= 3 for _, attempts in during)
    tried = len(fake_slack.calls_to("chat.postMessage"))

    fake_slack.clear_failures()  # Slack is back
    while clock.now < outage_end + timedelta(hours=1):
        await deliver_pending_alerts(runtime)
        clock.now += STEP
    posted_after = fake_slack.calls_to("chat.postMessage")[tried:]
    assert sorted(call.params["text"].split(" is ")[0] for call in posted_after) == [
        "🔥 Acme 0",
        "🔥 Acme 1",
        "🔥 Acme 2",
    ]
    async with runtime.db.transaction() as conn:
        after = (await conn.execute(select(alerts.c.status, alerts.c.ts))).all()
    assert [status for status, _ in after] == ["sent"] * 3 and len({ts for _, ts in after}) == 3


async def test_clicks_during_an_outage_are_recorded(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with running_fake_slack() as fake:
        async with slack_bot(settings, now=NOW, fake=fake) as bot:
            async with bot.runtime.db.transaction() as conn:
                acme = await seed.hot_acme(conn, NOW)
            # Maya used Tipoff before the outage: who she is (users.info) is known, and
            # still stands while Slack cannot be asked again.
            assert (await bot.send(slash_command("help"))).status_code == 200
            bot.clock.now = NOW + CACHE_FOR
            fake.fail_next(status=503, times=50)  # every Web API call fails from here on
            shown = [{"type": "section", "text": {"type": "mrkdwn", "text": "Acme is hot"}}]
            click = block_action(
                "feedback_right",
                account_id=acme,
                channel="C0SALESALRT",
                ts="1.000001",
                message_blocks=shown,
            )
            response = await bot.send(interactivity(click))
            assert response.status_code == 200  # acknowledged to Slack …
            async with bot.runtime.db.transaction() as conn:
                recorded = (
                    await conn.execute(select(feedback.c.account_id, feedback.c.verdict))
                ).all()
            assert recorded == [(acme, "right")]  # … only once it was stored
            await fake.wait_for("chat.update")  # the message update, after the ack, fails
            for _ in range(100):
                failed = [r for r in caplog.records if "updating Slack failed" in r.getMessage()]
                if failed:
                    break
                await asyncio.sleep(0.02)
    assert [r.getMessage() for r in failed] == ["Right verdict acknowledged; updating Slack failed"]
