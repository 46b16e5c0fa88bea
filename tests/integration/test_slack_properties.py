"""Property-based: whatever a signed request from Slack carries, the bot answers with a
2xx or 4xx, never a 500; Bolt's error handler and our listeners cope with any shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.fakes.signing import block_action, interactivity, load_payload, signed, view_submission
from tests.fakes.slack_api import FakeSlackApi, running_fake_slack
from tests.fakes.slack_bot import with_slack
from tests.integration.conftest import served
from tests.strategies import json_values
from tipoff.server import create_app
from tipoff.settings import Settings

ACTION_IDS = st.sampled_from(
    ["feedback_right", "feedback_wrong", "claim", "snooze", "unknown_action"]
)


@pytest.fixture
def slack_url(settings: Settings) -> Iterator[tuple[str, FakeSlackApi]]:
    with (
        running_fake_slack() as fake,
        served(create_app(with_slack(settings, fake), scheduler=False)) as url,
    ):
        yield url, fake


def mutate(
    payload: dict[str, Any], paths: list[tuple[str, ...]], values: list[Any]
) -> dict[str, Any]:
    """Replaces the value at each path (keys, or list index 0) with the drawn value."""
    for path, value in zip(paths, values, strict=False):
        node: Any = payload
        for key in path[:-1]:
            node = (
                node[0]
                if isinstance(node, list) and node
                else node.get(key)
                if isinstance(node, dict)
                else None
            )
            if node is None:
                break
        if isinstance(node, dict):
            node[path[-1]] = value
    return payload


ACTION_PATHS = [("actions", "0", "value"), ("container", "message_ts"), ("container", "channel_id"),
                ("message", "blocks"), ("user",), ("actions",), ("channel",), ("message",)]  # fmt: skip
VIEW_PATHS = [
    ("view", "private_metadata"),
    ("view", "state", "values"),
    ("view", "state"),
    ("user",),
    ("view",),
]

requests = st.one_of(
    st.builds(
        lambda text, extra: ("command", {**load_payload("slash_command"), "text": text, **extra}),
        st.text(max_size=200),
        st.dictionaries(
            st.sampled_from(["user_id", "channel_id", "team_id", "command"]), st.text(max_size=20)
        ),
    ),
    st.builds(
        lambda action_id, account, paths, values: (
            "payload",
            mutate(
                block_action(action_id, account_id=account, channel="C0SALESALRT", ts="1.000001"),
                paths,
                values,
            ),
        ),
        ACTION_IDS,
        st.integers(min_value=-5, max_value=10**12),
        st.lists(st.sampled_from(ACTION_PATHS), max_size=3),
        st.lists(json_values, max_size=3),
    ),
    st.builds(
        lambda account, reason, note, paths, values: (
            "payload",
            mutate(
                view_submission(
                    account_id=account,
                    channel="C0SALESALRT",
                    ts="1.000001",
                    reason=reason,
                    note=note,
                ),
                paths,
                values,
            ),
        ),
        st.integers(min_value=-5, max_value=10**12),
        st.one_of(
            st.none(), st.text(max_size=20), st.sampled_from(["already_customer", "not_fit"])
        ),
        st.one_of(st.none(), st.text(max_size=500)),
        st.lists(st.sampled_from(VIEW_PATHS), max_size=2),
        st.lists(json_values, max_size=2),
    ),
    st.builds(lambda value: ("payload", value), json_values),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(request=requests)
@example(request=("payload", None))  # once crashed Bolt (before its signature check) with a 500
@example(request=("payload", [1, 2]))
@example(
    request=("payload", {**load_payload("block_actions"), "actions": None})
)  # crashed Bolt's dispatch
def test_any_signed_request_gets_an_answer_not_a_crash(
    slack_url: tuple[str, FakeSlackApi], request: tuple[str, Any]
) -> None:
    url, _ = slack_url
    kind, content = request
    if kind == "command":
        prepared = signed(urlencode(content))
    elif isinstance(content, dict):
        prepared = interactivity(content)
    else:
        prepared = signed(urlencode({"payload": json.dumps(content)}))
    response = httpx.post(
        f"{url}/slack/events", content=prepared.body, headers=prepared.headers, timeout=30
    )
    assert response.status_code < 500, response.text


def test_a_payload_that_is_not_an_object_is_refused_before_bolt(
    slack_url: tuple[str, FakeSlackApi],
) -> None:
    url, fake = slack_url
    unsigned = urlencode({"payload": "null"}).encode()
    response = httpx.post(
        f"{url}/slack/events",
        content=unsigned,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (response.status_code, response.json()) == (401, {"error": "invalid request"})
    request = signed(unsigned.decode())
    response = httpx.post(f"{url}/slack/events", content=request.body, headers=request.headers)
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_request",
        "message": "the payload must be a JSON object",
    }
    assert [c.method for c in fake.calls if c.method != "auth.test"] == []
