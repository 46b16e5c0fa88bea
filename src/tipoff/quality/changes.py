"""Live model changes: each model that goes live is logged (name, SHA-256 of its text, the
text itself, who, when) and every account is marked for rescoring under it.

The model is validated before this is reached (`tipoff.startup.build_runtime` loads it first), so a broken
file never gets logged or used. Start-up compares the model in use with the newest logged
one; `tipoff model apply FILE` does the same on demand and rescores at once.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
from datetime import datetime
from importlib import resources
from pathlib import Path

from tipoff.model.loader import DEFAULT_MODEL_RESOURCE
from tipoff.store.accounts import EVERY_ACCOUNT, mark_for_rescoring
from tipoff.store.db import Database
from tipoff.store.model_changes import (
    ModelChange,
    last_content_hash,
    newest_model_changes,
    record_model_change,
)

log = logging.getLogger(__name__)


def model_text(path: Path | None) -> str:
    """The text of the model file in use: `path`, or the bundled default."""
    if path is None:
        return resources.files("tipoff.model").joinpath(DEFAULT_MODEL_RESOURCE).read_text("utf-8")
    return path.read_text(encoding="utf-8")


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def current_user() -> str:
    """Who is changing the model, as the operating system knows them."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (some containers)
        return "unknown"


async def note_model_in_use(
    db: Database, *, name: str, text: str, by: str, now: datetime
) -> ModelChange | None:
    """Logs the model as a change when it differs from the last one logged, and marks
    every account due so the next rescore pass scores it under this model. Returns the
    change, or None when this model was already the live one."""
    digest = content_hash(text)
    async with db.transaction() as conn:
        if await last_content_hash(conn) == digest:
            return None
        change = await record_model_change(
            conn, name=name, content_hash=digest, text=text, by=by, at=now
        )
        await mark_for_rescoring(conn, EVERY_ACCOUNT)
    log.info(
        "model changed to %r (sha256 %s) by %s; every account will be rescored",
        name,
        digest[:12],
        by,
    )
    return change


async def live_model_if_other(db: Database, text: str) -> ModelChange | None:
    """The live model (the last one logged), when the model with `text` is not it."""
    history = await model_history(db, limit=1)
    if history and history[0].content_hash != content_hash(text):
        return history[0]
    return None


async def model_history(db: Database, *, limit: int = 20) -> list[ModelChange]:
    """The newest changes first."""
    async with db.transaction() as conn:
        return await newest_model_changes(conn, limit=limit)
