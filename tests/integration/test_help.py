"""`tipoff --help` reads right, and a command loads only what it uses: `--help` nothing
of the services, a lookup nothing of Slack, the HTTP server or the statistics libraries.
(How long they take is measured, not tested: see the README's "Speed".)"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer.main
from typer.testing import CliRunner

from tests.integration.test_cli import seeded
from tipoff.cli import app

COMMAND = typer.main.get_command(app)


def every_command(
    group: click.Command = COMMAND, path: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    found = [path]
    if isinstance(group, click.Group):
        for name, command in group.commands.items():
            found += every_command(command, (*path, name))
    return found


@pytest.mark.parametrize("path", every_command(), ids=lambda p: " ".join(p) or "tipoff")
def test_help_shows_names_as_typed_and_sentences_whole(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "1000"})
    assert result.exit_code == 0, result.output
    shown = result.output
    assert "<bool>" not in shown and "<str>" not in shown and "{" not in shown, shown
    command = COMMAND
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    for param in command.params:
        if isinstance(param, click.Argument):
            assert (param.name or "").upper() in shown  # ACCOUNT, not {account}
    # Each paragraph of the command's description reads as one line this wide: no
    # line break the docstring had is kept mid-sentence.
    lines = [" ".join(line.strip(" │").split()) for line in shown.splitlines()]
    for paragraph in inspect.cleandoc(command.help or "").split("\n\n"):
        assert " ".join(paragraph.split()) in lines, (paragraph, shown)


def loaded_by(tmp_path: Path, *args: str) -> set[str]:
    """The modules `tipoff ARGS` imported, and their top-level packages, run in a fresh
    interpreter."""
    script = (
        "import json, sys\n"
        f"sys.argv = ['tipoff', *{list(args)!r}]\n"
        "from tipoff.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("SLACK_", "TIPOFF_", "DATABASE_URL"))
            },
            "COLUMNS": "200",
        },
    )
    modules = set(json.loads(result.stdout.splitlines()[-1]))
    return modules | {m.split(".")[0] for m in modules}


SERVING = {"slack_bolt", "slack_sdk", "aiohttp", "uvicorn", "starlette", "prometheus_client"}
OFFLINE = {"alembic", "scipy", "numpy", "asyncpg"}


def test_help_loads_none_of_the_services(tmp_path: Path) -> None:
    loaded = loaded_by(tmp_path, "--help")
    assert "typer" in loaded
    assert not loaded & (SERVING | OFFLINE | {"sqlalchemy", "aiosqlite", "pydantic", "yaml"})


async def test_a_lookup_loads_neither_slack_nor_the_server(tmp_path: Path) -> None:
    await seeded(tmp_path)
    loaded = loaded_by(tmp_path, "score", "acme.io")
    assert {"sqlalchemy", "aiosqlite"} <= loaded  # it did look the account up
    assert not loaded & (SERVING | OFFLINE | {"sqlalchemy.dialects.postgresql"})
