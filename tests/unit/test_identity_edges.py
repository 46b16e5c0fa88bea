"""Which account an address or a typed domain names (core.identity), at the edges
`make mutate` found unpinned (scoped with `MUTANTS="'tipoff.core.identity.*'"`): website
forms of a domain, the longest domain, personal mailboxes, addresses with a space."""

from __future__ import annotations

import pytest

from tipoff.core.identity import (
    account_search_text,
    company_domain,
    domain_key,
    normalize_domain,
    normalize_email,
)


@pytest.mark.parametrize(
    ("typed", "domain"),
    [
        ("https://www.Acme.com/about", "acme.com"),
        ("http://acme.com:8080/pricing", "acme.com"),
        ("acme.com:443", "acme.com"),
        ("https://acme.com/pricing/teams", "acme.com"),
        (" Acme.com. ", "acme.com"),
        ("acme", None),
        ("https://acme", None),
        ("acme corp.com", None),
        ("http://kim:secret@acme.com:8080/", None),  # a login in the address is no domain
        ("", None),
        (None, None),
    ],
)
def test_a_domain_is_read_from_how_people_write_a_website(
    typed: str | None, domain: str | None
) -> None:
    assert normalize_domain(typed) == domain


def test_a_domain_of_253_characters_is_the_longest_taken() -> None:
    longest = ".".join(["a" * 63] * 3 + ["b" * 57, "com"])
    assert len(longest) == 253
    assert domain_key(longest) == longest
    assert domain_key("c" + longest) is None


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        (" Kim@Acme.io ", "acme.io"),
        ("kim@gmail.com", None),  # a mailbox provider says nothing of the employer
        ("kim@mail.acme.io", "mail.acme.io"),
        ('"kim@home"@acme.com', "acme.com"),  # a quoted local part may hold an "@"
        ("kim lee@acme.io", None),
        ("kim@acme", None),
        ("@acme.io", None),
        ("not an address", None),
        (None, None),
    ],
)
def test_the_company_of_an_address(email: str | None, domain: str | None) -> None:
    assert company_domain(email) == domain


def test_an_address_with_a_space_or_no_domain_after_its_last_at_is_no_address() -> None:
    assert normalize_email("kim lee@acme.io") is None
    assert normalize_email(" Kim.Lee@Acme.io ") == "kim.lee@acme.io"
    # The domain is what follows the last "@": here none.
    assert normalize_email("kim@acme.io@localhost") is None


def test_an_address_typed_as_a_search_names_the_company_after_its_last_at() -> None:
    # A quoted local part may hold an "@" of its own (RFC 5321).
    assert account_search_text('"kim@home"@acme.com') == "acme.com"
    assert account_search_text("  Acme Corp ") == "Acme Corp"
