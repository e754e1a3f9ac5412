"""Culture & Information's review, alone: the Nomination and Proposal aggregates of ``services/review/domain.py``.

No database, no bus: each command is applied to a plain object, and what it changed (state, decisions, the
pending state changes the unit of work would publish) is read back from it. A refused command must leave the
aggregate exactly as it was.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.review.domain import (
    COUNT_FIELDS,
    NOMINATION,
    STEPS,
    Difference,
    Nomination,
    NominationState,
    Proposal,
    ProposalState,
)
from shared.events import Actor
from shared.statemachine import Forbidden, IllegalTransition, RuleViolation, StateChange

CAMPAIGN = "chau-thanh-2021"
UNIT = "hoa-tan"
AT = datetime(2021, 12, 2, 2, 0, tzinfo=UTC)
LATER = AT + timedelta(hours=3)

REVIEWER = Actor(id="reviewer-1", name="Phạm Thị D", role="reviewer", unit="van-hoa-thong-tin")
SECOND = Actor(id="reviewer-2", name="Lê Văn E", role="reviewer", unit="noi-vu")
OWN = Actor(id="reviewer-3", name="Trần Văn F", role="reviewer", unit=UNIT)  # a reviewer of the nominee's unit
HEAD = Actor(id="head-1", name="Nguyễn Văn G", role="review_head", unit="van-hoa-thong-tin")
CLERK = Actor(id="clerk-1", name="Nguyễn Văn A", role="unit_clerk", unit=UNIT)
HOME_AFFAIRS = Actor(id="ha-1", name="Võ Thị H", role="home_affairs", unit="noi-vu")

OFFICIAL = {"online_case_files": 720, "total_case_files": 1000, "online_procedures": 30, "total_procedures": 50}
DIFFERENT = {**OFFICIAL, "online_case_files": 700, "total_procedures": 48}
REASONS = [
    {"field": "bien_ban", "message": "Biên bản họp chưa có chữ ký."},
    {"field": "self_assessment.online_case_files", "message": "Số hồ sơ trực tuyến khác số liệu chính thức."},
]
CONTENTS = {
    "nominee": None,
    "report": {"achievements": "Tỷ lệ hồ sơ trực tuyến đạt 72%"},
    "self_assessment": OFFICIAL,
    "documents": [],
    "submitted_at": "2021-12-01T02:00:00+00:00",
}
INDIVIDUAL_CONTENTS = {**CONTENTS, "nominee": {"full_name": "Nguyễn Thị Hoa"}, "self_assessment": None}

IN_REVIEW, APPRAISED, REJECTED, RETURNED, WITHDRAWN = NominationState


# -- making nominations ----------------------------------------------------------------------------------------


def nomination(kind: str = "collective", declared: dict[str, int] | None = None, round_: int = 1) -> Nomination:
    contents = copy.deepcopy(INDIVIDUAL_CONTENTS if kind == "individual" else CONTENTS)
    if declared is not None:
        contents["self_assessment"] = declared
    return Nomination("dossier-1", CAMPAIGN, UNIT, kind, round_, contents, AT)


def approve(n: Nomination, step: str, actor: Actor = REVIEWER, **options: Any) -> None:
    options.setdefault("official", OFFICIAL)
    n.decide_step(step, True, f"Đạt: {step}", actor, AT, **options)


def appraised(kind: str = "collective") -> Nomination:
    """A nomination with every step approved, figures by REVIEWER and the appraisal by SECOND."""
    n = nomination(kind)
    for step in STEPS[kind]:
        approve(n, step, SECOND if step == "appraisal" else REVIEWER)
    n.pull_changes()
    return n


def in_state(state: NominationState, kind: str = "collective") -> Nomination:
    """A nomination brought to ``state`` by its own commands, the changes on the way already pulled."""
    if state is APPRAISED:
        return appraised(kind)
    n = nomination(kind)
    if state is REJECTED:
        n.decide_step("completeness", False, "Thiếu tờ trình.", REVIEWER, AT)
    elif state is RETURNED:
        n.return_to_unit(REASONS, REVIEWER, AT)
    elif state is WITHDRAWN:
        n.withdrawn(CLERK, AT, "Đơn vị rút hồ sơ.")
    n.pull_changes()
    assert n.state is state
    return n


def only_change(aggregate: Nomination | Proposal) -> StateChange:
    changes = aggregate.pull_changes()
    assert len(changes) == 1, changes
    return changes[0]


def snapshot(n: Nomination) -> tuple[Any, ...]:
    return (
        n.state,
        n.round,
        copy.deepcopy(n.decisions),
        copy.deepcopy(n.contents),
        copy.deepcopy(n.return_reasons),
        n.updated_at,
        list(n.pending_changes),
    )


def refused(n: Nomination, error: type[Exception], command: Any) -> Any:
    """Run ``command`` on ``n``, expecting ``error``; the nomination must be exactly as it was."""
    before = snapshot(n)
    with pytest.raises(error) as raised:
        command()
    assert snapshot(n) == before
    return raised.value


# -- a new nomination and its steps ----------------------------------------------------------------------------


def test_a_new_nomination_is_in_review_with_its_first_step_next() -> None:
    n = nomination()

    assert (n.id, n.campaign, n.unit, n.kind, n.round) == ("dossier-1", CAMPAIGN, UNIT, "collective", 1)
    assert n.state is IN_REVIEW
    assert n.decisions == []
    assert n.return_reasons is None
    assert n.updated_at == AT
    assert n.next_step() == "completeness"
    assert n.pending_changes == []


@pytest.mark.parametrize(
    ("kind", "steps"),
    [("collective", ["completeness", "figures", "appraisal"]), ("individual", ["completeness", "appraisal"])],
)
def test_each_kind_goes_through_its_steps_in_order_and_the_last_approval_appraises(kind: str, steps: list[str]) -> None:
    n = nomination(kind)
    assert list(n.steps) == steps

    seen = []
    for step in steps:
        seen.append(n.next_step())
        assert n.state is IN_REVIEW
        approve(n, step, SECOND if step == "appraisal" else REVIEWER)

    assert seen == steps
    assert n.next_step() is None
    assert n.state is APPRAISED
    change = only_change(n)
    assert (change.event_type, change.trigger, change.source, change.dest) == (
        "nomination.appraised",
        "appraise",
        "in_review",
        "appraised",
    )
    assert change.actor == SECOND
    assert (change.campaign, change.unit) == (CAMPAIGN, UNIT)
    assert change.payload["dossier_id"] == "dossier-1"
    assert (change.payload["kind"], change.payload["round"]) == (kind, 1)
    assert [(d.round, d.step, d.approved) for d in n.decisions] == [(1, step, True) for step in steps]


def test_an_approval_short_of_the_last_step_records_the_decision_and_changes_no_state() -> None:
    n = nomination()

    decision = n.decide_step("completeness", True, "Đủ bốn tài liệu.", REVIEWER, LATER)

    assert n.state is IN_REVIEW
    assert n.pending_changes == []
    assert n.decisions == [decision]
    assert (decision.round, decision.step, decision.approved, decision.note, decision.override) == (
        1,
        "completeness",
        True,
        "Đủ bốn tài liệu.",
        False,
    )
    assert (decision.reviewer_id, decision.reviewer_name, decision.reviewer_unit) == (
        REVIEWER.id,
        REVIEWER.name,
        REVIEWER.unit,
    )
    assert decision.decided_at == LATER
    assert n.updated_at == LATER, "every decision changes the row, so two reviewers at once meet the version check"
    assert n.next_step() == "figures"


@pytest.mark.parametrize(
    ("kind", "done", "step", "expected"),
    [
        ("collective", [], "figures", "completeness"),
        ("collective", [], "appraisal", "completeness"),
        ("collective", ["completeness"], "appraisal", "figures"),
        ("collective", ["completeness"], "completeness", "figures"),
        ("individual", [], "appraisal", "completeness"),
    ],
    ids=["figures first", "appraisal first", "appraisal before figures", "a step twice", "individual"],
)
def test_a_step_out_of_order_is_refused_naming_the_step_to_do_next(
    kind: str, done: list[str], step: str, expected: str
) -> None:
    n = nomination(kind)
    for earlier in done:
        approve(n, earlier)

    error = refused(n, RuleViolation, lambda: n.decide_step(step, True, "Đạt.", SECOND, LATER, official=OFFICIAL))

    assert (error.status, error.code) == (409, "step_out_of_order")
    assert error.extra == {"expected": expected}
    assert "bước cần làm tiếp theo" in error.detail


@pytest.mark.parametrize(("kind", "step"), [("individual", "figures"), ("collective", "vote"), ("collective", "")])
def test_a_step_the_kind_does_not_have_is_an_unknown_step(kind: str, step: str) -> None:
    n = nomination(kind)

    error = refused(n, RuleViolation, lambda: n.decide_step(step, True, "Đạt.", REVIEWER, LATER, official=OFFICIAL))

    assert (error.status, error.code) == (409, "unknown_step")
    assert ", ".join(STEPS[kind]) in error.detail


def test_a_rejection_records_the_decision_and_ends_the_nomination_rejected() -> None:
    n = nomination()
    approve(n, "completeness")

    n.decide_step("figures", False, "Số liệu tự chấm sai lệch lớn.", REVIEWER, LATER)

    assert n.state is REJECTED
    assert [(d.step, d.approved) for d in n.decisions] == [("completeness", True), ("figures", False)]
    change = only_change(n)
    assert (change.event_type, change.trigger, change.dest) == ("nomination.rejected", "reject", "rejected")
    assert change.reason == "Số liệu tự chấm sai lệch lớn."
    assert change.payload["step"] == "figures"
    assert change.at == LATER


def test_rejecting_the_figures_needs_no_official_figures() -> None:
    n = nomination()
    approve(n, "completeness")

    n.decide_step("figures", False, "Chưa có số liệu để đối chiếu.", REVIEWER, AT, official=None)

    assert n.state is REJECTED


# -- the figures step ------------------------------------------------------------------------------------------


def at_figures(declared: dict[str, int] | None = None) -> Nomination:
    n = nomination(declared=declared)
    approve(n, "completeness")
    return n


def test_figures_cannot_be_approved_before_the_official_figures_are_imported() -> None:
    n = at_figures()

    error = refused(
        n, RuleViolation, lambda: n.decide_step("figures", True, "Khớp.", REVIEWER, LATER, official=None, override=True)
    )

    assert (error.status, error.code) == (409, "figures_not_imported")
    assert "một cửa" in error.detail


def test_figures_that_agree_are_approved_without_an_override() -> None:
    n = at_figures()

    decision = n.decide_step("figures", True, "Khớp số liệu một cửa.", REVIEWER, LATER, official=OFFICIAL)

    assert (decision.step, decision.approved, decision.override) == ("figures", True, False)
    assert n.differences(OFFICIAL) == []
    assert n.next_step() == "appraisal"


def test_the_differences_list_every_count_that_differs_side_by_side() -> None:
    n = nomination(declared={**DIFFERENT, "online_procedures": None})

    assert n.differences(OFFICIAL) == [
        Difference("online_case_files", 700, 720),
        Difference("online_procedures", None, 30),
        Difference("total_procedures", 48, 50),
    ]
    assert nomination("individual").differences(OFFICIAL) == [], "an individual dossier declares no counts"
    assert n.differences(None) == []


def test_figures_that_differ_block_approval_and_the_refusal_lists_the_differences() -> None:
    n = at_figures(DIFFERENT)

    error = refused(
        n, RuleViolation, lambda: n.decide_step("figures", True, "Đạt.", REVIEWER, LATER, official=OFFICIAL)
    )

    assert (error.status, error.code) == (409, "figures_differ")
    assert error.extra["differences"] == [
        {"field": "online_case_files", "declared": 700, "official": 720},
        {"field": "total_procedures", "declared": 48, "official": 50},
    ]


@pytest.mark.parametrize("note", ["", "   ", "\n\t"])
def test_an_override_without_a_note_is_still_refused(note: str) -> None:
    n = at_figures(DIFFERENT)

    error = refused(
        n,
        RuleViolation,
        lambda: n.decide_step("figures", True, note, REVIEWER, LATER, official=OFFICIAL, override=True),
    )

    assert error.code == "figures_differ"


def test_figures_that_differ_are_approved_with_an_override_and_its_note() -> None:
    n = at_figures(DIFFERENT)
    note = "Phần mềm một cửa tính thiếu 20 hồ sơ nộp qua bưu điện; đã đối chiếu sổ theo dõi."

    decision = n.decide_step("figures", True, note, REVIEWER, LATER, official=OFFICIAL, override=True)

    assert (decision.approved, decision.override, decision.note) == (True, True, note)
    assert n.next_step() == "appraisal"
    assert n.state is IN_REVIEW


def test_an_override_counts_only_on_the_figures_step() -> None:
    n = nomination()

    decision = n.decide_step("completeness", True, "Đủ.", REVIEWER, AT, override=True)

    assert decision.override is False


# -- four eyes and conflicts of interest ----------------------------------------------------------------------


def at_appraisal() -> Nomination:
    n = nomination()
    approve(n, "completeness")
    approve(n, "figures")
    return n


def test_the_reviewer_who_approved_the_figures_may_not_appraise() -> None:
    n = at_appraisal()

    error = refused(n, RuleViolation, lambda: n.decide_step("appraisal", True, "Đạt.", REVIEWER, LATER))

    assert (error.status, error.code) == (409, "four_eyes")
    assert error.extra == {"figures_approved_by": REVIEWER.name}


def test_another_person_appraises_after_the_figures() -> None:
    n = at_appraisal()

    n.decide_step("appraisal", True, "Đạt, đề nghị khen thưởng.", SECOND, LATER)

    assert n.state is APPRAISED
    assert [d.reviewer_id for d in n.decisions] == [REVIEWER.id, REVIEWER.id, SECOND.id]


def test_the_figures_reviewer_may_still_reject_at_appraisal() -> None:
    n = at_appraisal()

    n.decide_step("appraisal", False, "Thành tích chưa nổi bật.", REVIEWER, LATER)

    assert n.state is REJECTED


def test_the_same_person_may_do_both_steps_of_an_individual_nomination() -> None:
    n = nomination("individual")
    approve(n, "completeness")

    approve(n, "appraisal")

    assert n.state is APPRAISED


@pytest.mark.parametrize("step", ["completeness", "figures", "appraisal", "no-such-step"])
@pytest.mark.parametrize("approve_it", [True, False])
def test_nobody_decides_a_step_of_their_own_units_nomination(step: str, approve_it: bool) -> None:
    n = nomination()

    error = refused(n, Forbidden, lambda: n.decide_step(step, approve_it, "Đạt.", OWN, LATER, official=OFFICIAL))

    assert (error.status, error.code) == (403, "own_unit")
    assert "chính đơn vị mình" in error.detail


@pytest.mark.parametrize("state", [IN_REVIEW, APPRAISED, REJECTED])
def test_nobody_returns_their_own_units_nomination(state: NominationState) -> None:
    n = in_state(state)

    error = refused(n, Forbidden, lambda: n.return_to_unit(REASONS, OWN, LATER))

    assert (error.status, error.code) == (403, "own_unit")


def test_a_reviewer_without_a_unit_is_independent_of_every_unit() -> None:
    n = nomination()

    n.decide_step("completeness", True, "Đủ.", Actor(id="r", name="R", role="reviewer", unit=None), AT)

    assert n.next_step() == "figures"


# -- returns, resubmissions and withdrawals --------------------------------------------------------------------


@pytest.mark.parametrize("state", [IN_REVIEW, APPRAISED, REJECTED])
def test_a_return_sends_the_dossier_back_with_one_complete_list_of_reasons(state: NominationState) -> None:
    n = in_state(state)

    n.return_to_unit(REASONS, REVIEWER, LATER)

    assert n.state is RETURNED
    assert n.return_reasons == REASONS
    assert n.updated_at == LATER
    change = only_change(n)
    assert (change.event_type, change.trigger, change.source, change.dest) == (
        "dossier.returned",
        "return",
        state.value,
        "returned",
    )
    assert change.payload["reasons"] == REASONS
    assert (change.payload["dossier_id"], change.payload["kind"], change.payload["round"]) == (
        "dossier-1",
        "collective",
        1,
    )
    assert change.reason == "Biên bản họp chưa có chữ ký.; Số hồ sơ trực tuyến khác số liệu chính thức."
    assert (change.actor, change.at, change.unit) == (REVIEWER, LATER, UNIT)


def test_the_reasons_kept_are_a_copy_of_what_the_reviewer_sent() -> None:
    n = nomination()
    reasons = copy.deepcopy(REASONS)

    n.return_to_unit(reasons, REVIEWER, LATER)
    reasons[0]["message"] = "changed afterwards"

    assert n.return_reasons == REASONS


@pytest.mark.parametrize("state", [RETURNED, WITHDRAWN])
def test_a_return_from_returned_or_withdrawn_is_an_illegal_transition(state: NominationState) -> None:
    n = in_state(state)

    error = refused(n, IllegalTransition, lambda: n.return_to_unit(REASONS, REVIEWER, LATER))

    assert (error.state, error.trigger) == (state.value, "return")


def resubmitted_after_return(kind: str = "collective") -> Nomination:
    n = nomination(kind)
    for step in STEPS[kind][:-1]:
        approve(n, step)
    n.return_to_unit(REASONS, REVIEWER, AT)
    n.pull_changes()
    return n


def test_a_resubmission_starts_a_new_round_from_completeness_keeping_the_earlier_decisions() -> None:
    n = resubmitted_after_return()
    earlier = copy.deepcopy(n.decisions)
    revised = {**CONTENTS, "self_assessment": DIFFERENT}

    assert n.resubmitted(2, revised, CLERK, LATER) is True

    assert n.state is IN_REVIEW
    assert n.round == 2
    assert n.contents == revised
    assert n.updated_at == LATER
    assert n.next_step() == "completeness"
    assert n.decisions_of(2) == []
    assert n.decisions_of(1) == earlier
    assert [d.step for d in earlier] == ["completeness", "figures"]
    change = only_change(n)
    assert (change.event_type, change.trigger, change.source, change.dest) == (
        "nomination.restarted",
        "restart",
        "returned",
        "in_review",
    )
    assert change.payload["round"] == 2
    assert change.actor == CLERK


def test_the_new_round_takes_its_own_decisions_and_four_eyes_counts_within_it() -> None:
    n = resubmitted_after_return()
    n.resubmitted(2, CONTENTS, CLERK, LATER)

    approve(n, "completeness", SECOND)
    approve(n, "figures", SECOND)  # REVIEWER approved round 1's figures: only this round's approval counts
    n.decide_step("appraisal", True, "Đạt.", REVIEWER, LATER)

    assert n.state is APPRAISED
    assert [(d.round, d.step) for d in n.decisions] == [
        (1, "completeness"),
        (1, "figures"),
        (2, "completeness"),
        (2, "figures"),
        (2, "appraisal"),
    ]


@pytest.mark.parametrize("round_", [0, 1])
def test_a_resubmission_of_a_round_already_seen_changes_nothing(round_: int) -> None:
    n = resubmitted_after_return()
    before = snapshot(n)

    assert n.resubmitted(round_, {**CONTENTS, "report": {}}, CLERK, LATER) is False

    assert snapshot(n) == before


@pytest.mark.parametrize("state", [IN_REVIEW, APPRAISED, REJECTED, WITHDRAWN])
def test_a_resubmission_of_a_nomination_that_was_not_returned_changes_nothing(state: NominationState) -> None:
    n = in_state(state)
    before = snapshot(n)

    assert n.resubmitted(2, CONTENTS, CLERK, LATER) is False

    assert snapshot(n) == before


@pytest.mark.parametrize("state", [IN_REVIEW, APPRAISED, REJECTED, RETURNED])
def test_the_unit_withdraws_from_any_state_but_withdrawn(state: NominationState) -> None:
    n = in_state(state)

    assert n.withdrawn(CLERK, LATER, "Đơn vị rút hồ sơ.") is True

    assert n.state is WITHDRAWN
    assert n.updated_at == LATER
    change = only_change(n)
    assert (change.event_type, change.trigger, change.source, change.dest) == (
        "nomination.withdrawn",
        "withdraw",
        state.value,
        "withdrawn",
    )
    assert (change.reason, change.actor) == ("Đơn vị rút hồ sơ.", CLERK)


def test_a_second_withdrawal_changes_nothing() -> None:
    n = in_state(WITHDRAWN)
    before = snapshot(n)

    assert n.withdrawn(CLERK, LATER, "Lần nữa.") is False

    assert snapshot(n) == before


@pytest.mark.parametrize("approve_it", [True, False])
@pytest.mark.parametrize("state", [WITHDRAWN, APPRAISED, REJECTED, RETURNED])
def test_a_decision_outside_review_is_an_illegal_transition(state: NominationState, approve_it: bool) -> None:
    n = in_state(state)

    error = refused(
        n,
        IllegalTransition,
        lambda: n.decide_step("completeness", approve_it, "Đạt.", REVIEWER, LATER, official=OFFICIAL),
    )

    assert error.state == state.value
    assert error.allowed == NOMINATION.allowed(state)
    assert NOMINATION.state_names[state.value] in error.detail


def test_every_refusal_of_the_figures_step_leaves_no_decision_behind() -> None:
    n = at_figures(DIFFERENT)
    attempts = [
        (RuleViolation, lambda: n.decide_step("figures", True, "Đạt.", REVIEWER, LATER, official=OFFICIAL)),
        (RuleViolation, lambda: n.decide_step("figures", True, "Đạt.", REVIEWER, LATER, official=None)),
        (RuleViolation, lambda: n.decide_step("appraisal", True, "Đạt.", SECOND, LATER, official=OFFICIAL)),
        (Forbidden, lambda: n.decide_step("figures", True, "Đạt.", OWN, LATER, official=OFFICIAL, override=True)),
    ]
    for error, attempt in attempts:
        refused(n, error, attempt)

    assert [d.step for d in n.decisions] == ["completeness"]
    assert n.updated_at == AT


def test_the_count_fields_are_the_four_of_phu_luc_2() -> None:
    assert COUNT_FIELDS == ("online_case_files", "total_case_files", "online_procedures", "total_procedures")


# -- the proposal ----------------------------------------------------------------------------------------------

PROPOSED = {
    "dossier_ids": ["dossier-1", "dossier-2"],
    "collectives": [{"dossier_id": "dossier-1", "unit": UNIT, "prize_rank": 1, "amount": 2_500_000}],
    "individuals": [{"dossier_id": "dossier-2", "unit": UNIT, "full_name": "Nguyễn Thị Hoa"}],
}


def proposal_snapshot(p: Proposal) -> tuple[Any, ...]:
    return (p.state, p.round, copy.deepcopy(p.contents), copy.deepcopy(p.return_reasons), list(p.pending_changes))


def sent() -> Proposal:
    p = Proposal(CAMPAIGN)
    p.send(PROPOSED, HEAD, AT, "Kính trình Phòng Nội vụ.")
    p.pull_changes()
    return p


def test_a_new_proposal_is_a_draft_of_round_zero() -> None:
    p = Proposal(CAMPAIGN)

    assert (p.state, p.round, p.contents, p.return_reasons) == (ProposalState.DRAFT, 0, {}, None)
    assert p.campaign_code == CAMPAIGN
    assert Proposal(CAMPAIGN).id != p.id


def test_sending_submits_round_one_with_what_was_sent() -> None:
    p = Proposal(CAMPAIGN)

    p.send(PROPOSED, HEAD, AT, "Kính trình Phòng Nội vụ.")

    assert (p.state, p.round, p.contents) == (ProposalState.SUBMITTED, 1, PROPOSED)
    change = only_change(p)
    assert (change.event_type, change.trigger, change.source, change.dest) == (
        "proposal.submitted",
        "submit",
        "draft",
        "submitted",
    )
    assert change.payload["proposal_id"] == p.id
    assert change.payload["round"] == 1
    assert change.payload["note"] == "Kính trình Phòng Nội vụ."
    assert {key: change.payload[key] for key in PROPOSED} == PROPOSED
    assert (change.actor, change.campaign, change.unit) == (HEAD, CAMPAIGN, None)


def test_a_second_sending_while_submitted_is_an_illegal_transition_and_changes_nothing() -> None:
    p = sent()
    before = proposal_snapshot(p)

    with pytest.raises(IllegalTransition) as raised:
        p.send({**PROPOSED, "individuals": []}, HEAD, LATER, None)

    assert (raised.value.state, raised.value.trigger) == ("submitted", "submit")
    assert raised.value.allowed == ["reopen"]
    assert proposal_snapshot(p) == before


def test_home_affairs_returns_the_proposal_with_its_reasons() -> None:
    p = sent()
    reasons = ["Thiếu biên bản họp Hội đồng.", "Số liệu xã An Khánh cần đối chiếu lại."]

    assert p.returned(reasons, HOME_AFFAIRS, LATER) is True

    assert p.state is ProposalState.RETURNED
    assert p.return_reasons == reasons
    change = only_change(p)
    assert (change.event_type, change.trigger, change.source, change.dest) == (
        "proposal.reopened",
        "reopen",
        "submitted",
        "returned",
    )
    assert change.payload == {
        "proposal_id": p.id,
        "round": 1,
        "reasons": reasons,
        "trigger": "reopen",
        "from_state": "submitted",
        "to_state": "returned",
        "reason": "; ".join(reasons),
    }


@pytest.mark.parametrize("already", ["draft", "returned"])
def test_a_return_of_a_proposal_that_is_not_waiting_changes_nothing(already: str) -> None:
    p = Proposal(CAMPAIGN)
    if already == "returned":
        p = sent()
        p.returned(["Thiếu biên bản."], HOME_AFFAIRS, AT)
        p.pull_changes()
    before = proposal_snapshot(p)

    assert p.returned(["Lần nữa."], HOME_AFFAIRS, LATER) is False

    assert proposal_snapshot(p) == before


def test_a_returned_proposal_is_sent_again_as_round_two() -> None:
    p = sent()
    p.returned(["Thiếu biên bản họp Hội đồng."], HOME_AFFAIRS, AT)
    p.pull_changes()
    revised = {**PROPOSED, "individuals": []}

    p.send(revised, HEAD, LATER, "Đã bổ sung biên bản.")

    assert (p.state, p.round, p.contents) == (ProposalState.SUBMITTED, 2, revised)
    change = only_change(p)
    assert (change.event_type, change.trigger, change.source, change.dest) == (
        "proposal.submitted",
        "resubmit",
        "returned",
        "submitted",
    )
    assert (change.payload["round"], change.payload["individuals"], change.at) == (2, [], LATER)
