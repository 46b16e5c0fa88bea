"""Block Kit layouts: pure functions of plain data. Nothing here talks to Slack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tipoff.core.history import AccountHistory
from tipoff.core.scoring import ScoreResult

Block = dict[str, Any]

HEADLINES = {
    "hot": "{name} is hot — {score}",
    "sales-ready": "{name} is ready — {score}",
}


@dataclass(frozen=True, slots=True)
class SlackMessage:
    text: str  # the notification and screen-reader fallback
    blocks: list[Block]


def alert_message(account: AccountHistory, result: ScoreResult, *, now: datetime) -> SlackMessage:
    """The alert posted when an account enters an alerting track."""
    headline = HEADLINES.get(result.track.value, "{name}: {score}").format(
        name=account.label, score=result.score
    )
    d = result.dimensions
    lines = [e for e in result.evidence if e.points != 0][:5]
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Fit {d.fit:+.0f} · Product {d.product:+.0f} · "
                    f"Marketing {d.marketing:+.0f} · Timing {d.timing:+.0f}",
                }
            ],
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "\n".join(f"• {e.text} ({e.points:+.0f})" for e in lines),
            },
        },
    ]
    if result.contact is not None:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*Contact first:* {result.contact.label}"},
            }
        )
    return SlackMessage(text=headline, blocks=blocks)
