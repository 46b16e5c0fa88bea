"""The model file's event-name mapping: a source's own event names, stored under Tipoff's.

A key is an event name as the source sends it (`demo_request_submitted`), or an event name
and a page path (`$pageview /pricing`): the event when its page is that path or below it
(`/pricing`, `/pricing/teams`; not `/pricing-old`). Paths compare without case and
without a trailing slash. A key with a path wins over the bare name; a longer path over a
shorter one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


def split_key(key: str) -> tuple[str, str | None]:
    """`"$pageview /pricing"` → ("$pageview", "/pricing"); `"signup"` → ("signup", None).
    The path is the last word, when it starts with "/"."""
    key = key.strip()
    name, _, last = key.rpartition(" ")
    if name.strip() and last.startswith("/"):
        return name.strip(), normalize_path(last)
    return key, None


def normalize_path(path: str) -> str:
    path = path.strip().lower()
    return path.rstrip("/") or "/"


def _under(path: str, prefix: str) -> bool:
    return path == prefix or (prefix != "/" and path.startswith(prefix + "/"))


@dataclass(frozen=True)
class EventNameMap:
    """What one source's event names are stored as. Empty: every name as sent."""

    exact: Mapping[str, str]
    # event name → ((path, Tipoff name), …), longest path first
    by_path: Mapping[str, tuple[tuple[str, str], ...]]

    @classmethod
    def build(cls, *mappings: Mapping[str, str]) -> EventNameMap:
        """One map from model-file sections; a later mapping's key replaces an earlier's."""
        merged: dict[tuple[str, str | None], str] = {}
        for mapping in mappings:
            for key, target in mapping.items():
                merged[split_key(key)] = target
        exact = {name: target for (name, path), target in merged.items() if path is None}
        by_path: dict[str, list[tuple[str, str]]] = {}
        for (name, path), target in merged.items():
            if path is not None:
                by_path.setdefault(name, []).append((path, target))
        return cls(
            exact=exact,
            by_path={
                name: tuple(sorted(rules, key=lambda rule: -len(rule[0])))
                for name, rules in by_path.items()
            },
        )

    def __bool__(self) -> bool:
        return bool(self.exact or self.by_path)

    def reads_path(self, event: str) -> bool:
        """Whether `target` needs the event's page path (only then is it worth finding)."""
        return event in self.by_path

    def target(self, event: str, path: str | None) -> str | None:
        """Tipoff's name for `event` seen on page `path`, or None to keep it as it is."""
        if path is not None:
            normalized = normalize_path(path)
            for prefix, target in self.by_path.get(event, ()):
                if _under(normalized, prefix):
                    return target
        return self.exact.get(event)
