"""Erasure and retention on a real database: what is gone is gone everywhere."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import os
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, String, Text, cast, func, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.util import await_only

from tests import seed
from tests.conftest import NOW
from tests.fakes.signing import SIGNING_SECRET
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi
from tests.fakes.slack_bot import Clock, running_runtime
from tipoff import feedback, privacy
from tipoff.alerts.delivery import deliver_pending_alerts
from tipoff.alerts.erased import PostedMessage
from tipoff.errors import InvalidInput, NotFound
from tipoff.runtime import Runtime
from tipoff.scores.lookup import lookup
from tipoff.scores.rescoring import rescore
from tipoff.settings import Settings
from tipoff.slack.blocks import escape
from tipoff.startup import build_runtime
from tipoff.store.tables import (
    accounts,
    alerts,
    erasures,
    events,
    identities,
    metadata,
    people,
    scores,
)


async def count(rt: Runtime, query: object) -> int:
    async with rt.db.transaction() as conn:
        return int((await conn.execute(query)).scalar_one())  # type: ignore[call-overload]


async def test_forget_removes_the_person_everywhere_and_records_a_hash(runtime: Runtime) -> None:
    async with runtime.db.transaction() as conn:
        acme = await seed.hot_acme(conn, NOW)  # Dana Lee (VP) and Sam Ortiz
    await rescore(runtime)
    async with runtime.db.transaction() as conn:
        alert_blocks = (await conn.execute(select(alerts.c.blocks))).scalar_one()
        dana = (
            await conn.execute(select(people.c.id).where(people.c.email == "dana@acme.io"))
        ).scalar_one()
        await conn.execute(
            identities.insert().values(kind="user_id", external_id="u-dana", person_id=dana)
        )
    assert "Dana Lee" in json.dumps(alert_blocks)

    async with runtime.db.transaction() as conn:
        done = await privacy.forget_person(
            conn, email=" Dana@Acme.io ", requested_by="dpo", now=NOW
        )
    assert (done.events_deleted, done.alerts_scrubbed, done.account_id) == (3, 1, acme)

    assert (
        await count(
            runtime, select(func.count()).select_from(events).where(events.c.person_id == dana)
        )
        == 0
    )
    assert await count(runtime, select(func.count()).select_from(identities)) == 0
    assert await count(runtime, select(func.count()).select_from(people)) == 1  # Sam stays
    async with runtime.db.transaction() as conn:
        record = (await conn.execute(select(erasures))).one()
        stored_alert = json.dumps(
            [*(await conn.execute(select(alerts.c.text, alerts.c.blocks))).one()]
        )
        stored_score = json.dumps(
            (await conn.execute(select(scores.c.evidence, scores.c.contact))).one()._asdict()
        )
        assert await privacy.was_erased(conn, "dana@acme.io")
    assert record.email_hash == privacy.email_hash("dana@acme.io") and record.requested_by == "dpo"
    assert "dana" not in json.dumps(record._asdict(), default=str).lower()
    for stored in (stored_alert, stored_score):
        assert "Dana" not in stored and "dana@acme.io" not in stored
    assert "[removed]" in stored_alert

    # The account is due again, and its new score no longer counts her.
    assert (await rescore(runtime)).scored == 1
    found = await lookup(runtime, "acme.io")
    assert found.result is not None
    assert all("Dana" not in e.text for e in found.result.evidence)
    assert found.result.score == 0  # Sam's one session is not enough for any rule


async def test_forget_erases_inside_an_event_stored_nested_900_levels_deep(
    runtime: Runtime,
) -> None:
    # Stored before ingest capped nesting at 32 levels: the erasure still reads it whole.
    nested: Any = {"invited": "dana@acme.io"}
    for _ in range(450):  # two levels each
        nested = {"reply": [nested]}
    async with runtime.db.transaction() as conn:
        acme = await seed.hot_acme(conn, NOW)
        sam = (
            await conn.execute(select(people.c.id).where(people.c.email == "sam@acme.io"))
        ).scalar_one()
        await seed.signal(conn, NOW, acme, sam, "Teammate Invited", thread=nested)

    async with runtime.db.transaction() as conn:
        done = await privacy.forget_person(conn, email="dana@acme.io", requested_by="dpo", now=NOW)
    assert done.scrubbed["events"] == 1
    async with runtime.db.transaction() as conn:
        kept = (
            await conn.execute(select(events.c.properties).where(events.c.person_id == sam))
        ).all()
    thread = next(p["thread"] for (p,) in kept if p)
    for _ in range(450):
        (thread,) = thread["reply"]
    assert thread == {"invited": "[removed]"}


async def test_after_forget_the_name_is_gone_from_the_sqlite_files_bytes(
    settings: Settings, tmp_path: Path
) -> None:
    # A SQLite file on either run: the bytes on disk are what this is about.
    path = tmp_path / "erased.db"
    on_file = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{path}"})
    async with running_runtime(on_file, now=NOW) as rt:
        async with rt.db.transaction() as conn:
            acme = await seed.hot_acme(conn, NOW)  # Dana Lee, VP Engineering, and Sam Ortiz
            for n in range(60):  # her row among others, as in any real table
                await seed.person(conn, NOW, acme, f"Person {n}", f"p{n}@acme.io", "Engineer")
            # Her record rewritten as identify calls do: each leaves an old copy behind.
            for title in ("Engineer", "Staff Engineer", "VP Engineering"):
                await conn.execute(
                    update(people)
                    .where(people.c.email == "dana@acme.io")
                    .values(title=title, traits={"name": "Dana Lee", "title": title})
                )
        await rescore(rt)  # her name in evidence, contact and the queued alert
        async with rt.db.engine.connect() as conn:  # as SQLite does every 1,000 pages
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        files = [path, tmp_path / "erased.db-wal", tmp_path / "erased.db-shm"]
        assert b"Dana Lee" in path.read_bytes()

        await privacy.forget(rt, email="dana@acme.io", requested_by="dpo")

        # While the server still runs (its connections open), and after.
        for _ in ("running", "stopped"):
            on_disk = b"".join(f.read_bytes() for f in files if f.exists())
            assert b"Dana Lee" not in on_disk and b"dana@acme.io" not in on_disk
            assert b"Sam Ortiz" in on_disk  # the file is the same database, read plainly
            await rt.db.dispose()


async def test_forget_refuses_what_it_cannot_do(runtime: Runtime) -> None:
    async with runtime.db.transaction() as conn:
        with pytest.raises(InvalidInput, match="is not an email address"):
            await privacy.forget_person(conn, email="dana", requested_by="dpo", now=NOW)
        with pytest.raises(NotFound, match=r"no person with the email nobody@acme\.io"):
            await privacy.forget_person(conn, email="nobody@acme.io", requested_by="dpo", now=NOW)
    assert await count(runtime, select(func.count()).select_from(erasures)) == 0


async def test_prune_deletes_old_signals_and_rescores_their_accounts(runtime: Runtime) -> None:
    async with runtime.db.transaction() as conn:
        await seed.hot_acme(conn, NOW)  # signals 1–3 days old
    await rescore(runtime)
    async with runtime.db.transaction() as conn:
        assert await privacy.prune_signals(conn, older_than=NOW - timedelta(days=2, hours=1)) == 1
    assert await count(runtime, select(func.count()).select_from(events)) == 3
    assert (await rescore(runtime)).scored == 1


async def test_the_retention_job_applies_the_setting(settings: Settings) -> None:
    from tipoff.jobs import apply_retention

    rt = await build_runtime(settings.model_copy(update={"retention_days": 2}))
    rt.clock = Clock(NOW)
    try:
        async with rt.db.transaction() as conn:
            await seed.hot_acme(conn, NOW)  # signals 1, 1, 2 and 3 days old
        # Only the 3-day-old signal: the 2-day-old one is exactly at the limit and stays.
        assert await apply_retention(rt) == 1
        assert await count(rt, select(func.count()).select_from(events)) == 3
    finally:
        await rt.close()
    unset = await build_runtime(settings)
    try:
        assert await apply_retention(unset) == 0
    finally:
        await unset.close()


# --- names in every form they are stored in (issue 14 item 6) ---------------------------

NFD_JOSE = unicodedata.normalize("NFD", "José Núñez")
NAMES = {
    "composed": ("José Núñez", "jose.nunez@acme.io"),
    "decomposed": (NFD_JOSE, "jose@acme.io"),
    "ampersand and apostrophe": ("Ann O'Neil & Sons", "ann.o'neil@acme.io"),
    "angle brackets and quotes": ('<Zed> "Quinn" Vale', "zed@acme.io"),
}


def spellings(text: str) -> set[str]:
    """`text` as Tipoff or its database could store it, case-folded: either Unicode
    normalisation, escaped for mrkdwn or HTML, escaped for JSON (ASCII or not)."""
    out = set()
    for form in (unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text)):
        out |= {
            form,
            escape(form),
            html.escape(form),
            json.dumps(form)[1:-1],
            json.dumps(form, ensure_ascii=False)[1:-1],
            json.dumps(escape(form))[1:-1],
        }
    return {s.casefold() for s in out}


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
        with contextlib.suppress(ValueError):
            if value[:1] in "[{":  # JSON kept as text
                yield from strings_in(json.loads(value))
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)


async def stored_text(runtime: Runtime) -> list[tuple[str, str]]:
    """Every string stored in any text or JSON column of any table, as (table.column,
    string): each value as the database holds it and, for JSON, every string in it."""
    found = []
    async with runtime.db.transaction() as conn:
        for table in metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, String | JSON):
                    continue
                rows = await conn.execute(select(cast(column, Text), column))
                for raw, value in rows:
                    where = f"{table.name}.{column.name}"
                    found += [(where, s) for s in (raw, *strings_in(value)) if s]
    return found


def naming(stored: list[tuple[str, str]], *texts: str) -> list[tuple[str, str]]:
    """The stored strings that contain any spelling of any of `texts`."""
    wanted = set().union(*(spellings(t) for t in texts))
    return [
        (where, s) for where, s in stored if any(w in form for w in wanted for form in spellings(s))
    ]


async def alerted_account(runtime: Runtime, name: str, email: str) -> int:
    """Acme, where `name` (VP Sales) and Sam Ortiz are active and the account alerted;
    Sam invited them (an event naming them), a trait names them as champion, the alert
    was posted to Slack and a rep said Wrong, naming them, in the other normalisation."""
    async with runtime.db.transaction() as conn:
        acme = await seed.account(
            conn, NOW, "acme.io", "Acme", employees=250, industry="Software",
            champion=f"{name} <{email}>",
        )  # fmt: skip
        them = await seed.person(conn, NOW, acme, name, email, "VP Sales")
        sam = await seed.person(conn, NOW, acme, "Sam Ortiz", "sam@acme.io", "Engineer")
        for days, who, event in [
            (1, them, "Core Action Completed"),
            (1, them, "Session Started"),
            (2, sam, "Session Started"),
            (3, them, "Session Started"),
            (2, them, "Demo Requested"),
        ]:
            await seed.signal(conn, NOW - timedelta(days=days), acme, who, event)
        await seed.signal(
            conn, NOW - timedelta(days=2), acme, sam, "Teammate Invited",
            invitee=email, invitee_name=name,
        )  # fmt: skip
    await rescore(runtime)
    assert (await deliver_pending_alerts(runtime, pace_seconds=0)).sent == 1
    async with runtime.db.transaction() as conn:
        posted = (await conn.execute(select(alerts.c.channel, alerts.c.ts, alerts.c.text))).one()
        typed = unicodedata.normalize(
            "NFD" if name == unicodedata.normalize("NFC", name) else "NFC", name
        )
        await feedback.record_verdict(
            conn=conn, account_id=acme, verdict=feedback.Verdict.WRONG, slack_user_id="U0REP",
            slack_user_name="rita", at=NOW, channel=posted.channel, ts=posted.ts,
            reason=f"Wrong contact — {typed} left, {email.upper()} bounces",
        )  # fmt: skip
    stored = await stored_text(runtime)
    for where in ("alerts.blocks", "scores.evidence", "scores.contact", "feedback.reason"):
        assert any(w == where for w, _ in naming(stored, name)), where
    return acme


@pytest.mark.parametrize(("name", "email"), NAMES.values(), ids=NAMES.keys())
async def test_forget_leaves_the_name_and_email_in_no_form_anywhere(
    slack_runtime: Runtime, fake_slack: FakeSlackApi, name: str, email: str
) -> None:
    await alerted_account(slack_runtime, name, email)

    erasure, slack = await privacy.forget(slack_runtime, email=email, requested_by="dpo")

    stored = await stored_text(slack_runtime)
    assert naming(stored, name, email) == []
    assert (erasure.alerts_scrubbed, erasure.scrubbed["feedback"]) == (1, 1)
    # Sam, on the same alert and in the same evidence, is still named.
    assert any(where == "alerts.blocks" for where, _ in naming(stored, "Sam Ortiz (Engineer)"))

    # The alert Slack shows is redrawn from the erased row, the Wrong verdict under it.
    assert (slack.configured, slack.updated, slack.left) == (True, 1, ())
    (update,) = fake_slack.calls_to("chat.update")
    (posted,) = erasure.posted
    assert (update.params["channel"], update.params["ts"]) == (posted.channel, posted.ts)
    shown = json.dumps(update.params, ensure_ascii=False)
    assert naming([("chat.update", shown)], name, email) == []
    assert "Sam Ortiz (Engineer)" in shown and "says Wrong" in shown and "[removed]" in shown


async def test_a_namesake_in_another_account_keeps_their_name(
    slack_runtime: Runtime, fake_slack: FakeSlackApi
) -> None:
    await alerted_account(slack_runtime, "José Núñez", "jose@acme.io")
    async with slack_runtime.db.transaction() as conn:
        await seed.hot_acme(conn, NOW, domain="initech.io", name="Initech")
        await conn.execute(
            update(people).where(people.c.email == "dana@initech.io").values(name="José Núñez")
        )
    await rescore(slack_runtime)
    await deliver_pending_alerts(slack_runtime, pace_seconds=0)

    await privacy.forget(slack_runtime, email="jose@acme.io", requested_by="dpo")

    named = {where for where, _ in naming(await stored_text(slack_runtime), "José Núñez")}
    assert {"people.name", "alerts.blocks", "scores.evidence"} <= named
    async with slack_runtime.db.transaction() as conn:
        blocks = (
            await conn.execute(
                select(alerts.c.blocks).join(accounts).where(accounts.c.domain == "initech.io")
            )
        ).scalar_one()
    assert "José Núñez (VP Engineering)" in json.dumps(blocks, ensure_ascii=False)
    assert len(fake_slack.calls_to("chat.update")) == 1  # only Acme's alert


async def test_a_posted_alert_slack_will_not_update_is_reported(
    slack_runtime: Runtime, fake_slack: FakeSlackApi
) -> None:
    await alerted_account(slack_runtime, "José Núñez", "jose@acme.io")
    async with slack_runtime.db.transaction() as conn:
        channel, ts = (await conn.execute(select(alerts.c.channel, alerts.c.ts))).one()
    fake_slack.fail_next("chat.update", error="message_not_found")

    erasure, slack = await privacy.forget(slack_runtime, email="jose@acme.io", requested_by="dpo")

    assert erasure.posted == (PostedMessage(channel, ts),)
    assert (slack.updated, slack.left) == (0, erasure.posted)
    assert slack.failed == ((erasure.posted[0], "message_not_found (HTTP 200)"),)
    assert naming(await stored_text(slack_runtime), "José Núñez", "jose@acme.io") == []


ERASE_IN_A_FRESH_INTERPRETER = """
import asyncio, json, sys
from tipoff import privacy
from tipoff.runtime import Runtime
from tipoff.startup import build_runtime
from tipoff.settings import Settings

async def erase(database_url, api_url, token, secret, email):
    settings = Settings(
        _env_file=None, database_url=database_url, slack_api_url=api_url,
        slack_bot_token=token, slack_signing_secret=secret,
    )
    runtime = await build_runtime(settings)
    try:
        _, slack = await privacy.forget(runtime, email=email, requested_by="dpo")
    finally:
        await runtime.close()
    return slack.updated

updated = asyncio.run(erase(*sys.argv[1:]))
print(json.dumps({"updated": updated, "modules": sorted(sys.modules)}))
"""


async def test_erasing_a_person_whose_alert_is_redrawn_in_slack_does_not_load_bolt(
    slack_runtime: Runtime, fake_slack: FakeSlackApi, db_url: str
) -> None:
    # Erasure is a service the command line runs: it redraws posted alerts through the
    # Slack Web API client, and needs nothing of Bolt, the Slack listeners' framework.
    await alerted_account(slack_runtime, "José Núñez", "jose@acme.io")
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", ERASE_IN_A_FRESH_INTERPRETER,
         db_url, fake_slack.url, BOT_TOKEN, SIGNING_SECRET, "jose@acme.io"],
        capture_output=True, text=True, timeout=120, check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TIPOFF_"))},
    )  # fmt: skip
    erased = json.loads(result.stdout.splitlines()[-1])
    assert erased["updated"] == 1 and len(fake_slack.calls_to("chat.update")) == 1
    assert "tipoff.privacy" in erased["modules"]
    assert not [m for m in erased["modules"] if m.split(".")[0] == "slack_bolt"]
    assert not [m for m in erased["modules"] if m.startswith("tipoff.slack_app.listeners")]


# --- forget while rescoring and delivery are under way (issue 19 item 7) ----------------


def said_in_slack(fake_slack: FakeSlackApi) -> str:
    """Every message posted or updated, as sent to Slack."""
    return json.dumps(
        [c.params for c in fake_slack.calls if c.method in ("chat.postMessage", "chat.update")]
    )


async def test_a_rescore_that_read_before_forget_and_writes_after_queues_nothing_naming_them(
    slack_runtime: Runtime, fake_slack: FakeSlackApi
) -> None:
    rt = slack_runtime
    async with rt.db.transaction() as conn:
        await seed.hot_acme(conn, NOW)  # hot through Dana Lee, VP Engineering
    erasure: list[asyncio.Future[Any] | None] = []

    def forget_before_the_write(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        """Runs `tipoff forget` once the rescore has read and scored the account and is
        about to write: on SQLite before it takes the write lock (the lock statement); on
        PostgreSQL, where it holds the account's row lock from the start, beside it."""
        if erasure or not statement.startswith(
            ("UPDATE accounts SET id=accounts.id", "INSERT INTO scores")
        ):
            return
        forgetting = privacy.forget(rt, email="dana@acme.io", requested_by="dpo")
        if rt.db.dialect == "sqlite":
            erasure.append(None)
            await_only(forgetting)  # commits before the rescore goes on
        else:
            erasure.append(asyncio.ensure_future(forgetting))  # waits for the row lock

    sa_event.listen(rt.db.engine.sync_engine, "before_cursor_execute", forget_before_the_write)
    try:
        await rescore(rt)
    finally:
        sa_event.remove(rt.db.engine.sync_engine, "before_cursor_execute", forget_before_the_write)
    assert erasure, "the rescore never wrote"
    if erasure[0] is not None:
        await erasure[0]

    await rescore(rt)  # the account is scored again, without her
    await deliver_pending_alerts(rt)
    async with rt.db.transaction() as conn:
        stored = json.dumps(
            [[*row] for table in (alerts, scores) for row in await conn.execute(select(table))],
            default=str,
        )
    assert "Dana" not in stored and "Dana" not in said_in_slack(fake_slack)


async def test_an_alert_posted_while_forget_runs_is_updated_in_slack_at_once(
    slack_runtime: Runtime, fake_slack: FakeSlackApi
) -> None:
    rt = slack_runtime
    async with rt.db.transaction() as conn:
        await seed.hot_acme(conn, NOW)
    assert (await rescore(rt)).alerts_queued == 1
    released = fake_slack.hold("chat.postMessage")
    delivery = asyncio.ensure_future(deliver_pending_alerts(rt))
    [on_its_way] = await fake_slack.wait_for("chat.postMessage")  # sent, not yet answered
    _, slack = await privacy.forget(rt, email="dana@acme.io", requested_by="dpo")
    assert slack.updated == 0  # not posted yet, as far as the database knows
    released.set()
    assert (await delivery).sent == 1

    assert "Dana Lee" in json.dumps(on_its_way.params)  # it left before the erasure
    [update_] = fake_slack.calls_to("chat.update")
    assert "Dana" not in json.dumps(update_.params) and "[removed]" in json.dumps(update_.params)
    async with rt.db.transaction() as conn:
        sent = (await conn.execute(select(alerts.c.channel, alerts.c.ts))).one()
    assert (update_.params["channel"], update_.params["ts"]) == tuple(sent)


async def test_an_alert_claimed_before_forget_and_posted_after_never_names_them(
    slack_runtime: Runtime, fake_slack: FakeSlackApi
) -> None:
    rt = slack_runtime
    async with rt.db.transaction() as conn:
        acme = await seed.hot_acme(conn, NOW)
        await conn.execute(
            update(accounts)
            .where(accounts.c.id == acme)
            .values(traits={"owner_email": "kim@ours.com"})
        )
    fake_slack.users["kim@ours.com"] = "U0KIMREP01"
    assert (await rescore(rt)).alerts_queued == 1
    # Delivery claims the alert, then looks its owner up in Slack before posting to her DM.
    released = fake_slack.hold("users.lookupByEmail")
    delivery = asyncio.ensure_future(deliver_pending_alerts(rt))
    await fake_slack.wait_for("users.lookupByEmail")
    await privacy.forget(rt, email="dana@acme.io", requested_by="dpo")
    released.set()
    assert (await delivery).sent == 1

    [posted] = fake_slack.calls_to("chat.postMessage")
    assert "[removed]" in json.dumps(posted.params)
    assert "Dana" not in said_in_slack(fake_slack)
