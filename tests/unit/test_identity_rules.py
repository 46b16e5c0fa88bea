"""The pure identity rules (core.identity): which group keys name a company's domain, which
ids are one person, and which account a person ends up in."""

from __future__ import annotations

import pytest

from tipoff.core.identity import (
    VIA_DOMAIN,
    VIA_GROUP,
    domain_key,
    group_domain,
    kept_placement,
    one_person,
    placed_by_email,
    survivor_takes_account,
)


@pytest.mark.parametrize(
    ("key", "domain"),
    [
        ("globex.com", "globex.com"),
        ("www.Globex.com", "globex.com"),
        ("https://globex.co.uk/about", "globex.co.uk"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        # Ids, not domains: these stay opaque group keys.
        ("org_42", None),
        ("1.5", None),
        ("v2.0", None),
        ("ceo@globex.com", None),
        ("globex", None),
        ("under_score.com", None),
        ("Globex Corp.", None),
        # A mailbox provider is no company.
        ("gmail.com", None),
    ],
)
def test_a_group_key_is_a_domain_only_when_it_is_written_as_one(
    key: str, domain: str | None
) -> None:
    assert domain_key(key) == domain


@pytest.mark.parametrize(
    ("domain", "website", "found"),
    [
        ("Globex.com", None, "globex.com"),
        (None, "https://www.globex.com/about", "globex.com"),
        ("globex.com", "initech.com", "globex.com"),
        ("not a domain", "initech.com", "initech.com"),
        ("gmail.com", None, None),
        ("a" * 60 + ".com", None, None),  # longer than the column keeps
        (None, None, None),
    ],
)
def test_a_group_keys_an_account_by_its_domain_else_its_website(
    domain: str | None, website: str | None, found: str | None
) -> None:
    assert group_domain(domain, website, longest=40) == found


def test_ids_seen_together_are_one_person_unless_both_have_other_emails() -> None:
    assert one_person("kim@acme.com", None)
    assert one_person(None, "kim@acme.com")
    assert one_person("kim@acme.com", "kim@acme.com")
    assert not one_person("kim@acme.com", "lee@acme.com")  # a shared device


def test_an_email_moves_a_person_unless_a_group_placed_them() -> None:
    assert placed_by_email(None)
    assert placed_by_email(VIA_DOMAIN)
    assert not placed_by_email(VIA_GROUP)


@pytest.mark.parametrize(
    ("survivor", "loser", "takes"),
    [
        ((False, None), (True, VIA_DOMAIN), True),
        ((True, VIA_DOMAIN), (True, VIA_GROUP), True),
        ((True, VIA_GROUP), (True, VIA_GROUP), False),
        ((True, VIA_DOMAIN), (True, VIA_DOMAIN), False),
        ((True, VIA_GROUP), (True, VIA_DOMAIN), False),
        ((False, None), (False, None), False),
    ],
)
def test_a_merged_persons_account_goes_to_the_survivor_when_it_ranks_higher(
    survivor: tuple[bool, str | None], loser: tuple[bool, str | None], takes: bool
) -> None:
    assert (
        survivor_takes_account(
            survivor_has_one=survivor[0],
            survivor_via=survivor[1],
            loser_has_one=loser[0],
            loser_via=loser[1],
        )
        is takes
    )


def test_a_group_placement_stored_meanwhile_outranks_a_domain_one() -> None:
    assert kept_placement((7, VIA_GROUP), (8, VIA_DOMAIN)) == (7, VIA_GROUP)
    assert kept_placement((7, VIA_DOMAIN), (8, VIA_GROUP)) == (8, VIA_GROUP)
    assert kept_placement((7, VIA_GROUP), (8, VIA_GROUP)) == (8, VIA_GROUP)
    assert kept_placement((7, VIA_DOMAIN), (8, VIA_DOMAIN)) == (8, VIA_DOMAIN)
    assert kept_placement((None, None), (8, VIA_DOMAIN)) == (8, VIA_DOMAIN)
