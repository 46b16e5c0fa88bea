"""Model changes: the log of every scoring model that went live (name, SHA-256 of its
text, the text itself, who, when)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from tipoff.store.db import Connection
from tipoff.store.tables import model_changes


@dataclass(frozen=True, slots=True)
class ModelChange:
    id: int
    model_name: str
    content_hash: str
    changed_by: str
    changed_at: datetime


async def last_content_hash(conn: Connection) -> str | None:
    """The SHA-256 of the newest logged model's text; None before the first."""
    result = await conn.execute(
        select(model_changes.c.content_hash).order_by(model_changes.c.id.desc()).limit(1)
    )
    return result.scalar()


async def record_model_change(
    conn: Connection, *, name: str, content_hash: str, text: str, by: str, at: datetime
) -> ModelChange:
    """Logs the model `name` with `text` as put live by `by` at `at`."""
    result = await conn.execute(
        model_changes.insert().values(
            model_name=name,
            content_hash=content_hash,
            model_text=text,
            changed_by=by,
            changed_at=at,
        )
    )
    assert result.inserted_primary_key is not None
    return ModelChange(int(result.inserted_primary_key[0]), name, content_hash, by, at)


async def newest_model_changes(conn: Connection, *, limit: int) -> list[ModelChange]:
    """The newest `limit` changes, newest first."""
    rows = await conn.execute(
        select(model_changes).order_by(model_changes.c.id.desc()).limit(limit)
    )
    return [
        ModelChange(r.id, r.model_name, r.content_hash, r.changed_by, r.changed_at) for r in rows
    ]
