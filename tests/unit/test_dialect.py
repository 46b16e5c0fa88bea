"""The hot paths that write SQLite values by hand store exactly what SQLAlchemy would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from tipoff.store.dialect import UTCDateTime, sqlite_utc_text

SQLITE = sqlite.dialect()
# SQLite's DATETIME as SQLAlchemy binds it: UTCDateTime's naive UTC value, then text.
_AS_TEXT = UTCDateTime().impl.dialect_impl(SQLITE).bind_processor(SQLITE)

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@given(
    moment=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2199, 12, 30)),
    zone=st.one_of(st.just(UTC), offsets),
)
def test_event_times_are_written_as_sqlalchemy_writes_them(
    moment: datetime, zone: timezone
) -> None:
    value = moment.replace(tzinfo=zone)
    assert _AS_TEXT is not None
    assert sqlite_utc_text(value) == _AS_TEXT(UTCDateTime().process_bind_param(value, SQLITE))


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        sqlite_utc_text(datetime(2026, 1, 1))
