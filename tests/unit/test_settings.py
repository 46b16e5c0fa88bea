"""Settings: read from the environment and .env, validated at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tipoff.settings import Settings

ENV_EXAMPLE = Path(__file__).parents[2] / ".env.example"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL",
                 "TIPOFF_MODEL", "TIPOFF_ALERT_CHANNEL"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_env_example_as_is_gives_the_embedded_defaults(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(ENV_EXAMPLE.read_text())
    settings = Settings()
    assert settings.database_url == "sqlite+aiosqlite:///tipoff.db"
    assert settings.slack_bot_token is None and not settings.slack_enabled
    assert settings.model_path is None
    assert settings.alert_channel == "#sales-alerts"


def test_every_setting_is_documented_in_env_example() -> None:
    documented = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    names = {(f.validation_alias or name).upper() for name, f in Settings.model_fields.items()}  # type: ignore[union-attr]
    assert names == documented


def test_plain_urls_get_the_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/tipoff")
    assert Settings().database_url == "postgresql+asyncpg://u:p@db/tipoff"
    monkeypatch.setenv("DATABASE_URL", "sqlite:///x.db")
    assert Settings().database_url == "sqlite+aiosqlite:///x.db"


def test_another_database_is_refused_with_what_tipoff_runs_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://tipoff:hunter2@db/tipoff")
    with pytest.raises(
        ValidationError, match=r"runs on SQLite \(sqlite:///tipoff.db\) or PostgreSQL"
    ) as caught:
        Settings()
    assert "hunter2" not in str(caught.value)


def test_bot_token_without_a_way_to_receive_requests_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    with pytest.raises(ValidationError, match="neither SLACK_SIGNING_SECRET") as caught:
        Settings()
    assert "xoxb-secret-value" not in str(caught.value)


def test_secrets_never_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing-secret-value")
    settings = Settings()
    assert "secret-value" not in repr(settings) and "secret-value" not in str(settings.model_dump())
    assert settings.slack_api_url == "https://slack.com/api/"


def test_hubspot_and_salesforce_at_once_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tipoff.settings import describe_problems

    monkeypatch.setenv("TIPOFF_HUBSPOT_TOKEN", "pat-na1-secret-value")
    monkeypatch.setenv("TIPOFF_SALESFORCE_LOGIN_URL", "https://acme.my.salesforce.com")
    monkeypatch.setenv("TIPOFF_SALESFORCE_CLIENT_ID", "3MVG9consumer")
    monkeypatch.setenv("TIPOFF_SALESFORCE_CLIENT_SECRET", "sf-secret-value")
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)  # type: ignore[call-arg]
    [problem] = describe_problems(caught.value)
    assert problem == (
        "TIPOFF_HUBSPOT_TOKEN and TIPOFF_SALESFORCE_CLIENT_ID are both set, but Tipoff "
        "syncs with one CRM at a time: unset the one you do not sync with"
    )
    assert "secret-value" not in str(caught.value)

    monkeypatch.delenv("TIPOFF_HUBSPOT_TOKEN")
    assert Settings(_env_file=None).salesforce_enabled  # type: ignore[call-arg]
