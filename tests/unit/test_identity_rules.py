"""The pure identity rules (core.identity): which group keys name a company's domain."""

from __future__ import annotations

import pytest

from tipoff.core.identity import domain_key


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
