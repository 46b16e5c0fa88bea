"""SalesforceClient against a loopback stand-in of Salesforce (tests/fakes/salesforce_api.py),
over real HTTP: both sign-in flows, the field check, keyset paging across one shared
SystemModstamp, sObject Collections writes, the org's limit, an expired session, and
secrets that never show."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr, ValidationError

from tests.fakes.salesforce_api import (
    CLIENT_ID,
    CLIENT_SECRET,
    USERNAME,
    FakeField,
    FakeOpportunity,
    FakeSalesforceApi,
    running_fake_salesforce,
    tipoff_fields,
)
from tipoff.crm.records import (
    CrmAccount,
    CrmDeal,
    CrmError,
    CrmLimitReached,
    CrmSetupMissing,
    ScoreWrite,
)
from tipoff.crm.salesforce import (
    ClientCredentials,
    JwtBearer,
    SalesforceClient,
    jwt_audience,
)
from tipoff.settings import Settings

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
SHARED = datetime(2026, 11, 3, 12, 30, 15, tzinfo=UTC)  # many records' SystemModstamp


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture(scope="module")
def connected_app_key() -> rsa.RSAPrivateKey:
    """The private key whose certificate the connected app holds."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def key_file(tmp_path: Path, connected_app_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "salesforce.key"
    path.write_bytes(_pem(connected_app_key))
    return path


@pytest.fixture
def fake(connected_app_key: rsa.RSAPrivateKey) -> Iterator[FakeSalesforceApi]:
    with running_fake_salesforce(public_key=_public_pem(connected_app_key)) as running:
        yield running


@pytest.fixture
async def client(fake: FakeSalesforceApi) -> AsyncIterator[SalesforceClient]:
    """Signed in by client credentials at the stand-in, as a My Domain would be."""
    signed = SalesforceClient(
        ClientCredentials(CLIENT_ID, SecretStr(CLIENT_SECRET)), login_url=fake.url
    )
    yield signed
    await signed.aclose()


def _sf_settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


async def _all_accounts(
    client: SalesforceClient, cursor: str | None
) -> tuple[list[CrmAccount], str | None]:
    read: list[CrmAccount] = []
    async for page in client.accounts_since(cursor):
        read.extend(page.records)
        cursor = page.cursor
    return read, cursor


def _score(account_id: str, *, track: str = "hot", score: int = 87) -> ScoreWrite:
    return ScoreWrite(
        account_id=account_id,
        score=score,
        track=track,
        evidence="3 people active this week\nDemo requested",
        scored_at=datetime(2026, 11, 30, 10, 15, 30, tzinfo=UTC),
    )


# --- sign-in -------------------------------------------------------------------------------


async def test_client_credentials_sign_in_then_calls_with_the_token(
    fake: FakeSalesforceApi, client: SalesforceClient
) -> None:
    assert await client.prepare(dry_run=False) == []

    (token_call,) = fake.token_calls()
    assert token_call.method == "POST"
    assert token_call.body == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    (describe,) = fake.api_calls("/sobjects/Account/describe")
    assert describe.path == "/services/data/v62.0/sobjects/Account/describe"
    assert describe.headers["authorization"] == f"Bearer {fake.issued_tokens[0]}"


async def test_a_wrong_client_secret_is_refused_with_salesforces_reason(
    fake: FakeSalesforceApi,
) -> None:
    wrong = SalesforceClient(
        ClientCredentials(CLIENT_ID, SecretStr("not-the-secret-0000")), login_url=fake.url
    )
    try:
        with pytest.raises(CrmError, match="invalid_client: invalid client credentials") as caught:
            await wrong.prepare(dry_run=True)
    finally:
        await wrong.aclose()
    assert "not-the-secret-0000" not in str(caught.value)
    assert fake.api_calls() == []  # nothing was asked of the API unsigned


async def test_jwt_bearer_sign_in_with_a_signed_assertion(
    fake: FakeSalesforceApi, key_file: Path
) -> None:
    settings = _sf_settings(
        salesforce_login_url=fake.url,
        salesforce_client_id=CLIENT_ID,
        salesforce_username=USERNAME,
        salesforce_private_key_file=key_file,
    )
    client = SalesforceClient.from_settings(settings)
    try:
        assert await client.prepare(dry_run=False) == []
    finally:
        await client.aclose()

    (token_call,) = fake.token_calls()
    assert token_call.body["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert set(token_call.body) == {"grant_type", "assertion"}  # no secret, no password
    assert len(fake.api_calls("/describe")) == 1


async def test_jwt_signed_with_another_key_is_refused(
    fake: FakeSalesforceApi, tmp_path: Path
) -> None:
    other = tmp_path / "other.key"
    other.write_bytes(_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    client = SalesforceClient(
        JwtBearer.from_key_file(CLIENT_ID, USERNAME, other), login_url=fake.url
    )
    try:
        with pytest.raises(CrmError, match="invalid_grant: invalid assertion"):
            await client.prepare(dry_run=True)
    finally:
        await client.aclose()
    assert fake.api_calls() == []


def test_a_key_file_that_is_not_an_rsa_key_is_refused_without_quoting_it(
    tmp_path: Path,
) -> None:
    garbled = tmp_path / "garbled.key"
    garbled.write_text("-----BEGIN PRIVATE KEY-----\nS3CR3TB1TS0FAKEY\n-----END PRIVATE KEY-----\n")
    with pytest.raises(CrmError, match="not an unencrypted PEM private key") as caught:
        JwtBearer.from_key_file(CLIENT_ID, USERNAME, garbled)
    assert "S3CR3TB1TS0FAKEY" not in str(caught.value)
    # Nor does a logged traceback show the parser's own error (which may quote the file).
    assert caught.value.__cause__ is None and caught.value.__suppress_context__

    elliptic = tmp_path / "ec.key"
    elliptic.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(CrmError, match="with RSA only"):
        JwtBearer.from_key_file(CLIENT_ID, USERNAME, elliptic)


async def test_the_instance_url_setting_wins_over_the_token_answer(
    fake: FakeSalesforceApi,
) -> None:
    fake.instance_url = "https://tipoff-test.my.salesforce.com"  # unreachable from here
    settings = _sf_settings(
        salesforce_login_url=fake.url,
        salesforce_instance_url=fake.url,
        salesforce_client_id=CLIENT_ID,
        salesforce_client_secret=CLIENT_SECRET,
        salesforce_api_version="v60.0",
    )
    client = SalesforceClient.from_settings(settings)
    try:
        await client.prepare(dry_run=True)
    finally:
        await client.aclose()
    assert [c.path for c in fake.api_calls()] == ["/services/data/v60.0/sobjects/Account/describe"]


def test_the_jwt_audience_is_salesforces_login_server() -> None:
    assert jwt_audience("https://acme.my.salesforce.com") == "https://login.salesforce.com"
    assert jwt_audience("https://login.salesforce.com/") == "https://login.salesforce.com"
    assert (
        jwt_audience("https://acme--uat.sandbox.my.salesforce.com") == "https://test.salesforce.com"
    )
    assert jwt_audience("https://test.salesforce.com") == "https://test.salesforce.com"
    assert jwt_audience("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "said"),
    [
        ({"salesforce_client_id": CLIENT_ID}, "cannot sign in with it"),
        (
            {"salesforce_client_id": CLIENT_ID, "salesforce_username": USERNAME},
            "cannot sign in with it",
        ),
        ({"salesforce_client_secret": CLIENT_SECRET}, "TIPOFF_SALESFORCE_CLIENT_ID"),
        (
            {
                "salesforce_client_id": CLIENT_ID,
                "salesforce_client_secret": CLIENT_SECRET,
                "salesforce_username": USERNAME,
            },
            "not both",
        ),
        (
            {"salesforce_client_id": CLIENT_ID, "salesforce_client_secret": CLIENT_SECRET},
            "My Domain only",
        ),
        (
            {
                "salesforce_login_url": "http://acme.my.salesforce.com",
                "salesforce_client_id": CLIENT_ID,
                "salesforce_client_secret": CLIENT_SECRET,
            },
            "https://",
        ),
        (
            {
                "salesforce_client_id": CLIENT_ID,
                "salesforce_username": USERNAME,
                "salesforce_private_key_file": "/nonexistent/salesforce.key",
            },
            "no file at /nonexistent/salesforce.key",
        ),
        ({"salesforce_api_version": "sixty-two"}, "API version such as 62.0"),
    ],
)
def test_half_configured_salesforce_is_refused_saying_what_to_set(
    values: dict[str, Any], said: str
) -> None:
    from tipoff.settings import describe_problems

    with pytest.raises(ValidationError) as caught:
        _sf_settings(**values)
    problems = " ".join(describe_problems(caught.value))
    assert said in problems
    assert CLIENT_SECRET not in problems and CLIENT_SECRET not in str(caught.value)


def test_salesforce_is_off_until_a_client_id_is_set() -> None:
    assert not _sf_settings().salesforce_enabled


# --- prepare: the fields an admin creates ------------------------------------------------


async def test_missing_and_unfit_fields_are_named_exactly(
    fake: FakeSalesforceApi, client: SalesforceClient
) -> None:
    del fake.account_fields["Tipoff_Evidence__c"]
    del fake.account_fields["Tipoff_Scored_At__c"]
    fake.account_fields["Tipoff_Score__c"] = FakeField(
        "Tipoff_Score__c", "string", "Tipoff Score", length=10
    )
    fake.account_fields["Tipoff_Track__c"].updateable = False

    with pytest.raises(CrmSetupMissing) as caught:
        await client.prepare(dry_run=False)

    problems = str(caught.value).split(": ", 1)[1].split("; ")
    assert problems == [
        "Tipoff_Score__c is of type string, not Number(18, 0)",
        "Tipoff_Track__c is not editable by the integration user (field-level security)",
        "Tipoff_Evidence__c (Long Text Area(32768)) is missing",
        "Tipoff_Scored_At__c (Date/Time) is missing",
    ]
    # Checked, never created: a describe and nothing else.
    assert [(c.method, c.path.rsplit("/", 1)[-1]) for c in fake.api_calls()] == [
        ("GET", "describe")
    ]

    # Once the admin has made them, the next run goes ahead (no restart).
    fake.account_fields = tipoff_fields()
    assert await client.prepare(dry_run=False) == []


async def test_a_rich_text_evidence_field_is_refused(
    fake: FakeSalesforceApi, client: SalesforceClient
) -> None:
    # Evidence is text from outside; a rich text area would render it as HTML.
    fake.account_fields["Tipoff_Evidence__c"].extra_type_info = "richtextarea"
    with pytest.raises(CrmSetupMissing, match="Tipoff_Evidence__c is of type richtextarea"):
        await client.prepare(dry_run=False)


# --- reading ---------------------------------------------------------------------------------


def _accounts_around_a_shared_stamp(fake: FakeSalesforceApi) -> list[str]:
    """23 accounts: 5 before, 12 sharing SHARED, 6 after; their ids in reading order."""
    ids = []
    for n in range(5):
        ids.append(f"0015e00000A{n:04d}AAA")
        fake.add_account(ids[-1], modified_at=T0 + timedelta(minutes=n))
    # Inserted out of Id order: Salesforce orders by Id, not by creation.
    shared = [f"0015e00000B{n:04d}AAA" for n in (7, 2, 11, 0, 5, 9, 1, 3, 10, 4, 8, 6)]
    for record_id in shared:
        fake.add_account(record_id, website="https://www.Example.com/x", modified_at=SHARED)
    ids.extend(sorted(shared))
    for n in range(6):
        ids.append(f"0015e00000C{n:04d}AAA")
        fake.add_account(ids[-1], modified_at=SHARED + timedelta(seconds=n + 1))
    return ids


async def test_accounts_are_paged_across_a_shared_timestamp_none_skipped_or_doubled(
    fake: FakeSalesforceApi,
) -> None:
    ids = _accounts_around_a_shared_stamp(fake)
    fake.batch_size = 3  # Salesforce's batches within a query (nextRecordsUrl)
    client = SalesforceClient(
        ClientCredentials(CLIENT_ID, SecretStr(CLIENT_SECRET)), login_url=fake.url, query_limit=7
    )
    try:
        pages = [page async for page in client.accounts_since(None)]
        read = [a.id for page in pages for a in page.records]
        assert read == ids
        # Queries of 7 continue from the last record read: 4 queries (7+7+7+2), each in
        # batches of 3 followed by nextRecordsUrl.
        assert len(fake.queries()) == 4
        assert len(fake.api_calls()) == 4 + 6  # 3+3+3+1 batches of query more
        assert fake.queries()[1].endswith(
            f"WHERE (SystemModstamp > 2026-11-03T12:30:15Z OR (SystemModstamp = "
            f"2026-11-03T12:30:15Z AND Id > '{ids[6]}')) ORDER BY SystemModstamp, Id LIMIT 7"
        )

        # Resuming from a page's cursor in the middle of the shared timestamp reads exactly
        # what came after it.
        middle = pages[3]  # ends on the 10th record, one of those sharing SHARED
        assert middle.records[-1].modified_at == SHARED
        rest, last_cursor = await _all_accounts(client, middle.cursor)
        assert [a.id for a in rest] == ids[10:]

        # From the last cursor: nothing, until a record changes.
        assert await _all_accounts(client, last_cursor) == ([], last_cursor)
        fake.accounts[ids[0]].modified_at = SHARED + timedelta(hours=1)
        changed, _ = await _all_accounts(client, last_cursor)
        assert [a.id for a in changed] == [ids[0]]
    finally:
        await client.aclose()


async def test_accounts_carry_website_and_owner_email(
    fake: FakeSalesforceApi, client: SalesforceClient
) -> None:
    fake.add_account(
        "0015e00000D0001AAA",
        name="Acme, Inc.",
        website="https://www.acme.example/about",
        owner_email="maya@seller.example",
        modified_at=datetime(2026, 11, 4, 7, 45, 1, 250_000, tzinfo=UTC),
    )
    fake.add_account("0015e00000D0002AAA", website=None, owner_email=None, modified_at=SHARED)

    read, _ = await _all_accounts(client, None)

    assert read == [
        CrmAccount(
            id="0015e00000D0002AAA",
            name="0015e00000D0002AAA",
            domain=None,
            website=None,
            owner_email=None,
            modified_at=SHARED,
        ),
        CrmAccount(
            id="0015e00000D0001AAA",
            name="Acme, Inc.",
            domain=None,  # Salesforce has no domain field: the sync reads the website
            website="https://www.acme.example/about",
            owner_email="maya@seller.example",
            modified_at=datetime(2026, 11, 4, 7, 45, 1, 250_000, tzinfo=UTC),
        ),
    ]
    assert fake.queries() == [
        "SELECT Id, Name, Website, Owner.Email, SystemModstamp FROM Account "
        "ORDER BY SystemModstamp, Id LIMIT 10000"
    ]


async def test_deals_are_paged_across_a_shared_timestamp_as_outcomes(
    fake: FakeSalesforceApi,
) -> None:
    opened = datetime(2026, 10, 1, 9, 30, tzinfo=UTC)
    for n in range(9):
        fake.add_opportunity(
            FakeOpportunity(
                id=f"0065e00000E{n:04d}AAA",
                account_id=f"0015e00000A{n % 3:04d}AAA",
                created_at=opened,
                modified_at=SHARED,
                amount=12500.5 if n == 0 else None,
                close_date=date(2026, 12, 15),  # when the rep expects it to close
            )
        )
    fake.add_opportunity(
        FakeOpportunity(
            id="0065e00000W0001AAA",
            account_id="0015e00000A0001AAA",
            created_at=opened,
            modified_at=SHARED + timedelta(seconds=1),
            is_closed=True,
            is_won=True,
            close_date=date(2026, 11, 3),
            amount=48000.0,
        )
    )
    fake.add_opportunity(
        FakeOpportunity(
            id="0065e00000L0001AAA",
            account_id=None,
            created_at=opened,
            modified_at=SHARED + timedelta(seconds=2),
            is_closed=True,
            close_date=date(2026, 11, 4),
        )
    )
    fake.batch_size = 2
    client = SalesforceClient(
        ClientCredentials(CLIENT_ID, SecretStr(CLIENT_SECRET)), login_url=fake.url, query_limit=4
    )
    try:
        first = [page async for page in client.deals_since(None)]
        deals = [d for page in first for d in page.records]
        assert [d.id for d in deals] == [
            *(f"0065e00000E{n:04d}AAA" for n in range(9)),
            "0065e00000W0001AAA",
            "0065e00000L0001AAA",
        ]
        assert deals[0] == CrmDeal(
            id="0065e00000E0000AAA",
            account_ids=("0015e00000A0000AAA",),
            created_at=opened,
            is_closed=False,
            is_won=False,
            closed_at=None,  # an open deal's CloseDate is a forecast
            amount="12500.5",
            modified_at=SHARED,
        )
        won, lost = deals[-2:]
        assert (won.is_closed, won.is_won, won.amount) == (True, True, "48000")
        assert won.closed_at == datetime(2026, 11, 3, tzinfo=UTC)  # the day, midnight UTC
        assert (lost.is_closed, lost.is_won, lost.account_ids) == (True, False, ())

        # Resumed in the middle of the nine sharing one SystemModstamp.
        resumed = [d.id async for page in client.deals_since(first[1].cursor) for d in page.records]
        assert resumed == [d.id for d in deals[4:]]
        assert "FROM Opportunity" in fake.queries()[-1]
    finally:
        await client.aclose()


async def test_an_id_with_a_quote_is_escaped_in_soql(fake: FakeSalesforceApi) -> None:
    odd = "001x' OR Name != 'y\\"
    fake.add_account(odd, modified_at=SHARED)
    fake.add_account("001z", modified_at=SHARED)
    client = SalesforceClient(
        ClientCredentials(CLIENT_ID, SecretStr(CLIENT_SECRET)), login_url=fake.url, query_limit=1
    )
    try:
        read, _ = await _all_accounts(client, None)
    finally:
        await client.aclose()
    # Had the quote ended the literal, the stand-in (as Salesforce) would refuse the query
    # as MALFORMED_QUERY, or the OR would read every account again.
    assert [a.id for a in read] == [odd, "001z"]
    assert "AND Id > '001x\\' OR Name != \\'y\\\\'))" in fake.queries()[1]


async def test_an_unreadable_cursor_is_refused_before_any_call(
    fake: FakeSalesforceApi, client: SalesforceClient
) -> None:
    with pytest.raises(CrmError, match="is not a Salesforce cursor"):
        await _all_accounts(client, "1700000000")
    assert fake.calls == []


async def test_a_next_records_url_off_the_api_is_not_followed(
    fake: FakeSalesforceApi, client: SalesforceClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Salesforce's nextRecordsUrl is a path on the instance; the bearer token goes nowhere
    # else, whatever an answer says.
    fake.batch_size = 1
    fake.add_account("001a", modified_at=SHARED)
    fake.add_account("001b", modified_at=SHARED)
    original = fake._batch

    def elsewhere(*args: Any) -> dict[str, Any]:
        answer = original(*args)
        if "nextRecordsUrl" in answer:
            answer["nextRecordsUrl"] = "https://attacker.example/services/data/v62.0/query/x-1"
        return answer

    monkeypatch.setattr(fake, "_batch", elsewhere)
    with pytest.raises(CrmError, match="is not a query locator"):
        await _all_accounts(client, None)


# --- writing ---------------------------------------------------------------------------------


async def test_450_writes_are_three_calls_of_200_200_and_50(
    fake: FakeSalesforceApi, client: SalesforceClient
) -> None:
    ids = [f"0015e00000W{n:04d}AAA" for n in range(450)]
    for record_id in ids:
        fake.add_account(record_id, modified_at=T0)
    writes = [_score(record_id, score=n % 100) for n, record_id in enumerate(ids)]

    written: list[str] = []
    for start in range(0, len(writes), client.max_batch):
        result = await client.write_scores(writes[start : start + client.max_batch])
        assert result.refused == ()
        written.extend(result.written)

    assert written == ids
    patches = fake.api_calls("/composite/sobjects")
    assert [len(c.body["records"]) for c in patches] == [200, 200, 50]
    assert all(c.method == "PATCH" and c.body["allOrNone"] is False for c in patches)
    assert patches[0].body["records"][1] == {
        "attributes": {"type": "Account"},
        "id": ids[1],
        "Tipoff_Score__c": 1,
        "Tipoff_Track__c": "hot",
        "Tipoff_Evidence__c": "3 people active this week\nDemo requested",
        "Tipoff_Scored_At__c": "2026-11-30T10:15:30Z",
    }
    assert fake.accounts[ids[449]].values["Tipoff_Score__c"] == 49
    assert fake.accounts[ids[449]].modified_at == fake.now  # a write is a modification
    with pytest.raises(ValueError, match="at most 200"):
        await client.write_scores([_score(i) for i in ids[:201]])


async def test_a_deleted_record_is_refused_and_the_others_written(
    fake: FakeSalesforceApi, client: SalesforceClient
) -> None:
    for record_id in ("001a", "001b", "001c"):
        fake.add_account(record_id, modified_at=T0)
    fake.delete("001b")

    result = await client.write_scores(
        [_score("001a"), _score("001b"), _score("001c", track="no-such-track")]
    )

    assert result.written == ("001a",)
    assert [(r.account_id, r.reason) for r in result.refused] == [
        ("001b", "ENTITY_IS_DELETED: entity is deleted"),
        (
            "001c",
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: Tipoff Track: bad value for "
            "restricted picklist field: no-such-track (Tipoff_Track__c)",
        ),
    ]
    assert fake.accounts["001a"].values["Tipoff_Track__c"] == "hot"
    assert fake.accounts["001c"].values == {}
    assert len(fake.api_calls("/composite/sobjects")) == 1


async def test_evidence_longer_than_its_field_is_shortened_not_refused(
    fake: FakeSalesforceApi, client: SalesforceClient
) -> None:
    fake.account_fields["Tipoff_Evidence__c"].length = 255  # a plain Text Area
    fake.add_account("001a", modified_at=T0)
    long_evidence = "\n".join(f"visited the pricing page {n} times" for n in range(40))
    write = ScoreWrite("001a", 90, "hot", long_evidence, datetime(2026, 11, 30, tzinfo=UTC))

    result = await client.write_scores([write])

    assert result.written == ("001a",)
    kept = fake.accounts["001a"].values["Tipoff_Evidence__c"]
    assert len(kept) == 255 and kept.endswith("…") and long_evidence.startswith(kept[:-1])


# --- limits, sessions, secrets ----------------------------------------------------------------


async def test_request_limit_exceeded_stops_the_run(
    fake: FakeSalesforceApi, client: SalesforceClient
) -> None:
    fake.add_account("001a", modified_at=T0)
    await client.prepare(dry_run=False)
    fake.fail_next("REQUEST_LIMIT_EXCEEDED")
    with pytest.raises(CrmLimitReached, match="REQUEST_LIMIT_EXCEEDED: TotalRequests Limit"):
        await _all_accounts(client, None)

    fake.fail_next("REQUEST_LIMIT_EXCEEDED")
    with pytest.raises(CrmLimitReached):
        await client.write_scores([_score("001a")])
    assert fake.accounts["001a"].values == {}
    assert len(fake.api_calls()) == 3  # describe, query, update: none repeated


async def test_an_expired_session_is_renewed_once_and_the_call_repeated(
    fake: FakeSalesforceApi, client: SalesforceClient
) -> None:
    fake.add_account("001a", modified_at=T0)
    await client.prepare(dry_run=False)
    fake.expire_sessions()

    result = await client.write_scores([_score("001a")])

    assert result.written == ("001a",)
    assert len(fake.token_calls()) == 2
    first, second = fake.api_calls("/composite/sobjects")
    assert first.headers["authorization"] == f"Bearer {fake.issued_tokens[0]}"
    assert second.headers["authorization"] == f"Bearer {fake.issued_tokens[1]}"


async def test_a_second_invalid_session_in_a_row_raises_instead_of_looping(
    fake: FakeSalesforceApi, client: SalesforceClient
) -> None:
    fake.fail_next("INVALID_SESSION_ID", times=5)
    with pytest.raises(CrmError, match="INVALID_SESSION_ID: Session expired or invalid"):
        await client.prepare(dry_run=False)
    assert len(fake.token_calls()) == 2  # the first sign-in and one renewal
    assert len(fake.api_calls()) == 2


async def test_no_secret_in_logs_errors_or_reprs(
    fake: FakeSalesforceApi,
    key_file: Path,
    connected_app_key: rsa.RSAPrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.add_account("001a", modified_at=T0)
    fake.add_account("001b", modified_at=T0)
    fake.delete("001b")
    said: list[str] = []

    secret_client = SalesforceClient(
        ClientCredentials(CLIENT_ID, SecretStr(CLIENT_SECRET)), login_url=fake.url
    )
    jwt_client = SalesforceClient(
        JwtBearer.from_key_file(CLIENT_ID, USERNAME, key_file), login_url=fake.url
    )
    try:
        for client in (secret_client, jwt_client):
            said.append(repr(client))
            await client.prepare(dry_run=False)
            await _all_accounts(client, None)
            result = await client.write_scores([_score("001a"), _score("001b")])
            said.extend(r.reason for r in result.refused)
            fake.expire_sessions()
            await client.write_scores([_score("001a")])  # signed in again
            fake.fail_next("REQUEST_LIMIT_EXCEEDED")
            with pytest.raises(CrmLimitReached) as limit:
                await _all_accounts(client, None)
            fake.fail_next("INVALID_SESSION_ID", times=2)
            with pytest.raises(CrmError) as expired:
                await client.write_scores([_score("001a")])
            said += [str(limit.value), str(expired.value)]
        fake.client_secret = "rotated-by-an-admin"
        fake.expire_sessions()
        with pytest.raises(CrmError) as refused:
            await secret_client.write_scores([_score("001a")])
        said.append(str(refused.value))
    finally:
        await secret_client.aclose()
        await jwt_client.aclose()

    everything = caplog.text + "\n".join(said)
    assert len(fake.issued_tokens) >= 4
    key_body = _pem(connected_app_key).decode().splitlines()[1]
    for secret in (CLIENT_SECRET, key_body, *fake.issued_tokens):
        assert secret not in everything
