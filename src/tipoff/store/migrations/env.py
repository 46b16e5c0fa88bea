"""Alembic environment. Tipoff runs migrations itself (`Database.migrate`), handing a live
connection in through `config.attributes`; `alembic` on the command line works too when
given a URL with `-x url=…`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from tipoff.store.tables import metadata


def run_migrations(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,  # SQLite can only ALTER through table copies
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///tipoff.db")
    with create_engine(url.replace("+aiosqlite", "").replace("+asyncpg", "")).begin() as conn:
        run_migrations(conn)
