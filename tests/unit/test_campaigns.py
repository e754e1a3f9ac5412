"""The shipped campaign carries the plan's data exactly, and broken campaign files are refused loudly."""

from __future__ import annotations

import dataclasses
import pickle
import unicodedata
from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest

from shared.campaigns import (
    CAMPAIGN_DIR,
    Campaign,
    CampaignError,
    default_campaign,
    load_campaign,
    load_campaigns,
)

SHIPPED = CAMPAIGN_DIR / "chau-thanh-2021.toml"

DISTRICT_UNITS = [
    ("noi-vu", "Phòng Nội vụ", 9),
    ("tu-phap", "Phòng Tư pháp", 21),
    ("kinh-te-ha-tang", "Phòng Kinh tế - Hạ tầng", 15),
    ("tai-chinh-ke-hoach", "Phòng Tài chính - Kế hoạch", 6),
    ("nong-nghiep-ptnt", "Phòng Nông nghiệp & PTNT", 2),
    ("lao-dong-tbxh", "Phòng Lao động TB&XH", 4),
    ("tai-nguyen-moi-truong", "Phòng Tài nguyên và Môi trường", 5),
    ("giao-duc-dao-tao", "Phòng Giáo dục và Đào tạo", 6),
    ("van-hoa-thong-tin", "Phòng Văn hóa – Thông tin", 3),
]
COMMUNES = [
    ("hoa-tan", "Hòa Tân"),
    ("an-khanh", "An Khánh"),
    ("cai-tau-ha", "Cái Tàu Hạ"),
    ("an-nhon", "An Nhơn"),
    ("an-phu-thuan", "An Phú Thuận"),
    ("phu-huu", "Phú Hựu"),
    ("tan-binh", "Tân Bình"),
    ("tan-phu-trung", "Tân Phú Trung"),
    ("tan-nhuan-dong", "Tân Nhuận Đông"),
    ("tan-phu", "Tân Phú"),
    ("phu-long", "Phú Long"),
    ("an-hiep", "An Hiệp"),
]
LAST_UNIT = '{ code = "an-hiep", name = "An Hiệp", track = "commune" }'


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    return load_campaign(SHIPPED)


def write_variant(tmp_path: Path, old: str, new: str, name: str = "variant.toml") -> Path:
    """Edits the first occurrence only, so each broken file differs from a valid one in exactly one place."""
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text, f"{old!r} does not occur in the shipped file"
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def refusal(tmp_path: Path, old: str, new: str) -> CampaignError:
    path = write_variant(tmp_path, old, new)
    with pytest.raises(CampaignError) as caught:
        load_campaign(path)
    assert caught.value.path == path
    return caught.value


# --- the shipped campaign --------------------------------------------------------------------------------


def test_shipped_campaign_identity(campaign: Campaign) -> None:
    assert campaign.code == "chau-thanh-2021"
    assert campaign.name == ("Phong trào thi đua chuyên đề “Thực hiện dịch vụ công trực tuyến mức độ 4” năm 2021")
    assert campaign.organiser == "Ủy ban nhân dân huyện Châu Thành"
    assert campaign.year == 2021
    assert campaign.timezone == "Asia/Ho_Chi_Minh"
    assert campaign.zone.key == "Asia/Ho_Chi_Minh"
    assert campaign.amount_words_style == "south"
    assert campaign.funding == "Ngân sách Huyện"


def test_shipped_campaign_dates(campaign: Campaign) -> None:
    assert (campaign.data_window_start, campaign.data_window_end) == (date(2021, 1, 1), date(2021, 11, 30))
    assert campaign.dossier_deadline == date(2021, 12, 6)
    assert campaign.proposal_deadline == date(2021, 12, 15)


def test_default_campaign_is_the_shipped_file(campaign: Campaign) -> None:
    assert default_campaign() == campaign
    assert default_campaign() is default_campaign()


def test_district_offices(campaign: Campaign) -> None:
    units = campaign.units_of("district")
    assert [(u.code, u.name, u.level4_procedures) for u in units] == DISTRICT_UNITS
    assert all(u.track == "district" for u in units)


def test_communes(campaign: Campaign) -> None:
    units = campaign.units_of("commune")
    assert [(u.code, u.name) for u in units] == COMMUNES
    assert all(u.level4_procedures is None for u in units)
    assert len(campaign.units) == 21


def test_targets_are_exact_fractions(campaign: Campaign) -> None:
    case_file_rate = campaign.target("case_file_rate")
    coverage = campaign.target("procedure_coverage")
    assert case_file_rate.threshold == Fraction(3, 5)
    assert coverage.threshold == Fraction(1, 2)
    assert type(case_file_rate.threshold) is Fraction
    assert case_file_rate.name == "Tỷ lệ hồ sơ TTHC được xử lý trực tuyến mức 4"
    assert coverage.name == "Tỷ lệ TTHC cung cấp trực tuyến mức 4 có phát sinh hồ sơ"


@pytest.mark.parametrize("track_code", ["district", "commune"])
def test_prize_ladder(campaign: Campaign, track_code: str) -> None:
    track = campaign.track(track_code)
    assert [(p.rank, p.name, p.amount) for p in track.prizes] == [
        (1, "Giải nhất", 2_500_000),
        (2, "Giải nhì", 2_000_000),
        (3, "Giải ba", 1_500_000),
    ]
    assert {p.award for p in track.prizes} == {"Giấy khen của Chủ tịch UBND Huyện"}
    assert track.total == 6_000_000


def test_track_names(campaign: Campaign) -> None:
    assert campaign.track("district").name == "Cơ quan chuyên môn thuộc UBND Huyện"
    assert campaign.track("commune").name == "UBND các xã, thị trấn"


def test_documents(campaign: Campaign) -> None:
    assert [(d.code, d.name) for d in campaign.documents] == [
        ("to_trinh", "Tờ trình"),
        ("bien_ban", "Biên bản họp xét khen thưởng"),
        ("bao_cao_thanh_tich", "Báo cáo thành tích"),
        ("danh_sach_tom_tat", "Danh sách tóm tắt thành tích nổi bật"),
    ]


def test_rules(campaign: Campaign) -> None:
    rules = campaign.rules
    assert rules.targets_required == "all"
    assert rules.zero_total_meets_target is False
    assert rules.ranking_keys == ("case_file_rate", "procedure_coverage", "online_case_files")
    assert rules.tie_policy == "council"
    assert rules.prizes_never_exceed_qualifying is True
    assert rules.deadline_end_of_day is True


def test_individuals(campaign: Campaign) -> None:
    individuals = campaign.individuals
    assert (individuals.per_winning_unit, individuals.max_total) == (1, 6)
    assert individuals.legal_basis == "Nghị định 91/2017/NĐ-CP"
    assert individuals.award == "Giấy khen của Chủ tịch UBND Huyện"
    assert individuals.multiplier == Fraction(15, 100)
    assert individuals.amount == 230_000


@pytest.mark.parametrize(
    ("base_salary", "expected"),
    [(1_490_000, 230_000), (2_000_000, 300_000), (1_800_000, 270_000), (0, 0)],
)
def test_individual_amount_rounds_up_to_tens_of_thousands(campaign: Campaign, base_salary: int, expected: int) -> None:
    individuals = dataclasses.replace(campaign.individuals, base_salary=base_salary)
    assert individuals.amount == expected


def test_council(campaign: Campaign) -> None:
    assert campaign.council.quorum == Fraction(2, 3)
    assert campaign.council.majority == Fraction(1, 2)


def test_shipped_text_is_nfc() -> None:
    assert unicodedata.is_normalized("NFC", SHIPPED.read_text(encoding="utf-8"))


# --- lookups ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("tu-phap", "tu-phap"),
        ("Phòng Tư pháp", "tu-phap"),
        ("Phòng Văn hóa – Thông tin", "van-hoa-thong-tin"),
        ("Hòa Tân", "hoa-tan"),
        (unicodedata.normalize("NFD", "Tân Nhuận Đông"), "tan-nhuan-dong"),
    ],
)
def test_find_unit(campaign: Campaign, query: str, code: str) -> None:
    unit = campaign.find_unit(query)
    assert unit is not None
    assert unit.code == code


@pytest.mark.parametrize(
    "query",
    [
        "Phòng Tu phap",
        "phòng tư pháp",
        "Phòng Văn hóa - Thông tin",
        "Hoa Tan",
        " Hòa Tân",
        "Tư pháp",
        "TU-PHAP",
    ],
)
def test_find_unit_near_miss_is_none(campaign: Campaign, query: str) -> None:
    assert campaign.find_unit(query) is None


def test_unit_lookup_by_code(campaign: Campaign) -> None:
    assert campaign.unit("noi-vu").name == "Phòng Nội vụ"


@pytest.mark.parametrize("lookup", ["unit", "track", "target"])
def test_unknown_code_raises_clear_key_error(campaign: Campaign, lookup: str) -> None:
    with pytest.raises(KeyError, match=r"No \w+ 'nowhere' in campaign 'chau-thanh-2021'"):
        getattr(campaign, lookup)("nowhere")


def test_units_of_unknown_track_is_empty(campaign: Campaign) -> None:
    assert campaign.units_of("province") == ()


# --- broken files ----------------------------------------------------------------------------------------

BROKEN = [
    pytest.param(
        'funding = "Ngân sách Huyện"',
        'funding = "Ngân sách Huyện"\ncolour = "red"',
        "colour",
        id="unknown-key",
    ),
    pytest.param(LAST_UNIT, LAST_UNIT.replace(" }", ", colour = 1 }"), "units.20.colour", id="unknown-unit-key"),
    pytest.param("majority = ", "minority = ", "council.minority", id="unknown-council-key"),
    pytest.param(LAST_UNIT, LAST_UNIT.replace('"commune"', '"ward"'), "units.20.track", id="unknown-track"),
    pytest.param(LAST_UNIT, LAST_UNIT.replace('"an-hiep"', '"hoa-tan"'), "units.20.code", id="duplicate-code"),
    pytest.param(LAST_UNIT, LAST_UNIT.replace('"An Hiệp"', '"Hòa Tân"'), "units.20.name", id="duplicate-name"),
    pytest.param('code = "hoa-tan"', 'code = "Hoa_Tan"', "units.9.code", id="bad-slug"),
    pytest.param('code = "hoa-tan"', 'code = "hoa--tan"', "units.9.code", id="bad-slug-double-dash"),
    pytest.param('code = "chau-thanh-2021"', 'code = "Chau Thanh"', "code", id="bad-campaign-slug"),
    pytest.param('threshold = "60"', 'threshold = "150"', "targets.0.threshold", id="threshold-150"),
    pytest.param('threshold = "60"', 'threshold = "-1"', "targets.0.threshold", id="threshold-negative"),
    pytest.param('threshold = "60"', "threshold = 60.0", "targets.0.threshold", id="threshold-float"),
    pytest.param('threshold = "60"', 'threshold = "NaN"', "targets.0.threshold", id="threshold-nan"),
    pytest.param('code = "case_file_rate"', 'code = "speed"', "targets.0.code", id="unknown-target"),
    pytest.param(
        "dossier_deadline = 2021-12-06",
        "dossier_deadline = 2021-11-15",
        "dossier_deadline",
        id="deadline-early",
    ),
    pytest.param(
        "proposal_deadline = 2021-12-15",
        "proposal_deadline = 2021-12-01",
        "proposal_deadline",
        id="proposal-early",
    ),
    pytest.param(
        "data_window_start = 2021-01-01",
        "data_window_start = 2021-12-01",
        "data_window_end",
        id="window-reversed",
    ),
    pytest.param(
        "data_window_start = 2021-01-01",
        'data_window_start = "2021-02-30"',
        "data_window_start",
        id="bad-date",
    ),
    pytest.param(
        "data_window_start = 2021-01-01",
        'data_window_start = "01/01/2021"',
        "data_window_start",
        id="vn-date",
    ),
    pytest.param(
        "data_window_start = 2021-01-01",
        "data_window_start = 2021-01-01T00:00:00",
        "data_window_start",
        id="datetime",
    ),
    pytest.param('timezone = "Asia/Ho_Chi_Minh"', 'timezone = "Asia/Chau_Thanh"', "timezone", id="bad-timezone"),
    pytest.param('timezone = "Asia/Ho_Chi_Minh"', 'timezone = "../etc/passwd"', "timezone", id="timezone-path"),
    pytest.param("rank = 3", "rank = 4", "tracks.0.prizes", id="rank-gap"),
    pytest.param("amount = 2_500_000, award", "amount = -1, award", "tracks.0.prizes.0.amount", id="negative"),
    pytest.param("amount = 2_500_000, award", "amount = 2.5e6, award", "tracks.0.prizes.0.amount", id="float"),
    pytest.param(
        '"procedure_coverage", "online_case_files"]',
        '"procedure_coverage", "speed"]',
        "rules.ranking_keys.2",
        id="unknown-ranking-key",
    ),
    pytest.param(
        '"procedure_coverage", "online_case_files"]',
        '"procedure_coverage", "case_file_rate"]',
        "rules.ranking_keys",
        id="repeated-ranking-key",
    ),
    pytest.param('tie_policy = "council"', 'tie_policy = "coin"', "rules.tie_policy", id="tie-policy"),
    pytest.param('targets_required = "all"', 'targets_required = "most"', "rules.targets_required", id="required"),
    pytest.param(
        "deadline_end_of_day = true",
        'deadline_end_of_day = "yes"',
        "rules.deadline_end_of_day",
        id="string-bool",
    ),
    pytest.param('quorum = "2/3"', 'quorum = "3/2"', "council.quorum", id="quorum-above-one"),
    pytest.param('multiplier = "0.15"', "multiplier = 0.15", "individuals.multiplier", id="float-multiplier"),
    pytest.param("round_up_to = 10_000", "round_up_to = 0", "individuals.round_up_to", id="round-to-zero"),
    pytest.param('amount_words_style = "south"', 'amount_words_style = "west"', "amount_words_style", id="style"),
    pytest.param('organiser = "Ủy ban nhân dân huyện Châu Thành"\n', "", "organiser", id="missing"),
    pytest.param('funding = "Ngân sách Huyện"', 'funding = "Ngân sách Huyện', "_toml", id="toml-syntax"),
    pytest.param("dossier_deadline = 2021-12-06", "dossier_deadline = 2021-02-30", "_toml", id="toml-bad-date"),
]


@pytest.mark.parametrize(("old", "new", "field"), BROKEN)
def test_broken_file_is_refused(tmp_path: Path, old: str, new: str, field: str) -> None:
    error = refusal(tmp_path, old, new)
    assert field in error.errors, error.errors
    assert all(isinstance(m, str) and m for m in error.errors[field])
    assert str(tmp_path / "variant.toml") in str(error)
    assert field in str(error)


def test_unknown_track_message_lists_the_tracks(tmp_path: Path) -> None:
    error = refusal(tmp_path, LAST_UNIT, LAST_UNIT.replace('"commune"', '"ward"'))
    assert error.errors == {"units.20.track": ["Must be one of: district, commune."]}


def test_unknown_key_is_never_included(tmp_path: Path) -> None:
    error = refusal(tmp_path, LAST_UNIT, LAST_UNIT.replace(" }", ", colour = 1 }"))
    assert error.errors == {"units.20.colour": ["Unknown field."]}


def test_every_bad_field_is_reported_at_once(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    text = text.replace('threshold = "60"', 'threshold = "150"').replace('code = "hoa-tan"', 'code = "Hoa Tan"')
    text = text.replace("dossier_deadline = 2021-12-06", "dossier_deadline = 2021-11-01")
    path = tmp_path / "many.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CampaignError) as caught:
        load_campaign(path)
    assert set(caught.value.errors) == {"targets.0.threshold", "units.9.code", "dossier_deadline"}
    message = str(caught.value)
    assert str(path) in message
    assert all(key in message for key in caught.value.errors)


def test_threshold_is_parsed_exactly(tmp_path: Path) -> None:
    path = write_variant(tmp_path, 'threshold = "60"', 'threshold = "59.999"')
    assert load_campaign(path).target("case_file_rate").threshold == Fraction(59_999, 100_000)


def test_non_nfc_names_are_normalised(tmp_path: Path) -> None:
    path = write_variant(tmp_path, '"An Hiệp"', f'"{unicodedata.normalize("NFD", "An Hiệp")}"')
    assert load_campaign(path).unit("an-hiep").name == unicodedata.normalize("NFC", "An Hiệp")


def test_campaign_error_survives_pickling(tmp_path: Path) -> None:
    error = refusal(tmp_path, 'timezone = "Asia/Ho_Chi_Minh"', 'timezone = "Mars/Olympus"')
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, copy.errors, str(copy)) == (error.path, error.errors, str(error))


# --- several campaigns -----------------------------------------------------------------------------------


def test_load_campaigns_without_extra_dir() -> None:
    assert set(load_campaigns()) == {"chau-thanh-2021"}


def test_load_campaigns_adds_extra_dir(tmp_path: Path) -> None:
    write_variant(tmp_path, 'code = "chau-thanh-2021"', 'code = "chau-thanh-2022"', "next.toml")
    (tmp_path / "notes.txt").write_text("not a campaign", encoding="utf-8")
    campaigns = load_campaigns(tmp_path)
    assert set(campaigns) == {"chau-thanh-2021", "chau-thanh-2022"}
    assert campaigns["chau-thanh-2022"].code == "chau-thanh-2022"


def test_load_campaigns_refuses_duplicate_code(tmp_path: Path) -> None:
    copy = tmp_path / "copy.toml"
    copy.write_text(SHIPPED.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(CampaignError) as caught:
        load_campaigns(tmp_path)
    assert caught.value.path == copy
    assert "code" in caught.value.errors
    assert str(SHIPPED) in str(caught.value)


def test_load_campaigns_reports_a_broken_extra_file(tmp_path: Path) -> None:
    write_variant(tmp_path, 'code = "chau-thanh-2021"', 'code = "chau-thanh-2022"\ncolour = 1', "bad.toml")
    with pytest.raises(CampaignError) as caught:
        load_campaigns(tmp_path)
    assert caught.value.errors == {"colour": ["Unknown field."]}


def test_load_campaigns_refuses_missing_extra_dir(tmp_path: Path) -> None:
    with pytest.raises(CampaignError):
        load_campaigns(tmp_path / "absent")


def test_a_unit_is_found_by_the_misspelling_the_plans_own_table_uses() -> None:
    campaign = default_campaign()
    assert campaign.find_unit("Phòng Giaó dục và Đào tạo") == campaign.unit("giao-duc-dao-tao")


def test_the_council_roster_is_loaded_with_the_units_its_members_head() -> None:
    council = default_campaign().council
    assert len(council.members) == 7
    assert council.member("truong-phong-noi-vu").unit == "noi-vu"
    assert council.member("chu-tich-ubnd").unit is None
    assert council.member("nobody") is None
