"""The report's maths on small data sets worked out by hand (the comments show how)."""

from __future__ import annotations

import math

import pytest

from convsdk.goals import Funnel, Goal, GoalSet
from convsdk.report.dataset import VisitorStream
from convsdk.report.metrics import (
    build_report,
    funnel_report,
    goal_rows,
    lift_rows,
    time_to_convert,
)
from convsdk.report.stats import (
    median,
    normal_cdf,
    percentile,
    ratio_interval,
    two_proportion_z_test,
    wilson_interval,
)
from convsdk.report.summary import UTM, Dataset, GoalHits, VisitorSummary

S = 1_000_000  # microseconds in a second
M = 60 * S
H = 60 * M


def hits(*seconds: float, revenue: dict[str, float] | None = None) -> GoalHits:
    times = sorted(int(s * S) for s in seconds)
    return GoalHits(count=len(times), first=times[0], times=times, revenue=revenue)


def visitor(
    first_seen: float = 0,
    *,
    referrer: str = "(direct)",
    first_touch: UTM | None = None,
    last_touch: UTM | None = None,
    variant: str | None = None,
    **goals: GoalHits,
) -> VisitorSummary:
    return VisitorSummary(
        first_seen=int(first_seen * S),
        referrer=referrer,
        first_touch=first_touch,
        last_touch=last_touch,
        variant=variant,
        goals=dict(goals),
    )


def dataset(visitors: list[VisitorSummary], **kinds: str) -> Dataset:
    seen: dict[str, str] = dict(kinds)
    for v in visitors:
        for name in v.goals:
            seen.setdefault(name, "macro" if name in ("purchase", "signup") else "micro")
    return Dataset(visitors=visitors, events=10 * len(visitors), goal_kinds=seen)


# -- statistics --------------------------------------------------------------------------


def test_wilson_interval_matches_published_values() -> None:
    # Wilson (1927) intervals as tabulated by Newcombe (1998), z = 1.96.
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(4, 10) == pytest.approx((0.1682, 0.6873), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson_interval(0, 0) is None


def test_katz_interval_of_a_ratio() -> None:
    # 4/10 vs 3/10: ratio 4/3; se(ln) = sqrt(1/4 - 1/10 + 1/3 - 1/10) = 0.619139;
    # bounds 4/3 * exp(∓1.959964 * 0.619139) = 4/3 ÷ 3.365245, 4/3 × 3.365245.
    low, high = ratio_interval(4, 10, 3, 10)  # type: ignore[misc]
    assert (low, high) == pytest.approx((0.39621, 4.48695), abs=1e-5)
    # A zero count: 0.5 is added to each cell first, 0.5/11 against 3.5/11; ratio 1/7;
    # se = sqrt(1/0.5 - 1/11 + 1/3.5 - 1/11) = 1.450490.
    assert ratio_interval(0, 10, 3, 10) == pytest.approx((0.0083224, 2.4521888), abs=1e-6)
    assert ratio_interval(3, 10, 3, 0) is None


def test_two_proportion_z_test_by_hand() -> None:
    # 10/100 vs 20/100: pooled p = 30/200 = 0.15; se = sqrt(0.15 × 0.85 × (1/100 + 1/100))
    # = 0.0504975; z = 0.10 / 0.0504975 = 1.980295; p = 2 × (1 - Φ(1.980295)) = 0.047670.
    z, p = two_proportion_z_test(10, 100, 20, 100)  # type: ignore[misc]
    assert z == pytest.approx(1.980295, abs=1e-6)
    assert p == pytest.approx(0.047670, abs=1e-6)
    assert p == pytest.approx(2 * (1 - normal_cdf(z)), abs=1e-12)
    assert two_proportion_z_test(0, 100, 0, 100) is None  # nobody converted: nothing to test
    assert two_proportion_z_test(5, 0, 5, 10) is None


def test_median_and_interpolated_percentile() -> None:
    assert median([]) is None
    assert median([7]) == 7
    assert median([1, 3, 10, 20]) == 6.5
    assert percentile([10, 20], 0.9) == 19.0
    # rank 0.9 × 4 = 3.6: 40 + 0.6 × (50 - 40)
    assert percentile([10, 20, 30, 40, 50], 0.9) == 46.0
    assert percentile([5], 0.9) == 5.0


# -- goals -------------------------------------------------------------------------------

GOALS = GoalSet(
    [
        Goal.micro("newsletter", event="form_submit", role="secondary", stage="interest"),
        Goal.macro("purchase", event="checkout", stage="decision"),
        Goal.micro("signup", event="form_submit"),
    ]
)


def _shop() -> Dataset:
    data = dataset(
        [
            visitor(0, purchase=hits(100, 300, revenue={"USD": 30.0})),
            visitor(20, purchase=hits(50, revenue={"EUR": 5.0})),
            visitor(0, newsletter=hits(10), video=hits(40)),
            visitor(0),
        ],
        video="micro",
    )
    data.anonymous_goals["purchase"] = GoalHits(count=1, revenue={"USD": 7.0})
    return data


def test_goal_rows() -> None:
    rows = {r.goal: r for r in goal_rows(_shop(), GOALS)}
    # Defined goals in the file's order, then the ones only the events know.
    assert list(rows) == ["newsletter", "purchase", "signup", "video"]
    purchase = rows["purchase"]
    assert (purchase.kind, purchase.stage, purchase.defined) == ("macro", "decision", True)
    assert (purchase.conversions, purchase.visitors, purchase.conversion_rate) == (3, 2, 0.5)
    assert purchase.revenue == {"EUR": 5.0, "USD": 30.0}
    assert purchase.revenue_per_visitor == {"EUR": 1.25, "USD": 7.5}
    # First conversion minus first event: 100 s and 30 s; p90 = 30 + 0.9 × 70.
    assert (purchase.time_to_convert.median, purchase.time_to_convert.p90) == (65.0, 93.0)
    assert (purchase.anonymous_conversions, purchase.anonymous_revenue) == (1, {"USD": 7.0})
    assert rows["newsletter"].role == "secondary"
    assert rows["signup"].conversions == 0 and rows["signup"].conversion_rate == 0.0
    assert rows["signup"].time_to_convert.median is None
    video = rows["video"]
    assert (video.defined, video.kind, video.stage, video.conversion_rate) == (
        False,
        "micro",
        None,
        0.25,
    )


def test_summary_counts_anonymous_conversions_apart() -> None:
    report = build_report(_shop(), GOALS)
    s = report.summary
    assert (s.visitors, s.converters, s.micro_converters) == (4, 2, 1)
    assert s.conversion_rate == 0.5
    assert s.revenue == {"EUR": 5.0, "USD": 30.0}
    assert s.anonymous.conversions == 1 and s.anonymous.revenue == {"USD": 7.0}
    assert report.macro_goals == ["purchase"]
    assert report.micro_goals == ["newsletter", "signup", "video"]


def test_without_goal_file_kinds_come_from_the_events() -> None:
    report = build_report(_shop())
    assert [g.goal for g in report.goals] == ["newsletter", "purchase", "video"]
    assert report.funnels == []
    assert report.macro_goals == ["purchase"]


def test_revenue_is_exact_whatever_the_order() -> None:
    amounts = [0.1] * 10 + [1e9, -1e9]
    forwards = dataset([visitor(0, purchase=hits(1, revenue={"USD": a})) for a in amounts])
    backwards = dataset([visitor(0, purchase=hits(1, revenue={"USD": a})) for a in amounts[::-1]])
    assert goal_rows(forwards)[0].revenue == goal_rows(backwards)[0].revenue == {"USD": 1.0}


# -- funnels ----------------------------------------------------------------------------


def test_funnel_counts_only_in_order_and_in_window() -> None:
    funnel = Funnel("signup", ["a", "b", "c"], window="1h")
    data = dataset(
        [
            visitor(a=hits(0), b=hits(600), c=hits(1200)),  # 1: all three
            visitor(a=hits(0), c=hits(300), b=hits(600)),  # 2: c before b
            visitor(a=hits(0), b=hits(7200)),  # 3: b two hours after a
            visitor(b=hits(0, 900), a=hits(300), c=hits(1800)),  # 4: b before a ignored
            # 5: the first try stalls at b; the second, 3 h later, completes
            visitor(a=hits(0, 10800), b=hits(3000, 12600), c=hits(13200)),
            visitor(b=hits(0), c=hits(60)),  # 6: never did a
            visitor(),  # 7: nothing
        ]
    )
    report = funnel_report(data, funnel)
    a, b, c = report.steps
    assert [a.visitors, b.visitors, c.visitors] == [5, 4, 3]
    assert (b.conversion_from_previous, c.conversion_from_previous) == (0.8, 0.75)
    assert (c.conversion_overall, a.share_of_visitors) == (0.6, 5 / 7)
    assert (b.drop_off, b.drop_off_rate, c.drop_off, c.drop_off_rate) == (1, 0.2, 1, 0.25)
    assert (a.drop_off, a.conversion_from_previous) == (None, None)
    # a → b: 600 s for visitors 1, 2, 4 and 1800 s for 5: median 600, p90 600 + 0.7 × 1200.
    assert (b.time_from_previous.median, b.time_from_previous.p90) == (600.0, 1440.0)
    assert b.time_from_first == b.time_from_previous
    # b → c: 600, 900, 600 s; a → c: 1200, 1500, 2400 s.
    assert (c.time_from_previous.median, c.time_from_previous.p90) == (600.0, 840.0)
    assert (c.time_from_first.median, c.time_from_first.p90) == (1500.0, 2220.0)
    assert (report.completed, report.completion_rate, report.window_seconds) == (3, 0.6, 3600.0)


def test_funnel_step_at_the_same_moment_counts_and_the_window_edge_is_inside() -> None:
    funnel = Funnel("f", ["a", "b"], window=60)
    data = dataset([visitor(a=hits(5), b=hits(5)), visitor(a=hits(0), b=hits(60))])
    assert funnel_report(data, funnel).completed == 2


# -- micro → macro lift -------------------------------------------------------------------


def test_lift_of_a_micro_conversion_on_a_macro_one() -> None:
    data = dataset(
        [visitor(m=hits(0), purchase=hits(lag)) for lag in (60, 120, 300, 3600)]  # 4 did m first
        + [visitor(m=hits(0)) for _ in range(6)]  # 6 did m, never bought
        + [visitor(purchase=hits(0), m=hits(10))]  # bought first: counts as "did not"
        + [visitor(purchase=hits(0)) for _ in range(2)]
        + [visitor() for _ in range(7)]
    )
    (row,) = lift_rows(data, ["m"], ["purchase"])
    assert (row.did.visitors, row.did.converted, row.did.rate) == (10, 4, 0.4)
    assert (row.did_not.visitors, row.did_not.converted, row.did_not.rate) == (10, 3, 0.3)
    assert (row.did.ci_low, row.did.ci_high) == pytest.approx((0.1682, 0.6873), abs=1e-4)
    assert (row.did_not.ci_low, row.did_not.ci_high) == pytest.approx((0.1078, 0.6032), abs=1e-4)
    assert row.lift == pytest.approx(4 / 3)
    assert (row.lift_ci_low, row.lift_ci_high) == pytest.approx((0.39621, 4.48695), abs=1e-5)
    # Lags 60, 120, 300, 3600 s: median (120 + 300) / 2; p90 = 300 + 0.7 × 3300.
    assert (row.lag.count, row.lag.median, row.lag.p90) == (4, 210.0, 2610.0)


def test_lift_ranks_by_the_lower_bound_of_the_interval() -> None:
    # "rare": 1 of 2 bought, lift 4.98 but on two visitors; "common": 200 of 1,000 bought,
    # lift 3.96, measured on many; 100 of 2,000 others bought.
    data = dataset(
        [visitor(rare=hits(0), purchase=hits(5)), visitor(rare=hits(0))]
        + [visitor(common=hits(0), purchase=hits(5)) for _ in range(200)]
        + [visitor(common=hits(0)) for _ in range(800)]
        + [visitor(purchase=hits(0)) for _ in range(100)]
        + [visitor() for _ in range(1900)]
    )
    common, rare = lift_rows(data, ["rare", "common"], ["purchase"])
    assert (common.micro, rare.micro) == ("common", "rare")
    assert rare.lift == pytest.approx(0.5 / (300 / 3000))
    assert common.lift == pytest.approx(0.2 / (101 / 2002))
    assert rare.lift > common.lift  # type: ignore[operator]
    assert common.lift_ci_low > rare.lift_ci_low  # type: ignore[operator]


def test_lift_is_undefined_when_nobody_else_converted_but_still_ranked() -> None:
    data = dataset(
        [visitor(m=hits(0), purchase=hits(1)), visitor()]
        + [visitor(n=hits(0), purchase=hits(1)), visitor(n=hits(0)), visitor(purchase=hits(0))]
    )
    # m: 1 of 1 bought, and of the 4 others 2 did: 1 / 0.5 = 2; n: 1 of 2, others 2 of 3.
    # With only m's buyers: 1 of 1 against 0 of 1: corrected 1.5/2 against 0.5/2 = 3,
    # se = sqrt(1/1.5 - 1/2 + 1/0.5 - 1/2) = 1.290994: from 0.238905 to 37.671917.
    only_m = dataset([visitor(m=hits(0), purchase=hits(1)), visitor()])
    (row,) = lift_rows(only_m, ["m"], ["purchase"])
    assert (row.lift, row.did_not.rate, row.prerequisite) == (None, 0.0, True)
    assert (row.lift_ci_low, row.lift_ci_high) == pytest.approx((0.238905, 37.671917), abs=1e-6)
    assert [r.micro for r in lift_rows(data, ["n", "m"], ["purchase"])] == ["m", "n"]


def test_prerequisites_rank_after_the_signs_of_intent() -> None:
    # Every buyer started the checkout (a step, lift infinite); bloggers buy 2× as often.
    data = dataset(
        [visitor(checkout=hits(1), blog=hits(0), purchase=hits(2)) for _ in range(20)]
        + [visitor(checkout=hits(1), purchase=hits(2)) for _ in range(20)]
        + [visitor(checkout=hits(0), blog=hits(0)) for _ in range(20)]
        + [visitor(blog=hits(0)) for _ in range(20)]
        + [visitor() for _ in range(100)]
    )
    rows = lift_rows(data, ["checkout", "blog"], ["purchase"])
    assert [(r.micro, r.prerequisite) for r in rows] == [("blog", False), ("checkout", True)]
    assert rows[1].lift_ci_low > rows[0].lift_ci_low  # type: ignore[operator]


# -- breakdowns ---------------------------------------------------------------------------

GOOGLE: UTM = ("google", "cpc", "brand")
MAIL: UTM = ("newsletter", "email", None)


def test_breakdowns_by_first_and_last_touch_and_referrer() -> None:
    data = dataset(
        [
            visitor(
                first_touch=GOOGLE,
                last_touch=MAIL,
                referrer="google.com",
                purchase=hits(10, 20, revenue={"USD": 30.0}),
            ),
            visitor(first_touch=GOOGLE, last_touch=GOOGLE, purchase=hits(5, revenue={"EUR": 5.0})),
            visitor(referrer="(internal)", newsletter=hits(1)),
            visitor(),
        ]
    )
    b = build_report(data).breakdowns
    first = b.first_touch["source"]
    assert [(r.value, r.visitors, r.converters, r.conversions) for r in first] == [
        ("google", 2, 2, 3),
        ("(none)", 2, 0, 0),
    ]
    assert (first[0].conversion_rate, first[0].revenue) == (1.0, {"EUR": 5.0, "USD": 30.0})
    assert [(r.value, r.visitors) for r in b.last_touch["source"]] == [
        ("(none)", 2),
        ("google", 1),
        ("newsletter", 1),
    ]
    assert [r.value for r in b.last_touch["campaign"]] == ["(none)", "brand"]
    assert [(r.value, r.visitors) for r in b.referrer] == [
        ("(direct)", 2),
        ("(internal)", 1),
        ("google.com", 1),
    ]


def test_variants_are_tested_against_the_control() -> None:
    data = dataset(
        [visitor(variant="treatment", purchase=hits(1)) for _ in range(20)]
        + [visitor(variant="treatment") for _ in range(80)]
        + [visitor(variant="control", purchase=hits(1)) for _ in range(10)]
        + [visitor(variant="control") for _ in range(90)]
        + [visitor() for _ in range(3)]
    )
    v = build_report(data).breakdowns.variant
    assert v.control == "control"
    control, treatment, none = v.rows
    assert (control.value, control.z, control.p_value) == ("control", None, None)
    assert (treatment.value, treatment.conversion_rate) == ("treatment", 0.2)
    assert treatment.difference == pytest.approx(0.1)
    assert treatment.lift == pytest.approx(2.0)
    # The hand computation of test_two_proportion_z_test_by_hand.
    assert treatment.z == pytest.approx(1.980295, abs=1e-6)
    assert treatment.p_value == pytest.approx(0.047670, abs=1e-6)
    assert (none.value, none.visitors, none.p_value) == ("(none)", 3, None)


def test_several_variants_without_a_control_compare_with_the_first_by_name() -> None:
    data = dataset(
        [visitor(variant=name, purchase=hits(1)) for name in ("c", "a", "b")]
        + [visitor(variant=name) for name in ("c", "a", "b", "b")]
    )
    v = build_report(data).breakdowns.variant
    assert v.control == "a"
    assert [r.value for r in v.rows] == ["a", "b", "c"]
    # b: 1/3 vs a: 1/2; pooled 2/5; se = sqrt(0.4 × 0.6 × (1/2 + 1/3)) = 0.447214;
    # z = (1/3 - 1/2) / 0.447214 = -0.372678.
    assert v.rows[1].z == pytest.approx(-0.372678, abs=1e-6)
    assert v.rows[1].p_value == pytest.approx(math.erfc(0.372678 / math.sqrt(2)), abs=1e-6)


def test_time_to_convert_histogram() -> None:
    data = dataset(
        [
            visitor(0, purchase=hits(59)),  # < 1 min
            visitor(0, purchase=hits(60)),  # 1 min is the next bucket's first second
            visitor(100, purchase=hits(100 + 2 * 3600)),  # 1–6 h
            visitor(0, purchase=hits(40 * 86400)),  # 30+ days
            visitor(0, newsletter=hits(1)),  # no macro conversion
        ]
    )
    ttc = time_to_convert(data, ["purchase"])
    counts = {b.label: b.visitors for b in ttc.histogram}
    assert (counts["< 1 min"], counts["1–10 min"], counts["1–6 h"], counts["30+ days"]) == (
        1,
        1,
        1,
        1,
    )
    assert sum(counts.values()) == ttc.timing.count == 4
    assert ttc.timing.median == (60 + 7200) / 2


def test_report_json_is_stable_and_complete() -> None:
    report = build_report(_shop(), GOALS)
    data = report.to_dict()
    assert list(data) == [
        "version",
        "meta",
        "summary",
        "goals",
        "funnels",
        "lift",
        "breakdowns",
        "time_to_convert",
        "macro_goals",
        "micro_goals",
        "trend",
        "comparison",
        "segments",
        "attribution",
    ]
    assert data["trend"] is None and data["comparison"] is None  # only when asked for
    assert data["segments"] is None
    assert list(data["breakdowns"]) == [
        "first_touch",
        "last_touch",
        "referrer",
        "variant",
        "channel",
        "source_medium",
    ]
    assert report.to_json() == build_report(_shop(), GOALS, meta=report.meta).to_json()


def test_a_stream_of_people_gives_the_same_report_in_one_pass() -> None:
    # The SQL readers hand their people over as a stream read once, so that memory does
    # not grow with them: every section, trend and segments included, comes from one pass.
    goals = GoalSet(
        [*GOALS, Goal.micro("video", event="play")],
        funnels=[Funnel("buy", ["newsletter", "purchase"], window="1d")],
    )
    options = {"interval": "day", "by": "channel"}
    listed = build_report(_shop(), goals, **options)  # type: ignore[arg-type]
    data = _shop()
    data.visitors = stream = VisitorStream(list(data.visitors))
    streamed = build_report(data, goals, meta=listed.meta, **options)  # type: ignore[arg-type]
    assert streamed.to_json() == listed.to_json()
    assert streamed.segments is not None and streamed.segments.groups[0].visitors == 4
    with pytest.raises(RuntimeError, match="read once"):
        list(stream)
