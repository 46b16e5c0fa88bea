"""The demo's Atlas Mutual, through the real edges: its score and the parts shown with it
add up, in `/tipoff` (a signed command into the real Bolt app), the alert posted to Slack
and `tipoff score` (text and JSON). Rounded separately they read 80 over 0 + 78 + 3 + 0."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import NOW
from tests.fakes.signing import slash_command
from tests.fakes.slack_bot import slack_bot
from tests.integration.test_cli import tipoff
from tipoff.alerts.delivery import deliver_pending_alerts
from tipoff.demo.sample_history import load_history, segment_batches
from tipoff.scores.rescoring import rescore
from tipoff.settings import Settings
from tipoff.sources import create_source

POINTS = re.compile(r"\(([-+]\d+|0)\)$", re.MULTILINE)


def dimensions(blocks: list[dict[str, Any]]) -> list[int]:
    (fields,) = [b["fields"] for b in blocks if "fields" in b]
    return [int(f["text"].split("\n")[1]) for f in fields]


def evidence(blocks: list[dict[str, Any]], heading: str) -> list[int]:
    (text,) = [
        b["text"]["text"]
        for b in blocks
        if b.get("type") == "section" and "text" in b and b["text"]["text"].startswith(heading)
    ]
    return [int(p) for p in POINTS.findall(text)]


async def test_atlas_mutual_shows_parts_that_add_up_to_its_score(
    settings: Settings, tmp_path: Path
) -> None:
    async with slack_bot(settings, now=NOW) as bot:
        async with bot.runtime.db.transaction() as conn:
            key = (await create_source(conn=conn, name="demo", now=NOW)).write_key
        for batch in segment_batches(load_history(), now=NOW):
            answer = await bot.http.post("/v1/batch", json=batch, auth=httpx.BasicAuth(key, ""))
            assert answer.status_code == 200, answer.text
        await rescore(bot.runtime)

        lookup = (await bot.send(slash_command("atlasmutual.com"))).json()
        assert lookup["text"] == "Atlas Mutual Insurance: 80 (sales-ready)"
        assert dimensions(lookup["blocks"]) == [0, 78, 2, 0]  # was 0, +78, +3, 0
        assert sum(evidence(lookup["blocks"], "*Evidence*")) == 80

        await deliver_pending_alerts(bot.runtime, pace_seconds=0)
        (alert,) = [
            c.params
            for c in bot.fake.calls_to("chat.postMessage")
            if "Atlas Mutual" in c.params["text"]
        ]
        assert alert["text"].endswith("— 80")
        assert sum(dimensions(alert["blocks"])) == 80
        assert dimensions(alert["blocks"]) == [0, 78, 2, 0]

    # The command line reads the same database (now its own clock: the points decay, and
    # still add up).
    env = {"DATABASE_URL": settings.database_url}
    as_json = json.loads(tipoff(tmp_path, "score", "atlasmutual.com", "--json", env=env).stdout)
    assert sum(as_json["dimensions"].values()) == as_json["score"]
    assert sum(line["points"] for line in as_json["evidence"]) == as_json["score"]
    text = tipoff(tmp_path, "score", "atlasmutual.com", env=env).stdout.splitlines()
    score = int(re.search(r"— (\d+),", text[0]).group(1))  # type: ignore[union-attr]
    parts = [int(p) for p in re.findall(r"[-+]\d+", text[1])]
    lines = [int(line.split()[0]) for line in text[2:] if re.match(r"\s+[-+]\d+\s", line)]
    assert sum(parts) == score == sum(lines)
