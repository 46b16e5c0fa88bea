"""`tipoff crm`: the score onto the CRM's records, and its deals and owners back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tipoff.cli.common import fail, first_of, load_settings, out, with_runtime
from tipoff.core.evidence import plural

if TYPE_CHECKING:
    from tipoff.crm_sync import SyncReport
    from tipoff.runtime import Runtime
    from tipoff.store.crm import RunRow

app = typer.Typer(
    help="CRM sync (HubSpot or Salesforce): scores onto account records, deals and owners back.",
    no_args_is_help=True,
)

# Names a line lists before "and N more".
_SHOWN = 10


@app.command("sync")
def crm_sync(
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Read the CRM and say what would be written and stored; write nothing, "
            "to the CRM or the database.",
        ),
    ] = False,
) -> None:
    """Sync once: score, track, evidence and scored time onto each matched CRM record
    (only what changed), deals in as outcomes, CRM owners in as owners.

    Prints what was written, and what was skipped and why. Exits 1 when the run
    stopped early (the CRM's daily limit, a refused token)."""
    from tipoff.startup import crm_client, crm_configured

    settings = load_settings()
    if not crm_configured(settings):
        raise fail(
            "No CRM is configured: set TIPOFF_HUBSPOT_TOKEN, or TIPOFF_SALESFORCE_CLIENT_ID"
            ' and its credentials (README, "CRM sync").'
        )

    async def work(rt: Runtime) -> SyncReport:
        from tipoff.crm.records import CrmError
        from tipoff.crm_sync import sync_crm

        try:
            client = crm_client(rt.settings)
        except CrmError as error:  # a Salesforce key file it cannot sign with
            raise fail(str(error)) from None
        assert client is not None
        try:
            return await sync_crm(rt, client, dry_run=dry_run)
        finally:
            await client.aclose()

    # A dry run creates no database; a sync stores what it reads, as an import does.
    report = with_runtime(work, create=not dry_run)
    for line in sync_lines(report):
        out.print(line)
    if report.stopped:
        raise fail(f"Stopped: {report.stopped}")


@app.command("status")
def crm_status() -> None:
    """The last sync: when, its counts, and the accounts it could not match."""

    async def work(rt: Runtime) -> RunRow | None:
        from tipoff.crm_sync import last_sync

        return await last_sync(rt)

    run = with_runtime(work)
    if run is None:
        out.print("No CRM sync has run yet: `tipoff crm sync`, or `tipoff serve` with a CRM set.")
        return
    for line in status_lines(run):
        out.print(line)


def sync_lines(r: SyncReport) -> list[str]:
    crm = r.crm
    would = "Would write" if r.dry_run else "Wrote"
    lines = [f"{crm} sync{' (dry run: nothing was written)' if r.dry_run else ''}:"]
    if r.created:
        lines.append(
            f"{'Would create' if r.dry_run else 'Created'} in {crm}: {', '.join(r.created)}."
        )
    lines.append(
        f"Read {plural(r.records_read, 'account record')} and {plural(r.deals_read, 'deal')}."
    )
    lines.append(f"{would} {plural(len(r.written), 'account')}{_names(r.written)}.")
    lines.append(f"Unchanged since the last write: {plural(r.unchanged, 'account')}.")
    if r.refused:
        lines.append(
            f"Refused by {crm} (retried next run): "
            + "; ".join(f"{label} (record {rec}): {why}" for label, rec, why in r.refused)
        )
    if r.unmatched:
        lines.append(
            f"Not written, no {crm} record has their domain: "
            f"{plural(len(r.unmatched), 'account')}{_names(r.unmatched)}."
        )
    if r.duplicates:
        lines.append(
            f"Not written, several {crm} records share their domain: "
            + _first([f"{d} (records {', '.join(ids)})" for d, ids in r.duplicates])
        )
    if r.no_domain:
        lines.append(f"Not written, no domain to match by: {plural(r.no_domain, 'account')}.")
    stored = "would store (new or not)" if r.dry_run else "stored"
    lines.append(f"Outcomes {stored}: {r.outcomes}.")
    if r.deals_skipped:
        lines.append(
            "Deals skipped: " + _first([f"{deal}: {why}" for deal, why in r.deals_skipped])
        )
    if r.deals_waiting:
        lines.append(_waiting(crm, r.deals_waiting))
    if r.owners:
        lines.append(
            f"Owners {'to set' if r.dry_run else 'set'}: "
            + _first([f"{domain}: {email}" for domain, email in r.owners])
        )
    if r.owners_cleared:
        lines.append(
            f"Owners {'to clear' if r.dry_run else 'cleared'} (removed in {crm}): "
            + _first(r.owners_cleared)
        )
    return lines


def status_lines(run: RunRow) -> list[str]:
    report = run.report
    lines = [
        f"Last sync with {run.crm}: {run.started_at:%Y-%m-%d %H:%M} UTC,"
        f" {(run.finished_at - run.started_at).total_seconds():.0f} s"
        + (f"; stopped: {run.stopped}" if run.stopped else "."),
        f"Written {run.written}, unchanged {run.unchanged}, refused {run.refused},"
        f" unmatched {run.unmatched}, duplicates {run.duplicates},"
        f" outcomes {run.outcomes}, owners {run.owners}.",
    ]
    unmatched = [str(u) for u in report.get("unmatched", [])]
    if unmatched:
        lines.append(f"Unmatched (no {run.crm} record has their domain): {', '.join(unmatched)}")
    duplicates = report.get("duplicates", [])
    if duplicates:
        lines.append(
            f"Duplicates (several {run.crm} records share their domain): "
            + "; ".join(f"{d} (records {', '.join(map(str, ids))})" for d, ids in duplicates)
        )
    if no_domain := report.get("no_domain"):
        lines.append(f"Not matched, no domain to match by: {plural(no_domain, 'account')}.")
    if skipped := report.get("deals_skipped", []):
        lines.append("Deals skipped: " + "; ".join(f"{deal}: {why}" for deal, why in skipped))
    if waiting := report.get("deals_waiting"):
        lines.append(_waiting(run.crm, waiting))
    refused = report.get("refused", [])
    if refused:
        lines.append(
            "Refused (retried next run): "
            + "; ".join(f"{label} (record {rec}): {why}" for label, rec, why in refused)
        )
    return lines


def _waiting(crm: str, deals: int) -> str:
    return (
        f"Waiting for their {crm} account to be placed (tried again every run):"
        f" {plural(deals, 'deal')}."
    )


def _first(items: list[str]) -> str:
    return first_of(items, _SHOWN, sep="; ")


def _names(labels: list[str]) -> str:
    return ": " + first_of(labels, _SHOWN) if labels else ""
