"""Edges of the alert outbox that `make mutate` found unpinned (scoped with
`MUTANTS="'tipoff.alerts.delivery.x_deliver_pending_alerts*'"`), each asserted as a rep or
an operator sees it: what Slack received, and what the outbox holds afterwards."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import NOW
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_bot import running_runtime, with_slack
from tests.integration.test_delivery import SECOND, move_to, outbox, posted, queue, state
from tipoff.alerts.delivery import DeliveryReport, deliver_pending_alerts
from tipoff.alerts.outbox import STUCK_AFTER, troubled_alerts
from tipoff.runtime import Runtime
from tipoff.settings import Settings
from tipoff.store.tables import alerts


@pytest.fixture
def runtime(slack_runtime: Runtime) -> Runtime:
    """Here every runtime posts to the Slack stand-in."""
    return slack_runtime


async def owned_by(runtime: Runtime, alert: int, *, user: str | None, email: str | None) -> None:
    async with runtime.db.transaction() as conn:
        await conn.execute(
            alerts.update()
            .where(alerts.c.id == alert)
            .values(owner_user_id=user, owner_email=email)
        )


# --- how much one run takes -------------------------------------------------------------


async def test_one_run_posts_the_50_oldest_and_the_next_run_the_rest(
    runtime: Runtime, fake_slack: FakeSlackApi
) -> None:
    for n in range(51):
        await queue(runtime, f"Co{n:02}", created=NOW - (60 - n) * SECOND)

    assert await deliver_pending_alerts(runtime, pace_seconds=0) == DeliveryReport(sent=50)
    assert posted(fake_slack) == [f"Co{n:02} is ready — 80" for n in range(50)]
    assert await deliver_pending_alerts(runtime, pace_seconds=0) == DeliveryReport(sent=1)
    assert posted(fake_slack)[50:] == ["Co50 is ready — 80"]


async def test_a_run_goes_on_past_an_alert_another_run_took_meanwhile(
    runtime: Runtime, fake_slack: FakeSlackApi
) -> None:
    # The first run reads all three, then waits on Slack for the owner's DM; meanwhile a
    # second run (another replica's) posts the next one. The first run must skip that one
    # and still post the third, not stop there and leave it for its next interval.
    dm = await queue(runtime, "Acme", created=NOW - 3 * SECOND)
    taken = await queue(runtime, "Globex", created=NOW - 2 * SECOND)
    last = await queue(runtime, "Initech", created=NOW - 1 * SECOND)
    await owned_by(runtime, dm, user="U0MAYA", email=None)
    opening = fake_slack.hold("conversations.open")

    first = asyncio.create_task(deliver_pending_alerts(runtime))
    await fake_slack.wait_for("conversations.open")
    assert await deliver_pending_alerts(runtime, limit=1) == DeliveryReport(sent=1)
    opening.set()
    assert await first == DeliveryReport(sent=2)

    assert posted(fake_slack) == [
        "Globex is ready — 80",
        "Acme is ready — 80",
        "Initech is ready — 80",
    ]
    rows = await outbox(runtime)
    assert [rows[a]["status"] for a in (dm, taken, last)] == ["sent", "sent", "sent"]


# --- pacing: per channel, and per DM -----------------------------------------------------


async def test_a_dm_is_not_held_by_the_channels_pace_nor_by_another_owners_dm(
    runtime: Runtime, fake_slack: FakeSlackApi
) -> None:
    # With a pace of a minute, each post goes out at once: each is the first into its
    # place (the channel, Maya's DM, Kim's DM), well inside that minute on any machine.
    fake_slack.users["kim@ours.com"] = "U0KIM"
    channel = await queue(runtime, "Acme", created=NOW - 3 * SECOND)
    to_maya = await queue(runtime, "Globex", created=NOW - 2 * SECOND)
    to_kim = await queue(runtime, "Initech", created=NOW - 1 * SECOND)
    await owned_by(runtime, to_maya, user="U0MAYA", email=None)
    await owned_by(runtime, to_kim, user=None, email="kim@ours.com")

    assert await deliver_pending_alerts(runtime, pace_seconds=60) == DeliveryReport(sent=3)

    posts = fake_slack.calls_to("chat.postMessage")
    assert [p.params["channel"] for p in posts] == ["#sales-alerts", "D0MAYA", "D0KIM"]
    assert posts[-1].at - posts[0].at < 60
    rows = await outbox(runtime)
    assert [rows[a]["channel"] for a in (channel, to_maya, to_kim)] == [
        "C0SALESALRT",
        "D0MAYA",
        "D0KIM",
    ]


# --- failures: each counted, Slack's pause honoured --------------------------------------


async def test_a_429_after_a_server_error_holds_the_outbox_for_its_retry_after(
    runtime: Runtime, fake_slack: FakeSlackApi
) -> None:
    failing = await queue(runtime, "Acme", created=NOW - 3 * SECOND)
    limited = await queue(runtime, "Globex", created=NOW - 2 * SECOND)
    untried = await queue(runtime, "Initech", created=NOW - 1 * SECOND)
    fake_slack.fail_next("chat.postMessage", status=500)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=45)

    assert await deliver_pending_alerts(runtime) == DeliveryReport(
        retrying=2, rate_limited_until=NOW + 45 * SECOND
    )
    rows = await outbox(runtime)
    assert state(rows[failing]) == ("pending", 1, NOW + 45 * SECOND, "no error code (HTTP 500)")
    assert state(rows[limited]) == ("pending", 1, NOW + 45 * SECOND, "ratelimited (HTTP 429)")
    assert state(rows[untried]) == ("pending", 0, NOW + 45 * SECOND, None)
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


async def test_a_429_without_retry_after_holds_the_outbox_for_30_seconds(
    runtime: Runtime, fake_slack: FakeSlackApi
) -> None:
    # A proxy's 429 names no Retry-After: the client retries it twice (a second or two
    # apart), then the outbox holds itself for DEFAULT_RETRY_AFTER.
    limited = await queue(runtime, "Acme")
    fake_slack.fail_next("chat.postMessage", status=429, times=3)

    assert await deliver_pending_alerts(runtime) == DeliveryReport(
        retrying=1, rate_limited_until=NOW + 30 * SECOND
    )
    assert state((await outbox(runtime))[limited]) == (
        "pending",
        1,
        NOW + 30 * SECOND,
        "ratelimited (HTTP 429)",
    )
    assert len(fake_slack.calls_to("chat.postMessage")) == 3


async def test_every_failure_of_a_run_is_counted_logged_and_the_run_goes_on(
    runtime: Runtime, fake_slack: FakeSlackApi, caplog: pytest.LogCaptureFixture
) -> None:
    queued = [await queue(runtime, name) for name in ("Acme", "Globex", "Initech", "Umbrella")]
    fake_slack.fail_next("chat.postMessage", status=500, times=2)
    fake_slack.fail_next("chat.postMessage", error="is_archived", times=2)

    assert await deliver_pending_alerts(runtime) == DeliveryReport(retrying=2, failed=2)
    rows = await outbox(runtime)
    assert [(rows[a]["status"], rows[a]["attempts"]) for a in queued] == [
        ("pending", 1),
        ("pending", 1),
        ("failed", 1),
        ("failed", 1),
    ]
    # The operator's log names the channel each one failed to.
    for alert in queued[:2]:
        assert f"alert {alert} to #sales-alerts failed (no error code (HTTP 500))" in caplog.text
    for alert in queued[2:]:
        assert f"alert {alert} to #sales-alerts failed for good (is_archived" in caplog.text


# --- without Slack, and once it is configured --------------------------------------------


async def test_without_slack_each_run_prints_the_alerts_not_printed_yet(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    async with running_runtime(settings, now=NOW) as runtime:
        for n, name in enumerate(("Acme", "Globex", "Initech")):
            await queue(runtime, name, created=NOW - (3 - n) * SECOND)

        assert await deliver_pending_alerts(runtime, limit=2) == DeliveryReport(previewed=2)
        printed = capsys.readouterr().out
        assert "Acme is ready" in printed and "Globex is ready" in printed
        assert "Initech" not in printed

        # The two printed ones stay queued, but do not take the next run's places.
        assert await deliver_pending_alerts(runtime, limit=2) == DeliveryReport(previewed=1)
        assert "Initech is ready" in capsys.readouterr().out


async def test_an_alert_printed_while_slack_was_not_configured_is_posted_once_it_is(
    settings: Settings, fake_slack: FakeSlackApi, capsys: pytest.CaptureFixture[str]
) -> None:
    async with running_runtime(settings, now=NOW) as runtime:
        alert = await queue(runtime, "Acme")
        assert await deliver_pending_alerts(runtime) == DeliveryReport(previewed=1)
    assert "Acme is ready" in capsys.readouterr().out

    async with running_runtime(with_slack(settings, fake_slack), now=NOW) as runtime:
        assert await deliver_pending_alerts(runtime) == DeliveryReport(sent=1)
        row = (await outbox(runtime))[alert]
    assert posted(fake_slack) == ["Acme is ready — 80"]
    assert (row["status"], row["channel"]) == ("sent", "C0SALESALRT")


async def test_an_alert_held_by_a_dead_token_shows_why_in_the_stuck_list(
    runtime: Runtime, fake_slack: FakeSlackApi
) -> None:
    alert = await queue(runtime, "Acme")
    fake_slack.revoke("account_inactive")

    assert await deliver_pending_alerts(runtime) == DeliveryReport(paused=True)
    move_to(runtime, NOW + STUCK_AFTER + SECOND)
    # What `tipoff alerts` lists: stuck because of the token, no attempt counted.
    assert [(a.id, a.status, a.reason, a.attempts) for a in await troubled_alerts(runtime)] == [
        (alert, "stuck", "account_inactive", 0)
    ]
