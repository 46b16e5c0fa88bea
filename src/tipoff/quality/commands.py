"""CLI commands of the quality loop (report, backtest, calibrate, outcomes import)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Adds the quality commands to the `tipoff` CLI."""
