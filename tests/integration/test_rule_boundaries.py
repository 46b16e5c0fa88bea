"""Every rule of the default model file at its boundary, end to end: accounts and signals in
a real database, rescored, alerts queued in the outbox, delivered to the fake Slack Web
API, reminded by the SLA job; the clock moved by hand to exactly a limit and to just
before it.

Each expected track is worked out by hand from the model file (default.yml) and written
next to the account; a score exactly at a threshold is in, a point under it is out. The
unit twins of these tests, on `route()` and the workflow rules alone, are in
tests/unit/test_routing_boundaries.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from tests import seed
from tests.conftest import NOW
from tests.fakes.signing import interactivity, view_submission
from tests.fakes.slack_bot import SlackBot, slack_bot
from tipoff.alerts.delivery import PACE_SECONDS, deliver_pending_alerts
from tipoff.alerts.sla import SlaReport, check_slas
from tipoff.model import loader
from tipoff.runtime import Runtime
from tipoff.scores.rescoring import rescore
from tipoff.settings import Settings
from tipoff.slack.install_state import pause_posting
from tipoff.store.tables import accounts, alerts, people, scores, snoozes

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
CHANNEL = "C0SALESALRT"  # what the fake Slack resolves #sales-alerts to
DEFAULT_MODEL = Path(loader.__file__).with_name("default.yml").read_text("utf-8")
ENGINEER = "Software Engineer"  # no title match
VP = "VP Engineering"  # a decision-maker title: fit +15


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[SlackBot]:
    async with slack_bot(settings, now=NOW) as running:
        yield running


def with_model(tmp_path: Path, **replace: str) -> Any:
    """A `configure` for slack_bot: the default model with some of its lines replaced."""
    text = DEFAULT_MODEL
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "model.yml"
    path.write_text(text, "utf-8")

    def configure(settings: Settings) -> Settings:
        return Settings.model_validate({**settings.model_dump(), "model_path": path})

    return configure


def with_settings(**values: Any) -> Any:
    """A `configure` for slack_bot: some settings changed."""

    def configure(settings: Settings) -> Settings:
        return Settings.model_validate({**settings.model_dump(), **values})

    return configure


@dataclass(frozen=True)
class Spec:
    """An account whose signals all arrive a day before `at` (inside the 7-day grace
    period, so nothing decays) by one person with `title`."""

    name: str
    events: tuple[str, ...]
    title: str = ENGINEER
    industry: str = "Software"


async def add_account(runtime: Runtime, spec: Spec, *, at: datetime = NOW) -> int:
    domain = f"{spec.name.lower().replace(' ', '-')}.io"
    async with runtime.db.transaction() as conn:
        account = await seed.account(
            conn, at, domain, spec.name, employees=250, industry=spec.industry
        )
        person = await seed.person(conn, at, account, "Dana Lee", f"dana@{domain}", spec.title)
        for event in spec.events:
            await seed.signal(conn, at - DAY, account, person, event)
    return account


async def add_signals(runtime: Runtime, account: int, *events: str) -> None:
    """`events` by the account's person, an hour before the clock."""
    async with runtime.db.transaction() as conn:
        person = await conn.scalar(select(people.c.id).where(people.c.account_id == account))
        for event in events:
            await seed.signal(conn, runtime.clock() - HOUR, account, person, event)


async def tracks(runtime: Runtime) -> dict[str, tuple[int, str]]:
    async with runtime.db.transaction() as conn:
        rows = await conn.execute(
            select(accounts.c.name, scores.c.score, scores.c.track).join(
                scores, scores.c.account_id == accounts.c.id
            )
        )
        return {r.name: (r.score, r.track) for r in rows}


async def alert_rows(runtime: Runtime) -> list[dict[str, Any]]:
    async with runtime.db.transaction() as conn:
        rows = await conn.execute(
            select(alerts, accounts.c.name)
            .join(accounts, accounts.c.id == alerts.c.account_id)
            .order_by(alerts.c.id)
        )
        return [dict(r._mapping) for r in rows]


CORE, INTEGRATION, USAGE = "Core Action Completed", "Integration Connected", "Usage Limit Hit"
ONBOARDING, EMAIL, PRICING = "Onboarding Completed", "Email Clicked", "Pricing Page Viewed"
CONTENT, UNSUBSCRIBED = "Content Downloaded", "Unsubscribed"

# Points from default.yml: core 30, integration 15, usage limit 10, onboarding 5, an email
# click 2, two pricing visits in 7 days 20, a download 4, an unsubscribe -15; a
# decision-maker title +15; 3 or more signals in the last 7 days and none in the 21 before
# is rising activity, +5. Product 45 is strong, marketing 20 is intent, fit 0 is good.
MORE_PRODUCT = (CORE, INTEGRATION, USAGE, ONBOARDING)  # 60
MINUS_ONE = (CONTENT, CONTENT, EMAIL, EMAIL, EMAIL, UNSUBSCRIBED)  # 8 + 6 - 15 = -1
THRESHOLD_ACCOUNTS = [
    # qualify_at 60: product 55 + rising 5 = 60, sales-ready; 59 (product 50, marketing 4,
    # rising 5) is a strong product signal below qualify_at: nurture.
    (Spec("At Qualify", (CORE, INTEGRATION, USAGE)), (60, "sales-ready")),
    (Spec("Under Qualify", (CORE, INTEGRATION, ONBOARDING, EMAIL, EMAIL)), (59, "nurture")),
    # hot_at 80 with a title: product 60 + title 15 + rising 5 = 80; one under: 55 + 4 + 15 + 5.
    (Spec("At Hot", (CORE, INTEGRATION, USAGE, ONBOARDING), VP), (80, "hot")),
    (Spec("Under Hot", (CORE, INTEGRATION, USAGE, EMAIL, EMAIL), VP), (79, "sales-ready")),
    # marketing_intent_at 20, no title: product 55 + two pricing visits 20 + rising 5 = 80,
    # hot; marketing 19 (pricing 20 + downloads 8 + emails 6 - unsubscribe 15) at 84 is not.
    (Spec("At Intent", (CORE, INTEGRATION, USAGE, PRICING, PRICING)), (80, "hot")),
    (
        Spec("Under Intent", (*MORE_PRODUCT, PRICING, PRICING, *MINUS_ONE)),
        (84, "sales-ready"),
    ),
    # strong_product_at 45 (two signals: no timing points): a good-fit account with product
    # 45 is nurture; product 40 and nothing else is low-touch.
    (Spec("At Strong", (CORE, INTEGRATION)), (45, "nurture")),
    (Spec("Under Strong", (CORE, USAGE)), (40, "low-touch")),
    # good_fit_at 0: "At Qualify" has fit 0; the same signals in an off-profile industry
    # (fit -15): 55 + 5 - 15 = 45, a strong product at a poor fit, monitor.
    (Spec("Poor Fit", (CORE, INTEGRATION, USAGE), industry="Education"), (45, "monitor")),
]


async def test_each_routing_threshold_exactly_at_and_one_point_under(runtime: Runtime) -> None:
    for spec, _ in THRESHOLD_ACCOUNTS:
        await add_account(runtime, spec)

    summary = await rescore(runtime)

    assert await tracks(runtime) == {spec.name: expected for spec, expected in THRESHOLD_ACCOUNTS}
    assert [(r["name"], r["reason"]) for r in await alert_rows(runtime)] == [
        ("At Qualify", "entered sales-ready"),
        ("At Hot", "entered hot"),
        ("Under Hot", "entered sales-ready"),
        ("At Intent", "entered hot"),
        ("Under Intent", "entered sales-ready"),
    ]
    assert summary.alerts_queued == 5


# --- bundling: more than bundle_over alerts for one channel in one run --------------------

HOT_SPEC = (CORE, INTEGRATION, USAGE, ONBOARDING)  # with a VP: 80, hot
READY_SPEC = (CORE, INTEGRATION, USAGE)  # 60, sales-ready


async def test_bundle_over_counts_per_channel_and_exactly_bundle_over_is_not_bundled(
    settings: Settings, tmp_path: Path
) -> None:
    # bundle_over is 15: hot accounts go to #sales-hot, sales-ready ones to the default
    # channel. In one run, exactly 15 hot alerts stay single messages, while 16
    # sales-ready ones become one bundle; neither count is over the limit by the other's.
    configure = with_model(tmp_path, **{"  channels: {}\n": '  channels: {hot: "#sales-hot"}\n'})
    async with slack_bot(settings, now=NOW, configure=configure) as bot:
        for n in range(15):
            await add_account(bot.runtime, Spec(f"Hot {n:02}", HOT_SPEC, VP))
        for n in range(16):
            await add_account(bot.runtime, Spec(f"Ready {n:02}", READY_SPEC))

        assert (await rescore(bot.runtime)).alerts_queued == 31

        queued = await alert_rows(bot.runtime)
        hot = [(r["target"], r["reason"], r["status"]) for r in queued if r["track"] == "hot"]
        assert hot == [("#sales-hot", "entered hot", "pending")] * 15
        ready = [r for r in queued if r["track"] == "sales-ready"]
        assert (
            sorted((r["target"], r["reason"], r["status"]) for r in ready)
            == [("#sales-alerts", "bundle", "pending")]
            + [("#sales-alerts", "entered sales-ready", "bundled")] * 16
        )
        (bundle,) = [r for r in ready if r["reason"] == "bundle"]
        assert bundle["text"] == "16 accounts just became ready"

        report = await deliver_pending_alerts(bot.runtime, limit=100, pace_seconds=0)
        assert report.sent == 16  # 15 hot alerts and one bundle
        posted = [c.params for c in bot.fake.calls_to("chat.postMessage")]
        assert [p["channel"] for p in posted] == ["#sales-hot"] * 15 + ["#sales-alerts"]


async def test_bundle_over_is_the_models_limit_per_channel(
    settings: Settings, tmp_path: Path
) -> None:
    # The same with bundle_over: 2, one channel: 2 alerts are two messages; a run later,
    # 3 alerts are one bundle.
    configure = with_model(tmp_path, **{"  bundle_over: 15\n": "  bundle_over: 2\n"})
    async with slack_bot(settings, now=NOW, configure=configure) as bot:
        for n in range(2):
            await add_account(bot.runtime, Spec(f"First {n}", READY_SPEC))
        assert (await rescore(bot.runtime)).alerts_queued == 2
        for n in range(3):
            await add_account(bot.runtime, Spec(f"Second {n}", READY_SPEC))
        assert (await rescore(bot.runtime)).alerts_queued == 3
        assert [(r["reason"], r["status"]) for r in await alert_rows(bot.runtime)] == [
            ("entered sales-ready", "pending"),
            ("entered sales-ready", "pending"),
            ("bundle", "pending"),
            ("entered sales-ready", "bundled"),
            ("entered sales-ready", "bundled"),
            ("entered sales-ready", "bundled"),
        ]


async def test_a_bundle_lists_hot_first_then_by_score_and_is_filed_under_the_best(
    settings: Settings, tmp_path: Path
) -> None:
    configure = with_model(tmp_path, **{"  bundle_over: 15\n": "  bundle_over: 2\n",
                                        "  bundle_top: 5\n": "  bundle_top: 3\n"})  # fmt: skip
    async with slack_bot(settings, now=NOW, configure=configure) as bot:
        await add_account(bot.runtime, Spec("Ready Sixty", READY_SPEC))  # 60
        await add_account(bot.runtime, Spec("Ready Sixty Five", (*READY_SPEC, ONBOARDING)))
        hot = await add_account(bot.runtime, Spec("Hot Eighty", HOT_SPEC, VP))
        await add_account(bot.runtime, Spec("Ready Sixty Too", READY_SPEC))
        assert (await rescore(bot.runtime)).alerts_queued == 4

        (bundle,) = [r for r in await alert_rows(bot.runtime) if r["reason"] == "bundle"]
        assert (bundle["account_id"], bundle["track"], bundle["score"]) == (hot, "hot", 80)
        assert bundle["evidence_rules"] == []  # a bundle has no evidence of its own
        lines = [b["text"]["text"] for b in bundle["blocks"][2:5]]
        assert [line.split(" — ")[1].split(" · ")[0] for line in lines] == [
            "*80* hot",
            "*65* sales-ready",
            "*60* sales-ready",
        ]
        assert lines[2].startswith("*Ready Sixty*")  # of equal scores, the older account
        assert bundle["blocks"][5]["elements"][0]["text"] == (
            "…and 1 more: Ready Sixty Too (60). All of them: `/tipoff top`"
        )


# --- no noise: the cooldown after an alert, the quiet after a Wrong, moving up into hot ---


async def alerted_hot(bot: SlackBot) -> int:
    """An account alerted hot at NOW (posted, so it can be answered in Slack)."""
    account = await add_account(bot.runtime, Spec("Acme", HOT_SPEC, VP))
    assert (await rescore(bot.runtime)).alerts_queued == 1
    assert (await deliver_pending_alerts(bot.runtime)).sent == 1
    return account


async def test_the_cooldown_ends_exactly_cooldown_hours_after_the_alert(bot: SlackBot) -> None:
    acme = await alerted_hot(bot)
    bot.clock.now = NOW + 72 * HOUR - SECOND  # cooldown_hours: 72
    await add_signals(bot.runtime, acme, "Demo Requested")  # a new strong signal (+35)
    assert (await rescore(bot.runtime)).alerts_queued == 0
    bot.clock.now = NOW + 72 * HOUR
    assert (await rescore(bot.runtime, everything=True)).alerts_queued == 1
    assert (await alert_rows(bot.runtime))[-1]["reason"] == "new signal: demo_request"


async def test_after_a_wrong_the_account_is_quiet_for_exactly_wrong_cooldown_days(
    bot: SlackBot,
) -> None:
    acme = await alerted_hot(bot)
    wrong = view_submission(account_id=acme, channel=CHANNEL, ts="1763650800.000001",
                            reason="bad_timing")  # fmt: skip
    assert (await bot.send(interactivity(wrong))).status_code == 200

    def refreshed() -> tuple[str, ...]:
        # Fresh activity, so the account is still hot two weeks on, and a demo request:
        # news that would alert at once but for the Wrong.
        return (*HOT_SPEC, "Demo Requested")

    bot.clock.now = NOW + 14 * DAY - SECOND  # wrong_cooldown_days: 14
    await add_signals(bot.runtime, acme, *refreshed())
    assert (await rescore(bot.runtime)).alerts_queued == 0
    assert (await tracks(bot.runtime))["Acme"][1] == "hot"
    bot.clock.now = NOW + 14 * DAY
    assert (await rescore(bot.runtime, everything=True)).alerts_queued == 1
    assert (await alert_rows(bot.runtime))[-1]["reason"] == "new signal: demo_request"


async def test_after_the_cooldown_a_score_up_exactly_jump_points_alerts(bot: SlackBot) -> None:
    # Both alerted hot at 80. After the 72 h cooldown, no new strong signal (every new
    # line is under strong_signal_points, 20): one is up 15 (jump_points), one up 14.
    up_15 = await add_account(bot.runtime, Spec("Up Fifteen", HOT_SPEC, VP))
    up_14 = await add_account(bot.runtime, Spec("Up Fourteen", HOT_SPEC, VP))
    assert (await rescore(bot.runtime)).alerts_queued == 2
    bot.clock.now = NOW + 72 * HOUR
    await add_signals(bot.runtime, up_15, "Teammate Invited", "Billing Page Viewed")  # 5 + 10
    await add_signals(bot.runtime, up_14, "Billing Page Viewed", EMAIL, EMAIL)  # 10 + 2 + 2
    assert (await rescore(bot.runtime)).alerts_queued == 1
    assert (await tracks(bot.runtime))["Up Fifteen"] == (95, "hot")
    assert (await tracks(bot.runtime))["Up Fourteen"] == (94, "hot")
    newest = (await alert_rows(bot.runtime))[-1]
    assert (newest["name"], newest["reason"]) == ("Up Fifteen", "score up 15 since the last alert")


async def test_an_excluded_domain_never_alerts(runtime: Runtime) -> None:
    # example.com is in the default model's exclude list, subdomains too.
    async with runtime.db.transaction() as conn:
        account = await seed.account(conn, NOW, "sales.example.com", "Our Own", employees=250)
        person = await seed.person(conn, NOW, account, "Dana Lee", "dana@example.com", VP)
        for event in HOT_SPEC:
            await seed.signal(conn, NOW - DAY, account, person, event)
    assert (await rescore(runtime)).alerts_queued == 0
    assert await tracks(runtime) == {"Our Own": (0, "low-touch")}


async def test_moving_up_into_hot_alerts_inside_the_cooldown(bot: SlackBot) -> None:
    ready = await add_account(bot.runtime, Spec("Initech", READY_SPEC))
    assert (await rescore(bot.runtime)).alerts_queued == 1  # 60: sales-ready
    bot.clock.now = NOW + HOUR  # well inside the 72 h cooldown
    await add_signals(bot.runtime, ready, PRICING, PRICING)  # marketing intent: 80, hot
    assert (await rescore(bot.runtime)).alerts_queued == 1
    assert (await tracks(bot.runtime))["Initech"] == (80, "hot")
    assert [(r["track"], r["reason"]) for r in await alert_rows(bot.runtime)] == [
        ("sales-ready", "entered sales-ready"),
        ("hot", "entered hot"),
    ]


async def test_inside_the_cooldown_neither_a_new_signal_nor_reentering_the_same_track_alerts(
    bot: SlackBot,
) -> None:
    ready = await add_account(bot.runtime, Spec("Initech", READY_SPEC))
    assert (await rescore(bot.runtime)).alerts_queued == 1
    # It falls to nurture (an unsubscribe, -15: 45, below qualify_at) and comes back,
    # with a new strong signal (two pricing visits, +20: marketing 5, no intent), to
    # sales-ready at 65: not above the track last alerted, and inside the cooldown.
    bot.clock.now = NOW + HOUR
    await add_signals(bot.runtime, ready, UNSUBSCRIBED)
    assert (await rescore(bot.runtime)).alerts_queued == 0
    assert (await tracks(bot.runtime))["Initech"][1] == "nurture"
    bot.clock.now = NOW + 2 * HOUR
    await add_signals(bot.runtime, ready, PRICING, PRICING)
    assert (await rescore(bot.runtime)).alerts_queued == 0
    assert (await tracks(bot.runtime))["Initech"] == (65, "sales-ready")
    # After the cooldown the new signal is news.
    bot.clock.now = NOW + 72 * HOUR
    assert (await rescore(bot.runtime, everything=True)).alerts_queued == 1
    assert (await alert_rows(bot.runtime))[-1]["reason"] == "new signal: pricing_visits"


# --- pacing: about one post a second into each channel, channels independent ------------


TWO_CHANNELS = {"  channels: {}\n": '  channels: {hot: "#sales-hot"}\n'}  # sales-ready: default


async def queue_alternately(bot: SlackBot, count: int) -> None:
    """`count` alerts, queued a second apart, alternately for #sales-alerts and #sales-hot."""
    async with bot.runtime.db.transaction() as conn:
        for n in range(count):
            track, target = [("sales-ready", "#sales-alerts"), ("hot", "#sales-hot")][n % 2]
            account = await seed.account(conn, NOW, f"a{n}.io", f"A{n}")
            await conn.execute(
                alerts.insert().values(
                    account_id=account,
                    track=track,
                    score=80,
                    reason=f"entered {track}",
                    text=f"{target} {n}",
                    blocks=[],
                    target=target,
                    status="pending",
                    attempts=0,
                    next_attempt_at=NOW,
                    created_at=NOW + n * SECOND,
                )
            )


async def test_posts_into_one_channel_are_paced_at_the_default_pace(
    settings: Settings, tmp_path: Path
) -> None:
    async with slack_bot(settings, now=NOW, configure=with_model(tmp_path, **TWO_CHANNELS)) as bot:
        await queue_alternately(bot, 4)
        assert (await deliver_pending_alerts(bot.runtime)).sent == 4  # at the default pace
        posts = bot.fake.calls_to("chat.postMessage")
    assert [(p.params["channel"], p.params["text"]) for p in posts] == [
        ("#sales-alerts", "#sales-alerts 0"),
        ("#sales-hot", "#sales-hot 1"),
        ("#sales-alerts", "#sales-alerts 2"),
        ("#sales-hot", "#sales-hot 3"),
    ]
    first_a, first_b, second_a, second_b = (p.at for p in posts)
    # A second post into a channel waits out the pace after the first one there: Slack's
    # one message a second per channel.
    assert second_a - first_a >= 1.0
    assert second_b - first_b >= 1.0


async def test_a_channels_pace_does_not_hold_posts_into_another(
    settings: Settings, tmp_path: Path
) -> None:
    # With a pace of a minute, the post into the other channel goes out at once: well
    # inside that minute, on any machine (paced together, it would wait the minute out).
    async with slack_bot(settings, now=NOW, configure=with_model(tmp_path, **TWO_CHANNELS)) as bot:
        await queue_alternately(bot, 2)
        assert (await deliver_pending_alerts(bot.runtime, pace_seconds=60)).sent == 2
        first_a, first_b = (p.at for p in bot.fake.calls_to("chat.postMessage"))
    assert first_b - first_a < 60


def test_the_default_pace_is_slacks_one_message_a_second() -> None:
    assert PACE_SECONDS == 1.0


# --- the SLA clock: working hours only ---------------------------------------------------


async def posted_at(bot: SlackBot, at: datetime, name: str = "Acme") -> int:
    """A hot account alerted and posted at `at` (hot: a reminder after 4 working hours)."""
    bot.clock.now = at
    account = await add_account(bot.runtime, Spec(name, HOT_SPEC, VP), at=at)
    assert (await rescore(bot.runtime)).alerts_queued == 1
    assert (await deliver_pending_alerts(bot.runtime)).sent == 1
    return account


async def reminded_at(bot: SlackBot, before: datetime, due: datetime) -> None:
    bot.clock.now = before
    assert (await check_slas(bot.runtime)).reminded == 0
    bot.clock.now = due
    assert (await check_slas(bot.runtime)).reminded == 1


MONDAY = datetime(2026, 11, 23, tzinfo=UTC)  # working hours: 09:00-17:00 UTC, Mon-Fri


async def test_an_alert_posted_at_opening_is_reminded_four_hours_later(bot: SlackBot) -> None:
    await posted_at(bot, MONDAY + 9 * HOUR)
    await reminded_at(bot, MONDAY + 13 * HOUR - SECOND, MONDAY + 13 * HOUR)


async def test_an_alert_posted_before_opening_counts_from_opening(bot: SlackBot) -> None:
    await posted_at(bot, MONDAY + 6 * HOUR)
    await reminded_at(bot, MONDAY + 13 * HOUR - SECOND, MONDAY + 13 * HOUR)


async def test_an_alert_posted_at_closing_counts_from_the_next_opening(bot: SlackBot) -> None:
    await posted_at(bot, MONDAY + 17 * HOUR)
    tuesday = MONDAY + DAY
    await reminded_at(bot, tuesday + 13 * HOUR - SECOND, tuesday + 13 * HOUR)


async def test_an_alert_posted_an_hour_before_closing_carries_three_hours_over(
    bot: SlackBot,
) -> None:
    await posted_at(bot, MONDAY + 16 * HOUR)
    tuesday = MONDAY + DAY
    await reminded_at(bot, tuesday + 12 * HOUR - SECOND, tuesday + 12 * HOUR)


async def test_an_alert_posted_on_a_weekend_counts_from_monday(bot: SlackBot) -> None:
    saturday = MONDAY - 2 * DAY
    await posted_at(bot, saturday + 12 * HOUR)
    # Nothing all weekend, nor on Monday before 13:00.
    await reminded_at(bot, MONDAY + 13 * HOUR - SECOND, MONDAY + 13 * HOUR)


async def test_a_snoozed_account_is_reminded_once_its_snooze_ends_exactly(bot: SlackBot) -> None:
    acme = await posted_at(bot, MONDAY + 9 * HOUR)
    until = MONDAY + 14 * HOUR  # an hour after the reminder was due
    async with bot.runtime.db.transaction() as conn:
        await conn.execute(
            snoozes.insert().values(
                account_id=acme, slack_user_id="U0MAYAREP01", until=until, created_at=NOW
            )
        )
    await reminded_at(bot, until - SECOND, until)


async def test_a_snooze_keeps_only_its_own_account_quiet(bot: SlackBot) -> None:
    acme = await posted_at(bot, MONDAY + 9 * HOUR)
    await posted_at(bot, MONDAY + 9 * HOUR, "Initech")
    async with bot.runtime.db.transaction() as conn:
        await conn.execute(
            snoozes.insert().values(
                account_id=acme, slack_user_id="U0MAYAREP01", until=MONDAY + DAY, created_at=NOW
            )
        )
    bot.clock.now = MONDAY + 13 * HOUR
    assert (await check_slas(bot.runtime)).reminded == 1
    reminder = bot.fake.calls_to("chat.postMessage")[-1].params["text"]
    assert "*Initech*" in reminder


async def test_every_unclaimed_alert_is_reminded_and_escalated_in_one_run(
    settings: Settings,
) -> None:
    configure = with_settings(escalation_channel="#sales-leads")
    async with slack_bot(settings, now=MONDAY + 9 * HOUR, configure=configure) as bot:
        await posted_at(bot, MONDAY + 9 * HOUR, "Acme")
        await posted_at(bot, MONDAY + 9 * HOUR, "Initech")
        bot.clock.now = MONDAY + 13 * HOUR
        assert await check_slas(bot.runtime) == SlaReport(reminded=2)
        bot.clock.now = MONDAY + 17 * HOUR
        assert await check_slas(bot.runtime) == SlaReport(escalated=2)
        texts = [c.params["text"] for c in bot.fake.calls_to("chat.postMessage")[2:]]
        assert [t.split("*")[1] for t in texts] == ["Acme", "Initech", "Acme", "Initech"]


async def test_a_track_without_an_sla_gets_no_reminder_and_the_others_still_do(
    settings: Settings, tmp_path: Path
) -> None:
    configure = with_model(
        tmp_path, **{"    sales-ready: {remind_after_hours: 8, escalate_after_hours: 8}\n": ""}
    )
    async with slack_bot(settings, now=MONDAY + 9 * HOUR, configure=configure) as bot:
        await add_account(bot.runtime, Spec("Initech", READY_SPEC), at=bot.clock.now)
        await add_account(bot.runtime, Spec("Acme", HOT_SPEC, VP), at=bot.clock.now)
        assert (await rescore(bot.runtime)).alerts_queued == 2
        assert (await deliver_pending_alerts(bot.runtime)).sent == 2  # Initech's first
        bot.clock.now = MONDAY + 4 * DAY
        assert await check_slas(bot.runtime) == SlaReport(reminded=1)
        assert "*Acme*" in bot.fake.calls_to("chat.postMessage")[-1].params["text"]


async def test_an_account_without_a_name_is_reminded_by_its_domain(bot: SlackBot) -> None:
    acme = await posted_at(bot, MONDAY + 9 * HOUR)
    async with bot.runtime.db.transaction() as conn:
        await conn.execute(update(accounts).where(accounts.c.id == acme).values(name=None))
    bot.clock.now = MONDAY + 13 * HOUR
    assert (await check_slas(bot.runtime)).reminded == 1
    assert (
        bot.fake.calls_to("chat.postMessage")[-1]
        .params["text"]
        .startswith("⏰ Still unclaimed after 4 working hours: who takes *acme.io*?")
    )


async def test_no_reminder_is_posted_while_posting_is_paused(bot: SlackBot) -> None:
    await posted_at(bot, MONDAY + 9 * HOUR)
    bot.fake.revoke()
    await pause_posting(bot.runtime, "token_revoked", "the app was uninstalled")
    bot.clock.now = MONDAY + 13 * HOUR
    assert await check_slas(bot.runtime) == SlaReport()
    assert len(bot.fake.calls_to("chat.postMessage")) == 1  # the alert only


async def test_a_bundle_gets_no_reminder(settings: Settings, tmp_path: Path) -> None:
    # Its accounts are listed for anyone to claim; a reminder in its thread would name one.
    configure = with_model(tmp_path, **{"  bundle_over: 15\n": "  bundle_over: 2\n"})
    async with slack_bot(settings, now=MONDAY + 9 * HOUR, configure=configure) as bot:
        for n in range(3):
            await add_account(bot.runtime, Spec(f"Hot {n}", HOT_SPEC, VP), at=bot.clock.now)
        assert (await rescore(bot.runtime)).alerts_queued == 3
        assert (await deliver_pending_alerts(bot.runtime)).sent == 1
        bot.clock.now = MONDAY + 7 * DAY
        assert await check_slas(bot.runtime) == SlaReport()
