"""How deeply a JSON value nests, measured without recursion.

Anything from outside (an event's properties, a Slack payload) and anything stored can
nest as deep as its sender chose; a recursive walk over it fails with RecursionError near
Python's limit of 1,000 frames, so walks over JSON use an explicit stack, as this does.
"""

from __future__ import annotations

from typing import Any


def nesting_depth(value: object, *, limit: int | None = None) -> int:
    """How many objects and arrays `value` holds one inside another: 0 for a string or
    number, 1 for `{}` or `[1, 2]`, 2 for `{"items": [1]}`. With `limit`, the walk stops
    as soon as the depth is over it (and returns a depth over `limit`)."""
    if not isinstance(value, dict | list):
        return 0
    deepest = 1
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                if depth + 1 > deepest:
                    deepest = depth + 1
                    if limit is not None and deepest > limit:
                        return deepest
                stack.append((child, depth + 1))
    return deepest
