"""Block Kit layouts, compared block for block with what a rep sees in Slack."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tipoff.core.history import AccountHistory, Person
from tipoff.core.routing import Dimensions, Track
from tipoff.core.scoring import Contact, Evidence, ScoreResult
from tipoff.slack import blocks
from tipoff.slack.blocks import FeedbackNote, SlackMessage, TopEntry

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
NOW_DATE = "<!date^1795186800^{date_short_pretty} at {time}|2026-11-20 15:00 UTC>"

MAYA = Person(1, "Maya Chen", "maya@acme.com", "VP Engineering")
ACME = AccountHistory(
    id=42,
    domain="acme.com",
    name="Acme Corp",
    employees=250,
    industry="Software",
    people={1: MAYA},
)


def result(
    track: Track = Track.SALES_READY,
    score: int = 87,
    evidence: tuple[Evidence, ...] | None = None,
    contact: Contact | None = None,
    excluded: bool = False,
) -> ScoreResult:
    if evidence is None:
        evidence = (
            Evidence("demo_request", "marketing", 35, "Maya Chen (VP Engineering) requested a demo 2 days ago", (1,)),
            Evidence("core_action", "product", 30, "Maya Chen (VP Engineering) completed a core action yesterday", (1,)),
            Evidence("second_active_user", "product", 20, "2 people were active in the product in the last 30 days: Maya Chen (VP Engineering) and Sam Ortiz"),
            Evidence("decision_maker", "fit", 15, "Maya Chen (VP Engineering) holds a decision-making title", (1,)),
            Evidence("unsubscribed", "marketing", -12.5, "Sam Ortiz unsubscribed from marketing email 10 days ago"),
            Evidence("fading", "timing", -0.4, "Activity is fading: 1 signal in the last 7 days, against 9 in the 21 days before"),
        )  # fmt: skip
    return ScoreResult(
        account_id=42,
        score=score,
        raw_points=float(score),
        dimensions=Dimensions(fit=15, product=50, marketing=22.5, timing=-0.4),
        track=track,
        evidence=evidence,
        contact=contact,
        title_match=True,
        excluded=excluded,
    )


MAYA_CONTACT = Contact(
    1,
    "Maya Chen (VP Engineering)",
    "maya@acme.com",
    "Maya Chen (VP Engineering) requested a demo 2 days ago",
)

DIMENSIONS = {
    "type": "section",
    "fields": [
        {"type": "mrkdwn", "text": "*Fit*\n+15"},
        {"type": "mrkdwn", "text": "*Product*\n+50"},
        # 22.5 and -0.4 share one rounding: 87.1 shows as 15 + 50 + 22 + 0 = 87.
        {"type": "mrkdwn", "text": "*Marketing*\n+22"},
        {"type": "mrkdwn", "text": "*Timing*\n0"},
    ],
}
BUTTONS = {
    "type": "actions",
    "block_id": "tipoff_feedback_buttons",
    "elements": [
        {
            "type": "button",
            "action_id": "feedback_right",
            "text": {"type": "plain_text", "text": "👍 Right", "emoji": True},
            "style": "primary",
            "value": "42",
        },
        {
            "type": "button",
            "action_id": "feedback_wrong",
            "text": {"type": "plain_text", "text": "👎 Wrong", "emoji": True},
            "value": "42",
        },
        {
            "type": "button",
            "action_id": "workflow_claim",
            "text": {"type": "plain_text", "text": "🙋 Claim", "emoji": True},
            "value": "42",
        },
        {
            "type": "static_select",
            "action_id": "workflow_snooze",
            "placeholder": {"type": "plain_text", "text": "😴 Snooze", "emoji": True},
            "options": [
                {"text": {"type": "plain_text", "text": label}, "value": f"42:{days}"}
                for days, label in [(1, "1 day"), (3, "3 days"), (7, "1 week"), (30, "30 days")]
            ],
        },
    ],
}


def section(text: str) -> blocks.Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> blocks.Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def header(text: str) -> blocks.Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


# --- alerts -----------------------------------------------------------------------------


def test_a_sales_ready_alert_shows_headline_dimensions_five_evidence_lines_and_contact() -> None:
    message = blocks.alert_message(ACME, result(contact=MAYA_CONTACT), now=NOW)
    assert message.text == "Acme Corp is ready — 87"
    assert message.blocks == [
        header("Acme Corp is ready — 87"),
        context("*Sales-ready* — same-day follow-up · acme.com · 250 employees · Software"),
        DIMENSIONS,
        section(
            "*Why now*\n"
            "• Maya Chen (VP Engineering) requested a demo 2 days ago (+35)\n"
            "• Maya Chen (VP Engineering) completed a core action yesterday (+30)\n"
            "• 2 people were active in the product in the last 30 days: "
            "Maya Chen (VP Engineering) and Sam Ortiz (+20)\n"
            "• Maya Chen (VP Engineering) holds a decision-making title (+15)\n"
            "• Sam Ortiz unsubscribed from marketing email 10 days ago (-13)"
        ),
        section(
            "*Contact first:* Maya Chen (VP Engineering) · maya@acme.com\n"
            "_Why:_ Maya Chen (VP Engineering) requested a demo 2 days ago"
        ),
        context(f"Scored {NOW_DATE} · Was this right? Your answer tunes the model."),
        BUTTONS,
    ]


def test_a_hot_alert_has_its_own_headline_and_says_so_when_nobody_is_named() -> None:
    two = (
        Evidence("core_action", "product", 30, "An anonymous visitor completed a core action"),
        Evidence("onboarding", "product", 0, "Zero-point lines are not shown"),
        Evidence("pricing_visits", "marketing", 20, "Viewed the pricing page 3 times"),
    )
    message = blocks.alert_message(ACME, result(Track.HOT, 92, two), now=NOW)
    assert message.text == "🔥 Acme Corp is hot — 92"
    assert message.blocks[0] == header("🔥 Acme Corp is hot — 92")
    assert message.blocks[1] == context(
        "*Hot* — alert now, top of the queue · acme.com · 250 employees · Software"
    )
    assert message.blocks[3] == section(
        "*Why now*\n"
        "• An anonymous visitor completed a core action (+30)\n"
        "• Viewed the pricing page 3 times (+20)"
    )
    assert message.blocks[4] == section(
        "*Contact first:* nobody named yet: the signals so far are anonymous."
    )


def test_names_from_signals_cannot_ping_a_channel_or_break_the_markup() -> None:
    sneaky = AccountHistory(id=42, domain="at-t.com", name="<!channel> AT&T")
    line = Evidence("core_action", "product", 30, "<@U999> & <https://evil.example|you> did it")
    message = blocks.alert_message(sneaky, result(evidence=(line,)), now=NOW)
    # Plain text headers show text as written; mrkdwn gets the three entities escaped.
    assert message.blocks[0] == header("<!channel> AT&T is ready — 87")
    assert message.text == "&lt;!channel&gt; AT&amp;T is ready — 87"
    assert message.blocks[3] == section(
        "*Why now*\n• &lt;@U999&gt; &amp; &lt;https://evil.example|you&gt; did it (+30)"
    )


def test_every_text_is_clipped_to_slacks_limits() -> None:
    huge = AccountHistory(id=42, domain="x.com", name="N" * 400)
    long_line = Evidence("core_action", "product", 30, "&" * 4000)
    message = blocks.alert_message(huge, result(evidence=(long_line,) * 9), now=NOW)
    headline = message.blocks[0]["text"]["text"]
    assert len(headline) == 150 and headline.endswith("…")
    why = message.blocks[3]["text"]["text"]
    assert len(why) <= 3000
    # Clipped lines end on a whole entity, never on half of "&amp;".
    assert why.splitlines()[1] == "• " + "&amp;" * 99 + "… (+30)"
    assert len(message.blocks) <= 50


# --- feedback on an alert ---------------------------------------------------------------


def test_feedback_is_appended_under_the_buttons_one_line_per_rep() -> None:
    alert = blocks.alert_message(ACME, result(contact=MAYA_CONTACT), now=NOW)
    notes = [
        FeedbackNote("U123", "right"),
        FeedbackNote("U456", "wrong", "Already a customer — they renewed in March"),
    ]
    shown = blocks.with_feedback(alert.blocks, notes)
    assert shown == [
        *alert.blocks,
        {
            "type": "context",
            "block_id": "tipoff_feedback",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "✅ <@U123> says Right\n"
                    "❌ <@U456> says Wrong: already a customer — they renewed in March",
                }
            ],
        },
    ]
    assert shown[-2] == BUTTONS  # the buttons stay, so others can still answer

    # Re-rendering replaces the block; a rep who changes their mind is shown once, last.
    again = blocks.with_feedback(shown, [*notes, FeedbackNote("U123", "wrong", "Bad timing")])
    assert again[-1]["elements"][0]["text"] == (
        "❌ <@U456> says Wrong: already a customer — they renewed in March\n"
        "❌ <@U123> says Wrong: bad timing"
    )
    assert again[:-1] == alert.blocks


def test_many_verdicts_keep_the_newest_within_the_limit() -> None:
    notes = [FeedbackNote(f"U{i:08d}", "wrong", "x" * 300) for i in range(20)]
    text = blocks.with_feedback([], notes)[-1]["elements"][0]["text"]
    assert len(text) <= 3000
    lines = text.split("\n")
    assert lines[0] == "_…and 11 earlier answers_"
    assert lines[1].startswith("❌ <@U00000011> says Wrong: ")
    assert lines[-1].startswith("❌ <@U00000019> says Wrong: ")


def test_feedback_on_a_message_that_is_not_a_stored_alert_adds_to_what_it_showed() -> None:
    shown = [section("Something Tipoff posted"), BUTTONS]
    first = blocks.add_feedback(shown, FeedbackNote("U123", "right"))
    second = blocks.add_feedback(first, FeedbackNote("U456", "wrong", "Not a fit"))
    changed = blocks.add_feedback(second, FeedbackNote("U123", "wrong", "Bad timing"))
    assert changed == [
        *shown,
        {
            "type": "context",
            "block_id": "tipoff_feedback",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "❌ <@U456> says Wrong: not a fit\n❌ <@U123> says Wrong: bad timing",
                }
            ],
        },
    ]


def test_an_alert_redrawn_shows_right_and_wrong_then_owner_and_snooze_under_the_buttons() -> None:
    alert = blocks.alert_message(ACME, result(contact=MAYA_CONTACT), now=NOW)
    notes = [
        FeedbackNote("U123", "right"),
        FeedbackNote("U456", "claim"),  # a claim or a snooze is shown as the status
        FeedbackNote("U456", "wrong", "Not a fit"),
    ]
    status = blocks.AlertStatus(owner="U456", snoozed_by="U123", snoozed_until=NOW)
    shown = blocks.alert_as_now(alert.blocks, notes, status)
    assert shown[: len(alert.blocks)] == alert.blocks
    assert shown[len(alert.blocks)] == {
        "type": "context",
        "block_id": "tipoff_status",
        "elements": [
            {
                "type": "mrkdwn",
                "text": f"🙋 Claimed by <@U456> · 😴 Snoozed by <@U123> until {NOW_DATE}",
            }
        ],
    }
    assert shown[-1]["elements"][0]["text"] == (
        "✅ <@U123> says Right\n❌ <@U456> says Wrong: not a fit"
    )
    # Redrawn again with nobody owning it: the status goes; with no status known, it stays.
    assert blocks.alert_as_now(shown, notes, blocks.AlertStatus()) == blocks.with_feedback(
        alert.blocks, [notes[0], notes[2]]
    )
    assert blocks.alert_as_now(shown, notes, None) == shown


# --- SLA reminders ----------------------------------------------------------------------


def test_a_reminder_and_an_escalation_name_the_account_as_written() -> None:
    assert blocks.reminder_text("<!channel> & Co", 4) == (
        "⏰ Still unclaimed after 4 working hours: who takes *&lt;!channel&gt; &amp; Co*? "
        "Press *Claim* on the alert above."
    )
    assert blocks.escalation_text(
        "Acme", track="hot", score=91, hours=1.5, alert_channel="C0ALERTS"
    ) == (
        "🚨 *Acme* (hot, 91) has been unclaimed for 1.5 working hours: "
        "see its alert in <#C0ALERTS>."
    )
    assert "after 1 working hour:" in blocks.reminder_text("Acme", 1)


# --- /tipoff stats ----------------------------------------------------------------------


def test_stats_show_each_section_as_text_never_markup() -> None:
    message = blocks.stats_message(
        days=90,
        since=NOW - timedelta(days=90),
        model_name="default",
        alerts=12,
        precision="75% (9 of 12)",
        sections=[("Alerts", ["hot: 4", "<!here> & <@U1>"]), ("Long", ["x" * 4000])],
    )
    assert message.text == "Model quality, last 90 days: 12 alerts; precision 75% (9 of 12)"
    assert message.blocks[1]["elements"][0]["text"] == (
        "Since 2026-08-22 · model `default` · figures with their counts; small counts say so"
    )
    assert message.blocks[2]["text"]["text"] == (
        "*Alerts*\n• hot: 4\n• &lt;!here&gt; &amp; &lt;@U1&gt;"
    )
    assert len(message.blocks[3]["text"]["text"]) == 2900


# --- /tipoff lookups --------------------------------------------------------------------


def test_a_lookup_shows_score_track_dimensions_evidence_contact_and_trend() -> None:
    history = [
        (NOW - timedelta(days=1), 87, "sales-ready"),
        (NOW - timedelta(days=5), 63, "nurture"),
        (NOW - timedelta(days=21), 41, "low-touch"),
    ]
    message = blocks.lookup_message(ACME, result(contact=MAYA_CONTACT), history, now=NOW)
    assert message == SlackMessage(
        text="Acme Corp: 87 (sales-ready)",
        blocks=[
            header("Acme Corp — 87"),
            context("*Sales-ready* — same-day follow-up · acme.com · 250 employees · Software"),
            DIMENSIONS,
            section(
                "*Evidence*\n"
                "• Maya Chen (VP Engineering) requested a demo 2 days ago (+35)\n"
                "• Maya Chen (VP Engineering) completed a core action yesterday (+30)\n"
                "• 2 people were active in the product in the last 30 days: "
                "Maya Chen (VP Engineering) and Sam Ortiz (+20)\n"
                "• Maya Chen (VP Engineering) holds a decision-making title (+15)\n"
                "• Sam Ortiz unsubscribed from marketing email 10 days ago (-13)\n"
                "• Activity is fading: 1 signal in the last 7 days, against 9 in the "
                "21 days before (0)"
            ),
            section(
                "*Contact first:* Maya Chen (VP Engineering) · maya@acme.com\n"
                "_Why:_ Maya Chen (VP Engineering) requested a demo 2 days ago"
            ),
            context("*Trend:* 41 → 63 → 87 (up 46 since 3 weeks ago)"),
        ],
    )


def test_a_lookup_of_a_quiet_account_says_what_is_missing() -> None:
    quiet = AccountHistory(id=9, domain="quiet.io")
    empty = result(Track.LOW_TOUCH, 0, evidence=())
    message = blocks.lookup_message(quiet, empty, [], now=NOW)
    assert message.blocks == [
        header("quiet.io — 0"),
        context("*Low-touch* — nothing for sales to do yet"),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{name}*\n0"}
                for name in ("Fit", "Product", "Marketing", "Timing")
            ],
        },
        section("*Evidence*\n_No scoring signals yet._"),
        section("*Contact first:* nobody named yet: the signals so far are anonymous."),
        context("*Trend:* first score, no history yet"),
    ]


def test_a_lookup_of_an_excluded_account_explains_the_exclusion() -> None:
    why = Evidence("excluded", "fit", 0, "tipoff.dev is excluded by the model")
    message = blocks.lookup_message(
        ACME, result(Track.LOW_TOUCH, 0, (why,), excluded=True), [], now=NOW
    )
    assert message.blocks[3] == section("*Evidence*\n• tipoff.dev is excluded by the model")


def test_a_long_evidence_list_is_cut_at_ten_lines_with_a_count() -> None:
    many = tuple(Evidence(f"r{i}", "product", 12 - i, f"Signal {i}") for i in range(12))
    text = blocks.lookup_message(ACME, result(evidence=many), [], now=NOW).blocks[3]["text"]
    assert text["text"].splitlines()[-2:] == ["• Signal 9 (+3)", "_…and 2 smaller signals_"]


def test_the_trend_says_which_way_the_score_moved() -> None:
    def trend(score: int, *history: tuple[float, int]) -> object:
        rows = [(NOW - timedelta(hours=h), s, "sales-ready") for h, s in history]
        return blocks.lookup_message(ACME, result(score=score), rows, now=NOW).blocks[-1]

    assert trend(55, (3, 70)) == context("*Trend:* 70 → 55 (down 15 since 3 hours ago)")
    assert trend(70, (3, 70)) == context("*Trend:* 70, unchanged since 3 hours ago")
    assert trend(70, (3, 50), (30, 70)) == context(
        "*Trend:* 70 → 50 → 70 (unchanged since yesterday)"
    )


# --- top, help, unknown, ambiguous -------------------------------------------------------


def test_top_lists_accounts_best_first_with_score_track_and_age() -> None:
    entries = [
        TopEntry("Acme Corp", "acme.com", 92, "hot", NOW - timedelta(hours=2)),
        TopEntry("globex.io", "globex.io", 71, "sales-ready", NOW - timedelta(days=3)),
    ]
    assert blocks.top_message(entries, now=NOW) == SlackMessage(
        text="Top 2 accounts",
        blocks=[
            header("Top accounts"),
            section(
                "1. *Acme Corp* (acme.com) — *92* hot · scored 2 hours ago\n"
                "2. *globex.io* — *71* sales-ready · scored 3 days ago"
            ),
            context("Look one up for its evidence: `/tipoff <domain or name>`"),
        ],
    )


def test_top_with_nothing_scored_says_when_scores_appear() -> None:
    assert blocks.top_message([], now=NOW).blocks == [
        header("Top accounts"),
        section(
            "No accounts have been scored yet. Scores appear once product or marketing "
            "signals arrive for an account."
        ),
    ]


def test_help_lists_every_command_with_an_example() -> None:
    message = blocks.help_message()
    assert message.text == "How to use /tipoff"
    assert message.blocks == [
        header("Tipoff: which accounts are ready to buy, and why"),
        section(
            "`/tipoff acme.com` or `/tipoff Acme` — an account's score, its four dimensions, "
            "the evidence behind every point, who to contact and the trend\n"
            "`/tipoff top` — the highest-scoring accounts right now\n"
            "`/tipoff mine` — the accounts you own\n"
            "`/tipoff assign acme.com @rep` — give an account an owner (admins)\n"
            "`/tipoff help` — this message"
        ),
        context(
            "Alerts come with *Right*, *Wrong*, *Claim* and *Snooze*. Tell Tipoff when it is "
            "wrong and why: that feedback is what tunes the model."
        ),
    ]


@dataclass(frozen=True)
class Row:
    domain: str | None
    name: str | None


HOW_TO_SEARCH = section(
    "*How to search:* type a company's domain (`/tipoff acme.com`) or part of its name "
    "(`/tipoff acme`). An account appears once Tipoff has received a signal for it or for "
    "one of its people."
)
EXAMPLES = context("Examples: `/tipoff acme.com`, `/tipoff Acme`, `/tipoff top`")


def test_an_unknown_account_gets_suggestions_and_how_to_search() -> None:
    message = blocks.unknown_account_message("acme.con", [Row("acme.com", "Acme Corp")])
    assert message == SlackMessage(
        text="No account matches acme.con",
        blocks=[
            section("I couldn't find an account matching *acme.con*."),
            section("*Did you mean*\n• *Acme Corp* (acme.com) — `/tipoff acme.com`"),
            HOW_TO_SEARCH,
            EXAMPLES,
        ],
    )


def test_an_unknown_account_without_suggestions_still_shows_how_to_search() -> None:
    message = blocks.unknown_account_message("  <zzz>  ", [])
    assert message.blocks == [
        section("I couldn't find an account matching *&lt;zzz&gt;*."),
        HOW_TO_SEARCH,
        EXAMPLES,
    ]


def test_an_ambiguous_name_lists_the_candidates_with_the_command_for_each() -> None:
    message = blocks.ambiguous_message(
        "acme", [Row("acme.com", "Acme Corp"), Row("acme.io", "Acme"), Row(None, "Acme `Labs`")]
    )
    assert message == SlackMessage(
        text="3 accounts match acme",
        blocks=[
            section("3 accounts match *acme*:"),
            section(
                "• *Acme Corp* (acme.com) — `/tipoff acme.com`\n"
                "• *Acme* (acme.io) — `/tipoff acme.io`\n"
                "• *Acme `Labs`* — `/tipoff Acme 'Labs'`"
            ),
            context("Not there? Type more of the name, or the domain."),
        ],
    )


# --- the Wrong modal --------------------------------------------------------------------


def test_the_wrong_modal_asks_for_a_reason_and_carries_the_message_to_update() -> None:
    view = blocks.wrong_reason_modal(
        account_id=42, account_label="Acme Corp", channel="C0SALES", ts="1763650800.000001"
    )
    assert view == {
        "type": "modal",
        "callback_id": "feedback_wrong_reason",
        "private_metadata": '{"account_id": 42, "channel": "C0SALES", "ts": "1763650800.000001"}',
        "title": {"type": "plain_text", "text": "Why is it wrong?"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section("You're saying the alert for *Acme Corp* was wrong. What was wrong with it?"),
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Reason"},
                "element": {
                    "type": "static_select",
                    "action_id": "reason",
                    "placeholder": {"type": "plain_text", "text": "Pick a reason"},
                    "options": [
                        {"text": {"type": "plain_text", "text": label}, "value": value}
                        for value, label in [
                            ("already_customer", "Already a customer"),
                            ("not_a_fit", "Not a fit"),
                            ("bad_timing", "Bad timing"),
                            ("wrong_contact", "Wrong contact"),
                            ("other", "Other"),
                        ]
                    ],
                },
            },
            {
                "type": "input",
                "block_id": "note",
                "optional": True,
                "label": {"type": "plain_text", "text": "Anything else?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "note",
                    "multiline": True,
                    "max_length": 500,
                    "placeholder": {
                        "type": "plain_text",
                        "text": "e.g. they renewed with us in March",
                    },
                },
            },
        ],
    }
    assert len(view["title"]["text"]) <= 24


def submitted(reason: str | None, note: str | None, meta: object = None) -> blocks.Block:
    selected = None if reason is None else {"text": {}, "value": reason}
    return {
        "private_metadata": json.dumps(
            meta or {"account_id": 42, "channel": "C0SALES", "ts": "1.2"}
        ),
        "state": {
            "values": {
                "reason": {"reason": {"type": "static_select", "selected_option": selected}},
                "note": {"note": {"type": "plain_text_input", "value": note}},
            }
        },
    }


def test_a_submitted_modal_reads_back_reason_note_and_message() -> None:
    answer = blocks.read_wrong_reason(submitted("already_customer", "  renewed\n in March "))
    assert answer.context == blocks.WrongReasonContext(42, "C0SALES", "1.2")
    assert (answer.reason, answer.note) == ("Already a customer", "renewed in March")
    assert answer.stored_reason == "Already a customer — renewed in March"

    bare = blocks.read_wrong_reason(submitted("bad_timing", None))
    assert (bare.reason, bare.note, bare.stored_reason) == ("Bad timing", None, "Bad timing")


def test_a_missing_or_unknown_reason_reads_as_none() -> None:
    assert blocks.read_wrong_reason(submitted(None, "just a note")).reason is None
    assert blocks.read_wrong_reason(submitted("made_up", None)).stored_reason is None


def test_damaged_metadata_is_refused() -> None:
    for meta in ({"channel": "C1"}, {"account_id": "forty-two"}):
        try:
            blocks.read_wrong_reason(submitted("other", None, meta))
        except ValueError as exc:
            assert "private_metadata" in str(exc)
        else:
            raise AssertionError(f"accepted {meta}")


# --- the console ------------------------------------------------------------------------


def test_an_alert_reads_well_in_a_terminal() -> None:
    message = blocks.alert_message(ACME, result(contact=MAYA_CONTACT), now=NOW)
    assert blocks.message_as_text(message) == (
        "Acme Corp is ready — 87\n"
        "=======================\n"
        "Sales-ready — same-day follow-up · acme.com · 250 employees · Software\n"
        "Fit +15   Product +50   Marketing +22   Timing 0\n"
        "Why now\n"
        "• Maya Chen (VP Engineering) requested a demo 2 days ago (+35)\n"
        "• Maya Chen (VP Engineering) completed a core action yesterday (+30)\n"
        "• 2 people were active in the product in the last 30 days: "
        "Maya Chen (VP Engineering) and Sam Ortiz (+20)\n"
        "• Maya Chen (VP Engineering) holds a decision-making title (+15)\n"
        "• Sam Ortiz unsubscribed from marketing email 10 days ago (-13)\n"
        "Contact first: Maya Chen (VP Engineering) · maya@acme.com\n"
        "Why: Maya Chen (VP Engineering) requested a demo 2 days ago\n"
        "Scored 2026-11-20 15:00 UTC · Was this right? Your answer tunes the model."
    )
