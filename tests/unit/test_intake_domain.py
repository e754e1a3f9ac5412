from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.intake.domain import (
    LIFECYCLE,
    Dossier,
    DossierIncomplete,
    DossierState,
    InvalidContents,
    Kind,
)
from shared.campaigns import default_campaign
from shared.clock import LOCAL_TZ
from shared.events import Actor
from shared.statemachine import IllegalTransition, RuleViolation, StateChange

CAMPAIGN = default_campaign()
DEADLINE = CAMPAIGN.dossier_deadline
UNIT = "tu-phap"
AT = datetime(2021, 12, 1, 2, 0, tzinfo=UTC)
CLERK = Actor(id="clerk-1", name="Nguyễn Văn A", role="unit_clerk", unit=UNIT)
REVIEWER = Actor(id="reviewer-1", name="Trần Thị B", role="reviewer")
AWARDS = Actor(id="awards-1", name="Lê Văn C", role="awards_officer")

DRAFT, SUBMITTED, RETURNED, WITHDRAWN, AWARDED, NOT_AWARDED = DossierState
DOCUMENT_KINDS = ("to_trinh", "bien_ban", "bao_cao_thanh_tich", "danh_sach_tom_tat")

REPORT = {
    "address": "Khu phố 2, thị trấn Châu Thành",
    "phone": "0276 3000 000",
    "structure": "Trưởng phòng, 2 phó trưởng phòng, 5 chuyên viên",
    "staff_count": 8,
    "functions": "Tham mưu UBND Huyện về công tác tư pháp",
    "achievements": "Xử lý trực tuyến 95% hồ sơ thủ tục hành chính",
    "measures": "Hướng dẫn người dân nộp hồ sơ trực tuyến tại bộ phận một cửa",
}
COUNTS = {"online_case_files": 95, "total_case_files": 100, "online_procedures": 15, "total_procedures": 21}
NOMINEE = {
    "full_name": "Phạm Thị D",
    "date_of_birth": date(1985, 3, 14),
    "home_town": "Hòa Thành, Tây Ninh",
    "residence": "Thị trấn Châu Thành, Tây Ninh",
    "position": "Chuyên viên",
}
COMPLETE = {
    Kind.COLLECTIVE: {"report": REPORT, "self_assessment": COUNTS},
    Kind.INDIVIDUAL: {
        "nominee": NOMINEE,
        "report": {"achievements": REPORT["achievements"], "measures": REPORT["measures"]},
    },
}
REASONS = [
    {
        "code": "figures_differ",
        "item": "self_assessment.online_case_files",
        "message": "Số hồ sơ trực tuyến khác số liệu chính thức.",
    },
    {"code": "document_unreadable", "item": "to_trinh", "message": "Tờ trình không đọc được."},
]
OUTCOME = {
    "prize_rank": 1,
    "prize_name": "Giải Nhất",
    "amount": 5_000_000,
    "decision_number": "1234/QĐ-UBND",
    "reason": None,
}


def new_dossier(kind: Kind = Kind.COLLECTIVE) -> Dossier:
    return Dossier(CAMPAIGN.code, UNIT, kind, CLERK, AT)


def attach(dossier: Dossier, kind: str, sha: str = "a", at: datetime = AT) -> None:
    dossier.attach(kind, sha * 64, 1024, "application/pdf", f"{kind}.pdf", CLERK, at)


def complete_dossier(kind: Kind = Kind.COLLECTIVE) -> Dossier:
    dossier = new_dossier(kind)
    dossier.edit(COMPLETE[kind], AT)
    for document in DOCUMENT_KINDS:
        attach(dossier, document)
    return dossier


def submitted(dossier: Dossier, at: datetime = AT) -> Dossier:
    dossier.submit(CAMPAIGN, DEADLINE, CLERK, at)
    return dossier


def dossier_in(state: DossierState, kind: Kind = Kind.COLLECTIVE) -> Dossier:
    """A dossier brought to ``state`` by its own commands, with the changes on the way already pulled."""
    dossier = complete_dossier(kind)
    if state is not DRAFT:
        submitted(dossier)
    if state is RETURNED:
        dossier.reopen(REASONS, REVIEWER, AT)
    elif state is WITHDRAWN:
        dossier.withdraw(CLERK, AT, None, proposal_sent=False)
    elif state in (AWARDED, NOT_AWARDED):
        dossier.decide(state is AWARDED, OUTCOME, AWARDS, AT)
    dossier.pull_changes()
    assert dossier.state is state
    return dossier


def only_change(dossier: Dossier) -> StateChange:
    changes = dossier.pull_changes()
    assert len(changes) == 1
    return changes[0]


# --- a new dossier ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "nominee", "self_assessment"),
    [(Kind.COLLECTIVE, None, {}), (Kind.INDIVIDUAL, {}, None)],
)
def test_a_new_dossier_is_an_empty_draft_of_its_kind_in_round_zero(
    kind: Kind, nominee: dict[str, Any] | None, self_assessment: dict[str, Any] | None
) -> None:
    dossier = new_dossier(kind)

    assert dossier.state is DRAFT
    assert dossier.round == 0
    assert dossier.kind is kind
    assert (dossier.campaign, dossier.unit) == (CAMPAIGN.code, UNIT)
    assert dossier.nominee == nominee
    assert dossier.report == {}
    assert dossier.self_assessment == self_assessment
    assert dossier.documents == []
    assert dossier.current_documents() == {}
    assert dossier.return_reasons is None
    assert dossier.outcome is None
    assert dossier.submitted_at is None
    assert (dossier.created_by, dossier.created_at, dossier.updated_at) == (CLERK.id, AT, AT)
    assert dossier.pending_changes == []


def test_no_move_leads_back_to_draft_so_a_draft_has_never_moved() -> None:
    assert all(move.dest is not DRAFT for move in LIFECYCLE.moves)
    dossier = complete_dossier(Kind.COLLECTIVE)
    assert not dossier.has_moved
    dossier.submit(CAMPAIGN, DEADLINE, CLERK, AT)
    assert dossier.has_moved


def test_each_new_dossier_has_its_own_id() -> None:
    assert new_dossier().id != new_dossier().id


# --- editing ---------------------------------------------------------------


def test_edit_merges_each_section_and_keeps_the_fields_it_does_not_mention() -> None:
    dossier = new_dossier()
    dossier.edit({"report": {"address": "Ấp 1", "phone": "0276"}, "self_assessment": {"total_case_files": 10}}, AT)

    later = AT + timedelta(hours=1)
    changed = dossier.edit({"report": {"phone": "0277", "achievements": "Tốt"}}, later)

    assert changed == ["report.phone", "report.achievements"]
    assert dossier.report == {"address": "Ấp 1", "phone": "0277", "achievements": "Tốt"}
    assert dossier.self_assessment == {"total_case_files": 10}
    assert dossier.updated_at == later
    assert dossier.pending_changes == []


def test_a_none_value_clears_the_field() -> None:
    dossier = new_dossier(Kind.INDIVIDUAL)
    dossier.edit({"nominee": {"full_name": "Phạm Thị D", "position": "Chuyên viên"}}, AT)

    changed = dossier.edit({"nominee": {"position": None}}, AT)

    assert changed == ["nominee.position"]
    assert dossier.nominee == {"full_name": "Phạm Thị D"}


@pytest.mark.parametrize(
    "patch",
    [
        {"report": {"address": "Ấp 1"}},
        {"report": {"address": "Ấp 1", "phone": None}},
        {"report": {}},
        {"report": None},
        {},
    ],
    ids=["same value", "clearing an absent field", "empty section", "null section", "no sections"],
)
def test_an_edit_that_changes_nothing_reports_no_paths(patch: dict[str, Any]) -> None:
    dossier = new_dossier()
    dossier.edit({"report": {"address": "Ấp 1"}}, AT)

    assert dossier.edit(patch, AT) == []
    assert dossier.report == {"address": "Ấp 1"}


def test_edit_returns_the_changed_paths_of_every_section() -> None:
    dossier = new_dossier()

    changed = dossier.edit(
        {"report": {"address": "Ấp 1", "fax": None}, "self_assessment": {"online_procedures": 3}}, AT
    )

    assert changed == ["report.address", "self_assessment.online_procedures"]


def test_a_collective_may_fill_in_its_unit_particulars() -> None:
    dossier = new_dossier()

    changed = dossier.edit({"report": {"fax": "0276 1", "website": "https://chauthanh.tayninh.gov.vn"}}, AT)

    assert changed == ["report.fax", "report.website"]


@pytest.mark.parametrize(
    ("kind", "patch", "path"),
    [
        (Kind.COLLECTIVE, {"nominee": {"full_name": "Phạm Thị D"}}, "nominee"),
        (Kind.COLLECTIVE, {"nominee": {"full_name": None}}, "nominee"),
        (Kind.INDIVIDUAL, {"self_assessment": {"total_case_files": 100}}, "self_assessment"),
        (Kind.INDIVIDUAL, {"report": {"address": "Ấp 1"}}, "report.address"),
        (Kind.INDIVIDUAL, {"report": {"phone": "0276"}}, "report.phone"),
        (Kind.INDIVIDUAL, {"report": {"fax": "0276"}}, "report.fax"),
        (Kind.INDIVIDUAL, {"report": {"website": "https://x.vn"}}, "report.website"),
        (Kind.INDIVIDUAL, {"report": {"structure": "3 phòng"}}, "report.structure"),
        (Kind.INDIVIDUAL, {"report": {"staff_count": 0}}, "report.staff_count"),
        (Kind.INDIVIDUAL, {"report": {"functions": "Tham mưu"}}, "report.functions"),
    ],
)
def test_contents_that_do_not_belong_to_the_kind_are_refused_by_field(
    kind: Kind, patch: dict[str, Any], path: str
) -> None:
    dossier = new_dossier(kind)
    before = (dossier.nominee, dossier.report, dossier.self_assessment)

    with pytest.raises(InvalidContents) as raised:
        dossier.edit(patch, AT + timedelta(hours=1))

    error = raised.value
    assert isinstance(error, RuleViolation)
    assert (error.status, error.code) == (400, "validation_failed")
    assert list(error.extra["errors"]) == [path]
    [message] = error.extra["errors"][path]
    assert message["code"] == "not_for_this_kind"
    assert message["message"].startswith(("Hồ sơ", "Chỉ hồ sơ tập thể"))
    assert (dossier.nominee, dossier.report, dossier.self_assessment) == before
    assert dossier.updated_at == AT


def test_every_foreign_field_of_an_individuals_patch_is_named_at_once() -> None:
    dossier = new_dossier(Kind.INDIVIDUAL)

    with pytest.raises(InvalidContents) as raised:
        dossier.edit({"self_assessment": {"online_case_files": 1}, "report": {"address": "Ấp 1", "fax": "1"}}, AT)

    assert set(raised.value.extra["errors"]) == {"self_assessment", "report.address", "report.fax"}


def test_an_individual_may_write_its_achievements_and_clear_a_unit_particular() -> None:
    dossier = new_dossier(Kind.INDIVIDUAL)

    changed = dossier.edit({"report": {"achievements": "Tốt", "measures": "Nhiều", "address": None}}, AT)

    assert changed == ["report.achievements", "report.measures"]
    assert dossier.report == {"achievements": "Tốt", "measures": "Nhiều"}


@pytest.mark.parametrize(
    ("stored", "patch", "path"),
    [
        ({"total_case_files": 100}, {"online_case_files": 101}, "self_assessment.online_case_files"),
        ({"online_case_files": 50}, {"total_case_files": 49}, "self_assessment.online_case_files"),
        ({}, {"online_case_files": 2, "total_case_files": 1}, "self_assessment.online_case_files"),
        ({"total_procedures": 21}, {"online_procedures": 22}, "self_assessment.online_procedures"),
        ({"online_procedures": 5}, {"total_procedures": 0}, "self_assessment.online_procedures"),
    ],
)
def test_counts_that_put_online_above_total_after_merging_are_refused(
    stored: dict[str, int], patch: dict[str, int], path: str
) -> None:
    dossier = new_dossier()
    dossier.edit({"self_assessment": stored}, AT)

    with pytest.raises(InvalidContents) as raised:
        dossier.edit({"self_assessment": patch}, AT)

    assert raised.value.status == 400
    assert list(raised.value.extra["errors"]) == [path]
    assert raised.value.extra["errors"][path][0]["code"] == "online_above_total"
    assert "không được lớn hơn tổng số" in raised.value.extra["errors"][path][0]["message"]


def test_both_inconsistent_pairs_are_named_at_once() -> None:
    dossier = new_dossier()

    with pytest.raises(InvalidContents) as raised:
        dossier.edit({"self_assessment": {**COUNTS, "online_case_files": 101, "online_procedures": 22}}, AT)

    assert set(raised.value.extra["errors"]) == {
        "self_assessment.online_case_files",
        "self_assessment.online_procedures",
    }


@pytest.mark.parametrize(
    "counts",
    [
        {"online_case_files": 100, "total_case_files": 100},
        {"online_case_files": 0, "total_case_files": 0},
        {"online_case_files": 1_000},
        {"total_procedures": 0},
    ],
    ids=["online equals total", "both zero", "online without total", "total without online"],
)
def test_counts_online_up_to_total_or_with_one_side_unknown_are_accepted(counts: dict[str, int]) -> None:
    dossier = new_dossier()

    dossier.edit({"self_assessment": counts}, AT)

    assert dossier.self_assessment == counts


def test_a_refused_count_edit_leaves_the_dossier_as_it_was() -> None:
    dossier = new_dossier()
    dossier.edit({"self_assessment": {"total_case_files": 100}}, AT)

    with pytest.raises(InvalidContents):
        dossier.edit({"self_assessment": {"online_case_files": 101}}, AT + timedelta(hours=1))

    assert dossier.self_assessment == {"total_case_files": 100}
    assert dossier.updated_at == AT
    # the next, unrelated edit is not blocked by counts that were never accepted
    assert dossier.edit({"report": {"address": "Ấp 1"}}, AT) == ["report.address"]


@pytest.mark.parametrize(
    ("kind", "patch", "section"),
    [
        (Kind.COLLECTIVE, {"nominee": None}, "nominee"),
        (Kind.COLLECTIVE, {"nominee": {}}, "nominee"),
        (Kind.COLLECTIVE, {"nominee": None, **COMPLETE[Kind.COLLECTIVE]}, "nominee"),
        (Kind.INDIVIDUAL, {"self_assessment": None}, "self_assessment"),
        (Kind.INDIVIDUAL, {"self_assessment": {}}, "self_assessment"),
        (Kind.INDIVIDUAL, {"self_assessment": None, **COMPLETE[Kind.INDIVIDUAL]}, "self_assessment"),
    ],
)
def test_an_empty_section_of_the_other_kind_is_ignored_and_stays_absent(
    kind: Kind, patch: dict[str, Any], section: str
) -> None:
    dossier = new_dossier(kind)

    changed = dossier.edit(patch, AT)

    assert getattr(dossier, section) is None
    assert not any(path.startswith(f"{section}.") for path in changed)


@pytest.mark.parametrize("state", [SUBMITTED, WITHDRAWN, AWARDED, NOT_AWARDED])
def test_a_dossier_out_of_the_units_hands_cannot_be_edited(state: DossierState) -> None:
    dossier = dossier_in(state)
    report = dict(dossier.report)

    with pytest.raises(RuleViolation) as raised:
        dossier.edit({"report": {"address": "Ấp 9"}}, AT)

    assert (raised.value.status, raised.value.code) == (409, "dossier_not_editable")
    assert raised.value.extra == {"state": state.value}
    assert LIFECYCLE.state_names[state.value] in raised.value.detail
    assert dossier.report == report


def test_a_returned_dossier_can_be_edited_again() -> None:
    dossier = dossier_in(RETURNED)

    changed = dossier.edit({"self_assessment": {"online_case_files": 90}}, AT)

    assert changed == ["self_assessment.online_case_files"]
    assert dossier.self_assessment == {**COUNTS, "online_case_files": 90}


# --- what is missing -------------------------------------------------------

MISSING_DOCUMENTS = [
    ("missing_document", "to_trinh", "Chưa tải lên: Tờ trình."),
    ("missing_document", "bien_ban", "Chưa tải lên: Biên bản họp xét khen thưởng."),
    ("missing_document", "bao_cao_thanh_tich", "Chưa tải lên: Báo cáo thành tích."),
    ("missing_document", "danh_sach_tom_tat", "Chưa tải lên: Danh sách tóm tắt thành tích nổi bật."),
]
MISSING_OF_A_NEW = {
    Kind.COLLECTIVE: [
        ("missing_field", "report.address", "Chưa có: Địa điểm trụ sở chính."),
        ("missing_field", "report.phone", "Chưa có: Điện thoại."),
        ("missing_field", "report.structure", "Chưa có: Cơ cấu tổ chức."),
        ("missing_field", "report.staff_count", "Chưa có: Tổng số cán bộ, công chức và viên chức."),
        ("missing_field", "report.functions", "Chưa có: Chức năng, nhiệm vụ được giao."),
        ("missing_field", "report.achievements", "Chưa có: Thành tích đạt được."),
        ("missing_field", "report.measures", "Chưa có: Các biện pháp, giải pháp đạt được thành tích."),
        (
            "missing_field",
            "self_assessment.online_case_files",
            "Chưa có: Số hồ sơ TTHC xử lý trực tuyến mức 4 (tự chấm).",
        ),
        ("missing_field", "self_assessment.total_case_files", "Chưa có: Tổng số hồ sơ TTHC (tự chấm)."),
        (
            "missing_field",
            "self_assessment.online_procedures",
            "Chưa có: Số TTHC mức 4 có phát sinh hồ sơ trực tuyến (tự chấm).",
        ),
        ("missing_field", "self_assessment.total_procedures", "Chưa có: Tổng số TTHC mức 4 (tự chấm)."),
        *MISSING_DOCUMENTS,
    ],
    Kind.INDIVIDUAL: [
        ("missing_field", "nominee.full_name", "Chưa có: Họ và tên."),
        ("missing_field", "nominee.date_of_birth", "Chưa có: Ngày, tháng, năm sinh."),
        ("missing_field", "nominee.home_town", "Chưa có: Quê quán."),
        ("missing_field", "nominee.residence", "Chưa có: Nơi thường trú."),
        ("missing_field", "nominee.position", "Chưa có: Chức vụ."),
        ("missing_field", "report.achievements", "Chưa có: Thành tích đạt được."),
        ("missing_field", "report.measures", "Chưa có: Các biện pháp, giải pháp đạt được thành tích."),
        *MISSING_DOCUMENTS,
    ],
}


@pytest.mark.parametrize("kind", list(Kind))
def test_a_new_dossier_misses_every_required_field_and_all_four_documents(kind: Kind) -> None:
    missing = new_dossier(kind).missing(CAMPAIGN)

    assert [(m.code, m.item, m.message) for m in missing] == MISSING_OF_A_NEW[kind]


def test_the_four_missing_documents_are_the_campaigns_document_kinds() -> None:
    assert tuple(document.code for document in CAMPAIGN.documents) == DOCUMENT_KINDS


@pytest.mark.parametrize("kind", list(Kind))
def test_a_complete_dossier_misses_nothing(kind: Kind) -> None:
    assert complete_dossier(kind).missing(CAMPAIGN) == []


@pytest.mark.parametrize(
    ("kind", "patch", "item"),
    [
        (Kind.COLLECTIVE, {"report": {"address": "   "}}, "report.address"),
        (Kind.COLLECTIVE, {"report": {"functions": "\t\n"}}, "report.functions"),
        (Kind.COLLECTIVE, {"report": {"measures": ""}}, "report.measures"),
        (Kind.COLLECTIVE, {"report": {"phone": None}}, "report.phone"),
        (Kind.COLLECTIVE, {"self_assessment": {"total_procedures": None}}, "self_assessment.total_procedures"),
        (Kind.INDIVIDUAL, {"nominee": {"full_name": " \u00a0 "}}, "nominee.full_name"),
        (Kind.INDIVIDUAL, {"nominee": {"date_of_birth": None}}, "nominee.date_of_birth"),
        (Kind.INDIVIDUAL, {"report": {"achievements": "  "}}, "report.achievements"),
    ],
)
def test_a_blank_or_cleared_field_is_missing(kind: Kind, patch: dict[str, Any], item: str) -> None:
    dossier = complete_dossier(kind)
    dossier.edit(patch, AT)

    assert [(m.code, m.item) for m in dossier.missing(CAMPAIGN)] == [("missing_field", item)]


@pytest.mark.parametrize(
    "patch",
    [{"report": {"staff_count": 0}}, {"self_assessment": {"online_case_files": 0, "online_procedures": 0}}],
    ids=["no staff", "nothing online"],
)
def test_a_zero_count_is_a_value_not_a_missing_field(patch: dict[str, Any]) -> None:
    dossier = complete_dossier()
    dossier.edit(patch, AT)

    assert dossier.missing(CAMPAIGN) == []


def test_an_optional_field_left_empty_is_not_missing() -> None:
    dossier = complete_dossier()
    dossier.edit({"report": {"fax": None, "website": "", "lessons": " "}}, AT)

    assert dossier.missing(CAMPAIGN) == []


def test_only_the_documents_not_uploaded_are_missing() -> None:
    dossier = new_dossier()
    dossier.edit(COMPLETE[Kind.COLLECTIVE], AT)
    attach(dossier, "to_trinh")
    attach(dossier, "danh_sach_tom_tat")

    assert [(m.code, m.item) for m in dossier.missing(CAMPAIGN)] == [
        ("missing_document", "bien_ban"),
        ("missing_document", "bao_cao_thanh_tich"),
    ]


# --- documents -------------------------------------------------------------


def test_a_replaced_document_gets_the_next_version_and_the_old_one_stays() -> None:
    dossier = new_dossier()
    later = AT + timedelta(hours=2)

    first = dossier.attach("to_trinh", "a" * 64, 100, "application/pdf", "to-trinh.pdf", CLERK, AT)
    other = dossier.attach("bien_ban", "b" * 64, 200, "application/pdf", "bien-ban.pdf", CLERK, AT)
    second = dossier.attach("to_trinh", "c" * 64, 300, "image/png", "to-trinh-2.png", CLERK, later)

    assert (first.kind, first.version) == ("to_trinh", 1)
    assert (other.kind, other.version) == ("bien_ban", 1)
    assert (second.kind, second.version) == ("to_trinh", 2)
    assert (second.sha256, second.size, second.content_type, second.filename) == (
        "c" * 64,
        300,
        "image/png",
        "to-trinh-2.png",
    )
    assert (second.uploaded_at, second.uploaded_by, second.uploaded_by_name) == (later, CLERK.id, CLERK.name)
    assert dossier.current_documents() == {"to_trinh": second, "bien_ban": other}
    assert dossier.documents == [first, other, second]
    assert dossier.updated_at == later


def test_a_third_upload_is_version_three() -> None:
    dossier = new_dossier()
    for sha in "abc":
        attach(dossier, "to_trinh", sha)

    assert [d.version for d in dossier.documents] == [1, 2, 3]
    assert dossier.current_documents()["to_trinh"].sha256 == "c" * 64


def test_a_documents_metadata_leaves_out_who_uploaded_it() -> None:
    document = new_dossier().attach("to_trinh", "a" * 64, 100, "application/pdf", "tt.pdf", CLERK, AT)

    assert document.meta() == {
        "kind": "to_trinh",
        "version": 1,
        "sha256": "a" * 64,
        "size": 100,
        "content_type": "application/pdf",
        "filename": "tt.pdf",
        "uploaded_at": AT,
    }


@pytest.mark.parametrize("state", [SUBMITTED, WITHDRAWN, AWARDED, NOT_AWARDED])
def test_no_document_can_be_uploaded_to_a_dossier_out_of_the_units_hands(state: DossierState) -> None:
    dossier = dossier_in(state)

    with pytest.raises(RuleViolation) as raised:
        attach(dossier, "to_trinh", "f")

    assert (raised.value.status, raised.value.code) == (409, "dossier_not_editable")
    assert len(dossier.documents) == len(DOCUMENT_KINDS)


def test_a_returned_dossier_takes_a_new_version_of_a_document() -> None:
    dossier = dossier_in(RETURNED)

    attach(dossier, "to_trinh", "f")

    assert dossier.current_documents()["to_trinh"].version == 2


# --- submitting ------------------------------------------------------------


@pytest.mark.parametrize("kind", list(Kind))
def test_an_incomplete_dossier_is_refused_with_everything_missing_at_once(kind: Kind) -> None:
    dossier = new_dossier(kind)

    with pytest.raises(DossierIncomplete) as raised:
        dossier.submit(CAMPAIGN, DEADLINE, CLERK, AT)

    error = raised.value
    assert isinstance(error, RuleViolation)
    assert (error.status, error.code) == (422, "dossier_incomplete")
    expected = [{"code": code, "item": item, "message": message} for code, item, message in MISSING_OF_A_NEW[kind]]
    assert error.extra["missing"] == expected
    assert [m.item for m in error.missing] == [item for _, item, _ in MISSING_OF_A_NEW[kind]]
    assert f"thiếu {len(expected)} mục" in error.detail
    assert (dossier.state, dossier.round, dossier.submitted_at) == (DRAFT, 0, None)
    assert dossier.pending_changes == []


def test_a_dossier_missing_one_document_is_refused_naming_that_document() -> None:
    dossier = new_dossier()
    dossier.edit(COMPLETE[Kind.COLLECTIVE], AT)
    for document in DOCUMENT_KINDS[:3]:
        attach(dossier, document)

    with pytest.raises(DossierIncomplete) as raised:
        dossier.submit(CAMPAIGN, DEADLINE, CLERK, AT)

    assert raised.value.extra["missing"] == [
        {
            "code": "missing_document",
            "item": "danh_sach_tom_tat",
            "message": "Chưa tải lên: Danh sách tóm tắt thành tích nổi bật.",
        }
    ]


@pytest.mark.parametrize(
    "at",
    [
        datetime(2021, 12, 6, 23, 59, 59, 999999, tzinfo=LOCAL_TZ),
        datetime(2021, 12, 6, 16, 59, 59, 999999, tzinfo=UTC),
        datetime(2021, 12, 6, 0, 0, tzinfo=LOCAL_TZ),
        datetime(2021, 12, 5, 17, 0, tzinfo=UTC),
    ],
    ids=["last instant, local", "last instant, UTC", "first instant of the day, local", "first instant, UTC"],
)
def test_a_dossier_sent_on_the_deadline_day_in_vietnam_is_in_time(at: datetime) -> None:
    dossier = complete_dossier()

    dossier.submit(CAMPAIGN, DEADLINE, CLERK, at)

    assert dossier.state is SUBMITTED
    assert dossier.submitted_at == at


@pytest.mark.parametrize(
    "at",
    [
        datetime(2021, 12, 7, 0, 0, tzinfo=LOCAL_TZ),
        datetime(2021, 12, 6, 17, 0, tzinfo=UTC),
        datetime(2021, 12, 20, 9, 0, tzinfo=LOCAL_TZ),
    ],
    ids=["midnight after, local", "midnight after, UTC", "two weeks late"],
)
def test_a_dossier_sent_after_the_deadline_day_is_refused(at: datetime) -> None:
    dossier = complete_dossier()

    with pytest.raises(RuleViolation) as raised:
        dossier.submit(CAMPAIGN, DEADLINE, CLERK, at)

    assert (raised.value.status, raised.value.code) == (409, "deadline_passed")
    assert raised.value.extra == {"deadline": "2021-12-06"}
    assert "06/12/2021" in raised.value.detail
    assert (dossier.state, dossier.round, dossier.submitted_at) == (DRAFT, 0, None)
    assert dossier.pending_changes == []


def test_an_extended_deadline_lets_a_later_dossier_in() -> None:
    dossier = complete_dossier()

    dossier.submit(CAMPAIGN, date(2021, 12, 10), CLERK, datetime(2021, 12, 10, 20, 0, tzinfo=LOCAL_TZ))

    assert dossier.state is SUBMITTED


def test_submitting_moves_to_round_one_and_records_one_change_with_the_contents() -> None:
    dossier = new_dossier()
    dossier.edit(COMPLETE[Kind.COLLECTIVE], AT)
    for document in reversed(DOCUMENT_KINDS):
        attach(dossier, document)
    attach(dossier, "bien_ban", "e", AT + timedelta(hours=1))
    at = datetime(2021, 12, 6, 10, 0, tzinfo=LOCAL_TZ)

    dossier.submit(CAMPAIGN, DEADLINE, CLERK, at)

    assert (dossier.state, dossier.round, dossier.submitted_at, dossier.updated_at) == (SUBMITTED, 1, at, at)
    change = only_change(dossier)
    assert (change.subject_type, change.subject_id) == ("dossier", dossier.id)
    assert (change.trigger, change.source, change.dest) == ("submit", "draft", "submitted")
    assert change.event_type == "dossier.submitted"
    assert (change.campaign, change.unit) == (CAMPAIGN.code, UNIT)
    assert (change.actor, change.at, change.reason) == (CLERK, at, None)
    current = dossier.current_documents()
    assert change.payload == {
        "kind": "collective",
        "round": 1,
        "nominee": None,
        "report": REPORT,
        "self_assessment": COUNTS,
        "documents": [current[kind].meta() for kind in sorted(DOCUMENT_KINDS)],
        "submitted_at": at,
        "trigger": "submit",
        "from_state": "draft",
        "to_state": "submitted",
        "reason": None,
    }
    assert [d["kind"] for d in change.payload["documents"]] == [
        "bao_cao_thanh_tich",
        "bien_ban",
        "danh_sach_tom_tat",
        "to_trinh",
    ]
    assert [d["version"] for d in change.payload["documents"]] == [1, 2, 1, 1]
    assert change.payload["documents"][1]["sha256"] == "e" * 64


def test_an_individuals_submission_carries_the_nominee_and_no_self_assessment() -> None:
    dossier = submitted(complete_dossier(Kind.INDIVIDUAL))

    payload = only_change(dossier).payload
    assert payload["kind"] == "individual"
    assert payload["nominee"] == NOMINEE
    assert payload["self_assessment"] is None
    assert payload["report"] == COMPLETE[Kind.INDIVIDUAL]["report"]


# --- returned and resubmitted ----------------------------------------------


def test_review_returning_a_submitted_dossier_gives_it_back_with_the_reasons() -> None:
    dossier = dossier_in(SUBMITTED)
    at = AT + timedelta(days=2)

    dossier.reopen(REASONS, REVIEWER, at)

    assert dossier.state is RETURNED
    assert dossier.return_reasons == REASONS
    assert dossier.round == 1
    assert dossier.updated_at == at
    change = only_change(dossier)
    assert (change.trigger, change.source, change.dest) == ("reopen", "submitted", "returned")
    assert change.event_type == "dossier.reopened"
    assert (change.actor, change.at) == (REVIEWER, at)
    summary = "Số hồ sơ trực tuyến khác số liệu chính thức.; Tờ trình không đọc được."
    assert change.reason == summary
    assert change.payload == {
        "round": 1,
        "reasons": REASONS,
        "trigger": "reopen",
        "from_state": "submitted",
        "to_state": "returned",
        "reason": summary,
    }


def test_the_reasons_kept_on_the_dossier_are_its_own_copies() -> None:
    dossier = dossier_in(SUBMITTED)
    reasons = [dict(reason) for reason in REASONS]

    dossier.reopen(reasons, REVIEWER, AT)
    reasons[0]["message"] = "đổi"

    assert dossier.return_reasons == REASONS


@pytest.mark.parametrize("state", [DRAFT, RETURNED, WITHDRAWN, AWARDED, NOT_AWARDED])
def test_only_a_submitted_dossier_can_be_returned(state: DossierState) -> None:
    dossier = dossier_in(state)

    with pytest.raises(IllegalTransition) as raised:
        dossier.reopen(REASONS, REVIEWER, AT)

    assert (raised.value.state, raised.value.trigger) == (state.value, "reopen")
    assert dossier.state is state
    assert dossier.pending_changes == []


def test_resubmitting_a_returned_dossier_starts_round_two() -> None:
    dossier = dossier_in(RETURNED)
    dossier.edit({"self_assessment": {"online_case_files": 90}}, AT)
    at = datetime(2021, 12, 6, 15, 0, tzinfo=LOCAL_TZ)

    dossier.submit(CAMPAIGN, DEADLINE, CLERK, at)

    assert (dossier.state, dossier.round, dossier.submitted_at) == (SUBMITTED, 2, at)
    change = only_change(dossier)
    assert (change.trigger, change.source, change.dest) == ("resubmit", "returned", "submitted")
    assert change.event_type == "dossier.resubmitted"
    assert change.payload["round"] == 2
    assert change.payload["self_assessment"] == {**COUNTS, "online_case_files": 90}
    assert (change.payload["trigger"], change.payload["from_state"], change.payload["to_state"]) == (
        "resubmit",
        "returned",
        "submitted",
    )


def test_a_returned_dossier_made_incomplete_cannot_be_resubmitted() -> None:
    dossier = dossier_in(RETURNED)
    dossier.edit({"report": {"measures": None}}, AT)

    with pytest.raises(DossierIncomplete) as raised:
        dossier.submit(CAMPAIGN, DEADLINE, CLERK, AT)

    assert [m["item"] for m in raised.value.extra["missing"]] == ["report.measures"]
    assert (dossier.state, dossier.round) == (RETURNED, 1)


def test_the_full_history_of_a_returned_and_resubmitted_dossier_is_in_order() -> None:
    dossier = complete_dossier()

    submitted(dossier)
    dossier.reopen(REASONS, REVIEWER, AT)
    submitted(dossier)
    dossier.decide(True, OUTCOME, AWARDS, AT)

    changes = dossier.pull_changes()
    assert [(c.event_type, c.payload.get("round")) for c in changes] == [
        ("dossier.submitted", 1),
        ("dossier.reopened", 1),
        ("dossier.resubmitted", 2),
        ("dossier.awarded", None),
    ]
    assert [c.sequence for c in changes] == sorted(c.sequence for c in changes)


# --- withdrawing -----------------------------------------------------------


@pytest.mark.parametrize(("state", "round_"), [(DRAFT, 0), (SUBMITTED, 1), (RETURNED, 1)])
def test_a_dossier_can_be_withdrawn_from_every_open_state(state: DossierState, round_: int) -> None:
    dossier = dossier_in(state)
    at = AT + timedelta(days=1)

    dossier.withdraw(CLERK, at, "Đơn vị không đề nghị nữa", proposal_sent=False)

    assert dossier.state is WITHDRAWN
    assert dossier.updated_at == at
    change = only_change(dossier)
    assert (change.trigger, change.source, change.dest) == ("withdraw", state.value, "withdrawn")
    assert change.event_type == "dossier.withdrawn"
    assert (change.actor, change.at, change.reason) == (CLERK, at, "Đơn vị không đề nghị nữa")
    assert change.payload == {
        "kind": "collective",
        "round": round_,
        "trigger": "withdraw",
        "from_state": state.value,
        "to_state": "withdrawn",
        "reason": "Đơn vị không đề nghị nữa",
    }


def test_a_draft_can_be_withdrawn_even_after_the_proposal_is_sent() -> None:
    dossier = dossier_in(DRAFT)

    dossier.withdraw(CLERK, AT, None, proposal_sent=True)

    assert dossier.state is WITHDRAWN
    assert only_change(dossier).reason is None


@pytest.mark.parametrize("state", [SUBMITTED, RETURNED])
def test_a_dossier_already_sent_on_cannot_be_withdrawn_once_the_proposal_is_sent(state: DossierState) -> None:
    dossier = dossier_in(state)

    with pytest.raises(RuleViolation) as raised:
        dossier.withdraw(CLERK, AT, None, proposal_sent=True)

    assert (raised.value.status, raised.value.code) == (409, "proposal_already_sent")
    assert "không thể rút" in raised.value.detail
    assert dossier.state is state
    assert dossier.pending_changes == []


@pytest.mark.parametrize("state", [DRAFT, RETURNED])
def test_nothing_can_be_submitted_once_the_proposal_is_sent(state: DossierState) -> None:
    """A dossier sent after the proposal would be neither proposed nor left out with a reason: no outcome ever."""
    dossier = dossier_in(state)

    with pytest.raises(RuleViolation) as raised:
        dossier.submit(CAMPAIGN, DEADLINE, CLERK, AT, proposal_sent=True)

    assert (raised.value.status, raised.value.code) == (409, "proposal_already_sent")
    assert "không thể nộp" in raised.value.detail
    assert (dossier.state, dossier.pending_changes) == (state, [])


@pytest.mark.parametrize(("state", "name"), [(AWARDED, "được khen thưởng"), (NOT_AWARDED, "không được khen thưởng")])
def test_a_decided_dossier_cannot_be_withdrawn(state: DossierState, name: str) -> None:
    dossier = dossier_in(state)

    with pytest.raises(IllegalTransition) as raised:
        dossier.withdraw(CLERK, AT, None, proposal_sent=False)

    assert raised.value.detail == f"Không thể rút khi hồ sơ đang ở trạng thái “{name}”."
    assert dossier.state is state


COMMANDS: dict[str, tuple[str, Callable[[Dossier], object]]] = {
    "submit": ("nộp", lambda d: d.submit(CAMPAIGN, DEADLINE, CLERK, AT)),
    "reopen": ("trả lại", lambda d: d.reopen(REASONS, REVIEWER, AT)),
    "withdraw": ("rút", lambda d: d.withdraw(CLERK, AT, None, proposal_sent=False)),
    "award": ("ghi nhận khen thưởng", lambda d: d.decide(True, OUTCOME, AWARDS, AT)),
    "refuse": ("ghi nhận không khen thưởng", lambda d: d.decide(False, OUTCOME, AWARDS, AT)),
}


@pytest.mark.parametrize("trigger", list(COMMANDS))
def test_a_withdrawn_dossier_can_do_nothing_more(trigger: str) -> None:
    dossier = dossier_in(WITHDRAWN)
    action, command = COMMANDS[trigger]

    with pytest.raises(IllegalTransition) as raised:
        command(dossier)

    error = raised.value
    assert (error.subject_type, error.subject_id) == ("dossier", dossier.id)
    assert (error.state, error.trigger, error.allowed) == ("withdrawn", trigger, [])
    assert error.detail == f"Không thể {action} khi hồ sơ đang ở trạng thái “đã rút”."
    assert dossier.state is WITHDRAWN
    assert dossier.pending_changes == []


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.edit({"report": {"address": "Ấp 9"}}, AT),
        lambda d: attach(d, "to_trinh", "f"),
    ],
    ids=["edit", "attach"],
)
def test_a_withdrawn_dossier_cannot_be_changed_either(edit: Callable[[Dossier], object]) -> None:
    dossier = dossier_in(WITHDRAWN)

    with pytest.raises(RuleViolation) as raised:
        edit(dossier)

    assert raised.value.code == "dossier_not_editable"
    assert "“đã rút”" in raised.value.detail


@pytest.mark.parametrize(
    ("state", "trigger"),
    [(SUBMITTED, "submit"), (WITHDRAWN, "submit"), (DRAFT, "reopen"), (WITHDRAWN, "withdraw"), (DRAFT, "award")],
)
def test_a_refused_transition_leaves_the_dossier_as_it_was(state: DossierState, trigger: str) -> None:
    dossier = dossier_in(state)
    later = AT + timedelta(days=3)
    commands = {
        "submit": lambda: dossier.submit(CAMPAIGN, DEADLINE, CLERK, later),
        "reopen": lambda: dossier.reopen(REASONS, REVIEWER, later),
        "withdraw": lambda: dossier.withdraw(CLERK, later, None, proposal_sent=False),
        "award": lambda: dossier.decide(True, OUTCOME, AWARDS, later),
    }

    def snapshot() -> tuple[object, ...]:
        return (
            dossier.state,
            dossier.round,
            dossier.submitted_at,
            dossier.return_reasons,
            dossier.outcome,
            dossier.updated_at,
        )

    before = snapshot()

    with pytest.raises(IllegalTransition):
        commands[trigger]()

    assert snapshot() == before


# --- the council's decision ------------------------------------------------


@pytest.mark.parametrize(
    ("granted", "state", "trigger", "event_type"),
    [(True, AWARDED, "award", "dossier.awarded"), (False, NOT_AWARDED, "refuse", "dossier.not_awarded")],
)
def test_the_councils_decision_closes_a_submitted_dossier(
    granted: bool, state: DossierState, trigger: str, event_type: str
) -> None:
    dossier = dossier_in(SUBMITTED)
    outcome = {**OUTCOME, "reason": "Đạt cả hai chỉ tiêu" if granted else "Không đạt chỉ tiêu"}
    at = AT + timedelta(days=14)

    assert dossier.decide(granted, outcome, AWARDS, at) is True

    assert dossier.state is state
    assert dossier.outcome == {**outcome, "granted": granted, "previous": None}
    assert dossier.updated_at == at
    change = only_change(dossier)
    assert (change.trigger, change.source, change.dest) == (trigger, "submitted", state.value)
    assert change.event_type == event_type
    assert (change.actor, change.at, change.reason) == (AWARDS, at, outcome["reason"])
    assert (change.campaign, change.unit) == (CAMPAIGN.code, UNIT)
    assert change.payload == {
        "outcome": outcome,
        "trigger": trigger,
        "from_state": "submitted",
        "to_state": state.value,
        "reason": outcome["reason"],
        "previous": None,
    }


@pytest.mark.parametrize(("state", "granted"), [(AWARDED, True), (NOT_AWARDED, False)])
def test_an_amendment_of_the_terms_replaces_the_outcome_keeps_the_previous_and_stays_put(
    state: DossierState, granted: bool
) -> None:
    dossier = dossier_in(state)
    first = dossier.outcome
    amended = {**OUTCOME, "decision_number": "1300/QĐ-UBND", "amount": 3_000_000}
    at = AT + timedelta(days=30)

    assert dossier.decide(granted, amended, AWARDS, at) is False

    assert dossier.outcome == {**amended, "granted": granted, "previous": first}
    assert first == {**OUTCOME, "granted": state is AWARDED, "previous": None}
    assert dossier.state is state
    assert dossier.pending_changes == []
    assert dossier.updated_at == at


@pytest.mark.parametrize(
    ("state", "granted", "trigger", "dest"),
    [(AWARDED, False, "refuse", NOT_AWARDED), (NOT_AWARDED, True, "award", AWARDED)],
)
def test_an_amendment_that_reverses_the_outcome_moves_the_dossier_with_it(
    state: DossierState, granted: bool, trigger: str, dest: DossierState
) -> None:
    dossier = dossier_in(state)
    dossier.pull_changes()
    amended = {**OUTCOME, "decision_number": "1300/QĐ-UBND", "reason": "Quyết định sửa đổi"}

    assert dossier.decide(granted, amended, AWARDS, AT) is True

    assert dossier.state is dest
    [change] = dossier.pull_changes()
    assert (change.trigger, change.source, change.dest) == (trigger, state.value, dest.value)
    assert change.payload["previous"] == OUTCOME
    assert change.payload["outcome"] == amended


def test_every_amendment_keeps_the_whole_chain_of_earlier_outcomes() -> None:
    dossier = dossier_in(AWARDED)

    dossier.decide(True, {"decision_number": "2"}, AWARDS, AT)
    dossier.decide(True, {"decision_number": "3"}, AWARDS, AT)

    assert dossier.outcome is not None
    assert dossier.outcome["decision_number"] == "3"
    assert dossier.outcome["previous"]["decision_number"] == "2"
    assert dossier.outcome["previous"]["previous"] == {**OUTCOME, "granted": True, "previous": None}
    assert dossier.state is AWARDED
    assert dossier.pending_changes == []


@pytest.mark.parametrize(
    ("state", "granted", "trigger"), [(DRAFT, True, "award"), (DRAFT, False, "refuse"), (RETURNED, True, "award")]
)
def test_an_open_dossier_not_waiting_for_the_council_cannot_be_decided(
    state: DossierState, granted: bool, trigger: str
) -> None:
    dossier = dossier_in(state)

    assert not dossier.may_take_outcome(granted)
    with pytest.raises(IllegalTransition) as raised:
        dossier.decide(granted, OUTCOME, AWARDS, AT)

    assert (raised.value.state, raised.value.trigger) == (state.value, trigger)
    assert dossier.state is state
    assert dossier.pending_changes == []


def test_a_dossier_still_returned_at_the_decision_is_not_awarded_with_the_reason_it_was_left_out() -> None:
    dossier = dossier_in(RETURNED)
    reason = "Hồ sơ đã bị trả lại để bổ sung và chưa được thẩm định lại."

    assert dossier.may_take_outcome(False)
    assert dossier.decide(False, {**OUTCOME, "reason": reason}, AWARDS, AT) is True

    assert dossier.state is NOT_AWARDED
    change = only_change(dossier)
    assert (change.trigger, change.source, change.reason) == ("refuse", "returned", reason)
    with pytest.raises(RuleViolation):
        dossier.require_editable("sửa")  # the campaign is decided: no more revisions


# --- the lifecycle as a table ----------------------------------------------

ALLOWED = {
    DRAFT: ["submit", "withdraw"],
    SUBMITTED: ["reopen", "withdraw", "award", "refuse"],
    RETURNED: ["resubmit", "withdraw", "refuse"],  # still returned when the chair decides: not awarded
    WITHDRAWN: [],
    AWARDED: ["refuse"],  # an amending decision may reverse the outcome
    NOT_AWARDED: ["award"],
}
MOVES = {
    "submit": ({DRAFT}, SUBMITTED, "dossier.submitted"),
    "reopen": ({SUBMITTED}, RETURNED, "dossier.reopened"),
    "resubmit": ({RETURNED}, SUBMITTED, "dossier.resubmitted"),
    "withdraw": ({DRAFT, SUBMITTED, RETURNED}, WITHDRAWN, "dossier.withdrawn"),
    "award": ({SUBMITTED, NOT_AWARDED}, AWARDED, "dossier.awarded"),
    "refuse": ({SUBMITTED, RETURNED, AWARDED}, NOT_AWARDED, "dossier.not_awarded"),
}


@pytest.mark.parametrize(("state", "allowed"), ALLOWED.items(), ids=[s.value for s in ALLOWED])
def test_each_state_allows_exactly_what_the_diagram_draws(state: DossierState, allowed: list[str]) -> None:
    assert LIFECYCLE.allowed(state) == allowed


def test_the_table_covers_every_state() -> None:
    assert set(ALLOWED) == set(DossierState)


@pytest.mark.parametrize("state", list(DossierState), ids=[s.value for s in DossierState])
@pytest.mark.parametrize("trigger", list(MOVES))
def test_every_trigger_from_every_state_moves_where_the_diagram_says_or_is_refused(
    state: DossierState, trigger: str
) -> None:
    sources, dest, event_type = MOVES[trigger]
    dossier = new_dossier()
    dossier.state = state

    if state in sources:
        change = LIFECYCLE.fire(dossier, trigger, actor=CLERK, at=AT)
        assert dossier.state is dest
        assert (change.source, change.dest, change.event_type) == (state.value, dest.value, event_type)
    else:
        with pytest.raises(IllegalTransition) as raised:
            LIFECYCLE.fire(dossier, trigger, actor=CLERK, at=AT)
        assert raised.value.allowed == ALLOWED[state]
        assert raised.value.detail.endswith(f"“{LIFECYCLE.state_names[state.value]}”.")
        assert dossier.state is state
        assert dossier.pending_changes == []


def test_every_state_and_action_has_a_vietnamese_name() -> None:
    assert set(LIFECYCLE.state_names) == {state.value for state in DossierState}
    assert set(LIFECYCLE.action_names) == set(MOVES)
