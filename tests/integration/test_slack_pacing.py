"""Slack's rate limits through the real Web API client (`paced_client`) and the fake_slack Slack
Web API: a 429 pauses only the method it answered, a short Retry-After is waited out in
place and by the next caller of that method, a long one is handed back, and a call gives
up after its retries. Assertions are on what the fake_slack received and on the pace's
computed pause, never on how long a test took."""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.errors import SlackApiError

from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi
from tipoff.slack.pacing import LONGEST_WAIT_SECONDS, PacedWebClient, method_of, paced_client

CHANNEL = "C0SALESALRT"


@pytest.fixture
def client(fake_slack: FakeSlackApi) -> PacedWebClient:
    return paced_client(token=BOT_TOKEN, base_url=fake_slack.url)


async def paused(client: PacedWebClient, method: str) -> float:
    """The pause the client's retry handler records for `method`, once it has (the fake_slack
    records a call before the client has read its answer)."""
    for _ in range(500):
        if (left := client.pace.remaining(method)) > 0:
            return left
        await asyncio.sleep(0.01)
    raise AssertionError(f"no pause recorded for {method}")


def test_the_method_is_read_from_the_url_slack_sdk_calls() -> None:
    assert method_of("https://slack.com/api/chat.update?x=1") == "chat.update"
    assert method_of("https://slack.com/api/chat.postMessage") == "chat.postMessage"
    assert method_of("https://slack.com/api/views.publish/") == "views.publish"
    assert method_of("http://127.0.0.1:8080/api/chat.update/?ts=1/2") == "chat.update"
    # A query may hold a "?" of its own (RFC 3986 allows it unescaped).
    assert method_of("https://slack.com/api/chat.postMessage?text=why?") == "chat.postMessage"


@pytest.mark.parametrize("retry_after", [1, None], ids=["retry-after", "no-retry-after"])
async def test_a_429_holds_the_next_call_to_that_method_but_not_other_methods(
    fake_slack: FakeSlackApi, client: PacedWebClient, retry_after: int | None
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=retry_after)
    first = asyncio.create_task(client.chat_postMessage(channel=CHANNEL, text="first"))
    (limited,) = await fake_slack.wait_for("chat.postMessage")

    # Retry-After, or a second when Slack gives none, for chat.postMessage only.
    assert 0 < await paused(client, "chat.postMessage") <= 1
    assert client.pace.remaining("chat.update") == 0
    await client.chat_update(channel=CHANNEL, ts="1.000001", text="edited")
    await client.chat_postMessage(channel=CHANNEL, text="second")
    await first

    posts = fake_slack.calls_to("chat.postMessage")
    assert [c.params["text"] for c in posts].count("first") == 2  # the 429, then its retry
    second = next(c for c in posts if c.params["text"] == "second")
    # The second post waited the pause out instead of spending Slack's limit again.
    assert second.at >= limited.at + 1
    assert len(fake_slack.calls_to("chat.update")) == 1


async def test_a_429_longer_than_the_longest_wait_is_handed_back_and_not_waited(
    fake_slack: FakeSlackApi, client: PacedWebClient
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=30)
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=CHANNEL, text="first")
    assert raised.value.response.status_code == 429
    assert len(fake_slack.calls_to("chat.postMessage")) == 1  # not retried in place
    assert 30 - LONGEST_WAIT_SECONDS < client.pace.remaining("chat.postMessage") <= 30

    # Too long to sit out before a call: the next one goes to Slack (which answers it).
    await client.chat_postMessage(channel=CHANNEL, text="second")
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    assert client.pace.remaining("chat.postMessage") > 30 - LONGEST_WAIT_SECONDS - 1


async def test_a_429_of_exactly_the_longest_wait_is_waited_out(
    fake_slack: FakeSlackApi, client: PacedWebClient
) -> None:
    client.pace.longest_wait = 1
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1)
    await client.chat_postMessage(channel=CHANNEL, text="first")
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


async def test_a_short_pause_is_waited_out_before_the_next_call(
    fake_slack: FakeSlackApi, client: PacedWebClient
) -> None:
    client.pace.hold("chat.postMessage", 0.5)
    client.pace.hold("chat.postMessage", 0.1)  # a shorter pause does not shorten it
    assert client.pace.remaining("chat.postMessage") > 0.1
    await client.chat_postMessage(channel=CHANNEL, text="after the pause")
    assert client.pace.remaining("chat.postMessage") == 0
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


async def test_a_call_gives_up_after_two_retries(
    fake_slack: FakeSlackApi, client: PacedWebClient
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1, times=3)
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=CHANNEL, text="first")
    assert raised.value.response.status_code == 429
    assert len(fake_slack.calls_to("chat.postMessage")) == 3


async def test_a_server_error_is_not_a_rate_limit(
    fake_slack: FakeSlackApi, client: PacedWebClient
) -> None:
    fake_slack.fail_next("chat.postMessage", status=500)
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel=CHANNEL, text="first")
    assert len(fake_slack.calls_to("chat.postMessage")) == 1  # not retried as a 429
    assert client.pace.remaining("chat.postMessage") == 0
