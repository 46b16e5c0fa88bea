"""Salesforce's REST API as a `records.CrmClient`: Accounts and Opportunities in, scores out.

Sign-in is OAuth 2.0 without a person present, by either of the connected app's flows
Salesforce recommends for a server (never username-password, which it is retiring):

- client credentials: `client_id` + `client_secret`, posted to the My Domain's token
  endpoint; the app runs as the integration user set on the connected app;
- JWT bearer: an assertion (iss = client id, sub = username, aud = the login server, exp)
  signed RS256 with the private key whose certificate the connected app holds. Signing
  needs `cryptography` (the `salesforce` extra), imported only for this flow.

The token answer names the org's `instance_url`, where every API call goes (unless
`instance_url` is given: a proxy, or a test's stand-in). A call answered 401
INVALID_SESSION_ID (the session expired or was revoked) signs in again once and is
repeated once; REQUEST_LIMIT_EXCEEDED (the org's 24-hour API allowance) raises
`CrmLimitReached`, which stops the run. Neither the secret, the key nor the access token
is ever logged or put into an exception.

Reading is keyset paging on (SystemModstamp, Id): each query asks for records after the
last one read, oldest first, so records sharing one timestamp across pages are neither
skipped nor read twice; Salesforce's own batches within a query (`nextRecordsUrl`) are
followed on the instance only. Writing is one sObject Collections PATCH of up to 200
Accounts with `allOrNone: false`: a record refused (deleted, a value its field refuses)
comes back as a `Refusal` and the others are written.

The Account fields Tipoff writes are created by an admin (docs/salesforce.md); `prepare`
checks them with `describe` and names each one missing, never creates one.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import aiohttp
from pydantic import SecretStr

from tipoff.crm.records import (
    CrmAccount,
    CrmDeal,
    CrmError,
    CrmLimitReached,
    CrmSetupMissing,
    Page,
    Refusal,
    ScoreWrite,
    WriteResult,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    from tipoff.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_LOGIN_URL: Final = "https://login.salesforce.com"
# Winter '25. Everything used here exists since v42.0; a newer version changes nothing
# Tipoff reads, and an org keeps serving a version for years.
DEFAULT_API_VERSION: Final = "62.0"
MAX_BATCH: Final = 200  # sObject Collections: "The list can contain up to 200 objects."
DEFAULT_QUERY_LIMIT: Final = 10_000
# The largest answer read: a query batch is at most 2,000 records of a few fields.
MAX_RESPONSE_BYTES: Final = 32 * 1024 * 1024
JWT_LIFETIME_SECONDS: Final = 180  # Salesforce accepts an assertion up to 3 minutes ahead


@dataclass(frozen=True, slots=True)
class TipoffField:
    """An Account field Tipoff writes, as an admin creates it and as `describe` shows it."""

    name: str
    kind: str
    """The field type as Setup names it, for the admin."""
    describe_types: frozenset[str]
    """The `type`s describe reports for a field of that kind."""


TIPOFF_FIELDS: Final = (
    TipoffField("Tipoff_Score__c", "Number(18, 0)", frozenset({"double", "int"})),
    TipoffField("Tipoff_Track__c", "Text(40) or Picklist", frozenset({"string", "picklist"})),
    TipoffField("Tipoff_Evidence__c", "Long Text Area(32768)", frozenset({"textarea"})),
    TipoffField("Tipoff_Scored_At__c", "Date/Time", frozenset({"datetime"})),
)
ACCOUNT_FIELDS: Final = ("Id", "Name", "Website", "Owner.Email", "SystemModstamp")
OPPORTUNITY_FIELDS: Final = (
    "Id",
    "AccountId",
    "CreatedDate",
    "IsClosed",
    "IsWon",
    "CloseDate",
    "Amount",
    "SystemModstamp",
)


# --- credentials ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """The connected app's consumer key and secret (client credentials flow)."""

    client_id: str
    client_secret: SecretStr

    def token_form(self, login_url: str) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret.get_secret_value(),
        }


class JwtBearer:
    """The connected app's consumer key, the user it acts as, and the private key whose
    certificate the connected app holds (JWT bearer flow)."""

    def __init__(self, client_id: str, username: str, private_key_pem: SecretStr) -> None:
        self.client_id = client_id
        self.username = username
        self._key = _rsa_private_key(private_key_pem)

    @classmethod
    def from_key_file(cls, client_id: str, username: str, path: Path) -> JwtBearer:
        try:
            pem = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise CrmError(
                f"cannot read the Salesforce private key {path} "
                f"({type(exc).__name__}: {getattr(exc, 'strerror', None) or 'not a PEM file'})"
            ) from None
        try:
            return cls(client_id, username, SecretStr(pem))
        except CrmError as exc:
            raise CrmError(f"{path}: {exc}") from None

    def __repr__(self) -> str:
        return f"JwtBearer(client_id={self.client_id!r}, username={self.username!r})"

    def token_form(self, login_url: str) -> dict[str, str]:
        return {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": self.assertion(jwt_audience(login_url), now=time.time()),
        }

    def assertion(self, audience: str, *, now: float) -> str:
        """The signed JWT: header {"alg":"RS256"}, claims iss, sub, aud and exp, as
        Salesforce's "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration" builds
        them."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        claims = {
            "iss": self.client_id,
            "sub": self.username,
            "aud": audience,
            "exp": int(now) + JWT_LIFETIME_SECONDS,
        }
        signing_input = f"{_b64url_json({'alg': 'RS256'})}.{_b64url_json(claims)}"
        signature = self._key.sign(
            signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
        )
        return f"{signing_input}.{_b64url(signature)}"


Credentials = ClientCredentials | JwtBearer


def jwt_audience(login_url: str) -> str:
    """The `aud` of a JWT bearer assertion. Salesforce accepts only its login servers there,
    even when the assertion is posted to a My Domain: test.salesforce.com for a sandbox,
    login.salesforce.com otherwise; any other host (an Experience Cloud site, a stand-in)
    is its own audience."""
    host = (urlsplit(login_url).hostname or "").lower()
    if host == "test.salesforce.com" or host.endswith(".sandbox.my.salesforce.com"):
        return "https://test.salesforce.com"
    if host == "salesforce.com" or host.endswith(".salesforce.com"):
        return DEFAULT_LOGIN_URL
    return login_url.rstrip("/")


def _rsa_private_key(pem: SecretStr) -> RSAPrivateKey:
    try:
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
    except ImportError:
        raise CrmError(
            "Salesforce's JWT bearer flow signs with the `cryptography` package: "
            "pip install 'tipoff[salesforce]' (or use the client credentials flow)"
        ) from None
    try:
        key = load_pem_private_key(pem.get_secret_value().encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        # Never chained: the parser's own message may quote what it read.
        raise CrmError("not an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)") from None
    if not isinstance(key, RSAPrivateKey):
        raise CrmError("Salesforce signs JWT bearer assertions with RSA only; this key is not RSA")
    return key


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_json(value: dict[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode())


# --- SOQL ------------------------------------------------------------------------------------

_SOQL_ESCAPES: Final = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


def soql_string(value: str) -> str:
    """`value` as a quoted SOQL string literal: SOQL escapes with a backslash (O'Brien is
    'O\\'Brien'), so no text from outside can end the literal and add to the query.
    Other control characters have no escape in SOQL and are refused."""
    escaped = []
    for char in value:
        if char in _SOQL_ESCAPES:
            escaped.append(_SOQL_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            raise CrmError(f"a Salesforce id cannot hold the control character {ord(char):#04x}")
        else:
            escaped.append(char)
    return "'" + "".join(escaped) + "'"


def soql_datetime(moment: datetime) -> str:
    """A dateTime literal (unquoted, UTC, `Z`), to the millisecond Salesforce keeps."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Position:
    """Where a read stopped: the last record's SystemModstamp and Id. Encoded as the
    opaque cursor the sync saves."""

    modified_at: datetime
    id: str

    def encode(self) -> str:
        return f"{soql_datetime(self.modified_at)}|{self.id}"

    @classmethod
    def decode(cls, cursor: str) -> Position:
        stamp, sep, record_id = cursor.partition("|")
        try:
            modified_at = datetime.fromisoformat(stamp)
        except ValueError:
            modified_at = None
        if not sep or not record_id or modified_at is None or modified_at.tzinfo is None:
            raise CrmError(
                f"{cursor[:80]!r} is not a Salesforce cursor (a SystemModstamp and an Id)"
            )
        return cls(modified_at, record_id)


def changed_since_query(
    sobject: str, fields: Sequence[str], after: Position | None, limit: int
) -> str:
    """SOQL for `sobject` records modified after `after`, oldest first, ties by Id."""
    where = ""
    if after is not None:
        stamp = soql_datetime(after.modified_at)
        where = (
            f" WHERE (SystemModstamp > {stamp} OR "
            f"(SystemModstamp = {stamp} AND Id > {soql_string(after.id)}))"
        )
    # Only constants and escaped literals are put in: the one outside value, the Id, goes
    # through soql_string.
    select = f"SELECT {', '.join(fields)} FROM {sobject}"  # noqa: S608
    return f"{select}{where} ORDER BY SystemModstamp, Id LIMIT {int(limit)}"


# --- the client ----------------------------------------------------------------------------


class SalesforceClient:
    """One Salesforce org, signed in with `credentials` at `login_url`.

    `login_url`: where tokens come from (login.salesforce.com, test.salesforce.com, or the
    My Domain, which the client credentials flow requires). `instance_url`: where API
    calls go, instead of the token answer's `instance_url`. `api_version`: e.g. "62.0".
    `query_limit`: records a query asks for before the next one continues from the last
    read (Salesforce still answers in its own batches of up to 2,000).
    """

    name = "salesforce"
    account_noun = "Account"
    max_batch = MAX_BATCH

    def __init__(
        self,
        credentials: Credentials,
        *,
        login_url: str = DEFAULT_LOGIN_URL,
        instance_url: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        query_limit: int = DEFAULT_QUERY_LIMIT,
        timeout_seconds: float = 60.0,
    ) -> None:
        if query_limit < 1:
            raise ValueError("query_limit must be at least 1")
        self._credentials = credentials
        self._login_url = login_url.rstrip("/")
        self._instance_override = instance_url.rstrip("/") if instance_url else None
        self._api = f"/services/data/v{api_version.removeprefix('v')}"
        self._query_limit = query_limit
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._http: aiohttp.ClientSession | None = None
        self._token: SecretStr | None = None
        self._instance_url: str | None = None
        self._signing_in = asyncio.Lock()
        self._fields: dict[str, dict[str, Any]] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SalesforceClient:
        """The client TIPOFF_SALESFORCE_* describe (`settings.salesforce_enabled`)."""
        client_id = settings.salesforce_client_id
        if client_id is None:
            raise CrmError("Salesforce is not configured: set TIPOFF_SALESFORCE_CLIENT_ID")
        credentials: Credentials
        if settings.salesforce_client_secret is not None:
            credentials = ClientCredentials(client_id, settings.salesforce_client_secret)
        elif settings.salesforce_username and settings.salesforce_private_key_file:
            credentials = JwtBearer.from_key_file(
                client_id, settings.salesforce_username, settings.salesforce_private_key_file
            )
        else:  # Settings refuses this; a Settings built by hand may not
            raise CrmError(
                "TIPOFF_SALESFORCE_CLIENT_ID needs TIPOFF_SALESFORCE_CLIENT_SECRET, or "
                "TIPOFF_SALESFORCE_USERNAME and TIPOFF_SALESFORCE_PRIVATE_KEY_FILE"
            )
        return cls(
            credentials,
            login_url=settings.salesforce_login_url,
            instance_url=settings.salesforce_instance_url,
            api_version=settings.salesforce_api_version,
        )

    def __repr__(self) -> str:
        return f"SalesforceClient(login_url={self._login_url!r}, credentials={self._credentials!r})"

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    # --- CrmClient ---------------------------------------------------------------------

    async def prepare(self, *, dry_run: bool) -> list[str]:
        """Checks the Account has Tipoff's fields, editable by the integration user; creates
        nothing (an admin does: docs/salesforce.md), so returns []. Described afresh on
        every call: fields an admin created since count at once."""
        fields = await self._account_fields(refresh=True)
        problems = []
        for wanted in TIPOFF_FIELDS:
            field = fields.get(wanted.name)
            if field is None:
                problems.append(f"{wanted.name} ({wanted.kind}) is missing")
            elif field.get("type") not in wanted.describe_types or (
                field.get("extraTypeInfo") == "richtextarea"
            ):
                shown = field.get("extraTypeInfo") or field.get("type")
                problems.append(f"{wanted.name} is of type {shown}, not {wanted.kind}")
            elif not field.get("updateable"):
                problems.append(
                    f"{wanted.name} is not editable by the integration user (field-level security)"
                )
        if problems:
            raise CrmSetupMissing(
                "Salesforce's Account lacks what Tipoff writes; an admin creates or fixes "
                "these fields (docs/salesforce.md): " + "; ".join(problems)
            )
        return []

    async def accounts_since(self, cursor: str | None) -> AsyncIterator[Page[CrmAccount]]:
        async for records, after in self._changed("Account", ACCOUNT_FIELDS, cursor):
            yield Page(tuple(_account(r) for r in records), after)

    async def deals_since(self, cursor: str | None) -> AsyncIterator[Page[CrmDeal]]:
        async for records, after in self._changed("Opportunity", OPPORTUNITY_FIELDS, cursor):
            yield Page(tuple(_deal(r) for r in records), after)

    async def write_scores(self, writes: Sequence[ScoreWrite]) -> WriteResult:
        if len(writes) > self.max_batch:
            raise ValueError(f"Salesforce takes at most {self.max_batch} records a call")
        if not writes:
            return WriteResult((), ())
        fields = await self._account_fields()
        body = {
            "allOrNone": False,
            "records": [_score_record(w, fields) for w in writes],
        }
        results = await self._call("PATCH", f"{self._api}/composite/sobjects", json_body=body)
        if not isinstance(results, list) or len(results) != len(writes):
            raise CrmError(
                f"Salesforce answered {len(writes)} updates with "
                f"{len(results) if isinstance(results, list) else 'no'} results"
            )
        written: list[str] = []
        refused: list[Refusal] = []
        # SaveResults come back in the order the records were sent; a failed one has no id.
        for write, result in zip(writes, results, strict=True):
            if isinstance(result, dict) and result.get("success") is True:
                written.append(write.account_id)
            else:
                refused.append(Refusal(write.account_id, _save_errors(result)))
        return WriteResult(tuple(written), tuple(refused))

    # --- reading -----------------------------------------------------------------------

    async def _changed(
        self, sobject: str, fields: Sequence[str], cursor: str | None
    ) -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
        """Batches of `sobject` records modified after `cursor`, each with the cursor after
        it. A query asks for `query_limit` records; a full one is followed by another from
        the last record read, until one comes back short."""
        after = Position.decode(cursor) if cursor is not None else None
        while True:
            soql = changed_since_query(sobject, fields, after, self._query_limit)
            answer = await self._call("GET", f"{self._api}/query", params={"q": soql})
            read = 0
            while True:
                records = _records(answer)
                if records:
                    read += len(records)
                    after = _position(records[-1])
                    yield records, after.encode()
                next_url = answer.get("nextRecordsUrl")
                if answer.get("done", True) or not next_url:
                    break
                answer = await self._call("GET", self._next_records_path(str(next_url)))
            if read < self._query_limit:
                return

    def _next_records_path(self, next_url: str) -> str:
        # The bearer token goes to the instance only: a locator is a path under the API.
        if not next_url.startswith(f"{self._api}/query/") or ".." in next_url:
            raise CrmError(f"Salesforce's nextRecordsUrl {next_url[:120]!r} is not a query locator")
        return next_url

    async def _account_fields(self, *, refresh: bool = False) -> dict[str, dict[str, Any]]:
        if self._fields is None or refresh:
            described = await self._call("GET", f"{self._api}/sobjects/Account/describe")
            fields = described.get("fields") if isinstance(described, dict) else None
            if not isinstance(fields, list):
                raise CrmError("Salesforce's describe of Account listed no fields")
            self._fields = {
                str(f["name"]): f for f in fields if isinstance(f, dict) and "name" in f
            }
        return self._fields

    # --- HTTP --------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
    ) -> Any:
        """One API call on the instance, its JSON answer. An INVALID_SESSION_ID signs in
        again and repeats the call once; a second one in a row raises."""
        renewed = False
        while True:
            token, instance_url = await self._session()
            status, answer = await self._request(
                method,
                instance_url + path,
                params=params,
                json_body=json_body,
                headers={"Authorization": f"Bearer {token.get_secret_value()}"},
            )
            if status < 300:
                return answer
            codes, message = _api_errors(answer)
            if "REQUEST_LIMIT_EXCEEDED" in codes:
                raise CrmLimitReached(
                    "Salesforce's API request limit for this org is reached "
                    f"(REQUEST_LIMIT_EXCEEDED: {message}); the sync stops until it resets"
                )
            if status == 401 and "INVALID_SESSION_ID" in codes and not renewed:
                log.info("Salesforce session expired or was revoked; signing in again")
                await self._sign_in(expired=token)
                renewed = True
                continue
            said = ", ".join(sorted(codes)) or f"HTTP {status}"
            if message:
                said += f": {message}"
            raise CrmError(f"Salesforce refused {method} {path}: {said}")

    async def _session(self) -> tuple[SecretStr, str]:
        if self._token is None or self._instance_url is None:
            await self._sign_in(expired=None)
        assert self._token is not None and self._instance_url is not None
        return self._token, self._instance_url

    async def _sign_in(self, *, expired: SecretStr | None) -> None:
        async with self._signing_in:
            if self._token is not None and self._token is not expired:
                return  # another call signed in while this one waited
            self._token = None
            status, answer = await self._request(
                "POST",
                f"{self._login_url}/services/oauth2/token",
                form=self._credentials.token_form(self._login_url),
            )
            if status != 200 or not isinstance(answer, dict) or "access_token" not in answer:
                error = answer if isinstance(answer, dict) else {}
                said = _text(error.get("error")) or f"HTTP {status}"
                if description := _text(error.get("error_description")):
                    said += f": {description}"
                raise CrmError(
                    f"Salesforce refused Tipoff's sign-in ({said}); check TIPOFF_SALESFORCE_* "
                    "and the connected app (docs/salesforce.md)"
                )
            instance = self._instance_override or _text(answer.get("instance_url"))
            if not instance:
                raise CrmError("Salesforce's token answer names no instance_url")
            self._token = SecretStr(str(answer["access_token"]))
            self._instance_url = instance.rstrip("/")
            log.info("Signed in to Salesforce (%s)", type(self._credentials).__name__)

    async def _request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=self._timeout, headers={"Accept": "application/json"}
            )
        try:
            async with self._http.request(
                method, url, params=params, json=json_body, data=form, headers=headers
            ) as response:
                raw = await _read_bounded(response)
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Not chained and without the request: aiohttp's own message never holds the
            # headers, but a wrapped one could.
            raise CrmError(
                f"Salesforce could not be reached at {urlsplit(url).netloc}: {type(exc).__name__}"
            ) from None
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None


async def _read_bounded(response: aiohttp.ClientResponse) -> bytes:
    if (response.content_length or 0) > MAX_RESPONSE_BYTES:
        raise CrmError(f"Salesforce's answer is over {MAX_RESPONSE_BYTES} bytes; not read")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise CrmError(f"Salesforce's answer is over {MAX_RESPONSE_BYTES} bytes; not read")
        chunks.append(chunk)
    return b"".join(chunks)


# --- Salesforce's records as Tipoff's ----------------------------------------------------------


def _records(answer: Any) -> list[dict[str, Any]]:
    records = answer.get("records") if isinstance(answer, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise CrmError("Salesforce's query answer holds no records list")
    return records


def _position(record: dict[str, Any]) -> Position:
    return Position(_datetime(record.get("SystemModstamp"), "SystemModstamp"), str(record["Id"]))


def _account(record: dict[str, Any]) -> CrmAccount:
    owner = record.get("Owner")
    return CrmAccount(
        id=str(record["Id"]),
        name=_text(record.get("Name")),
        domain=None,  # Account has no domain field: the sync matches on Website
        website=_text(record.get("Website")),
        owner_email=_text(owner.get("Email")) if isinstance(owner, dict) else None,
        modified_at=_datetime(record.get("SystemModstamp"), "SystemModstamp"),
    )


def _deal(record: dict[str, Any]) -> CrmDeal:
    closed = record.get("IsClosed") is True
    close_date = record.get("CloseDate")
    account_id = _text(record.get("AccountId"))
    return CrmDeal(
        id=str(record["Id"]),
        account_ids=(account_id,) if account_id else (),
        created_at=_datetime(record.get("CreatedDate"), "CreatedDate"),
        is_closed=closed,
        is_won=closed and record.get("IsWon") is True,
        # CloseDate is a date (no time, no zone): the day's start in UTC. While open it is
        # a forecast, not an outcome.
        closed_at=_date(close_date) if closed and close_date else None,
        amount=_amount(record.get("Amount")),
        modified_at=_datetime(record.get("SystemModstamp"), "SystemModstamp"),
    )


def _datetime(value: Any, field: str) -> datetime:
    # Salesforce writes dateTimes as 2024-05-01T09:30:00.000+0000.
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise CrmError(f"Salesforce's {field} {str(value)[:40]!r} is not a date and time") from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _date(value: Any) -> datetime:
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        raise CrmError(f"Salesforce's CloseDate {str(value)[:40]!r} is not a date") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _amount(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return format(Decimal(repr(value)).normalize(), "f")
    return _text(value)


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _score_record(write: ScoreWrite, fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "attributes": {"type": "Account"},
        "id": write.account_id,
        "Tipoff_Score__c": write.score,
        "Tipoff_Track__c": _fit(write.track, fields.get("Tipoff_Track__c")),
        "Tipoff_Evidence__c": _fit(write.evidence, fields.get("Tipoff_Evidence__c")),
        "Tipoff_Scored_At__c": soql_datetime(write.scored_at),
    }


def _fit(text: str, field: dict[str, Any] | None) -> str:
    """`text` cut to the field's length (describe's `length`, in characters), so a long
    evidence list is shortened rather than refused as STRING_TOO_LONG."""
    length = field.get("length") if field else None
    if isinstance(length, int) and 0 < length < len(text):
        return text[: length - 1] + "…"
    return text


def _save_errors(result: Any) -> str:
    errors = result.get("errors") if isinstance(result, dict) else None
    if not isinstance(errors, list) or not errors:
        return "refused without a reason"
    said = []
    for error in errors:
        if not isinstance(error, dict):
            continue
        reason = f"{_text(error.get('statusCode')) or 'ERROR'}: {_text(error.get('message')) or ''}"
        fields = error.get("fields")
        if isinstance(fields, list) and fields:
            reason += f" ({', '.join(str(f) for f in fields)})"
        said.append(reason.strip())
    return "; ".join(said) or "refused without a reason"


def _api_errors(answer: Any) -> tuple[set[str], str]:
    """The errorCodes and messages of Salesforce's error answer: a list of
    {"message", "errorCode"} (some gateways answer a single such object)."""
    items = answer if isinstance(answer, list) else [answer] if isinstance(answer, dict) else []
    codes = {str(i["errorCode"]) for i in items if isinstance(i, dict) and "errorCode" in i}
    messages = [str(i["message"]) for i in items if isinstance(i, dict) and "message" in i]
    return codes, "; ".join(messages)[:500]
