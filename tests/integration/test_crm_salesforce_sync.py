"""The CRM sync with Salesforce end to end: the real sync against the Salesforce stand-in
(tests/fakes/salesforce_api.py) over real HTTP, on a real database; `tipoff crm sync`,
`tipoff crm status` and `tipoff serve` as real processes configured by TIPOFF_SALESFORCE_*
(client credentials and JWT bearer). Scores out onto Accounts matched by Website;
duplicates and unmatched reported, never written; Opportunities in as outcomes once;
owners in; the org's limit, missing fields and a deleted record; secrets nowhere."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr
from sqlalchemy import select

from tests import seed
from tests.conftest import NOW
from tests.fakes.salesforce_api import (
    CLIENT_ID,
    CLIENT_SECRET,
    USERNAME,
    FakeOpportunity,
    FakeSalesforceApi,
    running_fake_salesforce,
)
from tests.fakes.slack_bot import Clock
from tests.integration.test_crm_cli import crm, stored_bytes
from tests.integration.test_crm_sync import count, scored, sync
from tests.processes import Server, tipoff_env
from tipoff.crm.salesforce import ClientCredentials, SalesforceClient
from tipoff.crm_sync import last_sync, sync_crm
from tipoff.reps import owner_of
from tipoff.runtime import Runtime
from tipoff.scores.rescoring import rescore
from tipoff.settings import Settings
from tipoff.startup import build_runtime, crm_client
from tipoff.store.tables import crm_cursors, crm_runs, crm_writes, events

T0 = NOW - timedelta(days=3)  # when the stand-in's records were last modified


def account_id(n: int) -> str:
    """An 18-character Account Id, as Salesforce makes them."""
    return f"001{n:012d}AAA"


def opportunity_id(n: int) -> str:
    return f"006{n:012d}AAA"


@pytest.fixture(scope="module")
def connected_app_key() -> rsa.RSAPrivateKey:
    """The private key whose certificate the connected app holds (JWT bearer)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def salesforce(connected_app_key: rsa.RSAPrivateKey) -> Iterator[FakeSalesforceApi]:
    # Batches of 2 within a query: a handful of records already needs nextRecordsUrl.
    public = connected_app_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with running_fake_salesforce(public_key=public, batch_size=2) as fake:
        yield fake


@pytest.fixture
async def client(salesforce: FakeSalesforceApi) -> AsyncIterator[SalesforceClient]:
    # Queries of 3 records: a handful of records spans several keyset queries too.
    signed = SalesforceClient(
        ClientCredentials(CLIENT_ID, SecretStr(CLIENT_SECRET)),
        login_url=salesforce.url,
        query_limit=3,
    )
    yield signed
    await signed.aclose()


def add_accounts(fake: FakeSalesforceApi, *websites: str | None) -> list[str]:
    """Accounts with `websites`, after those the stand-in has, owned by owner@example.com."""
    start = len(fake.accounts) + len(fake.deleted) + 1
    return [
        fake.add_account(account_id(n), website=w, modified_at=T0).id
        for n, w in enumerate(websites, start=start)
    ]


def patches(fake: FakeSalesforceApi) -> list[list[str]]:
    """The Account ids of each sObject Collections update, in order."""
    return [[r["id"] for r in c.body["records"]] for c in fake.api_calls("/composite/sobjects")]


# --- out: scores onto matched Accounts ------------------------------------------------------


async def test_accounts_matched_by_website_get_score_track_evidence_and_scored_at(
    runtime: Runtime, salesforce: FakeSalesforceApi, client: SalesforceClient
) -> None:
    await scored(runtime, "acme.io", "globex.com", "initech.com", "umbrella.co.uk")
    # A website is often a shop's or a region's host: the company's domain is the one it
    # registers, under a suffix of one label or of two (the Public Suffix List's).
    acme, globex, initech, umbrella = add_accounts(
        salesforce,
        "https://www.Acme.io/about",
        "HTTP://GLOBEX.COM:443",
        "www.initech.com/en/",
        "https://shop.eu.Umbrella.co.uk/en",
    )

    first = await sync(runtime, client)

    assert patches(salesforce) == [[acme, globex, initech, umbrella]]
    assert salesforce.api_calls("/composite/sobjects")[0].body["allOrNone"] is False
    written = salesforce.accounts[acme].values
    assert (written["Tipoff_Score__c"], written["Tipoff_Track__c"]) == (90, "hot")
    assert written["Tipoff_Scored_At__c"] == "2026-11-20T15:00:00Z"
    lines = written["Tipoff_Evidence__c"].splitlines()
    assert lines[0].endswith("(+30)") and "Dana Lee" in lines[0]
    assert salesforce.accounts[globex].values["Tipoff_Track__c"] == "hot"
    assert salesforce.accounts[initech].values["Tipoff_Track__c"] == "hot"
    assert salesforce.accounts[umbrella].values["Tipoff_Track__c"] == "hot"
    assert sorted(first.written) == ["acme.io", "globex.com", "initech.com", "umbrella.co.uk"]

    # Nothing changed (the write moved the Accounts' SystemModstamp, so they are read
    # again): no write, no outcome.
    before = await count(runtime, events)
    second = await sync(runtime, client)
    assert second.records_read == 4
    assert second.written == [] and second.unchanged == 4 and second.outcomes == 0
    assert len(patches(salesforce)) == 1
    assert await count(runtime, events) == before


async def test_one_changed_account_is_one_call_with_one_record(
    runtime: Runtime, salesforce: FakeSalesforceApi, client: SalesforceClient
) -> None:
    ids = await scored(runtime, "acme.io", "globex.com", "initech.com")
    records = dict(zip(ids, add_accounts(salesforce, *(f"https://{d}" for d in ids)), strict=True))
    await sync(runtime, client)

    async with runtime.db.transaction() as conn:
        await seed.signal(conn, NOW, ids["globex.com"], None, "Demo Requested")
    await rescore(runtime)
    report = await sync(runtime, client)

    assert patches(salesforce)[1:] == [[records["globex.com"]]]
    assert report.written == ["globex.com"] and report.unchanged == 2
    [change] = salesforce.api_calls("/composite/sobjects")[1].body["records"]
    [before] = [r for r in salesforce.api_calls("/composite/sobjects")[0].body["records"]
                if r["id"] == change["id"]]  # fmt: skip
    assert change["Tipoff_Evidence__c"] != before["Tipoff_Evidence__c"]
    assert (
        salesforce.accounts[change["id"]].values["Tipoff_Evidence__c"]
        == (change["Tipoff_Evidence__c"])
    )


async def test_duplicates_and_unmatched_are_reported_never_written(
    runtime: Runtime, salesforce: FakeSalesforceApi, client: SalesforceClient
) -> None:
    await scored(runtime, "acme.io", "dup.com", "nowhere.io")
    acme, first_dup, second_dup, _ = add_accounts(
        salesforce, "acme.io", "http://dup.com/", "https://www.DUP.com/contact", None
    )

    report = await sync(runtime, client)

    assert patches(salesforce) == [[acme]]
    assert salesforce.accounts[first_dup].values == {}
    assert salesforce.accounts[second_dup].values == {}
    assert report.unmatched == ["nowhere.io"]
    assert report.duplicates == [("dup.com", (first_dup, second_dup))]
    run = await last_sync(runtime)
    assert run is not None and (run.crm, run.unmatched, run.duplicates, run.written) == (
        "salesforce",
        1,
        1,
        1,
    )
    assert run.report["duplicates"] == [["dup.com", [first_dup, second_dup]]]


async def test_a_duplicate_deleted_in_salesforce_is_forgotten_by_the_daily_full_read(
    runtime: Runtime, salesforce: FakeSalesforceApi, client: SalesforceClient
) -> None:
    await scored(runtime, "dup.com")
    kept, merged = add_accounts(salesforce, "https://dup.com", "https://www.dup.com")
    assert (await sync(runtime, client)).duplicates == [("dup.com", (kept, merged))]

    salesforce.delete(merged)  # merged away: queries never return it again
    assert isinstance(runtime.clock, Clock)
    runtime.clock.now += timedelta(hours=1)
    assert (await sync(runtime, client)).duplicates != []  # an incremental read cannot tell
    runtime.clock.now += timedelta(hours=24)

    report = await sync(runtime, client)

    assert report.duplicates == [] and report.written == ["dup.com"]
    assert patches(salesforce) == [[kept]]


# --- in: opportunities and owners ---------------------------------------------------------


async def test_opportunities_become_outcomes_exactly_once_across_pages_sharing_a_time(
    runtime: Runtime, salesforce: FakeSalesforceApi, client: SalesforceClient
) -> None:
    await scored(runtime, "acme.io")
    acme, beta = add_accounts(salesforce, "https://acme.io", "https://beta.com")
    same = NOW - timedelta(hours=2)  # one SystemModstamp for every Opportunity
    opened = NOW - timedelta(days=20)
    closed = date(2026, 11, 17)
    deals = [
        FakeOpportunity(opportunity_id(1), acme, opened, same),
        FakeOpportunity(opportunity_id(2), acme, opened, same, is_closed=True, is_won=True,
                        close_date=closed, amount=1200.5),
        FakeOpportunity(opportunity_id(3), beta, opened, same, is_closed=True, close_date=closed),
        FakeOpportunity(opportunity_id(4), beta, opened, same, close_date=date(2027, 3, 1)),
        FakeOpportunity(opportunity_id(5), None, opened, same),
        FakeOpportunity(opportunity_id(6), acme, opened, same),
        FakeOpportunity(opportunity_id(7), beta, opened, same),
    ]  # fmt: skip
    for deal in deals:
        salesforce.add_opportunity(deal)

    first = await sync(runtime, client)

    assert first.deals_read == 7
    assert first.outcomes == 8  # 6 opened (not the one without an Account), 1 won, 1 lost
    assert first.deals_skipped == [(opportunity_id(5), "no Account is associated with it")]
    opportunity_queries = [q for q in salesforce.queries() if "FROM Opportunity" in q]
    assert len(opportunity_queries) == 3  # 3 + 3 + 1: keyset queries across one timestamp
    async with runtime.db.transaction() as conn:
        stored = (
            await conn.execute(
                select(events.c.event, events.c.occurred_at, events.c.properties).where(
                    events.c.kind == "track"
                )
            )
        ).all()
    outcomes = sorted((e.event, e.properties.get("opportunity_id")) for e in stored
                      if e.properties.get("source") == "salesforce sync")  # fmt: skip
    assert outcomes == sorted(
        [("Opportunity Created", d.id) for d in deals if d.account_id]
        + [("Deal Won", opportunity_id(2)), ("Deal Lost", opportunity_id(3))]
    )
    won = next(e for e in stored if e.event == "Deal Won")
    assert won.occurred_at == datetime(2026, 11, 17, tzinfo=UTC)
    assert won.properties["amount"] == 1200.5
    created = next(e for e in stored if e.properties.get("opportunity_id") == opportunity_id(4))
    assert created.occurred_at == opened  # an open one's CloseDate is a forecast: not read

    # Read again incrementally, then from the start (a lost cursor): nothing twice.
    assert (await sync(runtime, client)).outcomes == 0
    salesforce.opportunities[opportunity_id(1)].is_closed = True
    salesforce.opportunities[opportunity_id(1)].is_won = True
    salesforce.opportunities[opportunity_id(1)].close_date = date(2026, 11, 19)
    salesforce.opportunities[opportunity_id(1)].modified_at = NOW - timedelta(hours=1)
    assert (await sync(runtime, client)).outcomes == 1  # the win; its opening is stored
    async with runtime.db.transaction() as conn:
        await conn.execute(crm_cursors.delete())
    again = await sync(runtime, client)
    assert again.deals_read == 7 and again.outcomes == 0


async def test_an_opportunity_on_an_account_not_read_yet_waits_for_it(
    runtime: Runtime, salesforce: FakeSalesforceApi, client: SalesforceClient
) -> None:
    await scored(runtime, "acme.io")
    opened = NOW - timedelta(days=5)
    salesforce.add_opportunity(FakeOpportunity(opportunity_id(1), account_id(9), opened, T0))

    first = await sync(runtime, client)

    assert first.deals_skipped == [
        (opportunity_id(1), "its Account has not been read yet (kept until it is)")
    ]
    salesforce.add_account(account_id(9), website="https://www.acme.io/", owner_email=None,
                           modified_at=NOW - timedelta(hours=1))  # fmt: skip
    second = await sync(runtime, client)
    assert second.deals_read == 0 and second.outcomes == 1 and second.deals_waiting == 0


async def test_an_owner_removed_in_salesforce_is_cleared(
    runtime: Runtime, salesforce: FakeSalesforceApi, client: SalesforceClient
) -> None:
    ids = await scored(runtime, "acme.io")
    acme = salesforce.add_account(account_id(1), website="acme.io", owner_email="maya@example.com",
                                  modified_at=T0)  # fmt: skip
    assert (await sync(runtime, client)).owners == [("acme.io", "maya@example.com")]
    acme.owner_email, acme.modified_at = None, NOW - timedelta(minutes=30)

    report = await sync(runtime, client)

    assert report.owners_cleared == ["acme.io"]
    async with runtime.db.transaction() as conn:
        assert await owner_of(conn, ids["acme.io"]) is None


async def test_the_account_owners_email_becomes_its_owner(
    runtime: Runtime, salesforce: FakeSalesforceApi, client: SalesforceClient
) -> None:
    ids = await scored(runtime, "acme.io", "globex.com")
    salesforce.add_account(account_id(1), website="acme.io", owner_email="Maya@Example.com",
                           modified_at=T0)  # fmt: skip
    salesforce.add_account(account_id(2), website="globex.com", owner_email=None, modified_at=T0)

    report = await sync(runtime, client)

    assert report.owners == [("acme.io", "maya@example.com")]
    async with runtime.db.transaction() as conn:
        owner = await owner_of(conn, ids["acme.io"])
        nobody = await owner_of(conn, ids["globex.com"])
    assert owner is not None and (owner.email, owner.via) == ("maya@example.com", "trait")
    assert nobody is None
    # Read again (the write moved its SystemModstamp): the owner is set, nothing is sent.
    assert (await sync(runtime, client)).owners == []


# --- limits and failures ---------------------------------------------------------------------


async def test_request_limit_exceeded_stops_the_run_and_the_next_run_goes_on(
    runtime: Runtime, salesforce: FakeSalesforceApi, client: SalesforceClient
) -> None:
    await scored(runtime, "acme.io")
    [acme] = add_accounts(salesforce, "https://acme.io")
    salesforce.fail_next("REQUEST_LIMIT_EXCEEDED", on="/composite/sobjects")

    stopped = await sync_crm(runtime, client)

    assert stopped.stopped is not None and "REQUEST_LIMIT_EXCEEDED" in stopped.stopped
    assert "the sync stops until it resets" in stopped.stopped
    assert len(salesforce.api_calls("/composite/sobjects")) == 1  # not retried
    assert salesforce.accounts[acme].values == {}
    run = await last_sync(runtime)
    assert run is not None and run.stopped == stopped.stopped and run.written == 0

    assert (await sync(runtime, client)).written == ["acme.io"]
    assert salesforce.accounts[acme].values["Tipoff_Track__c"] == "hot"


async def test_missing_fields_stop_the_run_naming_each(
    runtime: Runtime, salesforce: FakeSalesforceApi, client: SalesforceClient
) -> None:
    await scored(runtime, "acme.io")
    add_accounts(salesforce, "https://acme.io")
    del salesforce.account_fields["Tipoff_Score__c"]
    salesforce.account_fields["Tipoff_Evidence__c"].updateable = False

    report = await sync_crm(runtime, client)

    assert report.stopped is not None
    assert "Tipoff_Score__c (Number(18, 0)) is missing" in report.stopped
    assert "Tipoff_Evidence__c is not editable by the integration user" in report.stopped
    assert "Tipoff_Track__c" not in report.stopped
    assert salesforce.queries() == [] and patches(salesforce) == []  # checked before reading
    run = await last_sync(runtime)
    assert run is not None and run.stopped == report.stopped


async def test_a_deleted_account_leaves_the_others_written_and_is_retried(
    runtime: Runtime, salesforce: FakeSalesforceApi, client: SalesforceClient
) -> None:
    domains = ("acme.io", "b.com", "c.com")
    await scored(runtime, *domains)
    ids = dict(zip(domains, add_accounts(salesforce, *domains), strict=True))
    await sync(runtime, client)  # the Accounts are known: now one is deleted
    async with runtime.db.transaction() as conn:
        await conn.execute(crm_writes.delete())  # every account due again
    salesforce.delete(ids["b.com"])

    report = await sync(runtime, client)

    assert patches(salesforce)[1] == [ids["acme.io"], ids["b.com"], ids["c.com"]]
    assert sorted(report.written) == ["acme.io", "c.com"]
    [(label, record, why)] = report.refused
    assert (label, record) == ("b.com", ids["b.com"]) and "ENTITY_IS_DELETED" in why

    retried = await sync(runtime, client)
    assert patches(salesforce)[2:] == [[ids["b.com"]]]
    assert retried.written == [] and [r[0] for r in retried.refused] == ["b.com"]


async def test_a_dry_run_writes_nothing_anywhere(
    runtime: Runtime, salesforce: FakeSalesforceApi, client: SalesforceClient
) -> None:
    await scored(runtime, "acme.io")
    salesforce.add_account(account_id(1), website="acme.io", owner_email="maya@example.com",
                           modified_at=T0)  # fmt: skip
    salesforce.add_opportunity(
        FakeOpportunity(opportunity_id(1), account_id(1), NOW - timedelta(days=2), T0)
    )
    before = await count(runtime, events)

    report = await sync(runtime, client, dry_run=True)

    assert report.written == ["acme.io"] and report.outcomes == 1
    assert report.owners == [("acme.io", "maya@example.com")]
    assert [c.method for c in salesforce.api_calls()] == ["GET"] * len(salesforce.api_calls())
    assert await count(runtime, events) == before
    assert await count(runtime, crm_runs) == 0 and await count(runtime, crm_cursors) == 0
    assert (await sync(runtime, client)).written == ["acme.io"]


async def test_no_secret_or_token_in_the_logs_or_the_report(
    runtime: Runtime,
    settings: Settings,
    salesforce: FakeSalesforceApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await scored(runtime, "acme.io", "b.com")
    ids = add_accounts(salesforce, "acme.io", "b.com")
    # Built as `tipoff crm sync` and `serve` build it: from TIPOFF_SALESFORCE_*.
    configured = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=settings.database_url,
        salesforce_login_url=salesforce.url,
        salesforce_client_id=CLIENT_ID,
        salesforce_client_secret=CLIENT_SECRET,
    )
    client = crm_client(configured)
    assert isinstance(client, SalesforceClient)
    try:
        await sync(runtime, client)
        salesforce.expire_sessions()  # signed in again
        salesforce.delete(ids[1])
        async with runtime.db.transaction() as conn:
            await conn.execute(crm_writes.delete())
        refused = await sync(runtime, client)
        salesforce.fail_next("REQUEST_LIMIT_EXCEEDED")
        stopped = await sync_crm(runtime, client)
    finally:
        await client.aclose()

    assert refused.refused and stopped.stopped
    assert len(salesforce.issued_tokens) == 2
    said = caplog.text + repr(client) + str(refused) + str(stopped)
    for secret in (CLIENT_SECRET, *salesforce.issued_tokens):
        assert secret not in said
    run = await last_sync(runtime)
    assert run is not None
    for secret in (CLIENT_SECRET, *salesforce.issued_tokens):
        assert secret not in str(run)


# --- the command line and `serve` ----------------------------------------------------------


def scored_file(path: Path, *domains: str) -> None:
    """Hot accounts like Acme at `domains`, scored now, in a SQLite file at `path` (as
    test_crm_cli.scored_database, for the domains these tests need)."""

    async def make() -> None:
        settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{path}")  # type: ignore[call-arg]
        rt = await build_runtime(settings)
        now = datetime.now(UTC)
        try:
            async with rt.db.transaction() as conn:
                for domain in domains:
                    await seed.hot_acme(conn, now, domain, domain.split(".")[0].title())
            await rescore(rt)
        finally:
            await rt.close()

    asyncio.run(make())


def secret_env(db: Path, fake: FakeSalesforceApi) -> dict[str, str]:
    """`tipoff` configured for Salesforce by client credentials, at the stand-in."""
    return tipoff_env(
        DATABASE_URL=f"sqlite:///{db}",
        TIPOFF_SALESFORCE_LOGIN_URL=fake.url,
        TIPOFF_SALESFORCE_CLIENT_ID=CLIENT_ID,
        TIPOFF_SALESFORCE_CLIENT_SECRET=CLIENT_SECRET,
    )


def test_crm_sync_and_status_by_jwt_bearer_from_the_command_line(
    tmp_path: Path, salesforce: FakeSalesforceApi, connected_app_key: rsa.RSAPrivateKey
) -> None:
    db = tmp_path / "tipoff.db"
    scored_file(db, "acme.io", "nowhere.io", "dup.example")
    key_pem = connected_app_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_file = tmp_path / "tipoff-salesforce.key"
    key_file.write_bytes(key_pem)
    acme = salesforce.add_account(account_id(1), website="https://www.acme.io/",
                                  owner_email="maya@example.com", modified_at=T0).id  # fmt: skip
    dups = add_accounts(salesforce, "dup.example", "http://www.dup.example/x")
    salesforce.add_opportunity(
        FakeOpportunity(opportunity_id(1), acme, datetime.now(UTC) - timedelta(days=1), T0)
    )
    env = tipoff_env(
        DATABASE_URL=f"sqlite:///{db}",
        TIPOFF_SALESFORCE_LOGIN_URL=salesforce.url,
        TIPOFF_SALESFORCE_CLIENT_ID=CLIENT_ID,
        TIPOFF_SALESFORCE_USERNAME=USERNAME,
        TIPOFF_SALESFORCE_PRIVATE_KEY_FILE=str(key_file),
    )
    before = db.read_bytes()

    dry = crm(tmp_path, env, "sync", "--dry-run")

    assert dry.returncode == 0, dry.stderr
    assert "salesforce sync (dry run: nothing was written)" in dry.stdout
    assert "Would write 1 account: acme.io." in dry.stdout
    assert "no salesforce record has their domain: 1 account: nowhere.io" in dry.stdout
    assert (
        f"several salesforce records share their domain: dup.example (records {dups[0]}, {dups[1]})"
        in dry.stdout
    )
    assert "Owners to set: acme.io: maya@example.com" in dry.stdout
    assert [c.method for c in salesforce.api_calls()] == ["GET"] * len(salesforce.api_calls())
    assert db.read_bytes() == before

    done = crm(tmp_path, env, "sync")

    assert done.returncode == 0, done.stderr
    assert "Wrote 1 account: acme.io." in done.stdout
    assert "Outcomes stored: 1." in done.stdout
    assert "Owners set: acme.io: maya@example.com" in done.stdout
    assert salesforce.accounts[acme].values["Tipoff_Track__c"] == "hot"
    assert all(salesforce.accounts[d].values == {} for d in dups)

    status = crm(tmp_path, env, "status")
    assert status.returncode == 0, status.stderr
    assert "Last sync with salesforce" in status.stdout
    assert "Written 1, unchanged 0, refused 0, unmatched 1, duplicates 1" in status.stdout
    assert "Unmatched (no salesforce record has their domain): nowhere.io" in status.stdout
    assert f"dup.example (records {dups[0]}, {dups[1]})" in status.stdout

    # The key and the access tokens: never printed, never stored.
    key_body = key_pem.decode().splitlines()[1]
    secrets = (key_body, *salesforce.issued_tokens)
    assert len(salesforce.issued_tokens) == 2  # one sign-in a run
    for said in (dry, done, status):
        assert not [s for s in secrets if s in said.stdout + said.stderr]
    assert not [s for s in secrets if s.encode() in stored_bytes(db)]


def test_limit_missing_fields_and_a_refused_secret_exit_1_saying_why(
    tmp_path: Path, salesforce: FakeSalesforceApi
) -> None:
    db = tmp_path / "tipoff.db"
    scored_file(db, "acme.io")
    [acme] = add_accounts(salesforce, "acme.io")
    env = secret_env(db, salesforce)

    salesforce.fail_next("REQUEST_LIMIT_EXCEEDED", on="/composite/sobjects")
    limited = crm(tmp_path, env, "sync")
    assert limited.returncode == 1
    assert "Stopped: Salesforce's API request limit for this org is reached" in limited.stderr
    assert "REQUEST_LIMIT_EXCEEDED" in limited.stderr
    assert salesforce.accounts[acme].values == {}

    missing = salesforce.account_fields.pop("Tipoff_Scored_At__c")
    lacking = crm(tmp_path, env, "sync")
    assert lacking.returncode == 1
    assert "Tipoff_Scored_At__c (Date/Time) is missing" in lacking.stderr
    assert salesforce.accounts[acme].values == {}

    salesforce.account_fields[missing.name] = missing
    salesforce.client_secret = "rotated-by-an-admin"
    refused = crm(tmp_path, env, "sync")
    assert refused.returncode == 1
    assert "Salesforce refused Tipoff's sign-in (invalid_client" in refused.stderr

    salesforce.client_secret = CLIENT_SECRET
    assert crm(tmp_path, env, "sync").returncode == 0
    assert salesforce.accounts[acme].values["Tipoff_Track__c"] == "hot"
    for said in (limited, lacking, refused):
        assert CLIENT_SECRET not in said.stdout + said.stderr
    assert CLIENT_SECRET.encode() not in stored_bytes(db)
    assert not [t for t in salesforce.issued_tokens if t.encode() in stored_bytes(db)]


def test_a_key_file_that_is_no_rsa_key_stops_the_command_without_quoting_it(
    tmp_path: Path, salesforce: FakeSalesforceApi
) -> None:
    key_file = tmp_path / "tipoff-salesforce.key"
    key_file.write_text(
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ib2R5\n-----END PRIVATE KEY-----\n"
    )
    env = tipoff_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'tipoff.db'}",
        TIPOFF_SALESFORCE_LOGIN_URL=salesforce.url,
        TIPOFF_SALESFORCE_CLIENT_ID=CLIENT_ID,
        TIPOFF_SALESFORCE_USERNAME=USERNAME,
        TIPOFF_SALESFORCE_PRIVATE_KEY_FILE=str(key_file),
    )

    said = crm(tmp_path, env, "sync")

    assert said.returncode == 1, said.stderr
    assert f"{key_file}: not an unencrypted PEM private key" in said.stderr
    assert "Traceback" not in said.stderr and "c2VjcmV0LWtleS1ib2R5" not in said.stderr
    assert salesforce.calls == []


def test_serve_syncs_salesforce_on_its_schedule_and_healthz_names_what_is_unwritten(
    tmp_path: Path, salesforce: FakeSalesforceApi
) -> None:
    db = tmp_path / "tipoff.db"
    scored_file(db, "acme.io", "nowhere.io", "dup.example")
    acme, *_ = add_accounts(salesforce, "https://acme.io", "dup.example", "https://dup.example")
    env = {**secret_env(db, salesforce), "TIPOFF_RESCORE_PROCESSES": "0"}
    server = Server(tmp_path, env)
    try:
        deadline = time.monotonic() + 30
        while "Tipoff_Track__c" not in salesforce.accounts[acme].values:
            assert time.monotonic() < deadline, server.log.read_text()
            time.sleep(0.1)
        health = httpx.get(f"{server.url}/healthz", timeout=5).json()
        while health.get("crm") != "ok":
            assert time.monotonic() < deadline, health
            time.sleep(0.1)
            health = httpx.get(f"{server.url}/healthz", timeout=5).json()
    finally:
        assert server.stop() in (0, -15)
    assert health["status"] == "degraded"
    reasons = " ".join(health["reasons"])
    assert "1 scored account(s) match no salesforce record" in reasons
    assert "1 scored account(s) match several salesforce records" in reasons
    log = server.log.read_text()
    assert not [s for s in (CLIENT_SECRET, *salesforce.issued_tokens) if s in log]
    assert CLIENT_SECRET.encode() not in stored_bytes(db)
