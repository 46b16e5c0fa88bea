"""Ingest: validated Segment calls in, signals and identities stored.

Every way in ends here (`/v1/*`, the webhooks, PostHog, `signals import`, `outcomes
import`), so the model file's event names (`core.event_names`) are applied here, once: a
signal is stored under Tipoff's name for it, and the scoring rules read it like any other.

One call of `ingest_messages` is one unit of work on one connection: either everything
in it is written or (on any exception) nothing is. Its cost grows with the number of
calls only through one bulk insert; lookups grow with the number of distinct people,
accounts and ids involved, not with the number of events. `store_calls` runs it in a
transaction of its own and runs it again when it loses a race with a concurrent one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from tipoff.core.event_names import EventNameMap
from tipoff.errors import Unauthorized
from tipoff.ingest.resolution import AccountState, IdentityResolver, PersonState
from tipoff.ingest.segment import Alias, Group, Identify, Page, Screen, SegmentCall, Track
from tipoff.runtime import Runtime
from tipoff.store import accounts, events
from tipoff.store.db import Connection
from tipoff.store.sources import Source, revocation_held

log = logging.getLogger(__name__)

# Where a call says which page it happened on: PostHog's properties, Segment's page
# properties (and a CSV row's `path` or `url` column), then the page in Segment's
# context. A path before a full URL.
_PATH_PROPERTIES = ("$pathname", "path")
_URL_PROPERTIES = ("$current_url", "url")


@dataclass(frozen=True)
class IngestResult:
    accepted: int  # calls stored now
    duplicates: int  # calls whose messageId this source had already sent (ignored)


async def store_calls(
    runtime: Runtime,
    *,
    source: Source,
    messages: Sequence[SegmentCall],
    received_at: datetime,
) -> IngestResult:
    """`ingest_messages` of `source`'s calls, its event names mapped by the runtime's
    model, in a transaction of its own, committed when this returns.

    Requests for the same people and accounts race, within one process and between
    replicas: two may create the same person at once (the second insert hits a unique
    index), or, on PostgreSQL, wait for each other's row locks until one is aborted as a
    deadlock. The loser is rolled back whole and run again from the start, where it sees
    the winner's rows (`Database.run_retrying`); so a caller gets either the committed
    result or an error that is no race."""

    event_names = runtime.model.event_name_map(source.name)

    async def ingest(conn: Connection) -> IngestResult:
        result = await ingest_messages(
            conn,
            source_id=source.id,
            event_names=event_names,
            messages=messages,
            received_at=received_at,
        )
        await _refuse_if_revoked(conn, source.id)
        return result

    retried = runtime.metrics.transactions_retried
    # On SQLite a batch holds the write lock from its first read (`ingest_messages`):
    # batches in this process queue for it here, each starting as the last one ends.
    async with runtime.db.one_writer_here():
        return await runtime.db.run_retrying(
            ingest,
            what=f"ingest of {len(messages)} call(s) from source {source.id}",
            integrity_races=True,
            on_retry=lambda code: retried.labels(code).inc(),
        )


async def ingest_messages(
    conn: Connection,
    *,
    source_id: int,
    event_names: EventNameMap,
    messages: Sequence[SegmentCall],
    received_at: datetime,
) -> IngestResult:
    """Store `messages` (in order) as `source_id`'s, received at `received_at` (aware UTC),
    each signal under the name `event_names` (the model's map for that source) gives it.

    A message whose messageId the source has sent before (or that repeats one earlier in
    `messages`) is skipped entirely: a retried request changes nothing.
    """
    # On SQLite, the one write lock first: what this reads (messageIds seen, people,
    # accounts) stays true until it commits. Read before it, two batches naming the same
    # new account both inserted it, and the second ran again, as often as the other
    # source's next batch did the same. (PostgreSQL: row locks, and the lock for creating
    # rows, taken in `IdentityResolver.preload`.)
    await accounts.lock_accounts_for_writing(conn)
    fresh = apply_event_names(await _unseen(conn, source_id, messages), event_names)
    resolver = IdentityResolver(conn, now=received_at)
    await resolver.preload(fresh)

    # Each event is attributed to the account its person had when it happened (or to its
    # context.groupId's); one that happened before the person had an account gets the
    # account they end up with.
    attributed: list[tuple[SegmentCall, PersonState, AccountState | None]] = []
    for call in fresh:
        if isinstance(call, Identify):
            person = await resolver.identify(call)
            account = person.account
        elif isinstance(call, Group):
            person, account = await resolver.group(call)
            if call.user_traits is not None:
                person = await resolver.apply_traits(
                    person, call.user_traits, at=call.occurred_at(received_at)
                )
        elif isinstance(call, Alias):
            person = await resolver.alias(call)
            account = person.account
        else:
            # Most calls of a batch name someone (and a group) already found: no coroutine.
            user_id, anonymous_id = call.user_id, call.anonymous_id
            person = resolver.known(user_id, anonymous_id) or await resolver.resolve(
                user_id, anonymous_id
            )
            if call.user_traits is not None:
                person = await resolver.apply_traits(
                    person, call.user_traits, at=call.occurred_at(received_at)
                )
            group_id = call.context_group_id
            if group_id:
                account = resolver.known_group(group_id) or await resolver.account_for_group(
                    group_id
                )
            else:
                account = person.account
        attributed.append((call, person, account))

    final: list[tuple[SegmentCall, PersonState, AccountState | None]] = []
    for call, person, account in attributed:
        person = person.current()
        account = account or person.account
        if call.event_name is not None and account is not None:
            resolver.touch(account)  # a new signal: rescore
        final.append((call, person, account))

    await resolver.flush()

    if final:
        await _insert_events(conn, source_id, final, received_at)
    result = IngestResult(accepted=len(fresh), duplicates=len(messages) - len(fresh))
    log.debug("source %s: %s", source_id, result)
    return result


async def _insert_events(
    conn: Connection,
    source_id: int,
    attributed: list[tuple[SegmentCall, PersonState, AccountState | None]],
    received_at: datetime,
) -> None:
    """One executemany of an events row per call."""
    await events.add_events(
        conn,
        source_id=source_id,
        received_at=received_at,
        new=(
            (
                call.message_id,
                call.type,
                call.event_name,
                person.id,
                None if account is None else account.id,
                call.occurred_at(received_at),
                call.properties_json,
            )
            for call, person, account in attributed
        ),
    )


async def _refuse_if_revoked(conn: Connection, source_id: int) -> None:
    """Unauthorized, undoing the request, when its source was revoked after the request
    was authenticated. Asked once the request has written (on SQLite, then, under the
    write lock a revocation needs too), and on PostgreSQL with the source's row locked
    FOR SHARE, so a revocation waits until this request is stored: once `tipoff sources
    revoke` has answered, nothing more is stored from the source."""
    source = await revocation_held(conn, source_id)
    if source is None or source[1] is not None:
        name = source[0] if source is not None else source_id
        raise Unauthorized(f"the write key of source {name!r} has been revoked")


async def _unseen(
    conn: Connection, source_id: int, messages: Sequence[SegmentCall]
) -> list[SegmentCall]:
    seen = await events.seen_message_ids(
        conn, sorted({m.message_id for m in messages}), source_id=source_id
    )
    fresh = []
    for message in messages:
        if message.message_id not in seen:
            seen.add(message.message_id)
            fresh.append(message)
    return fresh


def apply_event_names(calls: list[SegmentCall], names: EventNameMap) -> list[SegmentCall]:
    """`calls`, each signal whose name `names` maps renamed (the rest unchanged)."""
    if not names:
        return calls
    renamed = calls
    for index, call in enumerate(calls):
        target = stored_event_name(call, names)
        if target is not None and target != call.event_name:
            if renamed is calls:
                renamed = list(calls)
            renamed[index] = call.renamed(target)
    return renamed


def stored_event_name(call: SegmentCall, names: EventNameMap) -> str | None:
    """The name the signal `call` is stored under (None for a call that is no signal)."""
    event = call.event_name
    if event is None:
        return None
    path = page_path(call) if names.reads_path(event) else None
    return names.target(event, path) or event


def page_path(call: SegmentCall) -> str | None:
    """The path of the page a signal happened on, if the call says."""
    if not isinstance(call, Track | Page | Screen):
        return None
    found = _path_in(call.properties)
    if found is None:
        page = call.context.get("page")
        found = _path_in(page) if isinstance(page, Mapping) else None
    return found


def _path_in(values: Mapping[str, Any]) -> str | None:
    for key in _PATH_PROPERTIES:
        value = values.get(key)
        if isinstance(value, str) and value.startswith("/"):
            return value
    for key in _URL_PROPERTIES:
        value = values.get(key)
        if isinstance(value, str) and value:
            try:
                path = urlsplit(value).path
            except ValueError:  # not a URL (an unbalanced "[" in the host, …)
                continue
            if path:
                return path
    return None
