"""Logs never carry Slack tokens or response URLs, whoever formats them."""

from __future__ import annotations

import logging

import pytest

from tipoff.logs import configure_logging


def test_tokens_and_response_urls_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    try:
        logging.getLogger("some.library").info(
            "calling with %s and %s, reply to %s",
            "xoxb-1111-2222-abcdef",
            "xapp-1-A0-99-ffff",
            "https://hooks.slack.com/commands/T0/123/abcDEF",
        )
        logging.getLogger("apscheduler.executors.default").info("Running job every 5 s")
    finally:
        logging.getLogger().handlers.clear()
    printed = capsys.readouterr().err
    assert "calling with [redacted] and [redacted], reply to [redacted]" in printed
    assert "xoxb-" not in printed and "hooks.slack.com" not in printed
    assert "Running job" not in printed
