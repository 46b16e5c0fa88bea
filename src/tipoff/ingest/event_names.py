"""The model file's `event_names` applied to calls before they are stored: a signal is
stored under Tipoff's name for it, so the scoring rules read it like any other."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from tipoff.core.event_names import EventNameMap
from tipoff.ingest.segment import Page, Screen, SegmentCall, Track

# Where a call says which page it happened on: PostHog's properties, Segment's page
# properties, then the page in Segment's context. A path before a full URL.
_PATH_PROPERTIES = ("$pathname", "path")
_URL_PROPERTIES = ("$current_url", "url")


def apply_event_names(calls: list[SegmentCall], names: EventNameMap) -> list[SegmentCall]:
    """`calls`, each signal whose name `names` maps renamed (the rest unchanged)."""
    if not names:
        return calls
    renamed = calls
    for index, call in enumerate(calls):
        event = call.event_name
        if event is None:
            continue
        path = page_path(call) if names.reads_path(event) else None
        target = names.target(event, path)
        if target is not None and target != event:
            if renamed is calls:
                renamed = list(calls)
            renamed[index] = call.renamed(target)
    return renamed


def page_path(call: SegmentCall) -> str | None:
    """The path of the page a signal happened on, if the call says."""
    if not isinstance(call, Track | Page | Screen):
        return None
    found = _path_in(call.properties)
    if found is None:
        page = call.context.get("page")
        found = _path_in(page) if isinstance(page, Mapping) else None
    return found


def _path_in(values: Mapping[str, Any]) -> str | None:
    for key in _PATH_PROPERTIES:
        value = values.get(key)
        if isinstance(value, str) and value.startswith("/"):
            return value
    for key in _URL_PROPERTIES:
        value = values.get(key)
        if isinstance(value, str) and value:
            try:
                path = urlsplit(value).path
            except ValueError:  # not a URL (an unbalanced "[" in the host, …)
                continue
            if path:
                return path
    return None
