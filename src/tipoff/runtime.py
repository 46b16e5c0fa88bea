"""What every edge needs at run time, built once at start-up and closed at shutdown."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tipoff.errors import NoDatabase, SchemaOutOfDate
from tipoff.model import ScoringModel, load_default_model, load_model
from tipoff.quality import changes
from tipoff.settings import Settings
from tipoff.store.db import Database

if TYPE_CHECKING:
    # Imported when used: a command that reads the database (`tipoff score`) starts
    # without loading Slack's SDK or the metrics registry.
    from slack_sdk.web.async_client import AsyncWebClient

    from tipoff.metrics import Metrics
    from tipoff.slack.audience import Audience

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def configured_model(settings: Settings) -> ScoringModel:
    """The model file TIPOFF_MODEL names, else the bundled default. Raises ModelFileError
    with the file's problems."""
    return load_model(settings.model_path) if settings.model_path else load_default_model()


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

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        migrate: bool = True,
        create: bool = True,
        note_model_change: bool = True,
        changed_by: str | None = None,
    ) -> Runtime:
        """`migrate` and `note_model_change` are for what runs the bot (`serve`, `model
        apply`, the demo): the schema is brought up to date, and a model other than the
        last one logged is logged as put live, every account marked for rescoring.
        Without `migrate` a database whose schema is behind raises SchemaOutOfDate and
        changes nothing; a new one (no schema at all) gets its schema when `create`.
        `create` False is for commands that only make sense on stored data (a lookup, a
        report): where the SQLite file does not exist they raise NoDatabase rather than
        leave an empty database behind. `changed_by` names who is putting the model live
        when it is a change (the operating-system user otherwise)."""
        # The model is checked before anything starts: a broken file stops start-up with
        # its list of problems instead of scoring with half a model.
        model = configured_model(settings)
        db = Database(settings.database_url)
        try:
            if not create and db.sqlite_file is not None and not db.sqlite_file.exists():
                raise NoDatabase(
                    f"No Tipoff database at {db.sqlite_file.resolve()}: nothing has been"
                    " stored there yet. Point DATABASE_URL at Tipoff's database (`tipoff"
                    " demo` writes a sample one, tipoff-demo.db), or start one with"
                    " `tipoff serve`."
                )
            await db.check_connection()
            if migrate:
                await db.migrate()
            else:
                await _check_schema(db, create=create)
            if note_model_change:
                # A model that differs from the last one logged is a change: logged with
                # who and when, and every account is marked for rescoring under it.
                await changes.note_model_in_use(
                    db,
                    name=model.name,
                    text=changes.model_text(settings.model_path),
                    by=changed_by or changes.current_user(),
                    now=utc_now(),
                )
        except BaseException:
            await db.dispose()
            raise
        slack = None
        if settings.slack_bot_token is not None:
            from tipoff.slack.pacing import paced_client

            slack = paced_client(
                token=settings.slack_bot_token.get_secret_value(),
                base_url=settings.slack_api_url,
            )
        log.info(
            "tipoff ready: database=%s model=%s slack=%s",
            db.url.render_as_string(hide_password=True),
            model.name,
            "on" if slack else "off (alerts print to the console)",
        )
        return cls(settings=settings, db=db, model=model, slack=slack)

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


async def _check_schema(db: Database, *, create: bool) -> None:
    at, head = await db.schema_revisions()
    if at == head:
        return
    if at is None and create:
        await db.migrate()  # a new database: its schema is created, nothing is changed
        return
    where = db.url.render_as_string(hide_password=True)
    if at is None:
        raise SchemaOutOfDate(f"{where} holds no Tipoff data: start `tipoff serve` on it first.")
    raise SchemaOutOfDate(
        f"The database at {where} is at schema revision {at}; this Tipoff needs {head}."
        " Only `tipoff serve` and `tipoff model apply` upgrade it: start one of them once,"
        " then run this again. (A revision this Tipoff does not know means the database was"
        " upgraded by a newer Tipoff: upgrade this one.)"
    )
