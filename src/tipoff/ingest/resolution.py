"""Identity resolution for one ingest request: who did it, and which account they are in.

The rules (DESIGN.md, "Identity"):
- `identify` ties a userId/anonymousId to a person with traits; one email is one person,
  so a second id arriving with a known email merges into that email's person;
- `group` ties the person to the account keyed by groupId, and gives it traits; an account
  that already has the group's domain but no groupId becomes the group's account. A
  groupId that is itself a domain (PostHog groups keyed "globex.com") is that domain's
  account, whichever group holds it;
- otherwise a person belongs to the account of their email's domain, created if needed;
  personal-mail domains never form an account; a group placement outranks a domain one;
- `alias` merges the person of previousId into the person of userId;
- when a person first gets an account, their events without one are attributed to it.

An `IdentityResolver` is the unit of work for one request. It loads everything the
request refers to with a few bulk queries (`preload`), resolves each call in memory, and
writes the outcome with `flush`, in bulk. Only writes that a unique index or a foreign key
must see in order happen at once (an email moving to another person, an account adopting
a groupId or a domain, a merge): those are rare, and bounded by the people involved rather
than by the number of events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tipoff.core.identity import (
    ANONYMOUS_ID,
    USER_ID,
    VIA_DOMAIN,
    VIA_GROUP,
    company_domain,
    domain_key,
    group_domain,
    kept_placement,
    one_person,
    placed_by_email,
    survivor_takes_account,
)
from tipoff.core.identity import normalize_email as _normalize_email
from tipoff.core.traits import (
    ACCOUNT_COLUMNS,
    PERSON_COLUMNS,
    Stored,
    Writes,
    handed_over,
    merged,
    micros,
)
from tipoff.ingest.segment import (
    AccountTraits,
    Alias,
    Group,
    Identify,
    PersonTraits,
    SegmentCall,
)
from tipoff.store import accounts, events, identities, people
from tipoff.store.accounts import mark_for_rescoring
from tipoff.store.db import Connection

# Column widths of the descriptive fields: longer values are cut (the full text stays in
# the traits JSON), since a long job title is no reason to refuse a whole batch.
_TEXT = 255
_EMAIL = 320


@dataclass(eq=False, slots=True)
class AccountState:
    """An account as this request sees it. `id` is None until the row is inserted."""

    id: int | None
    domain: str | None
    group_id: str | None
    name: str | None = None
    employees: int | None = None
    industry: str | None = None
    traits: dict[str, Any] = field(default_factory=dict)
    times: dict[str, int] = field(default_factory=dict)  # trait_times
    # What this request gives the row, merged at flush into the row as stored then.
    writes: Writes = field(default_factory=Writes)
    changed: bool = False  # name/employees/industry/traits to write at flush


@dataclass(eq=False, slots=True)
class PersonState:
    """A person as this request sees it. `id` is None until the row is inserted; a person
    merged into another keeps pointing at it through `merged_into`."""

    id: int | None
    email: str | None = None
    name: str | None = None
    title: str | None = None
    account: AccountState | None = None
    account_via: str | None = None
    traits: dict[str, Any] = field(default_factory=dict)
    times: dict[str, int] = field(default_factory=dict)  # trait_times
    # What this request gives the row, merged at flush into the row as stored then.
    writes: Writes = field(default_factory=Writes)
    merged_into: PersonState | None = None
    changed: bool = False  # name/title/traits/account to write at flush
    placed: bool = False  # this request gave the person their account
    # Earlier events of this person may lack an account that they now have.
    backfill: bool = False

    def current(self) -> PersonState:
        person = self
        while person.merged_into is not None:
            person = person.merged_into
        return person


def normalize_email(value: str | None) -> str | None:
    email = _normalize_email(value)
    return email if email is not None and len(email) <= _EMAIL else None


def account_domain(traits: AccountTraits) -> str | None:
    """The company domain group traits name (`domain`, else `website`), if it can key an
    account: a mailbox provider's domain never does."""
    return group_domain(traits.domain, traits.website, longest=_TEXT)


class IdentityResolver:
    def __init__(self, conn: Connection, *, now: datetime) -> None:
        """`conn` is the request's transaction; `now` stamps created/updated rows."""
        self._conn = conn
        self._now = now
        self._identities: dict[tuple[str, str], PersonState | None] = {}
        self._people: dict[int, PersonState] = {}
        self._by_email: dict[str, PersonState | None] = {}
        self._accounts: dict[int, AccountState] = {}
        self._by_group: dict[str, AccountState | None] = {}
        self._by_domain: dict[str, AccountState | None] = {}
        self._new_people: list[PersonState] = []
        self._new_accounts: list[AccountState] = []
        self._new_identities: list[tuple[str, str, PersonState]] = []
        self._touched: dict[int, AccountState] = {}  # keyed by id() of the state
        self._locked_accounts: set[int] = set()  # ids of rows locked for this request
        self._locked_people: set[int] = set()

    # ------------------------------------------------------------ the calls

    async def preload(self, calls: Iterable[SegmentCall]) -> None:
        """Load, in a few queries, every identity, person and account `calls` refer to."""
        keys: set[tuple[str, str]] = set()
        emails: set[str] = set()
        group_ids: set[str] = set()
        domains: set[str] = set()
        # Each distinct group and email once: a batch names the same ones many times.
        raw_emails: set[str] = set()
        for call in calls:
            if call.user_id:
                keys.add((USER_ID, call.user_id))
            if call.anonymous_id:
                keys.add((ANONYMOUS_ID, call.anonymous_id))
            if isinstance(call, Alias):
                keys.update({(USER_ID, call.previous_id), (ANONYMOUS_ID, call.previous_id)})
            elif isinstance(call, Group):
                group_ids.add(call.group_id)
                domain = account_domain(call.traits)
                if domain is not None:
                    domains.add(domain)
            group_id = call.context_group_id
            if group_id:
                group_ids.add(group_id)
            traits = call.user_traits
            if traits is not None and traits.email is not None:
                raw_emails.add(traits.email)
        for group_id in group_ids:
            if (keyed := domain_key(group_id)) is not None:
                domains.add(keyed)  # a group keyed by its domain
        for raw in raw_emails:
            email = normalize_email(raw)
            if email is not None:
                emails.add(email)
                domain = company_domain(email)
                if domain is not None:
                    domains.add(domain)
        await self._load(identity_keys=keys, emails=emails, group_ids=group_ids, domains=domains)
        if self._missing(keys, emails, group_ids, domains) and await identities.lock_to_create(
            self._conn
        ):
            # Read again what was missing: another request creating rows, whose lock this
            # one now holds, may have committed some of them since.
            self._forget_missing()
            await self._load(
                identity_keys=keys, emails=emails, group_ids=group_ids, domains=domains
            )
        # Lock now what resolving may write: the accounts, then the people, each by id.
        await self._lock_accounts(self._accounts.keys())
        await self._lock_people(self._people.keys())

    def _missing(
        self,
        keys: Iterable[tuple[str, str]],
        emails: Iterable[str],
        group_ids: Iterable[str],
        domains: Iterable[str],
    ) -> bool:
        """Whether any of these was not found: resolving may create its row."""
        return (
            any(self._identities.get(k) is None for k in keys)
            or any(self._by_email.get(e) is None for e in emails)
            or any(self._by_group.get(g) is None for g in group_ids)
            or any(self._by_domain.get(d) is None for d in domains)
        )

    def _forget_missing(self) -> None:
        """Forget what was found missing, so that it is read again."""
        _drop_absent(self._identities)
        _drop_absent(self._by_email)
        _drop_absent(self._by_group)
        _drop_absent(self._by_domain)

    async def resolve(self, user_id: str | None, anonymous_id: str | None) -> PersonState:
        """The person behind a call, created if new. A userId and an anonymousId seen
        together are the same person, unless each already has a different email (a
        shared device): then the anonymous id stays where it was."""
        by_user = await self._person_for(USER_ID, user_id) if user_id else None
        by_anon = await self._person_for(ANONYMOUS_ID, anonymous_id) if anonymous_id else None
        if by_user is not None and by_anon is not None and by_user is not by_anon:
            if one_person(by_user.email, by_anon.email):
                await self._merge(survivor=by_user, loser=by_anon)
            return by_user.current()
        person = by_user or by_anon or self._create_person()
        if user_id and by_user is None:
            self._add_identity(USER_ID, user_id, person)
        if anonymous_id and by_anon is None:
            self._add_identity(ANONYMOUS_ID, anonymous_id, person)
        return person

    def known(self, user_id: str | None, anonymous_id: str | None) -> PersonState | None:
        """What `resolve` returns for a call with a userId alone that this request has
        already found, without a coroutine (most calls of a batch); else None: ask it."""
        if anonymous_id is not None or user_id is None:
            return None
        person = self._identities.get((USER_ID, user_id))
        return None if person is None else person.current()

    def known_group(self, group_id: str) -> AccountState | None:
        """What `account_for_group` returns for a group this request has already found,
        without a coroutine; else None: ask it."""
        return self._by_group.get(group_id)

    async def identify(self, call: Identify) -> PersonState:
        person = await self.resolve(call.user_id, call.anonymous_id)
        return await self.apply_traits(person, call.traits, at=call.occurred_at(self._now))

    async def apply_traits(
        self, person: PersonState, traits: PersonTraits, *, at: datetime
    ) -> PersonState:
        """Give `person` what `traits` say (email, name, title, the rest kept as sent),
        as of `at` (when the call happened: a newer call's value of a key wins), and
        place them by their email's domain; returns the person they turn out to be (the
        one who already had that email, if another did)."""
        email = normalize_email(traits.email)
        if email is not None and email != person.email:
            owner = await self._person_by_email(email)
            if owner is not None:
                await self._merge(survivor=owner, loser=person)
                person = owner.current()
            else:
                await self._set_email(person, email)
        when = micros(at)
        writes = Writes(traits={key: (value, when) for key, value in traits.as_json().items()})
        name = _clip(traits.full_name())
        if name is not None:
            writes.columns["name"] = (name, when)
        title = _clip(traits.title.strip() if traits.title else None)
        if title is not None:
            writes.columns["title"] = (title, when)
        if _write(person, writes, PERSON_COLUMNS) and person.account is not None:
            # Titles count towards fit: the account's score may move.
            self.touch(person.account)
        await self._place_by_email(person)
        return person

    async def group(self, call: Group) -> tuple[PersonState, AccountState]:
        person = await self.resolve(call.user_id, call.anonymous_id)
        domain = account_domain(call.traits)
        account = await self.account_for_group(call.group_id, domain=domain)
        await self._apply_account_traits(account, call.traits, domain, call.occurred_at(self._now))
        self._assign(person, account, VIA_GROUP)
        return person, account

    async def alias(self, call: Alias) -> PersonState:
        previous = await self._person_for(USER_ID, call.previous_id) or await self._person_for(
            ANONYMOUS_ID, call.previous_id
        )
        person = await self._person_for(USER_ID, call.user_id)
        if previous is not None and person is not None:
            await self._merge(survivor=person, loser=previous)
            return person.current()
        if previous is not None:
            self._add_identity(USER_ID, call.user_id, previous)
            return previous
        if person is None:
            person = self._create_person()
            self._add_identity(USER_ID, call.user_id, person)
        self._add_identity(ANONYMOUS_ID, call.previous_id, person)
        return person

    async def account_for_group(self, group_id: str, *, domain: str | None = None) -> AccountState:
        """The group's account: found by groupId; else, for a groupId that is a domain,
        that domain's account (taking the groupId if it has none); else the account of
        `domain` (the group's traits') if no group has claimed it yet; else a new one."""
        account = await self._account_by_group(group_id)
        if account is not None:
            return account
        keyed = domain_key(group_id)
        if keyed is not None:
            owner = await self._account_by_domain(keyed)
            if owner is not None:
                if owner.group_id is None:
                    await self._set_group_id(owner, group_id)
                return owner
            return self._create_account(group_id=group_id, domain=keyed)
        if domain is not None:
            owner = await self._account_by_domain(domain)
            if owner is not None and owner.group_id is None:
                await self._set_group_id(owner, group_id)
                return owner
            if owner is not None:
                domain = None  # another group's account has this domain
        return self._create_account(group_id=group_id, domain=domain)

    def touch(self, account: AccountState) -> None:
        """Mark `account` for rescoring (its signal_version goes up once, at flush)."""
        self._touched[id(account)] = account

    # ------------------------------------------------------------ writing

    async def flush(self) -> None:
        """Write everything still in memory: new accounts, people and identities; changed
        people and accounts; late attribution of earlier events; signal_version bumps.

        Concurrent requests (and replicas) write the same rows. So that two of them never
        wait for each other in a cycle, which PostgreSQL breaks by aborting one, every
        request takes its row locks in one order: the accounts and then the people that
        `preload` found, each all at once by id; here any account found since; then new
        accounts, new people, changed people and new identities, each sorted by its key.
        (What still escapes the order, rare writes to rows found only while resolving,
        is a race that `ingest.service.store_calls` runs again.)"""
        conn, now = self._conn, self._now

        # Changed rows are read again below, under their locks, and each request's writes
        # merged into what is stored then: a read from earlier in the request may be out
        # of date by now (another replica wrote the row), and writing it back would undo
        # that write. PostgreSQL: the rows' locks, taken now; SQLite: its one write lock,
        # which `ingest_messages` took before the request's first read.
        await self._lock_accounts(
            [
                *(a.id for a in self._touched.values() if a.id is not None),
                *(a.id for a in self._accounts.values() if a.changed and a.id is not None),
            ]
        )
        await self._insert_new_accounts()
        born = await self._insert_new_people()

        changed_people = await self._people_to_write(
            sorted(
                (p for p in self._people.values() if p.changed and p.merged_into is None),
                key=_id_of,
            )
        )
        if changed_people:
            await people.write_people(conn, changed_people, now=now)

        changed_accounts = await self._accounts_to_write(
            sorted((a for a in self._accounts.values() if a.changed), key=_id_of)
        )
        if changed_accounts:
            await accounts.write_account_traits(conn, changed_accounts, now=now)

        if self._new_identities:
            await identities.add_identities(
                conn,
                [
                    (kind, external_id, p.current().id)
                    for kind, external_id, p in sorted(
                        self._new_identities, key=lambda new: (new[0], new[1])
                    )
                ],
            )

        late = sorted(
            (
                p
                for p in self._people.values()
                if p.backfill and p.merged_into is None and p.account is not None
            ),
            key=_id_of,
        )
        if late:
            await events.attribute_unaccounted(conn, [(p.id, _id(p.account)) for p in late])

        await mark_for_rescoring(conn, (a.id for a in self._touched.values() if a.id is not None))
        self._written(born)

    async def _insert_new_accounts(self) -> None:
        """Insert the accounts this request created, in one round trip, sorted by key."""
        created = sorted(
            (a for a in self._new_accounts if a.id is None),
            key=lambda a: (a.domain or "", a.group_id or ""),
        )
        if not created:
            return
        account_ids = await accounts.add_accounts(
            self._conn,
            [
                accounts.NewAccount(
                    domain=a.domain,
                    group_id=a.group_id,
                    name=a.name,
                    employees=a.employees,
                    industry=a.industry,
                    traits=a.traits,
                    trait_times=a.times,
                )
                for a in created
            ],
            now=self._now,
        )
        for account, account_id in zip(created, account_ids, strict=True):
            account.id, account.changed = account_id, False
            self._accounts[account_id] = account

    async def _insert_new_people(self) -> list[PersonState]:
        """Insert the people this request created (and did not merge away), in one round
        trip, sorted by email; returns them."""
        born = sorted(
            (p for p in self._new_people if p.id is None and p.merged_into is None),
            key=lambda p: p.email or "",
        )
        if born:
            person_ids = await people.add_people(
                self._conn, [_new_person(p) for p in born], now=self._now
            )
            for person, person_id in zip(born, person_ids, strict=True):
                person.id, person.changed = person_id, False
                self._people[person_id] = person
        return born

    def _written(self, born: list[PersonState]) -> None:
        """Everything in memory is stored: nothing is left to write."""
        for p in (*self._people.values(), *born):
            p.changed = p.backfill = p.placed = False
            if p.writes:  # most rows read gave nothing to write: no new Writes for them
                p.writes = Writes()
        for a in self._accounts.values():
            a.changed = False
            if a.writes:
                a.writes = Writes()
        self._new_people.clear()
        self._new_accounts.clear()
        self._new_identities.clear()
        self._touched.clear()

    async def _people_to_write(self, changed: list[PersonState]) -> list[people.PersonWrite]:
        """The rows of the `changed` people (sorted by id) whose row this request changes:
        its writes merged into the row as stored now. Their rows are locked first, in id
        order (nothing on SQLite, whose write lock `flush` holds)."""
        if not changed:
            return []
        await self._lock_people([_id_of(p) for p in changed])
        fresh = await people.people_now(self._conn, [_id_of(p) for p in changed])
        rows = []
        for p in changed:
            as_stored = fresh.get(_id_of(p))
            if as_stored is None:
                continue  # erased meanwhile: the events insert fails, and the request reruns
            final = merged(as_stored.stored, p.writes, PERSON_COLUMNS)
            stored_placement = (as_stored.account_id, as_stored.account_via)
            placement = stored_placement
            if p.placed:
                # Also over a placement made meanwhile elsewhere.
                placement = kept_placement(stored_placement, (_id(p.account), p.account_via))
            if final == as_stored.stored and placement == stored_placement:
                continue
            rows.append(people.PersonWrite(_id_of(p), final, *placement))
        return rows

    async def _accounts_to_write(self, changed: list[AccountState]) -> list[tuple[int, Stored]]:
        """The traits of the `changed` accounts (sorted by id, locked by `flush`) whose row
        this request changes: its writes merged into the row as stored now."""
        if not changed:
            return []
        fresh = await accounts.account_traits_now(self._conn, [_id_of(a) for a in changed])
        rows = []
        for a in changed:
            stored = fresh.get(_id_of(a))
            if stored is None:
                continue
            final = merged(stored, a.writes, ACCOUNT_COLUMNS)
            if final == stored:
                continue
            rows.append((_id_of(a), final))
        return rows

    async def _lock_accounts(self, ids: Iterable[int]) -> None:
        """Locks the accounts with these ids not yet locked by this request, by id
        (`dialect.lock_in_order`; nothing on SQLite)."""
        fresh = sorted(set(ids) - self._locked_accounts)
        await accounts.lock_accounts(self._conn, fresh)
        self._locked_accounts.update(fresh)

    async def _lock_people(self, ids: Iterable[int]) -> None:
        """Locks the people with these ids not yet locked by this request, by id."""
        fresh = sorted(set(ids) - self._locked_people)
        await people.lock_people(self._conn, fresh)
        self._locked_people.update(fresh)

    # ------------------------------------------------------------ rules
    # (applied here to this request's rows; the rules themselves are tipoff.core.identity's)

    async def _place_by_email(self, person: PersonState) -> None:
        if not placed_by_email(person.account_via):
            return
        domain = company_domain(person.email)
        if domain is None:
            return
        account = await self._account_by_domain(domain)
        if account is None:
            account = self._create_account(domain=domain)
        self._assign(person, account, VIA_DOMAIN)

    def _assign(self, person: PersonState, account: AccountState, via: str) -> None:
        if person.account is account and person.account_via == via:
            return
        before = person.account
        person.account, person.account_via, person.changed = account, via, True
        person.placed = True
        self.touch(account)
        if before is None:
            # Their events so far have no account. (One new in this request has none
            # stored yet; its signals get their account when they are written.)
            person.backfill = person.id is not None
        elif before is not account:
            self.touch(before)  # it lost a person: its fit may change

    async def _apply_account_traits(
        self, account: AccountState, traits: AccountTraits, domain: str | None, at: datetime
    ) -> None:
        when = micros(at)
        writes = Writes(traits={key: (value, when) for key, value in traits.as_json().items()})
        name = _clip(traits.name.strip() if traits.name else None)
        if name:
            writes.columns["name"] = (name, when)
        if traits.employees is not None:
            writes.columns["employees"] = (traits.employees, when)
        industry = _clip(traits.industry.strip() if traits.industry else None)
        if industry:
            writes.columns["industry"] = (industry, when)
        if (
            domain is not None
            and account.domain is None
            and await self._account_by_domain(domain) is None
        ):
            await self._set_domain(account, domain)
        if _write(account, writes, ACCOUNT_COLUMNS):
            self.touch(account)

    async def _merge(self, *, survivor: PersonState, loser: PersonState) -> None:
        """Fold `loser` into `survivor`: identities, events and traits move; the loser's
        row is deleted. The survivor's own values win over the loser's."""
        survivor, loser = survivor.current(), loser.current()
        if survivor is loser:
            return
        if survivor_takes_account(
            survivor_has_one=survivor.account is not None,
            survivor_via=survivor.account_via,
            loser_has_one=loser.account is not None,
            loser_via=loser.account_via,
        ):
            assert loser.account is not None and loser.account_via is not None
            self._assign(survivor, loser.account, loser.account_via)
        for account in (loser.account, survivor.account):
            if account is not None:
                self.touch(account)
        survivor.changed = True
        loser.merged_into = survivor

        if loser.id is None:
            _hand_over(_stored(loser, PERSON_COLUMNS), survivor)
        else:
            conn = self._conn
            # What the loser has now, not when this request read it: read under the lock
            # (SQLite's one write lock; the row's on PostgreSQL) that keeps it so.
            await people.lock_people_for_writing(conn)
            await self._lock_people([loser.id])
            as_stored = (await people.people_now(conn, [loser.id])).get(loser.id)
            had = as_stored.stored if as_stored is not None else Stored()
            _hand_over(merged(had, loser.writes, PERSON_COLUMNS), survivor)
            survivor_id = await self._persist(survivor)
            await identities.move_identities(conn, from_person=loser.id, to_person=survivor_id)
            await events.move_events(conn, from_person=loser.id, to_person=survivor_id)
            await people.delete_person(conn, loser.id)
            survivor.backfill = True
        if loser.email is not None:
            self._by_email[loser.email] = None  # free: the loser's row is gone
            if survivor.email is None:
                await self._set_email(survivor, loser.email)

    # ------------------------------------------------------------ state changes

    def _create_person(self) -> PersonState:
        person = PersonState(id=None)
        self._new_people.append(person)
        return person

    def _create_account(
        self, *, domain: str | None = None, group_id: str | None = None
    ) -> AccountState:
        account = AccountState(id=None, domain=domain, group_id=group_id)
        if domain is not None:
            self._by_domain[domain] = account
        if group_id is not None:
            self._by_group[group_id] = account
        self._new_accounts.append(account)
        self.touch(account)
        return account

    def _add_identity(self, kind: str, external_id: str, person: PersonState) -> None:
        self._identities[(kind, external_id)] = person
        self._new_identities.append((kind, external_id, person))

    async def _persist(self, person: PersonState) -> int:
        """The person's id: a new person is inserted now (a merge needs its id); the rest
        is written at flush."""
        if person.id is not None:
            return person.id
        person.id = await people.add_person(self._conn, _new_person(person), now=self._now)
        self._people[person.id] = person
        person.changed = True  # its account may not have an id yet
        return person.id

    async def _set_email(self, person: PersonState, email: str) -> None:
        if person.email is not None:
            self._by_email[person.email] = None
        person.email = email
        self._by_email[email] = person
        if person.id is not None:
            # At once: the unique index must see the old address freed before anyone
            # else takes it later in this request.
            await people.set_email(self._conn, person.id, email=email, now=self._now)

    async def _set_group_id(self, account: AccountState, group_id: str) -> None:
        account.group_id = group_id
        self._by_group[group_id] = account
        self.touch(account)
        if account.id is not None:
            # Only while it has none: one given meanwhile by another request stays.
            await accounts.adopt_group_id(self._conn, account.id, group_id=group_id, now=self._now)

    async def _set_domain(self, account: AccountState, domain: str) -> None:
        account.domain = domain
        self._by_domain[domain] = account
        self.touch(account)
        if account.id is not None:
            # Only while it has none: one given meanwhile by another request stays.
            await accounts.adopt_domain(self._conn, account.id, domain=domain, now=self._now)

    # ------------------------------------------------------------ lookups

    async def _person_for(self, kind: str, external_id: str) -> PersonState | None:
        key = (kind, external_id)
        if key not in self._identities:
            await self._load(identity_keys=[key])
        person = self._identities[key]
        return None if person is None else person.current()

    async def _person_by_email(self, email: str) -> PersonState | None:
        if email not in self._by_email:
            await self._load(emails=[email])
        person = self._by_email[email]
        return None if person is None else person.current()

    async def _account_by_group(self, group_id: str) -> AccountState | None:
        if group_id not in self._by_group:
            await self._load(group_ids=[group_id])
        return self._by_group[group_id]

    async def _account_by_domain(self, domain: str) -> AccountState | None:
        if domain not in self._by_domain:
            await self._load(domains=[domain])
        return self._by_domain[domain]

    async def _load(
        self,
        *,
        identity_keys: Iterable[tuple[str, str]] = (),
        emails: Iterable[str] = (),
        group_ids: Iterable[str] = (),
        domains: Iterable[str] = (),
    ) -> None:
        """Fill the caches for what is not in them yet; what the database does not have
        is remembered as absent, so it is never asked for twice."""
        conn = self._conn
        keys = [k for k in identity_keys if k not in self._identities]
        found: dict[tuple[str, str], int] = {}
        for kind in (USER_ID, ANONYMOUS_ID):
            ids = await identities.people_known_as(
                conn, sorted(e for k, e in keys if k == kind), kind=kind
            )
            found.update({(kind, external_id): p for external_id, p in ids.items()})

        person_ids = sorted({i for i in found.values() if i not in self._people})
        wanted_emails = sorted({e for e in emails if e not in self._by_email})
        person_rows = [
            *await people.people_where(conn, key="id", values=person_ids),
            *await people.people_where(conn, key="email", values=wanted_emails),
        ]

        wanted_groups = sorted({g for g in group_ids if g not in self._by_group})
        wanted_domains = sorted({d for d in domains if d not in self._by_domain})
        account_rows = [
            *await accounts.accounts_where(conn, key="group_id", values=wanted_groups),
            *await accounts.accounts_where(conn, key="domain", values=wanted_domains),
        ]
        # The people's accounts, but for those just read: most people are in the groups
        # their calls name.
        account_ids = sorted(
            {r.account_id for r in person_rows if r.account_id is not None}
            - self._accounts.keys()
            - {r.id for r in account_rows}
        )
        account_rows += await accounts.accounts_where(conn, key="id", values=account_ids)

        for known in account_rows:
            if known.id in self._accounts:
                continue
            account = AccountState(
                id=known.id,
                domain=known.domain,
                group_id=known.group_id,
                name=known.name,
                employees=known.employees,
                industry=known.industry,
                traits=known.traits,
                times=known.trait_times,
            )
            self._accounts[known.id] = account
            if account.domain is not None:
                self._by_domain.setdefault(account.domain, account)
            if account.group_id is not None:
                self._by_group.setdefault(account.group_id, account)
        for group_id in wanted_groups:
            self._by_group.setdefault(group_id, None)
        for domain in wanted_domains:
            self._by_domain.setdefault(domain, None)

        for row in person_rows:
            if row.id in self._people:
                continue
            person = PersonState(
                id=row.id,
                email=row.email,
                name=row.name,
                title=row.title,
                account=self._accounts[row.account_id] if row.account_id is not None else None,
                account_via=row.account_via,
                traits=row.traits,
                times=row.trait_times,
            )
            self._people[row.id] = person
            if person.email is not None:
                self._by_email.setdefault(person.email, person)
        for email in wanted_emails:
            self._by_email.setdefault(email, None)

        for key in keys:
            person_id = found.get(key)
            self._identities.setdefault(key, None if person_id is None else self._people[person_id])


def _drop_absent(cache: dict[Any, Any]) -> None:
    for key in [key for key, found in cache.items() if found is None]:
        del cache[key]


def _stored(state: PersonState | AccountState, columns: Mapping[str, tuple[str, ...]]) -> Stored:
    """What this request knows of a row (as read, with its writes so far)."""
    return Stored(state.traits, state.times, {name: getattr(state, name) for name in columns})


def _write(
    state: PersonState | AccountState, writes: Writes, columns: Mapping[str, tuple[str, ...]]
) -> bool:
    """Adds `writes` to what the request writes to the row at flush, and to its view of
    the row; True when that changes a value (not only the time a value was given)."""
    before = _stored(state, columns)
    after = merged(before, writes, columns)
    state.writes.add(writes)
    if after == before:
        return False
    state.traits, state.times = after.traits, after.times
    for name, value in after.columns.items():
        setattr(state, name, value)
    state.changed = True
    return after.traits != before.traits or after.columns != before.columns


def _hand_over(had: Stored, survivor: PersonState) -> None:
    """A merged person's traits go to the survivor: where both have a key, the newer
    value stays (on a tie, or with no times, the survivor's)."""
    handed, after = handed_over(had, _stored(survivor, PERSON_COLUMNS), PERSON_COLUMNS)
    survivor.writes.add(handed, ties_keep_own=True)
    survivor.traits, survivor.times = after.traits, after.times
    survivor.name, survivor.title = after.columns["name"], after.columns["title"]


def _id(account: AccountState | None) -> int | None:
    return None if account is None else account.id


def _id_of(row: PersonState | AccountState) -> int:
    """The id of a stored row, to sort rows by before writing them."""
    assert row.id is not None
    return row.id


def _clip(value: str | None) -> str | None:
    return value[:_TEXT] if value else None


def _new_person(p: PersonState) -> people.NewPerson:
    """The row of a person this request creates."""
    return people.NewPerson(
        email=p.email,
        name=p.name,
        title=p.title,
        account_id=_id(p.account) if p.account is not None else None,
        account_via=p.account_via if p.account is not None else None,
        traits=p.traits,
        trait_times=p.times,
    )
