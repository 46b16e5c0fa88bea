"""`tipoff`: the command line. Each command parses, calls one service, prints."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from tipoff import rescoring
from tipoff.model import ModelFileError, load_model
from tipoff.runtime import Runtime
from tipoff.settings import Settings

T = TypeVar("T")

app = typer.Typer(
    help="Tipoff tells B2B sales reps which accounts are ready to buy, and why.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
model_app = typer.Typer(help="Check the scoring model file.", no_args_is_help=True)
app.add_typer(model_app, name="model")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        err.print("[red]Configuration error[/red] (environment or .env):")
        for problem in error.errors(include_url=False, include_input=False):
            field = ".".join(str(p) for p in problem["loc"]) or "settings"
            err.print(f"  {field.upper()}: {problem['msg'].removeprefix('Value error, ')}")
        raise typer.Exit(2) from None


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    try:
        runtime = await Runtime.open(settings)
    except ModelFileError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    try:
        yield runtime
    finally:
        await runtime.close()


def with_runtime(work: Callable[[Runtime], Awaitable[T]]) -> T:
    async def run() -> T:
        async with open_runtime(load_settings()) as runtime:
            return await work(runtime)

    return asyncio.run(run())


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 3000,
) -> None:
    """Run the bot: Segment-compatible ingest, Slack endpoints and the scheduler."""
    import uvicorn

    from tipoff.app import create_app

    settings = load_settings()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command("rescore")
def rescore_command(
    everything: Annotated[
        bool, typer.Option("--all", help="Rescore every account, not just changed ones.")
    ] = False,
) -> None:
    """Rescore accounts once (changed ones, or --all) and queue any alerts."""
    summary = with_runtime(lambda rt: rescoring.rescore(rt, everything=everything))
    tracks = (
        ", ".join(f"{track} {count}" for track, count in sorted(summary.tracks.items())) or "none"
    )
    out.print(
        f"Rescored {summary.scored} accounts ({tracks}); queued {summary.alerts_queued} alerts."
    )


@app.command()
def score(
    account: Annotated[str, typer.Argument(help="A domain (acme.com) or a company name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for other tools.")] = False,
) -> None:
    """Show an account's score now, with its dimensions and evidence."""
    found = with_runtime(lambda rt: rescoring.lookup(rt, account))
    if found.account is None or found.result is None:
        if found.matches:
            err.print(f"'{account}' matches {len(found.matches)} accounts; name one:")
            for match in found.matches:
                err.print(f"  {match.label}  ({match.domain or 'no domain'})")
        else:
            err.print(
                f"No account matches '{account}'. Try its domain (acme.com) or part of its name; `tipoff top` lists scored accounts."
            )
        raise typer.Exit(1)
    result, history = found.result, found.account
    if as_json:
        out.print_json(json.dumps(score_json(found)))
        return
    d = result.dimensions
    out.print(
        f"[bold]{history.label}[/bold] ({history.domain or 'no domain'}) — [bold]{result.score}[/bold], {result.track.value}"
    )
    out.print(
        f"Fit {d.fit:+.0f} · Product {d.product:+.0f} · Marketing {d.marketing:+.0f} · Timing {d.timing:+.0f}"
    )
    for line in result.evidence:
        out.print(f"  {line.points:+5.0f}  {line.text}")
    if result.contact is not None:
        out.print(
            f"Contact first: {result.contact.label}"
            + (f" <{result.contact.email}>" if result.contact.email else "")
        )
    if found.history:
        trend = " → ".join(f"{s} ({t})" for _, s, t in reversed(found.history))
        out.print(f"History: {trend}")


def score_json(found: rescoring.Lookup) -> dict[str, Any]:
    assert found.account is not None and found.result is not None
    result = found.result
    d = result.dimensions
    return {
        "account": {"domain": found.account.domain, "name": found.account.name},
        "score": result.score,
        "track": result.track.value,
        "dimensions": {
            "fit": d.fit,
            "product": d.product,
            "marketing": d.marketing,
            "timing": d.timing,
        },
        "evidence": [{"text": e.text, "points": e.points} for e in result.evidence],
    }


@app.command("top")
def top_command(
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many accounts.")] = 10,
) -> None:
    """List the highest-scoring accounts as of their last rescore."""
    rows = with_runtime(lambda rt: rescoring.top(rt, limit=limit))
    if not rows:
        out.print("No scored accounts yet. Send signals to /v1/… and run `tipoff rescore`.")
        return
    out.print(top_table(rows))


def top_table(rows: list[Any]) -> Table:
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


@model_app.command("check")
def model_check(path: Annotated[Path, typer.Argument(help="The model YAML file.")]) -> None:
    """Validate a model file and list every mistake with its line."""
    try:
        model = load_model(path)
    except ModelFileError as error:
        err.print(f"[red]{path}: {len(error.problems)} problem(s)[/red]")
        for problem in error.problems:
            err.print(f"  {problem}")
        raise typer.Exit(1) from None
    out.print(
        f"{path}: OK — model '{model.name}', {len(model.fit)} fit rules, {len(model.signals)} signal rules."
    )


def main() -> None:
    app()
