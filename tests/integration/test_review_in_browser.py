"""The review pages as people see them: opened in a real headless Chromium (Debian's
`chromium` and `chromium-driver`; `.ci/run` installs them when missing), with no console
error, every chart drawn at a size, nothing requested from anywhere but the file itself,
readable on a phone's width and printable."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from tests.integration.test_quality_loop import Sample, copy_of, sample
from tests.integration.test_review_pages import as_of, candidate_file, run_html

__all__ = ["sample"]

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
DRAWN = """
return Array.from(document.querySelectorAll('figure')).map(figure => {
  const svg = figure.querySelector('svg');
  const box = svg.getBoundingClientRect();
  const shapes = Array.from(svg.querySelectorAll('path, use')).filter(shape => {
    const b = shape.getBoundingClientRect();
    return b.width > 0 || b.height > 0;
  });
  return {id: figure.id, width: box.width, height: box.height, drawn: shapes.length,
          label: svg.getAttribute('aria-labelledby')};
});
"""


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "install Debian's chromium and chromium-driver (.ci/run does)"
    options = Options()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.add_argument("--window-size=1000,800")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        yield chrome
    finally:
        chrome.quit()


def requested(chrome: webdriver.Chrome) -> list[str]:
    urls = []
    for entry in chrome.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def open_and_check(chrome: webdriver.Chrome, page: Path, charts: int) -> None:
    chrome.set_window_size(1000, 800)
    requested(chrome)  # what the browser loaded for itself before (its new-tab page)
    chrome.get(page.as_uri())
    drawn = chrome.execute_script(DRAWN)
    assert len(drawn) == charts, drawn
    for figure in drawn:
        assert figure["width"] > 100 and figure["height"] > 50, figure
        assert figure["drawn"] > 10, figure
        assert figure["label"] == f"{figure['id']}-title {figure['id']}-desc", figure
    errors = [e for e in chrome.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    assert requested(chrome) == [page.as_uri()]  # the file, and nothing from anywhere

    # On a phone: the charts shrink to the screen, and the page does not scroll sideways.
    chrome.set_window_size(390, 844)
    width = chrome.execute_script("return window.innerWidth")
    for figure in chrome.execute_script(DRAWN):
        assert 0 < figure["width"] <= width, (figure, width)
    assert chrome.execute_script("return document.documentElement.scrollWidth") <= width

    printed = chrome.execute_cdp_cmd("Page.printToPDF", {"printBackground": False})
    assert base64.b64decode(printed["data"]).startswith(b"%PDF")


def test_report_backtest_and_calibrate_pages_open_clean_in_chromium(
    sample: Sample, tmp_path: Path, browser: webdriver.Chrome
) -> None:
    path = copy_of(sample, tmp_path)
    run_html(tmp_path, path, "report.html", "report", "--since", "180d", "--as-of", as_of(sample))
    open_and_check(browser, tmp_path / "report.html", charts=6)
    candidate = candidate_file(tmp_path)
    run_html(tmp_path, path, "backtest.html", "backtest", "--model", str(candidate),
             "--since", "90d", "--as-of", as_of(sample))  # fmt: skip
    open_and_check(browser, tmp_path / "backtest.html", charts=5)
    run_html(tmp_path, path, "calibrate.html", "calibrate", "--out", str(tmp_path / "c.yml"),
             "--since", "120d", "--holdout-days", "35", "--days", "14",
             "--as-of", as_of(sample))  # fmt: skip
    open_and_check(browser, tmp_path / "calibrate.html", charts=6)
