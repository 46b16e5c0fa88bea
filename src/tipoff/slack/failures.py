"""What a failed Slack Web API call means for Tipoff, decided in one place.

Slack answers most refusals with HTTP 200 and `{"ok": false, "error": "<code>"}`; some
of them will never succeed however often they are retried (a channel that does not
exist), some need the workspace to act (a revoked token), one Tipoff can fix itself
(`not_in_channel` in a public channel: join it). Each call site turns an exception into
a `SlackFailure` with `failure_of` and acts on its `kind`:

- RATE_LIMITED  429: wait for Retry-After, then try again
- TRANSIENT     5xx, timeouts, connection errors, Slack's own internal errors: back off
- NOT_IN_CHANNEL  join the channel (a public one, by ID) and try again
- PERMANENT     the post cannot succeed as it is: record the reason, stop retrying (also
                Tipoff's own `Refused`, e.g. a channel shared with another organisation)
- INSTALL       the token no longer works: pause all posting until auth.test succeeds
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from tipoff.http_limits import retry_after_seconds


class FailureKind(StrEnum):
    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"
    NOT_IN_CHANNEL = "not_in_channel"
    PERMANENT = "permanent"
    INSTALL = "install"


# Slack's codes for a token that no longer works for this workspace (revoked, app
# uninstalled, workspace or bot user deactivated): nothing posts until it is fixed.
INSTALL_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)
# Codes Slack documents as its own transient trouble.
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)

# What each refusal means and what fixes it, for logs, /healthz, `tipoff alerts` and the
# admin note in App Home. The README's "Troubleshooting Slack" says the same at length.
FIXES: Mapping[str, str] = {
    "not_in_channel": "Tipoff is not a member of the channel: invite @tipoff to it "
    "(Tipoff joins public channels given by ID itself, with the channels:join scope)",
    "channel_not_found": "the channel does not exist or is private without @tipoff in it: "
    "fix TIPOFF_ALERT_CHANNEL (or the model's routing channels), or invite @tipoff",
    "is_archived": "the channel is archived: unarchive it or point Tipoff at another channel",
    "missing_scope": "the app lacks a scope it needs: add it from manifest.yml and reinstall",
    "msg_too_long": "the message is longer than Slack accepts",
    "invalid_blocks": "Slack rejected the message's blocks",
    "invalid_blocks_format": "Slack rejected the message's blocks",
    "restricted_action": "a workspace setting stops Tipoff posting there",
    "ekm_access_denied": "the workspace's administrators suspended posting",
    "invalid_auth": "the bot token is not valid: set SLACK_BOT_TOKEN to the app's current "
    "Bot User OAuth Token",
    "not_authed": "no bot token was sent: set SLACK_BOT_TOKEN",
    "token_revoked": "the bot token was revoked (the app was uninstalled?): reinstall the "
    "app and set SLACK_BOT_TOKEN to the new token",
    "token_expired": "the bot token expired: turn token rotation off or reinstall the app",
    "account_inactive": "the workspace or the bot user was deactivated: reinstall the app",
    "app_uninstalled": "the app was uninstalled from the workspace: reinstall it and set "
    "SLACK_BOT_TOKEN to the new token",
    "tokens_revoked": "Slack revoked the bot token: reinstall the app and set "
    "SLACK_BOT_TOKEN to the new token",
    "channel_externally_shared": "the channel is shared with another organisation (Slack "
    "Connect), which would see contacts' names and emails: point Tipoff at an internal "
    "channel, or set TIPOFF_ALERT_SHARED_CHANNELS=true to post there anyway",
}


class Refused(SlackClientError):
    """Tipoff's own refusal of a Slack call, as final as Slack's: `code` is recorded and
    explained (FIXES) as Slack's codes are. Raised, for instance, rather than post an
    alert into a channel shared with another organisation (tipoff.slack.audience)."""

    def __init__(self, code: str) -> None:
        super().__init__(FIXES.get(code, code))
        self.code = code


@dataclass(frozen=True)
class SlackFailure:
    kind: FailureKind
    code: str  # Slack's error code, or the exception's class name when Slack never answered
    status: int | None = None  # the HTTP status, when Slack answered
    retry_after: int | None = None  # seconds, from a 429's Retry-After
    detail: str | None = None  # the exception's message, when Slack never answered

    @property
    def description(self) -> str:
        """The code with what fixes it, e.g. for `last_error` and the logs."""
        fix = FIXES.get(self.code)
        return f"{self.code}: {fix}" if fix else self.code

    @property
    def summary(self) -> str:
        """As the outbox records a transient error: the code and the HTTP status."""
        if self.detail is not None:
            return f"{self.code}: {self.detail}"[:500]
        status = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{self.code}{status}"


def classify(code: str | None, status: int) -> FailureKind:
    """The kind of a Slack answer with HTTP `status` and `{"ok": false, "error": code}`."""
    if status == 429:
        return FailureKind.RATE_LIMITED
    if status >= 500 or code is None or code in TRANSIENT_ERRORS:
        return FailureKind.TRANSIENT
    if code in INSTALL_ERRORS:
        return FailureKind.INSTALL
    if code == "not_in_channel":
        return FailureKind.NOT_IN_CHANNEL
    # Any other refusal is about this request: sending it again changes nothing.
    return FailureKind.PERMANENT


# What a failed Web API call raises: a refusal (SlackApiError) or no answer at all.
SLACK_CALL_ERRORS = (TimeoutError, SlackClientError, aiohttp.ClientError, OSError)


def failure_of(exc: BaseException) -> SlackFailure:
    """`exc`, raised by a Web API call, as a SlackFailure. Exceptions that are not a Web
    API failure (a bug, a database error) are re-raised by the caller, not passed here."""
    if isinstance(exc, Refused):
        return SlackFailure(FailureKind.PERMANENT, exc.code)
    if isinstance(exc, SlackApiError):
        response = exc.response
        data = response.data
        code = data.get("error") if isinstance(data, Mapping) else None
        status = response.status_code
        return SlackFailure(
            classify(str(code) if code else None, status),
            str(code) if code else "no error code",
            status,
            retry_after_seconds(response.headers) if status == 429 else None,
        )
    return SlackFailure(FailureKind.TRANSIENT, type(exc).__name__, detail=str(exc))
    return None
