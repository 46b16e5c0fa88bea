"""`tipoff score`, `top` and `rescore`: accounts and their scores."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tipoff.cli.common import (
    configured_model_not_live,
    err,
    out,
    top_table,
    warn_unless_live,
    with_runtime,
)
from tipoff.core.evidence import plural
from tipoff.errors import Conflict
from tipoff.terminal import program, styled

if TYPE_CHECKING:
    from tipoff.runtime import Runtime
    from tipoff.scores import lookup, rescoring


def rescore_command(
    everything: Annotated[
        bool, typer.Option("--all", help="Rescore every account, not just changed ones.")
    ] = False,
) -> None:
    """Rescore accounts once (changed ones, or --all) and queue any alerts."""
    from tipoff.scores import rescoring

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


def score(
    account: Annotated[
        str,
        typer.Argument(
            help="A domain (acme.com), a company name, someone's email address (their"
            " company's domain), or the label `top` shows for an account with neither"
            " (Account 7)."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for other tools.")] = False,
) -> None:
    """Show an account's score, with its dimensions and evidence.

    That is the stored score while it is current (no signal since, at most a
    full-rescore interval old), else the score computed now."""
    from tipoff.scores import lookup

    found = with_runtime(lambda rt: warn_unless_live(rt, lambda: lookup.lookup(rt, account)))
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


def score_json(found: lookup.Lookup) -> dict[str, Any]:
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


def top_command(
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many accounts.")] = 10,
) -> None:
    """List the highest-scoring accounts as of their last rescore."""
    from tipoff.scores import lookup

    rows = with_runtime(lambda rt: warn_unless_live(rt, lambda: lookup.top(rt, limit=limit)))
    if not rows:
        out.print(f"No scored accounts yet. Send signals to /v1/… and run `{program()} rescore`.")
        return
    out.print(top_table(rows))
