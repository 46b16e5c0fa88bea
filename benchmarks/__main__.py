"""`python -m benchmarks [--size tiny|small|medium|full] [--accounts N --events M]`: runs
the figures and prints one Markdown table of Tipoff against its baselines."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import figures
from benchmarks.figures import SIZES, Figure, Size

FIGURES = ("ingest", "rescore", "alerts", "csv", "ingest-new", "cli")  # "rescore": and lookups
# Asked for by name only: two server processes on a PostgreSQL server (--postgres-url).
EXTRA_FIGURES = ("replicas",)


def machine() -> str:
    memory = ""
    with open("/proc/meminfo") as meminfo:  # Linux; left out elsewhere
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory = f", {int(line.split()[1]) / 1024 / 1024:.0f} GB RAM"
    return (
        f"{platform.machine()}, {os.cpu_count()} cores{memory}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def table(rows: list[Figure]) -> str:
    header = ("figure", "Tipoff", "baseline (same run)", "ratio", "target", "met", "notes")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        met = "—" if r.met is None else ("yes" if r.met else "**no**")
        cells = (r.name, r.tipoff, r.baseline, r.ratio, r.target, met, r.note)
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


async def run(
    size: Size,
    only: set[str],
    workdir: Path,
    seed: int,
    interval: float,
    postgres_url: str | None = None,
) -> list[Figure]:
    def progress(message: str) -> None:
        print(f"  … {message}", file=sys.stderr, flush=True)

    rows: list[Figure] = []

    def measured(*new: Figure) -> None:
        # Each row is shown as soon as it is measured, so a long run loses nothing.
        for row in new:
            progress(table([row]).splitlines()[-1])
            rows.append(row)

    if "ingest" in only:
        progress("1. ingest")
        measured(await figures.ingest(size, workdir, seed=seed))
    if "rescore" in only:
        progress("2–3. rescore and lookups")
        measured(*await figures.rescore_and_lookup(size, workdir, seed=seed, progress=progress))
    if "alerts" in only:
        progress("4. alert latency under load")
        measured(await figures.alert_latency(size, workdir, seed=seed, rescore_interval=interval))
    if "csv" in only:
        progress("5–6. CSV imports")
        measured(*await figures.csv_import(size, workdir, seed=seed))
    if "ingest-new" in only:
        progress("7. ingest, mostly new senders")
        measured(await figures.ingest_new_senders(size, workdir, seed=seed))
    if "cli" in only:
        progress("8–9. CLI start")
        measured(*await figures.cli_start(size, workdir, seed=seed))
    if postgres_url and "ingest" in only:
        progress("10. ingest on PostgreSQL")
        measured(await figures.ingest_postgres(size, postgres_url, seed=seed))
    if postgres_url and "ingest-new" in only:
        progress("12. ingest on PostgreSQL, mostly new senders")
        measured(await figures.ingest_postgres_new_senders(size, postgres_url, seed=seed))
    if postgres_url and "replicas" in only:
        progress("11. ingest on PostgreSQL, two servers")
        measured(await figures.ingest_postgres_replicas(size, postgres_url, seed=seed))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--accounts", type=int, help="accounts for the rescore and lookups")
    parser.add_argument("--events", type=int, help="events for the rescore and lookups")
    parser.add_argument("--repeats", type=int, help="rescore / GROUP BY repetitions")
    parser.add_argument(
        "--only",
        default=",".join(FIGURES),
        help=f"comma-separated subset of {','.join(FIGURES)}; also {','.join(EXTRA_FIGURES)} "
        "(figure 11, with --postgres-url: two servers on one PostgreSQL database)",
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--rescore-interval",
        type=float,
        help="seconds between rescores of changed accounts in figure 4 "
        "(default: Tipoff's own default; 0.5 at --size tiny)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TIPOFF_BENCH_POSTGRES_URL"),
        help="a PostgreSQL server (postgresql+asyncpg://user@host:port/postgres; default: "
        "$TIPOFF_BENCH_POSTGRES_URL) to run the ingest figures (ingest, ingest-new) on too, "
        "in fresh databases it creates and drops",
    )
    parser.add_argument("--workdir", type=Path, help="where the databases go (default: a temp dir)")
    args = parser.parse_args(argv)

    size = SIZES[args.size]
    changes = {
        k: v
        for k, v in (
            ("accounts", args.accounts),
            ("events", args.events),
            ("repeats", args.repeats),
        )
        if v is not None
    }
    size = dataclasses.replace(size, **changes)
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    if unknown := only - set(FIGURES) - set(EXTRA_FIGURES):
        parser.error(f"unknown figure(s): {', '.join(sorted(unknown))}")
    if "replicas" in only and not args.postgres_url:
        parser.error("--only replicas needs a PostgreSQL server: --postgres-url URL")
    interval = args.rescore_interval
    if interval is None:
        interval = (
            0.5 if args.size == "tiny" else figures.settings_for(Path("x")).rescore_interval_seconds
        )

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tipoff-bench-", dir=args.workdir) as workdir:
        rows = asyncio.run(run(size, only, Path(workdir), args.seed, interval, args.postgres_url))
    print(f"Tipoff benchmarks, --size {args.size} (seed {args.seed}) on {machine()}")
    print()
    print(table(rows))
    print()
    print(f"Ran in {time.perf_counter() - started:.0f} s.")
    return 0 if all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
