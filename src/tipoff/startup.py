"""The composition root: opens the database, brings its schema up to date, logs a model
change, builds the Slack Web API client, and hands services the plain `Runtime` they work
with. Edges (the CLI, the HTTP app, the demo) import it; services never do."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tipoff.errors import NoDatabase, SchemaOutOfDate
from tipoff.model import ScoringModel, load_default_model, load_model
from tipoff.quality import changes
from tipoff.runtime import Runtime, utc_now
from tipoff.settings import Settings
from tipoff.store.db import Database

if TYPE_CHECKING:
    from tipoff.crm.records import CrmClient

log = logging.getLogger(__name__)


def crm_configured(settings: Settings) -> bool:
    """Whether a CRM is configured (the sync then runs in `serve`), without building it."""
    return settings.hubspot_token is not None or settings.salesforce_enabled


def crm_client(settings: Settings) -> CrmClient | None:
    """The CRM the sync works with, as configured; None when there is none. The one
    place a CRM client is chosen: HubSpot when TIPOFF_HUBSPOT_TOKEN is set, Salesforce
    when TIPOFF_SALESFORCE_CLIENT_ID is (settings refuse both at once). The caller closes
    it (`aclose`). Raises CrmError when the Salesforce key file cannot be read."""
    if settings.hubspot_token is not None:
        from tipoff.crm.hubspot import HubSpotClient

        return HubSpotClient(
            token=settings.hubspot_token.get_secret_value(), base_url=settings.hubspot_api_url
        )
    if settings.salesforce_enabled:
        from tipoff.crm.salesforce import SalesforceClient

        return SalesforceClient.from_settings(settings)
    return None


def configured_model(settings: Settings) -> ScoringModel:
    """The model file TIPOFF_MODEL names, else the bundled default. Raises ModelFileError
    with the file's problems."""
    return load_model(settings.model_path) if settings.model_path else load_default_model()


async def build_runtime(
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
    return Runtime(settings=settings, db=db, model=model, slack=slack)


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
