"""An account without a name or domain is shown as "Account 7", and lookups accept that
label as typed (core.history.id_in_label), which `make mutate` found unpinned."""

from __future__ import annotations

import pytest

from tipoff.core.history import account_label, id_in_label


@pytest.mark.parametrize(
    ("typed", "account_id"),
    [
        ("Account 7", 7),
        (" account 42 ", 42),
        (account_label(1234, None, None), 1234),
        ("Acme", None),
        ("Account 7b", None),
        ("Account", None),
        ("my Account 7", None),
    ],
)
def test_an_account_is_found_by_its_id_label(typed: str, account_id: int | None) -> None:
    assert id_in_label(typed) == account_id
