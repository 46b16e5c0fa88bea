"""`tipoff alerts`: alerts Slack did not take, and queueing them again."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tipoff.cli.common import fail, out, with_runtime
from tipoff.core.evidence import plural
from tipoff.terminal import program, with_program

if TYPE_CHECKING:
    from tipoff.alerts import outbox
    from tipoff.runtime import Runtime
    from tipoff.store.slack_failures import RefusedPost


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
    from tipoff.slack.install_state import current_pause

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
    ) -> tuple[Any, list[outbox.TroubledAlert], list[RefusedPost], Any, int | None]:
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
