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
rescoring makes inside its transaction, the caller's `conn`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CompoundSelect, Select, and_, func, select, union, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from tipoff.core.history import account_label
from tipoff.core.routing import Track
from tipoff.core.workflow import LastAlert
from tipoff.errors import InvalidInput, NotFound
from tipoff.feedback import (
    CLICK_LOCK_WAIT_SECONDS,
    Verdict,
    record_verdict,
    serialize_verdicts,
)
from tipoff.runtime import Runtime
from tipoff.store.tables import (
    account_owners,
    accounts,
    alerts,
    feedback,
    score_history,
    scores,
    slack_users,
    snoozes,
)

SNOOZE_LIMIT_DAYS = 90


@dataclass(frozen=True, slots=True)
class Owner:
    """An account's owner: a Slack user (claimed or assigned) or an email (a trait)."""

    slack_user_id: str | None
    email: str | None
    via: str  # claim | assign | trait
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
class OwnedAccount:
    """One line of `/tipoff mine` and the App Home."""

    account_id: int
    label: str
    domain: str | None
    score: int | None
    track: str | None
    change: int | None  # since the previous stored score
    changed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Home:
    mine: list[OwnedAccount]
    unclaimed: list[OwnedAccount] = field(default_factory=list)


# --- reads --------------------------------------------------------------------------------


def _trait_email() -> Any:
    """An account's `owner_email` trait as `_trait_owner` reads it, in SQL."""
    return func.lower(func.trim(accounts.c.traits["owner_email"].as_string()))


def _trait_owned(slack_user_id: str | None = None) -> Select[Any]:
    """Accounts without a claim or assignment whose `owner_email` Slack knows as an active
    user (`slack_user_id`'s, when given)."""
    known: ColumnElement[bool] = slack_users.c.slack_user_id.is_not(None)
    if slack_user_id is not None:
        known = slack_users.c.slack_user_id == slack_user_id
    return (
        select(accounts.c.id)
        .join(slack_users, slack_users.c.email == _trait_email())
        .where(known, accounts.c.id.not_in(select(account_owners.c.account_id)))
    )


def owned_accounts() -> CompoundSelect[Any]:
    """The ids of accounts someone in Slack owns: claimed, assigned, or a CRM owner."""
    return union(select(account_owners.c.account_id), _trait_owned())


def accounts_owned_by(slack_user_id: str) -> CompoundSelect[Any]:
    """The ids of the accounts `slack_user_id` owns (claimed, assigned or in the CRM)."""
    return union(
        select(account_owners.c.account_id).where(account_owners.c.slack_user_id == slack_user_id),
        _trait_owned(slack_user_id),
    )


def _trait_owner(traits: Any) -> Owner | None:
    email = traits.get("owner_email") if isinstance(traits, dict) else None
    if isinstance(email, str) and "@" in email:
        return Owner(None, email.strip().lower(), "trait")
    return None


async def owner_of(conn: AsyncConnection, account_id: int) -> Owner | None:
    row = (
        await conn.execute(select(account_owners).where(account_owners.c.account_id == account_id))
    ).one_or_none()
    if row is not None:
        return Owner(row.slack_user_id, None, row.via, row.assigned_at)
    traits = await conn.scalar(select(accounts.c.traits).where(accounts.c.id == account_id))
    return _trait_owner(traits)


async def status_of(conn: AsyncConnection, account_id: int, now: datetime) -> Status:
    snooze = (
        await conn.execute(
            select(snoozes.c.slack_user_id, snoozes.c.until)
            .where(snoozes.c.account_id == account_id, snoozes.c.until > now)
            .order_by(snoozes.c.id.desc())
            .limit(1)
        )
    ).one_or_none()
    return Status(
        await owner_of(conn, account_id),
        snooze.slack_user_id if snooze else None,
        snooze.until if snooze else None,
    )


async def memories(
    conn: AsyncConnection, account_ids: Sequence[int], now: datetime
) -> dict[int, Memory]:
    """Per account with any: its newest alert, snooze and Wrong. A full rescore asks for
    every account, and most have none of them."""
    if not account_ids:
        return {}
    ids = list(account_ids)
    newest_alert = (
        select(alerts.c.account_id, func.max(alerts.c.id).label("id"))
        .where(alerts.c.account_id.in_(ids))
        .group_by(alerts.c.account_id)
        .subquery()
    )
    last: dict[int, LastAlert] = {}
    for r in await conn.execute(
        select(
            alerts.c.account_id,
            alerts.c.track,
            alerts.c.score,
            alerts.c.evidence_rules,
            alerts.c.created_at,
        ).join(newest_alert, newest_alert.c.id == alerts.c.id)
    ):
        last[r.account_id] = LastAlert(
            Track(r.track), r.score, frozenset(r.evidence_rules or ()), r.created_at
        )
    snoozed: dict[int, datetime] = {
        r.account_id: r.until
        for r in await conn.execute(
            select(snoozes.c.account_id, func.max(snoozes.c.until).label("until"))
            .where(snoozes.c.account_id.in_(ids))
            .group_by(snoozes.c.account_id)
        )
    }
    wrong: dict[int, datetime] = {
        r.account_id: r.at
        for r in await conn.execute(
            select(feedback.c.account_id, func.max(feedback.c.created_at).label("at"))
            .where(feedback.c.account_id.in_(ids), feedback.c.verdict == "wrong")
            .group_by(feedback.c.account_id)
        )
    }
    return {
        account_id: Memory(last.get(account_id), snoozed.get(account_id), wrong.get(account_id))
        for account_id in {*last, *snoozed, *wrong}
    }


async def destinations(conn: AsyncConnection, account_ids: Sequence[int]) -> dict[int, Destination]:
    """Per account: its owner (a claim or assignment, else an `owner_email` trait), size
    and region, for routing its alert."""
    if not account_ids:
        return {}
    ids = list(account_ids)
    owners = {
        r.account_id: Owner(r.slack_user_id, None, r.via, r.assigned_at)
        for r in await conn.execute(
            select(account_owners).where(account_owners.c.account_id.in_(ids))
        )
    }
    found: dict[int, Destination] = {}
    for a in await conn.execute(
        select(accounts.c.id, accounts.c.employees, accounts.c.traits).where(accounts.c.id.in_(ids))
    ):
        traits = a.traits if isinstance(a.traits, dict) else {}
        region = traits.get("region")
        found[a.id] = Destination(
            owner=owners.get(a.id) or _trait_owner(traits),
            employees=a.employees,
            region=region if isinstance(region, str) else None,
        )
    return found


# --- claims, snoozes, assignments --------------------------------------------------------


async def _label(conn: AsyncConnection, account_id: int) -> str:
    row = (
        await conn.execute(
            select(accounts.c.name, accounts.c.domain).where(accounts.c.id == account_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"No account with id {account_id}: it may have been merged or deleted.")
    return account_label(account_id, row.name, row.domain)


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
        current = (
            await conn.execute(
                select(account_owners).where(account_owners.c.account_id == account_id)
            )
        ).one_or_none()
        if current is not None and current.slack_user_id != slack_user_id:
            owner = Owner(current.slack_user_id, None, current.via, current.assigned_at)
            return ClaimOutcome(False, owner, label, await status_of(conn, account_id, now))
        if current is None:
            await conn.execute(
                account_owners.insert().values(
                    account_id=account_id,
                    slack_user_id=slack_user_id,
                    via="claim",
                    assigned_by=slack_user_id,
                    assigned_at=now,
                )
            )
            await record_verdict(
                conn=conn,
                account_id=account_id,
                verdict=Verdict.CLAIM,
                slack_user_id=slack_user_id,
                slack_user_name=slack_user_name,
                at=now,
                channel=channel,
                ts=ts,
            )
        await conn.execute(
            update(alerts)
            .where(alerts.c.account_id == account_id, alerts.c.claimed_at.is_(None))
            .values(claimed_by=slack_user_id, claimed_at=now)
        )
        return ClaimOutcome(
            True,
            Owner(slack_user_id, None, "claim", now if current is None else current.assigned_at),
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
            conn=conn,
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
            await conn.execute(
                snoozes.insert().values(
                    account_id=account_id,
                    slack_user_id=slack_user_id,
                    until=now + timedelta(days=days),
                    created_at=now,
                )
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
        ended = await conn.execute(
            account_owners.delete().where(account_owners.c.slack_user_id == slack_user_id)
        )
        await conn.execute(
            update(alerts)
            .where(alerts.c.claimed_by == slack_user_id)
            .values(claimed_by=None, claimed_at=None)
        )
        await conn.execute(
            update(slack_users)
            .where(slack_users.c.slack_user_id == slack_user_id)
            .values(slack_user_id=None, looked_up_at=now)
        )
    return int(ended.rowcount or 0)


async def lapse_deactivated_owners(runtime: Runtime) -> list[str]:
    """Asks Slack (users.info) about every owner, claimed, assigned or from the CRM, and
    lapses those deactivated (`deleted`): the `user_change` event says so as it happens,
    this catches what a server that was down missed. Returns the users lapsed."""
    if runtime.slack is None:
        return []
    async with runtime.db.transaction() as conn:
        owners = sorted(
            set((await conn.execute(select(account_owners.c.slack_user_id))).scalars())
            | set(
                (
                    await conn.execute(
                        select(slack_users.c.slack_user_id).where(
                            slack_users.c.slack_user_id.is_not(None)
                        )
                    )
                ).scalars()
            )
        )
    # Imported here: rescoring (and so `tipoff score`) imports this module without
    # needing Slack's SDK.
    from slack_sdk.errors import SlackApiError

    lapsed = []
    for user_id in owners:
        try:
            found = await runtime.slack.users_info(user=user_id)
        except SlackApiError as exc:
            if exc.response.get("error") != "user_not_found":
                raise
            deleted = True
        else:
            deleted = bool((found.get("user") or {}).get("deleted"))
        if deleted:
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
        await conn.execute(account_owners.delete().where(account_owners.c.account_id == account_id))
        await conn.execute(
            account_owners.insert().values(
                account_id=account_id,
                slack_user_id=slack_user_id,
                via="assign",
                assigned_by=assigned_by,
                assigned_at=now,
            )
        )
        return label


# --- lookups, /tipoff mine and the App Home -------------------------------------------------------


async def _lines(conn: AsyncConnection, where: Any, *, limit: int) -> list[OwnedAccount]:
    rows = (
        await conn.execute(
            select(
                accounts.c.id,
                accounts.c.name,
                accounts.c.domain,
                scores.c.score,
                scores.c.track,
            )
            .select_from(accounts.outerjoin(scores, scores.c.account_id == accounts.c.id))
            .where(where)
            # Unrounded points order equal scores, as in /tipoff top.
            .order_by(scores.c.score.desc(), scores.c.raw_points.desc(), accounts.c.id)
            .limit(limit)
        )
    ).all()
    lines = []
    for r in rows:
        recent = (
            await conn.execute(
                select(score_history.c.score, score_history.c.scored_at)
                .where(score_history.c.account_id == r.id)
                .order_by(score_history.c.scored_at.desc(), score_history.c.id.desc())
                .limit(2)
            )
        ).all()
        change = changed_at = None
        if len(recent) == 2:
            change, changed_at = recent[0].score - recent[1].score, recent[0].scored_at
        lines.append(
            OwnedAccount(
                r.id,
                account_label(r.id, r.name, r.domain),
                r.domain,
                r.score,
                r.track,
                change,
                changed_at,
            )
        )
    return lines


async def mine(runtime: Runtime, slack_user_id: str, *, limit: int = 25) -> list[OwnedAccount]:
    """The accounts a rep owns, best score first."""
    async with runtime.db.transaction() as conn:
        owned = accounts_owned_by(slack_user_id)
        return await _lines(conn, accounts.c.id.in_(owned), limit=limit)


async def home(runtime: Runtime, slack_user_id: str, *, limit: int = 10) -> Home:
    """The App Home: the rep's accounts, and the best unclaimed accounts in alerting
    tracks (owned by nobody, not snoozed)."""
    now = runtime.clock()
    async with runtime.db.transaction() as conn:
        owned = accounts_owned_by(slack_user_id)
        anyone = owned_accounts()
        sleeping = select(snoozes.c.account_id).where(snoozes.c.until > now)
        mine_ = await _lines(conn, accounts.c.id.in_(owned), limit=25)
        unclaimed = await _lines(
            conn,
            and_(
                scores.c.track.in_([t.value for t in Track if t.alerts]),
                accounts.c.id.not_in(anyone),
                accounts.c.id.not_in(sleeping),
            ),
            limit=limit,
        )
    return Home(mine_, unclaimed)


async def recent_history(
    conn: AsyncConnection, account_id: int, now: datetime, *, weeks: int
) -> list[tuple[datetime, int, str]]:
    """Score history for a sparkline, newest first: the last `weeks` weeks, and the
    newest entry before them (the score the first week started from)."""
    since = now - timedelta(weeks=weeks)
    rows = await conn.execute(
        select(score_history.c.scored_at, score_history.c.score, score_history.c.track)
        .where(score_history.c.account_id == account_id, score_history.c.scored_at >= since)
        .order_by(score_history.c.scored_at.desc(), score_history.c.id.desc())
    )
    recent = [(r.scored_at, r.score, r.track) for r in rows]
    before = (
        await conn.execute(
            select(score_history.c.scored_at, score_history.c.score, score_history.c.track)
            .where(score_history.c.account_id == account_id, score_history.c.scored_at < since)
            .order_by(score_history.c.scored_at.desc(), score_history.c.id.desc())
            .limit(1)
        )
    ).one_or_none()
    return recent + ([(before.scored_at, before.score, before.track)] if before else [])
