"""Segment, RudderStack and PostHog webhook destinations, posted to the real app over HTTP
into a real database, with bodies exactly as each vendor documents them
(tests/fixtures/webhooks/README.md) and signed as Segment signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import NOW
from tests.integration.conftest import IngestServer
from tests.integration.test_ingest import (
    TOO_DEEP,
    account_by,
    events_named,
    fetch,
    nested,
    person_of,
    snapshot,
)
from tipoff.settings import Settings
from tipoff.sources import NewSource, create_source, revoke_source
from tipoff.store.db import Database
from tipoff.store.tables import accounts, events, sources
from tipoff.web.webhooks import NOT_AUTHENTICATED

FIXTURES = Path(__file__).parents[1] / "fixtures" / "webhooks"
SERVER_KEY = "test-server-key-" + "k" * 32
# A model whose `source_event_names` map the custom names two of the sources send.
MODEL_ADDITION = """
source_event_names:
  posthog:
    demo_request_submitted: Demo Requested
  web:
    demo_request_submitted: Demo Requested
    "trial_page_seen /pricing": Pricing Page Viewed
"""


@pytest.fixture
def settings(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """The suite's settings, with a server key and the model above."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "TIPOFF_MODEL"):
        monkeypatch.delenv(name, raising=False)
    default = resources.files("tipoff.model").joinpath("default.yml").read_text("utf-8")
    model = tmp_path / "model.yml"
    model.write_text(default + MODEL_ADDITION, encoding="utf-8")
    return Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=db_url, secret_key=SERVER_KEY, model_path=model
    )


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return loaded


def as_sent(body: object) -> bytes:
    """The body as Segment (JSON.stringify), RudderStack and PostHog put it on the wire."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signature(secret: str, body: bytes) -> str:
    # Segment's documented check: crypto.createHmac('sha1', sharedSecret).update(body).digest('hex')
    return hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


async def add_source(database: Database, name: str, kind: str, **options: Any) -> NewSource:
    async with database.transaction() as conn:
        return await create_source(conn=conn, name=name, kind=kind, now=NOW, **options)


async def post(
    server: IngestServer, path: str | None, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        return await client.post(
            str(path), content=body, headers={"Content-Type": "application/json", **headers}
        )


async def post_signed(server: IngestServer, source: NewSource, body: bytes) -> httpx.Response:
    """`body` posted to `source`'s webhook URL, signed with its secret as Segment signs."""
    return await post(
        server, source.source.webhook_path, body, {"X-Signature": signature(source.write_key, body)}
    )


def assert_ok(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}


def assert_refused(response: httpx.Response, log: pytest.LogCaptureFixture, reason: str) -> None:
    """`response` is the one 401 every unauthenticated webhook request gets, and the
    server logged `reason` (the log is the operator's, the answer anyone's)."""
    assert response.status_code == 401, response.text
    assert response.json() == {"code": "unauthorized", "message": NOT_AUTHENTICATED}
    refusals = [r.getMessage() for r in log.records if r.name == "tipoff.web.webhooks"]
    assert any(reason in refusal for refusal in refusals), refusals


# ------------------------------------------------------------------ Segment


@pytest.fixture
async def segment(database: Database) -> NewSource:
    return await add_source(database, "segment", "segment-webhook", server_key=SERVER_KEY)


async def test_segment_sends_every_call_type_signed_and_each_is_stored(
    ingest_server: IngestServer, segment: NewSource, database: Database
) -> None:
    for name in ("identify", "group", "page", "screen", "track", "alias"):
        body = as_sent(fixture(f"segment_{name}.json"))
        response = await post(
            ingest_server,
            segment.source.webhook_path,
            body,
            {"User-Agent": "Segment.io/1.0", "X-Signature": signature(segment.write_key, body)},
        )
        assert_ok(response)

    rows = await fetch(database, select(events).order_by(events.c.id))
    assert [(r.kind, r.event, r.source_id) for r in rows] == [
        ("identify", None, segment.source.id),
        ("group", None, segment.source.id),
        # The page has no name; its path is /pricing, which the default model maps.
        ("page", "Pricing Page Viewed", segment.source.id),
        ("screen", "Main Screen Screen Viewed", segment.source.id),
        ("track", "Purchased an Item", segment.source.id),
        ("alias", None, segment.source.id),
    ]
    achilles = await person_of(database, "019mr8mf4r")
    assert (achilles.email, achilles.name) == ("achilles@segment.com", "Achilles")
    initech = await account_by(database, group_id="0e8c78ea9d97a7b8185e8632")
    assert (initech.name, initech.employees, initech.industry) == ("Initech", 329, "Technology")
    assert {r.person_id for r in rows} == {achilles.id}
    assert {r.account_id for r in rows[1:]} == {initech.id}
    assert (
        await person_of(database, "39239-239239-239239-23923", "anonymous_id")
    ).id == achilles.id


def _other_secret_signature(segment: NewSource, body: bytes) -> dict[str, str]:
    return {"X-Signature": signature(segment.write_key[::-1], body)}


def _signature_of_another_body(segment: NewSource, body: bytes) -> dict[str, str]:
    return {"X-Signature": signature(segment.write_key, body.replace(b"Purchased", b"Returned"))}


def _signature_by_the_server_key(segment: NewSource, body: bytes) -> dict[str, str]:
    return {"X-Signature": signature(SERVER_KEY, body)}


@pytest.mark.parametrize(
    ("headers_for", "message"),
    [
        (lambda segment, body: {}, "missing X-Signature header"),
        (lambda segment, body: {"X-Signature": ""}, "missing X-Signature header"),
        (_other_secret_signature, "X-Signature does not match the body"),
        (_signature_of_another_body, "X-Signature does not match the body"),
        (_signature_by_the_server_key, "X-Signature does not match the body"),
        (lambda segment, body: {"X-Tipoff-Secret": segment.write_key}, "missing X-Signature"),
    ],
)
async def test_a_bad_or_missing_signature_is_401_and_stores_nothing(
    ingest_server: IngestServer,
    segment: NewSource,
    database: Database,
    caplog: pytest.LogCaptureFixture,
    headers_for: Any,
    message: str,
) -> None:
    body = as_sent(fixture("segment_track.json"))
    before = await snapshot(database)

    response = await post(
        ingest_server, segment.source.webhook_path, body, headers_for(segment, body)
    )

    assert_refused(response, caplog, message)
    assert segment.write_key not in caplog.text
    assert await snapshot(database) == before


async def test_a_signature_made_before_the_server_key_changed_is_refused(
    ingest_server: IngestServer,
    segment: NewSource,
    database: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The secret is derived from the server key and a stored salt; the database does not
    # hold it, so a server with another key cannot verify (nor can a database reader sign).
    async with database.transaction() as conn:
        [row] = list(await conn.execute(select(sources)))
    assert row.secret_salt is not None and all(segment.write_key not in str(v) for v in row)
    runtime = ingest_server.app.state.runtime
    runtime.settings = runtime.settings.model_copy(update={"secret_key": None})
    body = as_sent(fixture("segment_track.json"))
    response = await post_signed(ingest_server, segment, body)
    assert_refused(response, caplog, "no TIPOFF_SECRET_KEY")
    assert await events_named(database, "Purchased an Item") == []


async def test_a_batched_actions_request_is_refused_with_the_reason_logged(
    ingest_server: IngestServer,
    segment: NewSource,
    database: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Webhooks (Actions) with batching signs only the first event of the array it posts.
    first = fixture("segment_track.json")
    batch = as_sent([first, fixture("segment_page.json")])
    response = await post(
        ingest_server,
        segment.source.webhook_path,
        batch,
        {"X-Signature": signature(segment.write_key, as_sent(first))},
    )
    assert_refused(response, caplog, "turn batching off")
    assert await fetch(database, select(events)) == []


async def test_segment_actions_with_a_header_instead_of_a_shared_secret(
    ingest_server: IngestServer, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    actions = await add_source(
        database, "segment-actions", "segment-webhook", auth_header="X-Tipoff-Secret"
    )
    body = as_sent(fixture("segment_track.json"))
    assert_ok(
        await post(
            ingest_server, actions.source.webhook_path, body, {"X-Tipoff-Secret": actions.write_key}
        )
    )
    refused = await post_signed(ingest_server, actions, body)
    assert_refused(refused, caplog, "missing X-Tipoff-Secret header")
    assert len(await events_named(database, "Purchased an Item")) == 1


async def test_segment_properties_nested_too_deep_are_400_and_stored_nowhere(
    ingest_server: IngestServer, segment: NewSource, database: Database
) -> None:
    track = fixture("segment_track.json")
    deep = as_sent({**track, "properties": {**track["properties"], "cart": [nested(32)]}})
    response = await post_signed(ingest_server, segment, deep)
    assert (response.status_code, response.json()) == (
        400,
        {"code": "invalid_payload", "message": f"properties: {TOO_DEEP}"},
    )
    assert await fetch(database, select(events)) == []


async def test_a_deletion_notice_is_refused_as_not_acted_on(
    ingest_server: IngestServer, segment: NewSource, database: Database
) -> None:
    body = as_sent(fixture("segment_delete.json"))
    response = await post_signed(ingest_server, segment, body)
    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_type"
    assert "tipoff forget" in response.json()["message"]


async def test_a_webhook_secret_is_not_a_write_key_for_the_v1_calls(
    ingest_server: IngestServer, segment: NewSource, database: Database
) -> None:
    async with httpx.AsyncClient(base_url=ingest_server.url, auth=(segment.write_key, "")) as c:
        response = await c.post("/v1/track", json={"userId": "u", "event": "Signed Up"})
    assert response.status_code == 401
    assert f"accepted only at {segment.source.webhook_path}" in response.json()["message"]


@pytest.mark.parametrize(
    "path", ["/v1/webhooks/999", "/v1/webhooks/abc", "/v1/webhooks/" + "9" * 40]
)
async def test_an_unknown_webhook_source_is_401(
    ingest_server: IngestServer, segment: NewSource, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = await post(ingest_server, path, b"{}", {})
    assert_refused(response, caplog, "no webhook source")


async def test_an_api_source_has_no_webhook(
    ingest_server: IngestServer, ingest_source: NewSource, caplog: pytest.LogCaptureFixture
) -> None:
    response = await post(ingest_server, f"/v1/webhooks/{ingest_source.source.id}", b"{}", {})
    assert_refused(response, caplog, "takes the /v1/* calls")


async def test_every_refused_webhook_request_gets_one_answer_that_names_no_source(
    ingest_server: IngestServer,
    database: Database,
    ingest_source: NewSource,
    segment: NewSource,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Were the answers to differ, anyone could list the webhook sources and their names.
    rudderstack = await add_source(database, "rudder-prod", "rudderstack-webhook")
    revoked = await add_source(database, "posthog-old", "posthog-webhook")
    async with database.transaction() as conn:
        await revoke_source(conn=conn, name="posthog-old", now=NOW)
    body = as_sent(fixture("segment_track.json"))
    paths = {
        "no such source": "/v1/webhooks/9999",
        "not an id": "/v1/webhooks/web",
        "revoked": revoked.source.webhook_path,
        "api source": f"/v1/webhooks/{ingest_source.source.id}",
        "header source": rudderstack.source.webhook_path,
        "signature source": segment.source.webhook_path,
    }
    answers = {case: await post(ingest_server, path, body, {}) for case, path in paths.items()}
    runtime = ingest_server.app.state.runtime
    runtime.settings = runtime.settings.model_copy(update={"secret_key": None})
    answers["no TIPOFF_SECRET_KEY"] = await post_signed(ingest_server, segment, body)

    def seen(response: httpx.Response) -> tuple[object, ...]:
        headers = sorted((k, v) for k, v in response.headers.items() if k != "date")
        return response.status_code, tuple(headers), response.content

    assert len({seen(answer) for answer in answers.values()}) == 1, {
        case: answer.text for case, answer in answers.items()
    }
    assert_refused(answers["revoked"], caplog, "source 'posthog-old' has been revoked")
    for name in ("web", "segment", "rudder-prod", "posthog-old"):
        assert repr(name) not in answers["revoked"].text
    refusals = [r.getMessage() for r in caplog.records if r.name == "tipoff.web.webhooks"]
    assert len(refusals) == len(answers)


# ------------------------------------------------------------------ RudderStack


@pytest.fixture
async def rudderstack(database: Database) -> NewSource:
    return await add_source(
        database, "rudderstack", "rudderstack-webhook", auth_header="X-Rudder-Tipoff"
    )


async def test_rudderstack_events_with_its_header_are_stored_once(
    ingest_server: IngestServer, rudderstack: NewSource, database: Database
) -> None:
    headers = {"User-Agent": "RudderLabs", "X-Rudder-Tipoff": rudderstack.write_key}
    path = rudderstack.source.webhook_path
    assert_ok(
        await post(ingest_server, path, as_sent(fixture("rudderstack_identify.json")), headers)
    )
    # RudderStack's identify carries its traits in context.traits.
    identified = await person_of(database, "my-user-id")
    assert (identified.email, identified.name) == ("user@domain.com", "User name")
    for _ in range(2):  # the track is delivered twice
        assert_ok(
            await post(ingest_server, path, as_sent(fixture("rudderstack_track.json")), headers)
        )

    rows = await fetch(database, select(events).order_by(events.c.id))
    assert [(r.kind, r.message_id) for r in rows] == [
        ("identify", "508d5e8c-96e4-4301-bd46-1890dba5c866"),
        ("track", "04a303b1-a466-4e66-9022-2a24edaca4fc"),
    ]
    person = await person_of(database, "my-user-id")
    assert (
        await person_of(database, "21b43de4-3b9b-423f-b51f-794eae31fc03", "anonymous_id")
    ).id == person.id
    assert rows[1].event == "Product Purchased"
    assert rows[1].properties["product_name"] == "new_boots"
    # originalTimestamp and sentAt are equal: it happened when it was received.
    assert rows[1].occurred_at == NOW


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing X-Rudder-Tipoff header"),
        ({"X-Rudder-Tipoff": "not-the-secret"}, "is not source 'rudderstack''s secret"),
        ({"X-Tipoff-Secret": "anything"}, "missing X-Rudder-Tipoff header"),
    ],
)
async def test_rudderstack_without_its_secret_header_is_401(
    ingest_server: IngestServer,
    rudderstack: NewSource,
    database: Database,
    caplog: pytest.LogCaptureFixture,
    headers: dict[str, str],
    message: str,
) -> None:
    before = await snapshot(database)
    response = await post(
        ingest_server,
        rudderstack.source.webhook_path,
        as_sent(fixture("rudderstack_track.json")),
        headers,
    )
    assert_refused(response, caplog, message)
    assert rudderstack.write_key not in caplog.text
    assert await snapshot(database) == before


async def test_rudderstack_body_errors_and_limits_are_those_of_v1(
    ingest_server: IngestServer, rudderstack: NewSource, database: Database
) -> None:
    headers = {"X-Rudder-Tipoff": rudderstack.write_key}
    path = rudderstack.source.webhook_path
    track = fixture("rudderstack_track.json")
    no_event = {k: v for k, v in track.items() if k != "event"}
    response = await post(ingest_server, path, as_sent(no_event), headers)
    assert (response.status_code, response.json()) == (
        400,
        {"code": "invalid_payload", "message": "event: field required"},
    )
    record = {**track, "type": "record"}
    response = await post(ingest_server, path, as_sent(record), headers)
    assert response.status_code == 400
    assert "unknown type 'record'" in response.json()["message"]
    huge = {**track, "properties": {"blob": "x" * 40_000}}
    response = await post(ingest_server, path, as_sent(huge), headers)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    response = await post(ingest_server, path, b"{not json", headers)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_json")
    assert await fetch(database, select(events)) == []


# ------------------------------------------------------------------ PostHog


@pytest.fixture
async def posthog(database: Database) -> NewSource:
    return await add_source(database, "posthog", "posthog-webhook")


async def post_posthog(server: IngestServer, source: NewSource, body: object) -> httpx.Response:
    return await post(
        server,
        source.source.webhook_path,
        as_sent(body),
        {"Accept": "application/json", "X-Tipoff-Secret": source.write_key},
    )


async def test_posthog_default_body_from_its_template_test(
    ingest_server: IngestServer, posthog: NewSource, database: Database
) -> None:
    assert_ok(await post_posthog(ingest_server, posthog, fixture("posthog_template_test.json")))

    person = await person_of(database, "distinct-id")
    assert person.email == "example@posthog.com"
    [signal] = await events_named(database, "event-name")
    assert (signal.kind, signal.message_id, signal.person_id) == ("track", "event-id", person.id)
    assert signal.properties == {"$lib_version": "1.0.0"}
    assert signal.occurred_at.isoformat() == "2024-01-01T00:00:00+00:00"
    # posthog.com is a company domain: the person's account comes from their email.
    assert signal.account_id == (await account_by(database, domain="posthog.com")).id


async def test_a_posthog_pricing_pageview_is_a_pricing_visit_of_the_group_account(
    ingest_server: IngestServer, posthog: NewSource, database: Database
) -> None:
    body = fixture("posthog_pageview_pricing.json")
    assert_ok(await post_posthog(ingest_server, posthog, body))
    after_first = await snapshot(database)
    assert_ok(await post_posthog(ingest_server, posthog, body))  # PostHog retries
    assert await snapshot(database) == after_first

    [visit] = await events_named(database, "Pricing Page Viewed")
    assert visit.message_id == body["event"]["uuid"]
    maya = await person_of(database, body["event"]["distinct_id"])
    assert (maya.email, maya.name, maya.title) == (
        "maya@acme-analytics.com",
        "Maya Chen",
        "VP Engineering",
    )
    account = await account_by(database, group_id="acme-analytics")
    assert (visit.person_id, visit.account_id, maya.account_id) == (maya.id, account.id, account.id)

    elsewhere = json.loads(json.dumps(body))
    elsewhere["event"]["uuid"] = "01932a1c-6f5e-7a3b-9c1d-2e4f6a8b0c12"
    elsewhere["event"]["properties"]["$pathname"] = "/pricing-old"
    elsewhere["event"]["properties"]["$current_url"] = "https://www.acme-analytics.com/pricing-old"
    assert_ok(await post_posthog(ingest_server, posthog, elsewhere))
    assert len(await events_named(database, "$pageview")) == 1
    # The person's traits did not change: no second identify.
    assert len(await fetch(database, select(events).where(events.c.kind == "identify"))) == 1


async def test_posthog_identify_merges_the_anonymous_visitor_and_groupidentify_names_the_account(
    ingest_server: IngestServer, posthog: NewSource, database: Database
) -> None:
    anonymous = fixture("posthog_pageview_pricing.json")
    anonymous["event"]["distinct_id"] = "0192f1a0-bbbb-7ccc-8ddd-abcdefabcdef"
    anonymous["event"]["properties"] = {"$pathname": "/pricing", "$lib": "web"}
    anonymous["person"] = None
    for body in (
        anonymous,
        fixture("posthog_identify.json"),
        fixture("posthog_groupidentify.json"),
        fixture("posthog_custom_event.json"),
    ):
        assert_ok(await post_posthog(ingest_server, posthog, body))

    sam = await person_of(database, "user-42")
    assert (sam.email, sam.name, sam.title) == ("sam@initech.io", "Sam Ortiz", "Head of Data")
    earlier = await person_of(database, "0192f1a0-bbbb-7ccc-8ddd-abcdefabcdef")
    assert earlier.id == sam.id
    initech = await account_by(database, group_id="initech")
    assert (initech.name, initech.domain, initech.employees) == ("Initech", "initech.io", 250)
    [visit] = await events_named(database, "Pricing Page Viewed")
    [demo] = await events_named(database, "Demo Requested")  # source_event_names.posthog
    assert {visit.person_id, demo.person_id} == {sam.id}
    assert demo.account_id == initech.id
    assert demo.properties["form"] == "contact-sales"
    assert await events_named(database, "$identify") == []
    assert await events_named(database, "$groupidentify") == []


async def test_a_posthog_group_keyed_by_domain_is_that_domains_account(
    ingest_server: IngestServer, posthog: NewSource, database: Database
) -> None:
    # A group type keyed by the company's domain and never sent a $groupidentify.
    visit = fixture("posthog_pageview_pricing.json")
    visit["event"]["properties"]["$group_0"] = "globex.com"
    visit["event"]["properties"]["$groups"] = {"company": "globex.com"}
    visit["person"]["properties"] = {
        "email": "ceo@globex.com",
        "name": "Hank Scorpio",
        "title": "CEO",
    }
    anonymous = json.loads(json.dumps(visit))
    anonymous["event"]["uuid"] = "01932a1c-6f5e-7a3b-9c1d-2e4f6a8b0c99"
    anonymous["event"]["distinct_id"] = "0192f1a0-bbbb-7ccc-8ddd-abcdefabcdef"
    anonymous["event"]["properties"]["$group_0"] = "www.Globex.com"
    anonymous["person"] = None
    for body in (anonymous, visit):
        assert_ok(await post_posthog(ingest_server, posthog, body))

    globex = await account_by(database, domain="globex.com")
    assert [(a.id, a.domain) for a in await fetch(database, select(accounts))] == [
        (globex.id, "globex.com")
    ]  # one company, not an unnamed "Account 2" beside an empty globex.com
    ceo = await person_of(database, visit["event"]["distinct_id"])
    assert (ceo.title, ceo.account_id) == ("CEO", globex.id)
    visits = await events_named(database, "Pricing Page Viewed")
    assert [v.account_id for v in visits] == [globex.id, globex.id]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"person": None}, "event: field required"),
        ({"event": {"uuid": "u-1", "event": "$pageview"}}, "event.distinct_id: field required"),
        ({"event": {"event": "x", "distinct_id": "d"}}, "event.uuid: field required"),
        ({"event": {"uuid": "u", "event": "", "distinct_id": "d"}}, "event.event:"),
        (
            {"event": {"uuid": "u", "event": "x", "distinct_id": "d", "properties": []}},
            "event.properties: must be a JSON object",
        ),
        (
            {"event": {"uuid": "u", "event": "x", "distinct_id": "d", "properties": nested(33)}},
            f"event.properties: {TOO_DEEP}",
        ),
        (
            {
                "event": {"uuid": "u", "event": "x", "distinct_id": "d"},
                "person": {"properties": {"email": "a@b.io", "history": nested(32)}},
            },
            f"person.properties: {TOO_DEEP}",
        ),
    ],
)
async def test_a_posthog_body_not_shaped_as_documented_is_400(
    ingest_server: IngestServer,
    posthog: NewSource,
    database: Database,
    body: dict[str, Any],
    message: str,
) -> None:
    response = await post_posthog(ingest_server, posthog, body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_payload"
    assert message in response.json()["message"]
    assert await fetch(database, select(accounts)) == []


# ------------------------------------------------------------------ the model's event names


async def test_the_model_maps_an_api_sources_own_names(
    ingest_client: httpx.AsyncClient, ingest_source: NewSource, database: Database
) -> None:
    # ingest_source is named "web": the model above maps its names.
    for call in (
        {"userId": "u-1", "event": "demo_request_submitted", "messageId": "m-1"},
        {"userId": "u-1", "event": "trial_page_seen", "properties": {"path": "/pricing/"}},
        {"userId": "u-1", "event": "trial_page_seen", "properties": {"url": "https://x.io/docs"}},
    ):
        response = await ingest_client.post("/v1/track", json=call)
        assert response.status_code == 200, response.text

    [demo] = await events_named(database, "Demo Requested")
    assert demo.message_id == "m-1"
    assert len(await events_named(database, "Pricing Page Viewed")) == 1
    assert len(await events_named(database, "trial_page_seen")) == 1
    assert await events_named(database, "demo_request_submitted") == []
