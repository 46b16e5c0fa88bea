"""Block Kit layouts: pure functions of plain data. Nothing here talks to Slack.

Every message Tipoff shows in Slack is laid out here, and only here: alerts and bundles,
an alert redrawn with its verdicts, owner and snooze, `/tipoff` answers (lookup, top,
mine, assign, stats, help), the App Home, the daily digest, SLA reminders and the Wrong
modal. Callers pass plain data and send what comes back.

Every layout keeps to Slack's limits (a header's 150 characters, a text object's 3000, a
field's 2000, 50 blocks a message) by clipping, never by failing: Slack rejects a whole
message for one over-long field, and an alert that cannot be posted helps nobody.

Text that came from outside (account and people names, evidence built from event
properties, what a rep typed) is escaped before it goes into mrkdwn, so a name like
`<!channel>` is shown as written instead of notifying a whole channel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from tipoff.core import evidence as say
from tipoff.core.history import AccountHistory
from tipoff.core.routing import Track
from tipoff.core.scoring import Contact, Evidence, ScoreResult

Block = dict[str, Any]

# Slack's limits (https://docs.slack.dev/reference/block-kit/blocks).
HEADER_LIMIT = 150
TEXT_LIMIT = 3000
BLOCK_LIMIT = 50
PRIVATE_METADATA_LIMIT = 3000

CLAIM_ACTION = "workflow_claim"
SNOOZE_ACTION = "workflow_snooze"
STATUS_BLOCK = "tipoff_status"
# How long a rep can snooze an account for: (days, label).
SNOOZE_CHOICES: tuple[tuple[int, str], ...] = (
    (1, "1 day"),
    (3, "3 days"),
    (7, "1 week"),
    (30, "30 days"),
)
RIGHT_ACTION = "feedback_right"
WRONG_ACTION = "feedback_wrong"
WRONG_REASON_CALLBACK = "feedback_wrong_reason"
BUTTONS_BLOCK = "tipoff_feedback_buttons"
FEEDBACK_BLOCK = "tipoff_feedback"
REASON_BLOCK = REASON_ACTION = "reason"
NOTE_BLOCK = NOTE_ACTION = "note"
NOTE_LIMIT = 500

ALERT_EVIDENCE_LINES = 5
LOOKUP_EVIDENCE_LINES = 10
TREND_POINTS = 5

# The reasons a rep can give for "Wrong": (value sent back by Slack, label shown and stored).
WRONG_REASONS: tuple[tuple[str, str], ...] = (
    ("already_customer", "Already a customer"),
    ("not_a_fit", "Not a fit"),
    ("bad_timing", "Bad timing"),
    ("wrong_contact", "Wrong contact"),
    ("other", "Other"),
)

HEADLINES = {
    Track.HOT: "🔥 {name} is hot — {score}",
    Track.SALES_READY: "{name} is ready — {score}",
}

# What each track asks of sales, in the words of DESIGN's routing table.
TRACK_MEANING = {
    Track.HOT: "alert now, top of the queue",
    Track.SALES_READY: "same-day follow-up",
    Track.MONITOR: "strong product use but a poor fit: no rep alert, keep an eye on it",
    Track.NURTURE: "marketing intent, weak product use: push toward activation",
    Track.LOW_TOUCH: "nothing for sales to do yet",
}

EXAMPLES = ("`/tipoff acme.com`", "`/tipoff Acme`", "`/tipoff top`")


@dataclass(frozen=True, slots=True)
class SlackMessage:
    text: str  # the notification and screen-reader fallback
    blocks: list[Block]


@dataclass(frozen=True, slots=True)
class FeedbackNote:
    """One rep's verdict on an alert, as shown under it."""

    slack_user_id: str
    verdict: str  # right | wrong
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class TopEntry:
    """One line of `/tipoff top`."""

    label: str
    domain: str | None
    score: int
    track: str
    scored_at: datetime


class NamedAccount(Protocol):
    """What the did-you-mean and ambiguous answers need of an account row."""

    @property
    def domain(self) -> str | None: ...

    @property
    def name(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class WrongReasonContext:
    """What the Wrong modal carries in its private_metadata: the account, and the message
    to update once the reason is in (channel and ts; None when the click had none)."""

    account_id: int
    channel: str | None
    ts: str | None


@dataclass(frozen=True, slots=True)
class WrongReasonAnswer:
    """A submitted Wrong modal: `reason` is None when no (known) reason was picked."""

    context: WrongReasonContext
    reason: str | None
    note: str | None

    @property
    def stored_reason(self) -> str | None:
        """The reason as stored with the feedback: the label, then the note if any."""
        if self.reason is None:
            return None
        return f"{self.reason} — {self.note}" if self.note else self.reason


# --- alerts -----------------------------------------------------------------------------


def alert_message(
    account: AccountHistory,
    result: ScoreResult,
    *,
    now: datetime,
    opener: str | None = None,
    reason: str | None = None,
) -> SlackMessage:
    """The alert posted when an account enters an alerting track: headline, dimensions,
    2–5 evidence lines, who to contact first, a suggested `opener`, and the Right / Wrong /
    Claim / Snooze controls. `reason` says why it alerts again ("score up 18 since the
    last alert"); a first alert needs none."""
    headline = _headline(account, result)
    lines = [(e, p) for e, p in result.evidence_points() if e.points != 0][:ALERT_EVIDENCE_LINES]
    blocks: list[Block] = [
        _header(headline),
        _context(_facts(account, result.track)),
        _dimensions(result),
        _section("*Why now*\n" + _evidence_lines(lines) if lines else "*Why now*\n_No signals._"),
        _section(_contact_text(result.contact)),
    ]
    if opener:
        blocks.append(_section(f"*Suggested opener*\n_{_clip(escape(opener), 1000)}_"))
    scored = f"Scored {_date(now)}"
    if reason and not reason.startswith("entered "):
        scored += f" · {escape(reason[0].upper() + reason[1:])}"
    blocks += [
        _context(f"{scored} · Was this right? Your answer tunes the model."),
        feedback_buttons(account.id),
    ]
    return SlackMessage(text=_plain(headline), blocks=_capped(blocks))


def feedback_buttons(account_id: int) -> Block:
    return {
        "type": "actions",
        "block_id": BUTTONS_BLOCK,
        "elements": [
            {
                "type": "button",
                "action_id": RIGHT_ACTION,
                "text": {"type": "plain_text", "text": "👍 Right", "emoji": True},
                "style": "primary",
                "value": str(account_id),
            },
            {
                "type": "button",
                "action_id": WRONG_ACTION,
                "text": {"type": "plain_text", "text": "👎 Wrong", "emoji": True},
                "value": str(account_id),
            },
            {
                "type": "button",
                "action_id": CLAIM_ACTION,
                "text": {"type": "plain_text", "text": "🙋 Claim", "emoji": True},
                "value": str(account_id),
            },
            {
                "type": "static_select",
                "action_id": SNOOZE_ACTION,
                "placeholder": {"type": "plain_text", "text": "😴 Snooze", "emoji": True},
                "options": [
                    {
                        "text": {"type": "plain_text", "text": label},
                        "value": f"{account_id}:{days}",
                    }
                    for days, label in SNOOZE_CHOICES
                ],
            },
        ],
    }


def read_snooze_choice(value: str) -> tuple[int, int]:
    """(account id, days) from a Snooze option's value. Raises ValueError if not ours."""
    account, _, days = value.partition(":")
    return int(account), int(days)


def with_status(
    blocks: Sequence[Block],
    *,
    owner: str | None,
    owner_email: str | None = None,
    snoozed_by: str | None = None,
    snoozed_until: datetime | None = None,
) -> list[Block]:
    """`blocks` with who owns the account and whether it is snoozed, in one context block
    under the controls (replacing an earlier one). `owner` is a Slack user ID."""
    kept = [b for b in blocks if b.get("block_id") != STATUS_BLOCK]
    parts = []
    if owner:
        parts.append(f"🙋 Claimed by <@{_user_id(owner)}>")
    elif owner_email:
        parts.append(f"Owner: {escape(owner_email)}")
    if snoozed_until is not None:
        who = f" by <@{_user_id(snoozed_by)}>" if snoozed_by else ""
        parts.append(f"😴 Snoozed{who} until {_date(snoozed_until)}")
    if not parts:
        return kept
    status: Block = {
        "type": "context",
        "block_id": STATUS_BLOCK,
        "elements": [{"type": "mrkdwn", "text": " · ".join(parts)}],
    }
    at = next((i + 1 for i, b in enumerate(kept) if b.get("block_id") == BUTTONS_BLOCK), len(kept))
    return _capped([*kept[:at], status, *kept[at:]][:BLOCK_LIMIT])


def claimed_text(account_label: str) -> str:
    """What a rep who claimed an account from a bundle is told, only to them."""
    return f"*{escape(account_label)}* is yours now: its alerts will come to your DM."


def already_claimed_text(account_label: str, owner: str, since: datetime | None) -> str:
    """What a rep who claims an owned account is told, only to them."""
    when = f" (since {_date(since)})" if since is not None else ""
    return f"<@{_user_id(owner)}> already has *{escape(account_label)}*{when}: ask them first."


def with_feedback(blocks: Sequence[Block], notes: Sequence[FeedbackNote]) -> list[Block]:
    """`blocks` with the verdicts shown under them; the buttons stay so others can answer.

    A previous verdict block is replaced. Each rep is shown once, with their latest
    verdict, in the order the verdicts came in (`notes` oldest first)."""
    kept = [b for b in blocks if b.get("block_id") != FEEDBACK_BLOCK]
    latest: dict[str, FeedbackNote] = {}
    for note in notes:
        latest.pop(note.slack_user_id, None)  # re-inserted last: ordered by latest verdict
        latest[note.slack_user_id] = note
    if not latest:
        return kept
    lines = [_feedback_line(n) for n in latest.values()]
    # Newest verdicts matter most: drop the oldest ones when they no longer fit.
    shown: list[str] = []
    size = 0
    for line in reversed(lines):
        if size + len(line) + 1 > TEXT_LIMIT - 40:
            break
        shown.insert(0, line)
        size += len(line) + 1
    if len(shown) < len(lines):
        shown.insert(0, f"_…and {say.plural(len(lines) - len(shown), 'earlier answer')}_")
    feedback: Block = {
        "type": "context",
        "block_id": FEEDBACK_BLOCK,
        "elements": [{"type": "mrkdwn", "text": "\n".join(shown)}],
    }
    return _capped([*kept[: BLOCK_LIMIT - 1], feedback])


@dataclass(frozen=True, slots=True)
class AlertStatus:
    """What an alert shows under its controls besides verdicts: who owns its account (a
    Slack user ID, else an email from the CRM) and whether it is snoozed, by whom."""

    owner: str | None = None
    owner_email: str | None = None
    snoozed_by: str | None = None
    snoozed_until: datetime | None = None


def alert_as_now(
    posted: Sequence[Block], notes: Sequence[FeedbackNote], status: AlertStatus | None
) -> list[Block]:
    """A posted alert as it should look now: the blocks it was posted with, the Right and
    Wrong verdicts given on it (`notes`, oldest first; other kinds are not shown), and its
    owner and snooze (`status`; None keeps what was shown)."""
    updated = with_feedback(posted, [n for n in notes if n.verdict in ("right", "wrong")])
    if status is None:
        return updated
    return with_status(
        updated,
        owner=status.owner,
        owner_email=status.owner_email,
        snoozed_by=status.snoozed_by,
        snoozed_until=status.snoozed_until,
    )


def add_feedback(blocks: Sequence[Block], note: FeedbackNote) -> list[Block]:
    """`blocks` as Slack last showed them, with one more verdict: for messages that are not
    a stored alert, whose earlier verdicts exist only in the message itself. The rep's own
    earlier line, if any, is replaced."""
    mention = f"<@{_user_id(note.slack_user_id)}>"
    lines: list[str] = []
    for block in blocks:
        if block.get("block_id") == FEEDBACK_BLOCK:
            for element in block.get("elements", []):
                lines += str(element.get("text", "")).split("\n")
    lines = [line for line in lines if line and mention not in line]
    lines.append(_feedback_line(note))
    while len("\n".join(lines)) > TEXT_LIMIT and len(lines) > 1:
        lines.pop(0)
    kept = [b for b in blocks if b.get("block_id") != FEEDBACK_BLOCK]
    feedback: Block = {
        "type": "context",
        "block_id": FEEDBACK_BLOCK,
        "elements": [{"type": "mrkdwn", "text": "\n".join(lines)}],
    }
    return _capped([*kept[: BLOCK_LIMIT - 1], feedback])


def _feedback_line(note: FeedbackNote) -> str:
    who = f"<@{_user_id(note.slack_user_id)}>"
    if note.verdict == "right":
        return f"✅ {who} says Right"
    if note.verdict == "wrong":
        if note.reason:
            reason = note.reason[0].lower() + note.reason[1:]
            return f"❌ {who} says Wrong: {_clip(escape(reason), 500)}"
        return f"❌ {who} says Wrong"
    return f"{who} says {escape(note.verdict)}"


# --- bundles ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BundleEntry:
    """One account in a bundled alert."""

    account_id: int
    label: str
    domain: str | None
    score: int
    track: str


def bundle_message(entries: Sequence[BundleEntry], *, top: int, now: datetime) -> SlackMessage:
    """Many accounts qualified at once: one message with the best `top` (each with a
    Claim button) and the rest named in one line, instead of a flood of alerts."""
    shown, rest = entries[:top], entries[top:]
    blocks: list[Block] = [
        _header(f"{say.plural(len(entries), 'account')} just became ready"),
        _context(f"Scored {_date(now)} · the best {len(shown)} first"),
    ]
    for entry in shown:
        where = f" ({escape(entry.domain)})" if entry.domain and entry.domain != entry.label else ""
        key = (entry.domain or entry.label).replace("`", "'")
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": _clip(
                        f"*{escape(entry.label)}*{where} — *{entry.score}* {escape(entry.track)}"
                        f" · `/tipoff {escape(key)}`",
                        TEXT_LIMIT,
                    ),
                },
                "accessory": {
                    "type": "button",
                    "action_id": CLAIM_ACTION,
                    "text": {"type": "plain_text", "text": "🙋 Claim", "emoji": True},
                    "value": str(entry.account_id),
                },
            }
        )
    if rest:
        names = say.join_names([f"{escape(e.label)} ({e.score})" for e in rest], most=6)
        blocks.append(_context(f"…and {len(rest)} more: {names}. All of them: `/tipoff top`"))
    return SlackMessage(
        text=f"{say.plural(len(entries), 'account')} just became ready", blocks=_capped(blocks)
    )


# --- /tipoff <account> ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LookupExtras:
    """What a lookup adds for a rep: the weekly sparkline (core.workflow.sparkline), the
    owner (a Slack user ID, else an email from the CRM) and a suggested opener."""

    sparkline: str
    owner_user_id: str | None = None
    owner_email: str | None = None
    opener: str | None = None
    scored_at: datetime | None = None  # the stored score's time; None: scored just now


def lookup_message(
    account: AccountHistory,
    result: ScoreResult,
    history: Sequence[tuple[datetime, int, str]],
    *,
    now: datetime,
    extras: LookupExtras | None = None,
) -> SlackMessage:
    """The answer to `/tipoff <account>`: score, track, dimensions, the evidence behind
    every point, who to contact, and the trend (`history` newest first); with `extras`,
    a suggested opener, the last weeks as a sparkline, and the owner."""
    headline = f"{account.label} — {result.score}"
    lines = [(e, p) for e, p in result.evidence_points() if e.points != 0 or result.excluded]
    evidence = _evidence_lines(lines[:LOOKUP_EVIDENCE_LINES])
    if len(lines) > LOOKUP_EVIDENCE_LINES:
        evidence += f"\n_…and {say.plural(len(lines) - LOOKUP_EVIDENCE_LINES, 'smaller signal')}_"
    blocks: list[Block] = [
        _header(headline),
        _context(_facts(account, result.track)),
        _dimensions(result),
        _section("*Evidence*\n" + (evidence or "_No scoring signals yet._")),
        _section(_contact_text(result.contact)),
    ]
    if extras is not None and extras.opener:
        blocks.append(_section(f"*Suggested opener*\n_{_clip(escape(extras.opener), 1000)}_"))
    trend = _trend(result.score, history, now)
    if extras is not None and extras.scored_at is not None:
        # Evidence ages ("3 hours ago") are as of then: say when that was.
        trend += f" · *Scored* {say.ago(extras.scored_at, now)}"
    blocks.append(_context(trend))
    if extras is not None:
        if extras.owner_user_id:
            owner = f"<@{_user_id(extras.owner_user_id)}>"
        elif extras.owner_email:
            owner = escape(extras.owner_email)
        else:
            owner = "nobody yet: claim it from an alert"
        weeks = len(extras.sparkline)
        blocks.append(_context(f"*Last {weeks} weeks:* `{extras.sparkline}` · *Owner:* {owner}"))
    return SlackMessage(
        text=f"{_plain(account.label)}: {result.score} ({result.track.value})",
        blocks=_capped(blocks),
    )


def _trend(score: int, history: Sequence[tuple[datetime, int, str]], now: datetime) -> str:
    """ "41 → 63 → 87 (up 46 since 3 weeks ago)": the stored scores, oldest first, then
    the current one when it differs from the last stored."""
    if not history:
        return "*Trend:* first score, no history yet"
    recent = list(reversed(history[:TREND_POINTS]))  # oldest first
    values = [s for _, s, _ in recent]
    if values[-1] != score:
        values.append(score)
    since = say.ago(recent[0][0], now)
    change = score - values[0]
    if len(values) == 1:
        return f"*Trend:* {score}, unchanged since {since}"
    moved = f"{'up' if change > 0 else 'down'} {abs(change)}" if change else "unchanged"
    return f"*Trend:* {' → '.join(map(str, values))} ({moved} since {since})"


# --- /tipoff top ------------------------------------------------------------------------


def top_message(entries: Sequence[TopEntry], *, now: datetime) -> SlackMessage:
    """The answer to `/tipoff top`: the highest scores, best first."""
    if not entries:
        return SlackMessage(
            text="No accounts scored yet",
            blocks=[
                _header("Top accounts"),
                _section(
                    "No accounts have been scored yet. Scores appear once product or "
                    "marketing signals arrive for an account."
                ),
            ],
        )
    lines = []
    for rank, entry in enumerate(entries, start=1):
        where = f" ({escape(entry.domain)})" if entry.domain and entry.domain != entry.label else ""
        lines.append(
            f"{rank}. *{escape(entry.label)}*{where} — *{entry.score}* {escape(entry.track)}"
            f" · scored {say.ago(entry.scored_at, now)}"
        )
    return SlackMessage(
        text=f"Top {say.plural(len(entries), 'account')}",
        blocks=[
            _header("Top accounts"),
            _section("\n".join(lines)),
            _context("Look one up for its evidence: `/tipoff <domain or name>`"),
        ],
    )


# --- /tipoff mine, /tipoff assign and the App Home ----------------------------------------


class ScoredAccount(Protocol):
    """An account in `/tipoff mine` or the App Home: its score and what changed since
    the score before (tipoff.store.owners.OwnedAccount is one)."""

    @property
    def label(self) -> str: ...

    @property
    def domain(self) -> str | None: ...

    @property
    def score(self) -> int | None: ...

    @property
    def track(self) -> str | None: ...

    @property
    def change(self) -> int | None: ...

    @property
    def changed_at(self) -> datetime | None: ...


def _account_line(line: ScoredAccount, now: datetime) -> str:
    where = f" ({escape(line.domain)})" if line.domain and line.domain != line.label else ""
    if line.score is None or line.track is None:
        return f"• *{escape(line.label)}*{where} — not scored yet"
    text = f"• *{escape(line.label)}*{where} — *{line.score}* {escape(line.track)}"
    if line.change and line.changed_at is not None:
        moved = f"up {line.change}" if line.change > 0 else f"down {-line.change}"
        text += f" · {moved} {say.ago(line.changed_at, now)}"
    return text


def _account_lines(lines: Sequence[ScoredAccount], now: datetime) -> str:
    return _clip("\n".join(_account_line(line, now) for line in lines), TEXT_LIMIT)


def mine_message(lines: Sequence[ScoredAccount], *, now: datetime) -> SlackMessage:
    """The answer to `/tipoff mine`: the accounts the rep owns, best first."""
    if not lines:
        return SlackMessage(
            text="You own no accounts yet",
            blocks=[
                _section(
                    "You own no accounts yet. Press *Claim* on an alert, or ask an admin "
                    "to `/tipoff assign <account> @you`."
                )
            ],
        )
    return SlackMessage(
        text=f"Your {say.plural(len(lines), 'account')}",
        blocks=[_header("Your accounts"), _section(_account_lines(lines, now))],
    )


def assign_usage_message() -> SlackMessage:
    return SlackMessage(
        text="Usage: /tipoff assign <account> @rep",
        blocks=[
            _section(
                "Usage: `/tipoff assign <domain or name> @rep`, e.g. `/tipoff assign acme.com @maya`"
            )
        ],
    )


def assign_refused_message() -> SlackMessage:
    return SlackMessage(
        text="Only Tipoff admins can assign accounts",
        blocks=[
            _section(
                "Only Tipoff admins can assign accounts (their Slack user IDs are in "
                "`TIPOFF_ADMINS`). You can *Claim* an account from its alert."
            )
        ],
    )


def assigned_message(account_label: str, user_id: str) -> SlackMessage:
    who = f"<@{_user_id(user_id)}>"
    label = escape(account_label)
    return SlackMessage(
        text=f"{label} is now owned by {who}",
        blocks=[_section(f"*{label}* is now owned by {who}: its alerts go to their DM.")],
    )


def home_view(
    mine: Sequence[ScoredAccount], unclaimed: Sequence[ScoredAccount], *, now: datetime
) -> Block:
    """The App Home tab: the rep's accounts with what changed, then the best unclaimed."""
    blocks: list[Block] = [_header("Your accounts")]
    if mine:
        blocks.append(_section(_account_lines(mine, now)))
    else:
        blocks.append(_section("_None yet._ Press *Claim* on an alert to make an account yours."))
    blocks += [{"type": "divider"}, _header("Top unclaimed")]
    if unclaimed:
        blocks.append(_section(_account_lines(unclaimed, now)))
    else:
        blocks.append(_section("_Every ready account has an owner._"))
    blocks.append(_context(f"Updated {_date(now)} · `/tipoff <account>` for the evidence"))
    return {"type": "home", "blocks": _capped(blocks)}


# --- the daily digest --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestLine:
    label: str
    score: int
    track: str
    change: int = 0  # for movers: since the day before


def digest_message(
    *,
    entered: Sequence[DigestLine],
    left: Sequence[DigestLine],
    movers: Sequence[DigestLine],
    unclaimed: Sequence[DigestLine],
    day: str,
) -> SlackMessage:
    """A channel's daily digest for `day` (YYYY-MM-DD, local): what moved in a day."""

    def lines(entries: Sequence[DigestLine], *, moved: bool = False) -> str:
        out = []
        for e in entries[:15]:
            text = f"• *{escape(e.label)}* — {e.score} {escape(e.track)}"
            if moved:
                text += f" ({'+' if e.change > 0 else '−'}{abs(e.change)})"
            out.append(text)
        if len(entries) > 15:
            out.append(f"_…and {len(entries) - 15} more_")
        return "\n".join(out)

    blocks: list[Block] = [_header(f"Tipoff digest — {day}")]
    for title, entries, moved in (
        ("Entered the alerting tracks", entered, False),
        ("Left them", left, False),
        ("Top movers", movers, True),
        ("Still unclaimed", unclaimed, False),
    ):
        if entries:
            blocks.append(_section(f"*{title}*\n" + lines(entries, moved=moved)))
    blocks.append(_context("`/tipoff <account>` for the evidence · `/tipoff mine` for yours"))
    counts = f"{len(entered)} in, {len(left)} out, {len(unclaimed)} unclaimed"
    return SlackMessage(text=f"Tipoff digest for {day}: {counts}", blocks=_capped(blocks))


# --- SLA reminders ----------------------------------------------------------------------


def reminder_text(account_label: str, hours: float) -> str:
    """Posted in an alert's thread when nobody claimed it within `hours` working hours."""
    return (
        f"⏰ Still unclaimed after {_working_hours(hours)}: who takes *{escape(account_label)}*? "
        "Press *Claim* on the alert above."
    )


def escalation_text(
    account_label: str, *, track: str, score: int, hours: float, alert_channel: str
) -> str:
    """Posted in the escalation channel when an alert stayed unclaimed for `hours` working
    hours after it was posted in `alert_channel` (a channel ID)."""
    return (
        f"🚨 *{escape(account_label)}* ({track}, {score}) has been unclaimed for "
        f"{_working_hours(hours)}: see its alert in <#{alert_channel}>."
    )


def _working_hours(hours: float) -> str:
    whole = int(hours) if hours == int(hours) else hours
    return (
        say.plural(whole, "working hour") if isinstance(whole, int) else f"{hours:g} working hours"
    )


# --- /tipoff stats ----------------------------------------------------------------------

STATS_SECTION_LIMIT = 2900  # under Slack's 3000 for a section's text


def stats_message(
    *,
    days: int,
    since: datetime,
    model_name: str,
    alerts: int,
    precision: str,
    sections: Sequence[tuple[str, Sequence[str]]],
) -> SlackMessage:
    """The answer to `/tipoff stats`: the quality report of the last `days` days, one
    section per (title, plain-text lines) of tipoff.quality.report.report_sections."""
    text = f"Model quality, last {days} days: {alerts} alerts; precision {precision}"
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Model quality"}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Since {since:%Y-%m-%d} · model `{model_name}` · "
                    "figures with their counts; small counts say so",
                }
            ],
        },
    ]
    for title, lines in sections:
        body = f"*{title}*\n" + "\n".join(f"• {escape(line)}" for line in lines)
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": body[:STATS_SECTION_LIMIT]}}
        )
    return SlackMessage(text=text, blocks=blocks)


# --- /tipoff help, unknown and ambiguous answers ----------------------------------------


def help_message() -> SlackMessage:
    return SlackMessage(
        text="How to use /tipoff",
        blocks=[
            _header("Tipoff: which accounts are ready to buy, and why"),
            _section(
                "`/tipoff acme.com` or `/tipoff Acme` — an account's score, its four "
                "dimensions, the evidence behind every point, who to contact and the trend\n"
                "`/tipoff top` — the highest-scoring accounts right now\n"
                "`/tipoff mine` — the accounts you own\n"
                "`/tipoff assign acme.com @rep` — give an account an owner (admins)\n"
                "`/tipoff help` — this message"
            ),
            _context(
                "Alerts come with *Right*, *Wrong*, *Claim* and *Snooze*. Tell Tipoff when it "
                "is wrong and why: that feedback is what tunes the model."
            ),
        ],
    )


def unknown_account_message(text: str, suggestions: Sequence[NamedAccount]) -> SlackMessage:
    """No account matched `text`: say so, offer close names, and show how to search."""
    asked = _clip(escape(text.strip()), 100)
    blocks: list[Block] = [_section(f"I couldn't find an account matching *{asked}*.")]
    if suggestions:
        blocks.append(_section("*Did you mean*\n" + _candidate_lines(suggestions)))
    blocks.append(
        _section(
            "*How to search:* type a company's domain (`/tipoff acme.com`) or part of its "
            "name (`/tipoff acme`). An account appears once Tipoff has received a signal "
            "for it or for one of its people."
        )
    )
    blocks.append(_context("Examples: " + ", ".join(EXAMPLES)))
    return SlackMessage(text=f"No account matches {asked}", blocks=blocks)


def ambiguous_message(text: str, candidates: Sequence[NamedAccount]) -> SlackMessage:
    """Several accounts matched `text`: list them, each with the command that picks it."""
    asked = _clip(escape(text.strip()), 100)
    return SlackMessage(
        text=f"{len(candidates)} accounts match {asked}",
        blocks=[
            _section(f"{say.plural(len(candidates), 'account')} match *{asked}*:"),
            _section(_candidate_lines(candidates)),
            _context("Not there? Type more of the name, or the domain."),
        ],
    )


def _candidate_lines(accounts: Sequence[NamedAccount]) -> str:
    lines = []
    for account in accounts:
        label = account.name or account.domain or "an unnamed account"
        where = f" ({escape(account.domain)})" if account.domain and account.name else ""
        key = (account.domain or account.name or "").replace("`", "'")
        lines.append(f"• *{escape(label)}*{where} — `/tipoff {escape(key)}`")
    return _clip("\n".join(lines), TEXT_LIMIT)


# --- the Wrong modal --------------------------------------------------------------------


def wrong_reason_modal(
    *, account_id: int, account_label: str, channel: str | None, ts: str | None
) -> Block:
    """The view opened by Wrong: a required reason and an optional note."""
    metadata = json.dumps({"account_id": account_id, "channel": channel, "ts": ts})
    return {
        "type": "modal",
        "callback_id": WRONG_REASON_CALLBACK,
        "private_metadata": metadata[:PRIVATE_METADATA_LIMIT],
        "title": {"type": "plain_text", "text": "Why is it wrong?"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _section(
                f"You're saying the alert for *{_clip(escape(account_label), 200)}* was "
                "wrong. What was wrong with it?"
            ),
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": {"type": "plain_text", "text": "Reason"},
                "element": {
                    "type": "static_select",
                    "action_id": REASON_ACTION,
                    "placeholder": {"type": "plain_text", "text": "Pick a reason"},
                    "options": [
                        {"text": {"type": "plain_text", "text": label}, "value": value}
                        for value, label in WRONG_REASONS
                    ],
                },
            },
            {
                "type": "input",
                "block_id": NOTE_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Anything else?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": NOTE_ACTION,
                    "multiline": True,
                    "max_length": NOTE_LIMIT,
                    "placeholder": {
                        "type": "plain_text",
                        "text": "e.g. they renewed with us in March",
                    },
                },
            },
        ],
    }


def read_wrong_reason(view: Mapping[str, Any]) -> WrongReasonAnswer:
    """Reads a submitted Wrong modal. Raises ValueError when private_metadata is not ours."""
    try:
        meta = json.loads(view.get("private_metadata") or "")
        context = WrongReasonContext(
            account_id=int(meta["account_id"]),
            channel=meta.get("channel") or None,
            ts=meta.get("ts") or None,
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError("the Wrong modal's private_metadata is missing or damaged") from exc
    values = view.get("state", {}).get("values", {})
    selected = (values.get(REASON_BLOCK, {}).get(REASON_ACTION) or {}).get("selected_option")
    labels = dict(WRONG_REASONS)
    reason = labels.get(selected.get("value", "")) if isinstance(selected, Mapping) else None
    note = (values.get(NOTE_BLOCK, {}).get(NOTE_ACTION) or {}).get("value")
    note = " ".join(note.split())[:NOTE_LIMIT] if isinstance(note, str) else None
    return WrongReasonAnswer(context=context, reason=reason, note=note or None)


# --- console rendering ------------------------------------------------------------------


def message_as_text(message: SlackMessage) -> str:
    """A message as plain lines for a terminal: what is printed when Slack is not set up."""
    lines: list[str] = []
    for block in message.blocks:
        kind = block.get("type")
        if kind == "header":
            title = block["text"]["text"]
            lines += [title, "=" * len(title)]
        elif kind == "section":
            if "text" in block:
                lines.append(_unmark(block["text"]["text"]))
            if "fields" in block:
                lines.append(
                    "   ".join(_unmark(f["text"]).replace("\n", " ") for f in block["fields"])
                )
        elif kind == "context":
            lines += [_unmark(e["text"]) for e in block.get("elements", []) if "text" in e]
    return "\n".join(lines) if lines else message.text


_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_BOLD = re.compile(r"\*([^*\n]+)\*")
_ITALIC = re.compile(r"(?<!\w)_([^_\n]+)_(?!\w)")


def _unmark(text: str) -> str:
    text = _DATE.sub(r"\1", text)
    text = _LINK.sub(r"\2 (\1)", text)
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# --- pieces -----------------------------------------------------------------------------


def escape(text: str) -> str:
    """Escapes the three characters mrkdwn gives meaning to (mentions, links, entities)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _headline(account: AccountHistory, result: ScoreResult) -> str:
    template = HEADLINES.get(result.track, "{name} — {score} ({track})")
    return template.format(name=account.label, score=result.score, track=result.track.value)


def _facts(account: AccountHistory, track: Track) -> str:
    facts = [f"*{_track_name(track)}* — {TRACK_MEANING[track]}"]
    if account.domain and account.domain != account.label:
        facts.append(escape(account.domain))
    if account.employees is not None:
        facts.append(say.plural(account.employees, "employee"))
    if account.industry:
        facts.append(escape(account.industry))
    return " · ".join(facts)


def _track_name(track: Track) -> str:
    return track.value[0].upper() + track.value[1:]


def _dimensions(result: ScoreResult) -> Block:
    d = result.whole  # shares of the score's one rounding: they add up to it
    return {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": f"*{name}*\n{_points(value)}"}
            for name, value in (
                ("Fit", d.fit),
                ("Product", d.product),
                ("Marketing", d.marketing),
                ("Timing", d.timing),
            )
        ],
    }


def _evidence_lines(lines: Sequence[tuple[Evidence, int]]) -> str:
    """Evidence lines with their whole points (ScoreResult.evidence_points)."""
    out = []
    for e, whole in lines:
        points = f" ({_points(whole)})" if e.points != 0 else ""
        out.append(f"• {_clip(escape(e.text), 500)}{points}")
    return "\n".join(out)


def _contact_text(contact: Contact | None) -> str:
    if contact is None:
        return "*Contact first:* nobody named yet: the signals so far are anonymous."
    who = escape(contact.label)
    if contact.email:
        who += f" · {escape(contact.email)}"
    return f"*Contact first:* {who}\n_Why:_ {escape(contact.why)}"


def _points(value: int) -> str:
    """Whole points with a sign: +35, -15, 0."""
    return f"{value:+d}" if value else "0"


def _date(at: datetime) -> str:
    """A time Slack shows in each reader's own time zone; UTC where it cannot."""
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _user_id(value: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", value.upper()) or "unknown"


def _plain(text: str) -> str:
    """Notification text is mrkdwn too: escape it."""
    return escape(text)


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": _clip(text, HEADER_LIMIT)}}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, TEXT_LIMIT)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(text, TEXT_LIMIT)}]}


def _clip(text: str, limit: int) -> str:
    """At most `limit` characters, ending in "…" when cut, never inside an `&amp;`."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&", max(0, len(cut) - 5))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def _capped(blocks: list[Block]) -> list[Block]:
    return blocks[:BLOCK_LIMIT]


# --- App Home notes ---------------------------------------------------------------------


OUTSIDER_NOTE = (
    "Tipoff answers the full members of the organisation it is installed in only; "
    "ask a colleague there to look this up."
)


def outsider_home_view() -> Block:
    """The App Home a guest or someone from another organisation sees: OUTSIDER_NOTE."""
    return {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "plain_text", "text": OUTSIDER_NOTE}}],
    }


def admin_note(problems: Sequence[str]) -> list[Block]:
    """What an admin (TIPOFF_ADMINS) sees on top of App Home while Slack delivery has
    problems: one line each (tipoff.alerts.outbox.DeliveryHealth.reasons)."""
    if not problems:
        return []
    lines = "\n".join(f"• {escape(p)}" for p in problems)
    text = f"⚠️ *Tipoff admin: alerts are not all reaching Slack*\n{lines}"
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:TEXT_LIMIT]}},
        {"type": "divider"},
    ]


def with_admin_note(view: Block, problems: Sequence[str]) -> Block:
    """`view` (an App Home) with `admin_note(problems)` on top, within BLOCK_LIMIT."""
    return {**view, "blocks": [*admin_note(problems), *view["blocks"]][:BLOCK_LIMIT]}
