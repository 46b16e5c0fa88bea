"""The rep workflow through the real Bolt app: signed clicks, commands and events in, a real
SQLite file, the loopback Slack Web API fake out, and a clock the tests move for
cooldowns, SLAs and digests."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests import seed
from tests.conftest import NOW
from tests.fakes.signing import (
    SIGNING_SECRET,
    block_action,
    interactivity,
    signature,
    slash_command,
)
from tests.fakes.slack_api import TEAM_ID
from tests.fakes.slack_bot import SlackBot, slack_bot
from tipoff import reps
from tipoff.alerts.delivery import deliver_pending_alerts, slack_user_for
from tipoff.alerts.digest import send_digests
from tipoff.alerts.sla import SlaReport, check_slas
from tipoff.model import loader
from tipoff.reps import lapse_deactivated_owners
from tipoff.scores.rescoring import rescore
from tipoff.settings import Settings
from tipoff.store.tables import (
    account_owners,
    alerts,
    feedback,
    people,
    score_history,
    scores,
    slack_users,
    snoozes,
)

CHANNEL = "C0SALESALRT"
MAYA, JON = "U0MAYAREP01", "U0JONREP002"
HOUR = timedelta(hours=1)
DEFAULT_MODEL = Path(loader.__file__).with_name("default.yml").read_text("utf-8")


def configured(**values: Any) -> Callable[[Settings], Settings]:
    def configure(settings: Settings) -> Settings:
        return Settings.model_validate({**settings.model_dump(), **values})

    return configure


def model_file(tmp_path: Path, **replace: str) -> Path:
    """The default model with some lines of its routing section replaced."""
    text = DEFAULT_MODEL
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "model.yml"
    path.write_text(text, "utf-8")
    return path


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[SlackBot]:
    async with slack_bot(settings, now=NOW) as running:
        yield running


async def hot_account(
    bot: SlackBot, domain: str, name: str, *, employees: int = 250, **traits: Any
) -> int:
    """A hot account (90 under the default model, like tests.seed.hot_acme)."""
    async with bot.runtime.db.transaction() as conn:
        account = await seed.account(conn, NOW, domain, name, employees=employees, **traits)
        vp = await seed.person(conn, NOW, account, "Dana Lee", f"dana@{domain}", "VP Engineering")
        eng = await seed.person(conn, NOW, account, "Sam Ortiz", f"sam@{domain}", "Engineer")
        for days, who, event in [(1, vp, "Core Action Completed"), (1, vp, "Session Started"),
                                 (2, eng, "Session Started"), (3, vp, "Session Started")]:  # fmt: skip
            await seed.signal(conn, NOW - timedelta(days=days), account, who, event)
    return account


async def add_signal(bot: SlackBot, account: int, event: str) -> None:
    """`event` by the account's first person (Dana Lee), an hour ago."""
    async with bot.runtime.db.transaction() as conn:
        dana = await conn.scalar(
            select(people.c.id).where(people.c.account_id == account).order_by(people.c.id)
        )
        await seed.signal(conn, bot.clock.now - HOUR, account, dana, event)


async def rows(bot: SlackBot, table: Any) -> list[dict[str, Any]]:
    async with bot.runtime.db.transaction() as conn:
        result = await conn.execute(select(table))
        return [dict(r._mapping) for r in result]


async def alert_rows(bot: SlackBot) -> list[dict[str, Any]]:
    return sorted(await rows(bot, alerts), key=lambda r: r["id"])


async def post_acme(bot: SlackBot) -> tuple[int, dict[str, Any]]:
    acme = await hot_account(bot, "acme.io", "Acme")
    await rescore(bot.runtime)
    assert (await deliver_pending_alerts(bot.runtime)).sent == 1
    (post,) = bot.fake.calls_to("chat.postMessage")
    return acme, post.params


def click(action_id: str, account: int, blocks: list[dict[str, Any]], **extra: Any) -> Any:
    payload = block_action(
        action_id,
        account_id=account,
        channel=CHANNEL,
        ts="1763650800.000001",
        message_blocks=blocks,
        **extra,
    )
    return payload


def snooze_click(account: int, days: int, blocks: list[dict[str, Any]]) -> Any:
    payload = click("workflow_snooze", account, blocks)
    action = payload["actions"][0]
    for key in ("value", "text", "style"):
        action.pop(key, None)
    action.update(
        type="static_select",
        selected_option={"text": {"type": "plain_text", "text": "x"}, "value": f"{account}:{days}"},
    )
    return payload


def status_block(text: str) -> dict[str, Any]:
    return {
        "type": "context",
        "block_id": "tipoff_status",
        "elements": [{"type": "mrkdwn", "text": text}],
    }


def date(at: datetime) -> str:
    return (
        f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{at:%Y-%m-%d %H:%M} UTC>"
    )


# --- the alert carries Claim and Snooze, and an opener -----------------------------------


async def test_an_alert_has_an_opener_and_right_wrong_claim_snooze(bot: SlackBot) -> None:
    _, post = await post_acme(bot)
    assert post["blocks"][5] == {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": "*Suggested opener*\n_I saw you completed a core action yesterday and your "
            "team started 3 sessions in the last 14 days. Teams that get this far usually want "
            "to roll it out more widely: worth comparing notes on what you're setting up?_",
        },
    }
    controls = post["blocks"][-1]["elements"]
    assert [(c["type"], c["action_id"]) for c in controls] == [
        ("button", "feedback_right"),
        ("button", "feedback_wrong"),
        ("button", "workflow_claim"),
        ("static_select", "workflow_snooze"),
    ]
    assert [o["text"]["text"] for o in controls[3]["options"]] == [
        "1 day",
        "3 days",
        "1 week",
        "30 days",
    ]


# --- Claim -------------------------------------------------------------------------------


async def test_claim_makes_the_rep_the_owner_updates_the_alert_and_records_time_to_claim(
    bot: SlackBot,
) -> None:
    acme, post = await post_acme(bot)
    bot.clock.now = NOW + 2 * HOUR
    response = await bot.send(interactivity(click("workflow_claim", acme, post["blocks"])))
    assert (response.status_code, response.text) == (200, "")

    (update,) = await bot.fake.wait_for("chat.update")
    assert update.params["channel"] == CHANNEL and update.params["ts"] == "1763650800.000001"
    assert update.params["blocks"] == [*post["blocks"], status_block(f"🙋 Claimed by <@{MAYA}>")]
    assert await rows(bot, account_owners) == [
        {"account_id": acme, "slack_user_id": MAYA, "via": "claim", "assigned_by": MAYA,
         "assigned_at": NOW + 2 * HOUR}
    ]  # fmt: skip
    (alert,) = await alert_rows(bot)
    assert (alert["claimed_by"], alert["sent_at"], alert["claimed_at"]) == (
        MAYA,
        NOW,
        NOW + 2 * HOUR,
    )
    (note,) = await rows(bot, feedback)
    assert (note["verdict"], note["slack_user_id"], note["alert_id"]) == (
        "claim",
        MAYA,
        alert["id"],
    )


async def test_a_second_claim_is_told_who_has_it_and_changes_nothing(bot: SlackBot) -> None:
    acme, post = await post_acme(bot)
    await bot.send(interactivity(click("workflow_claim", acme, post["blocks"])))
    await bot.fake.wait_for("chat.update")

    second = click("workflow_claim", acme, post["blocks"], user_id=JON, user_name="jon.rep")
    assert (await bot.send(interactivity(second))).status_code == 200
    (told,) = await bot.fake.wait_for("chat.postEphemeral")
    assert told.params == {
        "team_id": TEAM_ID,
        "channel": CHANNEL,
        "user": JON,
        "text": f"<@{MAYA}> already has *Acme* (since {date(NOW)}): ask them first.",
    }
    assert [r["slack_user_id"] for r in await rows(bot, account_owners)] == [MAYA]
    assert len(bot.fake.calls_to("chat.update")) == 1


# --- Snooze ------------------------------------------------------------------------------


async def test_snooze_hides_the_account_for_the_period_picked(bot: SlackBot) -> None:
    acme, post = await post_acme(bot)
    assert (
        await bot.send(interactivity(snooze_click(acme, 30, post["blocks"])))
    ).status_code == 200
    (update,) = await bot.fake.wait_for("chat.update")
    until = NOW + timedelta(days=30)
    assert update.params["blocks"] == [
        *post["blocks"],
        status_block(f"😴 Snoozed by <@{MAYA}> until {date(until)}"),
    ]
    (row,) = await rows(bot, snoozes)
    assert (row["account_id"], row["slack_user_id"], row["until"]) == (acme, MAYA, until)

    # Past the alert's cooldown, a demo request would alert again; snoozed, it does not.
    bot.clock.now = NOW + 4 * 24 * HOUR
    await add_signal(bot, acme, "Demo Requested")
    assert (await rescore(bot.runtime)).alerts_queued == 0


async def test_a_snooze_or_claim_clicked_twice_is_stored_once(bot: SlackBot) -> None:
    acme, post = await post_acme(bot)
    for _ in range(2):
        assert (
            await bot.send(interactivity(snooze_click(acme, 3, post["blocks"])))
        ).status_code == 200
        assert (
            await bot.send(interactivity(click("workflow_claim", acme, post["blocks"])))
        ).status_code == 200
    assert len(await rows(bot, snoozes)) == 1
    assert sorted(r["verdict"] for r in await rows(bot, feedback)) == ["claim", "snooze"]
    # A day later the same rep snoozing again is extending it: kept.
    bot.clock.now = NOW + 24 * HOUR
    await bot.send(interactivity(snooze_click(acme, 3, post["blocks"])))
    assert [r["until"] for r in await rows(bot, snoozes)] == [
        NOW + timedelta(days=3),
        NOW + timedelta(days=4),
    ]


# --- no noise ----------------------------------------------------------------------------


async def test_after_the_cooldown_only_a_new_strong_signal_alerts_again(bot: SlackBot) -> None:
    acme, _ = await post_acme(bot)
    await add_signal(bot, acme, "Demo Requested")
    bot.clock.now = NOW + 71 * HOUR
    assert (await rescore(bot.runtime)).alerts_queued == 0  # inside the 72 h cooldown
    bot.clock.now = NOW + 73 * HOUR
    assert (await rescore(bot.runtime, everything=True)).alerts_queued == 1
    assert (await rescore(bot.runtime, everything=True)).alerts_queued == 0  # said once
    newest = (await alert_rows(bot))[-1]
    assert newest["reason"] == "new signal: demo_request"
    assert newest["blocks"][-2]["elements"][0]["text"] == (
        f"Scored {date(NOW + 73 * HOUR)} · New: Dana Lee (VP Engineering) requested a demo "
        "3 days ago · Was this right? Your answer tunes the model."
    )


async def test_a_wrong_keeps_the_account_quiet_for_its_cooldown(bot: SlackBot) -> None:
    from tests.fakes.signing import view_submission

    acme, _ = await post_acme(bot)
    wrong = view_submission(
        account_id=acme, channel=CHANNEL, ts="1763650800.000001", reason="bad_timing"
    )
    assert (await bot.send(interactivity(wrong))).status_code == 200
    await add_signal(bot, acme, "Demo Requested")
    bot.clock.now = NOW + 5 * 24 * HOUR  # past the alert's cooldown, inside the Wrong's 14 days
    assert (await rescore(bot.runtime, everything=True)).alerts_queued == 0


# --- routing to people and channels ------------------------------------------------------


async def test_an_owned_account_is_alerted_in_its_owners_dm(bot: SlackBot) -> None:
    acme, post = await post_acme(bot)
    await bot.send(interactivity(click("workflow_claim", acme, post["blocks"])))
    await bot.fake.wait_for("chat.update")
    await add_signal(bot, acme, "Demo Requested")
    bot.clock.now = NOW + 73 * HOUR
    await rescore(bot.runtime, everything=True)
    assert (await deliver_pending_alerts(bot.runtime)).sent == 1
    (opened,) = bot.fake.calls_to("conversations.open")
    assert opened.params["users"] == MAYA
    assert bot.fake.calls_to("chat.postMessage")[-1].params["channel"] == "D0MAYAREP01"
    newest = (await alert_rows(bot))[-1]
    assert (newest["owner_user_id"], newest["target"], newest["channel"]) == (
        MAYA, "#sales-alerts", "D0MAYAREP01"
    )  # fmt: skip


async def test_an_owner_email_trait_is_looked_up_once_and_an_unknown_one_falls_back(
    bot: SlackBot,
) -> None:
    bot.fake.users["kim@ours.com"] = "U0KIMREP003"
    await hot_account(bot, "acme.io", "Acme", owner_email="Kim@ours.com")
    await hot_account(bot, "beta.io", "Beta", owner_email="kim@ours.com")
    await hot_account(bot, "gamma.io", "Gamma", owner_email="left@ours.com")
    await rescore(bot.runtime)
    assert (await deliver_pending_alerts(bot.runtime, pace_seconds=0)).sent == 3

    assert [c.params["email"] for c in bot.fake.calls_to("users.lookupByEmail")] == [
        "kim@ours.com",  # once for two accounts: cached
        "left@ours.com",
    ]
    assert [
        (c.params["channel"], c.params["text"]) for c in bot.fake.calls_to("chat.postMessage")
    ] == [
        ("D0KIMREP003", "🔥 Acme is hot — 90"),
        ("D0KIMREP003", "🔥 Beta is hot — 90"),
        ("#sales-alerts", "🔥 Gamma is hot — 90"),  # nobody in Slack by that email
    ]
    cached = {r["email"]: r["slack_user_id"] for r in await rows(bot, slack_users)}
    assert cached == {"kim@ours.com": "U0KIMREP003", "left@ours.com": None}


async def test_slack_knowing_nobody_by_an_email_is_remembered_for_a_day_only(
    bot: SlackBot,
) -> None:
    assert bot.runtime.slack is not None
    assert await slack_user_for(bot.runtime, bot.runtime.slack, "new@ours.com") is None
    bot.fake.users["new@ours.com"] = "U0NEWREP004"  # she joins Slack
    bot.clock.now = NOW + 23 * HOUR
    assert await slack_user_for(bot.runtime, bot.runtime.slack, "new@ours.com") is None
    bot.clock.now = NOW + 25 * HOUR  # TIPOFF_SLACK_USER_NOT_FOUND_TTL_HOURS=24 by default
    assert await slack_user_for(bot.runtime, bot.runtime.slack, "new@ours.com") == "U0NEWREP004"
    assert len(bot.fake.calls_to("users.lookupByEmail")) == 2
    # Found, it is kept: no more lookups.
    bot.clock.now = NOW + 100 * HOUR
    assert await slack_user_for(bot.runtime, bot.runtime.slack, "new@ours.com") == "U0NEWREP004"
    assert len(bot.fake.calls_to("users.lookupByEmail")) == 2


async def test_a_deactivated_user_found_by_email_is_nobody(bot: SlackBot) -> None:
    bot.fake.users["gone@ours.com"] = "U0GONEREP05"
    bot.fake.deactivated.add("U0GONEREP05")
    await hot_account(bot, "acme.io", "Acme", owner_email="gone@ours.com")
    await rescore(bot.runtime)
    assert (await deliver_pending_alerts(bot.runtime)).sent == 1
    assert bot.fake.calls_to("chat.postMessage")[0].params["channel"] == "#sales-alerts"


async def test_a_dm_that_cannot_be_opened_falls_back_to_the_channel(bot: SlackBot) -> None:
    bot.fake.users["kim@ours.com"] = "U0KIMREP003"
    bot.fake.unreachable.add("U0KIMREP003")
    await hot_account(bot, "acme.io", "Acme", owner_email="kim@ours.com")
    await rescore(bot.runtime)
    assert (await deliver_pending_alerts(bot.runtime)).sent == 1
    assert bot.fake.calls_to("chat.postMessage")[0].params["channel"] == "#sales-alerts"


async def test_channels_per_track_and_segment_come_from_the_model(
    settings: Settings, tmp_path: Path
) -> None:
    model = model_file(
        tmp_path,
        **{
            "  channels: {}\n": '  channels: {hot: "#sales-hot"}\n',
            "  segments: []\n": '  segments:\n    - {name: enterprise, employees: {min: 1000}, channel: "#enterprise"}\n',
        },
    )
    async with slack_bot(settings, now=NOW, configure=configured(model_path=model)) as bot:
        await hot_account(bot, "acme.io", "Acme", employees=250)
        await hot_account(bot, "bigco.com", "BigCo", employees=5000)
        await rescore(bot.runtime)
        assert [(r["target"], r["text"]) for r in await alert_rows(bot)] == [
            ("#sales-hot", "🔥 Acme is hot — 90"),
            ("#enterprise", "🔥 BigCo is hot — 90"),
        ]


async def test_many_accounts_at_once_are_one_bundled_message(
    settings: Settings, tmp_path: Path
) -> None:
    model = model_file(tmp_path, **{"  bundle_over: 15\n": "  bundle_over: 2\n",
                                    "  bundle_top: 5\n": "  bundle_top: 2\n"})  # fmt: skip
    async with slack_bot(settings, now=NOW, configure=configured(model_path=model)) as bot:
        for domain, name in [("acme.io", "Acme"), ("beta.io", "Beta"), ("gamma.io", "Gamma")]:
            await hot_account(bot, domain, name)
        assert (await rescore(bot.runtime)).alerts_queued == 3
        assert (await deliver_pending_alerts(bot.runtime)).sent == 1
        (post,) = bot.fake.calls_to("chat.postMessage")
        assert post.params["text"] == "3 accounts just became ready"
        texts = [
            b.get("text", {}).get("text") or b["elements"][0]["text"] for b in post.params["blocks"]
        ]
        assert texts == [
            "3 accounts just became ready",
            f"Scored {date(NOW)} · the best 2 first",
            "*Acme* (acme.io) — *90* hot · `/tipoff acme.io`",
            "*Beta* (beta.io) — *90* hot · `/tipoff beta.io`",
            "…and 1 more: Gamma (90). All of them: `/tipoff top`",
        ]
        assert post.params["blocks"][2]["accessory"]["action_id"] == "workflow_claim"
        assert [(r["reason"], r["status"]) for r in await alert_rows(bot)] == [
            ("bundle", "sent"),
            ("entered hot", "bundled"),
            ("entered hot", "bundled"),
            ("entered hot", "bundled"),
        ]

        # Claiming a line of the bundle: the rep is told, the bundle stays as it is.
        beta = int(post.params["blocks"][3]["accessory"]["value"])
        claim = click("workflow_claim", beta, post.params["blocks"])
        assert (await bot.send(interactivity(claim))).status_code == 200
        (told,) = await bot.fake.wait_for("chat.postEphemeral")
        assert (told.params["user"], told.params["text"]) == (
            MAYA, "*Beta* is yours now: its alerts will come to your DM."
        )  # fmt: skip
        assert [(r["account_id"], r["slack_user_id"]) for r in await rows(bot, account_owners)] == [
            (beta, MAYA)
        ]
        assert bot.fake.calls_to("chat.update") == []


async def test_delivery_is_paced_per_channel(bot: SlackBot) -> None:
    await hot_account(bot, "acme.io", "Acme")
    await hot_account(bot, "beta.io", "Beta")
    await rescore(bot.runtime)
    started = time.monotonic()
    assert (await deliver_pending_alerts(bot.runtime, pace_seconds=0.3)).sent == 2
    assert time.monotonic() - started >= 0.3


# --- SLA ---------------------------------------------------------------------------------


async def test_an_unclaimed_alert_is_reminded_in_its_thread_then_escalated(
    settings: Settings,
) -> None:
    configure = configured(escalation_channel="#sales-leads")
    async with slack_bot(settings, now=NOW, configure=configure) as bot:
        await post_acme(bot)  # Friday 15:00; hot: 4 working hours, then 4 more
        bot.clock.now = datetime(2026, 11, 23, 10, 59, tzinfo=NOW.tzinfo)  # Monday
        assert (await check_slas(bot.runtime)).reminded == 0
        bot.clock.now = datetime(2026, 11, 23, 11, 0, tzinfo=NOW.tzinfo)
        assert (await check_slas(bot.runtime)).reminded == 1
        assert (await check_slas(bot.runtime)).reminded == 0  # once
        reminder = bot.fake.calls_to("chat.postMessage")[-1].params
        assert reminder == {
            "channel": CHANNEL,
            "thread_ts": "1763650800.000001",
            "text": "⏰ Still unclaimed after 4 working hours: who takes *Acme*? "
            "Press *Claim* on the alert above.",
        }
        bot.clock.now = datetime(2026, 11, 23, 15, 0, tzinfo=NOW.tzinfo)
        assert (await check_slas(bot.runtime)).escalated == 1
        escalation = bot.fake.calls_to("chat.postMessage")[-1].params
        assert escalation == {
            "channel": "#sales-leads",
            "text": f"🚨 *Acme* (hot, 90) has been unclaimed for 8 working hours: see its alert in <#{CHANNEL}>.",
        }
        assert (await check_slas(bot.runtime)).escalated == 0
        (alert,) = await alert_rows(bot)
        assert (alert["reminded_at"], alert["escalated_at"]) == (
            datetime(2026, 11, 23, 11, 0, tzinfo=NOW.tzinfo),
            datetime(2026, 11, 23, 15, 0, tzinfo=NOW.tzinfo),
        )


async def test_a_claimed_alert_gets_no_reminder(bot: SlackBot) -> None:
    acme, post = await post_acme(bot)
    await bot.send(interactivity(click("workflow_claim", acme, post["blocks"])))
    await bot.fake.wait_for("chat.update")
    bot.clock.now = NOW + 7 * 24 * HOUR
    assert await check_slas(bot.runtime) == SlaReport()
    assert len(bot.fake.calls_to("chat.postMessage")) == 1


# --- the daily digest --------------------------------------------------------------------


async def test_the_digest_goes_out_once_a_day_at_its_local_time_even_across_restarts(
    settings: Settings,
) -> None:
    configure = configured(digest_at="09:00", digest_time_zone="Europe/Berlin")
    saturday_9 = datetime(2026, 11, 21, 8, 0, tzinfo=NOW.tzinfo)  # 09:00 in Berlin
    async with slack_bot(settings, now=NOW, configure=configure) as bot:
        acme = await hot_account(bot, "acme.io", "Acme")
        async with bot.runtime.db.transaction() as conn:
            await conn.execute(score_history.insert().values(
                account_id=acme, score=41, track="low-touch", scored_at=NOW - 2 * 24 * HOUR))  # fmt: skip
        await rescore(bot.runtime)
        await deliver_pending_alerts(bot.runtime)
        bot.clock.now = saturday_9 - timedelta(minutes=1)
        assert await send_digests(bot.runtime) == []
        bot.clock.now = saturday_9
        assert await send_digests(bot.runtime) == ["#sales-alerts"]
        assert await send_digests(bot.runtime) == []
        digest = bot.fake.calls_to("chat.postMessage")[-1].params
        assert digest["channel"] == "#sales-alerts"
        assert digest["text"] == "Tipoff digest for 2026-11-21: 1 in, 0 out, 1 unclaimed"
        assert [b.get("text", {}).get("text") for b in digest["blocks"][:4]] == [
            "Tipoff digest — 2026-11-21",
            "*Entered the alerting tracks*\n• *Acme* — 90 hot",
            "*Top movers*\n• *Acme* — 90 hot (+49)",
            "*Still unclaimed*\n• *Acme* — 90 hot",
        ]
        posts = len(bot.fake.calls_to("chat.postMessage"))
    async with slack_bot(settings, now=saturday_9 + HOUR, configure=configure) as again:
        assert await send_digests(again.runtime) == []  # a restart sends nothing twice
        assert again.fake.calls_to("chat.postMessage") == []
        assert posts == 2


# --- App Home, /tipoff mine, /tipoff assign, lookups ------------------------------------


def app_home_opened(user: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "team_id": TEAM_ID,
            "api_app_id": "A0TIPOFFAPP",
            "type": "event_callback",
            "event_id": "Ev0HOMEOPEN1",
            "event_time": 1763650800,
            "event": {
                "type": "app_home_opened",
                "user": user,
                "channel": "D0HOME",
                "tab": "home",
                "event_ts": "1763650800.000100",
            },
        }
    )
    ts = int(time.time())
    return body.encode(), {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(body, secret=SIGNING_SECRET, timestamp=ts),
    }


async def test_app_home_shows_the_reps_accounts_and_the_top_unclaimed(bot: SlackBot) -> None:
    acme, post = await post_acme(bot)
    await hot_account(bot, "beta.io", "Beta")
    async with bot.runtime.db.transaction() as conn:
        await conn.execute(score_history.insert().values(
            account_id=acme, score=41, track="low-touch", scored_at=NOW - 2 * 24 * HOUR))  # fmt: skip
    await rescore(bot.runtime)
    await bot.send(interactivity(click("workflow_claim", acme, post["blocks"])))
    await bot.fake.wait_for("chat.update")

    body, headers = app_home_opened(MAYA)
    assert (await bot.http.post("/slack/events", content=body, headers=headers)).status_code == 200
    (published,) = await bot.fake.wait_for("views.publish")
    assert published.params["user_id"] == MAYA
    assert published.params["view"] == {
        "type": "home",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Your accounts"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "• *Acme* (acme.io) — *90* hot · up 49 just now"}},
            {"type": "divider"},
            {"type": "header", "text": {"type": "plain_text", "text": "Top unclaimed"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "• *Beta* (beta.io) — *90* hot"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text":
                f"Updated {date(NOW)} · `/tipoff <account>` for the evidence"}]},
        ],
    }  # fmt: skip


async def test_equal_scores_are_ordered_by_their_unrounded_points(bot: SlackBot) -> None:
    gamma = await hot_account(bot, "gamma.io", "Gamma")
    delta = await hot_account(bot, "delta.io", "Delta")
    await rescore(bot.runtime)
    async with bot.runtime.db.transaction() as conn:  # both read 90: 90.2 and 90.4 points
        for account, raw in ((gamma, 90.2), (delta, 90.4)):
            await conn.execute(
                scores.update().where(scores.c.account_id == account).values(raw_points=raw)
            )
    found = await reps.home(bot.runtime, MAYA)
    assert [(a.label, a.score) for a in found.unclaimed] == [("Delta", 90), ("Gamma", 90)]


async def test_mine_lists_the_callers_accounts(bot: SlackBot) -> None:
    acme, post = await post_acme(bot)
    empty = (await bot.send(slash_command("mine", user_id=JON))).json()
    assert empty["text"] == "You own no accounts yet"
    await bot.send(interactivity(click("workflow_claim", acme, post["blocks"])))
    await bot.fake.wait_for("chat.update")
    mine = (await bot.send(slash_command("mine", user_id=MAYA))).json()
    assert mine["text"] == "Your 1 account"
    assert mine["blocks"][1]["text"]["text"] == "• *Acme* (acme.io) — *90* hot"


async def test_only_admins_assign_and_the_owner_shows_in_lookups(settings: Settings) -> None:
    async with slack_bot(
        settings, now=NOW, configure=configured(admins=f" {MAYA}, U0OTHER")
    ) as bot:
        acme = await hot_account(bot, "acme.io", "Acme")
        refused = (
            await bot.send(slash_command(f"assign acme.io <@{MAYA}|maya>", user_id=JON))
        ).json()
        assert refused["text"] == "Only Tipoff admins can assign accounts"
        assert await rows(bot, account_owners) == []

        usage = (await bot.send(slash_command("assign acme.io", user_id=MAYA))).json()
        assert usage["text"] == "Usage: /tipoff assign <account> @rep"

        done = (
            await bot.send(slash_command(f"assign acme.io <@{JON}|jon.rep>", user_id=MAYA))
        ).json()
        assert done["text"] == f"Acme is now owned by <@{JON}>"
        (owner,) = await rows(bot, account_owners)
        assert (owner["account_id"], owner["slack_user_id"], owner["via"], owner["assigned_by"]) == (
            acme, JON, "assign", MAYA
        )  # fmt: skip

        looked_up = (await bot.send(slash_command("acme.io"))).json()
        assert looked_up["blocks"][-1]["elements"][0]["text"] == (
            f"*Last 8 weeks:* `       ▅` · *Owner:* <@{JON}>"  # 90: above hot_at's ▄
        )


async def test_assign_reads_the_account_and_rep_as_slack_escapes_them(settings: Settings) -> None:
    async with slack_bot(settings, now=NOW, configure=configured(admins=MAYA)) as bot:
        async with bot.runtime.db.transaction() as conn:
            oneil = await seed.account(conn, NOW, "oneil.com", "Ann O'Neil & Sons")
        linked = slash_command(
            f"assign <http://oneil.com|oneil.com> <@{JON}|jon.rep>", user_id=MAYA
        )
        assert (await bot.send(linked)).json()["text"] == (
            f"Ann O'Neil &amp; Sons is now owned by <@{JON}>"
        )
        by_name = slash_command(f"assign Ann O'Neil &amp; Sons <@{MAYA}>", user_id=MAYA)
        assert (await bot.send(by_name)).json()["text"] == (
            f"Ann O'Neil &amp; Sons is now owned by <@{MAYA}>"
        )
        (owner,) = await rows(bot, account_owners)
        assert (owner["account_id"], owner["slack_user_id"]) == (oneil, MAYA)
        nobody = slash_command("assign oneil.com <#C0SALESALRT|sales-alerts>", user_id=MAYA)
        assert (await bot.send(nobody)).json()["text"] == "Usage: /tipoff assign <account> @rep"


def user_change(user: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """Slack's `user_change` event, as the Events API delivers it, signed."""
    body = json.dumps(
        {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "team_id": TEAM_ID,
            "api_app_id": "A0TIPOFFAPP",
            "type": "event_callback",
            "event_id": "Ev0USERCHNG1",
            "event_time": 1763650800,
            "event": {"type": "user_change", "user": user, "event_ts": "1763650800.000200"},
        }
    )
    ts = int(time.time())
    return body.encode(), {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(body, secret=SIGNING_SECRET, timestamp=ts),
    }


async def test_a_deactivated_owners_claims_lapse_and_their_accounts_return(bot: SlackBot) -> None:
    acme, post = await post_acme(bot)
    await bot.send(interactivity(click("workflow_claim", acme, post["blocks"])))
    await bot.fake.wait_for("chat.update")
    bot.clock.now = datetime(2026, 11, 23, 11, 0, tzinfo=NOW.tzinfo)  # the SLA ran out
    assert await check_slas(bot.runtime) == SlaReport()  # claimed: nothing to remind

    # An admin deactivates Maya; Slack sends user_change with deleted: true.
    body, headers = user_change(
        {"id": MAYA, "team_id": TEAM_ID, "name": "maya.rep", "deleted": True, "profile": {}}
    )
    assert (await bot.http.post("/slack/events", content=body, headers=headers)).status_code == 200
    await wait_until(lambda: rows(bot, account_owners), [])
    assert (await check_slas(bot.runtime)).reminded == 1  # back in the SLA
    assert (await bot.send(slash_command("mine", user_id=MAYA))).json()["text"] == (
        "You own no accounts yet"
    )
    # A user_change that is not a deactivation changes nothing.
    await bot.send(interactivity(click("workflow_claim", acme, post["blocks"], user_id=JON)))
    body, headers = user_change({"id": JON, "team_id": TEAM_ID, "name": "jon", "deleted": False})
    assert (await bot.http.post("/slack/events", content=body, headers=headers)).status_code == 200
    assert [r["slack_user_id"] for r in await rows(bot, account_owners)] == [JON]


async def test_crm_owners_count_as_owners_until_slack_says_they_left(bot: SlackBot) -> None:
    kim = "U0KIMREP003"
    bot.fake.users["kim@ours.com"] = kim
    await hot_account(bot, "acme.io", "Acme", owner_email="Kim@ours.com")
    await hot_account(bot, "beta.io", "Beta")
    await rescore(bot.runtime)
    assert (await deliver_pending_alerts(bot.runtime, pace_seconds=0)).sent == 2
    mine = (await bot.send(slash_command("mine", user_id=kim))).json()
    assert mine["blocks"][1]["text"]["text"] == "• *Acme* (acme.io) — *90* hot"
    body, headers = app_home_opened(MAYA)
    await bot.http.post("/slack/events", content=body, headers=headers)
    (published,) = await bot.fake.wait_for("views.publish")
    unclaimed = published.params["view"]["blocks"][4]["text"]["text"]
    assert unclaimed == "• *Beta* (beta.io) — *90* hot"  # Acme is Kim's
    bot.clock.now = datetime(2026, 11, 23, 11, 0, tzinfo=NOW.tzinfo)
    assert (await check_slas(bot.runtime)).reminded == 1  # Beta only

    bot.fake.deactivated.add(kim)
    assert await lapse_deactivated_owners(bot.runtime) == [kim]
    assert (await bot.send(slash_command("mine", user_id=kim))).json()["text"] == (
        "You own no accounts yet"
    )
    assert (await check_slas(bot.runtime)).reminded == 1  # now Acme's too
    assert await lapse_deactivated_owners(bot.runtime) == []  # nobody left to ask about


async def wait_until(read: Callable[[], Any], expected: Any) -> None:
    """Events are acknowledged before their listener runs: wait for its effect."""
    for _ in range(500):
        if await read() == expected:
            return
        await asyncio.sleep(0.01)
    assert await read() == expected


async def test_the_scheduler_runs_the_workflow_timers_with_the_other_jobs(bot: SlackBot) -> None:
    from tipoff.jobs import build_scheduler, run_workflow

    scheduler = build_scheduler(bot.runtime)
    assert {job.id for job in scheduler.get_jobs()} == {
        "rescore-changed",
        "rescore-all",
        "deliver-alerts",
        "rep-workflow",
        "check-owners",
    }
    await post_acme(bot)
    bot.clock.now = datetime(2026, 11, 23, 11, 0, tzinfo=NOW.tzinfo)  # SLA and digest both due
    await run_workflow(bot.runtime)
    assert [c.params.get("thread_ts") for c in bot.fake.calls_to("chat.postMessage")] == [
        None,  # the alert
        "1763650800.000001",  # its reminder
        None,  # Monday's digest
    ]


async def test_a_verdict_on_a_claimed_alert_keeps_showing_its_owner(bot: SlackBot) -> None:
    acme, post = await post_acme(bot)
    await bot.send(interactivity(click("workflow_claim", acme, post["blocks"])))
    await bot.fake.wait_for("chat.update")
    right = click("feedback_right", acme, post["blocks"], user_id=JON, user_name="jon.rep")
    await bot.send(interactivity(right))
    updates = await bot.fake.wait_for("chat.update", 2)
    assert updates[1].params["blocks"] == [
        *post["blocks"],
        status_block(f"🙋 Claimed by <@{MAYA}>"),
        {
            "type": "context",
            "block_id": "tipoff_feedback",
            "elements": [{"type": "mrkdwn", "text": f"✅ <@{JON}> says Right"}],
        },
    ]
