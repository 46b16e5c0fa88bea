"""A loopback stand-in for HubSpot's CRM API that records every call.

A real HTTP server (stdlib, in a thread), like tests/fakes/slack_api.py: point
`TIPOFF_HUBSPOT_API_URL` at `FakeHubSpotApi.url`. It answers, with HubSpot's documented
request and response bodies:

    GET  /crm/v3/properties/companies/groups/{name}     POST /crm/v3/properties/companies/groups
    GET  /crm/v3/properties/companies/{name}            POST /crm/v3/properties/companies
    POST /crm/v3/objects/{companies,deals}/search       (filterGroups, sorts, limit ≤ 200,
                                                         `after` + limit ≤ 10,000)
    POST /crm/v3/objects/companies/batch/update         (≤ 100 inputs; 200, 207 with
                                                         per-record errors, or 400)
    POST /crm/v4/associations/deals/companies/batch/read
    GET  /crm/v3/owners/{ownerId}

checks the Bearer token (401 otherwise), and sets `hs_lastmodifieddate` to `now_ms` (a
millisecond later each time) on every write, as HubSpot does. Failures are programmed:

    fake.fail_next("/search", status=429)                       # ten-secondly, no Retry-After
    fake.fail_next("/batch/update", status=429, retry_after=1)
    fake.fail_next(None, status=429, policy="DAILY")            # the daily limit
    fake.invalid.add("101")   # an update of company 101 fails validation (400, whole batch)
    del fake.companies["102"] # a deleted company: 207 with OBJECT_NOT_FOUND for its id
"""

from __future__ import annotations

import itertools
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.fakes.loopback import LoopbackApi, Reply, Request

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class HubSpotCall:
    method: str
    path: str
    body: Any
    headers: dict[str, str]


@dataclass
class _Failure:
    path: str | None
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


def iso(ms: int) -> str:
    """HubSpot's way of writing a date-time property: ISO 8601, milliseconds, Z."""
    at = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def ms(at: datetime) -> int:
    return int((at - EPOCH).total_seconds() * 1000)


class FakeHubSpotApi(LoopbackApi):
    def __init__(self, *, token: str = TOKEN, now: datetime | None = None) -> None:
        self.token = token
        # The time HubSpot stamps on what changes (ms since the epoch).
        self.now_ms = ms(now or datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
        self.companies: dict[str, dict[str, Any]] = {}  # id -> properties (strings)
        self.deals: dict[str, dict[str, Any]] = {}
        self.deal_companies: dict[str, list[str]] = {}
        self.owners: dict[str, str] = {}  # owner id -> email
        self.groups: dict[str, dict[str, Any]] = {}
        self.properties: dict[str, dict[str, Any]] = {}
        self.invalid: set[str] = set()  # company ids whose update fails validation
        self._ids = itertools.count(1001)
        self._calls: list[HubSpotCall] = []
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        super().__init__()

    # --- the account's data ------------------------------------------------------------

    def add_company(
        self,
        *,
        domain: str | None = None,
        website: str | None = None,
        name: str | None = None,
        owner_id: str | None = None,
        modified_ms: int | None = None,
        company_id: str | None = None,
    ) -> str:
        company_id = company_id or str(next(self._ids))
        stamp = str(modified_ms if modified_ms is not None else self.now_ms)
        with self._lock:
            self.companies[company_id] = {
                "hs_object_id": company_id,
                "name": name,
                "domain": domain,
                "website": website,
                "hubspot_owner_id": owner_id,
                "createdate": iso(int(stamp)),
                "hs_lastmodifieddate": iso(int(stamp)),
            }
        return company_id

    def add_deal(
        self,
        *,
        companies: list[str],
        created: datetime,
        closed: datetime | None = None,
        won: bool = False,
        amount: str | None = None,
        modified_ms: int | None = None,
        deal_id: str | None = None,
    ) -> str:
        deal_id = deal_id or str(next(self._ids))
        stamp = modified_ms if modified_ms is not None else self.now_ms
        with self._lock:
            self.deals[deal_id] = {
                "hs_object_id": deal_id,
                "dealname": f"deal {deal_id}",
                "createdate": iso(ms(created)),
                "closedate": iso(ms(closed)) if closed else None,
                "hs_is_closed": "true" if closed else "false",
                "hs_is_closed_won": "true" if closed and won else "false",
                "amount": amount,
                "hs_lastmodifieddate": iso(stamp),
            }
            self.deal_companies[deal_id] = list(companies)
        return deal_id

    def close_deal(self, deal_id: str, *, at: datetime, won: bool) -> None:
        with self._lock:
            self.now_ms += 1
            deal = self.deals[deal_id]
            deal.update(
                closedate=iso(ms(at)),
                hs_is_closed="true",
                hs_is_closed_won="true" if won else "false",
                hs_lastmodifieddate=iso(self.now_ms),
            )

    def touch(self, company_id: str) -> None:
        """A change to a company (as an edit in HubSpot): it is modified a moment later."""
        with self._lock:
            self.now_ms += 1
            self.companies[company_id]["hs_lastmodifieddate"] = iso(self.now_ms)

    # --- what tests read ---------------------------------------------------------------

    @property
    def calls(self) -> list[HubSpotCall]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, path_part: str, method: str = "POST") -> list[HubSpotCall]:
        return [c for c in self.calls if path_part in c.path and c.method == method]

    def updates(self) -> list[list[dict[str, Any]]]:
        """The inputs of each batch update call, in order."""
        return [c.body["inputs"] for c in self.calls_to("/crm/v3/objects/companies/batch/update")]

    def fail_next(
        self,
        path: str | None = None,
        *,
        status: int = 429,
        policy: str = "TEN_SECONDLY_ROLLING",
        retry_after: int | str | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` calls whose path contains `path` (any, if None) answer
        `status`: a 429 as HubSpot words it (with `policyName`), else a 5xx."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        if status == 429:
            body = {
                "status": "error",
                "message": f"You have reached your {policy.lower()} limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": str(uuid.uuid4()),
                "policyName": policy,
            }
        else:
            body = {"status": "error", "message": "internal error", "category": "INTERNAL_ERROR"}
        with self._lock:
            self._failures.append(_Failure(path, status, body, headers, times))

    # --- the server --------------------------------------------------------------------

    def _reply(self, request: Request) -> Reply:
        status, answer, extra = self._answer(
            request.method, request.path, request.json(), request.headers
        )
        return Reply(status, answer, "application/json;charset=utf-8", extra)

    def _answer(
        self, method: str, path: str, body: Any, headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            self._calls.append(HubSpotCall(method, path, body, headers))
            for failure in self._failures:
                if failure.times > 0 and (failure.path is None or failure.path in path):
                    failure.times -= 1
                    return failure.status, failure.body, failure.headers
        if headers.get("authorization") != f"Bearer {self.token}":
            return (
                401,
                _error(
                    "INVALID_AUTHENTICATION",
                    "Authentication credentials not found. This API supports OAuth 2.0"
                    " authentication and you can find more details at"
                    " https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                ),
                {},
            )
        with self._lock:
            status, answer = self._route(method, path, body)
        return status, answer, {}

    def _route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if m := re.fullmatch(r"/crm/v3/properties/companies/groups/([\w-]+)", path):
            group = self.groups.get(m[1])
            if group is None:
                return 404, _error("OBJECT_NOT_FOUND", f"Unable to find group {m[1]}")
            return 200, group
        if path == "/crm/v3/properties/companies/groups" and method == "POST":
            if body["name"] in self.groups:
                return 409, _error("OBJECT_ALREADY_EXISTS", "Group already exists")
            group = {"name": body["name"], "label": body["label"],
                     "displayOrder": body.get("displayOrder", -1), "archived": False}  # fmt: skip
            self.groups[body["name"]] = group
            return 201, group
        if m := re.fullmatch(r"/crm/v3/properties/companies/([\w-]+)", path):
            prop = self.properties.get(m[1])
            if prop is None:
                return 404, _error("OBJECT_NOT_FOUND", f"Unable to find property {m[1]}")
            return 200, prop
        if path == "/crm/v3/properties/companies" and method == "POST":
            if body["name"] in self.properties:
                return 409, _error("OBJECT_ALREADY_EXISTS", "Property already exists")
            if body.get("groupName") not in self.groups:
                return 400, _error("VALIDATION_ERROR", f"group {body.get('groupName')} not found")
            for key in ("name", "label", "type", "fieldType"):
                if not body.get(key):
                    return 400, _error("VALIDATION_ERROR", f"{key} is required")
            prop = {**body, "hidden": False, "formField": False, "calculated": False}
            self.properties[body["name"]] = prop
            return 201, prop
        if m := re.fullmatch(r"/crm/v3/objects/(companies|deals)/search", path):
            return self._search(self.companies if m[1] == "companies" else self.deals, body)
        if path == "/crm/v3/objects/companies/batch/update":
            return self._update(body)
        if path == "/crm/v4/associations/deals/companies/batch/read":
            return self._associations(body)
        if m := re.fullmatch(r"/crm/v3/owners/(\d+)", path):
            email = self.owners.get(m[1])
            if email is None:
                return 404, _error("OBJECT_NOT_FOUND", f"Unable to find owner {m[1]}")
            return 200, {"id": m[1], "email": email, "firstName": "", "lastName": "",
                         "userId": int(m[1]), "archived": False}  # fmt: skip
        return 404, _error("NOT_FOUND", f"no route {method} {path}")

    def _search(self, records: dict[str, dict[str, Any]], body: dict[str, Any]) -> tuple[int, Any]:
        limit = int(body.get("limit", 10))
        after = int(body.get("after") or 0)
        if limit > 200:
            return 400, _error("VALIDATION_ERROR", "limit must be at most 200")
        if after + limit > 10_000:
            return 400, _error(
                "VALIDATION_ERROR", "the search API returns at most 10,000 results per query"
            )
        groups = body.get("filterGroups") or []
        found = [
            (record_id, props)
            for record_id, props in records.items()
            if not groups or any(_matches(props, g.get("filters", [])) for g in groups)
        ]
        sorts = body.get("sorts") or [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
        sort = sorts[0]
        # HubSpot promises no order among records with one value of the sorted property:
        # ties come here in an order unrelated to their ids (their ids reversed as text).
        found.sort(
            key=lambda item: (_sort_value(item[1].get(sort["propertyName"])), item[0][::-1]),
            reverse=sort.get("direction") == "DESCENDING",
        )
        page = found[after : after + limit]
        wanted = body.get("properties") or ["hs_object_id", "createdate", "hs_lastmodifieddate"]
        answer: dict[str, Any] = {
            "total": len(found),
            "results": [
                {
                    "id": record_id,
                    "properties": {
                        name: props.get(name)
                        for name in {*wanted, "hs_object_id", "createdate", "hs_lastmodifieddate"}
                    },
                    "createdAt": props["createdate"],
                    "updatedAt": props["hs_lastmodifieddate"],
                    "archived": False,
                }
                for record_id, props in page
            ],
        }
        if after + limit < len(found):
            answer["paging"] = {"next": {"after": str(after + limit)}}
        return 200, answer

    def _update(self, body: dict[str, Any]) -> tuple[int, Any]:
        inputs = body.get("inputs") or []
        if len(inputs) > 100:
            return 400, _error("VALIDATION_ERROR", "Batch input must contain at most 100 inputs")
        for item in inputs:
            if str(item.get("id")) in self.invalid:
                return 400, _error(
                    "VALIDATION_ERROR",
                    'Property values were not valid: [{"isValid":false,"message":"a validation'
                    ' rule refused the value","error":"INVALID_OPTION","name":"tipoff_track"}]',
                )
            for name, value in (item.get("properties") or {}).items():
                problem = self._invalid_value(name, value)
                if problem:
                    return 400, _error(
                        "VALIDATION_ERROR", f"Property values were not valid: {problem}"
                    )
        missing = [str(i["id"]) for i in inputs if str(i["id"]) not in self.companies]
        self.now_ms += 1  # HubSpot's clock moves on: what this writes is modified after
        results = []
        for item in inputs:
            record_id = str(item["id"])
            if record_id in missing:
                continue
            props = self.companies[record_id]
            props.update(item["properties"])
            props["hs_lastmodifieddate"] = iso(self.now_ms)
            results.append({"id": record_id, "properties": dict(props),
                            "createdAt": props["createdate"], "updatedAt": props["hs_lastmodifieddate"],
                            "archived": False})  # fmt: skip
        answer: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": iso(self.now_ms),
            "completedAt": iso(self.now_ms),
        }
        if not missing:
            return 200, answer
        answer["numErrors"] = 1
        answer["errors"] = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": "Could not get some COMPANY objects, they may be deleted or not"
                " exist. Check that ids are valid.",
                "context": {"ids": missing},
            }
        ]
        return 207, answer

    def _invalid_value(self, name: str, value: Any) -> str | None:
        prop = self.properties.get(name)
        if prop is None and name in _DEFAULT_COMPANY_TEXT:
            return None
        if prop is None:
            return f'Property "{name}" does not exist'
        if prop["type"] == "enumeration":
            options = {o["value"] for o in prop.get("options", [])}
            if value not in options:
                return f"{value!r} was not one of the allowed options for {name}"
        if prop["type"] == "number":
            try:
                float(value)
            except ValueError:
                return f"{value!r} is not a number for {name}"
        return None

    def _associations(self, body: dict[str, Any]) -> tuple[int, Any]:
        results, errors = [], []
        for item in body.get("inputs") or []:
            deal_id = str(item["id"])
            companies = self.deal_companies.get(deal_id) or []
            if not companies:
                errors.append({"status": "error", "category": "OBJECT_NOT_FOUND",
                               "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                               "message": f"No company is associated with deal {deal_id}.",
                               "context": {"fromObjectId": [deal_id]}})  # fmt: skip
                continue
            results.append(
                {
                    "from": {"id": deal_id},
                    "to": [
                        {
                            "toObjectId": int(c),
                            "associationTypes": [
                                {"category": "HUBSPOT_DEFINED", "typeId": 5, "label": "Primary"}
                            ],
                        }
                        for c in companies
                    ],
                }
            )
        answer: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            answer.update(numErrors=len(errors), errors=errors)
            return 207, answer
        return 200, answer


# Company properties every HubSpot account has (text, so any value is valid here).
_DEFAULT_COMPANY_TEXT = frozenset({"name", "domain", "website", "description", "city", "country"})


def _error(category: str, message: str) -> dict[str, Any]:
    return {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
    }


def _sort_value(value: Any) -> Any:
    """Properties compare as HubSpot compares them: numbers and times as numbers."""
    if value is None:
        return (1, 0)
    text = str(value)
    if text.isdigit():
        return (0, int(text))
    if re.fullmatch(r"\d{4}-\d\d-\d\dT.*Z", text):
        return (0, ms(datetime.fromisoformat(text.replace("Z", "+00:00"))))
    return (0, text)


def _matches(props: dict[str, Any], filters: list[dict[str, Any]]) -> bool:
    for f in filters:
        have = _sort_value(props.get(f["propertyName"]))
        want = _sort_value(f.get("value"))
        op = f["operator"]
        if have[0] == 1:
            return False
        ok = {
            "EQ": have == want,
            "NEQ": have != want,
            "GT": have > want,
            "GTE": have >= want,
            "LT": have < want,
            "LTE": have <= want,
        }.get(op)
        if ok is None:
            raise ValueError(f"the stand-in does not know the operator {op}")
        if not ok:
            return False
    return True


@contextmanager
def running_fake_hubspot(**options: Any) -> Iterator[FakeHubSpotApi]:
    fake = FakeHubSpotApi(**options)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
