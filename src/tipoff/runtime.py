"""What services are given to work with: settings, database, model, Slack client, clock.

A plain context: it opens nothing. `tipoff.startup.build_runtime` (the composition root,
imported by edges only) builds one at start-up; it is closed at shutdown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tipoff.model import ScoringModel
from tipoff.settings import Settings
from tipoff.store.db import Database

if TYPE_CHECKING:
    # Imported when used: a command that reads the database (`tipoff score`) starts
    # without loading Slack's SDK or the metrics registry.
    from slack_sdk.web.async_client import AsyncWebClient

    from tipoff.metrics import Metrics
    from tipoff.slack.audience import Audience


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """The composition root's products: settings, database, model, Slack Web API client.

    `clock` is how every job and handler learns the time, so tests can move it."""

    settings: Settings
    db: Database
    model: ScoringModel
    slack: AsyncWebClient | None
    clock: Callable[[], datetime] = field(default=utc_now)
    _metrics: Metrics | None = field(default=None, repr=False)
    # conversations.open answers (Slack user ID → DM channel ID): a DM's ID never changes,
    # so each owner's DM is opened once per process rather than once per alert.
    dm_channels: dict[str, str] = field(default_factory=dict)
    _audience: Audience | None = field(default=None, repr=False)

    @property
    def metrics(self) -> Metrics:
        """The process's Prometheus metrics, made on first use."""
        if self._metrics is None:
            from tipoff.metrics import Metrics

            self._metrics = Metrics()
        return self._metrics

    @property
    def audience(self) -> Audience:
        """Who Slack's people are (guests, other organisations) and which channels are
        shared with another organisation, each asked once for a few minutes; made on first
        use (it loads Slack's SDK, which a lookup from the command line does without)."""
        if self._audience is None:
            from tipoff.slack.audience import Audience

            self._audience = Audience()
        return self._audience

    async def close(self) -> None:
        await self.db.dispose()
