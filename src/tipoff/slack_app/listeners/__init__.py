"""One module per Slack surface, each with `register(app, runtime)`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from tipoff.runtime import Runtime
from tipoff.slack_app.listeners import actions, commands, home, lifecycle, views, workspace_changes


def register_all(app: AsyncApp, runtime: Runtime) -> None:
    commands.register(app, runtime)
    actions.register(app, runtime)
    views.register(app, runtime)
    home.register(app, runtime)
    lifecycle.register(app, runtime)
    workspace_changes.register(app, runtime)
