"""The alert outbox delivered to the fake_slack Slack Web API: posted once, paced by 429s, backed
off on failures, never dropped; printed once and kept queued when Slack is not set up."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests import seed
from tests.conftest import NOW
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi
from tests.fakes.slack_bot import Clock, running_runtime, with_slack
from tipoff.alerts.delivery import DeliveryReport, deliver_pending_alerts
from tipoff.alerts.outbox import retry_alerts
from tipoff.runtime import Runtime
from tipoff.settings import Settings
from tipoff.slack.failures import FIXES
from tipoff.slack.install_state import current_pause
from tipoff.store.tables import alerts

SECOND = timedelta(seconds=1)


@pytest.fixture
def runtime(slack_runtime: Runtime) -> Runtime:
    """Here every runtime posts to the Slack stand-in."""
    return slack_runtime


def move_to(runtime: Runtime, at: datetime) -> None:
    assert isinstance(runtime.clock, Clock)
    runtime.clock.now = at


def blocks_for(name: str) -> list[dict[str, Any]]:
    return [
        {"type": "header", "text": {"type": "plain_text", "text": f"{name} is ready — 80"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"• {name} requested a demo (+35)"}},
    ]


async def queue(
    runtime: Runtime,
    name: str,
    *,
    created: datetime = NOW,
    due: datetime | None = None,
    attempts: int = 0,
    target: str = "#sales-alerts",
) -> int:
    """An outbox row as rescoring writes it, for a new account called `name`."""
    async with runtime.db.transaction() as conn:
        account = await seed.account(conn, NOW, f"{name.lower()}.com", name)
        result = await conn.execute(
            alerts.insert().values(
                account_id=account,
                track="sales-ready",
                score=80,
                reason="entered sales-ready",
                text=f"{name} is ready — 80",
                blocks=blocks_for(name),
                target=target,
                status="pending",
                attempts=attempts,
                next_attempt_at=due or created,
                created_at=created,
            )
        )
        assert result.inserted_primary_key is not None
        return int(result.inserted_primary_key[0])


async def outbox(runtime: Runtime) -> dict[int, dict[str, Any]]:
    async with runtime.db.transaction() as conn:
        rows = await conn.execute(select(alerts).order_by(alerts.c.id))
        return {r.id: dict(r._mapping) for r in rows}


def state(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["status"], row["attempts"], row["next_attempt_at"], row["last_error"])


def posted(fake_slack: FakeSlackApi) -> list[str]:
    return [c.params["text"] for c in fake_slack.calls_to("chat.postMessage")]


async def test_pending_alerts_are_posted_oldest_first_and_recorded(
    runtime: Runtime, fake_slack: FakeSlackApi
) -> None:
    newer = await queue(runtime, "Globex", created=NOW - 1 * SECOND)
    older = await queue(runtime, "Acme", created=NOW - 2 * SECOND)
    later = await queue(runtime, "Initech", due=NOW + 1 * SECOND)  # not due yet

    report = await deliver_pending_alerts(runtime)

    assert report == DeliveryReport(sent=2)
    assert [c.params for c in fake_slack.calls_to("chat.postMessage")] == [
        {"channel": "#sales-alerts", "text": "Acme is ready — 80", "blocks": blocks_for("Acme")},
        {
            "channel": "#sales-alerts",
            "text": "Globex is ready — 80",
            "blocks": blocks_for("Globex"),
        },
    ]
    assert (
        fake_slack.calls_to("chat.postMessage")[0].headers["authorization"] == f"Bearer {BOT_TOKEN}"
    )
    rows = await outbox(runtime)
    assert {k: rows[older][k] for k in ("status", "channel", "ts", "sent_at", "attempts")} == {
        "status": "sent",
        "channel": "C0SALESALRT",
        "ts": "1763650800.000001",
        "sent_at": NOW,
        "attempts": 1,
    }
    assert (rows[newer]["status"], rows[newer]["ts"]) == ("sent", "1763650800.000002")
    assert state(rows[later]) == ("pending", 0, NOW + SECOND, None)

    # Sent is sent: the next run posts only what has come due since.
    move_to(runtime, NOW + 1 * SECOND)
    assert await deliver_pending_alerts(runtime) == DeliveryReport(sent=1)
    assert posted(fake_slack) == [
        "Acme is ready — 80",
        "Globex is ready — 80",
        "Initech is ready — 80",
    ]


async def test_a_429_defers_by_retry_after_holds_the_outbox_and_delivers_exactly_once_later(
    runtime: Runtime, fake_slack: FakeSlackApi
) -> None:
    first = await queue(runtime, "Acme", created=NOW - 2 * SECOND)
    second = await queue(runtime, "Globex", created=NOW - 1 * SECOND)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=30)

    report = await deliver_pending_alerts(runtime)

    assert report == DeliveryReport(retrying=1, rate_limited_until=NOW + 30 * SECOND)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1  # the run stopped at the 429
    rows = await outbox(runtime)
    assert state(rows[first]) == ("pending", 1, NOW + 30 * SECOND, "ratelimited (HTTP 429)")
    # Untried alerts wait out the pause too, without an attempt counted against them.
    assert state(rows[second]) == ("pending", 0, NOW + 30 * SECOND, None)

    move_to(runtime, NOW + 29 * SECOND)
    assert await deliver_pending_alerts(runtime) == DeliveryReport()
    assert len(fake_slack.calls_to("chat.postMessage")) == 1

    move_to(runtime, NOW + 30 * SECOND)
    assert await deliver_pending_alerts(runtime) == DeliveryReport(sent=2)
    move_to(runtime, NOW + 1 * timedelta(hours=1))
    assert await deliver_pending_alerts(runtime) == DeliveryReport()
    assert posted(fake_slack) == [
        "Acme is ready — 80",
        "Acme is ready — 80",
        "Globex is ready — 80",
    ]
    rows = await outbox(runtime)
    assert [(r["status"], r["attempts"], r["ts"]) for r in rows.values()] == [
        ("sent", 2, "1763650800.000001"),
        ("sent", 1, "1763650800.000002"),
    ]


async def test_a_server_error_backs_off_exponentially_and_the_batch_goes_on(
    runtime: Runtime, fake_slack: FakeSlackApi
) -> None:
    failing = await queue(runtime, "Acme", created=NOW - 2 * SECOND)
    fine = await queue(runtime, "Globex", created=NOW - 1 * SECOND)
    fake_slack.fail_next("chat.postMessage", status=500)

    assert await deliver_pending_alerts(runtime) == DeliveryReport(sent=1, retrying=1)
    rows = await outbox(runtime)
    assert state(rows[failing]) == ("pending", 1, NOW + 10 * SECOND, "no error code (HTTP 500)")
    assert rows[fine]["status"] == "sent"

    # 10 s, then 20 s, 40 s …: each failure doubles the wait.
    move_to(runtime, NOW + 10 * SECOND)
    fake_slack.fail_next("chat.postMessage", status=503)
    assert await deliver_pending_alerts(runtime) == DeliveryReport(retrying=1)
    rows = await outbox(runtime)
    assert state(rows[failing]) == ("pending", 2, NOW + 30 * SECOND, "no error code (HTTP 503)")

    move_to(runtime, NOW + 30 * SECOND)
    assert await deliver_pending_alerts(runtime) == DeliveryReport(sent=1)
    rows = await outbox(runtime)
    assert (rows[failing]["status"], rows[failing]["attempts"]) == ("sent", 3)
    assert posted(fake_slack).count("Acme is ready — 80") == 3


@pytest.mark.parametrize(
    "error",
    ["channel_not_found", "is_archived", "missing_scope", "msg_too_long", "invalid_blocks"],
)
async def test_a_refusal_that_cannot_succeed_fails_the_alert_with_its_reason_and_is_not_retried(
    runtime: Runtime, fake_slack: FakeSlackApi, caplog: pytest.LogCaptureFixture, error: str
) -> None:
    caplog.set_level(logging.INFO)
    refused = await queue(runtime, "Acme", attempts=2)
    fake_slack.fail_next("chat.postMessage", error=error)

    assert await deliver_pending_alerts(runtime) == DeliveryReport(failed=1)
    row = (await outbox(runtime))[refused]
    assert (row["status"], row["attempts"], row["failure_reason"], row["failed_at"]) == (
        "failed",
        3,
        error,
        NOW,
    )
    assert row["last_error"] == FAILURE_TEXT[error]
    assert row["text"] == "Acme is ready — 80" and row["blocks"] == blocks_for("Acme")  # kept
    assert f"alert {refused} to #sales-alerts failed for good ({error}" in caplog.text
    assert BOT_TOKEN not in caplog.text

    # No retry storm: a failed alert is never tried again by itself.
    move_to(runtime, NOW + timedelta(days=1))
    assert await deliver_pending_alerts(runtime) == DeliveryReport()
    assert len(fake_slack.calls_to("chat.postMessage")) == 1

    # Re-deliverable once the cause is fixed.
    assert await retry_alerts(runtime, [refused]) == [refused]
    assert await deliver_pending_alerts(runtime) == DeliveryReport(sent=1)
    row = (await outbox(runtime))[refused]
    assert (row["status"], row["failure_reason"], row["failed_at"]) == ("sent", None, None)


FAILURE_TEXT = {code: f"{code}: {FIXES[code]}" for code in FIXES}


async def test_not_in_a_public_channel_it_joins_the_channel_and_posts(
    settings: Settings, fake_slack: FakeSlackApi
) -> None:
    fake_slack.add_channel("C0PUBLIC01", "deals")  # public; the bot is not a member
    async with running_runtime(
        with_slack(on_channel(settings, "C0PUBLIC01"), fake_slack), now=NOW
    ) as rt:
        alert = await queue(rt, "Acme", target="C0PUBLIC01")
        assert await deliver_pending_alerts(rt) == DeliveryReport(sent=1)
        row = (await outbox(rt))[alert]
    assert [c.method for c in fake_slack.calls if c.method != "auth.test"] == [
        "conversations.info",  # not shared with another organisation
        "chat.postMessage",
        "conversations.join",
        "chat.postMessage",
    ]
    assert fake_slack.calls_to("conversations.join")[0].params == {"channel": "C0PUBLIC01"}
    assert (row["status"], row["channel"]) == ("sent", "C0PUBLIC01")
    assert fake_slack.channels["C0PUBLIC01"].member


async def test_a_private_channel_it_is_not_in_fails_with_the_reason_until_invited(
    settings: Settings, fake_slack: FakeSlackApi
) -> None:
    private = fake_slack.add_channel("C0PRIVATE1", "deals-private", private=True)
    async with running_runtime(
        with_slack(on_channel(settings, "C0PRIVATE1"), fake_slack), now=NOW
    ) as rt:
        alert = await queue(rt, "Acme", target="C0PRIVATE1")
        assert await deliver_pending_alerts(rt) == DeliveryReport(failed=1)
        row = (await outbox(rt))[alert]
        assert (row["status"], row["failure_reason"]) == ("failed", "channel_not_found")

        private.member = True  # someone invites @tipoff
        assert await retry_alerts(rt, None) == [alert]
        assert await deliver_pending_alerts(rt) == DeliveryReport(sent=1)
    assert fake_slack.calls_to("conversations.join") == []  # a private channel is never joined


async def test_a_channel_it_cannot_join_fails_as_not_in_channel(
    settings: Settings, fake_slack: FakeSlackApi
) -> None:
    fake_slack.add_channel("C0PUBLIC01", "deals")
    fake_slack.fail_next("conversations.join", error="method_not_supported_for_channel_type")
    async with running_runtime(
        with_slack(on_channel(settings, "C0PUBLIC01"), fake_slack), now=NOW
    ) as rt:
        alert = await queue(rt, "Acme", target="C0PUBLIC01")
        assert await deliver_pending_alerts(rt) == DeliveryReport(failed=1)
        row = (await outbox(rt))[alert]
    assert (row["status"], row["failure_reason"]) == ("failed", "not_in_channel")
    assert row["last_error"] == FAILURE_TEXT["not_in_channel"]


async def test_fixing_the_alert_channel_rescues_failed_and_queued_alerts(
    settings: Settings, fake_slack: FakeSlackApi
) -> None:
    fake_slack.add_channel("C0ARCHIVED", "old-alerts", archived=True, member=True)
    async with running_runtime(
        with_slack(on_channel(settings, "C0ARCHIVED"), fake_slack), now=NOW
    ) as rt:
        failed = await queue(rt, "Acme", created=NOW - 2 * SECOND, target="C0ARCHIVED")
        assert await deliver_pending_alerts(rt) == DeliveryReport(failed=1)
        waiting = await queue(rt, "Globex", due=NOW + SECOND, target="C0ARCHIVED")
    # The admin sets TIPOFF_ALERT_CHANNEL to a live channel and restarts.
    async with running_runtime(
        with_slack(on_channel(settings, "#sales-alerts"), fake_slack), now=NOW
    ) as rt:
        assert await retry_alerts(rt, [failed]) == [failed]
        move_to(rt, NOW + SECOND)
        assert await deliver_pending_alerts(rt) == DeliveryReport(sent=2)
        rows = await outbox(rt)
    assert [
        (rows[i]["status"], rows[i]["target"], rows[i]["channel"]) for i in (failed, waiting)
    ] == [
        ("sent", "#sales-alerts", "C0SALESALRT"),
        ("sent", "#sales-alerts", "C0SALESALRT"),
    ]


async def test_a_dead_token_pauses_posting_keeps_alerts_queued_and_resumes_once_it_works(
    runtime: Runtime, fake_slack: FakeSlackApi, caplog: pytest.LogCaptureFixture
) -> None:
    alert = await queue(runtime, "Acme")
    fake_slack.revoke("account_inactive")

    assert await deliver_pending_alerts(runtime) == DeliveryReport(paused=True)
    row = (await outbox(runtime))[alert]
    assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("pending", 0, NOW)
    pause = await current_pause(runtime)
    assert pause is not None and (pause.reason, pause.since) == ("account_inactive", NOW)
    assert "Slack posting paused (account_inactive)" in caplog.text

    # Paused: no post is tried, and auth.test is asked at most once a minute.
    calls = len(fake_slack.calls)
    move_to(runtime, NOW + 30 * SECOND)
    assert await deliver_pending_alerts(runtime) == DeliveryReport(paused=True)
    assert len(fake_slack.calls) == calls
    move_to(runtime, NOW + 60 * SECOND)
    assert await deliver_pending_alerts(runtime) == DeliveryReport(paused=True)
    assert [c.method for c in fake_slack.calls[calls:]] == ["auth.test"]

    fake_slack.reinstall()
    move_to(runtime, NOW + 120 * SECOND)
    assert await deliver_pending_alerts(runtime) == DeliveryReport(sent=1)
    assert await current_pause(runtime) is None
    assert "Slack posting resumed" in caplog.text


async def test_owner_dms_are_opened_once(runtime: Runtime, fake_slack: FakeSlackApi) -> None:
    first = await queue(runtime, "Acme")
    second = await queue(runtime, "Globex")
    async with runtime.db.transaction() as conn:
        await conn.execute(
            alerts.update().where(alerts.c.id.in_([first, second])).values(owner_user_id="U0MAYA")
        )
    assert await deliver_pending_alerts(runtime, pace_seconds=0) == DeliveryReport(sent=2)
    assert len(fake_slack.calls_to("conversations.open")) == 1
    assert [c.params["channel"] for c in fake_slack.calls_to("chat.postMessage")] == [
        "D0MAYA",
        "D0MAYA",
    ]


async def test_a_short_retry_after_is_waited_out_by_the_client(
    runtime: Runtime, fake_slack: FakeSlackApi
) -> None:
    alert = await queue(runtime, "Acme")
    fake_slack.fail_next("conversations.open", status=429, retry_after=1)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1)
    async with runtime.db.transaction() as conn:
        await conn.execute(alerts.update().values(owner_user_id="U0MAYA"))

    assert await deliver_pending_alerts(runtime) == DeliveryReport(sent=1)
    assert [c.method for c in fake_slack.calls if c.method != "auth.test"] == [
        "conversations.open",
        "conversations.open",
        "chat.postMessage",
        "chat.postMessage",
    ]
    assert (await outbox(runtime))[alert]["attempts"] == 1


def on_channel(settings: Settings, channel: str) -> Settings:
    return Settings.model_validate({**settings.model_dump(), "alert_channel": channel})


async def test_an_unreachable_slack_backs_off_too(
    settings: Settings, fake_slack: FakeSlackApi
) -> None:
    url = fake_slack.url
    fake_slack.stop()  # nothing listens on the port any more
    unreachable = Settings.model_validate(
        {**with_slack(settings, fake_slack).model_dump(), "slack_api_url": url}
    )
    async with running_runtime(unreachable, now=NOW) as runtime:
        alert = await queue(runtime, "Acme")
        assert await deliver_pending_alerts(runtime) == DeliveryReport(retrying=1)
        row = (await outbox(runtime))[alert]
    assert (row["status"], row["attempts"], row["next_attempt_at"]) == (
        "pending",
        1,
        NOW + 10 * SECOND,
    )
    assert row["last_error"].startswith("ClientConnectorError: ")


async def test_without_slack_each_alert_is_printed_once_and_stays_queued(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    async with running_runtime(settings, now=NOW) as runtime:
        assert runtime.slack is None
        alert = await queue(runtime, "Acme")

        assert await deliver_pending_alerts(runtime) == DeliveryReport(previewed=1)
        assert capsys.readouterr().out == (
            "\n[tipoff] alert #1 for #sales-alerts (Slack is not configured: it stays queued)\n"
            "Acme is ready — 80\n"
            "==================\n"
            "• Acme requested a demo (+35)\n\n"
        )
        move_to(runtime, NOW + timedelta(minutes=5))
        assert await deliver_pending_alerts(runtime) == DeliveryReport()
        assert capsys.readouterr().out == ""

        row = (await outbox(runtime))[alert]
    assert state(row) == ("pending", 0, NOW, None)
    assert row["previewed_at"] == NOW
