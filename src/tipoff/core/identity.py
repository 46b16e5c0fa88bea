"""Identity rules: which account an email belongs to. Pure; the store applies them."""

from __future__ import annotations

import re
from collections.abc import Callable

# The kinds of id a person is known by (Segment's userId and anonymousId).
USER_ID = "user_id"
ANONYMOUS_ID = "anonymous_id"
# How a person came to be in their account: a `group` call put them there, or the domain
# of their email did. A group placement outranks a domain one.
VIA_GROUP = "group"
VIA_DOMAIN = "domain"

# Mailbox providers: an address there says nothing about the person's employer, so such
# a domain never forms an account of its own.
PERSONAL_EMAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "ymail.com",
        "hotmail.com", "hotmail.co.uk", "outlook.com", "live.com", "msn.com",
        "icloud.com", "me.com", "mac.com", "aol.com", "proton.me", "protonmail.com",
        "pm.me", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "yandex.com",
        "yandex.ru", "mail.ru", "qq.com", "163.com", "126.com", "zoho.com",
        "fastmail.com", "hey.com", "tutanota.com", "duck.com",
    }
)  # fmt: skip


def normalize_email(email: str | None) -> str | None:
    """Lower-cased, trimmed address, or None when it is not an address at all."""
    if not email:
        return None
    email = email.strip().lower()
    local, _, domain = email.rpartition("@")
    if not local or "." not in domain or " " in email:
        return None
    return email


def normalize_domain(value: str | None) -> str | None:
    """ "https://www.Acme.com/about" -> "acme.com"."""
    if not value:
        return None
    value = value.strip().lower()
    for prefix in ("https://", "http://"):
        value = value.removeprefix(prefix)
    value = value.split("/", 1)[0].split(":", 1)[0].removeprefix("www.").strip(".")
    return value if "." in value and " " not in value else None


# A host name as a company's domain is written: dot-separated labels of letters, digits
# and hyphens, ending in a top-level domain of letters.
_HOSTNAME = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_MAX_DOMAIN = 253


def domain_key(group_id: str) -> str | None:
    """The company domain a group's key is, when the key is one ("globex.com",
    "www.Globex.com", "https://globex.com/"), else None: an id ("org_42", "1.5"), an
    email address, a mailbox provider's domain."""
    domain = normalize_domain(group_id)
    if (
        domain is None
        or len(domain) > _MAX_DOMAIN
        or domain in PERSONAL_EMAIL_DOMAINS
        or not _HOSTNAME.fullmatch(domain)
    ):
        return None
    return domain


def account_search_text(text: str) -> str:
    """What someone typed to name an account, as the account search reads it: an email
    address names its company by its domain (kim@acme.com → acme.com), as Slack's
    `/tipoff` reads a mailto link; anything else is searched as typed."""
    email = normalize_email(text)
    return email.rpartition("@")[2] if email is not None else text.strip()


def company_domain(email: str | None) -> str | None:
    """The employer's domain of an address, or None for personal mailboxes."""
    normalized = normalize_email(email)
    if normalized is None:
        return None
    domain = normalized.rpartition("@")[2]
    return None if domain in PERSONAL_EMAIL_DOMAINS else domain


def group_domain(domain: str | None, website: str | None, *, longest: int) -> str | None:
    """The company domain a group's traits name (`domain`, else `website`), if it can key
    an account: a mailbox provider's domain never does, nor one longer than `longest`."""
    found = normalize_domain(domain) or normalize_domain(website)
    if found is None or found in PERSONAL_EMAIL_DOMAINS or len(found) > longest:
        return None
    return found


def one_person(user_email: str | None, anonymous_email: str | None) -> bool:
    """Whether the person of a userId and the person of an anonymousId seen with it in one
    call are one person: yes, unless each already has a different email (a shared
    device: the anonymous id then stays where it was)."""
    return not (user_email and anonymous_email and user_email != anonymous_email)


def placed_by_email(account_via: str | None) -> bool:
    """Whether a person's email may place them in its domain's account: not once a group
    call has placed them."""
    return account_via != VIA_GROUP


def survivor_takes_account(
    *,
    survivor_has_one: bool,
    survivor_via: str | None,
    loser_has_one: bool,
    loser_via: str | None,
) -> bool:
    """Whether, as one person is merged into another (the survivor), the survivor moves
    to the merged person's account: when the survivor has none, or a group placed the
    merged person and not the survivor."""
    return loser_has_one and (
        not survivor_has_one or (survivor_via != VIA_GROUP and loser_via == VIA_GROUP)
    )


def kept_placement(
    stored: tuple[int | None, str | None], placed: tuple[int | None, str | None]
) -> tuple[int | None, str | None]:
    """A person's (account id, how they came to it) once a unit of work that `placed`
    them writes, given what is `stored` now (another request may have placed them
    meanwhile): its placement, unless it is by domain and the stored one by group."""
    if stored[1] == VIA_GROUP and placed[1] == VIA_DOMAIN:
        return stored
    return placed


def crm_record_domain(
    domain: str | None,
    website: str | None,
    *,
    registrable: Callable[[str], str | None] | None = None,
) -> str | None:
    """The company domain a CRM account record names, as Tipoff keys accounts: its domain
    field as written, else its website ("https://www.Acme.com:8443/about" → "acme.com")
    cut to the domain a company registers by `registrable` (the Public Suffix List's,
    which the caller loads: "https://shop.acme.co.uk/en" → "acme.co.uk"; a website is
    often a shop's or a region's host, a domain field names the company). None when
    neither is a company's domain (empty, an id, a mailbox provider's, a public suffix)."""
    if (own := domain_key(domain or "")) is not None:
        return own
    site = domain_key(website or "")
    if site is None or registrable is None:
        return site
    owned = registrable(site)  # None for a public suffix itself ("co.uk"): no company's
    return domain_key(owned) if owned is not None else None
