"""Slack's formatted text, read back into what a rep typed. Pure: no I/O.

Slack sends slash-command text escaped: `&`, `<` and `>` arrive as `&amp;`, `&lt;` and
`&gt;`. With the command's `should_escape` on (manifest.yml), what Slack recognised as an
entity arrives in angle brackets instead of as typed:

    typed                           sent
    acme.com                        <http://acme.com|acme.com>
    https://www.acme.com/pricing    <https://www.acme.com/pricing>
    kim@acme.com                    <mailto:kim@acme.com|kim@acme.com>
    @maya                           <@U0123ABCD|maya>     (or <@U0123ABCD>)
    #sales                          <#C0123ABCD|sales>    (or <#C0123ABCD>)
    @here, @sales-team              <!here>, <!subteam^S0123ABCD|@sales-team>

`parse` splits text into plain strings and those entities, every string unescaped;
`lookup_text` turns them into the words an account search understands (a link is its
domain). Anything in angle brackets Slack never sends stays as it was typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit


def unescape(text: str) -> str:
    """Slack's three escapes undone; `&amp;` last, so `&amp;lt;` reads as `&lt;`."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    label: str | None  # what the rep typed, when Slack kept it

    @property
    def domain(self) -> str | None:
        """The host a web link points at (without `www.`), or a mailto address's domain."""
        if self.url.lower().startswith("mailto:"):
            _, at, domain = self.url[len("mailto:") :].partition("@")
            domain = domain.split("?", 1)[0].lower()
            return domain if at and domain else None
        try:
            host = urlsplit(self.url).hostname
        except ValueError:
            return None
        if not host:
            return None
        return host.removeprefix("www.")

    @property
    def text(self) -> str:
        return self.label if self.label is not None else self.url


@dataclass(frozen=True, slots=True)
class UserMention:
    user_id: str
    label: str | None


@dataclass(frozen=True, slots=True)
class ChannelMention:
    channel_id: str
    label: str | None


@dataclass(frozen=True, slots=True)
class SpecialMention:
    """`<!here>`, `<!channel>`, `<!subteam^S…|@team>`, `<!date^…|fallback>`."""

    name: str
    label: str | None


Part = str | Link | UserMention | ChannelMention | SpecialMention

_ENTITY = re.compile(r"<([^<>]*)>")
_USER = re.compile(r"^@([UW][A-Z0-9]+)$")
_CHANNEL = re.compile(r"^#([CGD][A-Z0-9]+)$")
_LINK = re.compile(r"^(?:https?://|mailto:)", re.IGNORECASE)
# A user ID typed as itself ("U0123ABCD"): Slack's IDs are U or W and 8+ characters.
_BARE_USER = re.compile(r"^[UW][A-Z0-9]{7,}$")


def parse(text: str) -> list[Part]:
    """`text` as Slack sent it, split into unescaped strings and entities, in order.
    Adjacent strings are joined; empty ones are left out."""
    parts: list[Part] = []
    at = 0
    for found in _ENTITY.finditer(text):
        _add(parts, unescape(text[at : found.start()]))
        entity = _entity(found.group(1))
        if entity is None:
            _add(parts, unescape(found.group(0)))
        else:
            parts.append(entity)
        at = found.end()
    _add(parts, unescape(text[at:]))
    return parts


def _add(parts: list[Part], text: str) -> None:
    if not text:
        return
    if parts and isinstance(parts[-1], str):
        parts[-1] += text
    else:
        parts.append(text)


def _entity(inner: str) -> Part | None:
    target, bar, label_text = inner.partition("|")
    label = unescape(label_text) if bar else None
    if user := _USER.match(target):
        return UserMention(user.group(1), label)
    if channel := _CHANNEL.match(target):
        return ChannelMention(channel.group(1), label)
    if target.startswith("!") and len(target) > 1:
        return SpecialMention(target[1:], label)
    if _LINK.match(target):
        return Link(unescape(target), label)
    return None


def plain_text(parts: list[Part]) -> str:
    """What the rep typed, as near as Slack lets us tell: links as their label (or URL),
    users as @name (or @ID), channels as #name."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Link):
            out.append(part.text)
        elif isinstance(part, UserMention):
            out.append(f"@{part.label or part.user_id}")
        elif isinstance(part, ChannelMention):
            out.append(f"#{part.label or part.channel_id}")
        else:
            out.append(part.label or f"@{part.name}")
    return "".join(out)


def lookup_text(parts: list[Part]) -> str:
    """The words an account search should read: as `plain_text`, except that a link is
    the domain it points at (`<https://www.acme.com/pricing>` and a mailto link to
    kim@acme.com both read as acme.com). Whitespace is collapsed."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, Link):
            out.append(part.domain or part.text)
        else:
            out.append(plain_text([part]))
    return " ".join("".join(out).split())


def user_id_of(part: Part) -> str | None:
    """The Slack user a part names: a mention, or a user ID typed bare."""
    if isinstance(part, UserMention):
        return part.user_id
    if isinstance(part, str) and _BARE_USER.match(part.strip()):
        return part.strip()
    return None
