"""The daily digest: once a day per alert channel, at TIPOFF_DIGEST_AT in
TIPOFF_DIGEST_TIME_ZONE, the accounts that entered or left the alerting tracks over the
last day, the top movers, and the alerts nobody has claimed.

A row of `digests` (channel, local day) is written before the digest is posted, so a
restart, a second run or another replica never sends one twice; it is removed again when
Slack could not take the post just now (an outage, a rate limit, a dead token), so the
digest is retried on the next run. A refusal that cannot succeed (channel_not_found,
is_archived …) keeps the row, so it is not retried every minute, and is recorded for
/healthz, /metrics and `tipoff alerts`. A day with nothing to report sends nothing (no
noise) but still counts as done.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from tipoff.alerts.outbox import Posted, post_or_record
from tipoff.core.history import account_label
from tipoff.core.routing import Track, alert_channel
from tipoff.runtime import Runtime
from tipoff.slack import blocks
from tipoff.slack.install_state import may_post
from tipoff.store.accounts import routed_accounts
from tipoff.store.alerts import unclaimed_alerts
from tipoff.store.digests import forget_digest, take_digest
from tipoff.store.scores import score_as_of, scores_between

log = logging.getLogger(__name__)

MOVERS = 5
UNCLAIMED_DAYS = 7


@dataclass
class Digest:
    """What one channel's digest says (account labels with scores, best first)."""

    entered: list[blocks.DigestLine] = field(default_factory=list)
    left: list[blocks.DigestLine] = field(default_factory=list)
    movers: list[blocks.DigestLine] = field(default_factory=list)
    unclaimed: list[blocks.DigestLine] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.entered or self.left or self.movers or self.unclaimed)


async def send_digests(runtime: Runtime) -> list[str]:
    """Sends today's digest to each alert channel once it is time; the channels posted to."""
    if runtime.slack is None:
        return []
    settings = runtime.settings
    now = runtime.clock()
    local = now.astimezone(ZoneInfo(settings.digest_time_zone))
    if local.time() < time.fromisoformat(settings.digest_at):
        return []
    day = local.date().isoformat()
    if not await may_post(runtime):
        return []
    built = await _build(runtime, now)
    posted = []
    for channel in _channels(runtime):
        if not await _take(runtime, channel, day, now):
            continue
        digest = built.get(channel)
        if not digest:
            continue
        message = blocks.digest_message(
            entered=digest.entered,
            left=digest.left,
            movers=digest.movers,
            unclaimed=digest.unclaimed,
            day=day,
        )
        outcome = await post_or_record(
            runtime,
            kind="digest",
            subject=day,
            channel=channel,
            undo=functools.partial(forget_digest, channel=channel, day=day),
            text=message.text,
            blocks=message.blocks,
        )
        if outcome is Posted.PAUSED:
            break
        if outcome is not Posted.YES:
            continue
        posted.append(channel)
    return posted


def _channels(runtime: Runtime) -> list[str]:
    routing = runtime.model.routing
    found = [runtime.settings.alert_channel, *routing.channels.values()]
    found += [s.channel for s in routing.segments]
    return list(dict.fromkeys(found))


async def _take(runtime: Runtime, channel: str, day: str, now: datetime) -> bool:
    """Marks today's digest for `channel` as sent; False when it already was."""
    async with runtime.db.transaction() as conn:
        return await take_digest(conn, channel=channel, day=day, at=now)


async def _build(runtime: Runtime, now: datetime) -> dict[str, Digest]:
    routing = runtime.model.routing
    default = runtime.settings.alert_channel
    since = now - timedelta(days=1)
    async with runtime.db.transaction() as conn:
        recent = await scores_between(conn, since=since, until=now)
        changed = sorted({r.account_id for r in recent})
        before: dict[int, tuple[int, str]] = {}
        for account_id in changed:
            found = await score_as_of(conn, account_id, since)
            if found is not None:
                before[account_id] = found
        waiting = await unclaimed_alerts(conn, sent_after=now - timedelta(days=UNCLAIMED_DAYS))
        info = await routed_accounts(conn, sorted(set(changed) | {r.account_id for r in waiting}))

    def channel_for(account_id: int, *tracks: str) -> str:
        alerting = [Track(t) for t in tracks if Track(t).alerts]
        if not alerting:
            return default
        a = info[account_id]
        return alert_channel(
            max(alerting, key=lambda t: t.rank),
            employees=a.employees,
            region=a.region,
            routing=routing,
            default=default,
        )

    def line(account_id: int, score: int, track: str, change: int = 0) -> blocks.DigestLine:
        a = info[account_id]
        return blocks.DigestLine(account_label(account_id, a.name, a.domain), score, track, change)

    out: dict[str, Digest] = {}
    latest: dict[int, tuple[int, str]] = {}
    for r in recent:
        latest[r.account_id] = (r.score, r.track)
    for account_id, (score, track) in latest.items():
        old_score, old_track = before.get(account_id, (0, Track.LOW_TOUCH.value))
        digest = out.setdefault(channel_for(account_id, track, old_track), Digest())
        was, now_alerting = Track(old_track).alerts, Track(track).alerts
        if now_alerting and (not was or Track(track).rank > Track(old_track).rank):
            digest.entered.append(line(account_id, score, track))
        elif was and not now_alerting:
            digest.left.append(line(account_id, score, track))
        if score != old_score:
            digest.movers.append(line(account_id, score, track, score - old_score))
    seen: set[int] = set()
    for w in waiting:
        if w.account_id in seen:
            continue
        seen.add(w.account_id)
        out.setdefault(channel_for(w.account_id, w.track), Digest()).unclaimed.append(
            line(w.account_id, w.score, w.track)
        )
    for digest in out.values():
        digest.entered.sort(key=lambda d: -d.score)
        digest.left.sort(key=lambda d: -d.score)
        digest.movers.sort(key=lambda d: (-abs(d.change), -d.score))
        del digest.movers[MOVERS:]
    return out
