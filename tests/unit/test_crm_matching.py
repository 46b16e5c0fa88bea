"""Matching accounts to CRM records by domain: never a guess."""

from __future__ import annotations

import pytest
from publicsuffixlist import PublicSuffixList

from tipoff.core.identity import crm_record_domain
from tipoff.crm_sync import match_accounts


@pytest.mark.parametrize(
    ("domain", "website", "expected"),
    [
        ("acme.com", None, "acme.com"),
        (None, "https://www.Acme.com:8443/about?x=1", "acme.com"),
        ("", "http://acme.com/", "acme.com"),
        ("ACME.COM.", "other.com", "acme.com"),  # the domain field first
        ("not a domain", "acme.com", "acme.com"),
        (None, "gmail.com", None),  # a mailbox provider is no company's domain
        ("12345", None, None),
        (None, None, None),
        ("eu.acme.com", None, "eu.acme.com"),  # kept as Tipoff keys accounts
    ],
)
def test_a_records_domain_is_its_domain_else_its_website(
    domain: str | None, website: str | None, expected: str | None
) -> None:
    assert crm_record_domain(domain, website) == expected


def test_one_record_links_two_or_none_are_reported() -> None:
    matches = match_accounts(
        {1: "acme.com", 2: "dup.com", 3: "none.io", 4: None},
        {"10": "acme.com", "11": "dup.com", "9": "dup.com", "12": None, "13": "other.com"},
    )
    assert matches.linked == {1: "10"}
    assert matches.duplicates == {2: ("9", "11")}
    assert matches.unmatched == [3]
    assert matches.no_domain == [4]


@pytest.mark.parametrize(
    ("domain", "website", "expected"),
    [
        (None, "https://shop.eu.Umbrella.co.uk/en", "umbrella.co.uk"),
        (None, "https://eu.globex.com", "globex.com"),
        (None, "acme.herokuapp.com", "acme.herokuapp.com"),  # a host's customer is its own
        ("eu.globex.com", None, "eu.globex.com"),  # a domain field is taken as written
        (None, "co.uk", None),  # a suffix alone is no company's
    ],
)
def test_a_website_is_cut_to_the_domain_its_company_registers(
    domain: str | None, website: str | None, expected: str | None
) -> None:
    registrable = PublicSuffixList().privatesuffix
    assert crm_record_domain(domain, website, registrable=registrable) == expected
