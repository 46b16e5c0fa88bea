"""Slack's formatted text read back into what a rep typed (slack/formatted_text.py)."""

from __future__ import annotations

import pytest

from tipoff.core.identity import account_search_text
from tipoff.slack.formatted_text import (
    ChannelMention,
    Link,
    SpecialMention,
    UserMention,
    lookup_text,
    parse,
    plain_text,
    unescape,
    user_id_of,
)


def test_the_three_escapes_are_undone_ampersand_last() -> None:
    # Slack's "Escaping text": & → &amp;, < → &lt;, > → &gt;
    assert unescape("Ann O'Neil &amp; Sons") == "Ann O'Neil & Sons"
    assert unescape("a &lt;b&gt; c") == "a <b> c"
    assert unescape("&amp;lt;") == "&lt;"  # an escaped "&lt;" stays "&lt;"


def test_slacks_documented_entities_are_recognised() -> None:
    # The forms of Slack's "Formatting text for app surfaces" and of slash commands with
    # should_escape: links, mailto links, users, channels, special mentions, dates.
    assert parse(
        "<http://www.foo.com|www.foo.com> <mailto:bob@example.com|Bob> <@U024BE7LH> "
        "<@U012AB3CD|ilyuha> <#C024BE7LR> <#C012AB3CD|general> <!here> "
        "<!subteam^SAZ94GDB8|@sales-team> <!date^1392734382^{date_short}|Feb 18, 2014>"
    ) == [
        Link("http://www.foo.com", "www.foo.com"),
        " ",
        Link("mailto:bob@example.com", "Bob"),
        " ",
        UserMention("U024BE7LH", None),
        " ",
        UserMention("U012AB3CD", "ilyuha"),
        " ",
        ChannelMention("C024BE7LR", None),
        " ",
        ChannelMention("C012AB3CD", "general"),
        " ",
        SpecialMention("here", None),
        " ",
        SpecialMention("subteam^SAZ94GDB8", "@sales-team"),
        " ",
        SpecialMention("date^1392734382^{date_short}", "Feb 18, 2014"),
    ]


@pytest.mark.parametrize(
    ("sent", "looked_up"),
    [
        ("acme.com", "acme.com"),
        ("<http://acme.com|acme.com>", "acme.com"),
        ("<https://www.acme.com/pricing>", "acme.com"),
        ("<https://WWW.Acme.com:8443/pricing?x=1|acme pricing>", "acme.com"),
        ("<mailto:kim@acme.com|kim@acme.com>", "acme.com"),
        ("Ann O'Neil &amp; Sons", "Ann O'Neil & Sons"),
        ("  Acme   &lt;EU&gt; ", "Acme <EU>"),
        ("<ftp://acme.com>", "<ftp://acme.com>"),  # not a form Slack sends: kept as typed
        ("a < b", "a < b"),  # Slack would have escaped it; a raw one is just text
    ],
)
def test_lookup_text_is_what_an_account_search_should_read(sent: str, looked_up: str) -> None:
    assert lookup_text(parse(sent)) == looked_up


def test_plain_text_keeps_labels_and_names() -> None:
    sent = (
        "see <http://acme.com|acme.com> with <@U0MAYAREP01|maya> in <#C0SALES|sales> &amp; <!here>"
    )
    assert plain_text(parse(sent)) == "see acme.com with @maya in #sales & @here"


def test_labels_and_urls_are_unescaped_too() -> None:
    assert parse("<http://a.com/?x=1&amp;y=2|Tom &amp; Jerry>") == [
        Link("http://a.com/?x=1&y=2", "Tom & Jerry")
    ]


def test_a_user_is_a_mention_or_an_id_typed_bare() -> None:
    assert user_id_of(UserMention("U0JONREP002", "jon")) == "U0JONREP002"
    assert user_id_of("W0ENTERPRISE1") == "W0ENTERPRISE1"
    assert user_id_of("@jon") is None  # a name Slack did not resolve cannot be trusted
    assert user_id_of(ChannelMention("C0SALES", None)) is None


def test_link_domains() -> None:
    assert Link("https://www.acme.com/pricing", None).domain == "acme.com"
    assert Link("mailto:Kim@Acme.COM?subject=hi", "Kim").domain == "acme.com"
    assert Link("mailto:nobody", None).domain is None
    assert Link("http://[::1", None).domain is None  # a URL urllib cannot read


@pytest.mark.parametrize(
    ("typed", "searched"),
    [
        ("kim@acme.com", "acme.com"),
        (" Kim.Lee@ACME.com ", "acme.com"),
        ("Acme Corp", "Acme Corp"),
        ("acme.com", "acme.com"),
        ("@maya", "@maya"),
    ],
)
def test_an_email_address_names_its_company_in_a_search(typed: str, searched: str) -> None:
    # The command line's `tipoff score kim@acme.com` reads it as /tipoff's mailto link does.
    assert account_search_text(typed) == searched
