"""The CRM sync: Tipoff's score onto the CRM's account records, and the CRM's deals and
owners back into Tipoff. One run (`sync_crm`) does, in order:

1. `prepare`: the fields Tipoff writes exist (HubSpot: created once; Salesforce: checked).
2. Account records modified since the saved cursor are read and kept (`store.crm`), with
   their domain (the record's, else its website's) and owner's email.
3. Owners: a record's owner email becomes its Tipoff account's owner through the same
   `group` call with an `owner_email` trait a CRM's Segment integration would send.
4. Deals modified since their cursor become outcomes (Opportunity Created when opened,
   Deal Won / Deal Lost when closed) through the ingest path `tipoff outcomes import`
   uses, with ids from the deal, so a deal read again adds nothing.
5. Out: each scored account linked to exactly one record by domain gets its score,
   track, top evidence lines and scored time, in batches of the client's largest,
   only when one of them changed since the last write (kept in `store.crm`). An
   account with no record, or whose domain two records share, is reported, never
   written; a record the CRM refuses is reported and, unchanged in the store, written
   again next run.

Each page read is stored with its cursor in one transaction, so a run that stops (the
daily limit, a crash) goes on from there. A dry run reads and reports, and writes
nothing anywhere: not to the CRM, not to the database.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tipoff.controls import strip_controls
from tipoff.core.identity import crm_record_domain, normalize_email
from tipoff.crm.records import (
    CrmAccount,
    CrmClient,
    CrmDeal,
    CrmError,
    CrmLimitReached,
    ScoreWrite,
)
from tipoff.ingest.segment import Group, SegmentCall
from tipoff.ingest.service import ingest_messages
from tipoff.quality.outcomes import LOST, OPENED, WON, Outcome, store_outcomes
from tipoff.runtime import Runtime
from tipoff.sources import import_source
from tipoff.store import crm as stored
from tipoff.store.accounts import group_ids_of_domains
from tipoff.store.scores import stored_result

log = logging.getLogger(__name__)

# Evidence lines written onto a record: as many as an alert shows.
EVIDENCE_LINES = 5
EVIDENCE_LINE_CHARACTERS = 500  # as Slack shows them
# Accounts a run's report names for each reason (the counts are complete).
REPORT_NAMES = 50
MAX_EMAIL = 320  # the longest address there is, and crm_records.owner_email's width
ACCOUNTS, DEALS = "accounts", "deals"
# Every account record is read again this often, to forget those the CRM deleted or
# merged away; in between, only those modified since the cursor.
FULL_READ = "accounts_full_read"  # its "cursor" is when the last full read began
FULL_READ_EVERY = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Matches:
    """Scored accounts by what matching found for their domain."""

    linked: dict[int, str]  # account id -> its one record's id
    unmatched: list[int]  # no record has its domain
    duplicates: dict[int, tuple[str, ...]]  # two records or more share its domain
    no_domain: list[int]  # the account has no domain to match by


def match_accounts(
    account_domains: dict[int, str | None], record_domains: dict[str, str | None]
) -> Matches:
    """Links each account to the one record with its domain. Pure."""
    records_of: dict[str, list[str]] = {}
    for record_id, domain in record_domains.items():
        if domain is not None:
            records_of.setdefault(domain, []).append(record_id)
    linked: dict[int, str] = {}
    unmatched: list[int] = []
    duplicates: dict[int, tuple[str, ...]] = {}
    no_domain: list[int] = []
    for account_id, domain in account_domains.items():
        if domain is None:
            no_domain.append(account_id)
            continue
        found = records_of.get(domain, [])
        if not found:
            unmatched.append(account_id)
        elif len(found) > 1:
            duplicates[account_id] = tuple(sorted(found, key=_id_order))
        else:
            linked[account_id] = found[0]
    return Matches(linked, unmatched, duplicates, no_domain)


@dataclass
class SyncReport:
    """What one run did, and what it left and why."""

    crm: str
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None = None
    created: list[str] = field(default_factory=list)  # fields made in the CRM
    records_read: int = 0
    written: list[str] = field(default_factory=list)  # account labels
    unchanged: int = 0
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # label, record, why
    unmatched: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    no_domain: int = 0
    deals_read: int = 0
    outcomes: int = 0  # outcomes stored (a dry run: that it would store, new or not)
    deals_skipped: list[tuple[str, str]] = field(default_factory=list)  # deal id, why
    deals_waiting: int = 0  # deals kept until their account is placed, after this run
    owners: list[tuple[str, str]] = field(default_factory=list)  # domain, owner email
    owners_cleared: list[str] = field(default_factory=list)  # domains: owner removed in the CRM
    stopped: str | None = None  # why the run stopped before its end

    def summary(self) -> dict[str, Any]:
        """The run as stored for `tipoff crm status` (names cut to REPORT_NAMES)."""
        return {
            "created": self.created,
            "records_read": self.records_read,
            "written": self.written[:REPORT_NAMES],
            "refused": [list(r) for r in self.refused[:REPORT_NAMES]],
            "unmatched": self.unmatched[:REPORT_NAMES],
            "duplicates": [[d, list(ids)] for d, ids in self.duplicates[:REPORT_NAMES]],
            "no_domain": self.no_domain,
            "deals_read": self.deals_read,
            "deals_skipped": [list(d) for d in self.deals_skipped[:REPORT_NAMES]],
            "deals_waiting": self.deals_waiting,
            "owners": [list(o) for o in self.owners[:REPORT_NAMES]],
            "owners_cleared": self.owners_cleared[:REPORT_NAMES],
        }


async def sync_crm(runtime: Runtime, client: CrmClient, *, dry_run: bool = False) -> SyncReport:
    """One run against `client`'s CRM. CRM errors stop the run: said in `stopped`, and
    what was done until then is kept (a dry run keeps nothing)."""
    report = SyncReport(client.name, dry_run, runtime.clock())
    try:
        report.created = await client.prepare(dry_run=dry_run)
        records = await _read_records(runtime, client, report)
        await _apply_owners(runtime, client.name, records, report)
        await _read_deals(runtime, client, records, report)
        await _write_scores(runtime, client, records, report)
    except CrmLimitReached as error:
        report.stopped = str(error)
    except CrmError as error:
        report.stopped = str(error)
    report.finished_at = runtime.clock()
    if report.stopped:
        log.warning("CRM sync (%s) stopped: %s", client.name, report.stopped)
    if not dry_run:
        async with runtime.db.transaction() as conn:
            await stored.add_run(
                conn,
                stored.RunRow(
                    crm=client.name,
                    started_at=report.started_at,
                    finished_at=report.finished_at,
                    written=len(report.written),
                    unchanged=report.unchanged,
                    refused=len(report.refused),
                    unmatched=len(report.unmatched),
                    duplicates=len(report.duplicates),
                    outcomes=report.outcomes,
                    owners=len(report.owners) + len(report.owners_cleared),
                    stopped=report.stopped,
                    report=report.summary(),
                ),
            )
    return report


# --- in: account records and owners -------------------------------------------------


@dataclass
class _Records:
    """The CRM's account records: every one kept (record id -> domain), and those this
    run read (for owners)."""

    domains: dict[str, str | None]
    read: list[stored.RecordRow]
    owners_before: dict[str, str | None]  # record id -> its owner when read before this run

    def sharing(self, domain: str) -> int:
        """How many records have `domain`."""
        if self._counts is None:
            self._counts = {}
            for d in self.domains.values():
                if d is not None:
                    self._counts[d] = self._counts.get(d, 0) + 1
        return self._counts.get(domain, 0)

    _counts: dict[str, int] | None = field(default=None, init=False, repr=False)


@functools.cache
def _registrable() -> Callable[[str], str | None]:
    """The Public Suffix List's registrable domain of a host ("shop.acme.co.uk" →
    "acme.co.uk"; None for a suffix itself), the list loaded once (30 ms)."""
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList().privatesuffix


def _record_row(account: CrmAccount) -> stored.RecordRow:
    return stored.RecordRow(
        record_id=account.id,
        domain=crm_record_domain(account.domain, account.website, registrable=_registrable()),
        name=account.name[:255] if account.name else None,
        owner_email=_bounded_email(account.owner_email),
        modified_at=account.modified_at,
    )


def _bounded_email(value: str | None) -> str | None:
    """An owner's email as stored and sent as a trait; None when it is no address or
    longer than any (320 characters)."""
    email = normalize_email(value)
    return email if email is not None and len(email) <= MAX_EMAIL else None


async def _read_records(runtime: Runtime, client: CrmClient, report: SyncReport) -> _Records:
    """Reads the account records modified since the saved cursor; once a day, all of them,
    to forget those the CRM no longer has (merged or deleted: a search never returns
    them again), so that a duplicate merged away stops blocking its domain."""
    crm = client.name
    now = runtime.clock()
    async with runtime.db.transaction() as conn:
        cursor = await stored.saved_cursor(conn, crm, ACCOUNTS)
        full_at = await stored.saved_cursor(conn, crm, FULL_READ)
    full = full_at is None or now - datetime.fromisoformat(full_at) >= FULL_READ_EVERY
    read: list[stored.RecordRow] = []
    owners_before: dict[str, str | None] = {}
    async for page in client.accounts_since(None if full else cursor):
        rows = [_record_row(account) for account in page.records]
        read.extend(rows)
        async with runtime.db.transaction() as conn:
            before = await stored.record_owners(conn, crm, [r.record_id for r in rows])
            for record_id, owner in before.items():
                owners_before.setdefault(record_id, owner)
            if not report.dry_run:
                await stored.save_records(conn, crm, rows)
                await stored.save_cursor(conn, crm, ACCOUNTS, page.cursor, now=runtime.clock())
    report.records_read = len(read)
    async with runtime.db.transaction() as conn:
        if full and not report.dry_run:
            # Read to the end (a stop raises before this): what was not read is gone.
            await stored.forget_records(conn, crm, keep={r.record_id for r in read})
            await stored.save_cursor(conn, crm, FULL_READ, now.isoformat(), now=now)
        domains = await stored.record_domains(conn, crm)
    if full:  # a dry run stored nothing: the full read is what the CRM has
        domains = {r.record_id: r.domain for r in read}
    else:
        domains.update({r.record_id: r.domain for r in read})
    return _Records(domains, read, owners_before)


async def _apply_owners(runtime: Runtime, crm: str, records: _Records, report: SyncReport) -> None:
    """Each record read whose owner is not its account's owner yet, when the record is
    the only one with its domain and the account exists: a `group` call with the
    `owner_email` trait, dated when the record was modified (a newer owner from
    elsewhere wins, as traits do). A record whose owner was removed clears the trait, but
    only while it is still the owner this CRM set: one set since by other means stays."""
    candidates = {
        r.domain: r
        for r in records.read
        if r.domain is not None
        and (r.owner_email or records.owners_before.get(r.record_id)) is not None
        and records.sharing(r.domain) == 1
    }
    if not candidates:
        return
    async with runtime.db.transaction() as conn:
        current = await stored.owner_emails(conn, list(candidates))
        groups = await group_ids_of_domains(conn, sorted(candidates))
        changed = []
        for domain, record in sorted(candidates.items()):
            if domain not in current:
                continue
            in_tipoff = _trait_email(current[domain])
            if record.owner_email is not None and in_tipoff != record.owner_email:
                changed.append(record)
                report.owners.append((domain, record.owner_email))
            elif (
                record.owner_email is None
                and in_tipoff is not None
                and in_tipoff == records.owners_before.get(record.record_id)
            ):
                changed.append(record)
                report.owners_cleared.append(domain)
        if report.dry_run or not changed:
            return
        calls: list[SegmentCall] = [
            Group.model_validate(
                {
                    "type": "group",
                    "messageId": f"crm-owner:{crm}:{r.record_id}:{r.owner_email or '-'}"
                    f":{r.modified_at.isoformat()}",
                    "userId": f"crm:{r.domain}",
                    "groupId": groups.get(str(r.domain), r.domain),
                    # null unsets a trait, as in Segment
                    "traits": {"domain": r.domain, "owner_email": r.owner_email},
                    "timestamp": r.modified_at.isoformat(),
                }
            )
            for r in changed
        ]
        source_id = await import_source(conn, crm, category="outcome", now=runtime.clock())
        await ingest_messages(
            conn,
            source_id=source_id,
            event_names=runtime.model.event_name_map(crm),
            messages=calls,
            received_at=runtime.clock(),
        )


def _trait_email(value: Any) -> str | None:
    """An `owner_email` trait as the rep workflow reads it (tipoff.reps)."""
    return value.strip().lower() if isinstance(value, str) and "@" in value else None


# --- in: deals ----------------------------------------------------------------------


async def _read_deals(
    runtime: Runtime, client: CrmClient, records: _Records, report: SyncReport
) -> None:
    """Deals modified since the cursor, page by page; then the deals kept from earlier
    pages and runs because their company could not be placed, which this run's record
    read may place now (a company created after a run read the records)."""
    crm, noun = client.name, client.account_noun
    async with runtime.db.transaction() as conn:
        cursor = await stored.saved_cursor(conn, crm, DEALS)
    async for page in client.deals_since(cursor):
        report.deals_read += len(page.records)
        placed, waiting = _place(page.records, records.domains)
        why = {d.id: _waiting_reason(d, records, noun) for d in waiting}
        for deal in page.records:
            if not deal.account_ids:
                report.deals_skipped.append((deal.id, f"no {noun} is associated with it"))
        report.deals_skipped.extend(why.items())
        await _store_deals(
            runtime,
            crm,
            placed,
            report,
            keep=[stored.PendingDeal(d.id, _deal_json(d), why[d.id]) for d in waiting],
            settled=[d.id for d in page.records if d.id not in why],
            cursor=page.cursor,
        )
    async with runtime.db.transaction() as conn:
        pending = await stored.pending_deals(conn, crm)
    placed, waiting = _place([_deal_from_json(p.deal_id, p.deal) for p in pending], records.domains)
    report.deals_waiting = len(waiting)
    if placed:
        await _store_deals(
            runtime,
            crm,
            placed,
            report,
            keep=[],
            settled=sorted({deal.id for deal, _ in placed}),
            cursor=None,
        )


def _place(
    deals: Sequence[CrmDeal], domains: dict[str, str | None]
) -> tuple[list[tuple[CrmDeal, str]], list[CrmDeal]]:
    """Each deal with the domain of each of its accounts that has one (a deal on two
    accounts is an outcome of both); and the deals with accounts, none of them placed."""
    placed: list[tuple[CrmDeal, str]] = []
    waiting: list[CrmDeal] = []
    for deal in deals:
        found = sorted({d for c in deal.account_ids if (d := domains.get(c)) is not None})
        placed.extend((deal, domain) for domain in found)
        if deal.account_ids and not found:
            waiting.append(deal)
    return placed, waiting


async def _store_deals(
    runtime: Runtime,
    crm: str,
    placed: list[tuple[CrmDeal, str]],
    report: SyncReport,
    *,
    keep: list[stored.PendingDeal],
    settled: list[str],
    cursor: str | None,
) -> None:
    """In one transaction: the outcomes of `placed`, the deals to keep waiting, the
    deals no longer waiting, and the read's cursor (None: a retry of kept deals)."""
    outcomes = [
        (deal, domain, event, at) for deal, domain in placed for event, at in _outcomes(deal)
    ]
    if report.dry_run:
        report.outcomes += len(outcomes)
        return
    async with runtime.db.transaction() as conn:
        now = runtime.clock()
        if outcomes:
            domains = sorted({domain for _, domain in placed})
            result = await store_outcomes(
                conn,
                [
                    Outcome(
                        domain,
                        event,
                        at,
                        message_id=f"crm-deal:{crm}:{deal.id}:{domain}:{event}",
                        properties=_deal_properties(crm, deal),
                    )
                    for deal, domain, event, at in outcomes
                ],
                source_id=await import_source(conn, crm, category="outcome", now=now),
                event_names=runtime.model.event_name_map(crm),
                groups=await group_ids_of_domains(conn, domains),
                now=now,
            )
            report.outcomes += result.accepted
        await stored.drop_pending_deals(conn, crm, settled)
        await stored.keep_pending_deals(conn, crm, keep, now=now)
        if cursor is not None:
            await stored.save_cursor(conn, crm, DEALS, cursor, now=now)


def _outcomes(deal: CrmDeal) -> list[tuple[str, datetime]]:
    """A deal's outcomes: opened when created; won or lost when closed (at its close date;
    when it has none, when it was last modified)."""
    found = [(OPENED, deal.created_at)]
    if deal.is_closed:
        found.append((WON if deal.is_won else LOST, deal.closed_at or deal.modified_at))
    return found


def _deal_properties(crm: str, deal: CrmDeal) -> dict[str, Any]:
    properties: dict[str, Any] = {"source": f"{crm} sync", "opportunity_id": deal.id}
    if deal.amount:
        # An amount the CRM wrote otherwise is left out, not guessed at.
        with contextlib.suppress(ValueError):
            properties["amount"] = float(deal.amount)
    return properties


def _waiting_reason(deal: CrmDeal, records: _Records, noun: str) -> str:
    if any(c in records.domains for c in deal.account_ids):
        return f"its {noun} has no domain or website (kept until it has)"
    return f"its {noun} has not been read yet (kept until it is)"


def _deal_json(deal: CrmDeal) -> dict[str, Any]:
    """A deal as kept while it waits for its account (`_deal_from_json` reads it back)."""
    return {
        "account_ids": list(deal.account_ids),
        "created_at": deal.created_at.isoformat(),
        "is_closed": deal.is_closed,
        "is_won": deal.is_won,
        "closed_at": deal.closed_at.isoformat() if deal.closed_at else None,
        "amount": deal.amount,
        "modified_at": deal.modified_at.isoformat(),
    }


def _deal_from_json(deal_id: str, data: dict[str, Any]) -> CrmDeal:
    closed_at = data.get("closed_at")
    return CrmDeal(
        id=deal_id,
        account_ids=tuple(data["account_ids"]),
        created_at=datetime.fromisoformat(data["created_at"]),
        is_closed=bool(data["is_closed"]),
        is_won=bool(data["is_won"]),
        closed_at=datetime.fromisoformat(closed_at) if closed_at else None,
        amount=data.get("amount"),
        modified_at=datetime.fromisoformat(data["modified_at"]),
    )


# --- out: scores --------------------------------------------------------------------


async def _write_scores(
    runtime: Runtime, client: CrmClient, records: _Records, report: SyncReport
) -> None:
    async with runtime.db.transaction() as conn:
        scored = await stored.scored_accounts(conn)
        last = await stored.last_writes(conn, client.name)
    by_id = {a.account_id: a for a in scored}
    matches = match_accounts({a.account_id: a.domain for a in scored}, records.domains)
    report.unmatched = [_label(by_id[a]) for a in matches.unmatched]
    report.duplicates = [(_label(by_id[a]), ids) for a, ids in matches.duplicates.items()]
    report.no_domain = len(matches.no_domain)
    due: list[tuple[int, stored.Written]] = []
    for account_id, record_id in matches.linked.items():
        values = _values(runtime, by_id[account_id], record_id)
        before = last.get(account_id)
        if before is not None and _same(before, values):
            report.unchanged += 1
        else:
            due.append((account_id, values))
    for start in range(0, len(due), client.max_batch):
        batch = due[start : start + client.max_batch]
        if report.dry_run:
            report.written += [_label(by_id[a]) for a, _ in batch]
            continue
        result = await client.write_scores(
            [ScoreWrite(w.record_id, w.score, w.track, w.evidence, w.scored_at) for _, w in batch]
        )
        accepted = set(result.written)
        refused = {r.account_id: r.reason for r in result.refused}
        done = [(a, w) for a, w in batch if w.record_id in accepted and w.record_id not in refused]
        async with runtime.db.transaction() as conn:
            await stored.record_writes(conn, client.name, done, now=runtime.clock())
        report.written += [_label(by_id[a]) for a, _ in done]
        report.refused += [
            (_label(by_id[a]), w.record_id, refused.get(w.record_id, "not confirmed by the CRM"))
            for a, w in batch
            if w.record_id not in accepted or w.record_id in refused
        ]


def _values(runtime: Runtime, account: stored.ScoredAccount, record_id: str) -> stored.Written:
    result = stored_result(account.account_id, account.score, runtime.model)
    lines = [
        f"{_clip(e.text)} ({whole:+d})" if whole else _clip(e.text)
        for e, whole in result.evidence_points()
        if e.points != 0
    ][:EVIDENCE_LINES]
    return stored.Written(
        record_id=record_id,
        score=account.score.score,
        track=account.score.track,
        evidence="\n".join(lines),
        scored_at=account.score.scored_at,
    )


def _clip(text: str) -> str:
    """An evidence line as plain text on one line, at most EVIDENCE_LINE_CHARACTERS."""
    line = strip_controls(text)
    return (
        line
        if len(line) <= EVIDENCE_LINE_CHARACTERS
        else line[: EVIDENCE_LINE_CHARACTERS - 1] + "…"
    )


def _same(before: stored.Written, now: stored.Written) -> bool:
    """Whether nothing a rep would see changed. The scored time alone does not count:
    every full rescore renews it, and rewriting every record each hour for it would
    spend the CRM's API allowance on nothing new."""
    return (before.record_id, before.score, before.track, before.evidence) == (
        now.record_id,
        now.score,
        now.track,
        now.evidence,
    )


def _label(account: stored.ScoredAccount) -> str:
    return account.domain or account.name or f"account {account.account_id}"


def _id_order(record_id: str) -> tuple[int, str]:
    return (int(record_id), "") if record_id.isdigit() else (0, record_id)


async def last_sync(runtime: Runtime) -> stored.RunRow | None:
    """The newest run (dry runs are not kept), for `tipoff crm status` and /healthz."""
    async with runtime.db.transaction() as conn:
        return await stored.last_run(conn)
