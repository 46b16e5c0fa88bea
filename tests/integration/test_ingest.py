"""The Segment-compatible ingest API, served by the real app over HTTP, into a real SQLite
file: with httpx, and with the official Segment Python client unchanged."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from rudderstack.analytics.client import Client as RudderStackClient
from segment.analytics.client import Client
from segment.analytics.request import APIError
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.engine import Row

from tests.conftest import NOW
from tests.integration.conftest import IngestServer
from tipoff.runtime import Runtime
from tipoff.scores.lookup import lookup
from tipoff.sources import NewSource, create_source, revoke_source
from tipoff.store.db import Database
from tipoff.store.tables import accounts, events, identities, metadata, people

# ------------------------------------------------------------------ helpers


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: what "changes nothing" is checked against."""
    async with db.transaction() as conn:
        return {
            table.name: [tuple(row) for row in await conn.execute(select(table))]
            for table in metadata.sorted_tables
        }


async def fetch(db: Database, statement: Any) -> list[Row[Any]]:
    async with db.transaction() as conn:
        return list(await conn.execute(statement))


async def person_of(db: Database, user_id: str, kind: str = "user_id") -> Row[Any]:
    rows = await fetch(
        db,
        select(people)
        .join(identities, identities.c.person_id == people.c.id)
        .where(identities.c.kind == kind, identities.c.external_id == user_id),
    )
    assert len(rows) == 1, f"{kind} {user_id!r} belongs to {len(rows)} people"
    return rows[0]


async def account_by(db: Database, **where: str) -> Row[Any]:
    statement = select(accounts)
    for column, value in where.items():
        statement = statement.where(accounts.c[column] == value)
    rows = await fetch(db, statement)
    assert len(rows) == 1, f"{len(rows)} accounts match {where}"
    return rows[0]


async def events_named(db: Database, name: str) -> list[Row[Any]]:
    return await fetch(db, select(events).where(events.c.event == name).order_by(events.c.id))


async def ok(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}


def segment_client(server: IngestServer, key: str, **options: Any) -> Client:
    return Client(key, host=server.url, **options)


# ------------------------------------------------------------------ the calls


async def test_a_track_call_is_stored_as_a_signal(
    ingest_client: httpx.AsyncClient, ingest_source: NewSource, database: Database
) -> None:
    response = await ingest_client.post(
        "/v1/track",
        json={
            "userId": "u-1",
            "event": "Integration Connected",
            "properties": {"integration": "salesforce"},
            "messageId": "m-1",
            "timestamp": "2026-11-18T09:30:00Z",
            "somethingTipoffDoesNotKnow": {"kept": False},
        },
    )
    await ok(response)

    [row] = await events_named(database, "Integration Connected")
    dana = await person_of(database, "u-1")
    assert (row.kind, row.message_id, row.source_id) == ("track", "m-1", ingest_source.source.id)
    assert row.person_id == dana.id
    assert row.account_id is None  # nobody has said where u-1 works yet
    assert row.properties == {"integration": "salesforce"}
    assert row.occurred_at == datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
    assert row.received_at == NOW


async def test_the_write_key_may_come_in_the_body(
    ingest_server: IngestServer, ingest_source: NewSource, database: Database
) -> None:
    async with httpx.AsyncClient(base_url=ingest_server.url) as client:
        await ok(
            await client.post(
                "/v1/track",
                json={"writeKey": ingest_source.write_key, "anonymousId": "a-1", "event": "X"},
            )
        )
    assert len(await events_named(database, "X")) == 1


async def test_pages_and_screens_become_named_signals(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    items = [
        {"type": "page", "anonymousId": "a-1", "name": "Pricing", "properties": {"url": "/p"}},
        {"type": "page", "anonymousId": "a-1"},
        {"type": "screen", "anonymousId": "a-1", "name": "Onboarding"},
        {"type": "screen", "anonymousId": "a-1", "name": ""},
    ]
    await ok(await ingest_client.post("/v1/batch", json={"batch": items}))
    await ok(await ingest_client.post("/v1/page", json={"userId": "u", "name": "Security"}))
    await ok(await ingest_client.post("/v1/screen", json={"userId": "u", "name": "Billing"}))

    stored = await fetch(database, select(events.c.kind, events.c.event).order_by(events.c.id))
    assert [tuple(r) for r in stored] == [
        ("page", "Pricing Page Viewed"),
        ("page", "Page Viewed"),
        ("screen", "Onboarding Screen Viewed"),
        ("screen", "Screen Viewed"),
        ("page", "Security Page Viewed"),
        ("screen", "Billing Screen Viewed"),
    ]
    [pricing] = await events_named(database, "Pricing Page Viewed")
    assert pricing.properties == {"url": "/p"}


async def test_the_official_segment_client_in_sync_mode(
    ingest_server: IngestServer, ingest_source: NewSource, database: Database
) -> None:
    def send() -> None:
        client = segment_client(ingest_server, ingest_source.write_key, sync_mode=True)
        client.identify(
            "u-42",
            {"email": "Maya@Acme.io", "firstName": "Maya", "lastName": "Chen", "title": "VP Eng"},
        )
        client.group(
            "u-42",
            "grp-acme",
            {
                "name": "Acme Corp",
                "website": "https://www.acme.io/about",
                "employees": "250",
                "industry": "Software",
                "plan": "trial",
            },
        )
        client.track("u-42", "Demo Requested", {"source": "pricing"})
        client.page("u-42", category="Docs", name="Pricing")
        client.screen("u-42", name="Dashboard")
        client.alias("anon-1", "u-42")

    await asyncio.to_thread(send)

    maya = await person_of(database, "u-42")
    assert (maya.email, maya.name, maya.title) == ("maya@acme.io", "Maya Chen", "VP Eng")
    assert maya.traits["firstName"] == "Maya"
    assert (await person_of(database, "anon-1", "anonymous_id")).id == maya.id

    # identify made the acme.io account from the email; group adopted it (no duplicate).
    acme = await account_by(database, group_id="grp-acme")
    assert len(await fetch(database, select(accounts))) == 1
    assert (acme.domain, acme.name, acme.employees, acme.industry) == (
        "acme.io",
        "Acme Corp",
        250,
        "Software",
    )
    assert acme.traits["plan"] == "trial"
    assert (maya.account_id, maya.account_via) == (acme.id, "group")

    stored = await fetch(database, select(events).order_by(events.c.id))
    assert [(e.kind, e.event) for e in stored] == [
        ("identify", None),
        ("group", None),
        ("track", "Demo Requested"),
        ("page", "Pricing Page Viewed"),
        ("screen", "Dashboard Screen Viewed"),
        ("alias", None),
    ]
    assert {(e.person_id, e.account_id) for e in stored} == {(maya.id, acme.id)}
    # The client stamps timestamp and sentAt from one clock: no skew, so "now".
    assert all(abs(e.occurred_at - NOW) < timedelta(seconds=5) for e in stored)


async def test_the_official_segment_client_batching_with_gzip(
    ingest_server: IngestServer, ingest_source: NewSource, database: Database
) -> None:
    failures: list[Exception] = []

    def send() -> None:
        client = segment_client(
            ingest_server,
            ingest_source.write_key,
            gzip=True,
            upload_interval=0.05,
            on_error=lambda error, _batch: failures.append(error),
        )
        client.identify("u-1", {"email": "ana@globex.com"})
        for n in range(120):
            client.track(f"u-{n % 3}", "Session Started", {"n": n})
        client.flush()
        client.join()

    await asyncio.to_thread(send)

    assert failures == []
    sessions = await events_named(database, "Session Started")
    assert sorted(e.properties["n"] for e in sessions) == list(range(120))
    globex = await account_by(database, domain="globex.com")
    ana = await person_of(database, "u-1")
    assert {e.account_id for e in sessions if e.person_id == ana.id} == {globex.id}


async def test_the_official_rudderstack_client_whose_traits_travel_in_context(
    ingest_server: IngestServer, ingest_source: NewSource, database: Database, runtime: Runtime
) -> None:
    # RudderStack's Python client sends identify traits only in `context.traits` (and
    # gzips every batch); a track call may carry the user's traits there too.
    def send() -> None:
        client = RudderStackClient(ingest_source.write_key, host=ingest_server.url, sync_mode=True)
        client.identify(
            "u-7",
            {
                "email": "ines.roy@acme.io",
                "firstName": "Inés",
                "lastName": "Roy",
                "title": "VP Engineering",
            },
        )
        client.group("u-7", "grp-acme", {"name": "Acme Corp", "domain": "acme.io"})
        client.track("u-7", "Demo Requested")
        client.track(
            "u-8",
            "Core Action Completed",
            context={"traits": {"email": "sam@acme.io", "name": "Sam Ortiz", "title": "Engineer"}},
        )

    await asyncio.to_thread(send)

    ines = await person_of(database, "u-7")
    assert (ines.email, ines.name, ines.title) == ("ines.roy@acme.io", "Inés Roy", "VP Engineering")
    sam = await person_of(database, "u-8")
    assert (sam.email, sam.name, sam.title) == ("sam@acme.io", "Sam Ortiz", "Engineer")
    acme = await account_by(database, domain="acme.io")
    assert sam.account_id == ines.account_id == acme.id

    found = await lookup(runtime, "acme.io")
    assert found.result is not None
    texts = [e.text for e in found.result.evidence]
    assert texts == [
        "Inés Roy (VP Engineering) requested a demo just now",
        "Sam Ortiz (Engineer) completed a core action just now",
        "Inés Roy (VP Engineering) holds a decision-making title",
    ]
    assert found.result.dimensions.fit > 0  # the VP's title counts towards fit


async def test_top_level_identify_traits_win_over_context_traits(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    await ok(
        await ingest_client.post(
            "/v1/identify",
            json={
                "userId": "u-1",
                "traits": {"title": "CTO"},
                "context": {"traits": {"email": "dana@acme.io", "title": "Engineer"}},
            },
        )
    )
    dana = await person_of(database, "u-1")
    assert (dana.email, dana.title) == ("dana@acme.io", "CTO")


async def test_names_and_titles_are_cut_to_255_characters_wherever_stored(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    # Cut, not refused: a long job title is no reason to refuse the signals beside it.
    long = {"name": "N" * 4000, "title": "T" * 4000, "industry": "I" * 4000}
    await ok(
        await ingest_client.post(
            "/v1/batch",
            json={
                "batch": [
                    {
                        "type": "identify",
                        "userId": "u-1",
                        "traits": {"email": "dana@acme.io", **long, "lastName": "L" * 900},
                    },
                    {"type": "group", "userId": "u-1", "groupId": "g-1", "traits": long},
                    {"type": "track", "userId": "u-1", "event": "Demo Requested"},
                ]
            },
        )
    )
    dana = await person_of(database, "u-1")
    account = await account_by(database, group_id="g-1")
    assert (dana.name, dana.title) == ("N" * 255, "T" * 255)
    assert (account.name, account.industry) == ("N" * 255, "I" * 255)
    assert dana.traits == {
        "email": "dana@acme.io",
        "name": "N" * 255,
        "title": "T" * 255,
        "industry": "I" * 4000,  # not a person's name or title: kept as sent
        "lastName": "L" * 255,
    }
    assert {k: len(v) for k, v in account.traits.items()} == {
        "name": 255,
        "title": 4000,  # a group has no title: kept as sent
        "industry": 255,
    }
    assert len(await events_named(database, "Demo Requested")) == 1


@pytest.mark.parametrize(
    ("context", "error"),
    [
        ({"traits": "dana@acme.io"}, "context.traits must be an object, got a string"),
        ({"traits": {"email": 42}}, "context.traits.email"),
    ],
)
async def test_unreadable_context_traits_are_refused_and_nothing_is_stored(
    ingest_client: httpx.AsyncClient, database: Database, context: dict[str, Any], error: str
) -> None:
    before = await snapshot(database)
    response = await ingest_client.post(
        "/v1/track", json={"userId": "u-1", "event": "Signed Up", "context": context}
    )
    assert response.status_code == 400
    assert error in response.json()["message"]
    assert await snapshot(database) == before


async def test_someone_known_only_by_user_id_is_named_by_it_in_evidence(
    ingest_client: httpx.AsyncClient, database: Database, runtime: Runtime
) -> None:
    await ok(
        await ingest_client.post(
            "/v1/batch",
            json={
                "batch": [
                    {
                        "type": "group",
                        "userId": "u-4711",
                        "groupId": "g",
                        "traits": {"domain": "acme.io"},
                    },
                    {"type": "track", "userId": "u-4711", "event": "Demo Requested"},
                ]
            },
        )
    )
    found = await lookup(runtime, "acme.io")
    assert found.result is not None
    assert any(e.text.startswith("User u-4711 requested a demo") for e in found.result.evidence)


async def test_the_segment_client_sees_a_rejected_key_as_an_api_error(
    ingest_server: IngestServer, database: Database
) -> None:
    before = await snapshot(database)

    def send() -> None:
        client = segment_client(ingest_server, "not-a-key", sync_mode=True)
        client.track("u-1", "Session Started")

    with pytest.raises(APIError) as raised:
        await asyncio.to_thread(send)
    assert (raised.value.status, raised.value.code) == (401, "unauthorized")
    assert raised.value.message == "unknown write key"
    assert await snapshot(database) == before


# ------------------------------------------------------------------ auth


def basic(key: str, password: str = "") -> dict[str, str]:
    token = base64.b64encode(f"{key}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.mark.parametrize(
    ("headers", "body_key", "message"),
    [
        ({}, None, "a write key is required"),
        (basic("unknown-key"), None, "unknown write key"),
        ({}, "unknown-key", "unknown write key"),
        ({"Authorization": "Bearer abc"}, None, "unsupported Authorization scheme 'Bearer'"),
        ({"Authorization": "Basic %%%"}, None, "malformed HTTP Basic credentials"),
        (basic(""), None, "a write key is required"),
    ],
    ids=["none", "unknown-basic", "unknown-body", "bearer", "malformed", "empty-user"],
)
async def test_requests_without_a_valid_key_are_refused(
    ingest_server: IngestServer,
    ingest_source: NewSource,
    database: Database,
    headers: dict[str, str],
    body_key: str | None,
    message: str,
) -> None:
    before = await snapshot(database)
    body: dict[str, Any] = {"userId": "u-1", "event": "Demo Requested"}
    if body_key is not None:
        body["writeKey"] = body_key
    async with httpx.AsyncClient(base_url=ingest_server.url) as client:
        response = await client.post("/v1/track", json=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert message in response.json()["message"]
    assert await snapshot(database) == before


@pytest.mark.parametrize(
    "body",
    [b'{"userId": "u", "event": ', b"[" * 20_000, b'{"userId": "\xff"}', b"[1, 2]"],
    ids=["cut-short", "deep", "not-utf8", "array"],
)
@pytest.mark.parametrize(
    ("headers", "message"),
    [({}, "a write key is required"), (basic("unknown-key"), "unknown write key")],
    ids=["no-key", "unknown-key"],
)
async def test_the_write_key_is_checked_before_the_body_is_parsed(
    ingest_server: IngestServer,
    ingest_source: NewSource,
    headers: dict[str, str],
    message: str,
    body: bytes,
) -> None:
    async with httpx.AsyncClient(base_url=ingest_server.url, timeout=30) as client:
        for path in ("/v1/track", "/v1/batch"):
            response = await client.post(path, content=body, headers=headers)
            assert response.status_code == 401, response.text
            assert response.json()["code"] == "unauthorized"
            assert message in response.json()["message"]


async def test_a_revoked_key_is_refused(
    ingest_client: httpx.AsyncClient, ingest_source: NewSource, database: Database
) -> None:
    await ok(await ingest_client.post("/v1/track", json={"userId": "u", "event": "A"}))
    async with database.transaction() as conn:
        await revoke_source(conn=conn, name="web", now=NOW)
    before = await snapshot(database)

    response = await ingest_client.post("/v1/track", json={"userId": "u", "event": "B"})

    assert response.status_code == 401
    assert response.json() == {
        "code": "unauthorized",
        "message": "the write key of source 'web' has been revoked",
    }
    assert await snapshot(database) == before


# ------------------------------------------------------------------ time


async def test_client_clock_skew_is_corrected_with_sent_at(
    ingest_server: IngestServer, ingest_client: httpx.AsyncClient, database: Database
) -> None:
    # This client's clock runs an hour and a quarter behind the server's.
    skew = timedelta(hours=1, minutes=15)
    client_now = NOW - skew
    items = [
        # Made 10 minutes before sending, with its own sentAt.
        {
            "type": "track",
            "userId": "u",
            "event": "own sentAt",
            "timestamp": iso(client_now - timedelta(minutes=10)),
            "sentAt": iso(client_now),
        },
        # No sentAt of its own: the batch's applies.
        {
            "type": "track",
            "userId": "u",
            "event": "batch sentAt",
            "timestamp": iso(client_now - timedelta(minutes=5)),
        },
        {"type": "track", "userId": "u", "event": "no timestamp"},
        # A timestamp after sentAt would put the event in the future: clamped.
        {
            "type": "track",
            "userId": "u",
            "event": "future",
            "timestamp": iso(client_now + timedelta(hours=2)),
        },
        # Without an offset, a timestamp is UTC.
        {
            "type": "track",
            "userId": "u",
            "event": "naive",
            "timestamp": (client_now - timedelta(minutes=1)).replace(tzinfo=None).isoformat(),
        },
    ]
    await ok(
        await ingest_client.post("/v1/batch", json={"batch": items, "sentAt": iso(client_now)})
    )
    # A back-filled signal without sentAt keeps its timestamp; one in the future is clamped.
    await ok(
        await ingest_client.post(
            "/v1/track",
            json={"userId": "u", "event": "history", "timestamp": "2026-03-01T08:00:00+02:00"},
        )
    )
    await ok(
        await ingest_client.post(
            "/v1/track",
            json={"userId": "u", "event": "tomorrow", "timestamp": iso(NOW + timedelta(days=1))},
        )
    )

    occurred = {
        row.event: row.occurred_at
        for row in await fetch(database, select(events.c.event, events.c.occurred_at))
    }
    assert occurred == {
        "own sentAt": NOW - timedelta(minutes=10),
        "batch sentAt": NOW - timedelta(minutes=5),
        "no timestamp": NOW,
        "future": NOW,
        "naive": NOW - timedelta(minutes=1),
        "history": datetime(2026, 3, 1, 6, 0, tzinfo=UTC),
        "tomorrow": NOW,
    }


# ------------------------------------------------------------------ de-duplication


async def test_a_retried_batch_changes_nothing(
    ingest_server: IngestServer,
    ingest_client: httpx.AsyncClient,
    database: Database,
) -> None:
    batch = {
        "batch": [
            {
                "type": "identify",
                "userId": "u-1",
                "messageId": "m-1",
                "traits": {"email": "a@acme.io"},
            },
            {"type": "track", "userId": "u-1", "messageId": "m-2", "event": "Signed Up"},
            {"type": "track", "userId": "u-1", "messageId": "m-2", "event": "Signed Up"},
            {"type": "track", "userId": "u-1", "messageId": "m-3", "event": "Invited"},
        ]
    }
    await ok(await ingest_client.post("/v1/batch", json=batch))
    after_first = await snapshot(database)
    assert len(after_first["events"]) == 3  # m-2 twice in one batch is stored once

    ingest_server.clock.now = NOW + timedelta(minutes=1)  # a retry arrives later
    await ok(await ingest_client.post("/v1/batch", json=batch))
    await ok(
        await ingest_client.post(
            "/v1/track", json={"userId": "u-9", "messageId": "m-3", "event": "Other"}
        )
    )

    assert await snapshot(database) == after_first  # signal_version included


async def test_message_ids_are_per_source_and_generated_when_missing(
    ingest_client: httpx.AsyncClient,
    ingest_server: IngestServer,
    ingest_source: NewSource,
    database: Database,
) -> None:
    async with database.transaction() as conn:
        crm = await create_source(conn=conn, name="crm", category="outcome", now=NOW)
    call = {"userId": "u-1", "event": "Deal Won", "messageId": "same"}
    await ok(await ingest_client.post("/v1/track", json=call))
    async with httpx.AsyncClient(base_url=ingest_server.url, auth=(crm.write_key, "")) as other:
        await ok(await other.post("/v1/track", json=call))
    for _ in range(2):
        await ok(await ingest_client.post("/v1/track", json={"userId": "u-1", "event": "Ping"}))

    assert {e.source_id for e in await events_named(database, "Deal Won")} == {
        ingest_source.source.id,
        crm.source.id,
    }
    pings = await events_named(database, "Ping")
    assert len(pings) == 2
    assert pings[0].message_id != pings[1].message_id


# ------------------------------------------------------------------ identity


async def test_people_map_to_the_account_of_their_email_domain(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    batch = [
        {"type": "identify", "userId": "u-1", "traits": {"email": "dana@acme.io", "title": "CTO"}},
        {"type": "identify", "userId": "u-2", "traits": {"email": "sam@ACME.io"}},
        {"type": "identify", "userId": "u-3", "traits": {"email": "joe@gmail.com"}},
        {"type": "identify", "userId": "u-4", "traits": {"email": "not an email"}},
    ]
    await ok(await ingest_client.post("/v1/batch", json={"batch": batch}))

    acme = await account_by(database, domain="acme.io")
    assert len(await fetch(database, select(accounts))) == 1  # gmail.com is no company
    for user in ("u-1", "u-2"):
        person = await person_of(database, user)
        assert (person.account_id, person.account_via) == (acme.id, "domain")
    joe = await person_of(database, "u-3")
    assert (joe.email, joe.account_id) == ("joe@gmail.com", None)
    nobody = await person_of(database, "u-4")
    assert (nobody.email, nobody.account_id) == (None, None)
    assert nobody.traits == {"email": "not an email"}  # kept, just not used


async def test_a_gmail_user_joins_an_account_only_through_a_group(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    await ok(
        await ingest_client.post(
            "/v1/identify", json={"userId": "u-1", "traits": {"email": "joe@gmail.com"}}
        )
    )
    await ok(
        await ingest_client.post(
            "/v1/group",
            json={"userId": "u-1", "groupId": "ws-9", "traits": {"domain": "gmail.com"}},
        )
    )
    workspace = await account_by(database, group_id="ws-9")
    assert workspace.domain is None  # a mailbox provider never keys an account
    joe = await person_of(database, "u-1")
    assert (joe.account_id, joe.account_via) == (workspace.id, "group")


async def test_group_outranks_the_email_domain(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    await ok(
        await ingest_client.post(
            "/v1/group",
            json={
                "userId": "u-1",
                "groupId": "g-1",
                "traits": {"name": "Initech", "domain": "initech.com", "employees": 80},
            },
        )
    )
    # Dana's email is at a different domain: the group placement stands.
    await ok(
        await ingest_client.post(
            "/v1/identify", json={"userId": "u-1", "traits": {"email": "dana@consultants.io"}}
        )
    )
    # Someone else at the group's domain joins the group's account through their email.
    await ok(
        await ingest_client.post(
            "/v1/identify", json={"userId": "u-2", "traits": {"email": "sam@initech.com"}}
        )
    )

    initech = await account_by(database, group_id="g-1")
    assert (initech.domain, initech.name, initech.employees) == ("initech.com", "Initech", 80)
    assert len(await fetch(database, select(accounts))) == 1
    dana, sam = await person_of(database, "u-1"), await person_of(database, "u-2")
    assert (dana.account_id, dana.account_via) == (initech.id, "group")
    assert (sam.account_id, sam.account_via) == (initech.id, "domain")


async def test_a_group_adopts_the_account_of_its_domain(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    await ok(
        await ingest_client.post(
            "/v1/identify", json={"userId": "u-1", "traits": {"email": "dana@acme.io"}}
        )
    )
    await ok(await ingest_client.post("/v1/track", json={"userId": "u-1", "event": "Signed Up"}))
    acme = await account_by(database, domain="acme.io")

    await ok(
        await ingest_client.post(
            "/v1/group",
            json={"userId": "u-2", "groupId": "acme-ws", "traits": {"website": "http://acme.io"}},
        )
    )

    adopted = await account_by(database, group_id="acme-ws")
    assert adopted.id == acme.id
    assert len(await fetch(database, select(accounts))) == 1


async def test_one_email_is_one_person(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    await ok(
        await ingest_client.post(
            "/v1/identify",
            json={"userId": "u-1", "traits": {"email": "Dana@Acme.io", "name": "Dana Lee"}},
        )
    )
    # A second id (another source, another app) first shows up with a signal of its own …
    await ok(await ingest_client.post("/v1/track", json={"userId": "crm-77", "event": "Demo"}))
    # … then says who it is: the same address, so the same person.
    await ok(
        await ingest_client.post(
            "/v1/identify",
            json={"userId": "crm-77", "traits": {"email": "dana@acme.io", "title": "CTO"}},
        )
    )

    dana = await person_of(database, "u-1")
    assert (await person_of(database, "crm-77")).id == dana.id
    assert len(await fetch(database, select(people))) == 1
    assert (dana.name, dana.title) == ("Dana Lee", "CTO")
    [demo] = await events_named(database, "Demo")
    acme = await account_by(database, domain="acme.io")
    assert (demo.person_id, demo.account_id) == (dana.id, acme.id)


async def test_alias_merges_two_people(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    batch = [
        {"type": "page", "anonymousId": "anon-7", "name": "Pricing"},
        {"type": "identify", "anonymousId": "anon-7", "traits": {"utm_source": "ads"}},
        {"type": "identify", "userId": "u-7", "traits": {"email": "li@hooli.com", "title": "VP"}},
        {"type": "track", "userId": "u-7", "event": "Report Created"},
    ]
    await ok(await ingest_client.post("/v1/batch", json={"batch": batch}))
    visitor = await person_of(database, "anon-7", "anonymous_id")
    assert len(await fetch(database, select(people))) == 2

    await ok(await ingest_client.post("/v1/alias", json={"previousId": "anon-7", "userId": "u-7"}))

    li = await person_of(database, "u-7")
    assert (await person_of(database, "anon-7", "anonymous_id")).id == li.id
    assert [p.id for p in await fetch(database, select(people))] == [li.id]
    assert visitor.id != li.id
    assert li.traits == {"utm_source": "ads", "email": "li@hooli.com", "title": "VP"}
    hooli = await account_by(database, domain="hooli.com")
    # The visitor's page view is Li's now, and counts for Li's account.
    stored = await fetch(database, select(events))
    assert {(e.person_id, e.account_id) for e in stored} == {(li.id, hooli.id)}


async def test_alias_links_ids_when_only_one_side_is_known(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    await ok(await ingest_client.post("/v1/page", json={"anonymousId": "anon-1", "name": "Docs"}))
    await ok(await ingest_client.post("/v1/alias", json={"previousId": "anon-1", "userId": "u-1"}))
    await ok(await ingest_client.post("/v1/alias", json={"previousId": "anon-2", "userId": "u-1"}))
    await ok(await ingest_client.post("/v1/alias", json={"previousId": "anon-3", "userId": "u-3"}))

    person = await person_of(database, "u-1")
    for anonymous in ("anon-1", "anon-2"):
        assert (await person_of(database, anonymous, "anonymous_id")).id == person.id
    assert (await person_of(database, "anon-3", "anonymous_id")).id == (
        await person_of(database, "u-3")
    ).id
    assert len(await fetch(database, select(people))) == 2


async def test_earlier_anonymous_events_follow_the_person_to_their_account(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    for name in ("Pricing", "Security"):
        await ok(await ingest_client.post("/v1/page", json={"anonymousId": "a-1", "name": name}))
    assert {e.account_id for e in await fetch(database, select(events))} == {None}

    batch = [
        {"type": "track", "anonymousId": "a-1", "event": "Trial Started"},
        {
            "type": "identify",
            "anonymousId": "a-1",
            "userId": "u-1",
            "traits": {"email": "kim@umbrella.com"},
        },
    ]
    await ok(await ingest_client.post("/v1/batch", json={"batch": batch}))

    umbrella = await account_by(database, domain="umbrella.com")
    kim = await person_of(database, "u-1")
    assert (await person_of(database, "a-1", "anonymous_id")).id == kim.id
    stored = await fetch(database, select(events))
    assert len(stored) == 4
    assert {(e.person_id, e.account_id) for e in stored} == {(kim.id, umbrella.id)}


async def test_context_group_id_attributes_a_signal_to_that_group(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    batch = {
        "batch": [
            {"type": "track", "userId": "u-1", "event": "A"},
            {"type": "track", "userId": "u-1", "event": "B", "context": {"groupId": "ws-2"}},
            {"type": "track", "userId": "u-1", "event": "C", "context": None},
        ],
        "context": {"groupId": "ws-1", "ip": "203.0.113.9"},
    }
    await ok(await ingest_client.post("/v1/batch", json=batch))
    await ok(
        await ingest_client.post(
            "/v1/track", json={"userId": "u-1", "event": "D", "context": {"groupId": 3}}
        )
    )

    ws1 = await account_by(database, group_id="ws-1")
    ws2 = await account_by(database, group_id="ws-2")
    ws3 = await account_by(database, group_id="3")
    attributed = {e.event: e.account_id for e in await fetch(database, select(events))}
    assert attributed == {"A": ws1.id, "B": ws2.id, "C": ws1.id, "D": ws3.id}
    # A signal's context says where it happened; it does not move the person.
    assert (await person_of(database, "u-1")).account_id is None


async def test_changed_accounts_are_marked_for_rescoring_once_per_request(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    async def versions() -> dict[str, int]:
        rows = await fetch(database, select(accounts.c.domain, accounts.c.signal_version))
        return {r.domain: r.signal_version for r in rows}

    setup = [
        {"type": "identify", "userId": "u-1", "traits": {"email": "a@acme.io"}},
        {"type": "identify", "userId": "u-2", "traits": {"email": "b@globex.com"}},
    ]
    await ok(await ingest_client.post("/v1/batch", json={"batch": setup}))
    assert await versions() == {"acme.io": 1, "globex.com": 1}

    twenty = [{"type": "track", "userId": "u-1", "event": "Session Started"}] * 20
    await ok(await ingest_client.post("/v1/batch", json={"batch": twenty}))
    assert await versions() == {"acme.io": 2, "globex.com": 1}

    # A new title changes fit: that account is due too. The same traits again: nothing.
    title = {"userId": "u-2", "traits": {"title": "CFO"}}
    await ok(await ingest_client.post("/v1/identify", json=title))
    await ok(await ingest_client.post("/v1/identify", json=title))
    assert await versions() == {"acme.io": 2, "globex.com": 2}

    # Group traits that change (the group adopts acme.io), then the same ones again.
    group = {"userId": "u-1", "groupId": "g", "traits": {"domain": "acme.io", "employees": 250}}
    await ok(await ingest_client.post("/v1/group", json=group))
    await ok(await ingest_client.post("/v1/group", json=group))
    assert await versions() == {"acme.io": 3, "globex.com": 2}


# ------------------------------------------------------------------ bad input


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9)


def track_json(**extra: Any) -> dict[str, Any]:
    return {"type": "track", "userId": "u-1", "event": "Session Started", **extra}


def nested(levels: int) -> dict[str, Any]:
    """An object `levels` objects deep, itself the first."""
    value: dict[str, Any] = {"leaf": True}
    for _ in range(levels - 1):
        value = {"more": value}
    return value


BIG = "x" * 33_000
TOO_DEEP = "nests objects and arrays more than 32 levels deep (counting this one); at most 32 levels are accepted"
BAD_REQUESTS: list[tuple[str, str, Mapping[str, Any], int, str, str]] = [
    # (id, path, httpx request kwargs, status, code, message fragment)
    ("bad-json", "/v1/track", {"content": b'{"userId": "u", "event": '}, 400, "invalid_json",
     "body is not valid JSON: Expecting value (line 1, column 26)"),
    ("not-utf8", "/v1/track", {"content": b'{"userId": "\xff"}'}, 400, "invalid_json",
     "not UTF-8"),
    ("array-body", "/v1/track", {"json": [1, 2]}, 400, "invalid_json",
     "body must be a JSON object, got an array"),
    ("nan", "/v1/track", {"content": b'{"userId":"u","event":"x","properties":{"v":NaN}}'},
     400, "invalid_json", "NaN is not valid JSON"),
    ("deep", "/v1/track",
     {"content": b'{"userId":"u","event":"x","properties":{"v":' + b"[" * 10_000 + b"]" * 10_000
      + b"}}"}, 400, "invalid_json", "nested too deeply"),
    ("deep-properties", "/v1/track", {"json": track_json(properties=nested(33))}, 400,
     "invalid_payload", f"properties: {TOO_DEEP}"),
    ("deep-page", "/v1/page", {"json": {"userId": "u", "properties": {"v": [nested(32)]}}}, 400,
     "invalid_payload", f"properties: {TOO_DEEP}"),
    ("deep-traits", "/v1/identify", {"json": {"userId": "u", "traits": nested(33)}}, 400,
     "invalid_payload", f"traits: {TOO_DEEP}"),
    ("deep-context-traits", "/v1/track",
     {"json": track_json(context={"traits": {"email": "a@b.io", **nested(33)}})}, 400,
     "invalid_payload", f"context.traits: {TOO_DEEP}"),
    ("deep-group-traits", "/v1/group", {"json": {"userId": "u", "groupId": "g", "traits": nested(33)}},
     400, "invalid_payload", f"traits: {TOO_DEEP}"),
    ("deep-batch-item", "/v1/batch",
     {"json": {"batch": [track_json(), track_json(properties=nested(33))]}}, 400,
     "invalid_payload", f"batch[1].properties: {TOO_DEEP}"),
    ("no-ids", "/v1/track", {"json": {"event": "x"}}, 400, "invalid_payload",
     "userId or anonymousId is required"),
    ("event-type", "/v1/track", {"json": {"userId": "u", "event": 42}}, 400, "invalid_payload",
     "event: input should be a valid string"),
    ("no-event", "/v1/track", {"json": {"userId": "u"}}, 400, "invalid_payload",
     "event: field required"),
    ("properties-type", "/v1/track", {"json": {"userId": "u", "event": "x", "properties": [1]}},
     400, "invalid_payload", "properties: must be a JSON object"),
    ("user-id-type", "/v1/track", {"json": {"userId": {"id": 1}, "event": "x"}}, 400,
     "invalid_payload", "userId: input should be a valid string"),
    ("timestamp", "/v1/track", {"json": {"userId": "u", "event": "x", "timestamp": "yesterday"}},
     400, "invalid_payload", "timestamp: input should be a valid datetime"),
    ("ancient", "/v1/track", {"json": {"userId": "u", "event": "x", "timestamp": "0001-01-01"}},
     400, "invalid_payload", "timestamp: must be between 1970 and 2200"),
    ("surrogate", "/v1/track", {"content": b'{"userId":"u","event":"\\ud800"}'}, 400,
     "invalid_payload", "not valid Unicode"),
    ("nul", "/v1/track", {"json": {"userId": "u", "event": "a\u0000b"}}, 400,
     "invalid_payload", "event: must not contain a NUL character"),
    ("long-id", "/v1/track", {"json": {"userId": "u" * 256, "event": "x"}}, 400,
     "invalid_payload", "userId: string should have at most 255 characters"),
    ("context-group", "/v1/track", {"json": {"userId": "u", "event": "x", "context": {"groupId": []}}},
     400, "invalid_payload", "context.groupId must be a string, got an array"),
    ("email-type", "/v1/identify", {"json": {"userId": "u", "traits": {"email": 7}}}, 400,
     "invalid_payload", "traits.email: input should be a valid string"),
    ("employees", "/v1/group",
     {"json": {"userId": "u", "groupId": "g", "traits": {"employees": "51-200"}}}, 400,
     "invalid_payload", "traits.employees: expected a whole number, got '51-200'"),
    ("no-group-id", "/v1/group", {"json": {"userId": "u"}}, 400, "invalid_payload",
     "groupId: field required"),
    ("alias-no-previous", "/v1/alias", {"json": {"userId": "u"}}, 400, "invalid_payload",
     "previousId: field required"),
    ("alias-no-user", "/v1/alias", {"json": {"previousId": "a", "anonymousId": "a"}}, 400,
     "invalid_payload", "userId: field required"),
    ("batch-missing", "/v1/batch", {"json": {"events": []}}, 400, "invalid_payload",
     "batch: field required"),
    ("batch-type", "/v1/batch", {"json": {"batch": {"type": "track"}}}, 400, "invalid_payload",
     "batch: must be a JSON array"),
    ("batch-context", "/v1/batch", {"json": {"batch": [track_json()], "context": "x"}}, 400,
     "invalid_payload", "context: must be a JSON object"),
    ("batch-sent-at", "/v1/batch", {"json": {"batch": [track_json()], "sentAt": 5.5e20}}, 400,
     "invalid_payload", "sentAt:"),
    ("unknown-type", "/v1/batch",
     {"json": {"batch": [track_json(), {"type": "purchase", "userId": "u"}]}}, 400,
     "invalid_payload", "batch[1].type: unknown type 'purchase'"),
    ("missing-type", "/v1/batch", {"json": {"batch": [{"userId": "u", "event": "x"}]}}, 400,
     "invalid_payload", "batch[0].type: field required"),
    ("item-field", "/v1/batch",
     {"json": {"batch": [track_json(), track_json(), track_json(),
                         {"type": "track", "userId": "u"}]}}, 400,
     "invalid_payload", "batch[3].event: field required"),
    ("item-not-object", "/v1/batch", {"json": {"batch": [track_json(), "track"]}}, 400,
     "invalid_payload", "batch[1]: must be an object, got a string"),
    ("many-problems", "/v1/batch", {"json": {"batch": [{"type": "track"}] * 12}}, 400,
     "invalid_payload", "; and 2 more"),
    ("encoding", "/v1/track",
     {"content": b"{}", "headers": {"Content-Encoding": "br"}}, 400, "unsupported_encoding",
     "unsupported Content-Encoding 'br'"),
    ("bad-gzip", "/v1/batch",
     {"content": b"\x1f\x8b not gzip at all", "headers": {"Content-Encoding": "gzip"}}, 400,
     "invalid_gzip", "body is not valid gzip"),
    ("truncated-gzip", "/v1/batch",
     {"content": gzipped(json.dumps({"batch": [track_json()]}).encode())[:-12],
      "headers": {"Content-Encoding": "gzip"}}, 400, "invalid_gzip", "truncated"),
    ("call-too-large", "/v1/track", {"json": {"userId": "u", "event": "x", "properties": {"b": BIG}}},
     413, "payload_too_large", "a single call is limited to 32 KB (32,768 bytes)"),
    ("item-too-large", "/v1/batch",
     {"json": {"batch": [track_json(), track_json(properties={"b": BIG})]}}, 413,
     "payload_too_large", "batch[1] is 33,079 bytes: one event is limited to 32 KB"),
    ("batch-too-large", "/v1/batch",
     {"json": {"batch": [track_json(properties={"b": "y" * 30_000})] * 18}}, 413,
     "payload_too_large", "a batch is limited to 500 KB (512,000 bytes); this body is 541,451 bytes"),
    ("too-many-events", "/v1/batch", {"json": {"batch": [track_json()] * 2_501}}, 413,
     "payload_too_large", "a batch is limited to 2,500 events; this one has 2,501"),
    ("gzip-bomb-batch", "/v1/batch",
     {"content": gzipped(json.dumps({"batch": [track_json(properties={"p": "z" * 20_000})] * 30})
                         .encode()), "headers": {"Content-Encoding": "gzip"}}, 413,
     "payload_too_large", "a batch is limited to 500 KB (512,000 bytes) uncompressed"),
    ("gzip-bomb-call", "/v1/track",
     {"content": gzipped(json.dumps({"userId": "u", "event": "x", "properties": {"b": BIG}})
                         .encode()), "headers": {"Content-Encoding": "gzip"}}, 413,
     "payload_too_large", "a single call is limited to 32 KB (32,768 bytes) uncompressed"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "request_kwargs", "status", "code", "fragment"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_REQUESTS],
)
async def test_bad_input_is_refused_and_changes_nothing(
    ingest_client: httpx.AsyncClient,
    database: Database,
    path: str,
    request_kwargs: Mapping[str, Any],
    status: int,
    code: str,
    fragment: str,
) -> None:
    # Something to change: a person, an account, a signal.
    await ok(
        await ingest_client.post(
            "/v1/identify", json={"userId": "u-1", "traits": {"email": "dana@acme.io"}}
        )
    )
    before = await snapshot(database)

    response = await ingest_client.post(path, **request_kwargs)

    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["code"] == code
    assert fragment in answer["message"], answer["message"]
    assert await snapshot(database) == before


async def test_properties_and_traits_nested_32_levels_deep_are_stored(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    deepest = nested(32)
    await ok(await ingest_client.post("/v1/identify", json={"userId": "u-1", "traits": deepest}))
    await ok(await ingest_client.post("/v1/track", json=track_json(properties=deepest)))
    (signal,) = await events_named(database, "Session Started")
    assert signal.properties == deepest
    assert (await person_of(database, "u-1")).traits == deepest


# ------------------------------------------------------------------ scale and races


@contextmanager
def sql_statements(server: IngestServer) -> Iterator[list[str]]:
    """Every SQL statement the served app sends while the block runs."""
    statements: list[str] = []
    lock = threading.Lock()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        with lock:
            statements.append(statement)

    engine = server.app.state.runtime.db.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)


async def test_a_full_batch_of_few_people_takes_a_handful_of_statements(
    ingest_server: IngestServer, ingest_client: httpx.AsyncClient, database: Database
) -> None:
    setup = [
        {"type": "identify", "userId": f"u-{n}", "traits": {"email": f"p{n}@acme.io"}}
        for n in range(3)
    ] + [{"type": "group", "userId": "u-0", "groupId": "g-acme", "traits": {"name": "Acme"}}]
    batch = setup + [
        {
            "type": "track" if n % 4 else "page",
            "userId": f"u-{n % 5}",
            "anonymousId": f"a-{n % 5}",
            "event": "Session Started",
            "name": "Pricing",
            "messageId": f"m-{n}",
            "properties": {"n": n},
        }
        for n in range(2_500 - len(setup))
    ]
    with sql_statements(ingest_server) as statements:
        await ok(await ingest_client.post("/v1/batch", json={"batch": batch}))

    # Authentication, de-duplication, a few bulk lookups, a few bulk writes: a number that
    # does not grow with the events (thousands of round trips would).
    assert len(statements) <= 25, "\n".join(statements)
    assert len(await fetch(database, select(events))) == 2_500
    assert len(await fetch(database, select(people))) == 5


async def test_a_full_batch_of_new_visitors_is_written_in_bulk_too(
    ingest_server: IngestServer, ingest_client: httpx.AsyncClient, database: Database
) -> None:
    batch = [
        {"type": "page", "anonymousId": f"visitor-{n}", "name": "Pricing"} for n in range(2_500)
    ]
    with sql_statements(ingest_server) as statements:
        await ok(await ingest_client.post("/v1/batch", json={"batch": batch}))

    assert len(statements) <= 25, "\n".join(statements)
    visitors = await fetch(
        database,
        select(identities.c.external_id, events.c.person_id).join(
            events, events.c.person_id == identities.c.person_id
        ),
    )
    # Each visitor's page view belongs to that visitor's own person.
    assert len({v.person_id for v in visitors}) == 2_500
    assert len(visitors) == 2_500


async def test_gzip_bodies_are_accepted(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    body = json.dumps({"batch": [track_json(messageId=f"m-{n}") for n in range(300)]})
    await ok(
        await ingest_client.post(
            "/v1/batch",
            content=gzipped(body.encode()),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
    )
    call = json.dumps({"userId": "u-2", "event": "Gzipped"}).encode()
    await ok(
        await ingest_client.post(
            "/v1/track", content=gzipped(call), headers={"Content-Encoding": "gzip"}
        )
    )
    assert len(await events_named(database, "Session Started")) == 300
    assert len(await events_named(database, "Gzipped")) == 1


SHAPES: list[Any] = [None, True, 0, -1, 1.5, "", "x", [], ["x"], {}, {"a": 1}, 10**30]
VALID_CALLS: dict[str, dict[str, Any]] = {
    "track": {"userId": "u", "event": "E", "properties": {}, "context": {"groupId": "g"}},
    "identify": {"userId": "u", "traits": {"email": "a@b.io", "name": "A", "title": "T"}},
    "group": {
        "userId": "u",
        "groupId": "g",
        "traits": {"name": "N", "domain": "b.io", "website": "b.io", "employees": 5},
    },
    "alias": {"userId": "u", "previousId": "p"},
    "page": {"anonymousId": "a", "name": "P", "category": "C", "properties": {}},
    "screen": {"anonymousId": "a", "name": "S", "properties": {}},
}


def _mutations() -> list[tuple[str, str, Any, dict[str, Any]]]:
    """Every field Tipoff reads (top level and one level down), set to every JSON shape:
    (kind, the field's dotted path, the shape, the call)."""
    found = []
    common = ["messageId", "anonymousId", "timestamp", "sentAt", "originalTimestamp", "context"]
    for kind, valid in VALID_CALLS.items():
        paths = [(key,) for key in (*valid, *common)] + [
            (key, sub) for key, value in valid.items() if isinstance(value, dict) for sub in value
        ]
        for path in paths:
            for shape in SHAPES:
                body = json.loads(json.dumps(valid))
                target = body
                for key in path[:-1]:
                    target = target[key]
                target[path[-1]] = shape
                found.append((kind, ".".join(path), shape, body))
    return found


# What each field takes, as Segment's spec and the README state it, written out here
# rather than asked of the parser under test.
_IDS = {"userId", "anonymousId", "messageId", "groupId", "previousId", "context.groupId"}
# The ids a call cannot go without (VALID_CALLS names a user by userId, a page or screen
# by anonymousId alone); the others are optional, where null and "" mean "not given".
_REQUIRED_IDS = {
    "track": {"userId"},
    "identify": {"userId"},
    "group": {"userId", "groupId"},
    "alias": {"userId", "previousId"},
    "page": {"anonymousId"},
    "screen": {"anonymousId"},
}
_TIMES = {"timestamp", "sentAt", "originalTimestamp"}
_OBJECTS = {"context", "properties", "traits"}
_TEXTS = {"name", "category", "traits.domain", "traits.email", "traits.name", "traits.title",
          "traits.website"}  # fmt: skip
_LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z: the latest time a timestamp can name


def _accepted(kind: str, path: str, shape: Any) -> bool:
    integer = isinstance(shape, int) and not isinstance(shape, bool)
    number = integer or isinstance(shape, float)
    if path in _IDS:
        # A string or an integer (7 and "7" are one id); not a bool, a fraction or a
        # container. Null or empty only where the id is optional.
        if shape is None or shape == "":
            return path not in _REQUIRED_IDS[kind]
        return isinstance(shape, str) or integer
    if path in _TIMES:
        # ISO 8601 text, or seconds since 1970 (not before it, not past year 9999); null
        # is "not given".
        return shape is None or (number and 0 <= shape <= _LAST_SECOND)
    if path in _OBJECTS:
        return shape is None or isinstance(shape, dict)
    if path == "event":
        return isinstance(shape, str) and shape != ""
    if path in _TEXTS:
        return shape is None or isinstance(shape, str)
    if path == "traits.employees":
        # A head count: a whole number a database integer holds; blank is unknown.
        return shape is None or shape == "" or (integer and 0 <= shape < 2**63)
    raise AssertionError(f"no expectation for {path}")


async def test_no_shape_of_input_causes_a_server_error(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    mutations = _mutations()
    assert len(mutations) > 500
    refused, accepted = [], []
    for kind, path, shape, body in mutations:
        if _accepted(kind, path, shape):
            accepted.append({"type": kind, **body})
        else:
            refused.append((kind, body))
    assert len(refused) > 100 and len(accepted) > 100

    # Each refused call alone gets a 400 that says why (a refusal writes nothing, so this
    # is quick); the accepted ones are stored in batches (one commit per batch).
    for kind, body in refused:
        response = await ingest_client.post(f"/v1/{kind}", json=body)
        assert response.status_code == 400, (kind, body, response.text)
        assert response.json()["code"] == "invalid_payload"
    for start in range(0, len(accepted), 100):
        response = await ingest_client.post(
            "/v1/batch", json={"batch": accepted[start : start + 100]}
        )
        assert response.status_code == 200, response.text
    # Stored once per messageId ("7" and 7 are one id); a call without one gets its own.
    message_ids = [item.get("messageId") for item in accepted]
    given = {str(m) for m in message_ids if m not in (None, "")}
    generated = [m for m in message_ids if m in (None, "")]
    assert len(await fetch(database, select(events))) == len(given) + len(generated)


async def test_concurrent_batches_about_the_same_new_people_all_succeed(
    ingest_client: httpx.AsyncClient, database: Database
) -> None:
    def batch(k: int) -> dict[str, Any]:
        return {
            "batch": [
                {"type": "identify", "userId": f"u-{n}", "traits": {"email": f"p{n}@acme.io"}}
                for n in range(3)
            ]
            + [
                {"type": "track", "userId": f"u-{n % 3}", "event": "E", "messageId": f"{k}-{n}"}
                for n in range(30)
            ]
        }

    responses = await asyncio.gather(
        *(ingest_client.post("/v1/batch", json=batch(k)) for k in range(8))
    )

    for response in responses:
        await ok(response)
    assert len(await fetch(database, select(people))) == 3
    assert len(await fetch(database, select(accounts))) == 1
    assert len(await events_named(database, "E")) == 8 * 30
