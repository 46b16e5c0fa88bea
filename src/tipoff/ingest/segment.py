"""Segment's HTTP Tracking API payloads, and the pure rules applied to them.

Payloads are validated as Segment's own API does: unknown fields are accepted and ignored,
but a field Tipoff reads must have the type the spec gives it. Errors name the place they
were found (`batch[3].event: field required`) and change nothing.

Limits are Segment's: 32 KB a call (a single call's body, or one batch item as JSON),
500 KB a batch body, 2,500 items a batch. Properties and traits nest at most 32 levels.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Self
from uuid import uuid4

import pydantic_core
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticSerializationError

from tipoff.core.nesting import nesting_depth
from tipoff.errors import InvalidInput, TooLarge

MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_BATCH_EVENTS = 2_500
# Objects and arrays one inside another in properties and traits, the outer object being
# the first. Real events nest a few levels (an order's items, a form's fields); what is
# stored is read back by json, which recurses, and a value a thousand levels deep would
# fail every reader of its account.
MAX_NESTING = 32
# How many problems one error message lists before it says "and N more".
MAX_REPORTED_ERRORS = 10

# Signals before 1970 are not signals; the bounds also keep clock-skew arithmetic
# (received − (sentAt − timestamp)) inside what a datetime can hold.
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)

CallKind = Literal["track", "identify", "group", "alias", "page", "screen"]
CALL_KINDS: tuple[CallKind, ...] = ("track", "identify", "group", "alias", "page", "screen")


# ---------------------------------------------------------------- field types


def _empty_to_none(value: object) -> object:
    # Clients send "" or null for "no id"; both mean absent.
    return None if value == "" else value


def _number_to_str(value: object) -> object:
    # Segment accepts numeric ids; libraries stringify them, and so does Tipoff.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _generated_message_id() -> str:
    return f"tipoff-{uuid4()}"


def _generate_if_missing(value: object) -> object:
    return _generated_message_id() if value is None or value == "" else value


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it on every backend rather than only one.
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


def _utc_in_range(value: datetime) -> datetime:
    # ISO-8601 without an offset is taken as UTC, as Segment does. A time near year 1 or
    # 9999 can fall outside what datetime holds once moved to UTC: out of range too.
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be between 1970 and 2200") from None
    if not _EARLIEST <= value < _LATEST:
        raise ValueError("must be between 1970 and 2200")
    return value


def none_to_empty(value: object) -> object:
    return {} if value is None else value


def nested_at_most_max(value: dict[str, Any]) -> dict[str, Any]:
    """`value` unless it nests deeper than MAX_NESTING."""
    if value and nesting_depth(value, limit=MAX_NESTING) > MAX_NESTING:  # most are {}
        raise ValueError(
            f"nests objects and arrays more than {MAX_NESTING} levels deep (counting this "
            f"one); at most {MAX_NESTING} levels are accepted"
        )
    return value


def _whole_number(value: object) -> object:
    # CRMs send head counts as text ("250", "1,200"); a range or a word is not a number.
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError(f"expected a whole number, got {value!r}")
        return int(value)
    if isinstance(value, str):
        digits = value.strip().replace(",", "").replace("_", "")
        if not digits.isdecimal():
            raise ValueError(f"expected a whole number, got {value!r}")
        return int(digits)
    return value


Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255),
    BeforeValidator(_number_to_str),
    AfterValidator(_no_nul),
]
OptionalId = Annotated[Id | None, BeforeValidator(_empty_to_none)]
# Without a messageId a call cannot be recognised when retried; it still gets an id.
MessageId = Annotated[Id, BeforeValidator(_generate_if_missing)]
Text = Annotated[str, AfterValidator(_no_nul)]
OptionalText = Annotated[Text | None, BeforeValidator(_empty_to_none)]
# Names and titles are cut to MAX_TEXT characters, as stored everywhere (traits included):
# ids are refused when longer, since a cut id would name someone else, but a long job
# title is no reason to refuse a whole batch of signals.
MAX_TEXT = 255


def _cut(value: str | None) -> str | None:
    return value[:MAX_TEXT] if value is not None else None


Descriptive = Annotated[OptionalText, AfterValidator(_cut)]
SegmentTime = Annotated[datetime, AfterValidator(_utc_in_range)]
JsonObject = Annotated[dict[str, Any], BeforeValidator(none_to_empty)]
# A JSON object that is stored: properties.
Properties = Annotated[JsonObject, AfterValidator(nested_at_most_max)]
# Room for the " Screen Viewed" suffix inside the 255 characters of an event name.
ViewName = Annotated[str, StringConstraints(max_length=240), AfterValidator(_no_nul)]
Employees = Annotated[
    Annotated[int, Field(ge=0, le=2_000_000_000)] | None, BeforeValidator(_whole_number)
]


class _Payload(BaseModel):
    # Segment accepts fields it does not know; so does Tipoff (they are simply not read).
    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, frozen=True)


# ---------------------------------------------------------------- traits


class _Traits(BaseModel):
    """Traits: the ones Tipoff reads are fields; every other trait is kept as given."""

    model_config = ConfigDict(extra="allow", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _shallow_enough(cls, data: Any) -> Any:
        return nested_at_most_max(data) if isinstance(data, dict) else data


class PersonTraits(_Traits):
    """The identify traits Tipoff reads; every other trait is kept as given."""

    email: OptionalText = None
    name: Descriptive = None
    first_name: Descriptive = Field(default=None, alias="firstName")
    last_name: Descriptive = Field(default=None, alias="lastName")
    title: Descriptive = None

    def full_name(self) -> str | None:
        if self.name and self.name.strip():
            return self.name.strip()
        parts = [p.strip() for p in (self.first_name, self.last_name) if p and p.strip()]
        return " ".join(parts) or None

    def as_json(self) -> dict[str, Any]:
        """The traits as sent (original keys, unknown traits included), names and title
        cut to MAX_TEXT characters."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class AccountTraits(_Traits):
    """The group traits Tipoff reads; every other trait (plan, …) is kept as given."""

    name: Descriptive = None
    domain: OptionalText = None
    website: OptionalText = None
    employees: Employees = None
    industry: Descriptive = None
    plan: OptionalText = None

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_unset=True)


# ---------------------------------------------------------------- calls


class Call(_Payload):
    """What every call carries. `type` comes from the endpoint or the batch item."""

    type: CallKind
    message_id: MessageId = Field(default_factory=_generated_message_id)
    user_id: OptionalId = None
    anonymous_id: OptionalId = None
    timestamp: SegmentTime | None = None
    original_timestamp: SegmentTime | None = None
    sent_at: SegmentTime | None = None
    context: JsonObject = Field(default_factory=dict)
    # Two values Tipoff sets on a call, never read from its payload: the model file's name
    # for its event (`event_names`, set by `renamed`) and its `context.traits` as read by
    # `_context_readable`. Not fields, so that no payload can set them, and not pydantic
    # private attributes, which cost every call of every batch a slower construction and
    # attribute lookup (ingest measured 26k -> 19k calls/s): class attributes until set.
    _mapped_event: ClassVar[str | None] = None
    _context_traits: ClassVar[PersonTraits | None] = None

    def renamed(self, event: str) -> Self:
        """This call, its signal stored as `event` (the model maps the source's name)."""
        copy = self.model_copy()
        object.__setattr__(copy, "_mapped_event", event)  # past the ClassVar guard
        return copy

    @model_validator(mode="after")
    def _someone(self) -> Call:
        if self.user_id is None and self.anonymous_id is None:
            raise ValueError("userId or anonymousId is required")
        return self

    @property
    def context_group_id(self) -> str | None:
        value = self.context.get("groupId")
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value if isinstance(value, str) and value else None

    @property
    def user_traits(self) -> PersonTraits | None:
        """The person's traits as this call carries them, if it carries any.

        The Segment spec defines `context.traits` as the user's traits at the time of any
        call, and RudderStack's SDKs send them there rather than in a top-level `traits`
        (its Python client does so even for identify), so a track or page call can name
        its person too. Identify overrides this with its own traits."""
        return self._context_traits

    @property
    def event_name(self) -> str | None:
        """The signal's name as scoring sees it; None for identify/group/alias."""
        return None

    @property
    def properties_json(self) -> dict[str, Any]:
        """What the events row keeps: a signal's properties, or what the call said."""
        return {}

    def occurred_at(self, received_at: datetime) -> datetime:
        return occurred_at(
            timestamp=self.timestamp or self.original_timestamp,
            sent_at=self.sent_at,
            received_at=received_at,
        )

    @model_validator(mode="after")
    def _context_readable(self) -> Call:
        # The two context keys Tipoff reads, in one validator: each is a Python call for
        # every call of every batch.
        context = self.context
        if not context:
            return self
        value = context.get("groupId")
        if value is not None and value != "":
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise ValueError(f"context.groupId must be a string, got {_json_type(value)}")
            if isinstance(value, str) and (len(value) > 255 or "\x00" in value):
                raise ValueError("context.groupId must be at most 255 characters, without NUL")
        traits = context.get("traits")
        if traits is None or traits == {}:
            return self
        if not isinstance(traits, dict):
            raise ValueError(f"context.traits must be an object, got {_json_type(traits)}")
        try:
            # Past the ClassVar guard, as `renamed` sets its value.
            object.__setattr__(self, "_context_traits", PersonTraits.model_validate(traits))
        except ValidationError as error:
            raise ValueError(describe_validation_error(error, prefix="context.traits")) from None
        return self


class Track(Call):
    type: Literal["track"] = "track"
    event: Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(_no_nul)]
    properties: Properties = Field(default_factory=dict)

    @property
    def event_name(self) -> str:
        return self._mapped_event or self.event

    @property
    def properties_json(self) -> dict[str, Any]:
        return self.properties


class Page(Call):
    type: Literal["page"] = "page"
    name: Annotated[ViewName | None, BeforeValidator(_empty_to_none)] = None
    category: OptionalText = None
    properties: Properties = Field(default_factory=dict)

    @property
    def event_name(self) -> str:
        return self._mapped_event or page_event_name(self.name)

    @property
    def properties_json(self) -> dict[str, Any]:
        return self.properties


class Screen(Call):
    type: Literal["screen"] = "screen"
    name: Annotated[ViewName | None, BeforeValidator(_empty_to_none)] = None
    category: OptionalText = None
    properties: Properties = Field(default_factory=dict)

    @property
    def event_name(self) -> str:
        return self._mapped_event or screen_event_name(self.name)

    @property
    def properties_json(self) -> dict[str, Any]:
        return self.properties


class Identify(Call):
    type: Literal["identify"] = "identify"
    traits: Annotated[PersonTraits, BeforeValidator(none_to_empty)] = Field(
        default_factory=PersonTraits
    )

    @model_validator(mode="before")
    @classmethod
    def _traits_from_context(cls, data: Any) -> Any:
        # RudderStack's Python client sends identify traits only in `context.traits`; the
        # Segment spec allows them there. Both are read, a top-level trait winning.
        if not isinstance(data, dict):
            return data
        context = data.get("context")
        in_context = context.get("traits") if isinstance(context, dict) else None
        top = data.get("traits")
        if not isinstance(in_context, dict) or not in_context or not isinstance(top, dict | None):
            return data
        return {**data, "traits": {**in_context, **(top or {})}}

    @property
    def user_traits(self) -> PersonTraits:
        return self.traits

    @property
    def properties_json(self) -> dict[str, Any]:
        return self.traits.as_json()


class Group(Call):
    type: Literal["group"] = "group"
    group_id: Id
    traits: Annotated[AccountTraits, BeforeValidator(none_to_empty)] = Field(
        default_factory=AccountTraits
    )

    @property
    def properties_json(self) -> dict[str, Any]:
        return {"groupId": self.group_id, "traits": self.traits.as_json()}


class Alias(Call):
    type: Literal["alias"] = "alias"
    previous_id: Id
    user_id: Id

    @property
    def properties_json(self) -> dict[str, Any]:
        return {"previousId": self.previous_id}


SegmentCall = Track | Identify | Group | Alias | Page | Screen

_MODELS: dict[str, type[Call]] = {
    "track": Track,
    "identify": Identify,
    "group": Group,
    "alias": Alias,
    "page": Page,
    "screen": Screen,
}


class _BatchEnvelope(_Payload):
    batch: list[Any]
    context: JsonObject = Field(default_factory=dict)
    sent_at: SegmentTime | None = None


# ---------------------------------------------------------------- pure rules


def page_event_name(name: str | None) -> str:
    """page "Pricing" → "Pricing Page Viewed"; a page without a name → "Page Viewed"."""
    name = (name or "").strip()
    return f"{name} Page Viewed" if name else "Page Viewed"


def screen_event_name(name: str | None) -> str:
    name = (name or "").strip()
    return f"{name} Screen Viewed" if name else "Screen Viewed"


def merge_context(batch_context: dict[str, Any], item_context: object) -> object:
    """A batch's context under each item's own (the item's keys win). A non-object item
    context is passed through untouched so that validation reports it where it is."""
    if not batch_context:
        return item_context
    if item_context is None:
        return dict(batch_context)
    if isinstance(item_context, dict):
        return {**batch_context, **item_context}
    return item_context


def occurred_at(
    *, timestamp: datetime | None, sent_at: datetime | None, received_at: datetime
) -> datetime:
    """When a signal happened, in UTC.

    A client's clock can be wrong; the gap between when it says it made the event
    (`timestamp`) and when it says it sent it (`sentAt`) is not. So with both, the event
    happened that long before Tipoff received it. Without `sentAt` the timestamp is taken
    as it is (back-filled history); without a timestamp, the time received. Nothing
    happens in the future: a later time is clamped to the time received.
    """
    if timestamp is None:
        return received_at
    if sent_at is not None:
        timestamp = received_at - (sent_at - timestamp)
    return min(timestamp, received_at)


# ---------------------------------------------------------------- bodies


def gunzip(data: bytes, *, limit: int, what: str) -> bytes:
    """Decompress a gzip body without ever holding more than `limit` bytes of it."""
    out = bytearray()
    while data:
        member = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            out += member.decompress(data, limit + 1 - len(out))
        except zlib.error as exc:
            raise InvalidInput(f"body is not valid gzip: {exc}", code="invalid_gzip") from None
        if len(out) > limit or member.unconsumed_tail:
            raise TooLarge(f"{what} is limited to {_size(limit)} uncompressed; this one is larger")
        if not member.eof:
            raise InvalidInput("gzip body is truncated", code="invalid_gzip")
        data = member.unused_data
    return bytes(out)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def decode_json(data: bytes) -> dict[str, Any]:
    """The body as a JSON object, or InvalidInput saying where it stops being one."""
    try:
        body = json.loads(data, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            code="invalid_json",
        ) from None
    except UnicodeDecodeError:
        raise InvalidInput("body is not UTF-8 encoded JSON", code="invalid_json") from None
    except ValueError as exc:
        raise InvalidInput(f"body is not valid JSON: {exc}", code="invalid_json") from None
    except RecursionError:
        raise InvalidInput("body is nested too deeply", code="invalid_json") from None
    if not isinstance(body, dict):
        raise InvalidInput(
            f"body must be a JSON object, got {_json_type(body)}", code="invalid_json"
        )
    return body


def write_key_in_body(body: dict[str, Any]) -> str | None:
    key = body.get("writeKey")
    return key if isinstance(key, str) and key else None


def parse_call(kind: CallKind, body: dict[str, Any]) -> SegmentCall:
    """One call from `/v1/<kind>`; the endpoint decides the type, not the body."""
    _check_unicode(body, where="")
    try:
        return _validate(kind, {**body, "type": kind})
    except ValidationError as exc:
        raise invalid_payload(exc) from None


def parse_batch(body: dict[str, Any]) -> list[SegmentCall]:
    """Every item of a `/v1/batch` body, with the batch's `context` and `sentAt` applied.

    Either all items are valid and returned, or InvalidInput/TooLarge names the problems.
    """
    try:
        envelope = _BatchEnvelope.model_validate(body)
    except ValidationError as exc:
        raise invalid_payload(exc) from None
    items = envelope.batch
    if len(items) > MAX_BATCH_EVENTS:
        raise TooLarge(
            f"a batch is limited to {MAX_BATCH_EVENTS:,} events; this one has {len(items):,}"
        )
    calls: list[SegmentCall] = []
    problems: list[str] = []
    for index, item in enumerate(items):
        where = f"batch[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be an object, got {_json_type(item)}")
            continue
        size = _check_unicode(item, where=where)
        if size > MAX_EVENT_BYTES:
            raise TooLarge(
                f"{where} is {size:,} bytes: one event is limited to {_size(MAX_EVENT_BYTES)}"
            )
        kind = item.get("type")
        if not isinstance(kind, str) or kind not in _MODELS:
            expected = ", ".join(CALL_KINDS)
            problems.append(
                f"{where}.type: field required (one of {expected})"
                if kind is None
                else f"{where}.type: unknown type {kind!r} (expected one of {expected})"
            )
            continue
        if envelope.context or envelope.sent_at is not None:
            merged = {**item, "context": merge_context(envelope.context, item.get("context"))}
            if merged["context"] is None:
                del merged["context"]
            if merged.get("sentAt") is None and envelope.sent_at is not None:
                merged["sentAt"] = envelope.sent_at
        else:
            merged = item  # nothing of the batch's to add (validation only reads it)
        try:
            calls.append(_validate(kind, merged))
        except ValidationError as exc:
            problems.extend(_problems(exc, prefix=where))
    if problems:
        raise InvalidInput(_summary(problems), code="invalid_payload")
    return calls


def _validate(kind: str, data: dict[str, Any]) -> SegmentCall:
    # The model's validator itself: `model_validate` around it costs a batch of small
    # calls a few percent of its parsing.
    call: SegmentCall = _MODELS[kind].__pydantic_validator__.validate_python(data)
    return call


# Built once: `json.dumps` with options builds an encoder per call, a fifth of the cost
# of measuring a small batch item. Its input is `json.loads`'s output: no cycles to check.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def _check_unicode(item: dict[str, Any], *, where: str) -> int:
    """Size in bytes of `item` as compact JSON, or at least an upper bound of it that is
    at most half of MAX_EVENT_BYTES; refuses text that is not valid Unicode (a lone
    surrogate escape such as "\\ud800" cannot be stored)."""
    try:
        # pydantic-core's encoder, 5x faster than json's, writes what `_COMPACT` writes
        # but for floats whose exponent is -5 to -9: "1e-6" where json writes "1e-06",
        # one byte shorter, and "0.00001" for "1e-05". Each such float takes at least 4
        # bytes and a separator, so json's size is at most twice this one. A surrogate
        # (or anything else it cannot encode) makes it fail: `_COMPACT` decides then.
        fast = len(pydantic_core.to_json(item))
    except PydanticSerializationError:
        pass
    else:
        if 2 * fast <= MAX_EVENT_BYTES:
            return 2 * fast
    try:
        return len(_COMPACT.encode(item).encode("utf-8"))
    except UnicodeEncodeError:
        place = f"{where}: " if where else ""
        raise InvalidInput(
            f"{place}contains text that is not valid Unicode (a lone surrogate escape)",
            code="invalid_payload",
        ) from None


def invalid_payload(exc: ValidationError) -> InvalidInput:
    """The 400 for a payload pydantic refused, naming every problem where it was found."""
    return InvalidInput(describe_validation_error(exc, prefix=""), code="invalid_payload")


def describe_validation_error(exc: ValidationError, *, prefix: str) -> str:
    return _summary(_problems(exc, prefix=prefix))


def _summary(problems: list[str]) -> str:
    shown = "; ".join(problems[:MAX_REPORTED_ERRORS])
    hidden = len(problems) - MAX_REPORTED_ERRORS
    return f"{shown}; and {hidden} more" if hidden > 0 else shown


def _problems(exc: ValidationError, *, prefix: str) -> list[str]:
    found = []
    for error in exc.errors(include_url=False, include_input=False):
        place = prefix + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
        )
        place = place.removeprefix(".")
        message = _MESSAGES.get(error["type"], _plain)(error["msg"])
        found.append(f"{place}: {message}" if place else message)
    return found


def _plain(message: str) -> str:
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


_MESSAGES: dict[str, Callable[[str], str]] = {
    "missing": lambda _: "field required",
    "dict_type": lambda _: "must be a JSON object",
    "model_type": lambda _: "must be a JSON object",
    "list_type": lambda _: "must be a JSON array",
}


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _size(limit: int) -> str:
    return f"{limit // 1024} KB ({limit:,} bytes)"
