"""HubSpot's CRM API (v3 objects, properties and owners; v4 associations) as a `CrmClient`.

Authenticated with a private app's (or a service key's) access token as a Bearer token;
the scopes it needs are crm.objects.companies.read and .write, crm.schemas.companies.read
and .write, crm.objects.deals.read and crm.objects.owners.read (README, "CRM sync").

Limits, as HubSpot documents them: a 429 whose `policyName` is `DAILY` means the
account's daily allowance is spent, so the run stops (`CrmLimitReached`); any other 429
(the ten-secondly rolling limit, or the search API's own per-second one, which comes
without `Retry-After`) is waited out and retried. Reading uses the search API, which
answers at most 200 records a page and 10,000 a query: instead of paging one query with
`after`, each page is a new query from the last modified time and id read (the cursor),
so no query comes near 10,000 and records sharing one `hs_lastmodifieddate` across
pages are neither skipped nor read twice.

The token is only ever put in the Authorization header: never logged, stored, or part of
an error message (one that quotes HubSpot's answer has it cut out all the same).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from tipoff.core.routing import Track
from tipoff.crm.records import (
    CrmAccount,
    CrmDeal,
    CrmError,
    CrmLimitReached,
    Page,
    Refusal,
    ScoreWrite,
    WriteResult,
)
from tipoff.http_limits import retry_after_seconds

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.hubapi.com"
# The search API's largest page.
PAGE_SIZE = 200
# Inputs per batch update call (HubSpot's limit for CRM objects).
MAX_BATCH = 100
# The property group Tipoff writes into, and its properties (name → definition).
GROUP = "tipoff"
SCORE, TRACK, EVIDENCE, SCORED_AT = (
    "tipoff_score",
    "tipoff_track",
    "tipoff_evidence",
    "tipoff_scored_at",
)
PROPERTIES: dict[str, dict[str, Any]] = {
    SCORE: {
        "label": "Tipoff score",
        "type": "number",
        "fieldType": "number",
        "description": "How ready to buy Tipoff scores this company (points; higher is readier).",
    },
    TRACK: {
        "label": "Tipoff track",
        "type": "enumeration",
        "fieldType": "select",
        "description": "What sales should do now, by Tipoff's score.",
        "options": [
            {"label": track.value, "value": track.value, "displayOrder": order}
            for order, track in enumerate(sorted(Track, key=lambda t: -t.rank))
        ],
    },
    EVIDENCE: {
        "label": "Tipoff evidence",
        "type": "string",
        "fieldType": "textarea",
        "description": "Why: the strongest evidence lines behind the Tipoff score.",
    },
    SCORED_AT: {
        "label": "Tipoff scored at",
        "type": "datetime",
        "fieldType": "date",
        "description": "When Tipoff computed the score written here.",
    },
}
COMPANY_PROPERTIES = ("name", "domain", "website", "hubspot_owner_id", "hs_lastmodifieddate")
DEAL_PROPERTIES = (
    "hs_is_closed",
    "hs_is_closed_won",
    "closedate",
    "createdate",
    "amount",
    "hs_lastmodifieddate",
)
MODIFIED = "hs_lastmodifieddate"

# How long before a read's start a record may have been modified and not be searchable
# yet (see `_modified`): HubSpot documents a short delay before a new or changed record
# appears in search results; this also absorbs a skew between its clock and ours.
INDEX_LAG_MS = 60_000
# A 429 without Retry-After (the search API's per-second limit sends none) is retried
# after 1, 2, 4, 8, 10, 10 s: past the ten-second window at the longest.
_RATE_WAITS = (1.0, 2.0, 4.0, 8.0, 10.0, 10.0)
# The longest Retry-After waited out within a run. HubSpot's limits reset every ten
# seconds; a longer pause (a misbehaving proxy, "inf") would hold `tipoff serve`'s sync
# job for as long as it says, so the run stops instead and the next one goes on.
LONGEST_WAIT_SECONDS = 60
# A 5xx or a dropped connection: HubSpot's edge is briefly out; three more tries.
_SERVER_WAITS = (1.0, 2.0, 4.0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


class HubSpotClient:
    """One HubSpot account, as the sync uses it (`records.CrmClient`)."""

    name = "hubspot"
    account_noun = "company"
    max_batch = MAX_BATCH

    def __init__(
        self,
        *,
        token: str,
        base_url: str = DEFAULT_API_URL,
        page_size: int = PAGE_SIZE,
        index_lag_ms: int = INDEX_LAG_MS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timeout_seconds: float = 30.0,
    ) -> None:
        self._token = token
        self._base = base_url.rstrip("/")
        self._page_size = page_size
        self._index_lag_ms = index_lag_ms
        self._sleep = sleep
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None
        self._owners: dict[str, str | None] = {}

    def __repr__(self) -> str:
        return f"HubSpotClient(base_url={self._base!r})"  # never the token

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- CrmClient ------------------------------------------------------------------

    async def prepare(self, *, dry_run: bool) -> list[str]:
        """The property group `tipoff` and its four company properties, each created only
        when HubSpot does not have it yet; returns what was (or would be) created."""
        created: list[str] = []
        status, _ = await self._exists(f"/crm/v3/properties/companies/groups/{GROUP}")
        if status == 404:
            created.append(f"property group {GROUP}")
            if not dry_run:
                await self._ok(
                    "POST",
                    "/crm/v3/properties/companies/groups",
                    {"name": GROUP, "label": "Tipoff", "displayOrder": -1},
                )
        for name, definition in PROPERTIES.items():
            status, _ = await self._exists(f"/crm/v3/properties/companies/{name}")
            if status != 404:
                continue
            created.append(f"property {name}")
            if not dry_run:
                await self._ok(
                    "POST",
                    "/crm/v3/properties/companies",
                    {"name": name, "groupName": GROUP, **definition},
                )
        return created

    async def accounts_since(self, cursor: str | None) -> AsyncIterator[Page[CrmAccount]]:
        async for records, next_cursor in self._modified("companies", COMPANY_PROPERTIES, cursor):
            accounts = [await self._company(r) for r in records]
            yield Page(tuple(accounts), next_cursor)

    async def deals_since(self, cursor: str | None) -> AsyncIterator[Page[CrmDeal]]:
        async for records, next_cursor in self._modified("deals", DEAL_PROPERTIES, cursor):
            companies = await self._deal_companies([str(r["id"]) for r in records])
            deals = tuple(_deal(r, companies.get(str(r["id"]), ())) for r in records)
            yield Page(deals, next_cursor)

    async def write_scores(self, writes: Sequence[ScoreWrite]) -> WriteResult:
        """One batch update (more calls only to isolate an input HubSpot refuses the
        whole batch for: a 400 names no record, so the batch is halved until it does)."""
        if len(writes) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} records a call, not {len(writes)}")
        if not writes:
            return WriteResult((), ())
        inputs = [{"id": w.account_id, "properties": _properties(w)} for w in writes]
        status, body = await self._call(
            "POST", "/crm/v3/objects/companies/batch/update", {"inputs": inputs}
        )
        if status == 200:
            return WriteResult(tuple(w.account_id for w in writes), ())
        if status == 207:
            # Written: what `results` lists; refused: what an error's context names, with
            # its reason (anything else was not confirmed, so it is tried again).
            answer = body if isinstance(body, dict) else {}
            done = {str(r.get("id")) for r in answer.get("results", []) if isinstance(r, dict)}
            refused: dict[str, str] = {}
            for error in answer.get("errors", []):
                reason = _reason(error, self._token)
                for record_id in (error.get("context") or {}).get("ids", []):
                    refused[str(record_id)] = reason
            return WriteResult(
                tuple(w.account_id for w in writes if w.account_id in done - refused.keys()),
                tuple(
                    Refusal(w.account_id, refused.get(w.account_id, "not confirmed by HubSpot"))
                    for w in writes
                    if w.account_id in refused or w.account_id not in done
                ),
            )
        if status == 400:
            if len(writes) == 1:
                return WriteResult((), (Refusal(writes[0].account_id, _reason(body, self._token)),))
            half = len(writes) // 2
            first = await self.write_scores(writes[:half])
            second = await self.write_scores(writes[half:])
            return WriteResult(first.written + second.written, first.refused + second.refused)
        raise self._failed("POST /crm/v3/objects/companies/batch/update", status, body)

    # --- reading --------------------------------------------------------------------

    async def _modified(
        self, kind: str, properties: Sequence[str], cursor: str | None
    ) -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
        """Pages of `kind` modified after `cursor`, oldest first, each with the cursor
        after it, and last an empty page with the cursor the read ended at.

        A cursor "T:I:W" says every record modified before T (ms since the epoch) was
        read, and those modified at T up to id I, by a read that began at W. HubSpot's
        search index lags a few seconds behind its records, so a record modified shortly
        before W may have become searchable only after that read: when T is within
        `index_lag_ms` of W, the read starts at W minus that lag instead (what the sync
        does with a record or deal read twice changes nothing). A quiet CRM is not read
        again: its cursor's W moves on with each read."""
        at, last_id, read_at = _decode(cursor)
        began = self._now_ms()
        start = (at, last_id)
        if at is not None and read_at is not None and read_at - self._index_lag_ms < at:
            start = (read_at - self._index_lag_ms, 0)
        reached = (at, last_id)
        async for records, position in self._pages(kind, properties, *start):
            if reached[0] is None or position > (reached[0], reached[1]):
                reached = position
                yield records, _encode(position[0], position[1], began)
            else:  # read again: a stop now must leave the window to the next read
                yield records, _encode(reached[0], reached[1], read_at or began)
        if reached[0] is not None:
            yield [], _encode(reached[0], reached[1], began)

    async def _pages(
        self, kind: str, properties: Sequence[str], at: int | None, last_id: int
    ) -> AsyncIterator[tuple[list[dict[str, Any]], tuple[int, int]]]:
        """Pages of `kind` after the position (`at`, `last_id`), each with the position
        after it: the records at `at` by id, then those after `at` by time. A full
        page's last time may continue on the next page, so its records at that time are
        left to the by-id read that follows."""
        while True:
            if at is not None:
                while True:
                    ties = await self._search(
                        kind,
                        properties,
                        [
                            {"propertyName": MODIFIED, "operator": "EQ", "value": str(at)},
                            {
                                "propertyName": "hs_object_id",
                                "operator": "GT",
                                "value": str(last_id),
                            },
                        ],
                        sort="hs_object_id",
                    )
                    if not ties:
                        break
                    last_id = int(ties[-1]["id"])
                    yield ties, (at, last_id)
                    if len(ties) < self._page_size:
                        break
            after = (
                []
                if at is None
                else [{"propertyName": MODIFIED, "operator": "GT", "value": str(at)}]
            )
            found = await self._search(kind, properties, after, sort=MODIFIED)
            if not found:
                return
            newest = _modified_ms(found[-1])
            if len(found) < self._page_size:
                # The last page: every record at its newest time is in it.
                top = max(int(r["id"]) for r in found if _modified_ms(r) == newest)
                yield found, (newest, top)
                return
            older = [r for r in found if _modified_ms(r) < newest]
            if older:
                yield older, (newest, 0)
            at, last_id = newest, 0

    def _now_ms(self) -> int:
        return (self._clock() - _EPOCH) // _MS

    async def _search(
        self, kind: str, properties: Sequence[str], filters: list[dict[str, str]], *, sort: str
    ) -> list[dict[str, Any]]:
        body = {
            "filterGroups": [{"filters": filters}] if filters else [],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": list(properties),
            "limit": self._page_size,
        }
        found = await self._ok("POST", f"/crm/v3/objects/{kind}/search", body)
        results = found.get("results", []) if isinstance(found, dict) else []
        return [r for r in results if isinstance(r, dict) and "id" in r]

    async def _company(self, record: dict[str, Any]) -> CrmAccount:
        props = record.get("properties") or {}
        owner = props.get("hubspot_owner_id")
        return CrmAccount(
            id=str(record["id"]),
            name=props.get("name") or None,
            domain=props.get("domain") or None,
            website=props.get("website") or None,
            owner_email=await self._owner_email(str(owner)) if owner else None,
            modified_at=_time(props.get(MODIFIED)) or _EPOCH,
        )

    async def _owner_email(self, owner_id: str) -> str | None:
        """The owner's email (`/crm/v3/owners/{id}`), asked once per owner and client."""
        if owner_id not in self._owners:
            status, body = await self._call("GET", f"/crm/v3/owners/{owner_id}")
            if status == 404:
                self._owners[owner_id] = None  # a deactivated or removed user
            elif status != 200:
                raise self._failed("GET /crm/v3/owners/{id}", status, body)
            else:
                email = body.get("email") if isinstance(body, dict) else None
                self._owners[owner_id] = email if isinstance(email, str) and email else None
        return self._owners[owner_id]

    async def _deal_companies(self, deal_ids: list[str]) -> dict[str, tuple[str, ...]]:
        """deal id -> the ids of the companies it is associated with (v4 batch read; a
        deal with none comes back among the errors of a 207, and is left out)."""
        if not deal_ids:
            return {}
        companies: dict[str, tuple[str, ...]] = {}
        for start in range(0, len(deal_ids), 1000):
            chunk = deal_ids[start : start + 1000]
            status, body = await self._call(
                "POST",
                "/crm/v4/associations/deals/companies/batch/read",
                {"inputs": [{"id": deal_id} for deal_id in chunk]},
            )
            if status not in (200, 207):
                raise self._failed(
                    "POST /crm/v4/associations/deals/companies/batch/read", status, body
                )
            for result in body.get("results", []) if isinstance(body, dict) else []:
                deal_id = str((result.get("from") or {}).get("id"))
                companies[deal_id] = tuple(
                    str(to["toObjectId"]) for to in result.get("to", []) if "toObjectId" in to
                )
        return companies

    # --- HTTP -----------------------------------------------------------------------

    async def _exists(self, path: str) -> tuple[int, Any]:
        """GET `path`: 200 when it exists, 404 when not; anything else is a failure."""
        status, answer = await self._call("GET", path)
        if status not in (200, 404):
            raise self._failed(f"GET {path}", status, answer)
        return status, answer

    async def _ok(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = await self._call(method, path, body)
        if status not in (200, 201):
            raise self._failed(f"{method} {path}", status, answer)
        return answer

    async def _call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, JSON body) of one call, after waiting out rate limits and retrying
        what HubSpot's edge drops. Raises CrmLimitReached on the daily limit and
        CrmError when the token is refused or retries run out."""
        rate_waits = iter(_RATE_WAITS)
        server_waits = iter(_SERVER_WAITS)
        while True:
            try:
                status, headers, answer = await self._send(method, path, body)
            except (aiohttp.ClientError, TimeoutError) as error:
                wait = next(server_waits, None)
                if wait is None:
                    raise CrmError(
                        f"HubSpot did not answer {method} {_route(path)}: {type(error).__name__}"
                    ) from None
                log.warning(
                    "HubSpot %s %s: %s; retrying", method, _route(path), type(error).__name__
                )
                await self._sleep(wait)
                continue
            if status == 429:
                policy = answer.get("policyName") if isinstance(answer, dict) else None
                if policy == "DAILY":
                    raise CrmLimitReached(
                        "HubSpot's daily API limit for this account is used up (429, policy"
                        " DAILY): the sync stopped here and goes on from where it stopped on"
                        " its next run after the limit resets (midnight, the account's time zone)."
                    )
                wait = retry_after_seconds(headers)
                fallback = next(rate_waits, None)
                if fallback is None:
                    raise CrmError(
                        f"HubSpot kept answering 429 ({policy or 'rate limit'}) to {method}"
                        f" {_route(path)}; giving up for this run"
                    )
                if wait is not None and wait > LONGEST_WAIT_SECONDS:
                    raise CrmError(
                        f"HubSpot asked to wait {wait} s before calling {method} {_route(path)}"
                        f" again (429, {policy or 'rate limit'}), longer than a run waits"
                        f" ({LONGEST_WAIT_SECONDS} s): the sync stopped here and goes on from"
                        " where it stopped on its next run"
                    )
                log.info(
                    "HubSpot rate limit (%s) on %s %s; waiting %.0f s",
                    policy or "no policy named",
                    method,
                    _route(path),
                    wait if wait is not None else fallback,
                )
                await self._sleep(wait if wait is not None else fallback)
                continue
            if status >= 500:
                wait = next(server_waits, None)
                if wait is None:
                    raise self._failed(f"{method} {_route(path)}", status, answer)
                log.warning("HubSpot %s %s: %d; retrying", method, _route(path), status)
                await self._sleep(wait)
                continue
            if status in (401, 403):
                raise self._failed(f"{method} {_route(path)}", status, answer)
            return status, answer

    async def _send(self, method: str, path: str, body: Any) -> tuple[int, Any, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/json",
            "User-Agent": "tipoff",
        }
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body)
        async with self._session.request(
            method, self._base + path, headers=headers, data=data
        ) as response:
            text = await response.text()
            try:
                answer: Any = json.loads(text) if text else None
            except ValueError:
                answer = {"message": text[:200]}
            return response.status, dict(response.headers), answer

    def _failed(self, what: str, status: int, body: Any) -> CrmError:
        if status == 401:
            return CrmError(
                "HubSpot refused TIPOFF_HUBSPOT_TOKEN (401): it is not a valid private app"
                " or service key token, or it was rotated. Set the current one."
            )
        if status == 403:
            return CrmError(
                f"HubSpot refused {what} (403): the token lacks a scope it needs"
                f' ({_reason(body, self._token)}). README, "CRM sync", lists the scopes.'
            )
        return CrmError(f"HubSpot answered {status} to {what}: {_reason(body, self._token)}")


# --- HubSpot's shapes (pure) ----------------------------------------------------------


def _properties(write: ScoreWrite) -> dict[str, str]:
    return {
        SCORE: str(write.score),
        TRACK: write.track,
        EVIDENCE: write.evidence,
        SCORED_AT: write.scored_at.astimezone(UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
    }


def _deal(record: dict[str, Any], companies: tuple[str, ...]) -> CrmDeal:
    props = record.get("properties") or {}
    closed = props.get("hs_is_closed") == "true"
    created = _time(props.get("createdate")) or _time(record.get("createdAt")) or _EPOCH
    return CrmDeal(
        id=str(record["id"]),
        account_ids=companies,
        created_at=created,
        is_closed=closed,
        is_won=closed and props.get("hs_is_closed_won") == "true",
        closed_at=_time(props.get("closedate")) if closed else None,
        amount=props.get("amount") or None,
        modified_at=_time(props.get(MODIFIED)) or created,
    )


def _time(value: Any) -> datetime | None:
    """A HubSpot date-time property (ISO 8601, or milliseconds since the epoch)."""
    if not isinstance(value, str) or not value:
        return None
    if value.isdigit():
        return _EPOCH + int(value) * _MS
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _modified_ms(record: dict[str, Any]) -> int:
    at = _time((record.get("properties") or {}).get(MODIFIED)) or _EPOCH
    return (at - _EPOCH) // _MS


def _encode(at: int, last_id: int, read_at: int) -> str:
    return f"{at}:{last_id}:{read_at}"


def _decode(cursor: str | None) -> tuple[int | None, int, int | None]:
    """(T, I, W) of a cursor "T:I:W" (see `_modified`); (None, 0, None) for none."""
    if not cursor:
        return None, 0, None
    parts = cursor.split(":")
    try:
        at, last_id = int(parts[0]), int(parts[1])
        return at, last_id, int(parts[2]) if len(parts) > 2 else None
    except (ValueError, IndexError):
        raise CrmError(
            f"the saved HubSpot cursor {cursor[:40]!r} is not one Tipoff wrote"
        ) from None


def _route(path: str) -> str:
    """A path as logged: without a query (nothing secret is in one, but ids are data)."""
    return path.split("?", 1)[0]


def _reason(body: Any, token: str) -> str:
    """HubSpot's error message (and category), without the token should it quote it."""
    if not isinstance(body, dict):
        return "no reason given"
    message = str(body.get("message") or "no reason given")
    category = body.get("category") or body.get("subCategory")
    said = f"{category}: {message}" if isinstance(category, str) else message
    return said.replace(token, "[token]")[:500] if token else said[:500]
