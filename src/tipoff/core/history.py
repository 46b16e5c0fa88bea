"""What the core knows of an account: its traits, its people and its signals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
        return self.name or self.domain or f"Account {self.id}"
