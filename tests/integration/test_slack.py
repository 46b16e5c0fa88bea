"""Slack into the real app: signed slash commands, button clicks and modal submissions go
through Bolt into a real SQLite file, and what Slack is asked to show is read back from
the fake Web API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from tests import seed
from tests.conftest import NOW
from tests.fakes.signing import (
    SIGNING_SECRET,
    SignedRequest,
    block_action,
    event_callback,
    interactivity,
    load_payload,
    signed,
    slash_command,
    view_submission,
)
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, running_fake_slack
from tests.fakes.slack_bot import SlackBot, slack_bot
from tests.fakes.socket_mode import running_socket_mode
from tipoff.alerts.delivery import deliver_pending_alerts
from tipoff.errors import TipoffError
from tipoff.feedback import serialize_verdicts
from tipoff.scores.rescoring import rescore
from tipoff.settings import Settings
from tipoff.slack import blocks
from tipoff.slack.audience import OUTSIDER_NOTE
from tipoff.slack_app.bolt_app import MAX_BODY_BYTES, MAX_NESTING
from tipoff.store.tables import alerts, feedback, score_history

CHANNEL = "C0SALESALRT"  # the fake's ID for #sales-alerts


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[SlackBot]:
    async with slack_bot(settings, now=NOW) as running:
        yield running


async def seed_acme(bot: SlackBot) -> int:
    """Acme: a decision-maker and a second user, fresh product activity: hot, 90."""
    async with bot.runtime.db.transaction() as conn:
        return await seed.hot_acme(conn, NOW)


async def seed_globexes(bot: SlackBot) -> None:
    async with bot.runtime.db.transaction() as conn:
        await seed.account(conn, NOW, "globex.com", "Globex")
        await seed.account(conn, NOW, "globex-labs.io", "Globex Labs")


async def posted_alert(bot: SlackBot) -> tuple[int, dict[str, Any]]:
    """Acme scored, its alert queued and delivered to the fake: (account id, the call)."""
    acme = await seed_acme(bot)
    await rescore(bot.runtime)
    report = await deliver_pending_alerts(bot.runtime)
    assert report.sent == 1
    (post,) = bot.fake.calls_to("chat.postMessage")
    return acme, post.params


def alert_click(action_id: str, account_id: int, post: dict[str, Any]) -> dict[str, Any]:
    """A click on a button of the alert `posted_alert` posted."""
    return block_action(
        action_id,
        account_id=account_id,
        channel=CHANNEL,
        ts="1763650800.000001",
        message_blocks=post["blocks"],
    )


async def feedback_rows(bot: SlackBot) -> list[dict[str, Any]]:
    async with bot.runtime.db.transaction() as conn:
        rows = await conn.execute(select(feedback).order_by(feedback.c.id))
        return [dict(r._mapping) for r in rows]


def ephemeral(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["response_type"] == "ephemeral"
    return body


# --- /tipoff ----------------------------------------------------------------------------

ACME_EVIDENCE = (
    "*Evidence*\n"
    "• Dana Lee (VP Engineering) completed a core action yesterday (+30)\n"
    "• Dana Lee (VP Engineering) and Sam Ortiz (Software Engineer) started 3 sessions in "
    "the last 14 days (+20)\n"
    "• 2 people were active in the product in the last 30 days: Dana Lee (VP Engineering) "
    "and Sam Ortiz (Software Engineer) (+20)\n"
    "• Dana Lee (VP Engineering) holds a decision-making title (+15)\n"
    "• Activity is rising: 4 signals a week in the last 7 days, against 0 a week in the 21 days before (+5)"
)


async def test_looking_up_a_known_account_answers_in_the_ack_with_score_and_evidence(
    bot: SlackBot,
) -> None:
    acme = await seed_acme(bot)
    async with bot.runtime.db.transaction() as conn:
        await conn.execute(
            score_history.insert(),
            [
                {"account_id": acme, "score": 41, "track": "low-touch", "scored_at": NOW - timedelta(days=10)},
                {"account_id": acme, "score": 63, "track": "nurture", "scored_at": NOW - timedelta(days=3)},
            ],
        )  # fmt: skip

    body = ephemeral(await bot.send(slash_command("acme.io")))

    assert body["text"] == "Acme: 90 (hot)"
    assert body["blocks"] == [
        {"type": "header", "text": {"type": "plain_text", "text": "Acme — 90"}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "*Hot* — alert now, top of the queue · acme.io · 250 employees · Software",
                }
            ],
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*Fit*\n+15"},
                {"type": "mrkdwn", "text": "*Product*\n+70"},
                {"type": "mrkdwn", "text": "*Marketing*\n0"},
                {"type": "mrkdwn", "text": "*Timing*\n+5"},
            ],
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": ACME_EVIDENCE}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*Contact first:* Dana Lee (VP Engineering) · dana@acme.io\n"
                "_Why:_ Dana Lee (VP Engineering) completed a core action yesterday",
            },
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*Suggested opener*\n_I saw you completed a core action yesterday and "
                "your team started 3 sessions in the last 14 days. Teams that get this far "
                "usually want to roll it out more widely: worth comparing notes on what "
                "you're setting up?_",
            },
        },
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": "*Trend:* 41 → 63 → 90 (up 49 since 10 days ago)"}
            ],
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    # 8 weeks, oldest first: no score until 10 days ago (41), 90 now.
                    "text": "*Last 8 weeks:* `      ▃▅` · *Owner:* nobody yet: claim it "
                    "from an alert",
                }
            ],
        },
    ]
    # Answered in the acknowledgement itself: nothing posted, no response_url used (who is
    # asking is asked of Slack, once).
    assert [c.method for c in bot.fake.calls] == ["auth.test", "users.info"]


async def test_a_lookup_not_ready_in_time_is_acknowledged_and_answered_at_the_response_url(
    bot: SlackBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # However fast this machine, no answer is ready within no time at all: the lookup takes
    # the path a slow one (a huge account scored on the spot) would take.
    from tipoff.slack_app.listeners import commands

    monkeypatch.setattr(commands, "ACK_WITHIN_SECONDS", 0)
    await seed_acme(bot)
    response = await bot.send(slash_command("acme.io", response_url=bot.fake.response_url))
    assert response.status_code == 200, response.text
    assert response.json() == {"response_type": "ephemeral", "text": commands.WORKING_ON_IT}
    (answered,) = await bot.fake.wait_for("response_url")
    assert answered.params["response_type"] == "ephemeral"
    assert answered.params["text"] == "Acme: 90 (hot)"
    assert answered.params["blocks"][0]["text"]["text"] == "Acme — 90"


async def test_a_lookup_by_name_finds_the_same_account(bot: SlackBot) -> None:
    await seed_acme(bot)
    body = ephemeral(await bot.send(slash_command("  ACME ")))
    assert body["blocks"][0]["text"]["text"] == "Acme — 90"


async def test_an_account_without_name_or_domain_is_found_as_it_is_shown(bot: SlackBot) -> None:
    acme = await seed_acme(bot)
    async with bot.runtime.db.transaction() as conn:
        # A group that never said its name or domain: shown as "Account <id>".
        unnamed = await seed.unnamed_account(conn, NOW, "org_42")
        await seed.signal(conn, NOW - timedelta(days=1), unnamed, None, "Demo Requested")
    body = ephemeral(await bot.send(slash_command(f"account {unnamed}")))
    assert body["blocks"][0]["text"]["text"].startswith(f"Account {unnamed} — ")
    # Acme is shown by its name, so "Account <its id>" is not how anyone finds it.
    other = ephemeral(await bot.send(slash_command(f"Account {acme}")))
    assert "Acme" not in str(other["blocks"][0])


@pytest.mark.parametrize(
    "typed_as_slack_sends_it",
    [
        "<http://acme.io|acme.io>",  # should_escape: a typed domain arrives as a link
        "<https://www.acme.io/pricing>",  # a pasted URL
        "<mailto:dana@acme.io|dana@acme.io>",  # an email names its account's domain
    ],
)
async def test_a_domain_slack_turned_into_a_link_is_found(
    bot: SlackBot, typed_as_slack_sends_it: str
) -> None:
    await seed_acme(bot)
    body = ephemeral(await bot.send(slash_command(typed_as_slack_sends_it)))
    assert body["text"] == "Acme: 90 (hot)"


async def test_a_name_with_an_ampersand_is_found_and_shown_escaped_once(bot: SlackBot) -> None:
    async with bot.runtime.db.transaction() as conn:
        await seed.account(conn, NOW, "oneil.com", "Ann O'Neil & Sons")
    body = ephemeral(await bot.send(slash_command("Ann O'Neil &amp; Sons")))
    assert body["blocks"][0]["text"]["text"] == "Ann O'Neil & Sons — 0"
    unknown = ephemeral(await bot.send(slash_command("Bob &amp; &lt;Co&gt;")))
    assert unknown["blocks"][0]["text"]["text"] == (
        "I couldn't find an account matching *Bob &amp; &lt;Co&gt;*."
    )


async def test_an_unknown_account_gets_a_helpful_answer_with_did_you_mean(bot: SlackBot) -> None:
    await seed_acme(bot)
    body = ephemeral(await bot.send(slash_command("acme.con")))
    assert body["text"] == "No account matches acme.con"
    assert [b["text"]["text"] for b in body["blocks"][:2]] == [
        "I couldn't find an account matching *acme.con*.",
        "*Did you mean*\n• *Acme* (acme.io) — `/tipoff acme.io`",
    ]
    assert body["blocks"][2]["text"]["text"].startswith("*How to search:*")
    assert body["blocks"][3]["elements"][0]["text"] == (
        "Examples: `/tipoff acme.com`, `/tipoff Acme`, `/tipoff top`"
    )


async def test_an_account_nothing_resembles_still_gets_how_to_search(bot: SlackBot) -> None:
    await seed_acme(bot)
    body = ephemeral(await bot.send(slash_command("initech")))
    assert [b["type"] for b in body["blocks"]] == ["section", "section", "context"]
    assert body["blocks"][0]["text"]["text"] == "I couldn't find an account matching *initech*."


async def test_an_ambiguous_name_lists_the_candidates(bot: SlackBot) -> None:
    await seed_globexes(bot)
    body = ephemeral(await bot.send(slash_command("glob")))
    assert body["text"] == "2 accounts match glob"
    assert body["blocks"][:2] == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "2 accounts match *glob*:"}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "• *Globex* (globex.com) — `/tipoff globex.com`\n"
                "• *Globex Labs* (globex-labs.io) — `/tipoff globex-labs.io`",
            },
        },
    ]


async def test_top_lists_the_highest_scores(bot: SlackBot) -> None:
    await seed_acme(bot)
    await seed_globexes(bot)
    await rescore(bot.runtime)
    body = ephemeral(await bot.send(slash_command("top")))
    assert body["blocks"][1]["text"]["text"] == (
        "1. *Acme* (acme.io) — *90* hot · scored just now\n"
        "2. *Globex* (globex.com) — *0* low-touch · scored just now\n"
        "3. *Globex Labs* (globex-labs.io) — *0* low-touch · scored just now"
    )


@pytest.mark.parametrize("text", ["help", "", "  HELP "])
async def test_help_and_an_empty_command_explain_the_commands(bot: SlackBot, text: str) -> None:
    body = ephemeral(await bot.send(slash_command(text)))
    assert body == {
        "response_type": "ephemeral",
        "text": blocks.help_message().text,
        "blocks": blocks.help_message().blocks,
    }


# --- Right ------------------------------------------------------------------------------


async def test_right_records_the_verdict_and_updates_the_alert_in_place(bot: SlackBot) -> None:
    acme, post = await posted_alert(bot)
    async with bot.runtime.db.transaction() as conn:
        alert = (await conn.execute(select(alerts))).one()
    assert (alert.channel, alert.ts) == (CHANNEL, "1763650800.000001")

    click = alert_click("feedback_right", acme, post)
    response = await bot.send(interactivity(click))
    assert (response.status_code, response.text) == (200, "")

    (update,) = await bot.fake.wait_for("chat.update")
    assert update.params == {
        "team_id": "T0TIPOFF1",  # Bolt names the workspace the click came from
        "channel": CHANNEL,
        "ts": "1763650800.000001",
        "text": "🔥 Acme is hot — 90",
        "blocks": [
            *post["blocks"],
            {
                "type": "context",
                "block_id": "tipoff_feedback",
                "elements": [{"type": "mrkdwn", "text": "✅ <@U0MAYAREP01> says Right"}],
            },
        ],
    }
    assert update.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    assert await feedback_rows(bot) == [
        {
            "id": 1,
            "alert_id": alert.id,
            "account_id": acme,
            "slack_user_id": "U0MAYAREP01",
            "slack_user_name": "maya.rep",
            "verdict": "right",
            "reason": None,
            "created_at": NOW,
        }
    ]


async def test_right_on_a_message_that_is_not_an_alert_is_kept_without_an_alert(
    bot: SlackBot,
) -> None:
    acme = await seed_acme(bot)
    shown = [{"type": "section", "text": {"type": "mrkdwn", "text": "A digest line"}}]
    click = block_action(
        "feedback_right", account_id=acme, channel="C0OTHER", ts="1.000200", message_blocks=shown
    )
    assert (await bot.send(interactivity(click))).status_code == 200
    (update,) = await bot.fake.wait_for("chat.update")
    assert update.params["blocks"] == [
        *shown,
        {
            "type": "context",
            "block_id": "tipoff_feedback",
            "elements": [{"type": "mrkdwn", "text": "✅ <@U0MAYAREP01> says Right"}],
        },
    ]
    (row,) = await feedback_rows(bot)
    assert (row["alert_id"], row["account_id"], row["verdict"]) == (None, acme, "right")


async def test_a_repeated_click_stores_one_verdict_and_a_changed_one_is_a_new_answer(
    bot: SlackBot,
) -> None:
    acme, post = await posted_alert(bot)
    right = interactivity(alert_click("feedback_right", acme, post))
    assert (await bot.send(right)).status_code == 200
    # The same click again: clicked twice, or delivered again with Slack's retry headers.
    again = SignedRequest(
        right.body, {**right.headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "timeout"}
    )
    assert (await bot.send(again)).status_code == 200
    assert [r["verdict"] for r in await feedback_rows(bot)] == ["right"]

    wrong = view_submission(
        account_id=acme,
        channel=CHANNEL,
        ts="1763650800.000001",
        reason="bad_timing",
        user_id="U0MAYAREP01",
        user_name="maya.rep",
    )
    assert (await bot.send(interactivity(wrong))).status_code == 200
    assert (await bot.send(interactivity(wrong))).status_code == 200
    assert (
        await bot.send(interactivity(alert_click("feedback_right", acme, post)))
    ).status_code == 200
    # Maya changed her mind twice: three answers, the newest of which counts.
    assert [(r["slack_user_id"], r["verdict"]) for r in await feedback_rows(bot)] == [
        ("U0MAYAREP01", "right"),
        ("U0MAYAREP01", "wrong"),
        ("U0MAYAREP01", "right"),
    ]


async def test_two_copies_of_a_click_arriving_together_store_one_verdict(bot: SlackBot) -> None:
    acme, post = await posted_alert(bot)
    click = interactivity(alert_click("feedback_right", acme, post))
    answers = await asyncio.gather(bot.send(click), bot.send(click), bot.send(click))
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [r["verdict"] for r in await feedback_rows(bot)] == ["right"]


async def test_a_click_waits_for_a_lock_briefly_and_fails_in_time_rather_than_late(
    bot: SlackBot,
) -> None:
    acme, post = await posted_alert(bot)
    click = interactivity(alert_click("feedback_right", acme, post))
    async with bot.runtime.db.transaction() as holder:
        await serialize_verdicts(holder, acme)  # another unit of work holds the lock
        # Answered as failed (500: Slack shows the rep) inside Slack's three seconds,
        # not left waiting past them and stored after Slack had given up.
        assert (await bot.send(click)).status_code == 500
    assert await feedback_rows(bot) == []
    assert (await bot.send(click)).status_code == 200  # the rep clicks again
    assert [r["verdict"] for r in await feedback_rows(bot)] == ["right"]


# --- Wrong ------------------------------------------------------------------------------


async def test_wrong_opens_the_reason_modal_for_that_message(bot: SlackBot) -> None:
    acme, post = await posted_alert(bot)
    click = alert_click("feedback_wrong", acme, post)
    assert (await bot.send(interactivity(click))).status_code == 200

    (opened,) = await bot.fake.wait_for("views.open")
    assert opened.params == {
        "team_id": "T0TIPOFF1",
        "trigger_id": click["trigger_id"],
        "view": blocks.wrong_reason_modal(
            account_id=acme, account_label="Acme", channel=CHANNEL, ts="1763650800.000001"
        ),
    }
    assert await feedback_rows(bot) == []  # nothing is recorded until a reason is given


async def test_a_submission_without_a_reason_is_sent_back_with_an_error(bot: SlackBot) -> None:
    acme, _ = await posted_alert(bot)
    submission = view_submission(
        account_id=acme, channel=CHANNEL, ts="1763650800.000001", reason=None, note="hmm"
    )
    response = await bot.send(interactivity(submission))
    assert response.status_code == 200
    assert response.json() == {
        "response_action": "errors",
        "errors": {"reason": "Pick a reason: it tells Tipoff what to weigh differently."},
    }
    assert await feedback_rows(bot) == []
    assert bot.fake.calls_to("chat.update") == []


async def test_a_submission_with_a_reason_records_it_and_updates_the_alert(
    bot: SlackBot,
) -> None:
    acme, post = await posted_alert(bot)
    right = alert_click("feedback_right", acme, post)
    await bot.send(interactivity(right))
    await bot.fake.wait_for("chat.update")

    submission = view_submission(
        account_id=acme,
        channel=CHANNEL,
        ts="1763650800.000001",
        reason="already_customer",
        note="They renewed with us in March",
    )
    response = await bot.send(interactivity(submission))
    assert (response.status_code, response.text) == (200, "")  # the modal closes

    updates = await bot.fake.wait_for("chat.update", 2)
    assert updates[1].params["blocks"] == [
        *post["blocks"],
        {
            "type": "context",
            "block_id": "tipoff_feedback",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "✅ <@U0MAYAREP01> says Right\n"
                    "❌ <@U0JONREP002> says Wrong: already a customer — They renewed with us "
                    "in March",
                }
            ],
        },
    ]
    rows = await feedback_rows(bot)
    assert [
        (r["slack_user_id"], r["slack_user_name"], r["verdict"], r["reason"]) for r in rows
    ] == [
        ("U0MAYAREP01", "maya.rep", "right", None),
        ("U0JONREP002", "jon.rep", "wrong", "Already a customer — They renewed with us in March"),
    ]
    assert {r["alert_id"] for r in rows} == {1}


async def test_a_submission_for_an_account_that_is_gone_says_so_in_the_modal(
    bot: SlackBot,
) -> None:
    submission = view_submission(account_id=999, channel=None, ts=None, reason="not_a_fit")
    response = await bot.send(interactivity(submission))
    assert response.json() == {
        "response_action": "errors",
        "errors": {"reason": "No account with id 999: it may have been merged or deleted."},
    }
    assert await feedback_rows(bot) == []


# --- requests that are not from Slack ---------------------------------------------------


def forged_requests(account_id: int) -> dict[str, Any]:
    click = interactivity(
        block_action("feedback_right", account_id=account_id, channel=CHANNEL, ts="1.1")
    )
    command = slash_command("acme.io")
    return {
        "unsigned": (click.body, {"Content-Type": "application/x-www-form-urlencoded"}),
        "wrong secret": (
            click.body,
            interactivity(
                block_action("feedback_right", account_id=account_id, channel=CHANNEL, ts="1.1"),
                secret="not-the-signing-secret",
            ).headers,
        ),
        "body changed after signing": (
            click.body.replace(b"U0MAYAREP01", b"U0MALLORY01"),
            click.headers,
        ),
        "replayed after 6 minutes": (
            command.body,
            signed(command.body.decode(), timestamp=int(time.time()) - 360).headers,
        ),
        "unsigned command": (command.body, {"Content-Type": "application/x-www-form-urlencoded"}),
    }


@pytest.mark.parametrize(
    "case",
    [
        "unsigned",
        "wrong secret",
        "body changed after signing",
        "replayed after 6 minutes",
        "unsigned command",
    ],
)
async def test_requests_not_signed_by_slack_are_refused_and_change_nothing(
    bot: SlackBot, case: str
) -> None:
    acme = await seed_acme(bot)
    body, headers = forged_requests(acme)[case]
    response = await bot.http.post("/slack/events", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid request"}
    assert await feedback_rows(bot) == []
    assert bot.fake.calls == []  # not even auth.test: refused before anything ran


class StreamedBody:
    """A request body sent in 64 KB chunks as the server asks for them, counting how many
    it took: what an attacker's endless upload looks like to the server."""

    CHUNK = 64 * 1024

    def __init__(self, megabytes: int) -> None:
        self.chunks = megabytes * 1024 * 1024 // self.CHUNK
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.sent += 1
            yield b"payload=" + b"x" * (self.CHUNK - 8)


@pytest.mark.parametrize(
    ("headers", "status", "chunks_read"),
    [
        # Signed as Slack signs (for another body): read up to the cap, no further.
        (slash_command("help").headers, 413, MAX_BODY_BYTES // StreamedBody.CHUNK + 1),
        # A declared length over the cap: refused before any of it is read.
        ({**slash_command("help").headers, "Content-Length": str(64 * 1024 * 1024)}, 413, 0),
        # No signature at all: refused before any of it is read.
        ({"Content-Type": "application/x-www-form-urlencoded"}, 401, 0),
    ],
    ids=["streamed", "declared", "unsigned"],
)
async def test_a_huge_body_is_refused_without_being_read(
    bot: SlackBot, headers: dict[str, str], status: int, chunks_read: int
) -> None:
    body = StreamedBody(megabytes=64)
    response = await bot.http.post("/slack/events", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert body.sent <= chunks_read < body.chunks
    assert bot.fake.calls == []


def as_json(request: SignedRequest) -> SignedRequest:
    return SignedRequest(request.body, {**request.headers, "Content-Type": "application/json"})


def nested_payload(levels: int) -> dict[str, Any]:
    """A block_actions payload carrying one value `levels` objects and arrays deep."""
    value: Any = "deep"
    for _ in range(levels - 1):
        value = [value]
    return {**load_payload("block_actions"), "state": {"values": value}}


@pytest.mark.parametrize(
    "signed_request",
    [
        lambda: as_json(signed("[" * 100_000 + "]" * 100_000)),
        lambda: signed(urlencode({"payload": "[" * 100_000 + "]" * 100_000})),
        lambda: signed("{" + '"a":{' * 50_000 + "}" * 50_001),  # read as JSON by its "{"
        lambda: interactivity(nested_payload(MAX_NESTING + 1)),
    ],
    ids=["raw-json", "payload", "raw-object", "just-over"],
)
async def test_a_signed_body_nested_too_deep_is_400(
    bot: SlackBot, signed_request: Callable[[], SignedRequest]
) -> None:
    # Signed when the test runs: Slack's signatures are good for five minutes only.
    response = await bot.send(signed_request())
    assert (response.status_code, response.json()) == (
        400,
        {
            "code": "invalid_request",
            "message": "the payload nests more than 64 levels of objects and arrays",
        },
    )
    assert bot.fake.calls == []


async def test_a_payload_as_deep_as_allowed_is_dispatched(bot: SlackBot) -> None:
    # Bolt finds no listener for this action: its 404, which Slack shows as a failed click.
    payload = nested_payload(MAX_NESTING - 1)  # the payload itself is one more
    payload["actions"][0]["action_id"] = "not_ours"
    assert json.dumps(payload).count("[") >= MAX_NESTING - 2
    response = await bot.send(interactivity(payload))
    assert response.status_code == 404, response.text


async def test_bolt_takes_token_and_secret_from_settings_never_the_environment(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret-from-the-environment")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    async with slack_bot(settings, now=NOW) as bot:
        assert (await bot.send(slash_command("help"))).status_code == 200
        forged = slash_command("help", secret="secret-from-the-environment")
        assert (await bot.send(forged)).status_code == 401
        assert {c.headers["authorization"] for c in bot.fake.calls} == {f"Bearer {BOT_TOKEN}"}


async def test_the_signing_helper_matches_slacks_documented_example() -> None:
    # api.slack.com/authentication/verifying-requests-from-slack, step by step.
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
        "channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
        "command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
        "commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        "trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    request = signed(body, secret="8f742231b10e8888abcd99yyyzzz85a5", timestamp=1531420618)
    assert request.headers["X-Slack-Signature"] == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )


async def test_a_listener_error_is_logged_and_answered_politely(
    bot: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    await seed_acme(bot)
    # A table gone from under the bot makes the lookup fail inside the listener.
    async with bot.runtime.db.transaction() as conn:
        await conn.exec_driver_sql("DROP TABLE score_history")
    response = await bot.send(slash_command("acme.io"))
    assert (response.status_code, response.text) == (
        200,
        "Sorry, Tipoff hit an error answering that. It has been logged; please try again.",
    )
    (failure,) = [r for r in caplog.records if r.name == "tipoff.slack_app.bolt_app"]
    assert failure.getMessage() == "Slack slash_command from U0MAYAREP01 failed"
    assert failure.exc_info is not None and "score_history" in str(failure.exc_info[1])
    # Neither our secrets nor the verification token in Slack's body are logged.
    for secret in (BOT_TOKEN, SIGNING_SECRET, "gIkuvaNzQIHg97ATvDxqgjtO"):
        assert secret not in caplog.text


async def test_a_click_or_reason_that_cannot_be_stored_is_not_acknowledged(
    bot: SlackBot, caplog: pytest.LogCaptureFixture
) -> None:
    acme, post = await posted_alert(bot)
    async with bot.runtime.db.transaction() as conn:  # every insert into it now fails
        await conn.exec_driver_sql("ALTER TABLE feedback RENAME TO feedback_away")
    right = alert_click("feedback_right", acme, post)
    wrong = view_submission(
        account_id=acme, channel=CHANNEL, ts="1763650800.000001", reason="not_a_fit", note=None
    )
    # Not stored, so not acknowledged: Slack shows the rep the click did not work, and
    # the modal stays open, rather than both looking kept.
    assert (await bot.send(interactivity(right))).status_code == 500
    assert (await bot.send(interactivity(wrong))).status_code == 500
    assert bot.fake.calls_to("chat.update") == []
    failures = [r.getMessage() for r in caplog.records if r.name == "tipoff.slack_app.bolt_app"]
    assert failures == [
        "Slack block_actions from U0MAYAREP01 failed",
        "Slack view_submission from U0JONREP002 failed",
    ]

    async with bot.runtime.db.transaction() as conn:
        await conn.exec_driver_sql("ALTER TABLE feedback_away RENAME TO feedback")
    assert await feedback_rows(bot) == []
    assert (await bot.send(interactivity(right))).status_code == 200  # the rep clicks again
    assert [r["verdict"] for r in await feedback_rows(bot)] == ["right"]


# --- one workspace ----------------------------------------------------------------------


async def test_a_command_from_another_workspace_gets_a_short_note(bot: SlackBot) -> None:
    await seed_acme(bot)
    body = ephemeral(await bot.send(slash_command("acme.io", team_id="T0PARTNER9")))
    assert body == {"response_type": "ephemeral", "text": OUTSIDER_NOTE}
    ours = ephemeral(await bot.send(slash_command("acme.io")))
    assert ours["text"] == "Acme: 90 (hot)"


async def test_a_click_by_someone_of_another_workspace_stores_nothing(bot: SlackBot) -> None:
    acme, post = await posted_alert(bot)
    # Slack Connect: the channel is ours (team.id), the person clicking is not.
    click = alert_click("feedback_right", acme, post)
    click["user"]["team_id"] = "T0PARTNER9"
    response = await bot.send(interactivity(click))
    assert (response.status_code, response.text) == (200, "")
    claim = alert_click("workflow_claim", acme, post)
    claim["user"]["team_id"] = "T0PARTNER9"
    assert (await bot.send(interactivity(claim))).status_code == 200
    assert await feedback_rows(bot) == []
    assert bot.fake.calls_to("chat.update") == []


# --- Socket Mode ------------------------------------------------------------------------


def socket_mode(settings: Settings) -> Settings:
    return Settings.model_validate({**settings.model_dump(), "slack_app_token": APP_TOKEN})


async def test_with_an_app_token_the_bot_answers_over_socket_mode(settings: Settings) -> None:
    with running_fake_slack() as fake:
        async with running_socket_mode() as server:
            fake.socket_url = server.url
            async with slack_bot(settings, now=NOW, configure=socket_mode, fake=fake) as bot:
                (opened,) = fake.calls_to("apps.connections.open")
                assert opened.headers["authorization"] == f"Bearer {APP_TOKEN}"
                await seed_acme(bot)

                command = load_payload("slash_command") | {"text": "acme.io"}
                await server.send(
                    {
                        "envelope_id": "1d3c0f4e-7b8a-4d2f-9e61-5a2b3c4d5e6f",
                        "type": "slash_commands",
                        "payload": command,
                        "accepts_response_payload": True,
                    }
                )
                answer = await server.receive()
                assert answer["envelope_id"] == "1d3c0f4e-7b8a-4d2f-9e61-5a2b3c4d5e6f"
                assert answer["payload"]["response_type"] == "ephemeral"
                assert answer["payload"]["text"] == "Acme: 90 (hot)"
                assert answer["payload"]["blocks"][3]["text"]["text"] == ACME_EVIDENCE
            # Shutting down closes the WebSocket.
            async with asyncio.timeout(5):
                await server.closed.wait()


@pytest.mark.parametrize("secret", [None, "", "   "], ids=["unset", "empty", "blank"])
async def test_socket_mode_without_a_signing_secret_serves_no_slack_route(
    settings: Settings, secret: str | None
) -> None:
    def socket_mode_only(s: Settings) -> Settings:
        return Settings.model_validate(
            {**s.model_dump(), "slack_app_token": APP_TOKEN, "slack_signing_secret": secret}
        )

    with running_fake_slack() as fake:
        async with running_socket_mode() as server:
            fake.socket_url = server.url
            async with slack_bot(settings, now=NOW, configure=socket_mode_only, fake=fake) as bot:
                await seed_acme(bot)
                # Signed with the empty key, as slack-sdk < 3.43 accepted: an admin's
                # command and an uninstall, both forged.
                for forged in (
                    slash_command("assign acme.io <@U0JONREP002|jon>", secret=""),
                    event_callback({"type": "app_uninstalled"}, secret=""),
                    slash_command("help"),
                ):
                    response = await bot.send(forged)
                    assert response.status_code == 404, response.text
                assert [c.method for c in fake.calls] == ["apps.connections.open"]


async def test_a_refused_app_token_stops_start_up_with_a_clear_error(settings: Settings) -> None:
    def wrong_token(s: Settings) -> Settings:
        return Settings.model_validate({**s.model_dump(), "slack_app_token": "xapp-revoked"})

    with pytest.raises(TipoffError) as refused:
        async with slack_bot(settings, now=NOW, configure=wrong_token):
            raise AssertionError("started with a refused app token")
    assert refused.value.message == (
        "Slack refused SLACK_APP_TOKEN (invalid_auth): it must be an app-level token "
        "(xapp-…) with the connections:write scope, from the app's Basic Information."
    )
    assert "xapp-revoked" not in str(refused.value)
