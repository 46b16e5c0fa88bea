"""A loopback stand-in for Salesforce's OAuth token endpoint and REST API, recording every call.

A real HTTP server (stdlib, in a thread), serving both the login server and the org's
instance: point the client's login URL (and, when `instance_url` is changed, its instance
URL) at `FakeSalesforceApi.url`. Shaped as Salesforce documents them:

- `POST /services/oauth2/token`, form-encoded: the client credentials grant (client_id +
  client_secret) and the JWT bearer grant (an RS256 assertion checked with PyJWT against
  `public_key`: iss = CLIENT_ID, sub = USERNAME, aud = the login URL, exp). Answers
  {access_token, instance_url, id, token_type, issued_at, signature}, or 400
  {error, error_description}. The username-password grant is `unsupported_grant_type`.
- `GET /services/data/vXX.X/query?q=SOQL`, for the one query shape Tipoff sends (fields,
  optionally `WHERE (SystemModstamp > t OR (SystemModstamp = t AND Id > 'id'))`,
  `ORDER BY SystemModstamp, Id LIMIT n`), string literals unescaped as SOQL does; any other
  text is 400 MALFORMED_QUERY, an unknown column INVALID_FIELD. Answers come in batches
  of `batch_size` (Salesforce's 2,000) with `done` and `nextRecordsUrl`
  (`GET /services/data/vXX.X/query/<locator>-<offset>`).
- `GET /services/data/vXX.X/sobjects/Account/describe`, listing `account_fields`.
- `PATCH /services/data/vXX.X/composite/sobjects` ({allOrNone, records}, at most 200):
  SaveResults in order, {id, success, errors: [{statusCode, message, fields}]}: a deleted
  record ENTITY_IS_DELETED, a value a restricted picklist does not list
  INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, text over a field's length STRING_TOO_LONG. A
  write moves the record's SystemModstamp to `now`, as Salesforce does.
- API errors are Salesforce's JSON list [{"message", "errorCode"}]: a token not issued
  (or expired by `expire_sessions()`) is 401 INVALID_SESSION_ID, and

      fake.fail_next("REQUEST_LIMIT_EXCEEDED")             # 403, the org's daily allowance
      fake.fail_next("INVALID_SESSION_ID", times=2)        # 401 even to a fresh token
      fake.fail_next("REQUEST_LIMIT_EXCEEDED", on="/composite/sobjects")  # at the write

  make the next API calls (those to a path ending with `on`, when given) fail so.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt

from tests.fakes.loopback import LoopbackApi, Reply, Request

CLIENT_ID = "3MVG9TIPOFF_fake.consumer.key.0123456789"
CLIENT_SECRET = "F4KE0C0NSUMER5ECRET0123456789ABCDEF"
USERNAME = "tipoff-integration@example.com"
ORG_ID = "00D5e000000TIPOFF"
USER_ID = "0055e000001TIPOFF"
MAX_COLLECTION = 200
TRACKS = ("hot", "sales-ready", "monitor", "nurture", "low-touch")

_STANDARD_FIELDS = {
    "Account": ("Id", "Name", "Website", "OwnerId", "Owner.Email", "SystemModstamp"),
    "Opportunity": (
        "Id",
        "AccountId",
        "CreatedDate",
        "IsClosed",
        "IsWon",
        "CloseDate",
        "Amount",
        "SystemModstamp",
    ),
}


@dataclass(frozen=True)
class SalesforceCall:
    method: str  # the HTTP method
    path: str  # without the query string
    query: dict[str, str]
    body: Any  # JSON, or the form's fields
    headers: dict[str, str]  # lower-cased names


@dataclass
class FakeField:
    """An Account field as describe lists it."""

    name: str
    type: str  # describe's: double, string, picklist, textarea, datetime, …
    label: str
    length: int = 0
    updateable: bool = True
    picklist: tuple[str, ...] = ()  # a restricted picklist's values
    extra_type_info: str | None = None


def tipoff_fields() -> dict[str, FakeField]:
    """Tipoff's Account fields as docs/salesforce.md tells an admin to create them."""
    fields = [
        FakeField("Tipoff_Score__c", "double", "Tipoff Score"),
        FakeField("Tipoff_Track__c", "picklist", "Tipoff Track", length=255, picklist=TRACKS),
        FakeField(
            "Tipoff_Evidence__c",
            "textarea",
            "Tipoff Evidence",
            length=32768,
            extra_type_info="plaintextarea",
        ),
        FakeField("Tipoff_Scored_At__c", "datetime", "Tipoff Scored At"),
    ]
    return {f.name: f for f in fields}


@dataclass
class FakeAccount:
    id: str
    name: str
    website: str | None
    owner_email: str | None
    modified_at: datetime
    values: dict[str, Any] = field(default_factory=dict)  # custom fields written


@dataclass
class FakeOpportunity:
    id: str
    account_id: str | None
    created_at: datetime
    modified_at: datetime
    is_closed: bool = False
    is_won: bool = False
    close_date: date | None = None
    amount: float | None = None


@dataclass
class _Failure:
    code: str
    status: int
    message: str
    times: int
    on: str | None = None  # only calls to a path ending with this


@dataclass
class _Answer:
    status: int
    body: Any


_DEFAULT_STATUS = {"REQUEST_LIMIT_EXCEEDED": 403, "INVALID_SESSION_ID": 401}
_DEFAULT_MESSAGE = {
    "REQUEST_LIMIT_EXCEEDED": "TotalRequests Limit exceeded.",
    "INVALID_SESSION_ID": "Session expired or invalid",
}
_API_PATH = re.compile(r"^/services/data/v(?P<version>\d+\.\d)(?P<rest>/.*)$")
_QUERY = re.compile(
    r"SELECT (?P<fields>[\w.]+(?:, [\w.]+)*) FROM (?P<object>\w+)"
    r"(?: WHERE \(SystemModstamp > (?P<after>\S+) OR \(SystemModstamp = (?P<same>\S+)"
    r" AND Id > '(?P<id>(?:[^'\\]|\\.)*)'\)\))?"
    r" ORDER BY SystemModstamp, Id LIMIT (?P<limit>\d+)"
)
_SOQL_UNESCAPES = {
    "\\": "\\",
    "'": "'",
    '"': '"',
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
}


class FakeSalesforceApi(LoopbackApi):
    def __init__(self, *, public_key: bytes | None = None, batch_size: int = 2000) -> None:
        self.public_key = public_key  # PEM of the JWT bearer flow's certificate key
        self.client_secret = CLIENT_SECRET
        self.batch_size = batch_size
        # What the token answer names as the org's instance; None: this server.
        self.instance_url: str | None = None
        self.accounts: dict[str, FakeAccount] = {}
        self.opportunities: dict[str, FakeOpportunity] = {}
        self.deleted: set[str] = set()
        self.account_fields: dict[str, FakeField] = tipoff_fields()
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a write's SystemModstamp
        self.issued_tokens: list[str] = []
        self._valid_tokens: set[str] = set()
        self._calls: list[SalesforceCall] = []
        self._failures: list[_Failure] = []
        self._locators: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        self._locator_ids = itertools.count(1)
        self._lock = threading.Lock()
        super().__init__()

    # --- what tests set up -------------------------------------------------------------

    def add_account(
        self,
        account_id: str,
        *,
        name: str = "",
        website: str | None = None,
        owner_email: str | None = "owner@example.com",
        modified_at: datetime,
    ) -> FakeAccount:
        account = FakeAccount(account_id, name or account_id, website, owner_email, modified_at)
        with self._lock:
            self.accounts[account_id] = account
        return account

    def add_opportunity(self, opportunity: FakeOpportunity) -> None:
        with self._lock:
            self.opportunities[opportunity.id] = opportunity

    def delete(self, record_id: str) -> None:
        """The record goes to the recycle bin: queries skip it, updates are refused."""
        with self._lock:
            self.accounts.pop(record_id, None)
            self.opportunities.pop(record_id, None)
            self.deleted.add(record_id)

    def expire_sessions(self) -> None:
        """Every access token issued so far stops working (a session timeout)."""
        with self._lock:
            self._valid_tokens.clear()

    def fail_next(
        self,
        code: str,
        *,
        status: int | None = None,
        message: str | None = None,
        times: int = 1,
        on: str | None = None,
    ) -> None:
        """The next `times` API calls (not sign-ins), or those to a path ending with `on`,
        answer [{"message", "errorCode": code}]."""
        with self._lock:
            self._failures.append(
                _Failure(
                    code,
                    status or _DEFAULT_STATUS.get(code, 400),
                    message or _DEFAULT_MESSAGE.get(code, code),
                    times,
                    on,
                )
            )

    # --- what tests read ---------------------------------------------------------------

    @property
    def calls(self) -> list[SalesforceCall]:
        with self._lock:
            return list(self._calls)

    def token_calls(self) -> list[SalesforceCall]:
        return [c for c in self.calls if c.path == "/services/oauth2/token"]

    def api_calls(self, ending: str = "") -> list[SalesforceCall]:
        return [
            c
            for c in self.calls
            if c.path.startswith("/services/data/") and c.path.rstrip("/").endswith(ending)
        ]

    def queries(self) -> list[str]:
        """The SOQL of every query call, in order."""
        return [c.query["q"] for c in self.api_calls("/query")]

    # --- the server --------------------------------------------------------------------

    def _reply(self, request: Request) -> Reply:
        answer = self._answer(request.method, request.target, request.raw, request.headers)
        return Reply(
            answer.status,
            answer.body,
            "application/json;charset=UTF-8",
            {"Sforce-Limit-Info": "api-usage=25/15000"},
        )

    def _answer(self, method: str, target: str, raw: bytes, headers: dict[str, str]) -> _Answer:
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        content_type = headers.get("content-type", "")
        body: Any = None
        if raw and content_type.startswith("application/json"):
            body = json.loads(raw)
        elif raw:
            body = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        with self._lock:
            self._calls.append(SalesforceCall(method, parts.path, query, body, headers))
        if parts.path == "/services/oauth2/token" and method == "POST":
            if not content_type.startswith("application/x-www-form-urlencoded"):
                return _oauth_error("invalid_request", "grant type not supported")
            return self._token(body or {})
        matched = _API_PATH.match(parts.path)
        if matched is None:
            return _api_error(404, "NOT_FOUND", "The requested resource does not exist")
        with self._lock:
            for failure in self._failures:
                if failure.times > 0 and (
                    failure.on is None or parts.path.rstrip("/").endswith(failure.on)
                ):
                    failure.times -= 1
                    return _api_error(failure.status, failure.code, failure.message)
            auth = headers.get("authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in self._valid_tokens:
                return _api_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        version, rest = matched["version"], matched["rest"]
        if method == "GET" and rest == "/query":
            return self._query(version, query.get("q", ""))
        if method == "GET" and rest.startswith("/query/"):
            return self._query_more(rest.removeprefix("/query/"))
        if method == "GET" and rest == "/sobjects/Account/describe":
            return _Answer(200, self._describe())
        if method == "PATCH" and rest.rstrip("/") == "/composite/sobjects":
            return self._update(body)
        return _api_error(404, "NOT_FOUND", "The requested resource does not exist")

    def _token(self, form: dict[str, str]) -> _Answer:
        grant = form.get("grant_type")
        if grant == "client_credentials":
            if form.get("client_id") != CLIENT_ID:
                return _oauth_error("invalid_client_id", "client identifier invalid")
            if form.get("client_secret") != self.client_secret:
                return _oauth_error("invalid_client", "invalid client credentials")
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            refused = self._check_assertion(form.get("assertion", ""))
            if refused is not None:
                return refused
        else:
            return _oauth_error("unsupported_grant_type", "grant type not supported")
        token = f"{ORG_ID}!AQ{secrets.token_urlsafe(48)}"
        with self._lock:
            self.issued_tokens.append(token)
            self._valid_tokens.add(token)
        issued_at = str(int(self.now.timestamp() * 1000))
        return _Answer(
            200,
            {
                "access_token": token,
                "signature": secrets.token_urlsafe(32),
                "scope": "api",
                "instance_url": self.instance_url or self.url,
                "id": f"{self.url}/id/{ORG_ID}/{USER_ID}",
                "token_type": "Bearer",
                "issued_at": issued_at,
            },
        )

    def _check_assertion(self, assertion: str) -> _Answer | None:
        if self.public_key is None:
            return _oauth_error("invalid_grant", "invalid assertion")
        try:
            claims = jwt.decode(
                assertion,
                self.public_key,
                algorithms=["RS256"],
                audience=self.url,
                options={"require": ["iss", "sub", "aud", "exp"]},
            )
        except jwt.InvalidAudienceError:
            return _oauth_error("invalid_grant", "audience is invalid")
        except jwt.ExpiredSignatureError:
            return _oauth_error("invalid_grant", "expired authorization code")
        except jwt.PyJWTError:
            return _oauth_error("invalid_grant", "invalid assertion")
        if claims["iss"] != CLIENT_ID:
            return _oauth_error("invalid_client_id", "client identifier invalid")
        if claims["sub"] != USERNAME:
            return _oauth_error("invalid_grant", "user hasn't approved this consumer")
        return None

    # --- query -------------------------------------------------------------------------

    def _query(self, version: str, soql: str) -> _Answer:
        matched = _QUERY.fullmatch(soql)
        if matched is None:
            return _api_error(400, "MALFORMED_QUERY", f"unexpected token in: {soql[:200]}")
        sobject, fields = matched["object"], matched["fields"].split(", ")
        known = _STANDARD_FIELDS.get(sobject)
        if known is None:
            return _api_error(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        for name in fields:
            if name not in known and not (sobject == "Account" and name in self.account_fields):
                return _api_error(
                    400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'."
                )
        after: tuple[datetime, str] | None = None
        if matched["after"] is not None:
            if matched["after"] != matched["same"]:
                return _api_error(400, "MALFORMED_QUERY", "two different times")
            try:
                stamp = datetime.fromisoformat(matched["after"])
                after = (stamp, _soql_unescape(matched["id"]))
            except ValueError as exc:
                return _api_error(400, "MALFORMED_QUERY", str(exc))
        with self._lock:
            rows: list[Any] = list(
                self.accounts.values() if sobject == "Account" else self.opportunities.values()
            )
        rows.sort(key=lambda r: (r.modified_at, r.id))
        if after is not None:
            rows = [r for r in rows if (r.modified_at, r.id) > after]
        rows = rows[: int(matched["limit"])]
        records = [self._render(version, sobject, fields, r) for r in rows]
        locator = f"01gFAKE{next(self._locator_ids):010d}"
        with self._lock:
            self._locators[locator] = (version, records)
        return _Answer(200, self._batch(version, locator, records, 0))

    def _query_more(self, locator_and_offset: str) -> _Answer:
        locator, _, offset = locator_and_offset.rpartition("-")
        with self._lock:
            found = self._locators.get(locator)
        if found is None or not offset.isdigit():
            return _api_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        version, records = found
        return _Answer(200, self._batch(version, locator, records, int(offset)))

    def _batch(
        self, version: str, locator: str, records: list[dict[str, Any]], offset: int
    ) -> dict[str, Any]:
        end = offset + self.batch_size
        answer: dict[str, Any] = {
            "totalSize": len(records),
            "done": end >= len(records),
            "records": records[offset:end],
        }
        if end < len(records):
            answer["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{end}"
        return answer

    def _render(self, version: str, sobject: str, fields: list[str], row: Any) -> dict[str, Any]:
        record: dict[str, Any] = {
            "attributes": {
                "type": sobject,
                "url": f"/services/data/v{version}/sobjects/{sobject}/{row.id}",
            }
        }
        for name in fields:
            if name == "Owner.Email":
                record["Owner"] = (
                    {
                        "attributes": {
                            "type": "User",
                            "url": f"/services/data/v{version}/sobjects/User/{USER_ID}",
                        },
                        "Email": row.owner_email,
                    }
                    if row.owner_email is not None
                    else None
                )
            else:
                record[name] = self._value(name, row)
        return record

    @staticmethod
    def _value(name: str, row: Any) -> Any:
        if isinstance(row, FakeAccount):
            standard = {
                "Id": row.id,
                "Name": row.name,
                "Website": row.website,
                "OwnerId": USER_ID,
                "SystemModstamp": _stamp(row.modified_at),
            }
            return standard[name] if name in standard else row.values.get(name)
        return {
            "Id": row.id,
            "AccountId": row.account_id,
            "CreatedDate": _stamp(row.created_at),
            "IsClosed": row.is_closed,
            "IsWon": row.is_won,
            "CloseDate": row.close_date.isoformat() if row.close_date else None,
            "Amount": row.amount,
            "SystemModstamp": _stamp(row.modified_at),
        }[name]

    # --- describe and update -----------------------------------------------------------

    def _describe(self) -> dict[str, Any]:
        standard = [
            _describe_field("Id", "id", "Account ID", length=18, updateable=False),
            _describe_field("Name", "string", "Account Name", length=255),
            _describe_field("Website", "url", "Website", length=255),
            _describe_field("OwnerId", "reference", "Owner ID", length=18),
            _describe_field("SystemModstamp", "datetime", "System Modstamp", updateable=False),
        ]
        with self._lock:
            custom = [
                _describe_field(
                    f.name,
                    f.type,
                    f.label,
                    length=f.length,
                    updateable=f.updateable,
                    custom=True,
                    picklist=f.picklist,
                    extra_type_info=f.extra_type_info,
                )
                for f in self.account_fields.values()
            ]
        return {
            "name": "Account",
            "label": "Account",
            "custom": False,
            "updateable": True,
            "queryable": True,
            "keyPrefix": "001",
            "fields": standard + custom,
        }

    def _update(self, body: Any) -> _Answer:
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            return _api_error(400, "JSON_PARSER_ERROR", "Cannot deserialize request body")
        records = body["records"]
        if len(records) > MAX_COLLECTION:
            return _api_error(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {MAX_COLLECTION} records "
                "into this call",
            )
        with self._lock:
            for record in records:
                for name in record:
                    if name not in ("attributes", "id") and name not in self.account_fields:
                        return _api_error(
                            400,
                            "INVALID_FIELD",
                            f"No such column '{name}' on sobject of type Account",
                        )
            results = [self._save(record) for record in records]
            failed = any(not r["success"] for r in results)
            if body.get("allOrNone") is True and failed:
                return _Answer(200, [_rolled_back(r) for r in results])
            for record, result in zip(records, results, strict=True):
                if result["success"]:
                    account = self.accounts[record["id"]]
                    account.values.update(
                        {k: v for k, v in record.items() if k not in ("attributes", "id")}
                    )
                    account.modified_at = self.now
        return _Answer(200, results)

    def _save(self, record: dict[str, Any]) -> dict[str, Any]:
        """A SaveResult for `record`, checked as Salesforce would (called under the lock)."""
        record_id = record.get("id")
        if (record.get("attributes") or {}).get("type") != "Account":
            return _failed("INVALID_TYPE", "Must send a concrete entity type.", [])
        if record_id in self.deleted:
            return _failed("ENTITY_IS_DELETED", "entity is deleted", [])
        if record_id not in self.accounts:
            return _failed("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
        for name, value in record.items():
            spec = self.account_fields.get(name)
            if spec is None:
                continue
            if not spec.updateable:
                return _failed(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {name}. Please check the security "
                    "settings of this field and verify that it is read/write for your "
                    "profile or permission set.",
                    [name],
                )
            if spec.picklist and value not in spec.picklist:
                return _failed(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{spec.label}: bad value for restricted picklist field: {value}",
                    [name],
                )
            if spec.length and isinstance(value, str) and len(value) > spec.length:
                return _failed(
                    "STRING_TOO_LONG",
                    f"{spec.label}: data value too large: {value[:20]}... "
                    f"(max length={spec.length})",
                    [name],
                )
        return {"id": record_id, "success": True, "errors": []}


def _stamp(moment: datetime) -> str:
    """A dateTime as Salesforce writes one: 2026-12-01T09:00:00.000+0000."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _soql_unescape(literal: str) -> str:
    out: list[str] = []
    chars = iter(literal)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")
            if escaped not in _SOQL_UNESCAPES:
                raise ValueError(f"invalid escape sequence \\{escaped}")
            out.append(_SOQL_UNESCAPES[escaped])
        else:
            out.append(char)
    return "".join(out)


def _describe_field(
    name: str,
    kind: str,
    label: str,
    *,
    length: int = 0,
    updateable: bool = True,
    custom: bool = False,
    picklist: tuple[str, ...] = (),
    extra_type_info: str | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": kind,
        "soapType": {"double": "xsd:double", "datetime": "xsd:dateTime"}.get(kind, "xsd:string"),
        "length": length,
        "precision": 18 if kind == "double" else 0,
        "scale": 0,
        "custom": custom,
        "createable": updateable,
        "updateable": updateable,
        "nillable": custom,
        "extraTypeInfo": extra_type_info,
        "restrictedPicklist": bool(picklist),
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
            for v in picklist
        ],
    }


def _failed(code: str, message: str, fields: list[str]) -> dict[str, Any]:
    return {
        "success": False,
        "errors": [{"statusCode": code, "message": message, "fields": fields}],
    }


def _rolled_back(result: dict[str, Any]) -> dict[str, Any]:
    if not result["success"]:
        return result
    return _failed(
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using "
        "AllOrNone header",
        [],
    )


def _api_error(status: int, code: str, message: str) -> _Answer:
    return _Answer(status, [{"message": message, "errorCode": code}])


def _oauth_error(error: str, description: str) -> _Answer:
    return _Answer(400, {"error": error, "error_description": description})


@contextmanager
def running_fake_salesforce(
    *, public_key: bytes | None = None, batch_size: int = 2000
) -> Iterator[FakeSalesforceApi]:
    fake = FakeSalesforceApi(public_key=public_key, batch_size=batch_size)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
