"""Control characters in data: removed for the terminal, escaped in the log."""

from __future__ import annotations

import logging

import pytest
from rich.table import Table

from tipoff.controls import escape_controls, strip_controls
from tipoff.logs import OneLinePerRecord
from tipoff.terminal import Terminal, styled


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        ("Acme Corp", "Acme Corp"),
        ("Zoë Núñez 健二 🚀", "Zoë Núñez 健二 🚀"),
        ("\x1b[31mRed\x1b[0m Co", "Red Co"),  # colours
        ("\x1b[2J\x1b[HWiped", "Wiped"),  # clear screen, cursor home
        ("Ti\x1b]0;pwned\x07tle", "Title"),  # window title, BEL-terminated
        ("Clip\x1b]52;c;Y2F0\x1b\\board", "Clipboard"),  # clipboard, ST-terminated
        ("\x1b]8;;https://evil.example\x1b\\Link\x1b]8;;\x1b\\", "Link"),  # hyperlink
        ("\x9b31mEight-bit\x9d0;x\x9c CSI", "Eight-bit CSI"),  # C1 forms
        ("Unterminated \x1b]0;title", "Unterminated "),
        ("Bell\x07 back\x08space\rreturn\x00nul\x7fdel", "Bell backspacereturnnuldel"),
        ("evil\u202egnp.exe", "evilgnp.exe"),  # right-to-left override
        ("a\u2028b", "ab"),
        ("line\nbreak\ttab", "linebreaktab"),
    ],
)
def test_strip_controls(data: str, shown: str) -> None:
    assert strip_controls(data) == shown


def test_strip_controls_keeps_what_a_printer_asks_for() -> None:
    assert strip_controls("one\n\x1b[1mtwo\x1b[0m\tthree\r", keep="\n\t") == "one\ntwo\tthree"


def test_escape_controls_shows_what_arrived_on_one_line() -> None:
    assert escape_controls("Acme\x1b[31m\nFAKE LOG LINE\u202e") == (
        "Acme\\x1b[31m\\nFAKE LOG LINE\\u202e"
    )
    assert escape_controls("trace\nback\x1b", keep="\n") == "trace\nback\\x1b"


def test_a_logged_name_cannot_forge_a_line_or_drive_the_terminal() -> None:
    formatter = OneLinePerRecord("%(levelname)s %(name)s: %(message)s")
    record = logging.LogRecord(
        "tipoff.ingest", logging.INFO, __file__, 1, "account %s created", ("Evil\x1b]0;x\x07\nERROR forged",), None
    )  # fmt: skip
    assert formatter.format(record) == (
        "INFO tipoff.ingest: account Evil\\x1b]0;x\\x07\\nERROR forged created"
    )


def test_the_terminal_reads_no_markup_in_strings_cells_or_styled_parts() -> None:
    console = Terminal()
    table = Table(title="[bold]Top[/bold]")
    table.add_column("Account")
    table.add_row("Markup [/bold] Ltd \x1b[31m:rocket:")
    with console.capture() as captured:
        console.print("[red]acme[/red] pip install 'tipoff[calibrate]'")
        console.print("asked for markup", markup=True, style="bold")
        console.print(table)
        console.print(styled(("Note:", "yellow"), " [/promo]\x1b]0;x\x07"))
    text = captured.get()
    assert "[red]acme[/red] pip install 'tipoff[calibrate]'" in text
    assert "Markup [/bold] Ltd :rocket:" in text and "[bold]Top[/bold]" in text
    assert "Note: [/promo]" in text
    assert "\x1b" not in text and "\x07" not in text
