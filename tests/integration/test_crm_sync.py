"""The CRM sync against the HubSpot stand-in over real HTTP, on a real database: scores
out (matched, duplicate, unmatched, changed, refused), deals and owners in, limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests import seed
from tests.conftest import NOW
from tests.fakes.hubspot_api import TOKEN, FakeHubSpotApi, ms, running_fake_hubspot
from tests.fakes.slack_bot import Clock
from tipoff.cli.crm import status_lines, sync_lines
from tipoff.crm.hubspot import HubSpotClient
from tipoff.crm_sync import SyncReport, last_sync, sync_crm
from tipoff.ingest.segment import Group
from tipoff.ingest.service import ingest_messages
from tipoff.reps import owner_of
from tipoff.runtime import Runtime
from tipoff.scores.rescoring import rescore
from tipoff.sources import import_source
from tipoff.store.tables import crm_runs, crm_writes, events


@pytest.fixture
def hubspot() -> Iterator[FakeHubSpotApi]:
    with running_fake_hubspot(now=NOW - timedelta(hours=1)) as fake:
        yield fake


@pytest.fixture
async def client(hubspot: FakeHubSpotApi) -> AsyncIterator[HubSpotClient]:
    # Pages of 2: a handful of records already spans several pages.
    hs = HubSpotClient(token=TOKEN, base_url=hubspot.url, page_size=2)
    yield hs
    await hs.aclose()


async def scored(runtime: Runtime, *domains: str) -> dict[str, int]:
    """Hot accounts like Acme at `domains`, scored."""
    ids = {}
    async with runtime.db.transaction() as conn:
        for domain in domains:
            ids[domain] = await seed.hot_acme(conn, NOW, domain, domain.split(".")[0].title())
    await rescore(runtime)
    return ids


async def sync(runtime: Runtime, client: HubSpotClient, **options: bool) -> SyncReport:
    report = await sync_crm(runtime, client, **options)
    assert report.stopped is None or options.get("may_stop"), report.stopped
    return report


async def group_call(runtime: Runtime, domain: str, traits: dict[str, object]) -> None:
    """A Segment `group` call for the account at `domain`, as a CDP sends one, now."""
    call = Group.model_validate(
        {"type": "group", "userId": f"u@{domain}", "groupId": domain,
         "traits": {"domain": domain, **traits}, "timestamp": runtime.clock().isoformat()}
    )  # fmt: skip
    async with runtime.db.transaction() as conn:
        await ingest_messages(
            conn,
            source_id=await import_source(conn, "segment", category=None, now=runtime.clock()),
            event_names=runtime.model.event_name_map("segment"),
            messages=[call],
            received_at=runtime.clock(),
        )


async def count(runtime: Runtime, table: object, *where: object) -> int:
    async with runtime.db.transaction() as conn:
        query = select(func.count()).select_from(table)  # type: ignore[arg-type]
        return int((await conn.execute(query.where(*where))).scalar_one())  # type: ignore[arg-type]


async def test_matched_accounts_get_score_track_and_evidence_once(
    runtime: Runtime, hubspot: FakeHubSpotApi, client: HubSpotClient
) -> None:
    await scored(runtime, "acme.io", "globex.com")
    acme = hubspot.add_company(domain="acme.io", name="Acme Inc")
    globex = hubspot.add_company(website="https://www.Globex.com:443/about", name="Globex")

    first = await sync(runtime, client)

    assert first.created == [
        "property group tipoff",
        "property tipoff_score",
        "property tipoff_track",
        "property tipoff_evidence",
        "property tipoff_scored_at",
    ]
    assert hubspot.properties["tipoff_track"]["type"] == "enumeration"
    [batch] = hubspot.updates()
    assert sorted(i["id"] for i in batch) == sorted([acme, globex])
    written = hubspot.companies[acme]
    assert (written["tipoff_score"], written["tipoff_track"]) == ("90", "hot")
    assert written["tipoff_scored_at"] == "2026-11-20T15:00:00.000Z"
    lines = written["tipoff_evidence"].splitlines()
    assert lines[0].endswith("(+30)") and "Dana Lee" in lines[0]
    assert hubspot.companies[globex]["tipoff_track"] == "hot"
    assert sorted(first.written) == ["acme.io", "globex.com"]

    # Nothing changed: the second run creates no field, writes nothing, stores no outcome.
    before = await count(runtime, events)
    calls = len(hubspot.calls)
    second = await sync(runtime, client)
    assert second.created == [] and second.written == [] and second.unchanged == 2
    assert len(hubspot.updates()) == 1
    assert not [c for c in hubspot.calls[calls:] if "/properties/" in c.path and c.method == "POST"]
    assert await count(runtime, events) == before


async def test_one_changed_account_is_one_call_with_one_record(
    runtime: Runtime, hubspot: FakeHubSpotApi, client: HubSpotClient
) -> None:
    ids = await scored(runtime, "acme.io", "globex.com", "initech.com")
    for domain in ids:
        hubspot.add_company(domain=domain)
    await sync(runtime, client)
    assert [len(b) for b in hubspot.updates()] == [3]

    async with runtime.db.transaction() as conn:
        await seed.signal(conn, NOW, ids["globex.com"], None, "Demo Requested")
    await rescore(runtime)
    report = await sync(runtime, client)

    assert [len(b) for b in hubspot.updates()] == [3, 1]
    [[change]] = hubspot.updates()[1:]
    assert hubspot.companies[change["id"]]["domain"] == "globex.com"
    assert report.written == ["globex.com"] and report.unchanged == 2


async def test_duplicates_and_unmatched_are_reported_never_written(
    runtime: Runtime, hubspot: FakeHubSpotApi, client: HubSpotClient
) -> None:
    await scored(runtime, "acme.io", "dup.com", "nowhere.io")
    acme = hubspot.add_company(domain="acme.io")
    first_dup = hubspot.add_company(domain="dup.com")
    second_dup = hubspot.add_company(website="http://dup.com/")

    report = await sync(runtime, client)

    assert [[i["id"] for i in b] for b in hubspot.updates()] == [[acme]]
    assert "tipoff_score" not in hubspot.companies[first_dup]
    assert "tipoff_score" not in hubspot.companies[second_dup]
    assert report.unmatched == ["nowhere.io"]
    assert report.duplicates == [("dup.com", (first_dup, second_dup))]
    run = await last_sync(runtime)
    assert run is not None and (run.unmatched, run.duplicates, run.written) == (1, 1, 1)
    assert run.report["unmatched"] == ["nowhere.io"]


async def test_a_duplicate_merged_away_is_forgotten_by_the_daily_full_read(
    runtime: Runtime, hubspot: FakeHubSpotApi, client: HubSpotClient
) -> None:
    await scored(runtime, "dup.com")
    kept = hubspot.add_company(domain="dup.com")
    merged = hubspot.add_company(domain="dup.com")
    assert (await sync(runtime, client)).duplicates == [("dup.com", (kept, merged))]

    del hubspot.companies[merged]  # merged into the other: search never returns it again
    assert isinstance(runtime.clock, Clock)
    runtime.clock.now += timedelta(hours=1)
    assert (await sync(runtime, client)).duplicates != []  # an incremental read cannot tell
    runtime.clock.now += timedelta(hours=24)

    report = await sync(runtime, client)

    assert report.duplicates == [] and report.written == ["dup.com"]
    assert hubspot.companies[kept]["tipoff_track"] == "hot"


async def test_every_record_is_read_once_whatever_times_pages_share(
    hubspot: FakeHubSpotApi, client: HubSpotClient
) -> None:
    base = ms(NOW - timedelta(days=1))
    # Times 0, 5, 5, 5, 5, 9, 9, 12 ms: pages of two cut through both runs of ties.
    offsets = [5, 0, 9, 5, 12, 5, 9, 5]
    made = [hubspot.add_company(domain=f"c{i}.com", modified_ms=base + o)
            for i, o in enumerate(offsets)]  # fmt: skip

    exact = HubSpotClient(token=TOKEN, base_url=hubspot.url, page_size=2, index_lag_ms=0)
    try:
        read: list[str] = []
        cursor = None
        async for page in exact.accounts_since(None):
            read += [r.id for r in page.records]
            cursor = page.cursor
        assert sorted(read) == sorted(made)  # each once
        assert [offsets[made.index(i)] for i in read] == sorted(offsets)  # oldest first

        later = hubspot.add_company(domain="later.com", modified_ms=base + 12)
        again = [r.id async for page in exact.accounts_since(cursor) for r in page.records]
        assert again == [later]
    finally:
        await exact.aclose()


async def test_a_record_indexed_late_is_still_read(hubspot: FakeHubSpotApi) -> None:
    """HubSpot's search finds a record a few seconds after it changed: a read that began
    right after the newest change it saw reads that window again next time."""
    newest = NOW - timedelta(hours=1)
    clock = Clock(newest + timedelta(seconds=5))  # read 5 s after the newest change
    lagging = HubSpotClient(token=TOKEN, base_url=hubspot.url, page_size=2, clock=clock)
    seen = [hubspot.add_company(domain=f"c{i}.com", modified_ms=ms(newest)) for i in range(3)]

    async def read(cursor: str | None) -> tuple[list[str], str | None]:
        ids: list[str] = []
        async for page in lagging.accounts_since(cursor):
            ids += [r.id for r in page.records]
            cursor = page.cursor
        return ids, cursor

    try:
        first, cursor = await read(None)
        assert sorted(first) == sorted(seen)
        # Modified 2 s before the newest seen, searchable only now.
        late = hubspot.add_company(domain="late.com", modified_ms=ms(newest - timedelta(seconds=2)))
        clock.now += timedelta(minutes=15)
        second, cursor = await read(cursor)
        assert late in second
        # Quiet since: the next read (15 minutes on) reads nothing again.
        clock.now += timedelta(minutes=15)
        assert (await read(cursor))[0] == []
    finally:
        await lagging.aclose()


async def test_deals_become_outcomes_exactly_once_across_pages_sharing_a_time(
    runtime: Runtime, hubspot: FakeHubSpotApi, client: HubSpotClient
) -> None:
    await scored(runtime, "acme.io")
    same = ms(NOW - timedelta(hours=2))
    # Five companies and five deals modified at one millisecond: pages of two share it.
    companies = [
        hubspot.add_company(domain=d, modified_ms=same)
        for d in ("acme.io", "b.com", "c.com", "d.com", "e.com")
    ]
    opened = NOW - timedelta(days=20)
    closed = NOW - timedelta(days=3)
    deals = [
        hubspot.add_deal(companies=[companies[0]], created=opened, modified_ms=same),
        hubspot.add_deal(companies=[companies[1]], created=opened, closed=closed, won=True,
                         amount="1200.50", modified_ms=same),
        hubspot.add_deal(companies=[companies[2]], created=opened, closed=closed, won=False,
                         modified_ms=same),
        hubspot.add_deal(companies=[companies[3]], created=opened, modified_ms=same),
        hubspot.add_deal(companies=[], created=opened, modified_ms=same),
    ]  # fmt: skip

    first = await sync(runtime, client)

    assert first.records_read == 5 and first.deals_read == 5
    assert first.outcomes == 6  # 4 opened, 1 won, 1 lost
    assert first.deals_skipped == [(deals[4], "no company is associated with it")]
    async with runtime.db.transaction() as conn:
        stored = (
            await conn.execute(
                select(events.c.event, events.c.occurred_at, events.c.properties).where(
                    events.c.kind == "track"
                )
            )
        ).all()
    outcomes = sorted((e.event, e.properties.get("opportunity_id")) for e in stored
                      if e.properties.get("source") == "hubspot sync")  # fmt: skip
    assert outcomes == sorted(
        [
            ("Opportunity Created", deals[0]),
            ("Opportunity Created", deals[1]),
            ("Deal Won", deals[1]),
            ("Opportunity Created", deals[2]),
            ("Deal Lost", deals[2]),
            ("Opportunity Created", deals[3]),
        ]
    )
    won = next(e for e in stored if e.event == "Deal Won")
    assert won.occurred_at == closed and won.properties["amount"] == 1200.5

    # Read again from the start (a lost cursor) and incrementally: nothing is added twice.
    again = await sync(runtime, client)
    assert again.outcomes == 0
    hubspot.close_deal(deals[0], at=NOW - timedelta(hours=1), won=True)
    third = await sync(runtime, client)
    assert third.outcomes == 1  # the win; its opening is stored already
    from tipoff.store.tables import crm_cursors

    async with runtime.db.transaction() as conn:
        await conn.execute(crm_cursors.delete())
    fourth = await sync(runtime, client)
    assert fourth.deals_read == 5 and fourth.outcomes == 0


async def test_crm_owners_become_account_owners(
    runtime: Runtime, hubspot: FakeHubSpotApi, client: HubSpotClient
) -> None:
    ids = await scored(runtime, "acme.io", "globex.com")
    hubspot.owners["77"] = "Maya@Example.com"
    hubspot.add_company(domain="acme.io", owner_id="77")
    hubspot.add_company(domain="globex.com", owner_id="78")  # an owner HubSpot no longer has

    report = await sync(runtime, client)

    assert report.owners == [("acme.io", "maya@example.com")]
    async with runtime.db.transaction() as conn:
        owner = await owner_of(conn, ids["acme.io"])
        nobody = await owner_of(conn, ids["globex.com"])
    assert owner is not None and (owner.email, owner.via) == ("maya@example.com", "trait")
    assert nobody is None
    # Read again: the owner is already set, so nothing is sent again.
    hubspot.add_company(domain="other.com")
    assert (await sync(runtime, client)).owners == []


async def test_an_owner_removed_in_the_crm_is_no_longer_the_accounts_owner(
    runtime: Runtime, hubspot: FakeHubSpotApi, client: HubSpotClient
) -> None:
    ids = await scored(runtime, "acme.io", "globex.com")
    hubspot.owners.update({"77": "maya@example.com", "78": "raj@example.com"})
    acme = hubspot.add_company(domain="acme.io", owner_id="77")
    globex = hubspot.add_company(domain="globex.com", owner_id="78")
    await sync(runtime, client)

    # Acme's owner is removed in HubSpot; Globex's too, but someone set another owner
    # for Globex since (a Segment `group` call), and that one is not the CRM's to clear.
    await group_call(runtime, "globex.com", {"owner_email": "lee@example.com"})
    for company in (acme, globex):
        hubspot.companies[company]["hubspot_owner_id"] = None
        hubspot.touch(company)

    report = await sync(runtime, client)

    assert report.owners_cleared == ["acme.io"] and report.owners == []
    async with runtime.db.transaction() as conn:
        assert await owner_of(conn, ids["acme.io"]) is None
        kept = await owner_of(conn, ids["globex.com"])
    assert kept is not None and kept.email == "lee@example.com"
    assert (await sync(runtime, client)).owners_cleared == []  # once


async def test_a_deal_whose_company_arrives_after_it_becomes_an_outcome_when_it_does(
    runtime: Runtime, hubspot: FakeHubSpotApi, client: HubSpotClient
) -> None:
    await scored(runtime, "acme.io", "globex.com")
    # The company is created after the run read the companies and before it read the
    # deals: the deal names a company this run has not read.
    deal = hubspot.add_deal(companies=["9001"], created=NOW - timedelta(days=2))
    bare = hubspot.add_company(name="Globex, no domain yet")
    on_bare = hubspot.add_deal(companies=[bare], created=NOW - timedelta(days=3))

    first = await sync(runtime, client)

    assert first.outcomes == 0 and first.deals_waiting == 2
    assert sorted(first.deals_skipped) == sorted([
        (deal, "its company has not been read yet (kept until it is)"),
        (on_bare, "its company has no domain or website (kept until it has)"),
    ])  # fmt: skip
    said = "Waiting for their hubspot account to be placed (tried again every run): 2 deals."
    assert said in sync_lines(first)
    run = await last_sync(runtime)
    assert run is not None and said in status_lines(run)
    # Neither deal changes again; their companies arrive.
    hubspot.add_company(domain="acme.io", company_id="9001")
    hubspot.companies[bare]["domain"] = "globex.com"
    hubspot.touch(bare)

    second = await sync(runtime, client)

    assert second.deals_read == 0 and second.outcomes == 2 and second.deals_waiting == 0
    async with runtime.db.transaction() as conn:
        stored = (await conn.execute(select(events.c.event, events.c.properties))).all()
    assert sorted(
        e.properties["opportunity_id"] for e in stored if e.event == "Opportunity Created"
    ) == sorted([deal, on_bare])
    assert (await sync(runtime, client)).outcomes == 0


async def test_rate_limits_are_waited_out(
    runtime: Runtime, hubspot: FakeHubSpotApi, client: HubSpotClient
) -> None:
    await scored(runtime, "acme.io")
    acme = hubspot.add_company(domain="acme.io")
    hubspot.fail_next("/search", status=429)  # the search API's own: no Retry-After
    hubspot.fail_next("/batch/update", status=429, retry_after=1)

    report = await sync(runtime, client)

    assert report.written == ["acme.io"] and hubspot.companies[acme]["tipoff_track"] == "hot"
    assert len(hubspot.calls_to("/batch/update")) == 2


@pytest.mark.parametrize("retry_after", ["86400", "inf"])
async def test_a_retry_after_longer_than_a_run_waits_stops_the_run_instead(
    runtime: Runtime, hubspot: FakeHubSpotApi, client: HubSpotClient, retry_after: str
) -> None:
    await scored(runtime, "acme.io")
    acme = hubspot.add_company(domain="acme.io")
    hubspot.fail_next("/batch/update", status=429, retry_after=retry_after)

    # Waiting it out would hold serve's sync job for a day, or for ever.
    stopped = await asyncio.wait_for(sync_crm(runtime, client), timeout=30)

    if retry_after == "86400":
        assert stopped.stopped is not None and "asked to wait 86400 s" in stopped.stopped
        assert "goes on from where it stopped on its next run" in stopped.stopped
        assert "tipoff_score" not in hubspot.companies[acme]
        assert (await sync(runtime, client)).written == ["acme.io"]
    else:  # no finite delay: read as none given, so retried after HubSpot's window
        assert stopped.stopped is None and stopped.written == ["acme.io"]


async def test_the_daily_limit_stops_the_run_and_the_next_run_goes_on(
    runtime: Runtime, hubspot: FakeHubSpotApi, client: HubSpotClient
) -> None:
    await scored(runtime, "acme.io")
    acme = hubspot.add_company(domain="acme.io")
    hubspot.fail_next("/batch/update", status=429, policy="DAILY")

    stopped = await sync_crm(runtime, client)

    assert stopped.stopped is not None and "daily API limit" in stopped.stopped
    assert len(hubspot.calls_to("/batch/update")) == 1  # not retried
    run = await last_sync(runtime)
    assert run is not None and run.stopped == stopped.stopped and run.written == 0
    assert "tipoff_score" not in hubspot.companies[acme]

    assert (await sync(runtime, client)).written == ["acme.io"]


async def test_a_refused_record_leaves_the_others_written_and_is_retried(
    runtime: Runtime, hubspot: FakeHubSpotApi, client: HubSpotClient
) -> None:
    domains = ("acme.io", "b.com", "c.com", "d.com")
    await scored(runtime, *domains)
    ids = {d: hubspot.add_company(domain=d) for d in domains}
    await sync(runtime, client)  # the records are known: now one is deleted, one invalid
    async with runtime.db.transaction() as conn:
        await conn.execute(crm_writes.delete())  # every account due again
    del hubspot.companies[ids["b.com"]]
    hubspot.invalid.add(ids["c.com"])

    report = await sync(runtime, client)

    assert sorted(report.written) == ["acme.io", "d.com"]
    refused = {label: why for label, _, why in report.refused}
    assert set(refused) == {"b.com", "c.com"}
    assert "OBJECT_NOT_FOUND" in refused["b.com"] and "INVALID_OPTION" in refused["c.com"]

    # Next run: only the two refused are due again; the fixed one is written.
    hubspot.invalid.clear()
    updates = len(hubspot.updates())
    retried = await sync(runtime, client)
    [batch] = hubspot.updates()[updates:]
    assert sorted(i["id"] for i in batch) == sorted([ids["b.com"], ids["c.com"]])
    assert retried.written == ["c.com"] and [r[0] for r in retried.refused] == ["b.com"]


async def test_a_dry_run_writes_nothing_anywhere(
    runtime: Runtime, hubspot: FakeHubSpotApi, client: HubSpotClient
) -> None:
    await scored(runtime, "acme.io")
    acme = hubspot.add_company(domain="acme.io", owner_id="77")
    hubspot.owners["77"] = "maya@example.com"
    hubspot.add_deal(companies=[acme], created=NOW - timedelta(days=2))
    before = await count(runtime, events)

    report = await sync(runtime, client, dry_run=True)

    assert report.written == ["acme.io"] and report.outcomes == 1
    assert report.owners == [("acme.io", "maya@example.com")]
    assert len(report.created) == 5
    assert [c for c in hubspot.calls if c.method == "POST" and "/search" not in c.path
            and "/associations/" not in c.path] == []  # fmt: skip
    assert await count(runtime, events) == before
    assert await count(runtime, crm_runs) == 0
    assert (await sync(runtime, client)).written == ["acme.io"]


async def test_an_erased_person_leaves_the_crm_record_at_the_next_sync(
    runtime: Runtime, hubspot: FakeHubSpotApi, client: HubSpotClient
) -> None:
    from tipoff.privacy import forget

    await scored(runtime, "acme.io")
    acme = hubspot.add_company(domain="acme.io")
    await sync(runtime, client)
    assert "Dana Lee" in hubspot.companies[acme]["tipoff_evidence"]

    await forget(runtime, email="dana@acme.io", requested_by="test")
    async with runtime.db.transaction() as conn:
        kept = (await conn.execute(select(crm_writes.c.evidence))).scalar_one()
    assert "Dana" not in kept and "Lee" not in kept  # what was written, scrubbed too
    await rescore(runtime)
    report = await sync(runtime, client)

    assert report.written == ["acme.io"]
    assert "Dana" not in hubspot.companies[acme]["tipoff_evidence"]
