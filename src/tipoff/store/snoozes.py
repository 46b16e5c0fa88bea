"""The snoozes table: accounts a rep hid from alerts until a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from tipoff.store.tables import snoozes


def snoozed_account_ids(now: datetime) -> Select[Any]:
    """The ids of accounts snoozed at `now`, for other queries to filter on."""
    return select(snoozes.c.account_id).where(snoozes.c.until > now)
