"""The rep workflow: who owns an account, claims, snoozes and assignments, and what the
rescoring and Slack edges need to know of them.

An account has at most one owner. A row of `account_owners` (a claim, or `/tipoff assign`)
names a Slack user; without one, an `owner_email` trait from a `group` call names a person
whose Slack user is looked up when an alert is delivered (`slack_users`). Such a CRM owner
counts as an owner wherever a claim does (`/tipoff mine`, the App Home, SLA reminders,
the digest) once Slack knows them. A claim on an owned account is refused with the
owner's name; an admin's assignment replaces any owner. An owner deactivated in Slack
owns nothing any more (`lapse_owner`): their accounts go back to the channel, the SLA
and the digest.

Every function takes its own unit of work (`runtime.db.transaction()`) or, for the reads
rescoring makes inside its transaction, the caller's `conn`. The rows are read and written
by tipoff.store (owners, snoozes, slack_users, alerts, accounts); Slack is asked through
tipoff.slack.audience.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tipoff.core.routing import Track
from tipoff.core.workflow import LastAlert, OwnerVia
from tipoff.errors import InvalidInput, NotFound
from tipoff.feedback import (
    CLICK_LOCK_WAIT_SECONDS,
    Verdict,
    record_verdict,
    serialize_verdicts,
)
from tipoff.runtime import Runtime
from tipoff.store import accounts, alerts, owners, scores, slack_users, snoozes
from tipoff.store import feedback as stored_feedback
from tipoff.store.db import Connection
from tipoff.store.owners import OwnedAccount, OwnerRow

SNOOZE_LIMIT_DAYS = 90
# How many of a rep's own accounts the App Home lists.
HOME_MINE_LIMIT = 25


@dataclass(frozen=True, slots=True)
class Owner:
    """An account's owner: a Slack user (claimed or assigned) or an email (a trait)."""

    slack_user_id: str | None
    email: str | None
    via: OwnerVia
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Status:
    """What an alert shows under it besides verdicts: who owns it, whether it sleeps."""

    owner: Owner | None
    snoozed_by: str | None = None
    snoozed_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    claimed: bool  # False: someone else owns it (`owner`)
    owner: Owner
    account_label: str
    status: Status


@dataclass(frozen=True, slots=True)
class Memory:
    """What rescoring needs, per account, to decide on an alert."""

    last: LastAlert | None
    snoozed_until: datetime | None
    wrong_at: datetime | None


@dataclass(frozen=True, slots=True)
class Destination:
    """What routing an alert needs: the owner, the size and the region."""

    owner: Owner | None
    employees: int | None
    region: str | None


@dataclass(frozen=True, slots=True)
class Home:
    mine: list[OwnedAccount]
    unclaimed: list[OwnedAccount] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LookupFacts:
    """What a lookup shows beside the score: the owner and the recent score history."""

    owner: Owner | None
    history: list[tuple[datetime, int, str]]


# --- reads --------------------------------------------------------------------------------


def _claimed(row: OwnerRow) -> Owner:
    return Owner(row.slack_user_id, None, row.via, row.assigned_at)


def _trait_owner(traits: Any) -> Owner | None:
    email = traits.get("owner_email") if isinstance(traits, dict) else None
    if isinstance(email, str) and "@" in email:
        return Owner(None, email.strip().lower(), OwnerVia.TRAIT)
    return None


async def owner_of(conn: Connection, account_id: int) -> Owner | None:
    row = await owners.owner_row(conn, account_id)
    if row is not None:
        return _claimed(row)
    return _trait_owner(await accounts.account_traits(conn, account_id))


async def status_of(conn: Connection, account_id: int, now: datetime) -> Status:
    snooze = await snoozes.current_snooze(conn, account_id, now)
    return Status(
        await owner_of(conn, account_id),
        snooze.slack_user_id if snooze else None,
        snooze.until if snooze else None,
    )


async def memories(
    conn: Connection, account_ids: Sequence[int], now: datetime
) -> dict[int, Memory]:
    """Per account with any: its newest alert, snooze and Wrong. A full rescore asks for
    every account, and most have none of them."""
    if not account_ids:
        return {}
    ids = list(account_ids)
    last = await alerts.newest_alerts(conn, ids)
    snoozed = await snoozes.snooze_ends(conn, ids)
    wrong = await stored_feedback.newest_verdicts(conn, ids, Verdict.WRONG.value)
    return {
        account_id: Memory(last.get(account_id), snoozed.get(account_id), wrong.get(account_id))
        for account_id in {*last, *snoozed, *wrong}
    }


async def destinations(conn: Connection, account_ids: Sequence[int]) -> dict[int, Destination]:
    """Per account: its owner (a claim or assignment, else an `owner_email` trait), size
    and region, for routing its alert."""
    if not account_ids:
        return {}
    ids = list(account_ids)
    claimed = {
        account_id: _claimed(row)
        for account_id, row in (await owners.owner_rows(conn, ids)).items()
    }
    found: dict[int, Destination] = {}
    for account_id, account in (await accounts.routed_accounts(conn, ids)).items():
        found[account_id] = Destination(
            owner=claimed.get(account_id) or _trait_owner(account.traits),
            employees=account.employees,
            region=account.region,
        )
    return found


# --- claims, snoozes, assignments --------------------------------------------------------


async def _label(conn: Connection, account_id: int) -> str:
    label = await accounts.account_label_of(conn, account_id)
    if label is None:
        raise NotFound(f"No account with id {account_id}: it may have been merged or deleted.")
    return label


async def claim(
    runtime: Runtime,
    *,
    account_id: int,
    slack_user_id: str,
    slack_user_name: str | None,
    channel: str | None,
    ts: str | None,
) -> ClaimOutcome:
    """Makes the clicking rep the account's owner, unless another rep owns it already
    (claimed or assigned; an `owner_email` trait yields to a claim). Records the claim
    with who and when, and the time to claim on the account's unclaimed alerts."""
    if not slack_user_id:
        raise InvalidInput("a claim needs the Slack user who made it")
    now = runtime.clock()
    async with runtime.db.transaction(lock_wait_seconds=CLICK_LOCK_WAIT_SECONDS) as conn:
        await serialize_verdicts(conn, account_id)
        label = await _label(conn, account_id)
        current = await owners.owner_row(conn, account_id)
        if current is not None and current.slack_user_id != slack_user_id:
            owner = _claimed(current)
            return ClaimOutcome(False, owner, label, await status_of(conn, account_id, now))
        if current is None:
            await owners.add_owner(
                conn,
                account_id=account_id,
                slack_user_id=slack_user_id,
                via=OwnerVia.CLAIM,
                assigned_by=slack_user_id,
                at=now,
            )
            await record_verdict(
                conn,
                account_id=account_id,
                verdict=Verdict.CLAIM,
                slack_user_id=slack_user_id,
                slack_user_name=slack_user_name,
                at=now,
                channel=channel,
                ts=ts,
            )
        await alerts.mark_claimed(conn, account_id=account_id, slack_user_id=slack_user_id, at=now)
        return ClaimOutcome(
            True,
            Owner(
                slack_user_id, None, OwnerVia.CLAIM, now if current is None else current.assigned_at
            ),
            label,
            await status_of(conn, account_id, now),
        )


async def snooze(
    runtime: Runtime,
    *,
    account_id: int,
    days: int,
    slack_user_id: str,
    slack_user_name: str | None,
    channel: str | None,
    ts: str | None,
) -> Status:
    """Hides the account from alerts for `days` (1–90); the same rep's same snooze on the
    same message again within a minute is the same click, and stores nothing."""
    if not 1 <= days <= SNOOZE_LIMIT_DAYS:
        raise InvalidInput(f"a snooze lasts 1 to {SNOOZE_LIMIT_DAYS} days, not {days}")
    now = runtime.clock()
    async with runtime.db.transaction(lock_wait_seconds=CLICK_LOCK_WAIT_SECONDS) as conn:
        await serialize_verdicts(conn, account_id)
        await _label(conn, account_id)
        recorded = await record_verdict(
            conn,
            account_id=account_id,
            verdict=Verdict.SNOOZE,
            slack_user_id=slack_user_id,
            slack_user_name=slack_user_name,
            at=now,
            channel=channel,
            ts=ts,
            reason=f"{days} days",
        )
        if recorded is not None:  # None: the same snooze clicked again
            await snoozes.add_snooze(
                conn,
                account_id=account_id,
                slack_user_id=slack_user_id,
                until=now + timedelta(days=days),
                at=now,
            )
        return await status_of(conn, account_id, now)


async def lapse_owner(runtime: Runtime, slack_user_id: str) -> int:
    """A Slack user deactivated: their claims and assignments end, their accounts'
    alerts count as unclaimed again (SLA, digest), and an email of theirs reads as nobody
    in Slack until it is looked up again. Returns how many claims ended."""
    if not slack_user_id:
        return 0
    now = runtime.clock()
    async with runtime.db.transaction() as conn:
        ended = await owners.end_ownerships(conn, slack_user_id)
        await alerts.unmark_claimed_by(conn, slack_user_id)
        await slack_users.forget_user(conn, slack_user_id, at=now)
    return ended


async def lapse_deactivated_owners(runtime: Runtime) -> list[str]:
    """Asks Slack (users.info) about every owner, claimed, assigned or from the CRM, and
    lapses those deactivated (`deleted`): the `user_change` event says so as it happens,
    this catches what a server that was down missed. Returns the users lapsed."""
    if runtime.slack is None:
        return []
    async with runtime.db.transaction() as conn:
        everyone = sorted(
            await owners.owner_user_ids(conn) | await slack_users.known_user_ids(conn)
        )
    # Imported here: rescoring (and so `tipoff score`) imports this module without
    # needing Slack's SDK.
    from tipoff.slack.audience import deactivated

    lapsed = []
    for user_id in everyone:
        if await deactivated(runtime.slack, user_id):
            await lapse_owner(runtime, user_id)
            lapsed.append(user_id)
    return lapsed


async def assign(runtime: Runtime, *, account_id: int, slack_user_id: str, assigned_by: str) -> str:
    """Makes `slack_user_id` the owner (replacing any); returns the account's label."""
    now = runtime.clock()
    async with runtime.db.transaction() as conn:
        # After a claim being stored at the same moment, not beside it: on PostgreSQL both
        # would insert an owner row and one would fail.
        await serialize_verdicts(conn, account_id)
        label = await _label(conn, account_id)
        await owners.replace_owner(
            conn,
            account_id=account_id,
            slack_user_id=slack_user_id,
            via=OwnerVia.ASSIGN,
            assigned_by=assigned_by,
            at=now,
        )
        return label


# --- lookups, /tipoff mine and the App Home -------------------------------------------------------


async def mine(runtime: Runtime, slack_user_id: str, *, limit: int = 25) -> list[OwnedAccount]:
    """The accounts a rep owns, best score first."""
    async with runtime.db.transaction() as conn:
        return await owners.accounts_of(conn, slack_user_id, limit=limit)


async def home(runtime: Runtime, slack_user_id: str, *, limit: int = 10) -> Home:
    """The App Home: the rep's accounts, and the best unclaimed accounts in alerting
    tracks (owned by nobody, not snoozed)."""
    now = runtime.clock()
    async with runtime.db.transaction() as conn:
        mine_ = await owners.accounts_of(conn, slack_user_id, limit=HOME_MINE_LIMIT)
        unclaimed = await owners.best_unowned(
            conn, tracks=[t.value for t in Track if t.alerts], now=now, limit=limit
        )
    return Home(mine_, unclaimed)


async def lookup_facts(
    runtime: Runtime, account_id: int, now: datetime, *, weeks: int
) -> LookupFacts:
    """The account's owner and its score history for a sparkline of `weeks` weeks (see
    `store.scores.recent_history`), read in one unit of work."""
    async with runtime.db.transaction() as conn:
        owner = await owner_of(conn, account_id)
        history = await scores.recent_history(conn, account_id, now, weeks=weeks)
    return LookupFacts(owner, history)
