"""`tipoff`: the command line. Each command parses, calls one service, prints.

Everything is printed through `tipoff.terminal` (data as text, never markup). Services are
imported inside the commands that call them, so `tipoff --help` and a lookup start
without loading the HTTP server, Slack's SDK or the statistics libraries."""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from tipoff import names
from tipoff.core.evidence import plural
from tipoff.errors import Conflict, TipoffError
from tipoff.ingest import commands as ingest_commands
from tipoff.quality import commands as quality_commands
from tipoff.terminal import Terminal, program, styled, with_program

if TYPE_CHECKING:
    from rich.table import Table

    from tipoff import privacy, rescoring, sources
    from tipoff.alerts import outbox
    from tipoff.quality import changes
    from tipoff.runtime import Runtime
    from tipoff.settings import Settings

T = TypeVar("T")

app = typer.Typer(
    help="Tipoff tells B2B sales reps which accounts are ready to buy, and why.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
model_app = typer.Typer(
    help="The scoring model file: check it, put it live, see its history.", no_args_is_help=True
)
app.add_typer(model_app, name="model")
sources_app = typer.Typer(
    help="Sources: the systems that send signals, each with its own write key.",
    no_args_is_help=True,
)
app.add_typer(sources_app, name="sources")

out = Terminal()
err = Terminal(stderr=True)


def fail(message: str, *, code: int = 1) -> typer.Exit:
    """Prints `message` (red, on stderr, its `tipoff …` hints as the user runs Tipoff)
    and returns the Exit to raise: `raise fail(...)`."""
    err.print(with_program(message), style="red")
    return typer.Exit(code)


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
    """The runtime for one command (`options` go to `Runtime.open`); a broken model file
    is listed and exits 2."""
    from tipoff.model import ModelFileError
    from tipoff.runtime import Runtime

    try:
        runtime = await Runtime.open(settings, **options)
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

    try:
        return asyncio.run(run())
    except TipoffError as error:
        raise fail(error.message) from None


async def configured_model_not_live(rt: Runtime) -> changes.ModelChange | None:
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


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 3000,
) -> None:
    """Run the bot: Segment-compatible ingest, Slack endpoints and the scheduler."""
    import uvicorn

    from tipoff.app import create_app
    from tipoff.logs import configure_logging

    settings = load_settings()
    configure_logging()

    async def run() -> None:
        # Opened here rather than in the app's lifespan, so that a database that cannot
        # be reached or a broken model file is one line and an exit, not a traceback.
        async with open_runtime(settings, migrate=True, note_model_change=True) as runtime:
            config = uvicorn.Config(
                create_app(settings, runtime=runtime),
                host=host,
                port=port,
                log_config=None,
                log_level="info",
            )
            await uvicorn.Server(config).serve()

    try:
        asyncio.run(run())
    except TipoffError as error:
        raise fail(error.message) from None


@app.command()
def demo(
    database: Annotated[
        Path,
        typer.Option(
            help="SQLite file to write. One an earlier demo wrote is replaced; any other "
            "existing file only with --force."
        ),
    ] = Path("tipoff-demo.db"),
    force: Annotated[
        bool, typer.Option("--force", help="Replace --database even if the demo did not write it.")
    ] = False,
) -> None:
    """Replay the bundled sample history into a fresh SQLite file; never posts to Slack.

    The history goes through the real ingest API; then every account is rescored and the
    alerts and the top accounts are printed."""
    from tipoff.demo.files import replace_sample_database
    from tipoff.demo.replay import run_demo
    from tipoff.model import ModelFileError

    base = load_settings()
    try:
        replace_sample_database(database, force=force)
    except TipoffError as error:
        raise fail(error.message) from None
    # The demo's alerts are samples: they print to the console even where Slack is set up.
    settings = base.model_copy(
        update={
            "database_url": f"sqlite+aiosqlite:///{database}",
            "slack_bot_token": None,
            "slack_signing_secret": None,
            "slack_app_token": None,
        }
    )
    try:
        report = asyncio.run(run_demo(settings, out))
    except ModelFileError as error:
        raise fail(str(error), code=2) from None
    tracks = ", ".join(f"{count} {track}" for track, count in sorted(report.summary.tracks.items()))
    out.print(
        f"Scored {plural(report.summary.scored, 'account')} ({tracks});"
        f" {plural(report.summary.alerts_queued, 'alert')} queued."
    )
    out.print(top_table(report.top))
    example = report.top[0].account.domain if report.top else "acme.com"
    out.print(f"The demo database is {database}. Look around with, e.g.:")
    out.print(f"  DATABASE_URL=sqlite:///{database} {program()} score {example}")


@app.command("rescore")
def rescore_command(
    everything: Annotated[
        bool, typer.Option("--all", help="Rescore every account, not just changed ones.")
    ] = False,
) -> None:
    """Rescore accounts once (changed ones, or --all) and queue any alerts."""
    from tipoff import rescoring

    async def work(rt: Runtime) -> rescoring.RescoreSummary:
        live = await configured_model_not_live(rt)
        if live is not None:
            raise Conflict(
                f"TIPOFF_MODEL ('{rt.model.name}') is not the live model ('{live.model_name}',"
                f" put live {live.changed_at:%Y-%m-%d %H:%M} UTC by {live.changed_by}):"
                " rescoring with it would store scores no model change records. Put it live"
                " with `tipoff model apply FILE` (which rescores), or unset TIPOFF_MODEL."
            )
        return await rescoring.rescore(rt, everything=everything)

    summary = with_runtime(work)
    tracks = (
        ", ".join(f"{track} {count}" for track, count in sorted(summary.tracks.items())) or "none"
    )
    out.print(
        f"Rescored {plural(summary.scored, 'account')} ({tracks});"
        f" queued {plural(summary.alerts_queued, 'alert')}."
    )


@app.command()
def score(
    account: Annotated[
        str,
        typer.Argument(
            help="A domain (acme.com), a company name, or someone's email address (their"
            " company's domain)."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for other tools.")] = False,
) -> None:
    """Show an account's score, with its dimensions and evidence.

    That is the stored score while it is current (no signal since, at most a
    full-rescore interval old), else the score computed now."""
    from tipoff import rescoring

    found = with_runtime(lambda rt: warn_unless_live(rt, lambda: rescoring.lookup(rt, account)))
    if found.account is None or found.result is None:
        if found.matches:
            err.print(f"'{account}' matches {plural(len(found.matches), 'account')}; name one:")
            for match in found.matches:
                err.print(f"  {match.label}  ({match.domain or 'no domain'})")
        elif found.suggestions:
            suggested = ", ".join(
                f"{s.label} ({s.domain})" if s.domain else s.label for s in found.suggestions
            )
            err.print(f"No account matches '{account}'. Did you mean: {suggested}?")
        else:
            err.print(
                f"No account matches '{account}'. Try its domain (acme.com) or part of its"
                f" name; `{program()} top` lists scored accounts."
            )
        raise typer.Exit(1)
    result, history = found.result, found.account
    if as_json:
        out.print_json(json.dumps(score_json(found)))
        return
    d = result.whole  # shares of the score's one rounding: they add up to it
    out.print(
        styled(
            (history.label, "bold"),
            f" ({history.domain or 'no domain'}) — ",
            (str(result.score), "bold"),
            f", {result.track.value}",
        )
    )
    out.print(
        f"Fit {d.fit:+d} · Product {d.product:+d} · Marketing {d.marketing:+d} · Timing {d.timing:+d}"
    )
    for line, points in result.evidence_points():
        out.print(f"  {points:+5d}  {line.text}")
    if result.contact is not None:
        out.print(
            f"Contact first: {result.contact.label}"
            + (f" <{result.contact.email}>" if result.contact.email else "")
        )
    if found.history:
        trend = " → ".join(f"{s} ({t})" for _, s, t in reversed(found.history))
        out.print(f"History: {trend}")
    if found.scored_at is not None:
        out.print(f"As of the last rescore, {found.scored_at:%Y-%m-%d %H:%M} UTC")


def score_json(found: rescoring.Lookup) -> dict[str, Any]:
    assert found.account is not None and found.result is not None
    result = found.result
    d = result.whole  # whole points that add up to the score, as every surface shows them
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
        "evidence": [{"text": e.text, "points": p} for e, p in result.evidence_points()],
    }


@app.command("top")
def top_command(
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many accounts.")] = 10,
) -> None:
    """List the highest-scoring accounts as of their last rescore."""
    from tipoff import rescoring

    rows = with_runtime(lambda rt: warn_unless_live(rt, lambda: rescoring.top(rt, limit=limit)))
    if not rows:
        out.print(f"No scored accounts yet. Send signals to /v1/… and run `{program()} rescore`.")
        return
    out.print(top_table(rows))


def top_table(rows: list[Any]) -> Table:
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


class SourceCategory(StrEnum):  # names.SOURCE_CATEGORIES
    product = "product"
    marketing = "marketing"
    outcome = "outcome"


class SourceKind(StrEnum):  # names.SOURCE_KINDS
    api = "api"
    segment_webhook = "segment-webhook"
    rudderstack_webhook = "rudderstack-webhook"
    posthog_webhook = "posthog-webhook"


@sources_app.command("add")
def sources_add(
    name: Annotated[str, typer.Argument(help="A name for the sending system, e.g. hubspot.")],
    category: Annotated[
        SourceCategory | None,
        typer.Option(
            help="What the source sends, for your records; the model file decides scoring."
        ),
    ] = None,
    kind: Annotated[
        SourceKind,
        typer.Option(
            help="api: your code calls /v1/*. Or a vendor's webhook destination posting to "
            '/v1/webhooks/<id> (README, "Connecting Segment, RudderStack or PostHog").'
        ),
    ] = SourceKind.api,
    header: Annotated[
        str | None,
        typer.Option(
            help="A webhook source's secret comes in this header (RudderStack and PostHog: "
            f"{names.DEFAULT_AUTH_HEADER} by default; Segment: {names.SIGNATURE_HEADER}"
            " unless given)."
        ),
    ] = None,
) -> None:
    """Create a source and print its write key or webhook secret (shown once)."""
    from tipoff import sources

    settings = load_settings()
    server_key = settings.secret_key.get_secret_value() if settings.secret_key else None

    async def add(rt: Runtime) -> sources.NewSource:
        async with rt.db.transaction() as conn:
            return await sources.create_source(
                conn=conn,
                name=name,
                category=category.value if category else None,
                kind=kind.value,
                auth_header=header,
                server_key=server_key,
                now=rt.clock(),
            )

    created = with_runtime(add, create=True)
    source = created.source
    if source.webhook_path is None:
        out.print(f"Created source '{source.name}'. Its write key (shown only now):")
        out.print(created.write_key)
        out.print(
            "Send it as the HTTP Basic user name (Segment's writeKey) to /v1/track, /v1/batch …"
        )
        return
    out.print(f"Created {source.kind} source '{source.name}'. Its secret (shown only now):")
    out.print(created.write_key)
    out.print(f"Webhook URL: https://YOUR-HOST{source.webhook_path}")
    if source.auth_header is None:
        out.print(
            f"Enter the secret as the destination's Shared Secret (it signs"
            f" {names.SIGNATURE_HEADER})."
        )
    else:
        out.print(f"Add the header {source.auth_header} with the secret as its value.")


@sources_app.command("list")
def sources_list() -> None:
    """List sources with their key hints and status."""
    from rich.measure import Measurement
    from rich.table import Table

    from tipoff import sources

    async def listing(rt: Runtime) -> list[sources.Source]:
        async with rt.db.transaction() as conn:
            return await sources.list_sources(conn=conn)

    found = with_runtime(listing)
    if not found:
        out.print(f"No sources yet. Create one with `{program()} sources add NAME`.")
        return
    rows = [
        (
            source.name,
            source.kind,
            source.category or "",
            source.key_hint,
            source.webhook_path or "/v1/*",
            source.authentication,
            f"{source.created_at:%Y-%m-%d}",
            f"revoked {source.revoked_at:%Y-%m-%d}" if source.revoked_at else "active",
        )
        for source in found
    ]
    table = Table(title="Sources")
    for column in ("Name", "Kind", "Category", "Key", "URL", "Proof", "Created", "Status"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    unbounded = Measurement.get(out, out.options.update_width(10_000), table)
    if unbounded.maximum <= out.width:
        out.print(table)
        return
    # Too narrow for the table without breaking words (the URL and header are what users
    # copy from here): a few short lines per source instead.
    for name, kind, category, key, url, proof, created, status in rows:
        out.print(f"{name} — {kind}{f', {category}' if category else ''}, {status}")
        out.print(f"  key {key}, created {created}")
        out.print(f"  sends to {url}; proof: {proof}")


@sources_app.command("revoke")
def sources_revoke(name: Annotated[str, typer.Argument(help="The source to revoke.")]) -> None:
    """Stop accepting a source's write key or webhook secret (for good)."""
    from tipoff import sources

    async def revoke(rt: Runtime) -> tuple[sources.Source, bool]:
        now = rt.clock()
        async with rt.db.transaction() as conn:
            revoked = await sources.revoke_source(conn=conn, name=name, now=now)
        return revoked, revoked.revoked_at == now

    revoked, now_revoked = with_runtime(revoke)
    if now_revoked:
        out.print(f"Revoked source '{revoked.name}': its write key is no longer accepted.")
    else:
        assert revoked.revoked_at is not None
        out.print(
            f"Source '{revoked.name}' was already revoked on"
            f" {revoked.revoked_at:%Y-%m-%d %H:%M} UTC; nothing changed."
        )


@app.command("alerts")
def alerts_command(
    ids: Annotated[
        list[int] | None, typer.Argument(help="With --retry: the alerts to queue again.")
    ] = None,
    retry: Annotated[
        bool, typer.Option("--retry", help="Queue the named (or --all) alerts again.")
    ] = False,
    all_: Annotated[
        bool, typer.Option("--all", help="With --retry: every failed or stuck alert.")
    ] = False,
) -> None:
    """List failed or stuck alerts, and whether posting is paused; --retry queues them.

    Each alert shows Slack's reason, its age and attempts. Retry once the cause is fixed."""
    from rich.table import Table

    from tipoff.alerts import outbox
    from tipoff.slack.install import current_pause

    tipoff = program()
    if retry:
        if bool(ids) == all_:
            raise fail(
                f"Name the alerts to retry ({tipoff} alerts --retry 12 15) or --all.", code=2
            )

        async def requeue(rt: Runtime) -> list[int]:
            return await outbox.retry_alerts(rt, None if all_ else ids)

        requeued = with_runtime(requeue)
        if not requeued:
            out.print("No failed or stuck alerts to retry.")
            return
        out.print(
            f"Queued {plural(len(requeued), 'alert')} again: {', '.join(map(str, requeued))}. "
            f"`{tipoff} serve` posts them on its next delivery run."
        )
        return
    if ids or all_:
        raise fail("Alert IDs and --all go with --retry.", code=2)

    async def listing(
        rt: Runtime,
    ) -> tuple[Any, list[outbox.TroubledAlert], list[outbox.RefusedPost], Any, int | None]:
        return (
            await current_pause(rt),
            await outbox.troubled_alerts(rt),
            await outbox.refused_posts(rt),
            rt.clock(),
            await outbox.pending_count(rt) if rt.slack is None else None,
        )

    pause, troubled, refused, now, unposted = with_runtime(listing)
    if unposted:
        out.print(
            f"Slack is not configured (SLACK_BOT_TOKEN is not set):"
            f" {plural(unposted, 'alert')} {'waits' if unposted == 1 else 'wait'}"
            f" in the outbox, and `{tipoff} serve` posts them once it is."
        )
    if pause is not None:
        out.print(
            f"Slack posting is PAUSED since {pause.since:%Y-%m-%d %H:%M} UTC ({pause.reason}): "
            f"{with_program(pause.detail)}"
        )
    if not troubled and not refused:
        out.print("No failed or stuck alerts.")
        return
    if troubled:
        table = Table(title="Alerts not delivered")
        for column in ("ID", "Status", "Reason", "Account", "Channel", "Attempts", "Age"):
            table.add_column(column)
        for alert in troubled:
            table.add_row(
                str(alert.id),
                alert.status,
                alert.reason,
                alert.account,
                alert.target,
                str(alert.attempts),
                _age(now - alert.created_at),
            )
        out.print(table)
        for reason in dict.fromkeys(a.detail for a in troubled if a.status == "failed"):
            out.print(f"  {with_program(reason)}")
        out.print(f"Fix the cause, then `{tipoff} alerts --retry ID …` or `--retry --all`.")
    if refused:
        out.print("Refused by Slack in the last day (not retried):")
        for post in refused:
            out.print(
                f"  {post.kind} {post.subject} to {post.channel}: {post.reason}"
                f" ({post.failed_at:%Y-%m-%d %H:%M} UTC)"
            )


def _age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h {minutes % 60}m"
    return f"{minutes // (24 * 60)}d"


@app.command()
def forget(
    email: Annotated[str, typer.Argument(help="The person's email address.")],
    by: Annotated[str | None, typer.Option(help="Who asked for the erasure (recorded).")] = None,
) -> None:
    """Erase a person: signals, identities, name and email wherever stored or posted."""
    from tipoff import privacy

    async def erase(rt: Runtime) -> tuple[privacy.Erasure, privacy.SlackUpdate]:
        return await privacy.forget(rt, email=email, requested_by=by or getpass.getuser())

    done, slack = with_runtime(erase)
    rows = ", ".join(f"{table} {count}" for table, count in done.scrubbed.items()) or "none"
    out.print(
        f"Erased {email}: {plural(done.events_deleted, 'signal')} deleted; their name and"
        f" email removed from stored rows ({rows}); their account is rescored on the next run."
    )
    if slack.updated:
        out.print(f"Updated {plural(slack.updated, 'alert')} posted in Slack.")
    if slack.left:
        why = dict(slack.failed)
        lines = [f"  {m.channel} {m.ts}" + (f": {why[m]}" if m in why else "") for m in slack.left]
        cause = (
            "they could not be updated"
            if slack.configured
            else "Slack is not configured (SLACK_BOT_TOKEN), so they were not updated"
        )
        err.print(
            f"{plural(len(slack.left), 'alert')} posted in Slack still"
            f" {'names' if len(slack.left) == 1 else 'name'} them: {cause}. "
            "Delete these messages in Slack (channel, ts):\n" + "\n".join(lines)
        )
        raise typer.Exit(1)


# Retention longer than this is no retention: and a date this far back is about as far
# as Python's dates go.
MAX_RETENTION_DAYS = 36_500


@app.command()
def prune(
    older_than_days: Annotated[
        int,
        typer.Option(
            min=1, max=MAX_RETENTION_DAYS, help="Delete signals older than this many days."
        ),
    ],
) -> None:
    """Delete signals older than N days (retention); their accounts are rescored."""
    from tipoff import privacy

    async def run(rt: Runtime) -> int:
        async with rt.db.transaction() as conn:
            return await privacy.prune_signals(
                conn, older_than=rt.clock() - timedelta(days=older_than_days)
            )

    deleted = with_runtime(run)
    out.print(f"Deleted {plural(deleted, 'signal')} older than {plural(older_than_days, 'day')}.")


@model_app.command("check")
def model_check(path: Annotated[Path, typer.Argument(help="The model YAML file.")]) -> None:
    """Validate a model file and list every mistake with its line."""
    from tipoff.model import ModelFileError, load_model

    try:
        model = load_model(path)
    except ModelFileError as error:
        err.print(f"{path}: {plural(len(error.problems), 'problem')}", style="red")
        for problem in error.problems:
            err.print(f"  {problem}")
        raise typer.Exit(1) from None
    out.print(
        f"{path}: OK — model '{model.name}', {plural(len(model.fit), 'fit rule')},"
        f" {plural(len(model.signals), 'signal rule')}."
    )


def main() -> None:
    app()


quality_commands.register(app, model_app)
ingest_commands.register(app)
