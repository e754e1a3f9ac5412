"""Awards' domain without a database: Home Affairs' appraisal, the council's quorum, votes and majority, the prize
ladder with ties the council settles, and the chair's decision with the 2021 amounts and certificate numbers.

Candidates are built from dicts shaped like ``proposal.submitted``'s ProposedCollective and ProposedIndividual; the
council is the 2021 campaign's roster of seven (quorum 2/3, majority: more than 1/2 of the members present).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from services.awards.domain import (
    CS,
    PS,
    Award,
    Candidate,
    Proposal,
    Session,
    SessionState,
    Tally,
    Vote,
    check_ladder,
    decide,
    decision_total,
    ladder,
)
from shared.campaigns import Campaign, Council, CouncilMember, default_campaign
from shared.events import Actor
from shared.statemachine import Forbidden, IllegalTransition, RuleViolation

CAMPAIGN = default_campaign()
COUNCIL = CAMPAIGN.council
MEMBERS = {m.id: m for m in COUNCIL.members}
EVERYONE = [m.id for m in COUNCIL.members]
AT = datetime(2021, 12, 20, 2, 0, tzinfo=UTC)
PROPOSAL_ID = "proposal-1"
SECRETARY = Actor(id="truong-phong-noi-vu", name="Trưởng phòng Nội vụ", role="council_secretary", unit="noi-vu")
CHAIR = Actor(id="chu-tich-ubnd", name="Chủ tịch UBND Huyện", role="council_chair")
HOME_AFFAIRS = Actor(id="home_affairs-noi-vu", name="Võ Thị H", role="home_affairs", unit="noi-vu")
REVIEW_HEAD = Actor(id="review_head-van-hoa-thong-tin", name="Nguyễn Văn G", role="review_head")
COUNTS = {"online_case_files": 720, "total_case_files": 1000, "online_procedures": 30, "total_procedures": 50}
LADDER = {1: ("Giải nhất", 2_500_000), 2: ("Giải nhì", 2_000_000), 3: ("Giải ba", 1_500_000)}


def collective(unit: str, rank: int, track: str = "commune", **extra: Any) -> dict[str, Any]:
    """A ProposedCollective as review sends it."""
    prize = LADDER.get(rank)
    return {
        "dossier_id": f"d-{unit}",
        "unit": unit,
        "unit_name": CAMPAIGN.unit(unit).name,
        "track": track,
        "rank": rank,
        "prize_rank": rank if prize else None,
        "prize_name": prize[0] if prize else None,
        "amount": prize[1] if prize else None,
        "tie": [],
        "contested": [],
        "counts": COUNTS,
        **extra,
    }


def individual(unit: str) -> dict[str, Any]:
    """A ProposedIndividual; awards adds the track of its unit, as its consumer does."""
    return {
        "dossier_id": f"i-{unit}",
        "unit": unit,
        "unit_name": CAMPAIGN.unit(unit).name,
        "full_name": "Nguyễn Thị Hoa",
        "position": "Công chức",
        "track": CAMPAIGN.unit(unit).track,
    }


def candidate(item: dict[str, Any], kind: str = "collective") -> Candidate:
    return Candidate(item, kind, PROPOSAL_ID, CAMPAIGN.code, AT)


class Meeting:
    """A session and its votes, kept as the database keeps them: one record per member and candidate."""

    def __init__(self, present: Sequence[str]):
        self.session = Session(CAMPAIGN.code, PROPOSAL_ID, present, SECRETARY, AT)
        self.votes: dict[tuple[str, str], Vote] = {}

    def vote(self, member: CouncilMember, who: Candidate, choice: str, at: datetime) -> str | None:
        """Cast a vote; the choice it replaces, as ``vote.cast`` states it."""
        earlier = self.votes.get((member.id, who.id))
        replaces = earlier.choice if earlier is not None else None
        self.votes[member.id, who.id] = self.session.vote(member, who, choice, earlier, at)
        return replaces

    def tally(self, who: Candidate, council: Council) -> Tally:
        return self.session.tally(who, council, self.votes.values())

    def close(self, candidates: Sequence[Candidate], campaign: Campaign, actor: Actor, at: datetime) -> None:
        self.session.close(candidates, list(self.votes.values()), campaign, actor, at)


def session(present: Sequence[str] = EVERYONE) -> Meeting:
    return Meeting(present)


def votes(meeting: Meeting, who: Candidate, yes: int, no: int = 0) -> None:
    """The first ``yes`` members present who may vote approve, the next ``no`` reject, the rest abstain."""
    eligible = [m for m in COUNCIL.members if m.id in meeting.session.present and m.unit != who.unit]
    for number, member in enumerate(eligible):
        choice = "approve" if number < yes else "reject" if number < yes + no else "abstain"
        meeting.vote(member, who, choice, AT)


def closed(candidates: Sequence[Candidate], meeting: Meeting | None = None) -> Meeting:
    meeting = meeting or session()
    meeting.close(candidates, CAMPAIGN, CHAIR, AT)
    return meeting


# == Home Affairs' appraisal ==================================================================================


def test_a_new_candidate_keeps_what_review_proposed() -> None:
    item = collective("hoa-tan", 2, tie=["an-khanh"], contested=[2, 3])
    found = candidate(item)
    assert (found.id, found.unit, found.kind, found.track, found.review_rank) == (
        "d-hoa-tan",
        "hoa-tan",
        "collective",
        "commune",
        2,
    )
    assert (found.tie, found.contested, found.proposed, found.state) == (["an-khanh"], [2, 3], item, CS.PROPOSED)
    assert (found.prize_rank, found.outcome, found.pending_changes) == (None, None, [])


def test_passing_the_proposal_sends_it_to_the_council() -> None:
    proposal = Proposal(PROPOSAL_ID, CAMPAIGN.code, 1, AT)
    proposal.appraise(True, [], HOME_AFFAIRS, AT)
    [change] = proposal.pull_changes()
    assert proposal.state is PS.PASSED
    assert (change.event_type, change.payload["proposal_id"], change.payload["round"]) == (
        "proposal.passed",
        PROPOSAL_ID,
        1,
    )
    with pytest.raises(IllegalTransition):
        proposal.appraise(False, ["muộn"], HOME_AFFAIRS, AT)


def test_returning_the_proposal_keeps_the_reasons_and_a_later_round_brings_it_back() -> None:
    proposal = Proposal(PROPOSAL_ID, CAMPAIGN.code, 1, AT)
    reasons = ["Thiếu biên bản họp xét.", "Sai số tiền giải ba."]
    proposal.appraise(False, reasons, HOME_AFFAIRS, AT)
    [change] = proposal.pull_changes()
    assert (proposal.state, proposal.return_reasons) == (PS.RETURNED, reasons)
    assert (change.event_type, change.payload["reasons"], change.reason) == (
        "proposal.returned",
        reasons,
        "; ".join(reasons),
    )

    assert proposal.received_again(1, REVIEW_HEAD, AT) is False, "the same round again changes nothing"
    assert (proposal.state, proposal.pending_changes) == (PS.RETURNED, [])
    assert proposal.received_again(2, REVIEW_HEAD, AT) is True
    [change] = proposal.pull_changes()
    assert (proposal.state, proposal.round, change.event_type) == (PS.RECEIVED, 2, "proposal.received_again")
    assert proposal.received_again(3, REVIEW_HEAD, AT) is False, "only a returned proposal is received again"


def test_a_nomination_not_passed_never_reaches_the_council() -> None:
    found = candidate(collective("hoa-tan", 1))
    found.fire("not_pass", HOME_AFFAIRS, AT, reason="Biên bản không hợp lệ.")
    [change] = found.pull_changes()
    assert (found.state, change.event_type, change.reason) == (
        CS.NOT_PASSED,
        "candidate.not_passed",
        "Biên bản không hợp lệ.",
    )
    with pytest.raises(RuleViolation) as refused:
        session().vote(MEMBERS["chu-tich-ubnd"], found, "approve", AT)
    assert refused.value.code == "not_before_the_council"


def left_out(unit: str, kind: str = "collective", reason: str = "Chưa đạt chỉ tiêu.") -> Candidate:
    """A nomination the proposal states it leaves out, as awards' consumer keeps it (with its unit's track)."""
    item = {"dossier_id": f"n-{unit}", "unit": unit, "unit_name": CAMPAIGN.unit(unit).name, "kind": kind,
            "reason": reason, "track": CAMPAIGN.unit(unit).track}  # fmt: skip
    return Candidate.left_out(item, PROPOSAL_ID, CAMPAIGN.code, AT)


def test_a_nomination_left_out_by_review_is_kept_with_its_reason_and_never_comes_before_the_council() -> None:
    found = left_out("an-hiep", reason="Đơn vị đạt chỉ tiêu, xếp hạng 4 trong khối “UBND các xã, thị trấn”.")

    assert (found.id, found.kind, found.track, found.state) == ("n-an-hiep", "collective", "commune", CS.NOT_PROPOSED)
    assert not found.before_the_council and found.pending_changes == []
    assert candidate(collective("hoa-tan", 1)).before_the_council
    with pytest.raises(RuleViolation) as refused:
        session().vote(MEMBERS["chu-tich-ubnd"], found, "approve", AT)
    assert refused.value.code == "not_before_the_council"
    for trigger in ("not_pass", "approve", "reject", "grant"):
        with pytest.raises(IllegalTransition):
            found.fire(trigger, CHAIR, AT)


def test_closing_a_session_leaves_the_left_out_as_they_are() -> None:
    listed = [candidate(collective("phu-huu", 1)), left_out("an-hiep")]
    meeting = session()
    votes(meeting, listed[0], yes=5)

    meeting.close(listed, CAMPAIGN, SECRETARY, AT)

    assert [c.state for c in listed] == [CS.APPROVED, CS.NOT_PROPOSED]
    assert listed[1].pending_changes == []


# == quorum ===================================================================================================


def test_five_of_seven_present_meet_the_two_thirds_quorum() -> None:
    present = EVERYONE[:5]
    meeting = session(present)
    assert meeting.session.quorum_met(COUNCIL)
    found = candidate(collective("hoa-tan", 1))
    votes(meeting, found, yes=3)
    closed([found], meeting)
    assert meeting.session.state is SessionState.CLOSED
    assert (found.state, found.prize_rank) == (CS.APPROVED, 1)


def test_four_of_seven_present_miss_the_quorum_and_close_changes_nothing() -> None:
    meeting = session(EVERYONE[:4])
    found = candidate(collective("hoa-tan", 1))
    votes(meeting, found, yes=4)
    assert not meeting.session.quorum_met(COUNCIL)
    with pytest.raises(RuleViolation) as refused:
        meeting.close([found], CAMPAIGN, CHAIR, AT)
    assert refused.value.code == "no_quorum"
    assert "4/7" in str(refused.value)
    assert (meeting.session.state, meeting.session.pending_changes) == (SessionState.OPEN, [])
    assert (found.state, found.prize_rank, found.pending_changes) == (CS.PROPOSED, None, [])


# == majority =================================================================================================


@pytest.mark.parametrize(("yes", "passes"), [(3, False), (4, True)])
def test_a_nomination_passes_with_more_than_half_of_the_members_present_voting_yes(yes: int, passes: bool) -> None:
    meeting = session(EVERYONE[:6])
    found = candidate(collective("hoa-tan", 1))
    votes(meeting, found, yes=yes, no=6 - yes)
    assert meeting.tally(found, COUNCIL) == Tally(yes=yes, no=6 - yes, abstain=0, eligible=6)
    closed([found], meeting)
    assert found.state is (CS.APPROVED if passes else CS.REJECTED)
    [change] = found.pull_changes()
    assert change.payload["tally"] == {"yes": yes, "no": 6 - yes, "abstain": 0, "eligible": 6}


def test_abstentions_count_among_the_members_present() -> None:
    meeting = session(EVERYONE[:6])
    found = candidate(collective("hoa-tan", 1))
    votes(meeting, found, yes=3, no=0)  # three approve, three abstain: still exactly half
    assert meeting.tally(found, COUNCIL) == Tally(3, 0, 3, 6)
    assert not meeting.tally(found, COUNCIL).passes(COUNCIL.majority)


def test_the_head_of_the_candidates_unit_may_not_vote_and_is_not_counted() -> None:
    meeting = session()
    found = candidate(collective("tu-phap", 1, track="district"))
    with pytest.raises(Forbidden) as refused:
        meeting.vote(MEMBERS["truong-phong-tu-phap"], found, "approve", AT)
    assert refused.value.code == "own_unit"
    assert meeting.votes == {}
    votes(meeting, found, yes=4)
    assert meeting.tally(found, COUNCIL) == Tally(4, 0, 2, 6), "six may vote: 4/6 passes where 4/7 would too"
    votes(meeting, found, yes=3)
    assert not meeting.tally(found, COUNCIL).passes(COUNCIL.majority), "3 of the 6 eligible is exactly half"


def test_a_member_not_present_may_not_vote() -> None:
    meeting = session([m for m in EVERYONE if m != "chanh-van-phong"])
    found = candidate(collective("hoa-tan", 1))
    with pytest.raises(Forbidden) as refused:
        meeting.vote(MEMBERS["chanh-van-phong"], found, "approve", AT)
    assert refused.value.code == "not_present"
    assert meeting.votes == {}


def test_a_changed_vote_replaces_the_earlier_one_and_counts_once() -> None:
    meeting = session()
    found = candidate(collective("hoa-tan", 1))
    chair = MEMBERS["chu-tich-ubnd"]
    assert meeting.vote(chair, found, "approve", AT) is None
    assert meeting.vote(chair, found, "approve", AT) == "approve"
    assert meeting.vote(chair, found, "reject", AT) == "approve"
    assert len(meeting.votes) == 1
    assert meeting.tally(found, COUNCIL) == Tally(0, 1, 0, 7)


def test_a_vote_is_a_record_of_its_own_and_leaves_the_session_unchanged() -> None:
    """Members voting at the same moment must not compete for one record: a vote changes only itself."""
    meeting = Session(CAMPAIGN.code, PROPOSAL_ID, EVERYONE, SECRETARY, AT)
    found = candidate(collective("hoa-tan", 1))
    later = datetime(2021, 12, 20, 2, 5, tzinfo=UTC)
    first = meeting.vote(MEMBERS["chu-tich-ubnd"], found, "approve", None, AT)
    assert first == Vote(meeting.id, "chu-tich-ubnd", found.id, "approve", AT)
    changed = meeting.vote(MEMBERS["chu-tich-ubnd"], found, "reject", first, later)
    assert changed is first and (first.choice, first.cast_at) == ("reject", later), "a change is the same record"
    other = meeting.vote(MEMBERS["chanh-van-phong"], found, "approve", None, later)
    assert other is not first
    assert (meeting.updated_at, meeting.pending_changes, meeting.state) == (AT, [], SessionState.OPEN)
    another_session = Vote("another-session", "pho-chu-tich-ubnd", found.id, "approve", AT)
    assert meeting.tally(found, COUNCIL, [first, other, another_session]) == Tally(1, 1, 0, 7)


def test_an_unknown_choice_is_refused() -> None:
    with pytest.raises(ValueError):
        session().vote(MEMBERS["chu-tich-ubnd"], candidate(collective("hoa-tan", 1)), "yes", AT)


def test_no_vote_after_the_session_closed_and_no_second_close() -> None:
    first, second = candidate(collective("hoa-tan", 1)), candidate(collective("an-khanh", 2))
    meeting = session()
    votes(meeting, first, yes=7)
    closed([first, second], meeting)
    assert (first.state, second.state) == (CS.APPROVED, CS.REJECTED)
    with pytest.raises(RuleViolation) as refused:
        meeting.vote(MEMBERS["chu-tich-ubnd"], second, "approve", AT)
    assert refused.value.code == "session_closed"
    with pytest.raises(IllegalTransition):
        meeting.close([first, second], CAMPAIGN, CHAIR, AT)


# == the ladder ===============================================================================================


def test_three_approved_communes_get_first_second_and_third_in_reviews_order_a_fourth_nothing() -> None:
    listed = [
        candidate(collective(unit, rank)) for rank, unit in enumerate(["phu-huu", "hoa-tan", "an-nhon", "tan-phu"], 1)
    ]
    meeting = session()
    for found in listed:
        votes(meeting, found, yes=5)
    closed(listed, meeting)
    assert [(c.unit, c.state, c.prize_rank) for c in listed] == [
        ("phu-huu", CS.APPROVED, 1),
        ("hoa-tan", CS.APPROVED, 2),
        ("an-nhon", CS.APPROVED, 3),
        ("tan-phu", CS.APPROVED, None),
    ]


def test_a_rejected_first_moves_the_others_up() -> None:
    listed = [
        candidate(collective(unit, rank)) for rank, unit in enumerate(["phu-huu", "hoa-tan", "an-nhon", "tan-phu"], 1)
    ]
    meeting = session()
    votes(meeting, listed[0], yes=1, no=6)
    for found in listed[1:]:
        votes(meeting, found, yes=6)
    closed(listed, meeting)
    assert [(c.unit, c.state, c.prize_rank) for c in listed] == [
        ("phu-huu", CS.REJECTED, None),
        ("hoa-tan", CS.APPROVED, 1),
        ("an-nhon", CS.APPROVED, 2),
        ("tan-phu", CS.APPROVED, 3),
    ]


def test_the_tracks_are_laddered_apart() -> None:
    district = candidate(collective("tu-phap", 1, track="district"))
    commune = candidate(collective("hoa-tan", 1))
    tallies = {c.id: Tally(5, 0, 0, 6) for c in (district, commune)}
    assert ladder([district, commune], tallies, CAMPAIGN) == {district.id: 1, commune.id: 1}


def tied() -> list[Candidate]:
    """Review's ranking: phu-huu first, then hoa-tan and an-khanh tied for second (prizes 2 and 3 contested)."""
    return [
        candidate(collective("phu-huu", 1)),
        candidate(
            collective("hoa-tan", 2, prize_rank=None, prize_name=None, amount=None, tie=["an-khanh"], contested=[2, 3])
        ),
        candidate(
            collective("an-khanh", 2, prize_rank=None, prize_name=None, amount=None, tie=["hoa-tan"], contested=[2, 3])
        ),
    ]


def test_a_tie_review_flagged_is_ordered_by_the_councils_yes_votes() -> None:
    first, hoa_tan, an_khanh = listed = tied()
    meeting = session()
    votes(meeting, first, yes=7)
    votes(meeting, hoa_tan, yes=5)
    votes(meeting, an_khanh, yes=6)
    closed(listed, meeting)
    assert [(c.unit, c.prize_rank) for c in listed] == [("phu-huu", 1), ("hoa-tan", 3), ("an-khanh", 2)]


def test_a_tie_the_votes_do_not_settle_is_refused_and_nothing_is_applied() -> None:
    first, hoa_tan, an_khanh = listed = tied()
    meeting = session()
    votes(meeting, first, yes=7)
    votes(meeting, hoa_tan, yes=5)
    votes(meeting, an_khanh, yes=5)
    with pytest.raises(RuleViolation) as refused:
        meeting.close(listed, CAMPAIGN, CHAIR, AT)
    assert refused.value.code == "tie_unresolved"
    assert sorted(refused.value.extra["units"]) == ["an-khanh", "hoa-tan"]
    assert (meeting.session.state, meeting.session.pending_changes) == (SessionState.OPEN, [])
    assert [(c.state, c.prize_rank, c.pending_changes) for c in listed] == [(CS.PROPOSED, None, [])] * 3

    assert meeting.vote(MEMBERS["chanh-van-phong"], an_khanh, "approve", AT) == "abstain"  # voting again settles it
    closed(listed, meeting)
    assert [(c.unit, c.prize_rank) for c in listed] == [("phu-huu", 1), ("hoa-tan", 3), ("an-khanh", 2)]


# == the decision =============================================================================================


def council_result() -> list[Candidate]:
    """Closed: three commune prizes and a district first; hoa-tan's individual approved, an-khanh's collective
    rejected though its individual was approved, tan-phu's approved collective left without a prize."""
    listed = [
        candidate(collective("phu-huu", 1)),
        candidate(collective("hoa-tan", 2)),
        candidate(collective("an-nhon", 3)),
        candidate(collective("an-khanh", 4)),
        candidate(collective("tan-phu", 5)),
        candidate(collective("tu-phap", 1, track="district")),
        candidate(individual("hoa-tan"), "individual"),
        candidate(individual("an-khanh"), "individual"),
    ]
    meeting = session()
    for found in listed:
        votes(meeting, found, yes=1 if found.id == "d-an-khanh" else 6)
    closed(listed, meeting)
    for found in listed:
        found.pull_changes()
    return listed


def test_the_decision_gives_the_2021_ladder_the_individual_amount_and_consecutive_certificates() -> None:
    listed = council_result()
    decided = {a.dossier_id: a for a in decide(listed, CAMPAIGN, first_certificate=1)}
    granted = [a for a in decided.values() if a.granted]

    assert [(a.dossier_id, a.prize_rank, a.prize_name, a.amount) for a in granted] == [
        ("d-phu-huu", 1, "Giải nhất", 2_500_000),
        ("d-hoa-tan", 2, "Giải nhì", 2_000_000),
        ("d-an-nhon", 3, "Giải ba", 1_500_000),
        ("d-tu-phap", 1, "Giải nhất", 2_500_000),
        ("i-hoa-tan", None, "Giấy khen của Chủ tịch UBND Huyện", 230_000),
    ]
    assert [a.certificate_number for a in granted] == [f"00{n}/GK-2021" for n in range(1, 6)]
    assert decision_total(list(decided.values())) == 2_500_000 * 2 + 2_000_000 + 1_500_000 + 230_000 == 8_730_000

    assert decided["i-an-khanh"] == Award(
        "i-an-khanh",
        False,
        None,
        None,
        0,
        None,
        "Đơn vị của cá nhân không được khen thưởng tập thể, nên cá nhân không đủ điều kiện.",
    )
    assert decided["d-an-khanh"].reason == "Hội đồng Thi đua - Khen thưởng không thông qua."
    assert decided["d-tan-phu"].reason == "Không còn giải trong cơ cấu giải thưởng của khối."
    assert all(a.certificate_number is None and a.amount == 0 for a in decided.values() if not a.granted)


def test_certificates_continue_after_earlier_ones_and_a_not_passed_nomination_is_refused() -> None:
    listed = council_result()
    extra = candidate(collective("tan-binh", 6))
    extra.fire("not_pass", HOME_AFFAIRS, AT, reason="Không đạt chỉ tiêu.")
    decided = decide([*listed, extra], CAMPAIGN, first_certificate=12)
    numbers = [a.certificate_number for a in decided if a.granted]
    assert numbers == ["012/GK-2021", "013/GK-2021", "014/GK-2021", "015/GK-2021", "016/GK-2021"]
    assert len(set(numbers)) == len(numbers)
    [refused] = [a for a in decided if a.dossier_id == "d-tan-binh"]
    assert (refused.granted, refused.reason) == (False, "Phòng Nội vụ không trình Hội đồng đề nghị này.")


def test_the_decision_refuses_every_left_out_nomination_with_reviews_reason_and_an_amendment_may_grant_it() -> None:
    listed = council_result()
    fourth = left_out("an-hiep", reason="Đơn vị đạt chỉ tiêu, xếp hạng 5 trong khối “UBND các xã, thị trấn”.")
    person = left_out("tan-binh", "individual", "Đơn vị không đạt giải tập thể, nên cá nhân không đủ điều kiện.")

    decided = {a.dossier_id: a for a in decide([*listed, fourth, person], CAMPAIGN, first_certificate=1)}

    assert decided["n-an-hiep"] == Award("n-an-hiep", False, None, None, 0, None, fourth.not_proposed_reason)
    assert decided["n-tan-binh"].reason == person.not_proposed_reason
    assert [a.certificate_number for a in decided.values() if a.granted] == [f"00{n}/GK-2021" for n in range(1, 6)]
    fourth.fire("refuse", CHAIR, AT, reason=fourth.not_proposed_reason)
    [change] = fourth.pull_changes()
    assert (change.event_type, change.source, change.reason) == (
        "award.refused",
        "not_proposed",
        fourth.not_proposed_reason,
    )
    fourth.fire("grant", CHAIR, AT, reason="Quyết định sửa đổi")  # an amending decision may still grant it
    assert fourth.state is CS.GRANTED and not fourth.before_the_council


def test_the_individual_amount_is_the_base_salary_times_0_15_rounded_up() -> None:
    assert CAMPAIGN.individuals.amount == 230_000


def test_check_ladder_reports_an_amount_off_the_ladder() -> None:
    good = [collective("phu-huu", 1), collective("hoa-tan", 2), collective("an-nhon", 3), collective("tan-phu", 4)]
    assert check_ladder(good, CAMPAIGN) == []
    bad = [collective("phu-huu", 1, amount=3_000_000), collective("hoa-tan", 2), collective("an-nhon", 3, amount=None)]
    problems = check_ladder(bad, CAMPAIGN)
    assert len(problems) == 2
    assert "Phú Hựu" in problems[0] and "3000000" in problems[0] and "2500000" in problems[0]
    assert "An Nhơn" in problems[1]
