"""Erasure and retention: removing a person's data on request, and old signals on schedule.

An erasure deletes the person's signals and identities and their row, erases their name and
email from every stored value that can quote them (store.erasures.SCRUBBED: evidence, alert
messages, reps' Wrong reasons, traits, other people's event properties) in the rows about
the accounts they belonged to or had signals on, marks those accounts for rescoring, and
records that it happened under a SHA-256 of the email (never the address itself), so an
auditor can check "was this person erased?" without the record undoing it. Alerts already
posted to Slack are then updated in place from their erased rows; one on its way to Slack
meanwhile is updated by delivery once posted (tipoff.alerts.delivery), and a rescore that
read the person before the erasure does not write what it read (scores.rescoring).

The erasure is structural: JSON is read parsed and every string in it is rewritten, so
how a value was serialised (ASCII-escaped JSON on SQLite, say) does not matter. What is
searched for is the person's label as evidence writes it ("José Núñez (VP Sales)"), their
name and their email, in any case and Unicode normalisation, plain, escaped for Slack's
mrkdwn (`&amp;` `&lt;` `&gt;`), HTML-escaped (quotes too) or JSON-escaped (`\\u00e9`), and
cut short by a layout's clipping ("José Nú…"). Each becomes "[removed]"; other people's
names in the same text stay as they were."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tipoff.alerts.erased import PostedMessage, SlackUpdate, update_posted_alerts
from tipoff.core.identity import normalize_email
from tipoff.errors import InvalidInput, NotFound
from tipoff.runtime import Runtime
from tipoff.store import erasures, events
from tipoff.store.accounts import lock_accounts, mark_for_rescoring
from tipoff.store.db import Connection

log = logging.getLogger(__name__)

REMOVED = "[removed]"


@dataclass(frozen=True, slots=True)
class Erasure:
    email_hash: str
    events_deleted: int
    scrubbed: Mapping[str, int]  # rows rewritten, by table name
    account_id: int | None
    posted: tuple[PostedMessage, ...]  # scrubbed alerts that Slack already shows

    @property
    def alerts_scrubbed(self) -> int:
        return self.scrubbed.get("alerts", 0)


def email_hash(email: str) -> str:
    return hashlib.sha256(email.encode("utf-8")).hexdigest()


async def forget(runtime: Runtime, *, email: str, requested_by: str) -> tuple[Erasure, SlackUpdate]:
    """Erases the person with `email` from the database (one transaction), then from the
    alerts Slack shows. NotFound when Tipoff holds no such person."""
    async with runtime.db.transaction() as conn:
        erasure = await forget_person(
            conn, email=email, requested_by=requested_by, now=runtime.clock()
        )
    # What the erasure deleted and overwrote was zeroed (secure_delete); the pages as they
    # were before it still sit in SQLite's -wal file until it is emptied.
    if not await runtime.db.empty_write_ahead_log():
        log.warning(
            "erasure: a reader kept the database's -wal file from being emptied; earlier"
            " copies of the erased rows stay in it until the next checkpoint"
        )
    return erasure, await update_posted_alerts(runtime, erasure.posted)


async def forget_person(
    conn: Connection, *, email: str, requested_by: str, now: datetime
) -> Erasure:
    """Erases the person with `email` from what is stored (see the module docstring).
    NotFound when Tipoff holds no such person."""
    address = normalize_email(email)
    if address is None:
        raise InvalidInput(f"{email!r} is not an email address")
    person = await erasures.person_with_email(conn, address)
    if person is None:
        raise NotFound(f"no person with the email {address} is stored")
    quoted_in = await erasures.accounts_of_person(conn, person)
    # On PostgreSQL a rescore holds its accounts locked from reading them to committing:
    # this waits for it (and then rewrites what it wrote), or it skips these accounts.
    # On SQLite the write lock does the same, and a rescore that read before this commits
    # leaves these accounts out (rescoring._store_unless_rescored).
    await lock_accounts(conn, sorted(quoted_in))

    deleted = await erasures.delete_person(conn, person.id, address)
    # The next rescore scores them without the person's signals.
    await mark_for_rescoring(conn, quoted_in)

    redaction = Redaction.of(name=person.name, email=address, title=person.title)
    scrubbed = await erasures.scrub(conn, sorted(quoted_in), redaction.apply)
    record = Erasure(
        email_hash(address),
        deleted,
        scrubbed.rows,
        person.account_id,
        tuple(PostedMessage(channel, ts) for channel, ts in scrubbed.posted),
    )
    await erasures.record_erasure(
        conn,
        email_hash=record.email_hash,
        events_deleted=record.events_deleted,
        requested_by=requested_by,
        at=now,
    )
    return record


# --- finding a person in stored text (pure) --------------------------------------------

# Characters written interchangeably in stored text: as themselves, escaped for mrkdwn
# (blocks.escape) or HTML, and straight or typographic quotes (a rep types O’Neil).
_EQUIVALENT: tuple[tuple[str, ...], ...] = (
    ("&", "&amp;", "&#38;", "&#x26;"),
    ("<", "&lt;", "&#60;", "&#x3c;"),
    (">", "&gt;", "&#62;", "&#x3e;"),
    ('"', "&quot;", "&#34;", "&#x22;", "\u201c", "\u201d"),
    ("'", "&#39;", "&#x27;", "&apos;", "\u2019", "\u2018"),
)
_SPELLINGS = {group[0]: group for group in _EQUIVALENT} | {
    quote: group for group in _EQUIVALENT[3:] for quote in group[-2:]
}
_ELLIPSIS = "…"  # what blocks._clip ends a cut text with
_NOT_AFTER = r"(?<![\w.+\-])"
_NOT_BEFORE = r"(?![\w@]|[.\-]\w)"


def _spellings(char: str) -> str:
    """A pattern for one character of a name (NFC) in any of the ways it is stored."""
    if char.isspace():
        return r"\s+"
    options = list(_SPELLINGS.get(char, (char,)))
    if not char.isascii():
        options.append(json.dumps(char)[1:-1])  # "\\u00e9", in text that holds JSON
    return "(?:" + "|".join(re.escape(o) for o in options) + ")"


def _tokens(text: str) -> list[str]:
    """`text` as one pattern a character, runs of whitespace as one."""
    return [_spellings(c) for c in re.sub(r"\s+", " ", unicodedata.normalize("NFC", text))]


# A JSON object or array, as a stored value is parsed.
_Json = dict[str, Any] | list[Any]


@dataclass(frozen=True, slots=True)
class Redaction:
    """Finds a person in text and replaces them with REMOVED (see the module docstring)."""

    pattern: re.Pattern[str]
    forms: tuple[tuple[re.Pattern[str], ...], ...]  # each form's characters, for cut-offs
    longest: int  # the most characters a form can take in stored text

    @classmethod
    def of(cls, *, name: str | None, email: str, title: str | None) -> Redaction:
        """Longest first, so "José Núñez (VP Sales)" goes whole, title and all."""
        who = [w.strip() for w in (name, email) if w and w.strip()]
        labels = [f"{w} ({title.strip()})" for w in who if title and title.strip()]
        forms = sorted({*labels, *who}, key=len, reverse=True)
        tokens = [_tokens(f) for f in forms]
        # Not inside a longer word or address: "Ann" is not erased from "Annabel", nor
        # ann@acme.io from joann@acme.io or ann@acme.io.example.
        pattern = "|".join(_NOT_AFTER + "".join(t) + _NOT_BEFORE for t in tokens)
        return cls(
            pattern=re.compile(pattern, re.IGNORECASE),
            forms=tuple(tuple(re.compile(p, re.IGNORECASE) for p in t) for t in tokens),
            # JSON's escape of a character beyond U+FFFF is the longest: "\\ud83d\\ude00".
            longest=12 * max(map(len, forms)),
        )

    def apply(self, value: Any) -> Any:
        """`value` (a string or parsed JSON) with the person erased from every string in
        it, keys included; other values as they are.

        The copy is built with an explicit stack, not by recursion: a value stored before
        ingest capped nesting can be nested deeper than Python's recursion limit, and the
        erasure must not fail on it."""
        if isinstance(value, str):
            return self.text(value)
        if not isinstance(value, dict | list):
            return value
        copy: _Json = {} if isinstance(value, dict) else []
        stack: list[tuple[_Json, _Json]] = [(value, copy)]
        while stack:
            original, erased = stack.pop()
            if isinstance(original, dict) and isinstance(erased, dict):
                for key, child in original.items():
                    erased[self.text(key)] = self._erased_child(child, stack)
            elif isinstance(original, list) and isinstance(erased, list):
                erased.extend(self._erased_child(child, stack) for child in original)
        return copy

    def _erased_child(self, child: Any, stack: list[tuple[_Json, _Json]]) -> Any:
        """A string erased; an object or array as an empty copy, pushed on `stack` to be
        filled in; anything else as it is."""
        if isinstance(child, str):
            return self.text(child)
        if isinstance(child, dict | list):
            copy: _Json = {} if isinstance(child, dict) else []
            stack.append((child, copy))
            return copy
        return child

    def text(self, text: str) -> str:
        # Matched in NFC, so a name stored decomposed ("Jose\u0301") is found too; a text
        # that named the person is kept in NFC, any other exactly as it was.
        normal = unicodedata.normalize("NFC", text)
        erased = self.pattern.sub(REMOVED, normal)
        if _ELLIPSIS in erased:
            erased = self._cut_offs(erased)
        return text if erased == normal else erased

    def _cut_offs(self, text: str) -> str:
        """Erases what is left of a form that a layout clipped: "…and José Nú…"."""
        out, start = [], 0
        for cut in (m.start() for m in re.finditer(_ELLIPSIS, text)):
            begin = self._remnant(text, start, cut)
            out.append(text[start:begin] + (REMOVED if begin < cut else ""))
            start = cut
        return "".join(out) + text[start:]

    def _remnant(self, text: str, start: int, cut: int) -> int:
        """Where the longest run of a form's first characters ending at `cut` begins (at
        least two of them, starting a word); `cut` when none does."""
        for begin in range(max(start, cut - self.longest), cut - 1):
            if begin > 0 and (text[begin - 1].isalnum() or text[begin - 1] == "_"):
                continue
            if any(_reaches(form, text, begin, cut) for form in self.forms):
                return begin
        return cut


def _reaches(form: Sequence[re.Pattern[str]], text: str, begin: int, end: int) -> bool:
    """Whether `text[begin:end]` is the form's first two or more characters."""
    at = begin
    for count, char in enumerate(form, start=1):
        found = char.match(text, at, end)
        if found is None:
            return False
        at = found.end()
        if at == end:
            return count >= 2
    return False


async def prune_signals(conn: Connection, *, older_than: datetime) -> int:
    """Deletes every stored call that happened before `older_than`; their accounts are
    rescored (their scores would otherwise still count what is gone). Returns the count."""
    await events.mark_accounts_with_signals_before(conn, older_than=older_than)
    return await events.delete_signals_before(conn, older_than=older_than)


async def was_erased(conn: Connection, email: str) -> bool:
    address = normalize_email(email) or email
    return await erasures.erasure_recorded(conn, email_hash(address))
