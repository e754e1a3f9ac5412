"""The review's reading of the plan, with the 2021 campaign's own numbers: targets, ranking, prizes, individuals."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.review.rules import (
    OUT_REASONS,
    Counts,
    IndividualCandidate,
    IndividualVerdict,
    Placing,
    Rejection,
    Standing,
    Status,
    assess_targets,
    collective_left_out,
    individual_left_out,
    judge_individuals,
    meets_targets,
    out_reason,
    place_campaign,
    place_track,
)
from shared.campaigns import Campaign, Unit, default_campaign

CAMPAIGN = default_campaign()
DISTRICT = [unit.code for unit in CAMPAIGN.units_of("district")]
COMMUNES = [unit.code for unit in CAMPAIGN.units_of("commune")]
ALL_UNITS = DISTRICT + COMMUNES
APPRAISED = Status.APPRAISED
NOT_APPRAISED = [status for status in Status if status is not APPRAISED]
EXAMPLES = settings(max_examples=200, deadline=None)


def counts(online: int = 90, total: int = 100, online_procedures: int = 8, total_procedures: int = 10) -> Counts:
    """Defaults: 90 % of case files online, 80 % of procedures covered: comfortably meets both targets."""
    return Counts(online, total, online_procedures, total_procedures)


def appraised(unit: str, figures: Counts | None = None) -> Standing:
    return Standing(unit, APPRAISED, figures or counts())


def with_rules(campaign: Campaign = CAMPAIGN, **changes: Any) -> Campaign:
    return dataclasses.replace(campaign, rules=dataclasses.replace(campaign.rules, **changes))


def with_individuals(campaign: Campaign = CAMPAIGN, **changes: Any) -> Campaign:
    return dataclasses.replace(campaign, individuals=dataclasses.replace(campaign.individuals, **changes))


def by_unit(placings: Iterable[Placing]) -> dict[str, Placing]:
    return {placing.unit: placing for placing in placings}


def prize_ranks(placings: Iterable[Placing]) -> dict[str, int]:
    return {placing.unit: placing.prize.rank for placing in placings if placing.prize is not None}


def target(figures: Counts, code: str, campaign: Campaign = CAMPAIGN) -> Any:
    (result,) = [result for result in assess_targets(figures, campaign) if result.code == code]
    return result


# --- the targets -------------------------------------------------------------------------------------------


def test_a_case_file_rate_of_exactly_60_percent_meets_the_target() -> None:
    result = target(counts(600, 1000), "case_file_rate")
    assert result.rate == Fraction(3, 5)
    assert result.threshold == Fraction(3, 5)
    assert result.met


@pytest.mark.parametrize(("online", "total"), [(5999, 10000), (599, 1000), (59999, 100000)])
def test_a_case_file_rate_just_below_60_percent_does_not_meet_the_target(online: int, total: int) -> None:
    result = target(counts(online, total), "case_file_rate")
    assert result.rate == Fraction(online, total)
    assert not result.met


def test_a_procedure_coverage_of_exactly_50_percent_meets_the_target() -> None:
    result = target(counts(online_procedures=50, total_procedures=100), "procedure_coverage")
    assert result.rate == Fraction(1, 2)
    assert result.met


def test_a_procedure_coverage_of_49_percent_does_not_meet_the_target() -> None:
    result = target(counts(online_procedures=49, total_procedures=100), "procedure_coverage")
    assert result.rate == Fraction(49, 100)
    assert not result.met


def test_rates_are_exact_fractions() -> None:
    figures = counts(1, 3, 2, 3)
    assert figures.case_file_rate() == Fraction(1, 3)
    assert figures.procedure_coverage() == Fraction(2, 3)
    assert figures.value("online_case_files") == 1
    assert figures.value("online_procedures") == 2


def test_a_zero_total_gives_no_rate_and_does_not_meet_the_target() -> None:
    figures = counts(0, 0)
    assert figures.case_file_rate() is None
    assert counts(online_procedures=0, total_procedures=0).procedure_coverage() is None
    result = target(figures, "case_file_rate")
    assert result.rate is None
    assert not result.met
    assert not meets_targets(assess_targets(figures, CAMPAIGN), CAMPAIGN)


def test_a_zero_total_meets_the_target_when_the_campaign_says_so() -> None:
    lenient = with_rules(zero_total_meets_target=True)
    figures = counts(0, 0)
    result = target(figures, "case_file_rate", lenient)
    assert result.rate is None
    assert result.met
    assert meets_targets(assess_targets(figures, lenient), lenient)


def test_both_targets_are_required_by_default() -> None:
    figures = counts(90, 100, 4, 10)  # case files 90 %, coverage 40 %
    assert CAMPAIGN.rules.targets_required == "all"
    assert not meets_targets(assess_targets(figures, CAMPAIGN), CAMPAIGN)
    placing = by_unit(place_track([appraised("tu-phap", figures)], CAMPAIGN, "district"))["tu-phap"]
    assert placing.out == ("procedure_coverage_missed",)
    assert not placing.qualifies


def test_one_target_is_enough_when_the_campaign_requires_any() -> None:
    lenient = with_rules(targets_required="any")
    figures = counts(90, 100, 4, 10)
    assert meets_targets(assess_targets(figures, lenient), lenient)
    placing = by_unit(place_track([appraised("tu-phap", figures)], lenient, "district"))["tu-phap"]
    assert placing.qualifies
    assert placing.out == ()
    assert [result.met for result in placing.targets] == [True, False]  # the miss is still shown
    neither = by_unit(place_track([appraised("tu-phap", counts(10, 100, 4, 10))], lenient, "district"))["tu-phap"]
    assert neither.out == ("case_file_rate_missed", "procedure_coverage_missed")


def test_the_targets_come_in_the_campaign_order() -> None:
    assert [result.code for result in assess_targets(counts(), CAMPAIGN)] == [t.code for t in CAMPAIGN.targets]
    assert [result.name for result in assess_targets(counts(), CAMPAIGN)] == [t.name for t in CAMPAIGN.targets]


@pytest.mark.parametrize("bad", [(5, 4, 1, 1), (1, 1, 3, 2), (-1, 4, 1, 1), (1, 1, 0, -1)])
def test_impossible_counts_are_refused(bad: tuple[int, int, int, int]) -> None:
    with pytest.raises(ValueError):
        Counts(*bad)


def test_an_unknown_metric_is_refused() -> None:
    with pytest.raises(KeyError):
        counts().value("total_case_files")


# --- the ranking -------------------------------------------------------------------------------------------

# Two units that differ at exactly one ranking key, the better one first.
PAIRS = {
    "case_file_rate": (counts(90, 100), counts(90, 150)),  # 90 % vs 60 %; coverage and online count equal
    "procedure_coverage": (counts(90, 100, 8, 10), counts(90, 100, 7, 10)),
    "online_case_files": (counts(900, 1000), counts(90, 100)),  # both 90 %, coverage equal
}


@pytest.mark.parametrize("key", list(PAIRS))
@pytest.mark.parametrize("flip", [False, True])
def test_units_that_differ_at_one_key_are_ranked_by_it(key: str, flip: bool) -> None:
    better, worse = PAIRS[key]
    others = [k for k in CAMPAIGN.rules.ranking_keys if k != key]
    assert [better.value(k) for k in others] == [worse.value(k) for k in others]
    standings = [appraised("tu-phap", better), appraised("noi-vu", worse)]
    placings = place_track(standings[::-1] if flip else standings, CAMPAIGN, "district")
    assert [(p.unit, p.rank, p.tie) for p in placings[:2]] == [("tu-phap", 1, ()), ("noi-vu", 2, ())]
    assert prize_ranks(placings) == {"tu-phap": 1, "noi-vu": 2}


def test_the_ranking_is_by_case_file_rate_then_coverage_then_online_case_files() -> None:
    assert CAMPAIGN.rules.ranking_keys == ("case_file_rate", "procedure_coverage", "online_case_files")
    standings = [
        appraised("noi-vu", counts(90, 150, 7, 10)),  # 60 %: last, despite nothing else being worse
        appraised("tu-phap", counts(90, 100, 7, 10)),  # 90 %, coverage 70 %
        appraised("kinh-te-ha-tang", counts(90, 100, 8, 10)),  # 90 %, coverage 80 %, 90 online
        appraised("tai-chinh-ke-hoach", counts(900, 1000, 8, 10)),  # 90 %, coverage 80 %, 900 online
    ]
    placings = place_track(standings, CAMPAIGN, "district")
    assert [(p.unit, p.rank) for p in placings[:4]] == [
        ("tai-chinh-ke-hoach", 1),
        ("kinh-te-ha-tang", 2),
        ("tu-phap", 3),
        ("noi-vu", 4),
    ]
    assert prize_ranks(placings) == {"tai-chinh-ke-hoach": 1, "kinh-te-ha-tang": 2, "tu-phap": 3}


def test_an_earlier_key_outweighs_every_later_one() -> None:
    standings = [
        appraised("tu-phap", counts(61, 100, 5, 10)),  # 61 %, coverage 50 %, 61 online
        appraised("noi-vu", counts(600, 1000, 10, 10)),  # 60 %, coverage 100 %, 600 online
    ]
    assert [p.unit for p in place_track(standings, CAMPAIGN, "district")[:2]] == ["tu-phap", "noi-vu"]


def test_the_ranking_keys_are_the_campaigns() -> None:
    by_count = with_rules(ranking_keys=("online_case_files",))
    standings = [appraised("tu-phap", counts(61, 100)), appraised("noi-vu", counts(600, 1000))]
    assert [p.unit for p in place_track(standings, by_count, "district")[:2]] == ["noi-vu", "tu-phap"]


def test_the_unranked_units_come_after_the_ranked_ones_in_a_stable_order() -> None:
    standings = [
        appraised("tu-phap", counts(70, 100)),
        appraised("noi-vu", counts(10, 100)),  # misses the case-file target
        Standing("kinh-te-ha-tang", Status.RETURNED, counts(95, 100)),
        Standing("tai-chinh-ke-hoach", Status.IN_REVIEW, counts(95, 100)),
    ]
    placings = place_track(standings, CAMPAIGN, "district")
    assert [p.unit for p in placings] == [
        "tu-phap",
        "kinh-te-ha-tang",  # 95 %, then by unit code
        "tai-chinh-ke-hoach",
        "noi-vu",  # 10 %
        # no figures: by unit code
        "giao-duc-dao-tao",
        "lao-dong-tbxh",
        "nong-nghiep-ptnt",
        "tai-nguyen-moi-truong",
        "van-hoa-thong-tin",
    ]
    assert [p.rank for p in placings] == [1] + [None] * 8


# --- ties ----------------------------------------------------------------------------------------------------

TIED = [
    appraised("tu-phap", counts(90, 100, 8, 10)),
    appraised("noi-vu", counts(90, 100, 8, 10)),
    appraised("kinh-te-ha-tang", counts(80, 100, 8, 10)),
]


def test_a_tie_on_every_key_shares_the_rank_and_is_flagged_with_both_units() -> None:
    placings = by_unit(place_track(TIED, CAMPAIGN, "district"))
    assert placings["noi-vu"].rank == placings["tu-phap"].rank == 1
    assert placings["kinh-te-ha-tang"].rank == 3
    assert placings["noi-vu"].tie == ("tu-phap",)
    assert placings["tu-phap"].tie == ("noi-vu",)
    assert placings["kinh-te-ha-tang"].tie == ()


def test_under_the_council_policy_a_tie_lists_the_contested_prizes_and_awards_none() -> None:
    assert CAMPAIGN.rules.tie_policy == "council"
    placings = by_unit(place_track(TIED, CAMPAIGN, "district"))
    for unit in ("tu-phap", "noi-vu"):
        assert placings[unit].prize is None
        assert placings[unit].contested == (1, 2)
    third = placings["kinh-te-ha-tang"]
    assert third.prize is not None
    assert (third.prize.rank, third.prize.name, third.prize.amount) == (3, "Giải ba", 1_500_000)
    assert third.contested == ()


def test_under_the_share_policy_both_hold_the_same_prize_and_the_next_unit_gets_3rd() -> None:
    placings = by_unit(place_track(TIED, with_rules(tie_policy="share"), "district"))
    assert placings["tu-phap"].prize == placings["noi-vu"].prize == CAMPAIGN.track("district").prizes[0]
    assert placings["tu-phap"].contested == placings["noi-vu"].contested == ()
    assert placings["tu-phap"].tie == ("noi-vu",)
    assert placings["kinh-te-ha-tang"].rank == 3
    assert prize_ranks(placings.values()) == {"tu-phap": 1, "noi-vu": 1, "kinh-te-ha-tang": 3}


def test_equal_rates_tie_whatever_the_fractions_look_like() -> None:
    two_keys = with_rules(ranking_keys=("case_file_rate", "procedure_coverage"))
    standings = [appraised("tu-phap", counts(90, 100, 4, 5)), appraised("noi-vu", counts(9, 10, 8, 10))]
    placings = by_unit(place_track(standings, two_keys, "district"))
    assert placings["tu-phap"].rank == placings["noi-vu"].rank == 1
    assert placings["tu-phap"].tie == ("noi-vu",)


def test_a_tie_across_the_end_of_the_ladder_contests_only_the_prizes_left() -> None:
    standings = [
        appraised("tu-phap", counts(99, 100)),
        appraised("noi-vu", counts(95, 100)),
        appraised("kinh-te-ha-tang", counts(90, 100)),
        appraised("tai-chinh-ke-hoach", counts(90, 100)),
    ]
    council = by_unit(place_track(standings, CAMPAIGN, "district"))
    assert prize_ranks(council.values()) == {"tu-phap": 1, "noi-vu": 2}
    assert council["kinh-te-ha-tang"].contested == council["tai-chinh-ke-hoach"].contested == (3,)
    assert council["kinh-te-ha-tang"].rank == council["tai-chinh-ke-hoach"].rank == 3
    share = by_unit(place_track(standings, with_rules(tie_policy="share"), "district"))
    assert prize_ranks(share.values()) == {"tu-phap": 1, "noi-vu": 2, "kinh-te-ha-tang": 3, "tai-chinh-ke-hoach": 3}


def test_a_tie_below_the_ladder_is_flagged_but_contests_nothing() -> None:
    standings = [
        appraised("tu-phap", counts(99, 100)),
        appraised("noi-vu", counts(95, 100)),
        appraised("kinh-te-ha-tang", counts(92, 100)),
        appraised("tai-chinh-ke-hoach", counts(90, 100)),
        appraised("lao-dong-tbxh", counts(90, 100)),
    ]
    placings = by_unit(place_track(standings, CAMPAIGN, "district"))
    assert placings["lao-dong-tbxh"].rank == placings["tai-chinh-ke-hoach"].rank == 4
    assert placings["lao-dong-tbxh"].tie == ("tai-chinh-ke-hoach",)
    assert placings["lao-dong-tbxh"].contested == ()
    assert placings["lao-dong-tbxh"].prize is None
    assert prize_ranks(placings.values()) == {"tu-phap": 1, "noi-vu": 2, "kinh-te-ha-tang": 3}


# --- the prize ladder: the small-track rule ----------------------------------------------------------------


def test_a_district_track_with_two_qualifying_units_gets_1st_and_2nd_only() -> None:
    standings = [appraised("tu-phap", counts(95, 100)), appraised("noi-vu", counts(90, 100))]
    standings += [Standing(code, APPRAISED, counts(10, 100)) for code in DISTRICT[2:]]  # all miss the target
    placings = place_track(standings, CAMPAIGN, "district")
    assert prize_ranks(placings) == {"tu-phap": 1, "noi-vu": 2}
    assert [p.prize.name for p in placings if p.prize] == ["Giải nhất", "Giải nhì"]


def test_a_district_track_with_one_qualifying_unit_gets_1st_only() -> None:
    placings = place_track([appraised("van-hoa-thong-tin", counts(60, 100, 2, 3))], CAMPAIGN, "district")
    assert prize_ranks(placings) == {"van-hoa-thong-tin": 1}


def test_a_track_with_no_qualifying_unit_gets_no_prize() -> None:
    standings = [Standing(code, APPRAISED, counts(59, 100)) for code in DISTRICT]
    placings = place_track(standings, CAMPAIGN, "district")
    assert len(placings) == len(DISTRICT)
    assert all(p.prize is None and p.rank is None and p.contested == () for p in placings)


def test_the_commune_track_of_12_with_5_qualifying_units_gets_exactly_3_prizes() -> None:
    qualifying = COMMUNES[:5]
    standings = [appraised(code, counts(95 - i, 100)) for i, code in enumerate(qualifying)]
    standings += [Standing(code, Status.IN_REVIEW, counts(99, 100)) for code in COMMUNES[5:]]
    placings = place_track(standings, CAMPAIGN, "commune")
    assert len(placings) == 12
    assert [p.unit for p in placings[:5]] == qualifying
    assert [p.rank for p in placings] == [1, 2, 3, 4, 5] + [None] * 7
    assert prize_ranks(placings) == dict(zip(qualifying, (1, 2, 3), strict=False))
    assert sum(p.prize.amount for p in placings if p.prize) == CAMPAIGN.track("commune").total


def test_place_campaign_places_every_track_separately() -> None:
    standings = [appraised(code, counts(90 - i, 100)) for i, code in enumerate(ALL_UNITS)]
    placings = place_campaign(standings, CAMPAIGN)
    assert list(placings) == ["district", "commune"]
    assert sorted(p.unit for p in placings["district"]) == sorted(DISTRICT)
    assert sorted(p.unit for p in placings["commune"]) == sorted(COMMUNES)
    assert prize_ranks(placings["district"]) == {DISTRICT[0]: 1, DISTRICT[1]: 2, DISTRICT[2]: 3}
    assert prize_ranks(placings["commune"]) == {COMMUNES[0]: 1, COMMUNES[1]: 2, COMMUNES[2]: 3}
    assert {p.track for p in placings["commune"]} == {"commune"}


# --- who is out, and why -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (Status.NO_DOSSIER, "no_dossier"),
        (Status.RETURNED, "returned"),
        (Status.WITHDRAWN, "withdrawn"),
        (Status.IN_REVIEW, "in_review"),
        (Status.REJECTED, "rejected"),
    ],
)
def test_a_unit_not_appraised_is_out_but_still_shows_its_rates(status: Status, code: str) -> None:
    standings = [Standing("tu-phap", status, counts(95, 100, 9, 10)), appraised("noi-vu", counts(61, 100))]
    placings = by_unit(place_track(standings, CAMPAIGN, "district"))
    out = placings["tu-phap"]
    assert out.out == (code,)
    assert not out.qualifies
    assert (out.rank, out.prize, out.tie, out.contested) == (None, None, (), ())
    assert [result.rate for result in out.targets] == [Fraction(95, 100), Fraction(9, 10)]
    assert out.meets_targets
    assert prize_ranks(placings.values()) == {"noi-vu": 1}


def test_a_unit_without_official_figures_is_out() -> None:
    placing = by_unit(place_track([Standing("tu-phap", APPRAISED, None)], CAMPAIGN, "district"))["tu-phap"]
    assert placing.out == ("no_figures",)
    assert placing.targets == ()
    assert not placing.meets_targets
    assert placing.prize is None


def test_a_unit_without_level4_procedures_is_out_but_still_shows_its_rates() -> None:
    placing = by_unit(place_track([appraised("tu-phap", counts(90, 100, 0, 0))], CAMPAIGN, "district"))["tu-phap"]
    assert placing.out == ("no_level4_procedures", "procedure_coverage_missed")
    assert [result.rate for result in placing.targets] == [Fraction(9, 10), None]
    assert placing.rank is None


def test_a_unit_without_level4_procedures_is_out_even_when_a_zero_total_meets_the_target() -> None:
    lenient = with_rules(zero_total_meets_target=True)
    placing = by_unit(place_track([appraised("tu-phap", counts(90, 100, 0, 0))], lenient, "district"))["tu-phap"]
    assert placing.meets_targets
    assert placing.out == ("no_level4_procedures",)


def test_the_out_codes_come_in_order() -> None:
    standings = [Standing("tu-phap", Status.RETURNED, counts(0, 0, 0, 0)), Standing("noi-vu", Status.IN_REVIEW, None)]
    placings = by_unit(place_track(standings, CAMPAIGN, "district"))
    assert placings["tu-phap"].out == (
        "returned",
        "no_level4_procedures",
        "case_file_rate_missed",
        "procedure_coverage_missed",
    )
    assert placings["noi-vu"].out == ("in_review", "no_figures")


def test_a_unit_without_a_standing_is_placed_as_having_no_dossier() -> None:
    placings = by_unit(place_track([], CAMPAIGN, "district"))
    assert sorted(placings) == sorted(DISTRICT)
    assert placings["tu-phap"].out == ("no_dossier", "no_figures")


def test_a_standing_for_an_unknown_unit_is_refused() -> None:
    with pytest.raises(KeyError, match="phong-khong-co"):
        place_track([appraised("phong-khong-co")], CAMPAIGN, "district")


def test_two_standings_for_one_unit_are_refused() -> None:
    with pytest.raises(ValueError, match="tu-phap"):
        place_track([appraised("tu-phap"), appraised("tu-phap")], CAMPAIGN, "district")


def test_an_unknown_track_is_refused() -> None:
    with pytest.raises(KeyError):
        place_track([], CAMPAIGN, "province")


def test_a_campaign_that_lets_prizes_exceed_qualifying_units_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="prizes_never_exceed_qualifying"):
        place_track([], with_rules(prizes_never_exceed_qualifying=False), "district")


# --- the reasons, in Vietnamese ----------------------------------------------------------------------------


def test_the_reasons_name_the_threshold_the_vietnamese_way() -> None:
    assert out_reason("case_file_rate_missed", CAMPAIGN) == (
        "Chưa đạt chỉ tiêu tỷ lệ hồ sơ TTHC được xử lý trực tuyến mức 4 (60,00 %)."
    )
    assert out_reason("procedure_coverage_missed", CAMPAIGN) == (
        "Chưa đạt chỉ tiêu tỷ lệ TTHC cung cấp trực tuyến mức 4 có phát sinh hồ sơ (50,00 %)."
    )


def test_the_reasons_follow_the_campaigns_thresholds() -> None:
    stricter = dataclasses.replace(
        CAMPAIGN,
        targets=tuple(dataclasses.replace(t, threshold=Fraction(2, 3)) for t in CAMPAIGN.targets),
    )
    assert "(66,67 %)" in out_reason("case_file_rate_missed", stricter)
    assert "3 cá nhân" in out_reason("over_campaign_quota", with_individuals(max_total=3))


def test_every_out_code_has_a_reason() -> None:
    codes = {*OUT_REASONS, *(f"{t.code}_missed" for t in CAMPAIGN.targets)}
    expected = {
        "no_dossier",
        "withdrawn",
        "returned",
        "rejected",
        "in_review",
        "no_figures",
        "no_level4_procedures",
        "unit_wins_no_prize",
        "depends_on_council",
        "second_individual_of_unit",
        "over_campaign_quota",
    }
    assert expected <= set(OUT_REASONS)
    assert {status.value for status in NOT_APPRAISED} <= set(OUT_REASONS)
    for code in codes:
        assert out_reason(code, CAMPAIGN).strip()
    assert OUT_REASONS["unit_wins_no_prize"].startswith("Đơn vị không đạt giải tập thể, nên cá nhân không đủ điều kiện")
    with pytest.raises(KeyError):
        out_reason("no_such_reason", CAMPAIGN)


# --- why a nomination is left out of the proposal, as its unit reads it ------------------------------------


def placed(standings: Sequence[Standing], unit: str) -> Placing:
    return by_unit(place_campaign(standings, CAMPAIGN)[CAMPAIGN.unit(unit).track])[unit]


def test_a_unit_meeting_the_targets_but_ranked_below_the_prizes_is_told_its_rank_and_the_prizes() -> None:
    communes = [appraised(code, counts(99 - n, 100)) for n, code in enumerate(COMMUNES[:4])]
    fourth = placed(communes, COMMUNES[3])

    assert collective_left_out(fourth, CAMPAIGN) == (
        "Đơn vị đạt chỉ tiêu, xếp hạng 4 trong khối “UBND các xã, thị trấn”; khối chỉ có 3 giải, "
        "dành cho các đơn vị xếp trên."
    )


def test_a_missed_target_is_told_with_the_units_own_official_figures() -> None:
    missed = placed([appraised("tu-phap", counts(1234, 2500, 2, 10))], "tu-phap")

    assert collective_left_out(missed, CAMPAIGN) == (
        "Chưa đạt chỉ tiêu tỷ lệ hồ sơ TTHC được xử lý trực tuyến mức 4 (60,00 %): đơn vị đạt 49,36 % "
        "(1.234/2.500 hồ sơ). Chưa đạt chỉ tiêu tỷ lệ TTHC cung cấp trực tuyến mức 4 có phát sinh hồ sơ "
        "(50,00 %): đơn vị đạt 20,00 % (2/10 thủ tục)."
    )


def test_a_rate_just_below_the_target_is_not_rounded_up_to_it_in_the_sentence() -> None:
    reason = collective_left_out(placed([appraised("tu-phap", counts(59_999, 100_000))], "tu-phap"), CAMPAIGN)
    assert reason.endswith("(60,00 %): đơn vị đạt 59,999 % (59.999/100.000 hồ sơ)."), "never reads as 60,00 %"


def test_a_unit_without_case_files_is_told_it_has_no_rate() -> None:
    reason = collective_left_out(placed([appraised("tu-phap", counts(0, 0, 5, 10))], "tu-phap"), CAMPAIGN)
    assert reason == (
        "Chưa đạt chỉ tiêu tỷ lệ hồ sơ TTHC được xử lý trực tuyến mức 4 (60,00 %): "
        "đơn vị không có hồ sơ nào nên chưa có tỷ lệ."
    )


def test_a_rejected_nomination_is_told_the_step_and_the_reviewers_note_then_anything_else_it_misses() -> None:
    rejected = placed([Standing("tu-phap", Status.REJECTED, counts(50, 100))], "tu-phap")
    step = Rejection("Đối chiếu số liệu", "Số liệu tự chấm không khớp phần mềm một cửa")

    assert collective_left_out(rejected, CAMPAIGN, step) == (
        "Hồ sơ không được thông qua ở bước “Đối chiếu số liệu”: Số liệu tự chấm không khớp phần mềm một cửa. "
        "Chưa đạt chỉ tiêu tỷ lệ hồ sơ TTHC được xử lý trực tuyến mức 4 (60,00 %): đơn vị đạt 50,00 % "
        "(50/100 hồ sơ)."
    )
    assert collective_left_out(rejected, CAMPAIGN).startswith(OUT_REASONS["rejected"]), "no step known: the code's"


def test_a_returned_nomination_and_one_without_figures_are_told_so() -> None:
    returned = placed([Standing("tu-phap", Status.RETURNED, None)], "tu-phap")
    assert collective_left_out(returned, CAMPAIGN) == f"{OUT_REASONS['returned']} {OUT_REASONS['no_figures']}"


def test_a_proposed_unit_has_no_reason_to_be_left_out() -> None:
    with pytest.raises(ValueError, match="proposed"):
        collective_left_out(placed([appraised("tu-phap")], "tu-phap"), CAMPAIGN)
    tied = [appraised(code, counts(90, 100)) for code in DISTRICT[:4]]
    with pytest.raises(ValueError, match="proposed"):
        collective_left_out(placed(tied, DISTRICT[3]), CAMPAIGN)  # contests a prize before the council
    with pytest.raises(ValueError, match="valid"):
        individual_left_out(IndividualVerdict("tu-phap", "i-1", valid=True, out=()), CAMPAIGN)


def test_an_individual_is_told_why_its_unit_or_its_own_review_keeps_it_out() -> None:
    no_prize = IndividualVerdict("kinh-te-ha-tang", "i-1", valid=False, out=("unit_wins_no_prize",))
    assert individual_left_out(no_prize, CAMPAIGN) == (
        "Đơn vị không đạt giải tập thể, nên cá nhân không đủ điều kiện khen thưởng."
    )
    rejected = IndividualVerdict("tu-phap", "i-2", valid=False, out=("rejected",))
    assert individual_left_out(rejected, CAMPAIGN, Rejection("Thẩm định", "Thiếu bản sao quyết định bổ nhiệm!")) == (
        "Hồ sơ không được thông qua ở bước “Thẩm định”: Thiếu bản sao quyết định bổ nhiệm!"
    )


# --- individuals -------------------------------------------------------------------------------------------


def candidate(unit: str, dossier_id: str, status: Status = APPRAISED) -> IndividualCandidate:
    return IndividualCandidate(unit, dossier_id, status)


def verdicts(
    candidates: Sequence[IndividualCandidate], standings: Sequence[Standing], campaign: Campaign = CAMPAIGN
) -> list[IndividualVerdict]:
    return judge_individuals(candidates, place_campaign(standings, campaign), campaign)


WINNERS = [
    appraised("tu-phap", counts(95, 100)),
    appraised("noi-vu", counts(90, 100)),
    appraised("hoa-tan", counts(95, 100)),
    Standing("kinh-te-ha-tang", APPRAISED, counts(10, 100)),  # misses the target
]


def test_an_individual_of_a_unit_that_wins_nothing_is_invalid() -> None:
    (verdict,) = verdicts([candidate("kinh-te-ha-tang", "i-1")], WINNERS)
    assert verdict == IndividualVerdict("kinh-te-ha-tang", "i-1", valid=False, out=("unit_wins_no_prize",))


def test_an_individual_of_a_winning_unit_is_valid() -> None:
    result = verdicts([candidate("tu-phap", "i-1"), candidate("hoa-tan", "i-2")], WINNERS)
    assert [(v.valid, v.out) for v in result] == [(True, ()), (True, ())]


def test_a_second_individual_of_one_unit_is_invalid() -> None:
    result = verdicts([candidate("tu-phap", "i-1"), candidate("tu-phap", "i-2")], WINNERS)
    assert [(v.dossier_id, v.valid, v.out) for v in result] == [
        ("i-1", True, ()),
        ("i-2", False, ("second_individual_of_unit",)),
    ]


def test_an_individual_whose_own_dossier_is_not_appraised_is_invalid_and_leaves_the_place_free() -> None:
    result = verdicts([candidate("tu-phap", "i-1", Status.RETURNED), candidate("tu-phap", "i-2")], WINNERS)
    assert [(v.valid, v.out) for v in result] == [(False, ("returned",)), (True, ())]
    (both,) = verdicts([candidate("kinh-te-ha-tang", "i-3", Status.IN_REVIEW)], WINNERS)
    assert both.out == ("in_review", "unit_wins_no_prize")


def test_an_individual_of_a_unit_that_is_not_appraised_is_invalid() -> None:
    (verdict,) = verdicts([candidate("tu-phap", "i-1")], [Standing("tu-phap", Status.IN_REVIEW, counts(99, 100))])
    assert verdict.out == ("unit_wins_no_prize",)


def test_an_individual_of_a_tie_group_with_a_prize_for_each_member_is_valid() -> None:
    result = verdicts([candidate("tu-phap", "i-1"), candidate("noi-vu", "i-2")], TIED)
    assert [(v.valid, v.out) for v in result] == [(True, ()), (True, ())]


def test_an_individual_of_a_tie_group_larger_than_its_prizes_depends_on_the_council() -> None:
    standings = [appraised(code, counts(90, 100)) for code in DISTRICT[:4]]  # four tied for three prizes
    result = verdicts([candidate(code, f"i-{code}") for code in DISTRICT[:4]], standings)
    assert {v.out for v in result} == {("depends_on_council",)}


def test_individuals_beyond_the_campaign_quota_are_invalid() -> None:
    small = with_individuals(max_total=2)
    result = verdicts(
        [candidate("tu-phap", "i-1"), candidate("hoa-tan", "i-2"), candidate("noi-vu", "i-3")], WINNERS, small
    )
    assert [(v.valid, v.out) for v in result] == [(True, ()), (True, ()), (False, ("over_campaign_quota",))]


def test_an_individual_of_a_unit_that_was_not_placed_is_refused() -> None:
    placings = {"district": place_track(WINNERS, CAMPAIGN, "district")}
    with pytest.raises(KeyError, match="hoa-tan"):
        judge_individuals([candidate("hoa-tan", "i-1")], placings, CAMPAIGN)


# --- properties over the 21 real units ---------------------------------------------------------------------


# Rows that many units share, so that ties (and ties at a threshold) are common rather than a lucky draw.
TYPICAL = [
    Counts(9, 10, 4, 5),
    Counts(90, 100, 8, 10),
    Counts(6, 10, 1, 2),
    Counts(60, 100, 5, 10),
    Counts(599, 1000, 5, 10),
    Counts(0, 0, 3, 3),
    Counts(90, 100, 0, 0),
]


@st.composite
def random_counts(draw: st.DrawFn, perfect: bool = True) -> Counts:
    """Small totals make ties and exact thresholds common; large ones make rates like 5999/10000."""
    total = draw(st.one_of(st.integers(0, 12), st.integers(0, 10_000)))
    top = total if perfect or total == 0 else total - 1
    online = draw(st.one_of(st.integers(0, top), st.integers(top * 3 // 5, top)))
    procedures = draw(st.integers(0, 25))
    online_procedures = draw(st.one_of(st.integers(0, procedures), st.integers(procedures // 2, procedures)))
    return Counts(online, total, online_procedures, procedures)


def official_counts(perfect: bool = True) -> st.SearchStrategy[Counts]:
    return st.one_of(st.sampled_from(TYPICAL), random_counts(perfect))


STATUSES = st.sampled_from([APPRAISED] * len(NOT_APPRAISED) + NOT_APPRAISED)  # half appraised


@st.composite
def standings_of_all_units(draw: st.DrawFn, perfect: bool = True) -> list[Standing]:
    """One standing per unit of the campaign; about one in five has no official figures."""
    figures = st.one_of(st.none(), *[official_counts(perfect)] * 4)
    return [Standing(code, draw(STATUSES), draw(figures)) for code in ALL_UNITS]


POLICIES = st.sampled_from(["council", "share"])


def campaign_with(policy: str) -> Campaign:
    return CAMPAIGN if policy == "council" else with_rules(tie_policy=policy)


def wins_prize(placing: Placing) -> bool:
    """A prize now, or a place in a tie group whose contested prizes cover every member."""
    return placing.prize is not None or len(placing.contested) > len(placing.tie)


@EXAMPLES
@given(standings=standings_of_all_units(), policy=POLICIES)
def test_no_unit_below_a_target_or_not_appraised_gets_a_prize(standings: list[Standing], policy: str) -> None:
    campaign = campaign_with(policy)
    status = {standing.unit: standing.status for standing in standings}
    thresholds = {t.code: t.threshold for t in campaign.targets}
    for placings in place_campaign(standings, campaign).values():
        for placing in placings:
            figures = placing.counts
            rates = {code: None if figures is None else figures.value(code) for code in thresholds}
            below = any(rate is None or rate < thresholds[code] for code, rate in rates.items())
            no_procedures = figures is None or figures.total_procedures == 0
            if below or no_procedures or status[placing.unit] is not APPRAISED:
                assert placing.prize is None
                assert placing.contested == ()
                assert placing.rank is None


@EXAMPLES
@given(standings=standings_of_all_units())
def test_under_the_council_policy_each_prize_goes_to_at_most_one_unit(standings: list[Standing]) -> None:
    for code, placings in place_campaign(standings, CAMPAIGN).items():
        ladder = CAMPAIGN.track(code).prizes
        given_ranks = [p.prize.rank for p in placings if p.prize is not None]
        contested = {rank for p in placings for rank in p.contested}
        qualifying = sum(p.qualifies for p in placings)
        assert len(given_ranks) == len(set(given_ranks))
        assert not contested & set(given_ranks)
        assert len(given_ranks) + len(contested) <= min(len(ladder), qualifying)
        # and no prize is lost: every rank the track can give is either given or left to the council
        assert set(given_ranks) | contested == {prize.rank for prize in ladder[:qualifying]}


@EXAMPLES
@given(standings=standings_of_all_units(perfect=False), track=st.sampled_from(["district", "commune"]), policy=POLICIES)
def test_adding_a_better_unit_never_improves_another_units_rank(
    standings: list[Standing], track: str, policy: str
) -> None:
    """A newcomer strictly better on the first key pushes every ranked unit down by exactly one place."""
    campaign = campaign_with(policy)
    first_key = campaign.rules.ranking_keys[0]
    assert first_key == "case_file_rate"
    before = by_unit(place_track(standings, campaign, track))
    rates = [p.counts.case_file_rate() for p in before.values() if p.counts is not None]
    best = max((rate for rate in rates if rate is not None), default=Fraction(0))
    assume(best < 1)  # the generator keeps rates below 100 %, so this only guards the arithmetic below
    rate = (max(best, campaign.target(first_key).threshold) + 1) / 2
    newcomer = Standing("don-vi-moi", APPRAISED, Counts(rate.numerator, rate.denominator, 5, 5))
    bigger = dataclasses.replace(campaign, units=(*campaign.units, Unit("don-vi-moi", "Đơn vị mới", track, None)))
    after = by_unit(place_track([*standings, newcomer], bigger, track))
    assert after["don-vi-moi"].rank == 1
    assert after["don-vi-moi"].tie == ()
    for unit, placing in before.items():
        old, new = placing.rank, after[unit].rank
        if old is None:
            assert new is None
        else:
            assert new is not None
            assert old <= new <= old + 1


@EXAMPLES
@given(data=st.data(), standings=standings_of_all_units(), policy=POLICIES)
def test_the_ranking_does_not_depend_on_the_order_of_the_input(
    data: st.DataObject, standings: list[Standing], policy: str
) -> None:
    campaign = campaign_with(policy)
    shuffled = data.draw(st.permutations(standings))
    assert place_campaign(shuffled, campaign) == place_campaign(standings, campaign)


@EXAMPLES
@given(
    standings=standings_of_all_units(),
    policy=POLICIES,
    required=st.sampled_from(["all", "any"]),
    zero_meets=st.booleans(),
)
def test_every_qualifying_unit_meets_the_targets_and_every_other_unit_says_why_not(
    standings: list[Standing], policy: str, required: str, zero_meets: bool
) -> None:
    campaign = with_rules(tie_policy=policy, targets_required=required, zero_total_meets_target=zero_meets)
    status = {standing.unit: standing.status for standing in standings}
    for placings in place_campaign(standings, campaign).values():
        for placing in placings:
            if placing.qualifies:
                assert placing.out == ()
                assert placing.counts is not None
                assert placing.meets_targets
                assert meets_targets(assess_targets(placing.counts, campaign), campaign)
                assert status[placing.unit] is APPRAISED
                assert placing.rank is not None
            else:
                assert placing.out
                assert placing.rank is None
            for code in placing.out:
                assert out_reason(code, campaign)
            if placing.counts is not None:
                assert len(placing.targets) == len(campaign.targets)


@EXAMPLES
@given(
    data=st.data(),
    standings=standings_of_all_units(),
    policy=POLICIES,
    max_total=st.sampled_from([CAMPAIGN.individuals.max_total] * 3 + [0, 1, 2, 3]),
)
def test_valid_individuals_come_from_winning_units_one_each_within_the_campaign_quota(
    data: st.DataObject, standings: list[Standing], policy: str, max_total: int
) -> None:
    campaign = with_individuals(campaign_with(policy), max_total=max_total)
    placings = place_campaign(standings, campaign)
    winners = {p.unit for track in placings.values() for p in track if wins_prize(p)}
    in_the_running = sorted({p.unit for track in placings.values() for p in track if p.prize or p.contested})
    units = st.sampled_from(ALL_UNITS + in_the_running * 4)  # most candidates from units that may win
    picks = data.draw(st.lists(st.tuples(units, STATUSES), max_size=30))
    candidates = [IndividualCandidate(unit, f"i-{n}", status) for n, (unit, status) in enumerate(picks)]
    result = judge_individuals(candidates, placings, campaign)
    assert [(v.unit, v.dossier_id) for v in result] == [(c.unit, c.dossier_id) for c in candidates]
    valid = [v.unit for v in result if v.valid]
    assert set(valid) <= winners
    assert len(valid) == len(set(valid))  # per_winning_unit is 1
    assert len(valid) <= campaign.individuals.max_total
    for verdict in result:
        assert verdict.valid == (verdict.out == ())
    # and nobody eligible is refused while there is still room
    eligible = {c.unit for c in candidates if c.status is APPRAISED and c.unit in winners}
    assert len(valid) == min(len(eligible), campaign.individuals.max_total)
