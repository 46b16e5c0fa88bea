"""Who may see account data in Slack, and where alerts may be posted.

Lookups, the App Home and alerts name contacts and their emails. Tipoff shows them to the
full members of the organisation it is installed in: the people of its own workspace and,
on Enterprise Grid, of any workspace of the same enterprise (`enterprise_id`). Guests
(`is_restricted`: multi-channel, `is_ultra_restricted`: single-channel) and people of
another organisation (Slack Connect) get a short note instead, and their clicks store
nothing. A request that names no workspace at all is nobody's.

An alert is not posted into a channel shared with another organisation (`is_ext_shared`,
or `is_pending_ext_shared` while the invitation is open: once accepted, the other side
reads the history too) unless TIPOFF_ALERT_SHARED_CHANNELS says it may; refused, it is
marked failed like any permanent Slack refusal (see tipoff.slack.failures). A channel
shared only within the enterprise (`is_org_shared`) is ours.

What Slack said about a person or a channel is kept for CACHE_FOR, so a busy channel or
a rep clicking through alerts costs one users.info or conversations.info, not one a
request: `user_change` events replace a person at once, `channel_shared` and
`channel_unshared` drop a channel, and the time limit covers a missed event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tipoff.slack.blocks import OUTSIDER_NOTE, outsider_home_view
from tipoff.slack.failures import SLACK_CALL_ERRORS, FailureKind, Refused, failure_of

if TYPE_CHECKING:  # Bolt is imported by the Slack edge only: the CLI starts without it
    from slack_bolt.async_app import AsyncBoltContext
    from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

CACHE_FOR = timedelta(minutes=5)
_OUTAGES = (FailureKind.TRANSIENT, FailureKind.RATE_LIMITED)

# Tipoff's own refusal code, recorded as an alert's failure_reason (FIXES says why).
EXTERNALLY_SHARED = "channel_externally_shared"


@dataclass(frozen=True, slots=True)
class SlackPerson:
    id: str
    team_id: str | None
    enterprise_id: str | None
    guest: bool  # is_restricted or is_ultra_restricted


@dataclass(frozen=True, slots=True)
class SlackChannel:
    id: str
    external: bool  # shared, or being shared, with another organisation


def person_of(user: Mapping[str, Any]) -> SlackPerson:
    """A users.info (or user_change) `user` object as Tipoff needs it. On Grid the
    person's organisation is `enterprise_user.enterprise_id`."""
    enterprise = user.get("enterprise_user")
    enterprise_id = enterprise.get("enterprise_id") if isinstance(enterprise, Mapping) else None
    return SlackPerson(
        id=str(user.get("id") or ""),
        team_id=str(user["team_id"]) if user.get("team_id") else None,
        enterprise_id=str(enterprise_id) if enterprise_id else None,
        guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
    )


def channel_of(channel: Mapping[str, Any]) -> SlackChannel:
    """A conversations.info (or conversations.list) `channel` object as Tipoff needs it."""
    return SlackChannel(
        id=str(channel.get("id") or ""),
        external=bool(channel.get("is_ext_shared") or channel.get("is_pending_ext_shared")),
    )


def one_of_ours(person: SlackPerson, *, team_id: str, enterprise_id: str | None) -> bool:
    """Whether `person` may see account data: a full member of our workspace, or of
    another workspace of our enterprise."""
    if person.guest:
        return False
    if person.team_id is not None and person.team_id == team_id:
        return True
    return enterprise_id is not None and person.enterprise_id == enterprise_id


async def deactivated(slack: AsyncWebClient, user_id: str) -> bool:
    """Whether Slack says `user_id` is deactivated (`deleted`) or no longer exists
    (users.info's `user_not_found`); any other failure is raised. Asked afresh, not
    through an Audience's cache: a deactivation must not wait out CACHE_FOR."""
    try:
        found = await slack.users_info(user=user_id)
    except SlackApiError as exc:
        if exc.response.get("error") != "user_not_found":
            raise
        return True
    return bool((found.get("user") or {}).get("deleted"))


@dataclass
class Audience:
    """What Slack said about people and channels, each kept for CACHE_FOR."""

    people: dict[str, tuple[SlackPerson, datetime]] = field(default_factory=dict)
    channels: dict[str, tuple[SlackChannel, datetime]] = field(default_factory=dict)

    async def person(self, slack: AsyncWebClient, user_id: str, *, now: datetime) -> SlackPerson:
        """Who `user_id` is. While Slack cannot be asked (an outage), what it said last
        stands; about someone it was never asked about, the error is raised: nobody
        unknown sees account data."""
        kept = self.people.get(user_id)
        if kept is not None and now - kept[1] < CACHE_FOR:
            return kept[0]
        try:
            found = await slack.users_info(user=user_id)
        except SLACK_CALL_ERRORS as exc:
            if kept is None or failure_of(exc).kind not in _OUTAGES:
                raise
            log.warning("users.info failed (%s); %s is as Slack said before", exc, user_id)
            return kept[0]
        return self.remember_person(found.get("user") or {"id": user_id}, now=now)

    def remember_person(self, user: Mapping[str, Any], *, now: datetime) -> SlackPerson:
        person = person_of(user)
        if person.id:
            self.people[person.id] = (person, now)
        return person

    async def channel(self, slack: AsyncWebClient, channel: str, *, now: datetime) -> SlackChannel:
        """`channel` (an ID, or a name as TIPOFF_ALERT_CHANNEL may give it) as Slack
        describes it. conversations.info takes IDs only: a name is found with
        conversations.list, which describes each channel as well. Raises Refused
        (channel_not_found) for a name Slack lists no channel by, as chat.postMessage
        would refuse it."""
        kept = self.channels.get(channel)
        if kept is not None and now - kept[1] < CACHE_FOR:
            return kept[0]
        if _is_id(channel):
            found = channel_of((await slack.conversations_info(channel=channel))["channel"])
        else:
            found = await _listed(slack, channel.removeprefix("#"))
        self.channels[channel] = (found, now)
        return found

    def forget_channel(self, channel_id: str) -> None:
        """Drops what is known of a channel (its sharing changed): asked again next time."""
        for key, (kept, _) in list(self.channels.items()):
            if key == channel_id or kept.id == channel_id:
                del self.channels[key]

    async def check_channel(
        self, slack: AsyncWebClient, channel: str, *, allow_external: bool, now: datetime
    ) -> None:
        """Raises Refused unless an alert may be posted into `channel`. A DM (D…) is
        with one of our people, an owner: not asked about (that would need im:read)."""
        if allow_external or channel.startswith("D"):
            return
        if (await self.channel(slack, channel, now=now)).external:
            raise Refused(EXTERNALLY_SHARED)


def _is_id(channel: str) -> bool:
    return channel[:1] in ("C", "G") and channel.isalnum() and channel.isupper()


async def _listed(slack: AsyncWebClient, name: str) -> SlackChannel:
    cursor: str | None = None
    while True:
        page = await slack.conversations_list(
            types="public_channel,private_channel",
            exclude_archived=True,
            limit=1000,
            cursor=cursor,
        )
        for channel in page.get("channels") or []:
            if channel.get("name") == name:
                return channel_of(channel)
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if cursor is None:
            raise Refused("channel_not_found")


# --- the Bolt middleware ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Requester:
    team_id: str | None  # the workspace the request says the person is from
    enterprise_id: str | None
    user_id: str | None  # None for events about no one in particular (app_uninstalled)


def requester_of(body: Mapping[str, Any]) -> Requester:
    """Who is behind a request: a click's or submission's `user` (in a Slack Connect
    channel its `team_id` differs from `team.id`), the user of an event about a user or
    of app_home_opened, or a command's `user_id`; with their workspace and enterprise."""
    enterprise = body.get("enterprise")
    enterprise_id = body.get("enterprise_id") or (
        enterprise.get("id") if isinstance(enterprise, Mapping) else None
    )
    team = body.get("team_id")
    if not team and isinstance(body.get("team"), Mapping):
        team = body["team"].get("id")
    user_id = body.get("user_id")
    user = body.get("user")
    event = body.get("event")
    if isinstance(user, Mapping):
        team, user_id = user.get("team_id"), user.get("id")
    elif isinstance(event, Mapping) and isinstance(event.get("user"), Mapping):
        team, user_id = event["user"].get("team_id"), None  # a user_change: about, not by
    elif isinstance(event, Mapping) and event.get("type") == "app_home_opened":
        user_id = event.get("user")
    return Requester(
        str(team) if team else None,
        str(enterprise_id) if enterprise_id else None,
        str(user_id) if user_id else None,
    )


def only_our_people(
    audience: Audience, clock: Callable[[], datetime]
) -> Callable[..., Awaitable[BoltResponse | None]]:
    """Bolt middleware: requests from anyone but our full members go no further (see
    the module docstring). A command gets OUTSIDER_NOTE, an App Home a view saying it,
    anything else an empty 200 (Slack must not retry it); nothing is stored."""

    async def middleware(
        body: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
        next: Callable[[], Awaitable[None]],
    ) -> BoltResponse | None:
        authorized = context.authorize_result
        ours = authorized.team_id if authorized else None
        our_enterprise = authorized.enterprise_id if authorized else None
        asking = requester_of(body)
        if ours is None or asking.team_id is None:
            log.info("ignored a Slack request that names no workspace")
            return _refused(body)
        if asking.user_id is None:  # an event about the workspace or a user, by no one
            if asking.team_id == ours or (
                our_enterprise and asking.enterprise_id == our_enterprise
            ):
                await next()
                return None
            log.info(
                "ignored a Slack event from workspace %s (Tipoff serves %s)", asking.team_id, ours
            )
            return _refused(body)
        if asking.team_id != ours and not our_enterprise:
            # Another organisation's person: no need to ask Slack who they are.
            log.info(
                "ignored a Slack request from workspace %s (Tipoff serves %s)", asking.team_id, ours
            )
            return _refused(body)
        person = await audience.person(client, asking.user_id, now=clock())
        if one_of_ours(person, team_id=ours, enterprise_id=our_enterprise):
            await next()
            return None
        log.info(
            "ignored a Slack request from %s (%s of workspace %s)",
            asking.user_id,
            "a guest" if person.guest else "not a member",
            person.team_id,
        )
        if _event_type(body) == "app_home_opened":
            await client.views_publish(user_id=asking.user_id, view=outsider_home_view())
        return _refused(body)

    return middleware


def _event_type(body: Mapping[str, Any]) -> str | None:
    event = body.get("event")
    return str(event.get("type")) if isinstance(event, Mapping) else None


def _refused(body: Mapping[str, Any]) -> BoltResponse:
    from slack_bolt.response import BoltResponse

    if "command" in body:
        note = {"response_type": "ephemeral", "text": OUTSIDER_NOTE}
        return BoltResponse(
            status=200, body=json.dumps(note), headers={"content-type": "application/json"}
        )
    return BoltResponse(status=200, body="")
