"""Importing a CSV file: every row checked first, then written, both passes streamed.

`tipoff signals import` and `tipoff outcomes import` read their files this way. The first
pass (`check_csv`) reads the whole file and reports every bad row with its line number; one
bad row and nothing is written. It needs no database, so a bad file neither opens nor
creates one. Only a clean file is read again (`write_csv`) and written, a batch at a time,
through the caller's `write` (the same ingest service as the HTTP API). Memory stays flat
however long the file is: neither pass holds more than a batch of rows.

Files are UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8" writes one).
Header names are matched case-insensitively, with spaces and hyphens read as underscores
("User ID" is `user_id`); each import says which names it accepts, several for a column
when vendors' exports name it differently (`Columns.named`).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Generic, NoReturn, TypeVar

from tipoff.core.evidence import plural
from tipoff.errors import InvalidInput
from tipoff.store.accounts import group_ids_of_domains
from tipoff.store.db import Connection

if TYPE_CHECKING:
    from _csv import Reader

R = TypeVar("R")

BATCH_ROWS = 500
MAX_REPORTED = 20


@dataclass(frozen=True, slots=True)
class BadRow:
    line: int  # the file's line where the row starts; the header is line 1
    problem: str


class BadCsvFile(InvalidInput):
    """The file has bad rows (the first MAX_REPORTED are listed); nothing was imported."""

    def __init__(self, path: str, bad: list[BadRow], count: int) -> None:
        shown = "\n".join(f"  line {b.line}: {b.problem}" for b in bad[:MAX_REPORTED])
        more = f"\n  … and {count - MAX_REPORTED} more" if count > MAX_REPORTED else ""
        super().__init__(
            f"{path}: {plural(count, 'bad row')}; nothing was imported.\n{shown}{more}"
        )
        self.bad = bad
        self.count = count


@dataclass(frozen=True, slots=True)
class ImportResult:
    rows: int
    imported: int  # signals stored now
    duplicates: int  # rows already stored by an earlier import (or repeated in this file)


@dataclass(frozen=True, slots=True)
class Columns:
    """The header an import reads: which names it accepts for each of its columns.

    `names` maps a normalised header name (lower case, spaces and hyphens as "_") to the
    column it fills; `required` lists the columns a header must have, each entry a tuple
    of which at least one must be there ("email or user_id"). A header name not in
    `names` keys its column by its normalised name ("Form Name" is form_name): an import
    may read it as a free-form column."""

    names: Mapping[str, str]
    required: tuple[tuple[str, ...], ...]

    @classmethod
    def named(
        cls, headers: Mapping[str, tuple[str, ...]], required: tuple[tuple[str, ...], ...]
    ) -> Columns:
        """Columns from each column's accepted header names (normalised), its own first:
        {"date": ("date", "close_date", "closedate")}."""
        return cls(
            names={header: column for column, names in headers.items() for header in names},
            required=required,
        )


@dataclass(frozen=True, slots=True)
class Pass(Generic[R]):
    """How one import reads its rows. `parse` is pure and cheap, since it runs in both
    passes; `check` runs in the first pass only, on each batch of rows that parsed, and
    returns their problems (a limit, a count to keep); it opens no database."""

    columns: Columns
    parse: Callable[[int, dict[str, str]], R | BadRow]
    check: Callable[[list[R]], Awaitable[list[BadRow]]] | None = None


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """A file `check_csv` found clean: `rows` rows, read again by `write_csv`."""

    path: Path
    rows: int
    size: int  # bytes, as read when checked: progress counts it once per pass


def normalise_header(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def parse_time(column: str, raw: str, now: datetime) -> datetime | str:
    """A cell's time in UTC, or the problem with it. A date (2026-10-01) is midnight UTC;
    an ISO 8601 time without an offset (2026-10-01 09:30) is read as UTC."""
    raw = raw.strip()
    try:
        at = (
            datetime.combine(datetime.strptime(raw, "%Y-%m-%d").date(), time(), UTC)
            if len(raw) == 10
            else datetime.fromisoformat(raw)
        )
    except ValueError:
        return (
            f"{column} {raw!r} is not a date such as 2026-10-01 "
            "or a time such as 2026-10-01T09:30:00+02:00"
        )
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    if at > now:
        return f"{column} {raw} is in the future"
    if at.year < 1970:
        return f"{column} {raw} is before 1970"
    return at


def _reporter(
    progress: Callable[[int, int], None] | None, size: int, offset: int
) -> Callable[[int], None] | None:
    """(bytes done, bytes to do) over both passes: the file's size counts twice."""
    if progress is None:
        return None
    total = 2 * size or 1
    return lambda position: progress(offset + position, total)


async def check_csv(
    path: Path, rows: Pass[R], *, progress: Callable[[int, int], None] | None = None
) -> CheckedFile:
    """The first pass: every row parsed and checked. Raises BadCsvFile when any row is
    bad, InvalidInput when the file is not UTF-8 CSV or has no rows. `progress` gets
    (bytes done, bytes to do) over both passes."""
    size = _size(path)
    report = _reporter(progress, size, 0)
    bad: list[BadRow] = []
    bad_count = 0
    count = 0

    def reject(found: list[BadRow]) -> None:
        nonlocal bad, bad_count
        bad_count += len(found)
        bad.extend(found)
        if len(bad) > 2 * MAX_REPORTED:  # keep only the first lines: the ones shown
            bad = sorted(bad, key=lambda b: b.line)[:MAX_REPORTED]

    def parsed() -> Iterator[R]:
        nonlocal count
        for line, row in _read(path, rows.columns, report, reject):
            count += 1
            found = rows.parse(line, row)
            if isinstance(found, BadRow):
                reject([found])
            else:
                yield found

    for batch in _batches(parsed()):
        if rows.check is not None:
            reject(await rows.check(batch))
    if bad_count:
        raise BadCsvFile(str(path), sorted(bad, key=lambda b: b.line), bad_count)
    if count == 0:
        raise InvalidInput(f"{path}: no rows to import")
    return CheckedFile(path=path, rows=count, size=size)


async def write_csv(
    checked: CheckedFile,
    rows: Pass[R],
    write: Callable[[list[R]], Awaitable[tuple[int, int]]],
    *,
    progress: Callable[[int, int], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ImportResult:
    """The second pass: the checked file read again and given to `write` `batch_rows`
    rows at a time; `write` stores a batch and returns (signals stored, duplicates
    skipped)."""
    path = checked.path

    def changed(found: list[BadRow]) -> NoReturn:
        raise InvalidInput(
            f"{path} changed while it was imported (line {found[0].line}: {found[0].problem});"
            " what was written before stays, and importing the file again skips it"
        )

    def parsed_again() -> Iterator[R]:
        for line, row in _read(
            path, rows.columns, _reporter(progress, checked.size, checked.size), changed
        ):
            found = rows.parse(line, row)
            if isinstance(found, BadRow):
                changed([found])
            else:
                yield found

    imported = duplicates = 0
    for batch in _batches(parsed_again(), batch_rows):
        stored, skipped = await write(batch)
        imported, duplicates = imported + stored, duplicates + skipped
    if progress is not None:
        total = 2 * checked.size or 1
        progress(total, total)
    return ImportResult(rows=checked.rows, imported=imported, duplicates=duplicates)


async def known_domains(conn: Connection, domains: set[str]) -> dict[str, str]:
    """domain -> the groupId to send in a `group` call for it: its account's, else the
    domain itself. (A group call with a new groupId would make a second account for a
    domain another group already holds.) Only domains with an account are returned."""
    return await group_ids_of_domains(conn, sorted(domains))


def _batches(items: Iterator[R], size: int = BATCH_ROWS) -> Iterator[list[R]]:
    batch: list[R] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _size(path: Path) -> int:
    return path.stat().st_size


def _read(
    path: Path,
    columns: Columns,
    progress: Callable[[int], None] | None,
    reject: Callable[[list[BadRow]], None],
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) for each data row, keyed by column (or by its normalised header, for a
    header an import does not name). Problems that stop the reading (the header, broken
    quoting) go to `reject`; a file that is not UTF-8 raises InvalidInput."""
    with path.open("rb") as raw:
        handle = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        try:
            yield from _rows(csv.reader(handle, strict=True), columns, raw, progress, reject)
        except UnicodeDecodeError:
            raise InvalidInput(_not_utf8(path)) from None


def _rows(
    reader: Reader,
    columns: Columns,
    raw: BinaryIO,
    progress: Callable[[int], None] | None,
    reject: Callable[[list[BadRow]], None],
) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        header = next(reader, None)
    except csv.Error as error:
        reject([BadRow(1, f"the header is not valid CSV: {error}")])
        return
    if header is None:
        reject([BadRow(1, "the file is empty: expected a header row")])
        return
    keys = _header_keys(header, columns)
    if isinstance(keys, BadRow):
        reject([keys])
        return
    while True:
        start = reader.line_num + 1  # a quoted field may span lines: name the first
        try:
            fields = next(reader, None)
        except csv.Error as error:
            reject([BadRow(start, _csv_problem(error))])
            return
        if fields is None:
            return
        if progress is not None and reader.line_num % 256 == 0:
            progress(raw.tell())
        if not any(fields):
            continue  # a blank line, or one of only commas
        if len(fields) != len(keys):
            reject(
                [BadRow(start, f"has {plural(len(fields), 'field')}; the header has {len(keys)}")]
            )
            continue
        if any("\x00" in field for field in fields):
            reject([BadRow(start, "contains a NUL character")])
            continue
        yield start, {key: field for key, field in zip(keys, fields, strict=True) if key}


def _header_keys(header: list[str], columns: Columns) -> list[str] | BadRow:
    """The key of each column in the header ("" for an unnamed one, which is skipped)."""
    keys: list[str] = []
    named: dict[str, str] = {}
    for written in header:
        written = written.strip()
        normalised = normalise_header(written)
        column = columns.names.get(normalised, normalised)
        if column and column in named:
            return BadRow(1, f"columns {named[column]!r} and {written!r} both give {column}")
        named[column] = written
        keys.append(column)
    missing = [" or ".join(c) for c in columns.required if not any(n in named for n in c)]
    if missing:
        return BadRow(
            1,
            f"the header lacks {'a column' if len(missing) == 1 else 'columns'}: {', '.join(missing)}",
        )
    return keys


def _csv_problem(error: csv.Error) -> str:
    if "unexpected end of data" in str(error):
        return "a quoted field starts here and is never closed"
    return f"not valid CSV: {error}"


def _not_utf8(path: Path) -> str:
    """Where the file stops being UTF-8, found by decoding it again from the start (the
    reader decodes ahead of the rows, so its error does not say which line)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as raw:
        while chunk := raw.read(1 << 16):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                line += chunk.count(b"\n", 0, error.start)
                byte = chunk[error.start]
                utf16 = line == 1 and chunk[:2] in (b"\xff\xfe", b"\xfe\xff")
                return (
                    f"{path} is not UTF-8 text: line {line} has the byte 0x{byte:02x}"
                    + (" (the file looks like UTF-16)" if utf16 else "")
                    + '. Save it as UTF-8 (in Excel: "CSV UTF-8"); nothing was imported.'
                )
            line += chunk.count(b"\n")
    return f"{path} ends in the middle of a UTF-8 character; nothing was imported."
