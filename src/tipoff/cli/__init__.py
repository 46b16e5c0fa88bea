"""`tipoff`: the command line. Each command parses, calls one service, prints.

This package's root is the table of contents: the app, and every command in the order
`tipoff --help` lists them. The commands live one module per group (`accounts`,
`sources`, `model` …); they share `common` (the terminals, `fail`, the runtime one
command opens) and `file_import`, and import neither each other nor this root.

Everything is printed through `tipoff.terminal` (data as text, never markup). Services are
imported inside the commands that call them, so `tipoff --help` and a lookup start
without loading the HTTP server, Slack's SDK or the statistics libraries."""

from __future__ import annotations

import typer

from tipoff.cli import (
    accounts,
    alerts,
    crm,
    demo,
    model,
    outcomes,
    privacy,
    quality,
    serve,
    signals,
    sources,
)

app = typer.Typer(
    help="Tipoff tells B2B sales reps which accounts are ready to buy, and why.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(serve.serve)
app.command()(demo.demo)
app.command("rescore")(accounts.rescore_command)
app.command()(accounts.score)
app.command("top")(accounts.top_command)
app.command("alerts")(alerts.alerts_command)
app.command()(privacy.forget)
app.command()(privacy.prune)
app.command("report")(quality.report_command)
app.command("backtest")(quality.backtest_command)
app.command("calibrate")(quality.calibrate_command)
app.command("quality-demo")(demo.quality_demo)
app.add_typer(model.app, name="model")
app.add_typer(sources.app, name="sources")
app.add_typer(outcomes.app, name="outcomes")
app.add_typer(signals.app, name="signals")
app.add_typer(crm.app, name="crm")


def main() -> None:
    app()
