"""What `/tipoff <account>`, `tipoff score` and `tipoff top` show: an account found by
what a person typed, with its score now and recent history, and the best-scored ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tipoff.core.history import AccountHistory
from tipoff.core.scoring import ScoreResult, score_tallies
from tipoff.runtime import Runtime
from tipoff.store.accounts import AccountRow, find_accounts, similar_accounts
from tipoff.store.histories import load_accounts, load_tallies
from tipoff.store.scores import TopRow, current_score, score_history, stored_result, top_scores


@dataclass(frozen=True, slots=True)
class Lookup:
    """What `/tipoff <text>` and `tipoff score` show: the candidates for `query`, and
    when exactly one matched, its fresh score and recent history."""

    query: str
    matches: list[AccountRow]
    suggestions: list[AccountRow] = field(default_factory=list)  # when nothing matched
    account: AccountHistory | None = None
    result: ScoreResult | None = None
    history: list[tuple[datetime, int, str]] = field(default_factory=list)
    scored_at: datetime | None = None  # when `result` is the stored score: when it was made


async def lookup(runtime: Runtime, text: str) -> Lookup:
    """Finds the account `text` names, with its score now.

    That is the stored score when no signal arrived since it was computed and it is no
    older than the full-rescore interval (the scheduler keeps every score that fresh):
    summing a big account's signals again takes far longer than a rep should wait.
    Otherwise it is scored now, from its stored signals."""
    now = runtime.clock()
    model = runtime.model
    async with runtime.db.transaction() as conn:
        matches = await find_accounts(conn, text)
        if not matches:
            return Lookup(text, matches, await similar_accounts(conn, text))
        if len(matches) != 1:
            return Lookup(text, matches)
        account_id = matches[0].id
        stored = await current_score(conn, account_id)
        fresh_for = timedelta(seconds=runtime.settings.full_rescore_interval_seconds)
        if (
            stored is not None
            and stored.up_to_date
            and stored.model_name == model.name
            and timedelta(0) <= now - stored.scored_at <= fresh_for
        ):
            result = stored_result(account_id, stored, model)
            scored_at: datetime | None = stored.scored_at
            named = {p for e in result.evidence for p in e.person_ids}
            if result.contact is not None:
                named.add(result.contact.person_id)
            accounts = await load_accounts(conn, [account_id], only_people=named)
        else:
            accounts = await load_accounts(conn, [account_id])
            tallies = await load_tallies(conn, [account_id], model, now)
            result = score_tallies(accounts[account_id], tallies[account_id], model, now)
            scored_at = None
        history = await score_history(conn, account_id)
    return Lookup(text, matches, [], accounts[account_id], result, history, scored_at)


async def top(runtime: Runtime, *, limit: int = 10) -> list[TopRow]:
    async with runtime.db.transaction() as conn:
        return await top_scores(conn, limit=limit)
