"""What every command module shares: the two terminals, `fail`, the settings, and the
runtime one command opens. Command modules import this module and `file_import`, never
each other nor the package root (import-linter checks it: pyproject.toml)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from tipoff.core.evidence import plural
from tipoff.errors import TipoffError
from tipoff.terminal import Terminal, styled, with_program

if TYPE_CHECKING:
    from rich.table import Table

    from tipoff.model import ScoringModel
    from tipoff.runtime import Runtime
    from tipoff.settings import Settings
    from tipoff.store.model_changes import ModelChange

T = TypeVar("T")

out = Terminal()
err = Terminal(stderr=True)


def fail(message: str, *, code: int = 1) -> typer.Exit:
    """Prints `message` (red, on stderr, its `tipoff …` hints as the user runs Tipoff)
    and returns the Exit to raise: `raise fail(...)`."""
    err.print(with_program(message), style="red")
    return typer.Exit(code)


def first_of(items: Sequence[str], shown: int, *, sep: str = ", ") -> str:
    """The first `shown` of `items` joined by `sep`, and how many more there are: a list
    of thousands (accounts a backtest moves, rows an import skipped) stays one
    readable line."""
    hidden = len(items) - shown
    if hidden <= 0:
        return sep.join(items)
    before_more = "; " if sep == "; " else " "
    return f"{sep.join(items[:shown])}{before_more}and {hidden:,} more"


def load_settings() -> Settings:
    from pydantic import ValidationError

    from tipoff.settings import Settings, describe_problems

    try:
        return Settings()
    except ValidationError as error:
        err.print("Configuration error (environment or .env):", style="red")
        for problem in describe_problems(error):
            err.print(f"  {problem}")
        raise typer.Exit(2) from None


@asynccontextmanager
async def open_runtime(settings: Settings, **options: Any) -> AsyncIterator[Runtime]:
    """The runtime for one command (`options` go to `build_runtime`); a broken model file
    is listed and exits 2."""
    from tipoff.model import ModelFileError
    from tipoff.startup import build_runtime

    try:
        runtime = await build_runtime(settings, **options)
    except ModelFileError as error:
        raise fail(str(error), code=2) from None
    try:
        yield runtime
    finally:
        await runtime.close()


def with_runtime(
    work: Callable[[Runtime], Awaitable[T]], *, create: bool = False, **options: Any
) -> T:
    """Runs one command's `work`. Most commands read what is stored, so by default a
    SQLite file that does not exist is not created (`create`): that is an error, like
    any TipoffError a one-line message and exit 1. A command neither migrates the schema
    nor logs its model as the live one: only `serve` and `model apply` do."""
    options = {"migrate": False, "note_model_change": False, **options}

    async def run() -> T:
        async with open_runtime(load_settings(), create=create, **options) as runtime:
            return await work(runtime)

    return run_command(run())


def run_command(work: Coroutine[Any, Any, T]) -> T:
    """Runs a command's `work`, with a TipoffError as one line and exit 1."""
    import asyncio  # here, not above: `tipoff --help` runs no event loop

    try:
        return asyncio.run(work)
    except TipoffError as error:
        raise fail(error.message) from None


async def configured_model_not_live(rt: Runtime) -> ModelChange | None:
    """The live model, when TIPOFF_MODEL names another (which only `serve` and `model
    apply` may put live)."""
    from tipoff.quality import changes

    return await changes.live_model_if_other(rt.db, changes.model_text(rt.settings.model_path))


async def warn_unless_live(rt: Runtime, answer: Callable[[], Awaitable[T]]) -> T:
    """`answer()`, with a note on stderr when it was scored with a model that is not live:
    the server's stored scores come from the live one."""
    live = await configured_model_not_live(rt)
    if live is not None:
        err.print(
            styled(
                ("Note:", "yellow"),
                f" TIPOFF_MODEL ('{rt.model.name}') is not the live model"
                f" ('{live.model_name}'); scores computed now use it, stored ones the live"
                " model.",
            )
        )
    return await answer()


def load_model_file(path: Path) -> ScoringModel:
    """The model in `path`; a broken one has every mistake listed and exits 1."""
    from tipoff.model import ModelFileError, load_model

    try:
        return load_model(path)
    except ModelFileError as error:
        err.print(f"{path}: {plural(len(error.problems), 'problem')}", style="red")
        for problem in error.problems:
            err.print(f"  {problem}")
        raise typer.Exit(1) from None


def top_table(rows: list[Any]) -> Table:
    """The top accounts (`tipoff top`, and the demo's last word)."""
    from rich.table import Table

    table = Table(title="Top accounts")
    table.add_column("#", justify="right")
    table.add_column("Account")
    table.add_column("Domain")
    table.add_column("Score", justify="right")
    table.add_column("Track")
    for rank, row in enumerate(rows, 1):
        table.add_row(
            str(rank), row.account.label, row.account.domain or "", str(row.score), row.track
        )
    return table
