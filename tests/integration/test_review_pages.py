"""`--html` and `--as-of` on `tipoff report`, `backtest` and `calibrate`, run as a user
runs them on the `tipoff quality-demo` history: one self-contained page per command, each
chart a figure with a caption, an accessible description and its numbers as a table;
byte-identical across runs with one `--as-of`; data shown as text; matplotlib loaded only
for `--html`, and a clear message when it is missing."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.integration.test_cli import tipoff
from tests.integration.test_help import loaded_by
from tests.integration.test_quality_loop import MODEL, Sample, copy_of, load, query, sample
from tipoff.model.loader import parse_model
from tipoff.quality.backtest import backtest
from tipoff.quality.changes import model_text
from tipoff.quality.review_page import backtest_bands

__all__ = ["sample"]  # the module-scoped demo database, shared with test_quality_loop

MB = 1024 * 1024
DAY = timedelta(days=1)
FOREIGN_URL = re.compile(r"""(?:src|href)\s*=\s*["']?(?!#|data:)[a-z]+:""", re.IGNORECASE)


class Page(HTMLParser):
    """What a page holds, as a browser parses it: figures with their parts, scripts,
    external references and the text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.figures: list[dict[str, int | str]] = []
        self.scripts = 0
        self.text: list[str] = []
        self._in: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in.append(tag)
        if tag == "script":
            self.scripts += 1
        if tag == "figure":
            self.figures.append({"id": dict(attrs).get("id") or "", "svg_role": ""})
        elif self.figures and tag in ("figcaption", "svg", "title", "desc", "table", "td", "path"):
            figure = self.figures[-1]
            figure[tag] = int(figure.get(tag, 0)) + 1
            if tag == "svg":
                figure["svg_role"] = dict(attrs).get("role") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag in self._in:
            while self._in.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def as_of(sample: Sample) -> str:
    return f"{sample.now:%Y-%m-%d}"


def run_html(tmp_path: Path, path: Path, name: str, *args: str, seed: str = "0") -> bytes:
    page = tmp_path / name
    result = tipoff(
        tmp_path, *args, "--html", str(page),
        env={"DATABASE_URL": f"sqlite:///{path}", "PYTHONHASHSEED": seed},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"Wrote {page}" in result.stderr
    return page.read_bytes()


def check_page(text: str, charts: set[str]) -> Page:
    page = Page(text)
    assert {str(f["id"]) for f in page.figures} == charts
    for figure in page.figures:
        assert figure.get("figcaption") == 1, figure
        assert figure.get("svg") == 1 and figure["svg_role"] == "img", figure
        assert figure.get("title") == 1 and figure.get("desc") == 1, figure  # accessible
        assert figure.get("table") == 1 and int(figure.get("td", 0)) >= 2, figure  # numbers
        assert int(figure.get("path", 0)) > 10, figure  # something drawn
    assert page.scripts == 0
    assert not FOREIGN_URL.findall(text)  # nothing loaded from anywhere
    assert '<meta name="viewport"' in text and "@media print" in text
    assert len(text.encode()) < MB
    return page


def candidate_file(tmp_path: Path) -> Path:
    candidate = tmp_path / "candidate.yml"
    text = model_text(None).replace("name: default", "name: bolder", 1)
    candidate.write_text(text.replace("points: 30", "points: 45", 1))
    return candidate


def test_report_page_shows_the_charts_and_the_numbers_the_text_prints(
    sample: Sample, tmp_path: Path
) -> None:
    path = copy_of(sample, tmp_path)
    page_bytes = run_html(tmp_path, path, "report.html", "report", "--since", "180d",
                          "--as-of", as_of(sample))  # fmt: skip
    text = page_bytes.decode()
    page = check_page(
        text, {"bands", "conversion", "precision-rule", "precision-segment", "weekly", "decay"}
    )
    printed = tipoff(tmp_path, "report", "--since", "180d", "--as-of", as_of(sample),
                     env={"DATABASE_URL": f"sqlite:///{path}"})  # fmt: skip
    # Every figure line the terminal prints is on the page, word for word.
    shown = " ".join(page.text)
    for line in printed.stdout.splitlines()[1:]:
        if line.strip():
            assert line.strip().split(": ", 1)[-1] in shown, line
    lift = re.search(r"lift: (.+)", printed.stdout)
    assert lift is not None and f"lift {lift.group(1)}" in shown
    assert "too few to tell" in shown  # a rule with under 10 answers is not given a number


def test_same_as_of_gives_the_same_bytes(sample: Sample, tmp_path: Path) -> None:
    path = copy_of(sample, tmp_path)
    args = ("report", "--since", "120d", "--as-of", as_of(sample))
    first = run_html(tmp_path, path, "a.html", *args, seed="1")
    second = run_html(tmp_path, path, "b.html", *args, seed="2")
    assert first == second
    candidate = candidate_file(tmp_path)
    args = ("backtest", "--model", str(candidate), "--since", "60d", "--as-of", as_of(sample))
    assert run_html(tmp_path, path, "c.html", *args, seed="3") == run_html(
        tmp_path, path, "d.html", *args, seed="4"
    )


def test_as_of_reviews_a_past_moment(sample: Sample, tmp_path: Path) -> None:
    path = copy_of(sample, tmp_path)
    moment = sample.now - timedelta(days=40)
    since = moment - timedelta(days=60)
    result = tipoff(tmp_path, "report", "--since", "60d", "--as-of", f"{moment:%Y-%m-%dT%H:%M}",
                    env={"DATABASE_URL": f"sqlite:///{path}"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"as of {moment:%Y-%m-%d %H:%M} UTC" in result.stdout
    # Alerts queued after the moment are not counted.
    start, end = since.replace(second=0, microsecond=0), moment.replace(second=0, microsecond=0)
    rows = [
        datetime.fromisoformat(str(at)) for (at,) in query(path, "SELECT created_at FROM alerts")
    ]
    expected = sum(
        start <= (r if r.tzinfo else r.replace(tzinfo=start.tzinfo)) <= end for r in rows
    )
    assert 0 < expected < len(rows)
    assert re.search(rf"total: {expected} alerts for \d+ accounts", result.stdout), result.stdout

    wrong = tipoff(tmp_path, "report", "--as-of", "yesterday")
    assert wrong.returncode == 2
    assert "'yesterday' is neither a date (2026-12-01) nor a time" in wrong.stderr
    offset = tipoff(tmp_path, "report", "--as-of", "2026-12-01T12:00+02:00")
    assert offset.returncode == 2 and "give the time in UTC" in offset.stderr


def test_a_page_that_cannot_be_written_is_refused_first(sample: Sample, tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{sample.path}"}
    missing = tmp_path / "no-such-directory" / "review.html"
    result = tipoff(tmp_path, "report", "--html", str(missing), env=env)
    assert result.returncode == 2
    assert f"--html {missing}: not a file in an existing directory" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""  # nothing read yet


def test_backtest_page_shows_the_swap_set(sample: Sample, tmp_path: Path) -> None:
    path = copy_of(sample, tmp_path)
    candidate = candidate_file(tmp_path)
    text = run_html(tmp_path, path, "backtest.html", "backtest", "--model", str(candidate),
                    "--since", "90d", "--as-of", as_of(sample)).decode()  # fmt: skip
    page = check_page(text, {"bands", "conversion", "swap", "weekly", "decay"})
    shown = " ".join(page.text)
    for group in ("alerted by both", "only by the current model", "only by the candidate",
                  "by neither", "alerts, track hot"):  # fmt: skip
        assert group in shown
    assert "candidate: converted" in shown and "current: converted" in shown


async def test_each_model_is_banded_by_its_own_scores(sample: Sample) -> None:
    since = sample.now - 60 * DAY
    data = (await load(sample, since)).as_of(sample.now)
    doubled = parse_model(
        re.sub(r"points: (\d+)", lambda m: f"points: {2 * int(m.group(1))}", model_text(None))
    )
    result = backtest(data, MODEL, doubled, since=since, now=sample.now, days=30)
    current, candidate = backtest_bands(result, data, MODEL, doubled, days=30)
    for bands, side in ((current, result.current), (candidate, result.candidate)):
        judged = side.conversion.alerted.n + side.conversion.not_alerted.n
        assert bands.overall.n == sum(p.n for p in bands.by_band.values()) == judged
    # Twice the points: more of the accounts score 100 or more.
    assert candidate.by_band["100+"].n > current.by_band["100+"].n


def test_calibrate_page_shows_predicted_against_observed(sample: Sample, tmp_path: Path) -> None:
    path = copy_of(sample, tmp_path)
    text = run_html(tmp_path, path, "calibrate.html", "calibrate", "--out",
                    str(tmp_path / "c.yml"), "--since", "120d", "--holdout-days", "35",
                    "--days", "14", "--as-of", as_of(sample)).decode()  # fmt: skip
    page = check_page(text, {"calibration", "bands", "conversion", "swap", "weekly", "decay"})
    shown = " ".join(page.text)
    assert "predicted (mean of the bin)" in shown and "ranking (AUC)" in shown


def test_names_and_reasons_from_outside_are_shown_as_text(sample: Sample, tmp_path: Path) -> None:
    path = copy_of(sample, tmp_path)
    reason = '<img src=x onerror="alert(1)"> & </table><script>'
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "UPDATE feedback SET reason = ? WHERE id = "
            "(SELECT max(id) FROM feedback WHERE verdict = 'wrong')",
            (reason,),
        )
    text = run_html(tmp_path, path, "report.html", "report", "--since", "180d").decode()
    assert reason not in text and "<script" not in text and "<img" not in text
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &lt;/table&gt;" in text
    assert any(reason in line for line in Page(text).text)  # shown as written


def test_without_matplotlib_html_says_what_to_install(sample: Sample, tmp_path: Path) -> None:
    # A matplotlib that cannot be imported, as on an install without the extra.
    shadow = tmp_path / "shadow" / "matplotlib"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named matplotlib')\n")
    env = {"DATABASE_URL": f"sqlite:///{sample.path}", "PYTHONPATH": str(shadow.parent)}
    page = tmp_path / "report.html"
    refused = tipoff(tmp_path, "report", "--html", str(page), env=env)
    assert refused.returncode == 2
    assert "Charts need the optional plotting library: pip install 'tipoff[charts]'" in (
        refused.stderr
    )
    assert not page.exists()
    assert tipoff(tmp_path, "report", env=env).returncode == 0  # the text needs nothing


def test_only_html_loads_matplotlib(sample: Sample, tmp_path: Path) -> None:
    copy_of(sample, tmp_path)  # tipoff.db, the default database, in the working directory
    assert "matplotlib" not in loaded_by(tmp_path, "--help")
    assert "matplotlib" not in loaded_by(tmp_path, "report", "--since", "30d")
    assert "matplotlib" in loaded_by(
        tmp_path, "report", "--since", "30d", "--html", str(tmp_path / "r.html")
    )


@pytest.mark.parametrize("option", ["--html", "--as-of"])
def test_help_names_the_options(option: str, tmp_path: Path) -> None:
    for command in ("report", "backtest", "calibrate"):
        shown = tipoff(tmp_path, command, "--help").stdout
        assert option in shown, shown
