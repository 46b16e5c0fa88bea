"""Reading a rate limit's `Retry-After` (RFC 9110, 10.2.3), for every vendor Tipoff calls.

Slack and HubSpot send delay-seconds; the header may also be an HTTP date. What a
server sends is data: a value that is not a finite, sane delay ("inf", "nan", a date
in the past) must not make a caller sleep forever or not at all. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def retry_after_seconds(
    headers: Mapping[str, object], *, now: datetime | None = None
) -> int | None:
    """A response's Retry-After in whole seconds, at least 1 (a fraction rounds up);
    None when absent or unreadable. An HTTP date counts from `now` (default: the clock)."""
    raw = next((value for name, value in headers.items() if name.lower() == "retry-after"), None)
    if isinstance(raw, list | tuple):
        raw = raw[0] if raw else None
    if raw is None:
        return None
    text = str(raw).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(1, math.ceil(seconds))
