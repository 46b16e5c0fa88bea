"""Segment payloads: validation, naming, context merging, time, bodies. Pure, no I/O."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tipoff.errors import InvalidInput, TooLarge
from tipoff.ingest.segment import (
    MAX_EVENT_BYTES,
    Alias,
    Group,
    Identify,
    Page,
    Screen,
    Track,
    decode_json,
    gunzip,
    merge_context,
    occurred_at,
    page_event_name,
    parse_batch,
    parse_call,
    screen_event_name,
    write_key_in_body,
)

RECEIVED = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


# ------------------------------------------------------------------ time


@pytest.mark.parametrize(
    ("timestamp", "sent_at", "expected"),
    [
        # No timestamp: the time received.
        (None, None, RECEIVED),
        (None, RECEIVED - minutes(3), RECEIVED),
        # A timestamp alone is taken as it is (back-filled history).
        (RECEIVED - timedelta(days=30), None, RECEIVED - timedelta(days=30)),
        # The client clock is 2 h slow; the event was made 10 min before it was sent.
        (RECEIVED - minutes(130), RECEIVED - minutes(120), RECEIVED - minutes(10)),
        # The client clock is 2 h fast: same answer.
        (RECEIVED + minutes(110), RECEIVED + minutes(120), RECEIVED - minutes(10)),
        # A timestamp after sentAt would be in the future once corrected: clamped.
        (RECEIVED + minutes(5), RECEIVED, RECEIVED),
        # So is a future timestamp without sentAt.
        (RECEIVED + timedelta(days=1), None, RECEIVED),
    ],
)
def test_occurred_at(
    timestamp: datetime | None, sent_at: datetime | None, expected: datetime
) -> None:
    assert occurred_at(timestamp=timestamp, sent_at=sent_at, received_at=RECEIVED) == expected


def test_a_call_reports_when_it_happened_with_its_own_or_the_batch_sent_at() -> None:
    [own, inherited, original] = parse_batch(
        {
            "sentAt": "2026-11-20T13:00:00Z",
            "batch": [
                {
                    "type": "track",
                    "userId": "u",
                    "event": "A",
                    "timestamp": "2026-11-20T12:59:00Z",
                    "sentAt": "2026-11-20T13:01:00Z",
                },
                {"type": "track", "userId": "u", "event": "B", "timestamp": "2026-11-20T12:58:00Z"},
                # Segment's originalTimestamp stands in for a missing timestamp.
                {
                    "type": "track",
                    "userId": "u",
                    "event": "C",
                    "originalTimestamp": "2026-11-20T12:57:00+00:00",
                },
            ],
        }
    )
    assert own.occurred_at(RECEIVED) == RECEIVED - minutes(2)
    assert inherited.occurred_at(RECEIVED) == RECEIVED - minutes(2)
    assert original.occurred_at(RECEIVED) == RECEIVED - minutes(3)


def test_timestamps_without_an_offset_are_utc_and_offsets_are_honoured() -> None:
    naive = parse_call("track", {"userId": "u", "event": "x", "timestamp": "2026-01-02T03:04:05"})
    offset = parse_call(
        "track", {"userId": "u", "event": "x", "timestamp": "2026-01-02T05:04:05+02:00"}
    )
    assert naive.timestamp == offset.timestamp == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


# ------------------------------------------------------------------ naming and context


@pytest.mark.parametrize(
    ("name", "page", "screen"),
    [
        ("Pricing", "Pricing Page Viewed", "Pricing Screen Viewed"),
        ("  Pricing ", "Pricing Page Viewed", "Pricing Screen Viewed"),
        (None, "Page Viewed", "Screen Viewed"),
        ("", "Page Viewed", "Screen Viewed"),
    ],
)
def test_views_are_named_after_the_page_or_screen(name: str | None, page: str, screen: str) -> None:
    assert page_event_name(name) == page
    assert screen_event_name(name) == screen


def test_page_and_screen_calls_carry_their_signal_name() -> None:
    page = parse_call("page", {"anonymousId": "a", "name": "Docs", "properties": {"url": "/d"}})
    screen = parse_call("screen", {"anonymousId": "a", "name": "Home"})
    assert isinstance(page, Page)
    assert isinstance(screen, Screen)
    assert (page.event_name, page.properties_json) == ("Docs Page Viewed", {"url": "/d"})
    assert screen.event_name == "Home Screen Viewed"


def test_item_context_keys_win_over_the_batch_context() -> None:
    batch = {"groupId": "g-batch", "ip": "203.0.113.1"}
    assert merge_context(batch, {"groupId": "g-item"}) == {"groupId": "g-item", "ip": "203.0.113.1"}
    assert merge_context(batch, None) == batch
    assert merge_context({}, {"a": 1}) == {"a": 1}
    assert merge_context(batch, "not an object") == "not an object"


def test_a_batch_context_reaches_every_item() -> None:
    first, second = parse_batch(
        {
            "context": {"groupId": "ws-1", "library": {"name": "x"}},
            "batch": [
                {"type": "track", "userId": "u", "event": "A"},
                {"type": "track", "userId": "u", "event": "B", "context": {"groupId": 42}},
            ],
        }
    )
    assert first.context_group_id == "ws-1"
    assert second.context_group_id == "42"
    assert second.context == {"groupId": 42, "library": {"name": "x"}}


# ------------------------------------------------------------------ calls


def test_unknown_fields_are_accepted_and_numeric_ids_become_strings() -> None:
    call = parse_call(
        "track",
        {
            "userId": 1234,
            "anonymousId": "",
            "event": "Signed Up",
            "integrations": {"All": True},
            "channel": "server",
            "type": "identify",  # the endpoint decides the type
        },
    )
    assert isinstance(call, Track)
    assert (call.type, call.user_id, call.anonymous_id) == ("track", "1234", None)


def test_a_missing_message_id_is_generated_uniquely() -> None:
    calls = [
        parse_call("track", {"userId": "u", "event": "x"}),
        parse_call("track", {"userId": "u", "event": "x", "messageId": None}),
        parse_call("track", {"userId": "u", "event": "x", "messageId": ""}),
    ]
    ids = [c.message_id for c in calls]
    assert len(set(ids)) == 3
    assert all(i.startswith("tipoff-") for i in ids)
    assert parse_call("track", {"userId": "u", "event": "x", "messageId": 7}).message_id == "7"


def test_identify_traits_are_kept_whole_and_the_known_ones_typed() -> None:
    call = parse_call(
        "identify",
        {
            "userId": "u",
            "traits": {
                "email": "Dana@Acme.io",
                "firstName": "Dana",
                "lastName": "Lee",
                "title": "CTO",
                "plan": {"tier": "pro"},
            },
        },
    )
    assert isinstance(call, Identify)
    assert call.traits.full_name() == "Dana Lee"
    assert call.traits.as_json() == {
        "email": "Dana@Acme.io",
        "firstName": "Dana",
        "lastName": "Lee",
        "title": "CTO",
        "plan": {"tier": "pro"},
    }
    named = parse_call("identify", {"userId": "u", "traits": {"name": "D. Lee", "firstName": "X"}})
    assert isinstance(named, Identify)
    assert named.traits.full_name() == "D. Lee"
    assert parse_call("identify", {"userId": "u", "traits": None}).properties_json == {}


@pytest.mark.parametrize(
    ("employees", "expected"),
    [("250", 250), ("1,200", 1200), (" 75 ", 75), (40, 40), (40.0, 40), (None, None), ("", None)],
)
def test_employee_counts_are_coerced_to_whole_numbers(employees: Any, expected: int | None) -> None:
    call = parse_call("group", {"userId": "u", "groupId": "g", "traits": {"employees": employees}})
    assert isinstance(call, Group)
    assert call.traits.employees == expected


@pytest.mark.parametrize(
    ("employees", "message"),
    [
        ("51-200", "traits.employees: expected a whole number, got '51-200'"),
        ("many", "traits.employees: expected a whole number, got 'many'"),
        (12.5, "traits.employees: expected a whole number, got 12.5"),
        (True, "traits.employees: expected a whole number"),
        (-3, "traits.employees: input should be greater than or equal to 0"),
        ([1], "traits.employees: input should be a valid integer"),
    ],
)
def test_employee_counts_that_are_not_numbers_are_refused(employees: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_call("group", {"userId": "u", "groupId": "g", "traits": {"employees": employees}})
    assert refused.value.message == message


def test_alias_needs_both_ids_and_keeps_the_previous_one() -> None:
    call = parse_call("alias", {"previousId": "anon-1", "userId": "u-1"})
    assert isinstance(call, Alias)
    assert (call.previous_id, call.user_id, call.event_name) == ("anon-1", "u-1", None)
    assert call.properties_json == {"previousId": "anon-1"}


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        ("track", {"event": "x"}, "userId or anonymousId is required"),
        ("track", {"userId": None, "anonymousId": "", "event": "x"}, "userId or anonymousId is required"),
        ("track", {"userId": "u"}, "event: field required"),
        ("track", {"userId": "u", "event": ""}, "event: string should have at least 1 character"),
        ("track", {"userId": "u", "event": ["x"]}, "event: input should be a valid string"),
        ("track", {"userId": True, "event": "x"}, "userId: input should be a valid string"),
        ("track", {"userId": "u", "event": "x", "properties": "p"}, "properties: must be a JSON object"),
        ("track", {"userId": "u", "event": "x", "context": []}, "context: must be a JSON object"),
        ("track", {"userId": "u", "event": "x", "context": {"groupId": True}},
         "context.groupId must be a string, got a boolean"),
        ("track", {"userId": "u", "event": "x", "timestamp": "1969-12-31T23:59:59Z"},
         "timestamp: must be between 1970 and 2200"),
        # Year 1 an hour east of UTC is before year 1 in UTC: out of range, not a crash.
        ("group", {"userId": "u", "groupId": "g", "timestamp": "0001-01-01T01:23:20+05:20"},
         "timestamp: must be between 1970 and 2200"),
        ("track", {"userId": "u", "event": "x", "sentAt": "9999-12-31T23:00:00-05:00"},
         "sentAt: must be between 1970 and 2200"),
        ("track", {"userId": "u", "event": "x", "sentAt": "soon"},
         "sentAt: input should be a valid datetime or date, input is too short"),
        ("track", {"userId": "u", "event": "x", "messageId": "m" * 256},
         "messageId: string should have at most 255 characters"),
        ("page", {"userId": "u", "name": "p" * 241}, "name: string should have at most 240 characters"),
        ("identify", {"userId": "u", "traits": []}, "traits: must be a JSON object"),
        ("identify", {"userId": "u", "traits": {"title": 3}}, "traits.title: input should be a valid string"),
        ("group", {"userId": "u", "groupId": {"id": 1}}, "groupId: input should be a valid string"),
        ("group", {"userId": "u", "groupId": "g", "traits": {"name": "a\x00"}},
         "traits.name: must not contain a NUL character"),
        ("alias", {"userId": "u"}, "previousId: field required"),
        ("track", {"userId": "u", "event": "\ud83d"},
         "contains text that is not valid Unicode (a lone surrogate escape)"),
    ],
)  # fmt: skip
def test_wrong_calls_say_what_is_wrong_and_where(
    kind: Any, body: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_call(kind, body)
    assert refused.value.message == message
    assert refused.value.code == "invalid_payload"


# ------------------------------------------------------------------ batches


def test_batch_errors_name_each_item() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_batch(
            {
                "batch": [
                    {"type": "track", "userId": "u", "event": "ok"},
                    {"type": "purchase", "userId": "u"},
                    {"userId": "u"},
                    {"type": "track", "userId": "u"},
                    None,
                    {"type": "identify", "traits": {"email": 1}, "anonymousId": "a"},
                ]
            }
        )
    assert refused.value.message == (
        "batch[1].type: unknown type 'purchase' (expected one of track, identify, group, "
        "alias, page, screen); "
        "batch[2].type: field required (one of track, identify, group, alias, page, screen); "
        "batch[3].event: field required; "
        "batch[4]: must be an object, got null; "
        "batch[5].traits.email: input should be a valid string"
    )


def test_many_problems_are_summarised() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_batch({"batch": [{"type": "track", "userId": "u"}] * 15})
    message = refused.value.message
    assert message.startswith("batch[0].event: field required; batch[1].event: field required")
    assert message.endswith("batch[9].event: field required; and 5 more")


def test_batch_envelope_errors() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "batch: field required"),
        ({"batch": "x"}, "batch: must be a JSON array"),
        ({"batch": [], "context": 1}, "context: must be a JSON object"),
        ({"batch": [], "sentAt": "then"}, "sentAt: input should be a valid datetime"),
    ]
    for body, message in cases:
        with pytest.raises(InvalidInput) as refused:
            parse_batch(body)
        assert refused.value.message.startswith(message)
    assert parse_batch({"batch": []}) == []


def test_batch_limits_name_the_limit_and_the_item() -> None:
    item = {"type": "track", "userId": "u", "event": "x"}
    assert len(parse_batch({"batch": [item] * 2_500})) == 2_500
    with pytest.raises(TooLarge) as too_many:
        parse_batch({"batch": [item] * 2_501})
    assert too_many.value.message == "a batch is limited to 2,500 events; this one has 2,501"

    def padded(size: int) -> dict[str, Any]:
        empty = len(json.dumps({**item, "properties": {"p": ""}}, separators=(",", ":")))
        return {**item, "properties": {"p": "x" * (size - empty)}}

    exactly, big = padded(MAX_EVENT_BYTES), padded(MAX_EVENT_BYTES + 1)
    assert len(parse_batch({"batch": [exactly]})) == 1
    with pytest.raises(TooLarge) as too_big:
        parse_batch({"batch": [exactly, exactly, big]})
    assert too_big.value.message == (
        "batch[2] is 32,769 bytes: one event is limited to 32 KB (32,768 bytes)"
    )


def test_an_item_is_measured_as_json_spells_it() -> None:
    # json writes a float such as 0.000001 as "1e-06", one byte longer than other
    # encoders do: an item over the limit only by that spelling is still over it.
    item = {"type": "track", "userId": "u", "event": "x"}
    empty = len(json.dumps({**item, "properties": {"p": []}}, separators=(",", ":")))
    floats = (MAX_EVENT_BYTES - empty - 16) // 6  # "1e-06," each, room for "q"
    exactly = {**item, "properties": {"p": [1e-06] * floats}}
    exactly["properties"]["q"] = "x" * (
        MAX_EVENT_BYTES - len(json.dumps(exactly, separators=(",", ":"))) - len(',"q":""')
    )
    assert len(json.dumps(exactly, separators=(",", ":"))) == MAX_EVENT_BYTES
    assert len(parse_batch({"batch": [exactly]})) == 1
    over = {**item, "properties": {**exactly["properties"], "q": exactly["properties"]["q"] + "x"}}
    with pytest.raises(TooLarge) as too_big:
        parse_batch({"batch": [over]})
    assert too_big.value.message.startswith("batch[0] is 32,769 bytes")


# ------------------------------------------------------------------ bodies


def test_decode_json_accepts_objects_only() -> None:
    assert decode_json(b'{"a": 1}') == {"a": 1}
    for raw, message in [
        (b"", "body is not valid JSON: Expecting value (line 1, column 1)"),
        (b'{"a": 1,\n "b": }', "body is not valid JSON: Expecting value (line 2, column 7)"),
        (b"[]", "body must be a JSON object, got an array"),
        (b'"x"', "body must be a JSON object, got a string"),
        (b'{"a": Infinity}', "body is not valid JSON: Infinity is not valid JSON"),
        (b'{"a": "\xc3"}', "body is not UTF-8 encoded JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "body is nested too deeply"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            decode_json(raw)
        assert refused.value.message == message


def test_write_key_in_body() -> None:
    assert write_key_in_body({"writeKey": "k"}) == "k"
    assert write_key_in_body({"writeKey": 5}) is None
    assert write_key_in_body({}) is None


def test_gunzip_is_bounded() -> None:
    data = json.dumps({"batch": ["x" * 100] * 100}).encode()
    assert gunzip(gzip.compress(data), limit=len(data), what="a batch") == data
    # Two gzip members back to back are one body (gzip(1) concatenation).
    assert gunzip(gzip.compress(b"ab") + gzip.compress(b"cd"), limit=4, what="x") == b"abcd"

    bomb = gzip.compress(b"0" * 10_000_000)
    assert len(bomb) < 20_000
    with pytest.raises(
        TooLarge, match=r"a batch is limited to 500 KB \(512,000 bytes\) uncompressed"
    ):
        gunzip(bomb, limit=512_000, what="a batch")
    with pytest.raises(TooLarge):
        gunzip(gzip.compress(b"ab") + gzip.compress(b"cd"), limit=3, what="x")

    with pytest.raises(InvalidInput, match="body is not valid gzip"):
        gunzip(b"plain text", limit=100, what="x")
    with pytest.raises(InvalidInput, match="gzip body is truncated"):
        gunzip(gzip.compress(data)[:40], limit=len(data), what="x")
