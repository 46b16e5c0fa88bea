"""Identity rules: which account an email belongs to. Pure; the store applies them."""

from __future__ import annotations

import re

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
