"""Slack's rate limits, honoured by every Web API call Tipoff makes.

Slack limits each method per workspace (chat.postMessage also per channel) and answers a
429 with `Retry-After: <seconds>`. `RateLimitRetryHandler`, slack_sdk's own
AsyncRateLimitErrorRetryHandler with two additions, is installed on the one Web API
client the composition root builds (Bolt gives each listener a copy of the client with
the same handler objects):

- it retries only a short wait (at most `longest_wait` seconds); a longer one is handed
  back to the caller as the 429 it is: the alert outbox then holds itself until
  Retry-After has passed instead of keeping a job asleep;
- it remembers each method's pause in a `SlackPace` shared by every job and listener, and
  `PacedWebClient` waits a pause out before calling that method again, so one job's 429
  is not spent by another job's call a moment later.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from tipoff.http_limits import retry_after_seconds

log = logging.getLogger(__name__)

# The longest Retry-After a call waits out in place; Slack's usual answer is a few
# seconds to a minute.
LONGEST_WAIT_SECONDS = 10.0


class SlackPace:
    """Until when (monotonic seconds) each Web API method is rate-limited."""

    def __init__(self, longest_wait: float = LONGEST_WAIT_SECONDS) -> None:
        """`longest_wait`: a pause longer than this is not waited out before a call."""
        self.longest_wait = longest_wait
        self._until: dict[str, float] = {}

    def hold(self, method: str, seconds: float) -> None:
        self._until[method] = max(self._until.get(method, 0.0), time.monotonic() + seconds)

    def remaining(self, method: str) -> float:
        return max(0.0, self._until.get(method, 0.0) - time.monotonic())

    async def wait(self, method: str) -> None:
        """Sleeps out `method`'s pause when it is short; a long one is left to Slack to
        answer (with another 429, which the caller handles)."""
        left = self.remaining(method)
        if 0 < left <= self.longest_wait:
            await asyncio.sleep(left)


def method_of(url: str) -> str:
    """`https://slack.com/api/chat.update?x=1` → `chat.update`."""
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


class RateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    def __init__(self, pace: SlackPace, *, max_retry_count: int = 2) -> None:
        """`pace` is shared with the client (and every copy Bolt makes of it);
        `max_retry_count` is how many 429s one call waits out before giving up."""
        super().__init__(max_retry_count=max_retry_count)
        self.pace = pace

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        seconds = retry_after_seconds(response.headers)
        self.pace.hold(method_of(request.url), seconds if seconds is not None else 1)
        if seconds is not None and seconds > self.pace.longest_wait:
            return False  # too long to wait here: the caller gets the 429
        log.info("Slack rate-limited %s; retrying in %ss", method_of(request.url), seconds)
        return True


class PacedWebClient(AsyncWebClient):
    """The Web API client, waiting out a method's known rate-limit pause before calling
    it. `pace` is the one its RateLimitRetryHandler records into."""

    pace: SlackPace

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        await self.pace.wait(api_method)
        return await super().api_call(api_method, **kwargs)


def paced_client(*, token: str, base_url: str) -> PacedWebClient:
    pace = SlackPace()
    client = PacedWebClient(token=token, base_url=base_url)
    client.pace = pace
    # Connection resets are retried once (slack_sdk's default handler), 429s as above.
    client.retry_handlers = [*client.retry_handlers, RateLimitRetryHandler(pace)]
    return client
