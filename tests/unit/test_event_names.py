"""The model file's event-name mapping (core.event_names) and its checks."""

from __future__ import annotations

from importlib import resources

import pytest

from tipoff.core.event_names import EventNameMap, split_key
from tipoff.model import ModelFileError
from tipoff.model.loader import parse_model

DEFAULT = resources.files("tipoff.model").joinpath("default.yml").read_text("utf-8")


def test_a_key_is_a_name_or_a_name_and_a_path() -> None:
    assert split_key("$pageview /pricing") == ("$pageview", "/pricing")
    assert split_key("Page Viewed /Pricing/") == ("Page Viewed", "/pricing")
    assert split_key("demo_request_submitted") == ("demo_request_submitted", None)
    assert split_key("Clicked a/b test") == ("Clicked a/b test", None)


def test_the_longest_matching_path_wins_then_the_bare_name() -> None:
    names = EventNameMap.build(
        {"$pageview /pricing": "Pricing Page Viewed", "$pageview": "Session Started"},
        {"$pageview /pricing/enterprise": "Demo Requested"},
    )
    assert names.target("$pageview", "/pricing") == "Pricing Page Viewed"
    assert names.target("$pageview", "/PRICING/teams/") == "Pricing Page Viewed"
    assert names.target("$pageview", "/pricing/enterprise/form") == "Demo Requested"
    assert names.target("$pageview", "/pricing-old") == "Session Started"
    assert names.target("$pageview", None) == "Session Started"
    assert names.target("Signed Up", "/pricing") is None
    assert not EventNameMap.build({})


def test_a_sources_keys_replace_the_global_ones_for_that_source_only() -> None:
    model = parse_model(
        DEFAULT + '\nsource_event_names:\n  hubspot:\n    "$pageview /pricing": Demo Requested\n'
    )
    assert model.event_name_map("hubspot").target("$pageview", "/pricing") == "Demo Requested"
    assert model.event_name_map("web").target("$pageview", "/pricing") == "Pricing Page Viewed"
    assert model.event_name_map("hubspot").target("$pageview", "/billing") == "Billing Page Viewed"


@pytest.mark.parametrize(
    ("addition", "problem"),
    [
        ("source_event_names:\n  web:\n    form_sent: Demo Requestd\n", "maps to 'Demo Requestd'"),
        ("source_event_names:\n  web:\n    /pricing: Pricing Page Viewed\n", "needs an event name"),
        ("source_event_names:\n  web: [a, b]\n", "source_event_names.web"),
    ],
)
def test_a_mapping_outside_the_vocabulary_is_a_model_error(addition: str, problem: str) -> None:
    with pytest.raises(ModelFileError) as error:
        parse_model(DEFAULT + "\n" + addition)
    assert problem in str(error.value)


def test_a_page_path_is_read_only_for_events_a_path_key_maps() -> None:
    # Ingest looks for the page path (in the payload's context) only when it can matter.
    names = EventNameMap.build({"$pageview /pricing": "Pricing Page Viewed", "signup": "Signed Up"})
    assert names.reads_path("$pageview")
    assert not names.reads_path("signup")
    assert not names.reads_path("Something Else")
