"""The SQLite files `tipoff demo` and `tipoff quality-demo` write, and how they are told
apart from a real database: a sample is replaced on the next run, a real database never
is unless the user says so.

A sample is marked in its SQLite header (`PRAGMA application_id`, the field SQLite keeps
for saying which application a file belongs to), written before anything else goes in,
so even a demo that stopped half way leaves a file the next one may replace."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

from tipoff.errors import Conflict

# "TpDm": a Tipoff demo (sample) database.
SAMPLE_APPLICATION_ID = 0x5470446D


def is_sample_database(path: Path) -> bool:
    """Whether `path` is a sample database a demo wrote (False for anything else,
    including a file that is not SQLite at all)."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            (application_id,) = db.execute("PRAGMA application_id").fetchone()
    except sqlite3.Error:
        return False
    return bool(application_id == SAMPLE_APPLICATION_ID)


def replace_sample_database(path: Path, *, force: bool = False) -> None:
    """Deletes `path` (with its -wal and -shm files) and starts a marked, empty sample
    database there. Raises Conflict, changing nothing, when `path` holds something other
    than a sample (an empty file is nothing) and `force` is not given."""
    if (
        not force
        and path.exists()
        and (not path.is_file() or path.stat().st_size > 0)
        and not is_sample_database(path)
    ):
        raise Conflict(
            f"{path} is not a sample database a Tipoff demo wrote, so it is left alone: name a"
            " new file with --database, or add --force to replace it."
        )
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    # Readable by its owner only, as a database of names and emails should be.
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    with closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA application_id = {SAMPLE_APPLICATION_ID}")
        db.commit()
