"""Replays (backtest, calibrate, the review's figures) score every account on every past
day without words (`worded=False`): the numbers must be those of the scores reps see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tipoff.core.history import AccountHistory, Person, Signal
from tipoff.core.scoring import ScoreResult, score_account
from tipoff.demo.sample_history import account_histories, load_history
from tipoff.model import load_default_model
from tipoff.quality.replay import AccountScores

MODEL = load_default_model()
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
DAY = timedelta(days=1)
DEMO = [history for _, history in account_histories(load_history(), now=NOW)]


def excluded_and_inactive() -> list[AccountHistory]:
    """What the demo lacks: an excluded domain, and an account gone quiet."""
    person = Person(1, "Ana Lima", "ana@quiet.example", "Head of Platform")
    quiet = [Signal("Core Action Completed", NOW - (40 + n) * DAY, 1) for n in range(6)]
    return [
        AccountHistory(900, "quiet.example", "Quiet", 80, "Software", {1: person}, quiet),
        AccountHistory(901, MODEL.exclude.domains[0], "Ours", 10, None, {}, quiet),
    ]


ACCOUNTS = [*DEMO, *excluded_and_inactive()]
DAYS_BACK = (0, 4, 11, 30, 60)  # moments compared, before NOW


def numbers(result: ScoreResult) -> tuple[object, ...]:
    return (
        result.score,
        result.raw_points,
        result.dimensions,
        result.track,
        result.title_match,
        result.excluded,
        [(e.rule_id, e.dimension, e.points, e.at) for e in result.evidence],
    )


@pytest.mark.parametrize("days_back", DAYS_BACK)
def test_scores_without_words_have_the_numbers_of_the_scores_reps_see(days_back: int) -> None:
    at = NOW - days_back * DAY
    for history in ACCOUNTS:
        worded = score_account(history, MODEL, at)
        bare = score_account(history, MODEL, at, worded=False)
        assert numbers(bare) == numbers(worded), history.domain
        if not bare.excluded:
            assert bare.contact is None
            assert all(e.text == "" and e.person_ids == () for e in bare.evidence)


def test_the_comparison_covers_every_kind_of_evidence() -> None:
    """Fit by title, size and industry, product and marketing signals, each timing line,
    and an excluded account: every way a hit is made, worded or not."""
    seen = {
        e.rule_id
        for days_back in DAYS_BACK
        for history in ACCOUNTS
        for e in score_account(history, MODEL, NOW - days_back * DAY).evidence
    }
    fit = {rule.id for rule in MODEL.fit}
    assert {"excluded", "inactive", "rising", "fading"} <= seen
    assert fit <= seen, sorted(fit - seen)


def test_an_accounts_scores_at_many_moments_are_those_scored_afresh_at_each() -> None:
    """A replay makes an account's signals ready for summing once and scores them at
    every moment (`AccountScores`), in any order, before its first signal too: each score
    must be the one scored from the whole history at that moment."""
    nul = AccountHistory(
        902,
        "nul.example",
        "Nul",
        people={1: Person(1, "Ana", "ana@nul.example")},
        signals=[
            Signal("Integration Connected", NOW - 3 * DAY, 1, {"integration": "Sl\x00ack"}),
            Signal("Integration Connected", NOW - 5 * DAY, 1, {"integration": "Jira"}),
        ],
    )
    moments = [NOW - days * DAY for days in (11, 400, 0, 60, 4, 200, 30, 11)]
    for history in [*ACCOUNTS, nul]:
        scores = AccountScores(history, MODEL)
        for at in moments:
            assert scores(at) == score_account(history, MODEL, at, worded=False), (
                history.domain,
                at,
            )
