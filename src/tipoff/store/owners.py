"""The account_owners table (claims and `/tipoff assign`) and the `owner_email` trait:
who owns which account, and the accounts a rep owns with their scores.

An owner_email trait counts as an owner once Slack knows the email (`slack_users`), and
only where no claim or assignment names one (see tipoff.workflow)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CompoundSelect, Select, func, select, union
from sqlalchemy.sql.elements import ColumnElement

from tipoff.store.tables import account_owners, accounts, slack_users


def _trait_email() -> Any:
    """An account's `owner_email` trait as `workflow._trait_owner` reads it, in SQL."""
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
