"""/healthz and /metrics, read as a monitoring system would read them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from tests import seed
from tests.conftest import NOW
from tests.fakes.slack_api import running_fake_slack
from tests.fakes.slack_bot import Clock, with_slack
from tests.integration.conftest import IngestServer, served
from tipoff.server import SLACK_CHECK_EVERY, create_app
from tipoff.settings import Settings
from tipoff.slack.failures import FIXES
from tipoff.sources import NewSource
from tipoff.store.db import Database
from tipoff.store.tables import alerts, slack_workspace


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_rejections_and_read_the_outbox(
    ingest_server: IngestServer, ingest_source: NewSource, database: Database
) -> None:
    async with database.transaction() as conn:
        acme = await seed.hot_acme(conn, NOW)
        for minutes, status, attempts in [(30, "pending", 2), (5, "pending", 0), (60, "sent", 3)]:
            created = NOW - timedelta(minutes=minutes)
            await conn.execute(
                alerts.insert().values(
                    account_id=acme,
                    track="hot",
                    score=90,
                    reason="entered hot",
                    text="Acme",
                    blocks=[],
                    target="#sales-alerts",
                    status=status,
                    attempts=attempts,
                    next_attempt_at=created,
                    created_at=created,
                )
            )
    async with httpx.AsyncClient(base_url=ingest_server.url) as http:
        ok = await http.post(
            "/v1/track",
            json={"userId": "u", "event": "Signed Up"},
            auth=(ingest_source.write_key, ""),
        )
        assert ok.status_code == 200
        assert (
            await http.post("/v1/track", content=b"{", auth=(ingest_source.write_key, ""))
        ).status_code == 400
        assert (
            await http.post("/v1/track", json={"userId": "u", "event": "x"}, auth=("nope", ""))
        ).status_code == 401
        assert (await http.post("/v1/track", json={"userId": "u", "event": "x"})).status_code == 401
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    assert found[("tipoff_requests_rejected_total", (("code", "unauthorized"),))] == 2
    assert sum(v for (name, _), v in found.items() if name == "tipoff_requests_rejected_total") == 3
    assert found[("tipoff_events_stored", ())] == 5  # the four seeded signals and the track
    assert found[("tipoff_alerts", (("status", "pending"),))] == 2
    assert found[("tipoff_alerts", (("status", "sent"),))] == 1
    assert found[("tipoff_alert_attempts_failed", ())] == 4  # 2 + 0 pending, 3 − 1 for the sent one
    assert found[("tipoff_outbox_oldest_pending_seconds", ())] == 30 * 60


async def test_healthz_reports_each_dependency(settings: Settings) -> None:
    assert (await _health(create_app(settings, scheduler=False))) == (
        200,
        {"status": "ok", "database": "ok", "slack": "off"},
    )
    with running_fake_slack() as fake:
        app = create_app(with_slack(settings, fake), scheduler=False)
        with served(app) as url:
            clock = app.state.runtime.clock = Clock(NOW)
            async with httpx.AsyncClient(base_url=url) as http:
                up = await http.get("/healthz")
                assert (up.status_code, up.json()) == (
                    200,
                    {"status": "ok", "database": "ok", "slack": "ok"},
                )
                fake.stop()  # Slack goes away; seen once the last answer is too old
                clock.now += SLACK_CHECK_EVERY
                down = await http.get("/healthz")
    # Slack out: still serving (alerts wait in the outbox), but degraded.
    assert (down.status_code, down.json()) == (
        200,
        {
            "status": "degraded",
            "database": "ok",
            "slack": "unreachable",
            "reasons": ["Slack unreachable (ClientConnectorError)"],
        },
    )


async def paused_reason(database: Database) -> str | None:
    async with database.transaction() as conn:
        return await conn.scalar(select(slack_workspace.c.paused_reason))


async def test_healthz_asks_slack_at_most_every_30_seconds_and_changes_nothing(
    settings: Settings, database: Database
) -> None:
    # The app runs in its own thread and event loop: the test reads and writes the
    # database through its own handle.
    with running_fake_slack() as fake:
        app = create_app(with_slack(settings, fake), scheduler=False)
        with served(app) as url:
            clock = app.state.runtime.clock = Clock(NOW)
            async with httpx.AsyncClient(base_url=url) as http:
                asked = len(fake.calls_to("auth.test"))  # when the server came up
                answers = await asyncio.gather(*(http.get("/healthz") for _ in range(20)))
                assert {a.json()["slack"] for a in answers} == {"ok"}
                # Anyone may ask, as often as they like; Slack is asked once.
                assert len(fake.calls_to("auth.test")) == asked + 1

                fake.revoke()  # the token dies; /healthz says so once its answer is too old
                clock.now += SLACK_CHECK_EVERY - timedelta(seconds=1)
                assert (await http.get("/healthz")).json()["slack"] == "ok"
                clock.now += timedelta(seconds=1)
                refused = (await http.get("/healthz")).json()
                assert len(fake.calls_to("auth.test")) == asked + 2
                # … and only says so: pausing posting is the delivery job's to decide.
                assert await paused_reason(database) is None

                fake.reinstall()
                async with database.transaction() as conn:
                    await conn.execute(
                        slack_workspace.insert().values(
                            id=1, paused_reason="token_revoked", paused_at=NOW, checked_at=NOW
                        )
                    )
                clock.now += SLACK_CHECK_EVERY
                still = (await http.get("/healthz")).json()
                assert await paused_reason(database) == "token_revoked"  # not resumed here
    assert refused == {
        "status": "degraded",
        "database": "ok",
        "slack": "refused",
        "reasons": [f"Slack refuses the bot token: token_revoked: {FIXES['token_revoked']}"],
    }
    assert (still["status"], still["slack"]) == ("degraded", "paused")


async def _health(app: object) -> tuple[int, object]:
    with served(app) as url:  # type: ignore[arg-type]
        async with httpx.AsyncClient(base_url=url) as http:
            response = await http.get("/healthz")
    return response.status_code, response.json()
