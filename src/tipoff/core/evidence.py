"""Plain-language sentences a rep can read: who did what, when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from tipoff.core.history import Person


def ago(at: datetime, now: datetime) -> str:
    """ "just now", "3 hours ago", "yesterday", "5 days ago", "3 weeks ago"."""
    seconds = (now - at).total_seconds()
    if seconds < 3600:
        return "just now" if seconds < 120 else f"{int(seconds // 60)} minutes ago"
    if seconds < 86400:
        hours = int(seconds // 3600)
        return "an hour ago" if hours == 1 else f"{hours} hours ago"
    days = int(seconds // 86400)
    if days == 1:
        return "yesterday"
    if days < 14:
        return f"{days} days ago"
    if days < 60:
        return f"{days // 7} weeks ago"
    return f"{days // 30} months ago"


def span(days: float) -> str:
    """A window length: "7 days", "2 weeks" is not used so numbers match the model file."""
    whole = int(days)
    if whole == days:
        return "day" if whole == 1 else f"{whole} days"
    return f"{days:g} days"


def join_names(names: Sequence[str], *, most: int = 3) -> str:
    """ "A", "A and B", "A, B and C", "A, B and 4 others"."""
    if not names:
        return "someone"
    if len(names) == 1:
        return names[0]
    if len(names) <= most:
        return f"{', '.join(names[:-1])} and {names[-1]}"
    shown = most - 1
    return f"{', '.join(names[:shown])} and {len(names) - shown} others"


def who(people: Sequence[Person | None]) -> str:
    """Names for the people behind some signals; anonymous ones collapse into one phrase."""
    labels = [p.label for p in people if p is not None]
    anonymous = sum(1 for p in people if p is None)
    if anonymous:
        labels.append(
            "an anonymous visitor" if anonymous == 1 else f"{anonymous} anonymous visitors"
        )
    return join_names(labels)


_PLURAL_VERBS = {"is": "are", "was": "were", "has": "have", "does": "do"}


def agree(phrase: str, *, several: bool) -> str:
    """Makes a verb phrase written for one person ("holds a title") agree with several
    ("hold a title"). Past tenses need nothing; only the first word changes."""
    if not several:
        return phrase
    verb, _, rest = phrase.partition(" ")
    if verb in _PLURAL_VERBS:
        verb = _PLURAL_VERBS[verb]
    elif verb.endswith("s") and not verb.endswith("ss"):
        verb = verb[:-1]
    return f"{verb} {rest}" if rest else verb


def fill(template: str, *, who: str, when: str, several: bool = False, **values: str) -> str:
    """Fills a rule's `says`. The people come first and the time last unless the template
    places them itself (or speaks of a window, which already says when)."""
    text = template.format(who=who, when=when, **values)
    if "{who}" not in template:
        text = f"{who} {agree(text, several=several)}"
    if "{when}" not in template and "{window}" not in template:
        text = f"{text} {when}"
    return text[0].upper() + text[1:]


def plural(count: float, noun: str, nouns: str | None = None, *, grouped: bool = False) -> str:
    """ "1 day", "3 days", "1.7 signals"; `nouns` where adding "s" is wrong ("1 person",
    "2 people"); `grouped` writes thousands with commas ("48,210 signals"). The one place
    Tipoff makes a count agree with its noun."""
    return f"{number(count, grouped=grouped)} {noun if count == 1 else (nouns or noun + 's')}"


def number(value: float, *, grouped: bool = False) -> str:
    """A count as written: whole numbers without a decimal point ("4", not "4.0")."""
    if isinstance(value, int) or value.is_integer():
        return f"{int(value):,}" if grouped else str(int(value))
    return f"{value:,}" if grouped else str(value)


def per_week(count: int, days: float) -> float:
    """`count` events in `days` as a weekly rate, to one decimal: 4.0, 1.7, 0.0."""
    return round(count * 7 / days, 1)


def duration(delta: timedelta) -> str:
    days = int(delta.total_seconds() // 86400)
    return plural(days, "day")
