"""The job-title patterns of a fit rule (`title_matches`): compiled in one place, as one
expression, for scoring; and checked by `tipoff model check` as compiled, so a model
that passes the check scores.

Scoring matches a title against the rule's patterns joined into one alternation (one
search a title, 3.4 times faster than one search a pattern). Patterns fine alone can
fail joined: an inline flag such as `(?i)` is allowed only at the start of the whole
expression, a group name only once in it, and a group referred to by number (`\\1`)
would be counted among the groups of the patterns before it. `problems` reports each
such pattern, and why, against the expression `titles_pattern` compiles.

Python's `re` backtracks and has no timeout: a pattern that repeats a part which can
itself match in several ways (`^(\\w+\\s?)+$`) takes time exponential in the title's
length when it fails, and froze the server on a 28-character title. `slow_repetition`
refuses such patterns by their shape: a part that can repeat (`+`, `*`, `{2,}` …)
holding a part of variable length (`\\w+`, `\\s?`, `a{1,3}`) or alternatives longer than
a character (`(ab|a)+`), possessive and atomic ones too. That refuses some patterns that
are quick in fact (`(ab+)+`); a title pattern never needs one ("vp|vice president" says
what it looks for). What remains is at worst polynomial in the title's length, and
titles are at most 255 characters (ingest cuts them). A matching timeout (the
third-party `regex` module has one) was not taken: a score would then depend on how busy
the machine is, and the scoring core would carry a dependency to make up for a pattern
that can be refused when the model is checked.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

# Python 3.11's parser for the `re` module (formerly `sre_parse`), as `re.compile` uses it.
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")
_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT)


@lru_cache(maxsize=64)
def titles_pattern(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """A fit rule's patterns as scoring matches a title: any of them, case-insensitively,
    anywhere in the title. Raises re.error where `problems` finds any."""
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def problems(patterns: Sequence[str]) -> list[tuple[int, str]]:
    """(index, why) for each pattern of a rule that scoring could not match quickly and
    as written, in the order given."""
    found: list[tuple[int, str]] = []
    fine: list[str] = []
    for index, pattern in enumerate(patterns):
        why = _problem(pattern, fine)
        if why is None:
            fine.append(pattern)
        else:
            found.append((index, f"'{pattern}' {why}"))  # as the model file writes it
    return found


def _problem(pattern: str, before: list[str]) -> str | None:
    """Why `pattern` cannot follow the patterns `before` it (each fine) in a rule."""
    try:
        alone = re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        return f"is not a valid regular expression: {error}"
    if slow_repetition(pattern):
        return (
            "repeats a part that can itself match in several ways (as in `(\\w+\\s?)+`):"
            " a title it does not match can take minutes to rule out; name the words"
            " instead, as in 'vp|vice president'"
        )
    try:
        titles_pattern((*before, pattern))
    except re.error as error:
        if "global flags" in str(error):
            return (
                "cannot be matched with the rule's other patterns: an inline flag there must"
                " apply to a part, as in (?s:…), not the whole expression; titles are"
                " matched case-insensitively already, so (?i) is not needed"
            )
        return f"cannot be matched with the rule's other patterns before it: {error}"
    if before and _numbered_reference(pattern, alone):
        return (
            "refers to a group by number, which would count the groups of the rule's"
            " other patterns: name the group, (?P<name>…) and (?P=name)"
        )
    return None


def _numbered_reference(pattern: str, compiled: re.Pattern[str]) -> bool:
    named = set(compiled.groupindex.values())
    return any(group not in named for group in _references(_parser.parse(pattern, re.I)))


def _references(items: Any) -> list[int]:
    """The group numbers that parsed `items` refer back to."""
    found: list[int] = []
    for op, av in items:
        if op is _c.GROUPREF:
            found.append(av)
        elif op is _c.GROUPREF_EXISTS:
            found.append(av[0])
        if op in _REPEATS:
            found += _references(av[2])
        else:
            for part in _parts(op, av):
                found += _references(part)
    return found


def slow_repetition(pattern: str) -> bool:
    """Whether `pattern` (one that compiles) repeats a part of variable length."""
    return _nested(_parser.parse(pattern, re.IGNORECASE), repeated=False)


def _nested(items: Any, *, repeated: bool) -> bool:
    """Whether parsed `items` hold a repetition of variable length inside a repetition
    (`repeated`: they sit inside one already)."""
    for op, av in items:
        if op in _REPEATS:
            low, high, body = av
            if repeated and low != high:
                return True
            if _nested(body, repeated=repeated or high > 1):
                return True
        elif repeated and op is _c.BRANCH:
            return True  # alternatives that may overlap, tried again at every repetition
        elif any(_nested(part, repeated=repeated) for part in _parts(op, av)):
            return True
    return False


def _parts(op: Any, av: Any) -> list[Any]:
    """The parsed parts inside a group, alternation or lookaround."""
    if op is _c.SUBPATTERN:
        return [av[3]]
    if op is _c.ATOMIC_GROUP:
        return [av]
    if op is _c.BRANCH:
        return list(av[1])
    if op in (_c.ASSERT, _c.ASSERT_NOT):
        return [av[1]]
    if op is _c.GROUPREF_EXISTS:
        return [branch for branch in av[1:] if branch is not None]
    return []
