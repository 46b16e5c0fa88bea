"""Logging for `tipoff serve`: one format, quiet third-party chatter, no secrets.

Tipoff itself never formats a secret into a message (settings hold them as SecretStr), but
libraries log what they receive; the redaction filter is a second line of defence that
masks anything shaped like a Slack token or a Slack response URL."""

from __future__ import annotations

import logging
import re
from typing import Any

from tipoff.controls import escape_controls

_SECRET_SHAPES = re.compile(
    r"xox[abpre]-[A-Za-z0-9-]+"  # Slack bot/user/app tokens
    r"|xapp-[A-Za-z0-9-]+"
    r"|https://hooks\.slack\.com/[^\s&\"']+"  # response_url / webhook URLs grant posting
)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_SHAPES.sub("[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class OneLinePerRecord(logging.Formatter):
    """Writes control characters in a message as escapes (`\x1b`, `\n`): data logged
    (a name, an event, a CSV cell) can neither drive the terminal that shows the log nor
    forge a line of its own. A traceback keeps its line breaks, its other controls
    escaped likewise."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_controls(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        return escape_controls(super().formatException(ei), keep="\n")

    def formatStack(self, stack_info: str) -> str:
        return escape_controls(super().formatStack(stack_info), keep="\n")


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(OneLinePerRecord("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # A line per scheduled run (every few seconds) drowns everything else out.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Bolt logs rejected requests with their whole body at INFO; the rejection itself is
    # answered with a 401, and the body may hold a response_url.
    logging.getLogger("slack_bolt").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
