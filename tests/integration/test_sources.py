"""Sources and their write keys, against a real SQLite file."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import NOW
from tipoff.errors import Conflict, InvalidInput, NotFound, Unauthorized
from tipoff.sources import (
    authenticate,
    create_source,
    derived_secret,
    list_sources,
    revoke_source,
)
from tipoff.store.db import Database
from tipoff.store.tables import sources


async def test_a_new_source_gets_a_key_that_is_stored_only_as_a_hash(database: Database) -> None:
    async with database.transaction() as conn:
        created = await create_source(conn=conn, name="hubspot", category="marketing", now=NOW)

    key = created.write_key
    assert len(key) == 43  # secrets.token_urlsafe(32): 32 random bytes, base64url
    assert created.source.key_hint == f"{key[:4]}…{key[-4:]}"
    assert (created.source.name, created.source.category) == ("hubspot", "marketing")
    assert (created.source.created_at, created.source.revoked_at) == (NOW, None)

    async with database.transaction() as conn:
        [row] = list(await conn.execute(select(sources)))
    assert row.write_key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert all(key not in str(value) for value in row)


async def test_a_key_authenticates_its_source_until_revoked(database: Database) -> None:
    async with database.transaction() as conn:
        web = await create_source(conn=conn, name="web", now=NOW)
        crm = await create_source(conn=conn, name="crm", category="outcome", now=NOW)

    async with database.transaction() as conn:
        assert (await authenticate(conn=conn, write_key=web.write_key)).id == web.source.id
        assert (await authenticate(conn=conn, write_key=crm.write_key)).name == "crm"

    later = NOW + timedelta(days=3)
    async with database.transaction() as conn:
        revoked = await revoke_source(conn=conn, name="web", now=later)
    assert (revoked.revoked, revoked.revoked_at) == (True, later)

    async with database.transaction() as conn:
        with pytest.raises(Unauthorized, match="the write key of source 'web' has been revoked"):
            await authenticate(conn=conn, write_key=web.write_key)
        # The other source is untouched.
        assert (await authenticate(conn=conn, write_key=crm.write_key)).name == "crm"
        # Revoking again keeps the first time.
        again = await revoke_source(conn=conn, name="web", now=later + timedelta(days=1))
    assert again.revoked_at == later


@pytest.mark.parametrize("key", ["", "nope", "x" * 43])
async def test_an_unknown_key_is_unauthorized(database: Database, key: str) -> None:
    async with database.transaction() as conn:
        await create_source(conn=conn, name="web", now=NOW)
        with pytest.raises(Unauthorized):
            await authenticate(conn=conn, write_key=key)


async def test_a_source_name_is_taken_for_good(database: Database) -> None:
    async with database.transaction() as conn:
        first = await create_source(conn=conn, name="segment", now=NOW)

    async with database.transaction() as conn:
        with pytest.raises(Conflict) as taken:
            await create_source(conn=conn, name=" segment ", now=NOW)
    assert taken.value.message == (
        f"a source named 'segment' already exists (key {first.source.key_hint}); "
        "choose another name"
    )

    async with database.transaction() as conn:
        await revoke_source(conn=conn, name="segment", now=NOW)
    async with database.transaction() as conn:
        with pytest.raises(Conflict, match=r"already exists \(revoked\)"):
            await create_source(conn=conn, name="segment", now=NOW)

    async with database.transaction() as conn:
        assert len(await list_sources(conn=conn)) == 1


async def test_sources_are_listed_in_creation_order_with_their_state(database: Database) -> None:
    async with database.transaction() as conn:
        for name in ("web", "hubspot", "salesforce"):
            await create_source(conn=conn, name=name, now=NOW)
        await revoke_source(conn=conn, name="hubspot", now=NOW)
        listed = await list_sources(conn=conn)
    assert [(s.name, s.revoked) for s in listed] == [
        ("web", False),
        ("hubspot", True),
        ("salesforce", False),
    ]


async def test_revoking_an_unknown_source_is_not_found(database: Database) -> None:
    async with database.transaction() as conn:
        with pytest.raises(NotFound, match="no source named 'ghost'"):
            await revoke_source(conn=conn, name="ghost", now=NOW)


@pytest.mark.parametrize(
    ("name", "category", "message"),
    [
        ("", None, "a source needs a name"),
        ("   ", None, "a source needs a name"),
        ("x" * 101, None, "at most 100 characters"),
        ("tab\there", None, "control characters"),
        ("web", "sales", "unknown category 'sales': expected one of product, marketing, outcome"),
    ],
)
async def test_bad_source_definitions_are_refused(
    database: Database, name: str, category: str | None, message: str
) -> None:
    async with database.transaction() as conn:
        with pytest.raises(InvalidInput, match=message):
            await create_source(conn=conn, name=name, category=category, now=NOW)
        assert await list_sources(conn=conn) == []


SERVER_KEY = "s" * 40


async def test_webhook_sources_have_a_url_and_their_own_proof(database: Database) -> None:
    async with database.transaction() as conn:
        segment = await create_source(
            conn=conn, name="segment", kind="segment-webhook", server_key=SERVER_KEY, now=NOW
        )
        posthog = await create_source(conn=conn, name="posthog", kind="posthog-webhook", now=NOW)
        rudder = await create_source(
            conn=conn,
            name="rudder",
            kind="rudderstack-webhook",
            auth_header=" X-Rudder-Key ",
            now=NOW,
        )
        listed = await list_sources(conn=conn)
        rows = {row.name: row for row in await conn.execute(select(sources))}

    assert [(s.kind, s.webhook_path, s.authentication) for s in listed] == [
        ("segment-webhook", f"/v1/webhooks/{segment.source.id}", "X-Signature"),
        ("posthog-webhook", f"/v1/webhooks/{posthog.source.id}", "header X-Tipoff-Secret"),
        ("rudderstack-webhook", f"/v1/webhooks/{rudder.source.id}", "header X-Rudder-Key"),
    ]
    # The Segment secret is derived from the server key and a stored salt; not stored.
    salt = rows["segment"].secret_salt
    assert segment.write_key == derived_secret(SERVER_KEY, salt)
    assert segment.write_key != derived_secret("t" * 40, salt)
    for created in (segment, posthog, rudder):
        assert all(created.write_key not in str(value) for value in rows[created.source.name])
    assert rows["posthog"].secret_salt is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kind": "segment-webhook"}, "TIPOFF_SECRET_KEY"),
        ({"kind": "zapier"}, "unknown kind 'zapier'"),
        ({"kind": "api", "auth_header": "X-Key"}, "authenticated by its write key"),
        ({"kind": "posthog-webhook", "auth_header": "Content-Type"}, "set by HTTP clients"),
        ({"kind": "posthog-webhook", "auth_header": "X Key"}, "is not a header name"),
    ],
)
async def test_bad_webhook_sources_are_refused(
    database: Database, options: dict[str, str], message: str
) -> None:
    async with database.transaction() as conn:
        with pytest.raises(InvalidInput, match=message):
            await create_source(conn=conn, name="hook", now=NOW, **options)
        assert await list_sources(conn=conn) == []
