"""The quality loop on the bundled demo history extended with outcomes and feedback
(`tipoff.demo.quality_sample`): figures checked against the database, calibration measured
on held-out time, and the commands run as a user runs them."""

from __future__ import annotations

import asyncio
import html
import shutil
import sqlite3
import statistics
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.test_cli import tipoff
from tipoff.demo.quality_sample import load_sample
from tipoff.model import load_default_model
from tipoff.model.loader import parse_model
from tipoff.quality import calibrate, dataset
from tipoff.quality.backtest import backtest
from tipoff.quality.changes import model_text
from tipoff.quality.report import build_report
from tipoff.store.db import Database

DAY = timedelta(days=1)
MODEL = load_default_model()


@dataclass(frozen=True)
class Sample:
    path: Path
    now: datetime


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    """One extended demo database per module, built relative to the real time so that the
    CLI (which reads the real clock) sees it as recent. Tests that write use a copy."""
    path = tmp_path_factory.mktemp("sample") / "tipoff.db"
    now = datetime.now(UTC)

    async def build() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.migrate()
        try:
            await load_sample(db, MODEL, now=now)
        finally:
            await db.dispose()

    asyncio.run(build())
    return Sample(path, now)


def copy_of(sample: Sample, directory: Path) -> Path:
    target = directory / "tipoff.db"
    shutil.copy(sample.path, target)
    return target


async def load(sample: Sample, since: datetime) -> dataset.QualityData:
    db = Database(f"sqlite+aiosqlite:///{sample.path}")
    try:
        async with db.transaction() as conn:
            return await dataset.load(conn, since=since, lookback=timedelta(days=180))
    finally:
        await db.dispose()


def query(path: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as conn, conn:
        return conn.execute(sql).fetchall()


async def test_report_figures_agree_with_the_database(sample: Sample) -> None:
    since = sample.now - 180 * DAY
    report = build_report(await load(sample, since), MODEL, since=since, now=sample.now)

    by_track = dict(query(sample.path, "SELECT track, count(*) FROM alerts GROUP BY track"))
    assert report.alerts_by_track == by_track
    assert sum(by_track.values()) > 100  # a realistic volume, not a toy
    # Each rep's newest Right/Wrong per alert, counted in SQL.
    newest = query(
        sample.path,
        """SELECT f.verdict FROM feedback f
           WHERE f.verdict IN ('right', 'wrong') AND f.created_at = (
             SELECT max(g.created_at) FROM feedback g
             WHERE g.alert_id = f.alert_id AND g.slack_user_name = f.slack_user_name
               AND g.verdict IN ('right', 'wrong'))""",
    )
    verdicts = Counter(v for (v,) in newest)
    assert (report.precision.hits, report.precision.n) == (verdicts["right"], len(newest))
    assert sum(p.n for p in report.precision_by_track.values()) == len(newest)
    assert sum(p.n for p in report.precision_by_segment.values()) == len(newest)
    assert sum(n for _, n in report.wrong_reasons) == verdicts["wrong"]
    # Time to claim: the median, in SQL rows, of first claim − sent.
    waits = [
        (datetime.fromisoformat(str(c)) - datetime.fromisoformat(str(s))).total_seconds()
        for c, s in query(
            sample.path,
            """SELECT min(f.created_at), a.sent_at FROM feedback f JOIN alerts a ON a.id = f.alert_id
               WHERE f.verdict = 'claim' GROUP BY a.id""",
        )
    ]
    assert report.claims.claimed == len(waits) > 0
    assert report.claims.median is not None
    assert report.claims.median.total_seconds() == pytest.approx(statistics.median(waits), abs=1e-3)
    # Alerted accounts convert more often than eligible ones without an alert.
    c = report.conversion
    assert c.alerted.enough and c.not_alerted.enough
    assert c.lift.ratio is not None and c.lift.ratio > 1


async def test_calibration_beats_the_default_on_held_out_time(sample: Sample) -> None:
    """Fitted on the 90 days before the last 90; measured on those last 90, which the fit
    never saw. Nothing here is told what the right points are."""
    start, split = sample.now - 180 * DAY, sample.now - 90 * DAY
    data = await load(sample, start)
    found = calibrate.examples(data, MODEL, start=start, until=split, days=30)
    assert all(e.at < split for e in found)
    fitted = calibrate.fit(MODEL, found, until=split)
    text = calibrate.candidate_text(model_text(None), MODEL, fitted.points, "calibrated")
    candidate = parse_model(text)
    # Readable: the file differs from the current one only in its name, points and caps.
    changed = [
        (old.split(":")[0].strip(), new.split(":")[0].strip())
        for old, new in zip(model_text(None).splitlines(), text.splitlines(), strict=True)
        if old != new
    ]
    assert {key for pair in changed for key in pair} <= {"name", "points", "cap"}
    assert [r.id for r in candidate.signals] == [r.id for r in MODEL.signals]  # same rules
    assert all(p == int(p) and p != 0 for p in fitted.points.values())  # whole points

    result = backtest(data, MODEL, candidate, since=split, now=sample.now, days=30)
    current, calibrated = result.current.conversion, result.candidate.conversion
    ranks = [
        calibrate.ranking(data, m, start=split, until=sample.now, days=30)
        for m in (MODEL, candidate)
    ]
    measured = (
        f"alerted converted: default {current.alerted.describe()}, calibrated "
        f"{calibrated.alerted.describe()}; lift {current.lift.describe()} vs "
        f"{calibrated.lift.describe()}; AUC {ranks[0].auc:.3f} vs {ranks[1].auc:.3f}"
    )
    assert current.alerted.rate is not None and calibrated.alerted.rate is not None, measured
    assert calibrated.alerted.rate > current.alerted.rate, measured
    assert (calibrated.lift.ratio or 0) > (current.lift.ratio or 0), measured
    assert ranks[1].auc > ranks[0].auc, measured


def test_cli_report_calibrate_and_backtest(sample: Sample, tmp_path: Path) -> None:
    path = copy_of(sample, tmp_path)
    env = {"DATABASE_URL": f"sqlite:///{path}"}
    report = tipoff(tmp_path, "report", "--since", "180d", env=env)
    assert report.returncode == 0, report.stderr
    total = query(path, "SELECT count(*), count(DISTINCT account_id) FROM alerts")[0]
    assert f"total: {total[0]} alerts for {total[1]} accounts" in report.stdout
    for heading in ("Precision by rule", "Precision by segment", "Reasons given for Wrong",
                    "Conversion to opportunity within 30 days", "Time to claim"):  # fmt: skip
        assert heading in report.stdout

    before = (
        query(path, "SELECT count(*), max(scored_at) FROM scores")
        + query(path, "SELECT count(*) FROM alerts")
        + query(path, "SELECT count(*) FROM model_changes")
    )
    out = tmp_path / "candidate.yml"
    calibrated = tipoff(
        tmp_path, "calibrate", "--out", str(out), "--since", "120d", "--holdout-days", "35",
        "--days", "14", env=env,
    )  # fmt: skip
    assert calibrated.returncode == 0, calibrated.stderr
    assert "Held-out time (not used by the fit)" in calibrated.stdout
    assert "precision vs recorded feedback" in calibrated.stdout
    checked = tipoff(tmp_path, "model", "check", str(out))
    assert checked.returncode == 0 and "OK" in checked.stdout, checked.stderr

    replayed = tipoff(tmp_path, "backtest", "--model", str(out), "--since", "14d", env=env)
    assert replayed.returncode == 0, replayed.stderr
    assert "alerts that would have fired" in replayed.stdout
    assert "Alerted only by the candidate" in replayed.stdout
    # Neither the calibration nor the backtest wrote a score, an alert or a model change.
    after = (
        query(path, "SELECT count(*), max(scored_at) FROM scores")
        + query(path, "SELECT count(*) FROM alerts")
        + query(path, "SELECT count(*) FROM model_changes")
    )
    assert after == before


def test_backtest_names_twenty_accounts_a_list_and_counts_the_rest(
    sample: Sample, tmp_path: Path
) -> None:
    """A candidate that qualifies accounts far sooner alerts many the current model does
    not: the terminal gets their count, the first twenty names and how many more, not
    one line of every name (thousands on a large account base)."""
    lenient = tmp_path / "lenient.yml"
    lenient.write_text(
        model_text(None)
        .replace("name: default", "name: lenient", 1)
        .replace("qualify_at: 60", "qualify_at: 1", 1)
        .replace("strong_product_at: 45", "strong_product_at: 1", 1)
        .replace("good_fit_at: 0", "good_fit_at: -1000", 1)
    )
    now = sample.now.replace(microsecond=0)
    since = now - 90 * DAY
    env = {"DATABASE_URL": f"sqlite:///{sample.path}"}
    page = tmp_path / "backtest.html"
    result = tipoff(tmp_path, "backtest", "--model", str(lenient), "--since", "90d",
                    "--as-of", f"{now:%Y-%m-%dT%H:%M:%S}", "--html", str(page), env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr

    data = asyncio.run(load(sample, since))
    expected = backtest(data, MODEL, parse_model(lenient.read_text()), since=since, now=now)
    entering = [expected.labels[i] for i in expected.entering]
    assert len(entering) > 20  # the case this test is about
    printed = " ".join(result.stdout.split())  # as one line, however the terminal wraps it
    line = printed.split("Alerted only by the candidate ")[1].split(" Alerted only by")[0]
    assert line == (
        f"({len(entering)}): {', '.join(entering[:20])} and {len(entering) - 20} more"
        " (--html lists them all)"
    )
    # The page lists every one, in the same order.
    listed = page.read_text().split(f"Alerted only by the candidate ({len(entering)})")[1]
    items = listed.split("</ul>")[0]
    assert items.count("<li>") == len(entering)
    assert [html.unescape(i.split("</li>")[0]) for i in items.split("<li>")[1:]] == entering


def test_backtest_refuses_a_broken_candidate(sample: Sample, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(model_text(None).replace("points: 30", "pionts: 30", 1))
    result = tipoff(tmp_path, "backtest", "--model", str(broken),
                    env={"DATABASE_URL": f"sqlite:///{sample.path}"})  # fmt: skip
    assert result.returncode == 1
    assert "pionts: unknown key" in result.stderr


def test_calibrate_refuses_with_too_little_labelled_data(tmp_path: Path) -> None:
    started = tipoff(tmp_path, "sources", "add", "crm", "--category", "outcome")
    assert started.returncode == 0, started.stderr  # an empty database
    result = tipoff(tmp_path, "calibrate", "--out", str(tmp_path / "c.yml"))
    assert result.returncode == 1
    assert "Too little labelled data to calibrate: 0 converted and 0 not converted" in (
        " ".join(result.stderr.split())
    )
    assert not (tmp_path / "c.yml").exists()
