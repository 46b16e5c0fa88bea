"""The one settings object. Read from the environment and `.env`, validated at start-up,
then passed down; nothing else in Tipoff reads the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_HUBSPOT_API_URL = "https://api.hubapi.com"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,  # `SLACK_BOT_TOKEN=` in .env means unset, not an empty token
        extra="ignore",
        populate_by_name=True,
        hide_input_in_errors=True,  # a validation error must not print a token
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///tipoff.db",
        description="SQLAlchemy async URL; a SQLite file by default, "
        "postgresql+asyncpg://… for several replicas.",
    )
    slack_bot_token: SecretStr | None = Field(default=None, description="xoxb- bot token.")
    slack_signing_secret: SecretStr | None = Field(
        default=None, description="Verifies requests Slack sends to /slack/events."
    )
    slack_app_token: SecretStr | None = Field(
        default=None, description="xapp- app-level token; when set, Socket Mode is used."
    )
    slack_api_url: str = Field(
        default=DEFAULT_SLACK_API_URL,
        description="Base URL of Slack's Web API; tests point it at a local stand-in.",
    )
    model_path: Path | None = Field(
        default=None,
        validation_alias="TIPOFF_MODEL",
        description="Scoring model YAML; the bundled default when unset.",
    )
    alert_channel: str = Field(
        default="#sales-alerts",
        validation_alias="TIPOFF_ALERT_CHANNEL",
        description="Channel (name or ID) that alerts are posted to.",
    )
    alert_shared_channels: bool = Field(
        default=False,
        validation_alias="TIPOFF_ALERT_SHARED_CHANNELS",
        description="Post alerts (which name contacts and their emails) into a channel "
        "shared with another organisation (Slack Connect); refused unless true.",
    )
    # Every second: a signal reaches its alert within about a second, and an idle pass is
    # one claim query that writes nothing.
    rescore_interval_seconds: float = Field(
        default=1.0, gt=0, validation_alias="TIPOFF_RESCORE_INTERVAL"
    )
    full_rescore_interval_seconds: float = Field(
        default=3600.0, gt=0, validation_alias="TIPOFF_FULL_RESCORE_INTERVAL"
    )
    rescore_processes: int = Field(
        default_factory=lambda: (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1
        ),
        ge=0,
        validation_alias="TIPOFF_RESCORE_PROCESSES",
        description="Worker processes that score a long pass on SQLite (one per core by "
        "default); 0 scores in the serving process.",
    )
    delivery_interval_seconds: float = Field(
        default=2.0, gt=0, validation_alias="TIPOFF_DELIVERY_INTERVAL"
    )

    admins: str = Field(
        default="",
        validation_alias="TIPOFF_ADMINS",
        description="Slack user IDs (comma-separated) allowed to `/tipoff assign`.",
    )
    escalation_channel: str | None = Field(
        default=None,
        validation_alias="TIPOFF_ESCALATION_CHANNEL",
        description="Where alerts still unclaimed after their SLA are escalated; "
        "none: reminders only.",
    )
    digest_at: str = Field(
        default="09:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        validation_alias="TIPOFF_DIGEST_AT",
        description="Local time (HH:MM) of the daily digest in each alert channel.",
    )
    digest_time_zone: str = Field(
        default="UTC",
        validation_alias="TIPOFF_DIGEST_TIME_ZONE",
        description="IANA time zone of TIPOFF_DIGEST_AT.",
    )
    workflow_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        validation_alias="TIPOFF_WORKFLOW_INTERVAL",
        description="How often SLA reminders and the digest are checked.",
    )
    slack_user_not_found_ttl_hours: float = Field(
        default=24.0,
        gt=0,
        validation_alias="TIPOFF_SLACK_USER_NOT_FOUND_TTL_HOURS",
        description="How long an owner email Slack knew nobody by is remembered as such "
        "before it is looked up again (the person may have joined since).",
    )
    retention_days: int | None = Field(
        default=None,
        ge=1,
        le=36_500,  # a hundred years: further back than Python's dates go is no retention
        validation_alias="TIPOFF_RETENTION_DAYS",
        description="Delete signals older than this many days (daily); keep all when unset.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        min_length=32,
        validation_alias="TIPOFF_SECRET_KEY",
        description="Server key from which each X-Signature webhook source's secret is "
        "derived (Segment's Webhooks destination); needed by `sources add` and `serve`.",
    )

    # --- Salesforce (docs/salesforce.md) ---------------------------------------------------
    # A connected app signs in by client credentials (CLIENT_ID + CLIENT_SECRET) or by JWT
    # bearer (CLIENT_ID + USERNAME + PRIVATE_KEY_FILE); never username-password.
    salesforce_login_url: str = Field(
        default="https://login.salesforce.com",
        validation_alias="TIPOFF_SALESFORCE_LOGIN_URL",
        description="Where Salesforce tokens come from: login.salesforce.com, "
        "test.salesforce.com (a sandbox) or the org's My Domain URL (which the client "
        "credentials flow requires).",
    )
    salesforce_instance_url: str | None = Field(
        default=None,
        validation_alias="TIPOFF_SALESFORCE_INSTANCE_URL",
        description="Where Salesforce API calls go instead of the instance_url the token "
        "answer names; for a proxy, or a test's stand-in.",
    )
    salesforce_client_id: str | None = Field(
        default=None,
        validation_alias="TIPOFF_SALESFORCE_CLIENT_ID",
        description="The connected app's consumer key; Salesforce is synced when set.",
    )
    salesforce_client_secret: SecretStr | None = Field(
        default=None,
        validation_alias="TIPOFF_SALESFORCE_CLIENT_SECRET",
        description="The connected app's consumer secret (client credentials flow).",
    )
    salesforce_username: str | None = Field(
        default=None,
        validation_alias="TIPOFF_SALESFORCE_USERNAME",
        description="The Salesforce user Tipoff acts as (JWT bearer flow).",
    )
    salesforce_private_key_file: Path | None = Field(
        default=None,
        validation_alias="TIPOFF_SALESFORCE_PRIVATE_KEY_FILE",
        description="PEM file of the RSA private key whose certificate the connected app "
        "holds (JWT bearer flow; needs the salesforce extra).",
    )
    salesforce_api_version: str = Field(
        default="62.0",
        pattern=r"^v?[1-9][0-9]\.0$",
        validation_alias="TIPOFF_SALESFORCE_API_VERSION",
        description="Salesforce REST API version, e.g. 62.0.",
    )

    # --- CRM sync (issue 22): HubSpot ------------------------------------------------
    hubspot_token: SecretStr | None = Field(
        default=None,
        validation_alias="TIPOFF_HUBSPOT_TOKEN",
        description="A HubSpot private app (or service key) access token; when set, "
        "`tipoff serve` and `tipoff crm sync` sync scores, owners and deals with HubSpot.",
    )
    hubspot_api_url: str = Field(
        default=DEFAULT_HUBSPOT_API_URL,
        validation_alias="TIPOFF_HUBSPOT_API_URL",
        description="Base URL of HubSpot's API; tests point it at a local stand-in.",
    )
    crm_sync_minutes: float = Field(
        default=15.0,
        gt=0,
        validation_alias="TIPOFF_CRM_SYNC_MINUTES",
        description="How often `tipoff serve` syncs with the CRM, in minutes.",
    )
    # --- end of the CRM sync block --------------------------------------------------

    @field_validator("digest_time_zone")
    @classmethod
    def _digest_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
        return value

    @property
    def admin_ids(self) -> frozenset[str]:
        """TIPOFF_ADMINS as a set of Slack user IDs."""
        return frozenset(a.strip() for a in self.admins.split(",") if a.strip())

    @field_validator("hubspot_api_url")
    @classmethod
    def _hubspot_url_without_slash(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://api.hubapi.com")
        # Paths ("/crm/v3/…") are appended to it.
        return value.rstrip("/")

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_ends_with_slash(cls, value: str) -> str:
        # slack_sdk joins method names onto the base URL, so it must end with "/".
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        # Accept the URLs people paste (sqlite:///x.db, postgresql://…) and pick the
        # async driver Tipoff runs on, rather than failing deep inside SQLAlchemy.
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value.removeprefix(prefix)
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "Tipoff runs on SQLite (sqlite:///tipoff.db) or PostgreSQL "
                "(postgresql://user:password@host/database); this URL names another database"
            )
        return value

    @model_validator(mode="after")
    def _slack_credentials_complete(self) -> Settings:
        if self.slack_bot_token and not (self.slack_signing_secret or self.slack_app_token):
            raise ValueError(
                "SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (HTTP mode) nor "
                "SLACK_APP_TOKEN (Socket Mode) is: Tipoff could post alerts but never "
                "receive a click or a /tipoff command."
            )
        return self

    @property
    def slack_enabled(self) -> bool:
        """True when alerts go to Slack; otherwise they are printed and stay queued."""
        return self.slack_bot_token is not None

    # --- Salesforce ----------------------------------------------------------------------

    @field_validator("salesforce_login_url", "salesforce_instance_url")
    @classmethod
    def _salesforce_https(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if not parts.hostname or not (
            parts.scheme == "https" or (parts.scheme == "http" and loopback)
        ):
            raise ValueError(
                "must be an https:// URL such as https://yourcompany.my.salesforce.com "
                "(plain http only to a stand-in on this machine)"
            )
        return value.rstrip("/")

    @model_validator(mode="after")
    def _salesforce_credentials_complete(self) -> Settings:
        secret = self.salesforce_client_secret is not None
        jwt = [self.salesforce_username is not None, self.salesforce_private_key_file is not None]
        if self.salesforce_client_id is None:
            if secret or any(jwt):
                raise ValueError(
                    "TIPOFF_SALESFORCE_CLIENT_SECRET, _USERNAME or _PRIVATE_KEY_FILE is set "
                    "but TIPOFF_SALESFORCE_CLIENT_ID (the connected app's consumer key) is not"
                )
            return self
        if secret and any(jwt):
            raise ValueError(
                "Salesforce: set either TIPOFF_SALESFORCE_CLIENT_SECRET (client credentials) "
                "or TIPOFF_SALESFORCE_USERNAME and TIPOFF_SALESFORCE_PRIVATE_KEY_FILE "
                "(JWT bearer), not both"
            )
        if not secret and not all(jwt):
            raise ValueError(
                "TIPOFF_SALESFORCE_CLIENT_ID is set but Tipoff cannot sign in with it: set "
                "TIPOFF_SALESFORCE_CLIENT_SECRET (client credentials flow), or both "
                "TIPOFF_SALESFORCE_USERNAME and TIPOFF_SALESFORCE_PRIVATE_KEY_FILE (JWT "
                "bearer flow)"
            )
        host = urlsplit(self.salesforce_login_url).hostname or ""
        if secret and host in ("login.salesforce.com", "test.salesforce.com"):
            raise ValueError(
                "Salesforce's client credentials flow signs in at the org's My Domain only: "
                "set TIPOFF_SALESFORCE_LOGIN_URL to it (https://yourcompany.my.salesforce.com)"
            )
        key = self.salesforce_private_key_file
        if key is not None and not key.is_file():
            raise ValueError(f"TIPOFF_SALESFORCE_PRIVATE_KEY_FILE: no file at {key}")
        return self

    @model_validator(mode="after")
    def _one_crm_at_a_time(self) -> Settings:
        # One sync, one CRM: two would each write their own records and read two sets of
        # owners and deals into the same accounts, the later run overriding the earlier.
        if self.hubspot_token is not None and self.salesforce_client_id is not None:
            raise ValueError(
                "TIPOFF_HUBSPOT_TOKEN and TIPOFF_SALESFORCE_CLIENT_ID are both set, but Tipoff "
                "syncs with one CRM at a time: unset the one you do not sync with"
            )
        return self

    @property
    def salesforce_enabled(self) -> bool:
        """True when Salesforce is synced (TIPOFF_SALESFORCE_CLIENT_ID is set)."""
        return self.salesforce_client_id is not None


def describe_problems(error: ValidationError) -> list[str]:
    """Each problem in `error` (from `Settings()`) as what to set and how: the variable's
    name, then what its value must be, in words rather than the validator's
    ("TIPOFF_SECRET_KEY must be at least 32 characters long (…)"). Values are never
    repeated: they may be secrets."""
    return [_describe(problem) for problem in error.errors(include_url=False, include_input=False)]


# What a value must be, by pydantic's error type: {ctx} fields fill the placeholders.
_MUST_BE = {
    "greater_than": "must be a number greater than {gt}",
    "greater_than_equal": "must be a number of at least {ge}",
    "less_than": "must be a number below {lt}",
    "less_than_equal": "must be a number of at most {le}",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "bool_parsing": "must be true or false",
    "too_short": "must be at least {min_length} characters long",
    "string_too_short": "must be at least {min_length} characters long",
    "too_long": "must be at most {max_length} characters long",
    "string_too_long": "must be at most {max_length} characters long",
}
_PATTERNS = {
    "TIPOFF_DIGEST_AT": "must be a time of day as HH:MM (24-hour), e.g. 09:00",
    "TIPOFF_SALESFORCE_API_VERSION": "must be a Salesforce API version such as 62.0",
}
_HOW = {
    "TIPOFF_SECRET_KEY": "make one with"
    " python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
}


def _describe(problem: Any) -> str:
    variable, meaning = _variable(str(problem["loc"][0])) if problem["loc"] else ("", None)
    kind = problem["type"]
    message = str(problem["msg"]).removeprefix("Value error, ")
    if kind == "value_error":
        return f"{variable}: {message}" if variable else message
    if kind == "string_pattern_mismatch" and variable in _PATTERNS:
        must = _PATTERNS[variable]
    elif kind in _MUST_BE:
        limits = {
            k: f"{v:g}" if isinstance(v, float) else v for k, v in problem.get("ctx", {}).items()
        }
        must = _MUST_BE[kind].format(**limits)
    else:
        must = f"is not valid ({message[0].lower()}{message[1:]})"
    said = f"{variable} {must}"
    if variable in _HOW:
        said += f"; {_HOW[variable]}"
    if meaning:
        said += f". It is: {meaning[0].lower()}{meaning[1:].rstrip('.')}"
    return said + "."


def _variable(loc: str) -> tuple[str, str | None]:
    """The environment variable an error's location names, and what the setting is for."""
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias if isinstance(field.validation_alias, str) else None
        if loc in (name, alias):
            return alias or name.upper(), field.description
    return loc.upper(), None
