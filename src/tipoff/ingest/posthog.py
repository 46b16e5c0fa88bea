"""PostHog's HTTP Webhook destination, default body `{"event": {event}, "person": {person}}`,
as the Segment calls Tipoff stores.

One PostHog event becomes, in this order:
- an identify with the person's email, name and title (`person.properties`, the event's
  `$set` over them), when it has any. Its messageId is derived from the id and those
  traits, so it is stored once and again only when they change;
- an alias for `$identify` (`$anon_distinct_id` → `distinct_id`) and `$create_alias`;
- a group: `$groupidentify` of the account group type with its `$group_set` traits, or,
  for any other event with an account, the person's membership (stored once);
- the signal itself, a track named as in PostHog (`$pageview`, `demo_request_submitted`)
  with its properties, messageId the event's `uuid`, unless it is one of PostHog's identity
  events. The model's `event_names` then give it Tipoff's name (`$pageview /pricing`).

The account is PostHog's first group type: `$group_0`, which PostHog sets from `$groups`
(or the only entry of `$groups`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, ValidationError

from tipoff.errors import InvalidInput
from tipoff.ingest.segment import (
    CallKind,
    Id,
    Properties,
    SegmentCall,
    SegmentTime,
    Text,
    invalid_payload,
    none_to_empty,
    parse_call,
)

# PostHog's own events about who someone is; not signals of what they did.
IDENTITY_EVENTS = frozenset(
    {"$identify", "$set", "$groupidentify", "$create_alias", "$merge_dangerously"}
)
# person property → identify trait, first present wins.
_PERSON_TRAITS = {
    "email": ("email", "$email"),
    "name": ("name", "$name"),
    "firstName": ("first_name", "firstName"),
    "lastName": ("last_name", "lastName"),
    "title": ("title", "job_title", "jobTitle"),
}


class _Loose(BaseModel):
    # PostHog adds fields over time (elements_chain, url, …): accepted and not read.
    model_config = ConfigDict(extra="ignore", frozen=True)


class PostHogEvent(_Loose):
    uuid: Id
    event: Annotated[Text, StringConstraints(min_length=1, max_length=255)]
    distinct_id: Id
    properties: Properties = {}
    timestamp: SegmentTime | None = None


class PostHogPerson(_Loose):
    properties: Properties = {}


class PostHogWebhook(_Loose):
    event: PostHogEvent
    person: Annotated[PostHogPerson | None, BeforeValidator(none_to_empty)] = None


def parse_posthog(body: dict[str, Any]) -> list[SegmentCall]:
    """The calls one PostHog webhook body stands for (see the module docstring)."""
    try:
        payload = PostHogWebhook.model_validate(body)
    except ValidationError as exc:
        raise invalid_payload(exc) from None
    event = payload.event
    properties = event.properties
    common: dict[str, Any] = {"userId": event.distinct_id}
    if event.timestamp is not None:
        common["timestamp"] = event.timestamp.isoformat()
    calls: list[tuple[CallKind, dict[str, Any]]] = []

    traits = person_traits(payload.person, properties)
    if traits:
        message_id = "posthog-person-" + _digest(event.distinct_id, traits)
        calls.append(("identify", {**common, "messageId": message_id, "traits": traits}))

    previous = _previous_id(event.event, properties)
    if previous is not None and previous != event.distinct_id:
        calls.append(
            ("alias", {**common, "messageId": f"{event.uuid}-alias", "previousId": previous})
        )

    account = account_key(properties)
    if event.event == "$groupidentify":
        if account is not None and properties.get("$group_key") == account:
            group_traits = properties.get("$group_set")
            calls.append(
                (
                    "group",
                    {
                        **common,
                        "messageId": event.uuid,
                        "groupId": account,
                        "traits": group_traits if isinstance(group_traits, dict) else {},
                    },
                )
            )
    elif account is not None:
        message_id = "posthog-member-" + _digest(event.distinct_id, account)
        calls.append(("group", {**common, "messageId": message_id, "groupId": account}))

    if event.event not in IDENTITY_EVENTS:
        track: dict[str, Any] = {
            **common,
            "messageId": event.uuid,
            "event": event.event,
            "properties": properties,
        }
        if account is not None:
            track["context"] = {"groupId": account}
        calls.append(("track", track))
    return [_as_call(kind, call) for kind, call in calls]


def _as_call(kind: CallKind, call: dict[str, Any]) -> SegmentCall:
    try:
        return parse_call(kind, call)
    except InvalidInput as error:
        raise InvalidInput(
            f"the PostHog event as a {kind} call: {error.message}", code=error.code
        ) from None


def person_traits(person: PostHogPerson | None, properties: dict[str, Any]) -> dict[str, str]:
    """The identify traits Tipoff reads, from the person's properties and the event's
    `$set` (newer). Only text values: PostHog properties can hold anything."""
    merged: dict[str, Any] = dict(person.properties) if person is not None else {}
    updates = properties.get("$set")
    if isinstance(updates, dict):
        merged.update(updates)
    traits: dict[str, str] = {}
    for trait, keys in _PERSON_TRAITS.items():
        for key in keys:
            value = merged.get(key)
            if isinstance(value, str) and value.strip():
                traits[trait] = value.strip()
                break
    return traits


def account_key(properties: dict[str, Any]) -> str | None:
    """The event's account: PostHog's first group type (`$group_0`)."""
    key = properties.get("$group_0")
    if key is None:
        groups = properties.get("$groups")
        if isinstance(groups, dict) and len(groups) == 1:
            key = next(iter(groups.values()))
    if isinstance(key, int) and not isinstance(key, bool):
        key = str(key)
    return key if isinstance(key, str) and key.strip() else None


def _previous_id(event: str, properties: dict[str, Any]) -> str | None:
    key = {"$identify": "$anon_distinct_id", "$create_alias": "alias"}.get(event)
    value = properties.get(key) if key else None
    return value if isinstance(value, str) and value else None


def _digest(*parts: object) -> str:
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
