"""Retry-After as Slack and HubSpot send it, and as a broken proxy might."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tipoff.http_limits import retry_after_seconds

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "30"}, 30),
        ({"retry-after": " 7 "}, 7),  # any case, padded
        ({"Retry-After": ["12"]}, 12),  # slack_sdk's headers hold lists
        ({"Retry-After": "0"}, 1),  # at least a second: never a busy loop
        ({"Retry-After": "1.2"}, 2),  # a fraction rounds up, never early
        ({"Retry-After": "Sat, 05 Dec 2026 09:01:30 GMT"}, 90),  # the HTTP-date form
        ({"Retry-After": "Sat, 05 Dec 2026 08:00:00 GMT"}, 1),  # a date passed
        ({}, None),
        ({"Retry-After": []}, None),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "inf"}, None),  # would sleep for ever
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "-inf"}, None),
    ],
)
def test_retry_after_is_a_finite_whole_number_of_seconds_or_none(
    headers: dict[str, object], seconds: int | None
) -> None:
    assert retry_after_seconds(headers, now=NOW) == seconds
