"""The app's install lifecycle and Slack's refusals as an admin meets them: Events API
requests signed as Slack signs them into the real Bolt app, the fake Web API answering
as Slack does, /healthz and /metrics read over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from tests import seed
from tests.conftest import NOW
from tests.fakes.signing import event_callback
from tests.fakes.slack_bot import SlackBot, slack_bot
from tipoff.alerts.delivery import DeliveryReport, deliver_pending_alerts
from tipoff.alerts.digest import send_digests
from tipoff.alerts.sla import SlaReport, check_slas
from tipoff.scores.rescoring import rescore
from tipoff.settings import Settings
from tipoff.slack.failures import FIXES
from tipoff.slack.install_state import PROBE_EVERY, current_pause
from tipoff.store.tables import alerts, digests, slack_failures
from tipoff.store.workspace import Pause

ADMIN = "U0ADMIN001"


def configure(settings: Settings) -> Settings:
    return Settings.model_validate(
        {
            **settings.model_dump(),
            "admins": ADMIN,
            "alert_channel": "C0SALESALRT",
            "escalation_channel": "C0LEADS001",
        }
    )


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[SlackBot]:
    async with slack_bot(settings, now=NOW, configure=configure) as running:
        yield running


async def health(bot: SlackBot) -> dict[str, object]:
    response = await bot.http.get("/healthz")
    assert response.status_code == 200  # degraded, never down: alerts wait in the outbox
    body: dict[str, object] = response.json()
    return body


async def metric(bot: SlackBot, name: str, **labels: str) -> float:
    text = (await bot.http.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


async def paused(bot: SlackBot) -> Pause:
    """The pause, once the event's listener (run by Bolt after the ack) has stored it."""
    for _ in range(250):
        pause = await current_pause(bot.runtime)
        if pause is not None:
            return pause
        await asyncio.sleep(0.02)
    raise AssertionError("posting was not paused")


async def queue_acme(bot: SlackBot) -> int:
    async with bot.runtime.db.transaction() as conn:
        await seed.hot_acme(conn, NOW)
    assert (await rescore(bot.runtime)).alerts_queued == 1
    async with bot.runtime.db.transaction() as conn:
        return int((await conn.execute(select(alerts.c.id))).scalar_one())


async def test_app_uninstalled_stops_posting_until_a_reinstall(bot: SlackBot) -> None:
    await queue_acme(bot)
    bot.fake.revoke()  # uninstalling revokes the bot token …
    response = await bot.send(event_callback({"type": "app_uninstalled"}))
    assert response.status_code == 200  # … and Slack tells the app, signed as ever
    assert (await paused(bot)).reason == "app_uninstalled"

    assert await deliver_pending_alerts(bot.runtime) == DeliveryReport(paused=True)
    assert bot.fake.calls_to("chat.postMessage") == []
    assert await health(bot) == {
        "status": "degraded",
        "database": "ok",
        "slack": "paused",
        "reasons": [f"Slack posting paused since 2026-11-20 15:00 UTC: {FIXES['app_uninstalled']}"],
    }
    assert await metric(bot, "tipoff_slack_posting_paused") == 1
    assert await check_slas(bot.runtime) == SlaReport()
    assert await send_digests(bot.runtime) == []

    # Reinstalled with a new token: the admin sets SLACK_BOT_TOKEN; auth.test works again.
    # /healthz only reports: the delivery job finds it at its next check and resumes.
    bot.fake.reinstall()
    assert (await health(bot))["slack"] == "paused"
    bot.clock.now += PROBE_EVERY
    assert await deliver_pending_alerts(bot.runtime) == DeliveryReport(sent=1)
    assert await health(bot) == {"status": "ok", "database": "ok", "slack": "ok"}
    assert await metric(bot, "tipoff_slack_posting_paused") == 0


async def test_tokens_revoked_for_the_bot_pauses_posting_and_a_user_token_does_not(
    bot: SlackBot,
) -> None:
    user_only = {"type": "tokens_revoked", "tokens": {"oauth": ["U0MAYAREP01"], "bot": []}}
    assert (await bot.send(event_callback(user_only, event_id="Ev01"))).status_code == 200
    assert (await health(bot))["slack"] == "ok"
    assert await current_pause(bot.runtime) is None

    bot.fake.revoke()
    bot_token = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0TIPOFFBOT"]}}
    assert (await bot.send(event_callback(bot_token, event_id="Ev02"))).status_code == 200
    assert (await paused(bot)).reason == "tokens_revoked"
    body = await health(bot)
    assert (body["status"], body["slack"]) == ("degraded", "paused")
    assert body["reasons"] == [
        f"Slack posting paused since 2026-11-20 15:00 UTC: {FIXES['tokens_revoked']}"
    ]
    await queue_acme(bot)
    assert await deliver_pending_alerts(bot.runtime) == DeliveryReport(paused=True)


async def test_a_failed_alert_is_reported_in_healthz_metrics_and_the_admins_app_home(
    bot: SlackBot,
) -> None:
    alert = await queue_acme(bot)
    bot.fake.fail_next("chat.postMessage", error="channel_not_found")
    assert await deliver_pending_alerts(bot.runtime) == DeliveryReport(failed=1)

    fix = FIXES["channel_not_found"]
    reason = f"1 alert failed: channel_not_found ({fix}); then `tipoff alerts --retry --all`"
    assert await health(bot) == {
        "status": "degraded",
        "database": "ok",
        "slack": "ok",
        "reasons": [reason],
    }
    assert await metric(bot, "tipoff_alerts_failed", reason="channel_not_found") == 1
    assert await metric(bot, "tipoff_alerts", status="failed") == 1

    home = {"type": "app_home_opened", "user": ADMIN, "tab": "home", "channel": "D0ADMIN"}
    home["event_ts"] = "1763650800.000100"
    assert (await bot.send(event_callback(home, event_id="Ev03"))).status_code == 200
    (published,) = await bot.fake.wait_for("views.publish")
    note = published.params["view"]["blocks"][0]
    assert note == {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": "⚠️ *Tipoff admin: alerts are not all reaching Slack*\n• " + reason,
        },
    }
    async with bot.runtime.db.transaction() as conn:
        status = await conn.execute(select(alerts.c.status).where(alerts.c.id == alert))
        assert status.scalar_one() == "failed"


async def test_a_rep_sees_no_admin_note(bot: SlackBot) -> None:
    await queue_acme(bot)
    bot.fake.fail_next("chat.postMessage", error="is_archived")
    await deliver_pending_alerts(bot.runtime)
    home = {"type": "app_home_opened", "user": "U0MAYAREP01", "tab": "home"}
    assert (await bot.send(event_callback(home, event_id="Ev04"))).status_code == 200
    (published,) = await bot.fake.wait_for("views.publish")
    assert published.params["view"]["blocks"][0]["type"] == "header"


async def test_a_refused_reminder_and_digest_are_recorded_once_not_retried_every_minute(
    bot: SlackBot,
) -> None:
    await queue_acme(bot)
    assert (await deliver_pending_alerts(bot.runtime)).sent == 1
    bot.fake.add_channel("C0SALESALRT", "sales-alerts", archived=True, member=True)
    # Monday 11:30: past the hot SLA's reminder (11:00), before its escalation (15:00).
    bot.clock.now = NOW + timedelta(days=2, hours=20, minutes=30)

    assert await check_slas(bot.runtime) == SlaReport()
    assert await send_digests(bot.runtime) == []
    tried = len(bot.fake.calls_to("chat.postMessage"))
    bot.clock.now += timedelta(minutes=1)
    assert await check_slas(bot.runtime) == SlaReport()
    assert await send_digests(bot.runtime) == []
    assert len(bot.fake.calls_to("chat.postMessage")) == tried  # nothing tried again

    async with bot.runtime.db.transaction() as conn:
        refused = (
            await conn.execute(
                select(
                    slack_failures.c.kind, slack_failures.c.channel, slack_failures.c.reason
                ).order_by(slack_failures.c.id)
            )
        ).all()
        assert len((await conn.execute(select(digests))).all()) == 1
    assert [tuple(r) for r in refused] == [
        ("reminder", "C0SALESALRT", "is_archived"),
        ("digest", "C0SALESALRT", "is_archived"),
    ]
    body = await health(bot)
    assert body["reasons"] == [
        f"1 digest refused in the last day: is_archived ({FIXES['is_archived']})",
        f"1 reminder refused in the last day: is_archived ({FIXES['is_archived']})",
    ]
    assert (
        await metric(bot, "tipoff_slack_posts_refused", kind="reminder", reason="is_archived") == 1
    )


async def test_a_reminder_during_an_outage_is_retried_next_run(bot: SlackBot) -> None:
    await queue_acme(bot)
    assert (await deliver_pending_alerts(bot.runtime)).sent == 1
    bot.clock.now = NOW + timedelta(days=3)
    bot.fake.fail_next("chat.postMessage", status=503)
    assert await check_slas(bot.runtime) == SlaReport()
    assert await check_slas(bot.runtime) == SlaReport(reminded=1)


async def test_a_reminder_due_while_posting_is_paused_waits_for_the_reinstall(
    bot: SlackBot,
) -> None:
    """The app is uninstalled after its alert was posted, and the alert's reminder falls
    due meanwhile: the SLA job only asks Slack whether the token works again (any other
    call would fail), and reminds once posting resumes."""
    await queue_acme(bot)
    assert (await deliver_pending_alerts(bot.runtime)).sent == 1
    bot.fake.revoke()
    assert (await bot.send(event_callback({"type": "app_uninstalled"}))).status_code == 200
    assert (await paused(bot)).reason == "app_uninstalled"
    bot.clock.now = NOW + timedelta(days=3)
    called = len(bot.fake.calls)

    assert await check_slas(bot.runtime) == SlaReport()
    assert [call.method for call in bot.fake.calls[called:]] == ["auth.test"]

    bot.fake.reinstall()
    bot.clock.now += PROBE_EVERY
    assert await check_slas(bot.runtime) == SlaReport(reminded=1)


async def test_a_429_on_views_publish_is_retried_after_retry_after(bot: SlackBot) -> None:
    bot.fake.fail_next("views.publish", status=429, retry_after=1)
    home = {"type": "app_home_opened", "user": "U0MAYAREP01", "tab": "home"}
    assert (await bot.send(event_callback(home, event_id="Ev05"))).status_code == 200
    published = await bot.fake.wait_for("views.publish", 2)
    assert published[0].params == published[1].params
