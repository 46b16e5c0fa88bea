"""The report, the replay and the backtest on small histories whose every figure is
worked out by hand below (default model, tests.conftest.NOW)."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import NOW
from tipoff.core.history import AccountHistory, Person, Signal
from tipoff.model import load_default_model
from tipoff.model.loader import parse_model
from tipoff.quality.backtest import backtest, comparison_rows
from tipoff.quality.calibrate import candidate_text, rule_points
from tipoff.quality.changes import model_text
from tipoff.quality.dataset import QualityData, Verdict
from tipoff.quality.replay import replay
from tipoff.quality.report import build_report, report_sections
from tipoff.store.alerts import AlertRecord

DAY, HOUR = timedelta(days=1), timedelta(hours=1)
MODEL = load_default_model()


def account(
    id: int, domain: str, employees: int, signals: list[tuple[timedelta, int, str]], **people: str
) -> AccountHistory:
    persons = {n: Person(n, name, f"{name.lower()}@{domain}", title)
               for n, (name, title) in enumerate((p.split("|") for p in people.values()), 1)}  # fmt: skip
    return AccountHistory(
        id=id,
        domain=domain,
        name=domain.split(".")[0].title(),
        employees=employees,
        industry="Software",
        people=persons,
        signals=tuple(Signal(event, NOW - ago, who) for ago, who, event in signals),
    )


def verdict(id: int, alert: int | None, acct: int, user: str, what: str, ago: timedelta,
            reason: str | None = None) -> Verdict:  # fmt: skip
    return Verdict(id, alert, acct, user, what, reason, NOW - ago)


def report_data() -> QualityData:
    histories = {
        # Acme (250 people, mid-market): a VP and an engineer, fresh product activity.
        1: account(1, "acme.io", 250, [(1 * DAY, 1, "Core Action Completed"), (1 * DAY, 1, "Session Started"),
                                       (2 * DAY, 2, "Session Started"), (3 * DAY, 1, "Session Started")],
                   a="Dana|VP Engineering", b="Sam|Engineer"),
        # Tiny (5 people, SMB): one session; only the negative too_small rule applies.
        2: account(2, "tiny.dev", 5, [(2 * DAY, 1, "Session Started")], a="Ola|Engineer"),
        # Old: active 50 days ago, opportunity 10 days later: converted, never alerted.
        3: account(3, "old.io", 300, [(50 * DAY, 1, "Session Started"), (40 * DAY, 1, "Opportunity Created")],
                   a="Eli|Engineer"),
        # Quiet: active 45 days ago, nothing since: did not convert, never alerted.
        4: account(4, "quiet.io", 300, [(45 * DAY, 1, "Session Started")], a="Fay|Engineer"),
        # Known: an opportunity before its activity: already converted, left out.
        5: account(5, "known.io", 300, [(55 * DAY, 1, "Opportunity Created"), (50 * DAY, 1, "Session Started")],
                   a="Gus|Engineer"),
        # Stale: nothing in the period: not eligible at all.
        6: account(6, "stale.io", 300, [(90 * DAY, 1, "Session Started")], a="Hana|Engineer"),
        # Alerted 40 days ago, opportunity 10 days later: an alert that converted.
        7: account(7, "won.io", 300, [(41 * DAY, 1, "Session Started"), (30 * DAY, 1, "Opportunity Created")],
                   a="Ivo|Engineer"),
    }  # fmt: skip
    alerts = [
        AlertRecord(10, 1, "hot", 90, NOW - 12 * HOUR, NOW - 12 * HOUR + timedelta(minutes=2)),
        AlertRecord(11, 2, "sales-ready", 61, NOW - 20 * HOUR, None),
        AlertRecord(12, 7, "sales-ready", 64, NOW - 40 * DAY, None),
    ]
    verdicts = [
        verdict(1, 10, 1, "maya", "right", 11 * HOUR),
        verdict(2, 10, 1, "leo", "wrong", 11 * HOUR, "Already a customer"),
        verdict(3, 10, 1, "leo", "right", 10 * HOUR),  # leo changed his mind: Right counts
        verdict(4, 11, 2, "maya", "wrong", 10 * HOUR, "Too small"),
        verdict(5, None, 2, "leo", "wrong", 9 * HOUR),  # on a lookup, no reason
        # Claimed 90 minutes after Slack showed it.
        verdict(6, 10, 1, "maya", "claim", 12 * HOUR - timedelta(minutes=92)),
        # Claimed from a lookup, not the alert: counts for Won's alert (never sent), 3.5 h on.
        verdict(7, None, 7, "ines", "claim", 40 * DAY - timedelta(hours=3.5)),
    ]
    return QualityData(histories=histories, alerts=alerts, verdicts=verdicts)


def test_report_figures_worked_by_hand() -> None:
    report = build_report(report_data(), MODEL, since=NOW - 60 * DAY, now=NOW, days=30)

    assert report.alerts_by_track == {"hot": 1, "sales-ready": 2}
    assert report.alerted_accounts == 3
    # Newest verdict per rep per alert: maya Right and leo Right on Acme's alert, maya
    # Wrong on Tiny's alert, leo Wrong on Tiny outside an alert: 2 of 4.
    assert (report.precision.hits, report.precision.n) == (2, 4)
    assert {k: (p.hits, p.n) for k, p in report.precision_by_track.items()} == {
        "hot": (2, 2),
        "(not on an alert)": (0, 1),
        "sales-ready": (0, 1),
    }
    # Acme's score when its alert was queued (12 h ago) earned points from these rules;
    # Tiny's only rule (too_small) is negative, so its verdicts file under none.
    assert {k: (p.hits, p.n) for k, p in report.precision_by_rule.items()} == {
        rule: (2, 2)
        for rule in ("core_action", "decision_maker", "repeat_sessions", "rising", "second_active_user")
    }  # fmt: skip
    assert {k: (p.hits, p.n) for k, p in report.precision_by_segment.items()} == {
        "SMB (<200)": (0, 2),
        "mid-market (200–999)": (2, 2),
    }
    assert report.wrong_reasons == [("(no reason given)", 1), ("Too small", 1)]
    # Conversion within 30 days. Alerted: Won (alert 40 d ago, opportunity 30 d ago) 1 of
    # 1; Acme and Tiny were alerted under 30 days ago (too recent). Not alerted: Old
    # converted, Quiet did not: 1 of 2. Known had converted already; Stale is not eligible.
    c = report.conversion
    assert (c.alerted.hits, c.alerted.n, c.not_alerted.hits, c.not_alerted.n) == (1, 1, 1, 2)
    assert (c.too_recent, c.already_converted) == (2, 1)
    assert {k: (p.hits, p.n) for k, p in c.by_track.items()} == {"sales-ready": (1, 1)}
    assert c.lift.ratio == 2.0
    assert report.claims.claimed == 2 and report.claims.unclaimed == 1
    assert report.claims.median == timedelta(hours=2.5)  # of 1.5 h and 3.5 h

    sections = dict(report_sections(report))
    assert sections["Alerts by track"] == [
        "hot: 1",
        "sales-ready: 2",
        "total: 3 alerts for 3 accounts",
    ]
    assert sections["Precision (Right / Right+Wrong, newest verdict per rep)"][0] == (
        "overall: 50% (2 of 4; too few to tell)"
    )
    assert sections["Conversion to opportunity within 30 days"][2] == (
        "lift: 2.0× (too few to tell: 1 alerted, 2 not)"
    )
    assert sections["Time to claim"] == [
        "median 2.5 h from alert to claim (2 claimed, 1 not claimed)"
    ]


def test_without_claims_the_report_says_so() -> None:
    data = report_data()
    data = QualityData(
        data.histories, data.alerts, [v for v in data.verdicts if v.verdict != "claim"]
    )
    report = build_report(data, MODEL, since=NOW - 60 * DAY, now=NOW)
    assert dict(report_sections(report))["Time to claim"] == ["no claims recorded"]


def backtest_data() -> QualityData:
    # Beta (250 people, no decision-maker): a core action, three sessions and a second
    # user, all between 5 days and 4 days 19 h ago; an opportunity 2 days ago.
    # Gamma: one session 8 days ago, nothing else.
    beta = account(1, "beta.io", 250, [(5 * DAY - 1 * HOUR, 1, "Core Action Completed"),
                                       (5 * DAY - 2 * HOUR, 1, "Session Started"),
                                       (5 * DAY - 3 * HOUR, 1, "Session Started"),
                                       (5 * DAY - 4 * HOUR, 1, "Session Started"),
                                       (5 * DAY - 5 * HOUR, 2, "Session Started"),
                                       (2 * DAY, 1, "Opportunity Created")],
                   a="Bo|Engineer", b="Cy|Engineer")  # fmt: skip
    gamma = account(2, "gamma.io", 300, [(8 * DAY, 1, "Session Started")], a="Di|Engineer")
    return QualityData({1: beta, 2: gamma}, [], [verdict(1, None, 1, "maya", "right", 1 * DAY)])


def test_replay_fires_once_when_an_account_enters_an_alerting_track() -> None:
    replayed = replay(backtest_data().histories, MODEL, start=NOW - 10 * DAY, end=NOW)
    # Replayed at NOW − k days. At NOW − 5 d nothing had happened yet; at NOW − 4 d:
    # core 30 + sessions 20 + second user 20 + rising 5 = 75 ≥ 60 with product 70 ≥ 45:
    # sales-ready (75 < 80, so not hot). It stays there (no decay inside 7 days): one alert.
    assert [(a.account_id, a.at, a.track, a.score) for a in replayed.alerts] == [
        (1, NOW - 4 * DAY, "sales-ready", 75)
    ]
    assert replayed.alerts[0].rules == (
        "core_action",
        "repeat_sessions",
        "second_active_user",
        "rising",
    )
    assert {k: t.value for k, t in replayed.final_tracks.items()} == {
        1: "sales-ready",
        2: "low-touch",
    }


def test_backtest_side_by_side_worked_by_hand() -> None:
    # The candidate gives a core action 5 points: Beta's 75 becomes 50, below 60 (nurture).
    points = rule_points(MODEL) | {"core_action": 5.0}
    text = candidate_text(model_text(None), MODEL, points, "fewer-core-points")
    candidate = parse_model(text)
    assert [r.points for r in candidate.signals if r.id == "core_action"] == [5]
    assert "# Product: depth, frequency, breadth." in text  # comments kept

    result = backtest(backtest_data(), MODEL, candidate, since=NOW - 10 * DAY, now=NOW, days=3)
    cur, cand = result.current, result.candidate
    assert (len(cur.replay.alerts), len(cand.replay.alerts)) == (1, 0)
    assert result.leaving == [1] and result.entering == []
    # The recorded Right on Beta counts for the model that alerted it.
    assert (cur.precision.hits, cur.precision.n, cand.precision.n) == (1, 1, 0)
    # Within 3 days. Current: Beta alerted at NOW − 4 d, opportunity at NOW − 2 d: 1 of 1;
    # Gamma (first signal NOW − 8 d, no opportunity) 0 of 1. Candidate: Beta unalerted,
    # its clock starts at its first signal (NOW − 5 d + 1 h), the opportunity lands inside
    # 3 days: not-alerted 1 of 2.
    assert (cur.conversion.alerted.hits, cur.conversion.alerted.n) == (1, 1)
    assert (cur.conversion.not_alerted.hits, cur.conversion.not_alerted.n) == (0, 1)
    assert (
        cand.conversion.alerted.n,
        cand.conversion.not_alerted.hits,
        cand.conversion.not_alerted.n,
    ) == (0, 1, 2)
    rows = {name: (a, b) for name, a, b in comparison_rows(result)}
    assert rows["alerts that would have fired"] == ("1", "0")
    assert rows["precision vs recorded feedback"] == ("100% (1 of 1; too few to tell)", "none")
