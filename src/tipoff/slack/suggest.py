"""Did-you-mean for `/tipoff <text>` when no account matched: close names and domains.

`queries.find_accounts` matches exact and partial text; a typo ("acme.con", "globx")
matches nothing there. This compares the text with a bounded sample of account names and
domains by similarity, so a miss still points the rep somewhere.
"""

from __future__ import annotations

import difflib
import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.store.queries import AccountRow
from tipoff.store.tables import accounts

# Enough for most teams' whole account list; a bigger one is sampled, most recently
# updated first, so the scan stays a few milliseconds.
SCAN_LIMIT = 5000
CUTOFF = 0.75

_WORD = re.compile(r"[a-z0-9]+")


async def similar_accounts(*, conn: AsyncConnection, text: str, limit: int = 3) -> list[AccountRow]:
    """Accounts whose name, a word of it, or domain is close to `text`, closest first."""
    needle = _key(text)
    if len(needle) < 3:
        return []
    rows = await conn.execute(
        select(
            accounts.c.id,
            accounts.c.domain,
            accounts.c.name,
            accounts.c.employees,
            accounts.c.industry,
        )
        .order_by(accounts.c.updated_at.desc(), accounts.c.id.desc())
        .limit(SCAN_LIMIT)
    )
    scored: list[tuple[float, int, AccountRow]] = []
    matcher = difflib.SequenceMatcher(b=needle, autojunk=False)
    for row in rows:
        best = 0.0
        for candidate in _candidates(row.name, row.domain):
            matcher.set_seq1(candidate)
            if matcher.real_quick_ratio() >= CUTOFF and matcher.quick_ratio() >= CUTOFF:
                best = max(best, matcher.ratio())
        if best >= CUTOFF:
            account = AccountRow(row.id, row.domain, row.name, row.employees, row.industry)
            scored.append((best, row.id, account))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [account for _, _, account in scored[:limit]]


def _key(text: str) -> str:
    """Lower-case letters and digits; a domain is compared without its top-level part."""
    text = text.strip().lower().removeprefix("https://").removeprefix("http://")
    text = text.removeprefix("www.").split("/", 1)[0]
    if "." in text and " " not in text:
        text = text.rsplit(".", 1)[0]
    return "".join(_WORD.findall(text))


def _candidates(name: str | None, domain: str | None) -> list[str]:
    found: list[str] = []
    if name:
        words = _WORD.findall(name.lower())
        found.append("".join(words))
        found += [w for w in words if len(w) >= 3]
    if domain:
        found.append(_key(domain))
    return found
