"""Home Affairs' appraisal, the council's session and votes, and the chair's decision. Pure Python.

    proposal:   received ──pass──▶ passed ──decide──▶ decided        received ──return──▶ returned ──receive──▶ …
    candidate:  proposed ──not_pass──▶ not_passed   proposed ──approve / reject (the council)──▶ approved / rejected
                approved ──grant──▶ granted         approved | rejected | not_passed | not_proposed ──refuse──▶ refused
                granted ◀──grant / refuse (an amending decision)──▶ refused
    session:    open ──close──▶ closed

Quorum and majority are exact fractions from the campaign: a session is valid when the members present are at
least ``quorum`` of the council; a candidate passes when MORE than ``majority`` of the members present who may vote
on it (not its own unit's head) vote yes. Prizes are laddered again among the approved collectives of a track, in
review's order; a tie review flagged is settled by the council's yes votes.

A nomination review left out of its proposal is kept as a candidate born ``not_proposed``, with review's reason: it
never comes before the council, and the chair's decision refuses it with that reason, so its unit hears an outcome.
"""

from __future__ import annotations

import enum
import itertools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from shared.campaigns import Campaign, Council, CouncilMember
from shared.events import Actor
from shared.statemachine import Aggregate, Forbidden, Lifecycle, Move, RuleViolation


class ProposalState(enum.Enum):
    RECEIVED = "received"
    PASSED = "passed"
    RETURNED = "returned"
    DECIDED = "decided"


PS = ProposalState
PROPOSAL = Lifecycle(
    "proposal",
    ProposalState,
    PS.RECEIVED,
    [
        Move("pass", PS.RECEIVED, PS.PASSED, "proposal.passed"),
        Move("return", PS.RECEIVED, PS.RETURNED, "proposal.returned"),
        Move("receive", PS.RETURNED, PS.RECEIVED, "proposal.received_again"),
        Move("decide", PS.PASSED, PS.DECIDED, "proposal.decided"),
    ],
    noun="tờ trình",
    state_names={
        PS.RECEIVED: "chờ thẩm định",
        PS.PASSED: "đã trình Hội đồng",
        PS.RETURNED: "đã trả lại Phòng Văn hóa và Thông tin",
        PS.DECIDED: "đã có quyết định",
    },
    action_names={"pass": "trình Hội đồng", "return": "trả lại", "receive": "nhận lại", "decide": "quyết định"},
)


class CandidateState(enum.Enum):
    PROPOSED = "proposed"
    NOT_PROPOSED = "not_proposed"  # left out by review, with its reason; never before the council
    NOT_PASSED = "not_passed"
    APPROVED = "approved"
    REJECTED = "rejected"
    GRANTED = "granted"
    REFUSED = "refused"


CS = CandidateState
CANDIDATE = Lifecycle(
    "candidate",
    CandidateState,
    CS.PROPOSED,
    [
        Move("not_pass", CS.PROPOSED, CS.NOT_PASSED, "candidate.not_passed"),
        Move("approve", CS.PROPOSED, CS.APPROVED, "candidate.approved"),
        Move("reject", CS.PROPOSED, CS.REJECTED, "candidate.rejected"),
        Move("grant", [CS.APPROVED, CS.REFUSED], CS.GRANTED, "award.granted"),  # from refused: an amendment
        Move(
            "refuse",
            [CS.APPROVED, CS.REJECTED, CS.NOT_PASSED, CS.NOT_PROPOSED, CS.GRANTED],
            CS.REFUSED,
            "award.refused",
        ),
    ],
    noun="đề nghị",
    state_names={
        CS.PROPOSED: "chờ Hội đồng xét",
        CS.NOT_PROPOSED: "không được đề nghị",
        CS.NOT_PASSED: "không được trình Hội đồng",
        CS.APPROVED: "Hội đồng thông qua",
        CS.REJECTED: "Hội đồng không thông qua",
        CS.GRANTED: "được khen thưởng",
        CS.REFUSED: "không được khen thưởng",
    },
    action_names={
        "not_pass": "không trình",
        "approve": "thông qua",
        "reject": "không thông qua",
        "grant": "khen thưởng",
        "refuse": "không khen thưởng",
    },
)


class SessionState(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"
    ADJOURNED = "adjourned"


SESSION = Lifecycle(
    "session",
    SessionState,
    SessionState.OPEN,
    [
        Move("close", SessionState.OPEN, SessionState.CLOSED, "session.closed"),
        # A meeting that cannot decide (no quorum, say) is adjourned: its votes count for nothing.
        Move("adjourn", SessionState.OPEN, SessionState.ADJOURNED, "session.adjourned"),
    ],
    noun="phiên họp",
    state_names={SessionState.OPEN: "đang họp", SessionState.CLOSED: "đã kết thúc", SessionState.ADJOURNED: "đã hoãn"},
    action_names={"close": "kết thúc", "adjourn": "hoãn"},
)
CHOICES = ("approve", "reject", "abstain")


class Proposal(Aggregate):
    """Culture & Information's proposal as Home Affairs receives and appraises it."""

    subject_type = "proposal"

    def __init__(self, proposal_id: str, campaign: str, round_: int, at: datetime):
        self.id = proposal_id
        self.campaign = campaign
        self.state = PS.RECEIVED
        self.round = round_
        self.return_reasons: list[str] | None = None
        self.updated_at = at

    @property
    def campaign_code(self) -> str:
        return self.campaign

    def appraise(self, passed: bool, reasons: Sequence[str], actor: Actor, at: datetime) -> None:
        """Pass the proposal to the council, or return it to Culture & Information with the reasons."""
        self.updated_at = at
        base = {"proposal_id": self.id, "round": self.round}
        if passed:
            PROPOSAL.fire(self, "pass", actor=actor, at=at, reason="; ".join(reasons) or None, payload=base)
        else:
            self.return_reasons = list(reasons)
            payload = {**base, "reasons": list(reasons)}
            PROPOSAL.fire(self, "return", actor=actor, at=at, reason="; ".join(reasons), payload=payload)

    def received_again(self, round_: int, actor: Actor, at: datetime) -> bool:
        if self.state is not PS.RETURNED or round_ <= self.round:
            return False
        self.round = round_
        self.updated_at = at
        PROPOSAL.fire(self, "receive", actor=actor, at=at, payload={"proposal_id": self.id, "round": round_})
        return True


class Candidate(Aggregate):
    """One nomination of the proposal, from Home Affairs' appraisal to the chair's decision."""

    subject_type = "candidate"

    def __init__(self, proposed: Mapping[str, Any], kind: str, proposal_id: str, campaign: str, at: datetime):
        self.id = proposed["dossier_id"]
        self.proposal_id = proposal_id
        self.campaign = campaign
        self.unit = proposed["unit"]
        self.kind = kind
        self.track = proposed.get("track")
        self.review_rank = proposed.get("rank")
        self.contested = list(proposed.get("contested") or [])
        self.tie = list(proposed.get("tie") or [])
        self.proposed = dict(proposed)
        self.state = CS.PROPOSED
        self.not_proposed_reason: str | None = None
        self.prize_rank: int | None = None
        self.outcome: dict[str, Any] | None = None
        self.updated_at = at

    @classmethod
    def left_out(cls, item: Mapping[str, Any], proposal_id: str, campaign: str, at: datetime) -> Candidate:
        """A nomination the proposal leaves out: born ``not_proposed``, keeping the reason review gave."""
        candidate = cls(item, item["kind"], proposal_id, campaign, at)
        candidate.state = CS.NOT_PROPOSED
        candidate.not_proposed_reason = item["reason"]
        return candidate

    @property
    def before_the_council(self) -> bool:
        """Whether the proposal put it before the council (a left-out one stays out, even once refused)."""
        return self.not_proposed_reason is None

    @property
    def campaign_code(self) -> str:
        return self.campaign

    @property
    def unit_code(self) -> str:
        return self.unit

    def fire(self, trigger: str, actor: Actor, at: datetime, reason: str | None = None, **payload: Any) -> None:
        self.updated_at = at
        CANDIDATE.fire(self, trigger, actor=actor, at=at, reason=reason, payload={"dossier_id": self.id, **payload})


@dataclass
class Vote:
    """One member's vote on one candidate in one session. It is a record of its own, not a part of the session's:
    members voting at once write different rows and never wait for one another, while one member's two votes at
    once write the same one (its unique key, then its version) and one of them is refused."""

    session_id: str
    member_id: str
    dossier_id: str
    choice: str
    cast_at: datetime


@dataclass(frozen=True)
class Tally:
    yes: int
    no: int
    abstain: int
    eligible: int

    def passes(self, majority: Fraction) -> bool:
        return self.eligible > 0 and Fraction(self.yes, self.eligible) > majority


class Session(Aggregate):
    """A council meeting on one proposal: who is present, how each member votes on each candidate."""

    subject_type = "session"

    def __init__(self, campaign: str, proposal_id: str, present: Sequence[str], opened_by: Actor, at: datetime):
        self.id = str(uuid.uuid4())
        self.campaign = campaign
        self.proposal_id = proposal_id
        self.present = sorted(set(present))
        self.state = SessionState.OPEN
        self.opened_by = opened_by.id
        self.opened_at = at
        self.updated_at = at

    @property
    def campaign_code(self) -> str:
        return self.campaign

    def adjourn(self, reason: str, actor: Actor, at: datetime) -> None:
        self.updated_at = at
        SESSION.fire(self, "adjourn", actor=actor, at=at, reason=reason, payload={"session_id": self.id})

    def quorum_met(self, council: Council) -> bool:
        return Fraction(len(self.present), len(council.members)) >= council.quorum

    def vote(
        self, member: CouncilMember, candidate: Candidate, choice: str, earlier: Vote | None, at: datetime
    ) -> Vote:
        """``member``'s vote on ``candidate``: ``earlier``, their vote so far, changed, or a new one. The session
        itself does not change, so members voting at the same moment do not compete for it."""
        if self.state is not SessionState.OPEN:
            raise RuleViolation("session_closed", "Phiên họp đã kết thúc; không thể bỏ phiếu nữa.")
        if member.id not in self.present:
            raise Forbidden("not_present", "Chỉ thành viên Hội đồng có mặt tại phiên họp mới được bỏ phiếu.")
        if member.unit is not None and member.unit == candidate.unit:
            raise Forbidden("own_unit", "Thành viên không được bỏ phiếu cho đề nghị của chính đơn vị mình.")
        if candidate.state is not CS.PROPOSED or candidate.proposal_id != self.proposal_id:
            raise not_before_the_council()
        if choice not in CHOICES:
            raise ValueError(choice)
        if earlier is None:
            return Vote(self.id, member.id, candidate.id, choice, at)
        earlier.choice, earlier.cast_at = choice, at
        return earlier

    def tally(self, candidate: Candidate, council: Council, votes: Iterable[Vote]) -> Tally:
        """``candidate``'s count among ``votes`` (the session's): only the members present who may vote on it."""
        eligible = [m for m in council.members if m.id in self.present and not (m.unit and m.unit == candidate.unit)]
        ids = {m.id for m in eligible}
        on_it = [v for v in votes if v.session_id == self.id and v.dossier_id == candidate.id]
        choices = [v.choice for v in on_it if v.member_id in ids]
        return Tally(choices.count("approve"), choices.count("reject"), choices.count("abstain"), len(eligible))

    def close(
        self, candidates: Sequence[Candidate], votes: Sequence[Vote], campaign: Campaign, actor: Actor, at: datetime
    ) -> dict[str, Tally]:
        """Count every candidate's ``votes``, settle flagged ties by votes, ladder the prizes, then apply it all at
        once. ``votes`` must be every vote committed before the close and none can follow: the caller holds the
        session so that no vote commits meanwhile (see ``handlers.close_session``)."""
        council = campaign.council
        if not self.quorum_met(council):
            raise RuleViolation(
                "no_quorum",
                f"Phiên họp chưa đủ số thành viên: có mặt {len(self.present)}/{len(council.members)}, "
                f"cần ít nhất {council.quorum.numerator}/{council.quorum.denominator} số thành viên.",
            )
        SESSION.require(self, "close")
        open_candidates = [c for c in candidates if c.state is CS.PROPOSED]
        tallies = {c.id: self.tally(c, council, votes) for c in open_candidates}
        approved = [c for c in open_candidates if tallies[c.id].passes(council.majority)]
        prizes = ladder(approved, tallies, campaign)  # raises on a tie the votes did not settle: nothing applied
        for candidate in open_candidates:
            tally = tallies[candidate.id].__dict__
            if candidate in approved:
                candidate.prize_rank = prizes.get(candidate.id)
                candidate.fire("approve", actor, at, session_id=self.id, tally=tally, prize_rank=candidate.prize_rank)
            else:
                candidate.fire("reject", actor, at, session_id=self.id, tally=tally)
        self.updated_at = at
        SESSION.fire(
            self,
            "close",
            actor=actor,
            at=at,
            payload={
                "session_id": self.id,
                "approved": sorted(c.id for c in approved),
                "rejected": sorted(c.id for c in open_candidates if c not in approved),
            },
        )
        return tallies


def ladder(approved: Sequence[Candidate], tallies: Mapping[str, Tally], campaign: Campaign) -> dict[str, int]:
    """Prize rank per approved collective: review's order within each track, a flagged tie ordered by yes votes."""
    prizes: dict[str, int] = {}
    for track in campaign.tracks:
        collectives = [c for c in approved if c.kind == "collective" and c.track == track.code]
        ordered = sorted(collectives, key=lambda c: (c.review_rank or 10**9, -tallies[c.id].yes))
        for earlier, later in itertools.pairwise(ordered):
            if earlier.review_rank == later.review_rank and tallies[earlier.id].yes == tallies[later.id].yes:
                raise RuleViolation(
                    "tie_unresolved",
                    "Các đơn vị đồng hạng có số phiếu tán thành bằng nhau; Hội đồng cần biểu quyết lại để phân định.",
                    units=[earlier.unit, later.unit],
                )
        for position, candidate in enumerate(ordered[: len(track.prizes)], start=1):
            prizes[candidate.id] = position
    return prizes


@dataclass(frozen=True)
class Award:
    """What the decision gives one candidate."""

    dossier_id: str
    granted: bool
    prize_rank: int | None
    prize_name: str | None
    amount: int
    certificate_number: str | None
    reason: str | None


def decide(candidates: Sequence[Candidate], campaign: Campaign, first_certificate: int) -> list[Award]:
    """Every approved collective with a prize gets it; an approved individual only if its unit won one."""
    winning_units = {c.unit for c in candidates if c.kind == "collective" and c.state is CS.APPROVED and c.prize_rank}
    awards, number = [], first_certificate
    for c in sorted(candidates, key=lambda c: (c.kind, c.track or "", c.prize_rank or 99, c.unit)):
        if c.state is CS.APPROVED and c.kind == "collective" and c.prize_rank:
            prize = campaign.track(c.track or "").prizes[c.prize_rank - 1]
            awards.append(Award(c.id, True, prize.rank, prize.name, prize.amount, _certificate(campaign, number), None))
            number += 1
        elif c.state is CS.APPROVED and c.kind == "individual" and c.unit in winning_units:
            amount = campaign.individuals.amount
            awards.append(
                Award(c.id, True, None, campaign.individuals.award, amount, _certificate(campaign, number), None)
            )
            number += 1
        else:
            awards.append(Award(c.id, False, None, None, 0, None, _refusal(c, winning_units)))
    return awards


def _certificate(campaign: Campaign, number: int) -> str:
    return f"{number:03d}/GK-{campaign.year}"


def _refusal(candidate: Candidate, winning_units: set[str]) -> str:
    if candidate.not_proposed_reason is not None:
        return candidate.not_proposed_reason
    if candidate.state is CS.NOT_PASSED:
        return "Phòng Nội vụ không trình Hội đồng đề nghị này."
    if candidate.state is CS.REJECTED:
        return "Hội đồng Thi đua - Khen thưởng không thông qua."
    if candidate.kind == "individual":
        return "Đơn vị của cá nhân không được khen thưởng tập thể, nên cá nhân không đủ điều kiện."
    return "Không còn giải trong cơ cấu giải thưởng của khối."


def decision_total(awards: Sequence[Award]) -> int:
    return sum(a.amount for a in awards if a.granted)


def not_before_the_council() -> RuleViolation:
    """The answer to a vote on a nomination the session's proposal did not put before the council."""
    return RuleViolation("not_before_the_council", "Đề nghị này không nằm trong danh sách Hội đồng xét.")


def check_ladder(proposed: Sequence[Mapping[str, Any]], campaign: Campaign) -> list[str]:
    """The proposal's amounts must be the campaign's ladder: one message per collective whose amount is not."""
    problems = []
    for item in proposed:
        rank, amount = item.get("prize_rank"), item.get("amount")
        if rank is None:
            continue
        prizes = campaign.track(item["track"]).prizes
        ladder_amount = prizes[rank - 1].amount if 1 <= rank <= len(prizes) else None
        if amount != ladder_amount:
            problems.append(f"{item['unit_name']}: số tiền {amount} không đúng cơ cấu giải ({ladder_amount}).")
    return problems
