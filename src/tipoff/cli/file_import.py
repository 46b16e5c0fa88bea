"""The file-import edge `tipoff signals import` and `tipoff outcomes import` share: check
the whole file first, then write it, with a progress bar and one summary line."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tipoff.cli.common import err, fail, load_settings, run_command, with_runtime
from tipoff.core.evidence import plural

if TYPE_CHECKING:
    from tipoff.ingest.csvfile import ImportResult
    from tipoff.model import ScoringModel
    from tipoff.runtime import Runtime

C = TypeVar("C")
T = TypeVar("T")

ImportProgress = Callable[[int, int], None]


def run_file_import(
    path: Path,
    label: str,
    check: Callable[[ScoringModel, datetime, ImportProgress], Coroutine[Any, Any, C]],
    write: Callable[[Runtime, C, ImportProgress], Awaitable[T]],
) -> T:
    """Imports `path` with a progress bar on stderr (quiet when stderr is not a terminal).

    `check` reads the whole file with the model and the time, and opens no database; only
    a file it finds clean is given to `write`, with the runtime (a new SQLite database is
    created then). So a missing or bad file is a one-line error (exit 1) that neither
    changes a database nor leaves a new, empty one behind."""
    from rich.progress import BarColumn, Progress, TextColumn

    from tipoff.model import ModelFileError
    from tipoff.runtime import utc_now
    from tipoff.startup import configured_model

    if not path.is_file():
        raise fail(f"{path}: no such file")
    settings = load_settings()
    try:
        model = configured_model(settings)
    except ModelFileError as error:
        raise fail(str(error), code=2) from None

    columns = (TextColumn(label), BarColumn(), TextColumn("{task.percentage:>3.0f}%"))
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        checked = run_command(check(model, utc_now(), progress))
        return with_runtime(lambda rt: write(rt, checked, progress), create=True)


def import_summary(result: ImportResult, what: str) -> str:
    return (
        f"Imported {plural(result.imported, what, grouped=True)}"
        f" from {plural(result.rows, 'row', grouped=True)}"
        + (f"; {result.duplicates:,} already imported" if result.duplicates else "")
        + "."
    )
