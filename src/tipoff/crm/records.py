"""What Tipoff and a CRM exchange, whichever CRM it is.

A client (`hubspot.HubSpotClient`, `salesforce.SalesforceClient`) turns its vendor's
records into these and back; the sync (`tipoff.crm_sync`) sees only these.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

Record = TypeVar("Record", "CrmAccount", "CrmDeal")


@dataclass(frozen=True, slots=True)
class CrmAccount:
    """A CRM's account record (a HubSpot company, a Salesforce Account), as matching needs it."""

    id: str
    name: str | None
    domain: str | None
    """The record's own domain field (HubSpot `domain`; Salesforce has none unless mapped)."""
    website: str | None
    """Its website, read when it has no domain (normalised by the sync, not the client)."""
    owner_email: str | None
    """Its CRM owner's email, which becomes the Tipoff account's owner."""
    modified_at: datetime


@dataclass(frozen=True, slots=True)
class CrmDeal:
    """A HubSpot deal or a Salesforce Opportunity: an outcome of the accounts it belongs to."""

    id: str
    account_ids: tuple[str, ...]
    """CRM account ids (HubSpot company associations; Salesforce `AccountId`)."""
    created_at: datetime
    is_closed: bool
    is_won: bool
    closed_at: datetime | None
    """`closedate` / `CloseDate` when closed; a forecast otherwise, so not read then."""
    amount: str | None
    modified_at: datetime


@dataclass(frozen=True, slots=True)
class Page(Generic[Record]):
    """Records modified since a cursor, oldest first, and the cursor to save after them.

    A cursor is opaque to the sync: the client encodes the last modified time and the last
    id read at that time, so records sharing one timestamp across pages are neither
    skipped nor read twice.
    """

    records: tuple[Record, ...]
    cursor: str


@dataclass(frozen=True, slots=True)
class ScoreWrite:
    """Tipoff's fields for one CRM account record."""

    account_id: str
    score: int
    track: str
    evidence: str
    """The top evidence lines, one a line, as plain text."""
    scored_at: datetime


@dataclass(frozen=True, slots=True)
class Refusal:
    """One record of a batch the CRM refused (a bad option, a deleted record), and why."""

    account_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class WriteResult:
    written: tuple[str, ...]
    refused: tuple[Refusal, ...]


class CrmError(Exception):
    """A CRM call failed in a way this run cannot recover from; the message says why."""


class CrmLimitReached(CrmError):
    """HubSpot's daily limit or Salesforce's REQUEST_LIMIT_EXCEEDED: stop this run."""


class CrmSetupMissing(CrmError):
    """Fields Tipoff writes are missing (Salesforce's, which an admin creates); names them."""


class CrmClient(Protocol):
    """One CRM, as the sync uses it. Each method retries what its vendor says to retry."""

    name: str
    """'hubspot' or 'salesforce': the key of the sync's cursors and reports."""

    account_noun: str
    """What the CRM calls an account record ('company', 'Account'), as reports name it."""

    max_batch: int
    """The most records one write call takes (HubSpot 100, Salesforce 200)."""

    async def prepare(self, *, dry_run: bool) -> list[str]:
        """Make or check the fields Tipoff writes; returns what was created (or would be).

        HubSpot: the property group and properties, created only when missing. Salesforce:
        `describe` the Account; raises `CrmSetupMissing` naming each missing field.
        """
        ...

    def accounts_since(self, cursor: str | None) -> AsyncIterator[Page[CrmAccount]]:
        """Account records modified after `cursor` (all of them when None), page by page."""
        ...

    def deals_since(self, cursor: str | None) -> AsyncIterator[Page[CrmDeal]]:
        """Deals modified after `cursor` (all of them when None), page by page."""
        ...

    async def write_scores(self, writes: Sequence[ScoreWrite]) -> WriteResult:
        """Write at most `max_batch` records in one call; refusals come back, not raised."""
        ...

    async def aclose(self) -> None: ...
