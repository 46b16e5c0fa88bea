"""manifest.yml creates a working app: it is valid against Slack's published schema and
declares what the bot's code relies on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tipoff.slack_app.listeners.commands import COMMAND

REPO = Path(__file__).resolve().parents[2]
# Slack's published JSON Schema for app manifests (slackapi/manifest-schema, MIT), kept in
# the repository so the suite needs nothing beside it.
SCHEMA = REPO / "tests" / "fixtures" / "slack" / "manifest.schema.1.0.0.json"


def load_manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "manifest.yml").read_text("utf-8"))
    return loaded


def test_the_manifest_is_valid_against_slacks_schema() -> None:
    assert SCHEMA.is_file(), (
        f"Slack's manifest schema is missing: expected {SCHEMA} "
        "(tests/fixtures/slack/manifest.schema.1.0.0.json)"
    )
    schema = json.loads(SCHEMA.read_text("utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(load_manifest()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_manifest_declares_the_command_urls_and_scopes_the_bot_uses() -> None:
    manifest = load_manifest()
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert command["url"] == "https://YOUR-HOST/slack/events"
    settings = manifest["settings"]
    assert settings["interactivity"] == {
        "is_enabled": True,
        "request_url": "https://YOUR-HOST/slack/events",
    }
    assert settings["socket_mode_enabled"] is False
    # Only the events a listener handles: app_home_opened (slack_app/listeners/home.py),
    # app_uninstalled and tokens_revoked (slack_app/listeners/lifecycle.py), and user_change
    # (slack_app/listeners/workspace_changes.py; needs users:read), channel_shared and channel_unshared
    # (slack_app/listeners/workspace_changes.py; need channels:read and groups:read).
    assert settings["event_subscriptions"] == {
        "request_url": "https://YOUR-HOST/slack/events",
        "bot_events": [
            "app_home_opened",
            "app_uninstalled",
            "tokens_revoked",
            "user_change",
            "channel_shared",
            "channel_unshared",
        ],
    }
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert command["should_escape"] is True  # `assign … @rep` must arrive as a user ID
    assert manifest["oauth_config"]["scopes"]["bot"] == [
        "commands",
        "chat:write",
        "chat:write.public",
        "users:read",
        "users:read.email",
        "im:write",
        "channels:join",
        "channels:read",
        "groups:read",
        "files:write",  # /tipoff stats uploads its chart (files.getUploadURLExternal …)
    ]
