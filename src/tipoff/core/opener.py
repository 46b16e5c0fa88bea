"""A suggested opener: one or two sentences a rep can start with, built from the
strongest evidence (seeds/001: "I saw your team connected your PagerDuty integration…";
a continuation of what the prospect did, never a cold introduction)."""

from __future__ import annotations

from tipoff.core import evidence as say
from tipoff.core.history import AccountHistory
from tipoff.core.scoring import Evidence, ScoreResult

# What the rep asks next, after naming what the prospect did, by the dimension of the
# strongest line used.
CLOSERS = {
    "product": "Teams that get this far usually want to roll it out more widely: "
    "worth comparing notes on what you're setting up?",
    "marketing": "Happy to walk you through whatever you're weighing up: "
    "what prompted the interest?",
}


def suggested_opener(account: AccountHistory, result: ScoreResult) -> str | None:
    """ "I saw you completed a core action yesterday and your team connected PagerDuty
    3 days ago. <closer>" from up to two positive product or marketing evidence lines
    that name who did it; addressed as "you" when the contact did it, "your team"
    otherwise. None when no line names anyone (nothing specific to say)."""
    contact = result.contact.person_id if result.contact is not None else None
    said: list[str] = []
    first: Evidence | None = None
    for line in result.evidence:
        if line.points <= 0 or line.dimension not in CLOSERS or not line.person_ids:
            continue
        rest = _without_who(account, line)
        if rest is None:
            continue
        subject = "you" if line.person_ids == (contact,) else "your team"
        # "you requested a demo and completed a core action": one subject said once.
        said.append(rest if said and said[0].startswith(subject + " ") else f"{subject} {rest}")
        first = first or line
        if len(said) == 2:
            break
    if first is None:
        return None
    return f"I saw {' and '.join(said)}. {CLOSERS[first.dimension]}"


def _without_who(account: AccountHistory, line: Evidence) -> str | None:
    """The evidence sentence without the people it starts with ("connected PagerDuty
    3 days ago"), or None when it does not start with them."""
    who = say.who([account.people.get(pid) for pid in line.person_ids])
    if not line.text.lower().startswith(who.lower() + " "):
        return None
    # Signal rules speak in the past tense ("connected", "requested"), which reads the
    # same after "you" and "your team".
    return line.text[len(who) + 1 :]
