"""`tipoff sources`: the systems that send signals, and their write keys."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from tipoff import names
from tipoff.cli.common import load_settings, out, with_runtime
from tipoff.terminal import program

if TYPE_CHECKING:
    from tipoff import sources
    from tipoff.runtime import Runtime
    from tipoff.store.sources import Source

app = typer.Typer(
    help="Sources: the systems that send signals, each with its own write key.",
    no_args_is_help=True,
)


class SourceCategory(StrEnum):  # names.SOURCE_CATEGORIES
    product = "product"
    marketing = "marketing"
    outcome = "outcome"


class SourceKind(StrEnum):  # names.SOURCE_KINDS
    api = "api"
    segment_webhook = "segment-webhook"
    rudderstack_webhook = "rudderstack-webhook"
    posthog_webhook = "posthog-webhook"


@app.command("add")
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
                conn,
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


@app.command("list")
def sources_list() -> None:
    """List sources with their key hints and status."""
    from rich.measure import Measurement
    from rich.table import Table

    from tipoff import sources

    async def listing(rt: Runtime) -> list[Source]:
        async with rt.db.transaction() as conn:
            return await sources.list_sources(conn)

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


@app.command("revoke")
def sources_revoke(name: Annotated[str, typer.Argument(help="The source to revoke.")]) -> None:
    """Stop accepting a source's write key or webhook secret (for good)."""
    from tipoff import sources

    async def revoke(rt: Runtime) -> tuple[Source, bool]:
        now = rt.clock()
        async with rt.db.transaction() as conn:
            revoked = await sources.revoke_source(conn, name=name, now=now)
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
