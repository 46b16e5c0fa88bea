"""Which value of a trait a person or account keeps when calls disagree: per key, the
newest call's (issue 23). Pure; ingest applies it to the row as stored at the moment of
the write.

Every trait key is stored with the time of the call that gave it (`trait_times`: key ->
microseconds since the epoch, UTC; the call's `timestamp`, else when it was received). A
call's value for a key replaces the stored one unless the stored one came from a newer
call, so the order in which calls arrive, or replicas write, does not matter; a call
sent again changes nothing. A key stored without a time (before times were kept) counts
as older than any call. The descriptive columns follow the trait keys they are read
from (a person's name from `name`, `firstName` and `lastName`; the title from `title`;
an account's name, employees and industry from the keys of those names), and a column
that is empty takes any value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# The columns of each kind of row that traits set, with the trait keys each is read from.
PERSON_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "name": ("name", "firstName", "lastName"),
    "title": ("title",),
}
ACCOUNT_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "name": ("name",),
    "employees": ("employees",),
    "industry": ("industry",),
}


def micros(moment: datetime) -> int:
    """`moment` (aware) as the whole microseconds since the epoch that `trait_times` keeps."""
    return (moment - _EPOCH) // _MICROSECOND


@dataclass(frozen=True, slots=True)
class Stored:
    """A row's traits as stored: values, their times, and the columns traits set."""

    traits: dict[str, Any] = field(default_factory=dict)
    times: dict[str, int] = field(default_factory=dict)
    columns: dict[str, Any] = field(default_factory=dict)


# A value and the time of the call that gave it; None: a value with no time of its own
# (a merged person's key stored before times were kept), which only fills a gap.
Timed = tuple[Any, int | None]


@dataclass(slots=True)
class Writes:
    """What one unit of work gives a row, each value with its time: what it writes into
    the row as stored when it writes (`merged`), never the row as it read it earlier."""

    traits: dict[str, Timed] = field(default_factory=dict)
    columns: dict[str, Timed] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.traits or self.columns)

    def add(self, other: Writes, *, ties_keep_own: bool = False) -> None:
        """Folds `other` in, per key and column the newer value. On a tie `other`'s wins
        (it came later), unless `ties_keep_own`."""
        for mine, theirs in ((self.traits, other.traits), (self.columns, other.columns)):
            for key, (value, at) in theirs.items():
                if key not in mine or _newer(at, mine[key][1], ties=not ties_keep_own):
                    mine[key] = (value, at)

    @classmethod
    def of_stored(cls, stored: Stored, columns: Mapping[str, tuple[str, ...]]) -> Writes:
        """A stored row's values as writes with their stored times (a person merged into
        another hands over what they had)."""
        return cls(
            traits={key: (value, stored.times.get(key)) for key, value in stored.traits.items()},
            columns={
                name: (value, _column_time(stored.times, columns[name]))
                for name, value in stored.columns.items()
                if value is not None and name in columns
            },
        )


def merged(
    stored: Stored,
    writes: Writes,
    columns: Mapping[str, tuple[str, ...]],
    *,
    ties_win: bool = True,
) -> Stored:
    """`stored` with `writes` applied: each trait key takes the written value unless the
    stored one is newer (or as new, unless `ties_win`); each column likewise, judged by
    the times of its trait keys."""
    if not writes:
        return stored
    new_columns = dict(stored.columns)
    for name, (value, at) in writes.columns.items():
        if value is None:
            continue
        current_at = _column_time(stored.times, columns[name])
        if stored.columns.get(name) is None or _newer(at, current_at, ties=ties_win):
            new_columns[name] = value
    traits, times = dict(stored.traits), dict(stored.times)
    for key, (value, at) in writes.traits.items():
        if key not in stored.traits or _newer(at, stored.times.get(key), ties=ties_win):
            traits[key] = value
            if at is not None:
                times[key] = at
    return replace(stored, traits=traits, times=times, columns=new_columns)


def _newer(at: int | None, than: int | None, *, ties: bool) -> bool:
    """Whether a value written at `at` replaces one written at `than` (None: no time,
    older than any; a value without a time replaces nothing)."""
    if at is None:
        return False
    if than is None:
        return True
    return at >= than if ties else at > than


def _column_time(times: Mapping[str, int], keys: tuple[str, ...]) -> int | None:
    found = [times[key] for key in keys if key in times]
    return max(found) if found else None


def handed_over(
    had: Stored, survivor: Stored, columns: Mapping[str, tuple[str, ...]]
) -> tuple[Writes, Stored]:
    """What a row merged into another (the survivor) hands over: its values as writes,
    which the survivor's own win on a tie, and the survivor with them. Where both have a
    key, the newer value stays (on a tie, or with no times, the survivor's)."""
    handed = Writes.of_stored(had, columns)
    return handed, merged(survivor, handed, columns, ties_win=False)
