"""The SQLite file on disk: who may read it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tipoff.store.db import Database


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most systems start with (022): files are world-readable unless created
    otherwise."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


async def test_the_database_and_its_wal_and_shm_files_are_its_owners_only(
    tmp_path: Path, usual_umask: None
) -> None:
    path = tmp_path / "tipoff.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await db.migrate()
        async with db.transaction() as conn:
            await conn.execute(text("SELECT 1"))
        files = [path, tmp_path / "tipoff.db-wal", tmp_path / "tipoff.db-shm"]
        assert all(f.exists() for f in files)  # WAL mode, a connection still open
        modes = {f.name: stat.filemode(f.stat().st_mode) for f in files}
        assert modes == {f.name: "-rw-------" for f in files}
    finally:
        await db.dispose()


async def test_an_existing_database_file_keeps_the_mode_its_owner_gave_it(
    tmp_path: Path, usual_umask: None
) -> None:
    path = tmp_path / "shared.db"
    path.touch(mode=0o640)
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await db.migrate()
    finally:
        await db.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
