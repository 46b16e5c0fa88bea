"""Who may see account data: signed requests into the real Bolt app and alerts delivered
through the fake Web API, which describes people (users.info) and channels
(conversations.info, conversations.list) as Slack does.

Alerts name contacts and emails, so none is posted into a channel shared with another
organisation (Slack Connect) without TIPOFF_ALERT_SHARED_CHANNELS; guests, people of
another organisation and requests naming no workspace get a short note; on Enterprise
Grid, the people of every workspace of the same organisation are ours."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import select

from tests import seed
from tests.conftest import NOW
from tests.fakes.signing import (
    SignedRequest,
    block_action,
    event_callback,
    interactivity,
    signed,
    slash_command,
)
from tests.fakes.slack_api import TEAM_ID, FakeSlackApi, running_fake_slack
from tests.fakes.slack_bot import SlackBot, slack_bot
from tipoff.alerts.delivery import DeliveryReport, deliver_pending_alerts
from tipoff.alerts.digest import send_digests
from tipoff.alerts.outbox import refused_posts, troubled_alerts
from tipoff.scores.rescoring import rescore
from tipoff.settings import Settings
from tipoff.slack.audience import CACHE_FOR, OUTSIDER_NOTE
from tipoff.slack_app.listeners.commands import SORRY
from tipoff.store.tables import alerts, feedback

PARTNERS = "C0PARTNERS1"  # an alert channel shared with a customer's organisation
GUEST = "U0GUEST0001"
SISTER = "U0SISTER001"  # of another workspace of our Enterprise Grid organisation
ORG = "E0TIPOFFORG"


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[SlackBot]:
    async with slack_bot(settings, now=NOW) as running:
        yield running


def configured(**values: Any) -> Callable[[Settings], Settings]:
    return lambda s: Settings.model_validate({**s.model_dump(), **values})


async def queue_acme_alert(bot: SlackBot) -> int:
    """Acme scored hot: its alert queued for the alert channel. Returns its account."""
    async with bot.runtime.db.transaction() as conn:
        acme = await seed.hot_acme(conn, NOW)
    await rescore(bot.runtime)
    return acme


async def queue_another(bot: SlackBot, domain: str) -> None:
    async with bot.runtime.db.transaction() as conn:
        await seed.hot_acme(conn, NOW, domain=domain, name=domain.split(".")[0].title())
    await rescore(bot.runtime)


async def alert_rows(bot: SlackBot) -> list[dict[str, Any]]:
    async with bot.runtime.db.transaction() as conn:
        return [dict(r._mapping) for r in await conn.execute(select(alerts).order_by(alerts.c.id))]


def posts(fake: FakeSlackApi) -> list[str]:
    return [c.params["channel"] for c in fake.calls_to("chat.postMessage")]


# --- alerts and Slack Connect -------------------------------------------------------------


async def test_an_alert_bound_for_an_externally_shared_channel_fails_visibly_saying_why(
    settings: Settings,
) -> None:
    with running_fake_slack() as fake:
        fake.add_channel(PARTNERS, "acme-partners", member=True, ext_shared=True)
        async with slack_bot(
            settings, now=NOW, fake=fake, configure=configured(alert_channel=PARTNERS)
        ) as bot:
            await queue_acme_alert(bot)
            assert await deliver_pending_alerts(bot.runtime) == DeliveryReport(failed=1)
            assert posts(fake) == []  # nothing the other organisation could read
            (row,) = await alert_rows(bot)
            assert (row["status"], row["failure_reason"]) == ("failed", "channel_externally_shared")
            assert "TIPOFF_ALERT_SHARED_CHANNELS" in row["last_error"]
            (listed,) = await troubled_alerts(bot.runtime)  # what `tipoff alerts` shows
            assert (listed.status, listed.reason) == ("failed", "channel_externally_shared")


async def test_a_channel_given_by_name_and_one_being_shared_are_refused_too(
    settings: Settings,
) -> None:
    with running_fake_slack() as fake:
        fake.add_channel("C0PENDING01", "acme-deal", member=True, pending_ext_shared=True)
        async with slack_bot(
            settings, now=NOW, fake=fake, configure=configured(alert_channel="#acme-deal")
        ) as bot:
            await queue_acme_alert(bot)
            assert await deliver_pending_alerts(bot.runtime) == DeliveryReport(failed=1)
            assert posts(fake) == []
            # conversations.info takes IDs only: the name was found in conversations.list.
            assert fake.calls_to("conversations.list")
            assert fake.calls_to("conversations.info") == []


async def test_with_the_opt_in_and_in_an_org_shared_channel_alerts_are_posted(
    settings: Settings,
) -> None:
    with running_fake_slack() as fake:
        fake.add_channel(PARTNERS, "acme-partners", member=True, ext_shared=True)
        opted_in = configured(alert_channel=PARTNERS, alert_shared_channels=True)
        async with slack_bot(settings, now=NOW, fake=fake, configure=opted_in) as bot:
            await queue_acme_alert(bot)
            assert await deliver_pending_alerts(bot.runtime) == DeliveryReport(sent=1)
            assert posts(fake) == [PARTNERS]

    with running_fake_slack() as fake:
        # Shared between workspaces of our own Enterprise Grid organisation: ours.
        fake.add_channel("C0ORGWIDE01", "all-sales", member=True, org_shared=True)
        org_wide = configured(alert_channel="C0ORGWIDE01")
        async with slack_bot(settings, now=NOW, fake=fake, configure=org_wide) as bot:
            await queue_another(bot, "globex.io")
            assert await deliver_pending_alerts(bot.runtime) == DeliveryReport(sent=1)


async def test_channel_info_is_asked_once_until_sharing_changes_or_it_gets_old(
    settings: Settings,
) -> None:
    with running_fake_slack() as fake:
        channel = fake.add_channel(PARTNERS, "acme-partners", member=True)
        async with slack_bot(
            settings, now=NOW, fake=fake, configure=configured(alert_channel=PARTNERS)
        ) as bot:
            await queue_acme_alert(bot)
            await queue_another(bot, "globex.io")
            report = await deliver_pending_alerts(bot.runtime, pace_seconds=0)
            assert report == DeliveryReport(sent=2)
            assert len(fake.calls_to("conversations.info")) == 1  # not once an alert

            # The channel is shared with a customer; Slack sends channel_shared.
            channel.ext_shared = True
            event = {
                "type": "channel_shared",
                "connected_team_id": "T0PARTNER9",
                "channel": PARTNERS,
                "event_ts": "1763650800.000300",
            }
            assert (await bot.send(event_callback(event))).status_code == 200
            await wait_until(lambda: PARTNERS not in bot.runtime.audience.channels)
            await queue_another(bot, "initech.io")
            assert await deliver_pending_alerts(bot.runtime) == DeliveryReport(failed=1)
            assert len(fake.calls_to("conversations.info")) == 2

            # No event (one missed while down): after CACHE_FOR it is asked again anyway.
            channel.ext_shared = False
            await queue_another(bot, "umbrella.io")
            assert await deliver_pending_alerts(bot.runtime) == DeliveryReport(failed=1)
            bot.clock.now = NOW + CACHE_FOR
            await queue_another(bot, "hooli.io")
            assert await deliver_pending_alerts(bot.runtime) == DeliveryReport(sent=1)
            assert len(fake.calls_to("conversations.info")) == 3


async def test_the_digest_is_not_posted_into_an_externally_shared_channel_either(
    settings: Settings,
) -> None:
    with running_fake_slack() as fake:
        fake.add_channel(PARTNERS, "acme-partners", member=True, ext_shared=True)
        async with slack_bot(
            settings, now=NOW, fake=fake, configure=configured(alert_channel=PARTNERS)
        ) as bot:
            await queue_acme_alert(bot)
            bot.clock.now = NOW.replace(hour=23)  # after TIPOFF_DIGEST_AT (09:00 UTC)
            assert await send_digests(bot.runtime) == []
            assert posts(fake) == []
            (refused,) = await refused_posts(bot.runtime)  # as `tipoff alerts` lists it
            assert (refused.kind, refused.reason) == ("digest", "channel_externally_shared")


async def wait_until(done: Callable[[], bool]) -> None:
    """An event is acknowledged before its listener runs: wait for its effect."""
    for _ in range(500):
        if done():
            return
        await asyncio.sleep(0.01)
    assert done()


# --- people -------------------------------------------------------------------------------


async def test_guests_get_the_short_note_not_account_data(settings: Settings) -> None:
    with running_fake_slack() as fake:
        fake.add_person(GUEST, guest="multi")
        fake.add_person("U0SINGLE001", guest="single")
        async with slack_bot(settings, now=NOW, fake=fake) as bot:
            acme = await queue_acme_alert(bot)
            for guest in (GUEST, "U0SINGLE001"):
                answer = (await bot.send(slash_command("acme.io", user_id=guest))).json()
                assert answer == {"response_type": "ephemeral", "text": OUTSIDER_NOTE}
            member = (await bot.send(slash_command("acme.io"))).json()
            assert member["text"] == "Acme: 90 (hot)"

            click = block_action(
                "feedback_right", account_id=acme, channel="C0SALESALRT", ts="1.000100"
            )
            click["user"]["id"] = GUEST
            assert (await bot.send(interactivity(click))).status_code == 200
            async with bot.runtime.db.transaction() as conn:
                assert (await conn.execute(select(feedback))).all() == []

            home = {"type": "app_home_opened", "user": GUEST, "tab": "home", "channel": "D0G"}
            assert (await bot.send(event_callback(home))).status_code == 200
            (published,) = await fake.wait_for("views.publish")
            assert published.params["user_id"] == GUEST
            assert "Acme" not in str(published.params["view"])
            assert OUTSIDER_NOTE in str(published.params["view"])


async def test_a_member_made_a_guest_is_one_at_once(bot: SlackBot) -> None:
    await queue_acme_alert(bot)
    assert (await bot.send(slash_command("acme.io"))).json()["text"] == "Acme: 90 (hot)"
    # An admin makes Maya a guest: Slack sends user_change with the new account type.
    bot.fake.add_person("U0MAYAREP01", guest="multi")
    user = {"id": "U0MAYAREP01", "team_id": TEAM_ID, "is_restricted": True, "deleted": False}
    change = event_callback({"type": "user_change", "user": user, "event_ts": "1.2"})
    assert (await bot.send(change)).status_code == 200
    await wait_until(lambda: bot.runtime.audience.people["U0MAYAREP01"][0].guest)
    answer = (await bot.send(slash_command("acme.io"))).json()
    assert answer == {"response_type": "ephemeral", "text": OUTSIDER_NOTE}
    assert len(bot.fake.calls_to("users.info")) == 1  # the event said so: Slack not asked


async def test_someone_slack_cannot_say_anything_about_sees_nothing(bot: SlackBot) -> None:
    await queue_acme_alert(bot)
    bot.fake.fail_next("users.info", status=503)  # Slack is down: who is asking is unknown
    answer = await bot.send(slash_command("acme.io"))
    assert answer.text == SORRY
    assert "Acme" not in answer.text


async def test_a_request_that_names_no_workspace_is_nobodys(bot: SlackBot) -> None:
    acme = await queue_acme_alert(bot)
    answer = (await bot.send(slash_command("acme.io", team_id=""))).json()
    assert answer == {"response_type": "ephemeral", "text": OUTSIDER_NOTE}
    click = block_action("feedback_right", account_id=acme, channel="C0SALESALRT", ts="1.000100")
    click["user"]["team_id"] = ""
    click["team"]["id"] = ""
    assert (await bot.send(interactivity(click))).status_code == 200
    async with bot.runtime.db.transaction() as conn:
        assert (await conn.execute(select(feedback))).all() == []


async def test_slacks_url_verification_names_no_workspace_and_is_still_answered(
    bot: SlackBot,
) -> None:
    body = {
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "challenge": "3eZbrw1aBm2r",
        "type": "url_verification",
    }
    request = signed(json.dumps(body))
    headers = {**request.headers, "Content-Type": "application/json"}
    answer = await bot.send(SignedRequest(request.body, headers))
    assert (answer.status_code, answer.json()) == (200, {"challenge": "3eZbrw1aBm2r"})


async def test_on_enterprise_grid_the_people_of_the_same_organisation_are_ours(
    settings: Settings,
) -> None:
    with running_fake_slack() as fake:
        fake.enterprise_id = ORG
        fake.add_person(SISTER, team_id="T0SISTER01", enterprise_id=ORG)
        fake.add_person("U0STRANGER1", team_id="T0ELSEWHERE", enterprise_id="E0OTHERORG")
        async with slack_bot(settings, now=NOW, fake=fake) as bot:
            await queue_acme_alert(bot)
            sister = slash_command(
                "acme.io", user_id=SISTER, team_id="T0SISTER01", enterprise_id=ORG
            )
            assert (await bot.send(sister)).json()["text"] == "Acme: 90 (hot)"
            stranger = slash_command(
                "acme.io", user_id="U0STRANGER1", team_id="T0ELSEWHERE", enterprise_id="E0OTHERORG"
            )
            answer = (await bot.send(stranger)).json()
            assert answer == {"response_type": "ephemeral", "text": OUTSIDER_NOTE}

    with running_fake_slack() as fake:  # not on Grid: another workspace is another org
        fake.add_person(SISTER, team_id="T0SISTER01", enterprise_id=ORG)
        async with slack_bot(settings, now=NOW, fake=fake) as bot:
            sister = slash_command(
                "acme.io", user_id=SISTER, team_id="T0SISTER01", enterprise_id=ORG
            )
            answer = (await bot.send(sister)).json()
            assert answer == {"response_type": "ephemeral", "text": OUTSIDER_NOTE}
