"""The accounts table: the companies Tipoff scores, keyed by groupId and by domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tipoff.store.tables import accounts

# ---------------------------------------------------------------- ingest's accounts
# (store-ingest's part: the reads and writes ingest makes of accounts as it resolves
# who did what. The lead merges it with store-scores' module of the same name.)

_IN_LIST = 1000  # values per IN list; far below either backend's limit


async def group_ids_of_domains(conn: AsyncConnection, domains: Sequence[str]) -> dict[str, str]:
    """domain -> the groupId of the account with that domain (the domain itself for an
    account without one), for those of `domains` (sorted) an account has."""
    found: dict[str, str] = {}
    for start in range(0, len(domains), _IN_LIST):
        rows = await conn.execute(
            select(accounts.c.domain, accounts.c.group_id).where(
                accounts.c.domain.in_(domains[start : start + _IN_LIST])
            )
        )
        found.update({r.domain: r.group_id or r.domain for r in rows})
    return found
