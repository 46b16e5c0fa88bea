"""The bundled demo history: it validates, every account lands on the track its story
claims under the default model, and it replays as well-formed Segment batches."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from importlib import resources
from itertools import pairwise
from typing import Any

import pytest

from tests.conftest import NOW
from tipoff.core.history import AccountHistory
from tipoff.core.routing import Track
from tipoff.core.scoring import ScoreResult, score_account
from tipoff.core.scoring_model import Exclusions
from tipoff.demo.sample_history import (
    DemoAccount,
    DemoHistory,
    DemoHistoryError,
    account_histories,
    load_history,
    parse_history,
    segment_batches,
    segment_messages,
)
from tipoff.ingest.segment import MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_EVENT_BYTES
from tipoff.model.loader import load_default_model

HISTORY = load_history()
MODEL = load_default_model()
ACCOUNTS = account_histories(HISTORY, now=NOW)
SCORES: dict[str, tuple[DemoAccount, AccountHistory, ScoreResult]] = {
    account.domain: (account, history, score_account(history, MODEL, NOW))
    for account, history in ACCOUNTS
}


def _scenario(letter: str) -> ScoreResult:
    (result,) = [r for a, _, r in SCORES.values() if a.scenario == letter]
    return result


def _explain(result: ScoreResult) -> str:
    lines = [f"score {result.score}, {result.dimensions}"]
    lines += [f"  {e.points:+.1f} {e.rule_id}: {e.text}" for e in result.evidence]
    return "\n".join(lines)


def _bundled_text() -> str:
    return resources.files("tipoff.demo").joinpath("history.yml").read_text("utf-8")


# ------------------------------------------------------------------------- the file


def test_the_bundled_history_is_a_realistic_spread_of_accounts() -> None:
    assert len(HISTORY.accounts) >= 32
    sizes = [a.employees for a in HISTORY.accounts]
    assert sum(1 for s in sizes if s < 100) >= 10  # many small companies
    assert sum(1 for s in sizes if s >= 2000) >= 3  # a few large ones
    assert len({a.industry for a in HISTORY.accounts}) >= 15
    for account in HISTORY.accounts:
        for person in account.people:
            domain = person.email.rpartition("@")[2]
            assert domain in (account.domain, "gmail.com"), person.email


def test_a_typo_in_the_file_is_reported_with_its_line() -> None:
    text = _bundled_text()
    line = text.splitlines().index("        title: VP Engineering") + 1
    broken = text.replace("        title: VP Engineering", "        tittle: VP Engineering", 1)
    with pytest.raises(DemoHistoryError) as caught:
        parse_history(broken, source="history.yml")
    (problem,) = caught.value.problems
    assert problem.line == line
    assert problem.message == "unknown key (a typo?)"
    assert str(problem).startswith(f"line {line}: accounts[1].people[0].tittle")


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (("ago: 2d4h,", "ago: 2 days,"), "'2 days' is not a time ago"),
        (("ago: 2d4h,", "ago: 400d,"), "more than a year ago"),
        (
            ("track: Demo Requested, ago: 2d4h", "page: Pricing, track: Demo Requested, ago: 2d4h"),
            "exactly one of `track`",
        ),
        (
            ("{page: Pricing, ago: 2d5h}", "{track: Pricing Page Viewed, ago: 2d5h}"),
            "send page visits as `page: Pricing`",
        ),
        (
            ("email: jin.park@helixfreight.com", "email: jin.park@orbitalgames.com"),
            "not at helixfreight.com",
        ),
        (
            ("email: jin.park@helixfreight.com", "email: priya.raman@helixfreight.com"),
            "appears more than once",
        ),
        (("expect: hot\n", "expect: urgent\n"), "Input should be 'hot'"),
    ],
)
def test_mistakes_in_the_history_are_explained(change: tuple[str, str], complaint: str) -> None:
    old, new = change
    text = _bundled_text()
    assert old in text
    with pytest.raises(DemoHistoryError) as caught:
        parse_history(text.replace(old, new, 1))
    assert complaint in str(caught.value)


def test_an_anonymous_visitor_must_identify_after_browsing() -> None:
    text = _bundled_text().replace(
        "{page: Pricing, ago: [4d3h, 3d22h], anonymous: true}",
        "{page: Pricing, ago: [4d3h, 1h], anonymous: true}",
    )
    with pytest.raises(DemoHistoryError, match="anonymous events must all come before"):
        parse_history(text)


# ------------------------------------------------------------------- the scores


@pytest.mark.parametrize("domain", list(SCORES))
def test_every_account_lands_on_the_track_its_story_claims(domain: str) -> None:
    account, history, result = SCORES[domain]
    assert result.track is account.expect, (
        f"{account.name} should be {account.expect} but scores {result.track}:\n" + _explain(result)
    )
    # `tipoff demo` rescores a little after the replay: no account sits on an edge.
    later = score_account(history, MODEL, NOW + timedelta(minutes=10))
    assert later.track is account.expect, _explain(later)


def test_every_track_is_shown_by_several_accounts() -> None:
    tracks = Counter(result.track for _, _, result in SCORES.values())
    assert tracks[Track.HOT] >= 3
    assert tracks[Track.SALES_READY] >= 4
    assert tracks[Track.MONITOR] >= 3
    assert tracks[Track.NURTURE] >= 4
    assert tracks[Track.LOW_TOUCH] >= 4


def test_both_signals_rank_clearly_above_either_alone() -> None:
    a, b, c = _scenario("A"), _scenario("B"), _scenario("C")
    assert (a.track, b.track, c.track) == (Track.NURTURE, Track.SALES_READY, Track.HOT)
    # At NOW: C 118, B 83, A 44. Scores have no cap, so the number shows the gap (C read
    # 100 when scores were capped there).
    assert (c.score, b.score, a.score) == (118, 83, 44), _explain(c)
    # C is B's adoption plus A's declared intent, and its evidence says both.
    c_rules = {e.rule_id for e in c.evidence}
    assert {"demo_request", "core_action", "second_active_user"} <= c_rules
    assert c.dimensions.product >= MODEL.routing.strong_product_at
    assert c.dimensions.marketing >= MODEL.routing.marketing_intent_at
    assert b.dimensions.marketing == 0
    assert a.dimensions.product == 0
    ranked = sorted(SCORES.values(), key=lambda s: (-s[2].score, -s[2].raw_points))
    positions = {s[0].scenario: i for i, s in enumerate(ranked) if s[0].scenario}
    assert positions["C"] < positions["B"] < positions["A"]


def test_no_two_alerting_accounts_tie_unless_their_evidence_is_identical() -> None:
    alerting = sorted(
        (r for _, _, r in SCORES.values() if r.track.alerts), key=lambda r: -r.raw_points
    )
    # With scores capped at 100, the five hot accounts all read 100.
    assert [(r.score, r.track.value) for r in alerting[:6]] == [
        (145, "hot"), (139, "hot"), (135, "hot"), (134, "hot"), (118, "hot"),
        (95, "sales-ready"),
    ]  # fmt: skip
    for first, second in pairwise(alerting):
        if first.score == second.score:
            evidence = [(e.rule_id, e.points) for e in first.evidence]
            assert evidence == [(e.rule_id, e.points) for e in second.evidence]


def test_an_account_that_qualified_six_weeks_ago_and_went_quiet_is_no_longer_hot() -> None:
    _, history, now_result = SCORES["juniperanalytics.com"]
    then = score_account(history, MODEL, NOW - timedelta(days=42))
    assert then.track is Track.HOT, _explain(then)
    assert now_result.track is Track.LOW_TOUCH, _explain(now_result)
    assert now_result.score <= 20
    assert "inactive" in {e.rule_id for e in now_result.evidence}


def test_the_excluded_test_domain_never_alerts_however_active() -> None:
    excluded = [s for s in SCORES.values() if MODEL.exclude.excludes(s[0].domain)]
    assert excluded
    without_exclusions = MODEL.model_copy(update={"exclude": Exclusions()})
    for account, history, result in excluded:
        assert result.excluded and not result.track.alerts and result.score == 0
        # It is the exclusion, not a lack of activity, that keeps it quiet.
        assert score_account(history, without_exclusions, NOW).track.alerts, account.name


def test_strong_usage_off_profile_is_monitored_not_alerted() -> None:
    off_profile = [
        (a, r)
        for a, _, r in SCORES.values()
        if a.employees < 10 or a.industry in ("Education", "Non-profit")
    ]
    strong = [(a, r) for a, r in off_profile if r.dimensions.product >= 45]
    assert {a.industry for a, _ in strong} >= {"Education"}
    assert any(a.employees < 10 for a, _ in strong)
    for account, result in strong:
        assert result.track is Track.MONITOR, f"{account.name}: {_explain(result)}"


def test_outcomes_are_recorded_on_hot_and_lost_accounts() -> None:
    outcomes = {
        (domain, signal.event)
        for domain, (_, history, _) in SCORES.items()
        for signal in history.signals
        if signal.event in MODEL.events.outcome
    }
    hot_with_opportunity = {
        d for d, e in outcomes if e == "Opportunity Created" and SCORES[d][2].track is Track.HOT
    }
    assert len(hot_with_opportunity) >= 2
    assert any(e == "Deal Lost" for _, e in outcomes)


# ---------------------------------------------------------------- the replay


def _messages() -> list[dict[str, Any]]:
    return [m for b in segment_batches(HISTORY, now=NOW) for m in b["batch"]]


def _parse(timestamp: object) -> datetime:
    assert isinstance(timestamp, str) and timestamp.endswith("Z")
    return datetime.fromisoformat(timestamp)


def test_segment_batches_are_valid_tracking_api_bodies() -> None:
    batches = segment_batches(HISTORY, now=NOW)
    vocabulary = {*MODEL.events.product, *MODEL.events.marketing, *MODEL.events.outcome}
    allowed = {
        "identify": {"type", "messageId", "userId", "anonymousId", "traits", "timestamp", "context"},
        "group": {"type", "messageId", "userId", "groupId", "traits", "timestamp", "context"},
        "track": {"type", "messageId", "userId", "anonymousId", "event", "properties", "timestamp", "context"},
        "page": {"type", "messageId", "userId", "anonymousId", "name", "properties", "timestamp", "context"},
    }  # fmt: skip
    ids: list[str] = []
    for body in batches:
        assert set(body) == {"batch", "sentAt"}
        assert _parse(body["sentAt"]) == NOW
        assert len(json.dumps(body).encode()) <= MAX_BATCH_BYTES
        assert len(body["batch"]) <= MAX_BATCH_EVENTS
        for message in body["batch"]:
            kind = message["type"]
            assert set(message) <= allowed[kind], message
            assert message.get("userId") or message.get("anonymousId"), message
            assert len(json.dumps(message).encode()) <= MAX_EVENT_BYTES
            ids.append(message["messageId"])
            assert _parse(message["timestamp"]) < NOW
            if kind == "track":
                assert message["event"] in vocabulary
            elif kind == "page":
                assert f"{message['name']} Page Viewed" in vocabulary
            elif kind == "group":
                assert message["groupId"] and message["traits"]["domain"]
    assert len(ids) == len(set(ids))
    kinds = Counter(m["type"] for b in batches for m in b["batch"])
    assert kinds["page"] and kinds["track"] and kinds["identify"] and kinds["group"]


def test_people_are_identified_and_grouped_before_they_act() -> None:
    messages = _messages()
    first_event = next(i for i, m in enumerate(messages) if m["type"] in ("track", "page"))
    setup = messages[:first_event]
    assert {m["type"] for m in setup} == {"identify", "group"}
    assert all(m["type"] in ("track", "page") for m in messages[first_event:])
    times = [_parse(m["timestamp"]) for m in messages[first_event:]]
    assert times == sorted(times)


def test_a_replay_sends_the_same_message_ids_so_ingest_deduplicates() -> None:
    first = _messages()
    later = [m for b in segment_batches(HISTORY, now=NOW + timedelta(hours=5)) for m in b["batch"]]
    assert [m["messageId"] for m in first] == [m["messageId"] for m in later]
    assert _parse(later[-1]["timestamp"]) - _parse(first[-1]["timestamp"]) == timedelta(hours=5)


def test_what_ingest_receives_is_what_the_core_scores() -> None:
    """The payloads, resolved the way ingest resolves them (userId or anonymousId to a
    person, a page named X to "X Page Viewed"), carry exactly the signals of
    `account_histories`; strays send events that count for no account."""
    messages = _messages()
    email_of: dict[object, str] = {}
    for m in messages:
        if m["type"] == "identify":
            email_of[m["userId"]] = m["traits"]["email"]
            if "anonymousId" in m:
                email_of[m["anonymousId"]] = m["traits"]["email"]
    grouped = {email_of[m["userId"]] for m in messages if m["type"] == "group"}
    sent = Counter(
        (
            email_of[m.get("userId") or m["anonymousId"]],
            m["event"] if m["type"] == "track" else f"{m['name']} Page Viewed",
            _parse(m["timestamp"]),
        )
        for m in messages
        if m["type"] in ("track", "page")
    )
    scored = Counter(
        (history.people[s.person_id].email, s.event, s.occurred_at)
        for _, history in ACCOUNTS
        for s in history.signals
        if s.person_id is not None
    )
    strays = {p.email for p in HISTORY.strays}
    assert strays and not strays & grouped
    assert all(email.endswith("@gmail.com") for email in strays)
    stray_events = Counter({k: n for k, n in sent.items() if k[0] in strays})
    assert stray_events  # strays do things...
    assert sent - stray_events == scored  # ...that count for no account
    # Everyone listed under an account is placed there by a group call, including a
    # founder who signed up with a gmail.com address.
    members = {p.email for a in HISTORY.accounts for p in a.people}
    assert grouped == members
    assert any(email.endswith("@gmail.com") for email in members)


def test_the_anonymous_visitor_identifies_later_and_keeps_their_history() -> None:
    messages = _messages()
    (identify,) = [m for m in messages if m["type"] == "identify" and "anonymousId" in m]
    anonymous = [m for m in messages if m.get("anonymousId") and m["type"] != "identify"]
    assert anonymous and all("userId" not in m for m in anonymous)
    assert {m["anonymousId"] for m in anonymous} == {identify["anonymousId"]}
    assert all(_parse(m["timestamp"]) < _parse(identify["timestamp"]) for m in anonymous)
    assert messages.index(identify) < min(messages.index(m) for m in anonymous)
    # Once tied to her, the anonymous pricing visits count for her account.
    domain = identify["traits"]["email"].rpartition("@")[2]
    evidence = {e.rule_id: e for e in SCORES[domain][2].evidence}
    assert identify["traits"]["name"] in evidence["pricing_visits"].text


def test_batches_stay_under_segments_limits_whatever_the_history() -> None:
    page = "x" * 20_000
    bulky = DemoHistory.model_validate(
        {
            "site": "https://beacon.example",
            "accounts": [
                {
                    "name": "Bulk Co",
                    "domain": "bulk.co",
                    "employees": 50,
                    "industry": "Software",
                    "expect": "low-touch",
                    "people": [
                        {
                            "name": "Bo Bulk",
                            "email": "bo@bulk.co",
                            "events": [
                                {
                                    "track": "Content Downloaded",
                                    "ago": [f"{d}d" for d in range(1, 61)],
                                    "properties": {"title": page},
                                }
                            ],
                        }
                    ],
                }
            ],
        }
    )
    batches = segment_batches(bulky, now=NOW, batch_size=500)
    assert len(batches) > 1
    assert all(len(json.dumps(b).encode()) <= MAX_BATCH_BYTES for b in batches)
    assert [m for b in batches for m in b["batch"]] == segment_messages(bulky, now=NOW)
    small = segment_batches(HISTORY, now=NOW, batch_size=100)
    assert all(len(b["batch"]) <= 100 for b in small)
    assert [m for b in small for m in b["batch"]] == _messages()


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        segment_batches(HISTORY, now=NOW.replace(tzinfo=None))
