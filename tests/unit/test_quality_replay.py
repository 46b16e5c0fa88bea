"""The backtest replays the live alerting rules: cooldowns and re-alerts on a new strong
signal, not only entering a track."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tipoff.core.history import AccountHistory, Person, Signal
from tipoff.model import load_default_model
from tipoff.quality.replay import replay

END = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def hot_account_with_a_demo_request(days_ago: int) -> AccountHistory:
    vp = Person(1, "Ines Roy", "ines@acme.io", "VP Engineering")
    signals = [
        # Ten days ago: core 30 + 3 sessions 20 + integration 15 + VP title 15 = 80: hot.
        Signal("Core Action Completed", END - 10 * DAY, 1),
        Signal("Session Started", END - 10 * DAY, 1),
        Signal("Session Started", END - 11 * DAY, 1),
        Signal("Session Started", END - 12 * DAY, 1),
        Signal("Integration Connected", END - 10 * DAY, 1),
        # Then a demo request (+35: a strong signal) while the account stays hot.
        Signal("Demo Requested", END - days_ago * DAY, 1),
    ]
    return AccountHistory(1, "acme.io", "Acme", 250, "Software", {1: vp}, signals)


def test_a_new_strong_signal_after_the_cooldown_alerts_again_in_the_same_track() -> None:
    result = replay(
        {1: hot_account_with_a_demo_request(5)}, load_default_model(), start=END - 14 * DAY, end=END
    )
    assert [((END - a.at).days, a.track) for a in result.alerts] == [(10, "hot"), (5, "hot")]


def test_a_new_strong_signal_inside_the_cooldown_waits_for_it_to_end() -> None:
    # Demo requested a day after the alert: held back until the 72-hour cooldown is over.
    history = hot_account_with_a_demo_request(9)
    result = replay({1: history}, load_default_model(), start=END - 14 * DAY, end=END)
    assert [((END - a.at).days, a.track) for a in result.alerts] == [(10, "hot"), (7, "hot")]
