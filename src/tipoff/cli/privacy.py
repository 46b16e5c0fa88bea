"""`tipoff forget` and `prune`: erasing a person, and retention."""

from __future__ import annotations

import getpass
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from tipoff.cli.common import err, out, with_runtime
from tipoff.core.evidence import plural

if TYPE_CHECKING:
    from tipoff import privacy
    from tipoff.alerts.erased import SlackUpdate
    from tipoff.runtime import Runtime

# Retention longer than this is no retention: and a date this far back is about as far
# as Python's dates go.
MAX_RETENTION_DAYS = 36_500


def forget(
    email: Annotated[str, typer.Argument(help="The person's email address.")],
    by: Annotated[str | None, typer.Option(help="Who asked for the erasure (recorded).")] = None,
) -> None:
    """Erase a person: signals, identities, name and email wherever stored or posted."""
    from tipoff import privacy

    async def erase(rt: Runtime) -> tuple[privacy.Erasure, SlackUpdate]:
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
