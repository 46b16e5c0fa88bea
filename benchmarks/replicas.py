"""Figure 11: two `tipoff serve` replicas on one PostgreSQL database against one.

Both runs post figure 1's batches from two sources, each source from a process of its own;
with one replica both post to it, with two each posts to its own. Each replica is a real
`tipoff serve` process, its scheduler running as shipped. While the batches go in, a
third connection samples `pg_stat_activity` for sessions waiting on a lock and who blocks
them, so the row says how long batches waited on each other and on what; each replica's
`/metrics` says how many transactions were rerun after losing a race.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from benchmarks import data
from benchmarks.figures import NOW, Figure, Size, in_own_process, post_batches
from tipoff.settings import Settings
from tipoff.sources import create_source
from tipoff.startup import build_runtime

SAMPLE_EVERY = 0.02  # seconds between lock samples: each one is a cheap catalogue read

# uvicorn's line once it listens, naming the port it bound (`--port 0`).
_LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
_RETRIED = re.compile(r"^tipoff_transactions_retried_total\{[^}]*\} ([0-9.e+]+)$", re.M)

# Who blocks whom, right now, in one database: each waiting session with each session it
# waits for, and how long the blocker's transaction has been open.
_WAITS = """
SELECT waiting.pid, blocker.pid, extract(epoch FROM now() - blocker.xact_start),
       left(regexp_replace(blocker.query, '\\s+', ' ', 'g'), 70)
FROM pg_stat_activity AS waiting
CROSS JOIN LATERAL unnest(pg_blocking_pids(waiting.pid)) AS blocking(pid)
JOIN pg_stat_activity AS blocker ON blocker.pid = blocking.pid
WHERE waiting.datname = $1 AND waiting.wait_event_type = 'Lock'
"""


@dataclass
class LockSamples:
    """What the sampler saw: waiting sessions per sample, and the statements blocking."""

    samples: int = 0
    waiting: int = 0  # sessions seen waiting, summed over samples
    blockers: Counter[str] = field(default_factory=Counter)
    held_for: list[float] = field(default_factory=list)  # blocker's transaction age, s

    @property
    def wait_seconds(self) -> float:
        """Session-seconds spent waiting on a lock (each sample stands for its interval)."""
        return self.waiting * SAMPLE_EVERY


@dataclass(frozen=True)
class Run:
    replicas: int
    calls: int
    seconds: float
    locks: LockSamples
    reruns: int

    @property
    def rate(self) -> float:
        return self.calls / self.seconds


async def ingest_postgres_replicas(
    size: Size, server_url: str, workdir: Path, *, seed: int
) -> Figure:
    """Figure 1's batches from two sources, into one replica and then into two, each run
    on a fresh database on `server_url` (dropped afterwards); the replicas' logs go to
    `workdir`."""
    population = data.population(size.ingest_accounts, seed=seed)
    bodies = data.segment_batches(population, size.ingest_events, now=NOW, seed=seed)
    one = await _run(server_url, bodies, workdir, replicas=1)
    two = await _run(server_url, bodies, workdir, replicas=2)
    ratio = two.rate / one.rate
    return Figure(
        "11. ingest on PostgreSQL, two `tipoff serve` replicas on one database, 2 sources",
        f"{two.rate:,.0f} calls/s; lock waits {two.locks.wait_seconds:.1f} s, {two.reruns} rerun",
        f"one replica {one.rate:,.0f} calls/s; lock waits {one.locks.wait_seconds:.1f} s, "
        f"{one.reruns} rerun",
        f"{ratio:.2f}×",
        "> 1×",
        ratio > 1,
        f"{len(bodies)} batches, {one.calls:,} calls, {len(population):,} accounts; "
        f"{os.cpu_count()} cores for the server, the replicas and the sources; "
        + _blocking(two.locks),
    )


def _blocking(locks: LockSamples) -> str:
    if not locks.blockers:
        return "no session seen waiting on a lock"
    statement, seen = locks.blockers.most_common(1)[0]
    held = statistics.median(locks.held_for)
    return (
        f"blocked most by `{statement.strip()}…` ({seen} of {sum(locks.blockers.values())} "
        f"sightings), its transaction open {held * 1000:.0f} ms (median)"
    )


async def _run(
    server_url: str, bodies: list[tuple[bytes, int]], workdir: Path, *, replicas: int
) -> Run:
    import asyncpg  # type: ignore[import-untyped]  # the postgres extra
    from sqlalchemy.engine import make_url

    server = make_url(server_url)
    name = f"tipoff_bench_{os.getpid()}_replicas_{replicas}"
    admin = await asyncpg.connect(
        server.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        keys = await _migrated_with_sources(url, ("segment-a", "segment-b"))
        async with AsyncExitStack() as stack:
            logs = [workdir / f"replica-{replicas}-{i}.log" for i in range(replicas)]
            urls = [await stack.enter_async_context(_serving(url, log)) for log in logs]
            sampler = _Sampler(admin, name)
            sampling = asyncio.create_task(sampler.run())
            try:
                halves = [bodies[0::2], bodies[1::2]]
                try:
                    timed = await asyncio.gather(
                        *(
                            in_own_process(post_batches, urls[i % replicas], keys[i], half)
                            for i, half in enumerate(halves)
                        )
                    )
                except RuntimeError as refused:
                    errors = [_errors(log) for log in logs]
                    raise RuntimeError(
                        f"{refused}; the replicas logged:\n" + "\n".join(errors)
                    ) from refused
            finally:
                sampler.stop = True
                await sampling
            reruns = sum([await _reruns(u) for u in urls])
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    requests = [r for source in timed for r in source]
    seconds = max(end for _, end, _ in requests) - min(start for start, _, _ in requests)
    return Run(replicas, sum(count for *_, count in requests), seconds, sampler.seen, reruns)


async def _migrated_with_sources(url: str, names: tuple[str, ...]) -> list[str]:
    runtime = await build_runtime(Settings(_env_file=None, database_url=url, slack_bot_token=None))
    try:
        keys = []
        for source in names:
            async with runtime.db.transaction() as conn:
                made = await create_source(conn=conn, name=source, now=runtime.clock())
            keys.append(made.write_key)
        return keys
    finally:
        await runtime.close()


@asynccontextmanager
async def _serving(database_url: str, log: Path) -> AsyncIterator[str]:
    """`tipoff serve` in a process of its own, as a replica runs, logging to `log`;
    yields its base URL."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TIPOFF_"))},
        "DATABASE_URL": database_url,
    }
    with log.open("w") as out:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tipoff", "serve", "--port", "0",
            env=env, stdout=out, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    try:
        async with asyncio.timeout(60):
            while (
                found := _LISTENING.search(text := await asyncio.to_thread(log.read_text))
            ) is None:
                if child.returncode is not None:
                    raise RuntimeError(f"tipoff serve exited:\n{text[-3000:]}")
                await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{found[1]}"
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), 30)
            except TimeoutError:
                child.kill()
                await child.wait()


def _errors(log: Path) -> str:
    lines = log.read_text().splitlines()
    first = next(
        (i for i, line in enumerate(lines) if "Traceback" in line or "ERROR" in line), None
    )
    return "\n".join(lines[first : first + 60]) if first is not None else "(no error)"


async def _reruns(base_url: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/metrics") as response:
        text = await response.text()
    return int(sum(float(n) for n in _RETRIED.findall(text)))


class _Sampler:
    def __init__(self, admin: object, database: str) -> None:
        self.admin, self.database = admin, database
        self.stop = False
        self.seen = LockSamples()

    async def run(self) -> None:
        while not self.stop:
            started = time.monotonic()
            rows = await self.admin.fetch(_WAITS, self.database)  # type: ignore[attr-defined]
            self.seen.samples += 1
            self.seen.waiting += len({waiting for waiting, *_ in rows})
            for _, _, held, statement in rows:
                self.seen.blockers[statement] += 1
                if held is not None:
                    self.seen.held_for.append(float(held))
            await asyncio.sleep(max(0.0, SAMPLE_EVERY - (time.monotonic() - started)))
