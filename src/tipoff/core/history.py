"""What the core knows of an account: its traits, its people and its signals."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# "Account 7", as an account with neither name nor domain is shown, in any case and spacing.
_ID_LABEL = re.compile(r"account\s*#?\s*([0-9]{1,18})", re.IGNORECASE)


def account_label(account_id: int, name: str | None, domain: str | None) -> str:
    """How an account is shown everywhere: its name, else its domain, else "Account 7"
    (its id), which lookups accept as typed (`id_in_label`)."""
    return name or domain or f"Account {account_id}"


def id_in_label(text: str) -> int | None:
    """The id that `text` names when it is an id label ("Account 7", "account 7"), else
    None."""
    match = _ID_LABEL.fullmatch(text.strip())
    return int(match.group(1)) if match else None


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    name: str | None = None
    email: str | None = None
    title: str | None = None
    user_id: str | None = None  # the product's userId, read only for someone with no name or email

    @property
    def label(self) -> str:
        """How evidence names this person: "Maya Chen (VP Engineering)"; without a name,
        by what a rep can still look up: their email, else the product's user id."""
        who: str
        if self.name:
            who = self.name
        elif self.email:
            who = self.email
        elif self.user_id:
            who = f"user {self.user_id}"
        else:
            who = "an anonymous visitor"
        return f"{who} ({self.title})" if self.title else who


@dataclass(frozen=True, slots=True)
class Signal:
    event: str
    occurred_at: datetime  # aware, UTC
    person_id: int | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AccountHistory:
    id: int
    domain: str | None = None
    name: str | None = None
    employees: int | None = None
    industry: str | None = None
    people: Mapping[int, Person] = field(default_factory=dict)
    signals: Sequence[Signal] = ()

    @property
    def label(self) -> str:
        return account_label(self.id, self.name, self.domain)
