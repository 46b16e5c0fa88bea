"""One module per Slack surface, each with `register(app, runtime)`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from tipoff.runtime import Runtime
from tipoff.slack.listeners import actions, commands, home, install, people, views


def register_all(app: AsyncApp, runtime: Runtime) -> None:
    commands.register(app, runtime)
    actions.register(app, runtime)
    views.register(app, runtime)
    home.register(app, runtime)
    install.register(app, runtime)
    people.register(app, runtime)
