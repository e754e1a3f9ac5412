"""Culture & Information's review of each nomination, and its proposal to Home Affairs. Pure Python.

A nomination is a submitted dossier as review sees it (its id is the dossier's). Each round of it goes through the
steps in order — ``completeness``, ``figures`` (collective dossiers only), ``appraisal`` (thẩm định) — each approved
or rejected by a named reviewer with a note:

    in_review ──(last step approved)──▶ appraised        in_review ──(a step rejected)──▶ rejected
    in_review | appraised | rejected ──return──▶ returned ──(the unit resubmits: a new round)──▶ in_review
    any but withdrawn ──(the unit withdraws)──▶ withdrawn

The proposal is signed by the head of the office and sent; Home Affairs may return it, and it is sent again:

    draft ──submit──▶ submitted ──reopen (returned by Home Affairs)──▶ returned ──resubmit──▶ submitted …
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.events import Actor
from shared.statemachine import Aggregate, Forbidden, Lifecycle, Move, RuleViolation


class NominationState(enum.Enum):
    IN_REVIEW = "in_review"
    APPRAISED = "appraised"
    REJECTED = "rejected"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"


N = NominationState
NOMINATION = Lifecycle(
    "nomination",
    NominationState,
    N.IN_REVIEW,
    [
        Move("appraise", N.IN_REVIEW, N.APPRAISED, "nomination.appraised"),
        Move("reject", N.IN_REVIEW, N.REJECTED, "nomination.rejected"),
        Move("return", [N.IN_REVIEW, N.APPRAISED, N.REJECTED], N.RETURNED, "dossier.returned"),
        Move("restart", N.RETURNED, N.IN_REVIEW, "nomination.restarted"),
        Move("withdraw", [N.IN_REVIEW, N.APPRAISED, N.REJECTED, N.RETURNED], N.WITHDRAWN, "nomination.withdrawn"),
    ],
    noun="hồ sơ đề nghị",
    state_names={
        N.IN_REVIEW: "đang thẩm định",
        N.APPRAISED: "đã thẩm định",
        N.REJECTED: "không được thông qua",
        N.RETURNED: "đã trả lại đơn vị",
        N.WITHDRAWN: "đơn vị đã rút",
    },
    action_names={
        "appraise": "hoàn tất thẩm định",
        "reject": "không thông qua",
        "return": "trả lại đơn vị",
        "restart": "thẩm định lại",
        "withdraw": "ghi nhận rút hồ sơ",
    },
)

STEPS = {"collective": ("completeness", "figures", "appraisal"), "individual": ("completeness", "appraisal")}
STEP_NAMES = {"completeness": "Kiểm tra tính đầy đủ", "figures": "Đối chiếu số liệu", "appraisal": "Thẩm định"}
COUNT_FIELDS = ("online_case_files", "total_case_files", "online_procedures", "total_procedures")


@dataclass
class StepDecision:
    """One reviewer's decision on one step of one round; decisions are kept, never edited."""

    round: int
    step: str
    approved: bool
    note: str
    override: bool
    reviewer_id: str
    reviewer_name: str
    reviewer_unit: str | None
    decided_at: datetime


@dataclass(frozen=True)
class Difference:
    field: str
    declared: int | None
    official: int


class Nomination(Aggregate):
    subject_type = "nomination"

    def __init__(
        self,
        dossier_id: str,
        campaign: str,
        unit: str,
        kind: str,
        round_: int,
        contents: Mapping[str, Any],
        at: datetime,
    ):
        self.id = dossier_id
        self.campaign = campaign
        self.unit = unit
        self.kind = kind
        self.state = N.IN_REVIEW
        self.round = round_
        self.contents = dict(contents)
        self.decisions: list[StepDecision] = []
        self.return_reasons: list[dict[str, Any]] | None = None
        self.updated_at = at

    @property
    def campaign_code(self) -> str:
        return self.campaign

    @property
    def unit_code(self) -> str:
        return self.unit

    @property
    def steps(self) -> tuple[str, ...]:
        return STEPS[self.kind]

    def decisions_of(self, round_: int) -> list[StepDecision]:
        return [d for d in self.decisions if d.round == round_]

    def rejection(self) -> StepDecision | None:
        """The decision that rejected this round, while the nomination stands rejected: what its unit is told."""
        if self.state is not N.REJECTED:
            return None
        return next((d for d in reversed(self.decisions_of(self.round)) if not d.approved), None)

    def next_step(self) -> str | None:
        approved = {d.step for d in self.decisions_of(self.round) if d.approved}
        return next((step for step in self.steps if step not in approved), None)

    # -- the reviewers' work -------------------------------------------------------------------------------

    def decide_step(
        self,
        step: str,
        approve: bool,
        note: str,
        actor: Actor,
        at: datetime,
        *,
        official: Mapping[str, int] | None = None,
        override: bool = False,
    ) -> StepDecision:
        """Approve or reject ``step``; the last approval appraises the nomination, a rejection ends it."""
        self._require_independent(actor)
        if step not in self.steps:
            raise RuleViolation(
                "unknown_step", f"Bước “{step}” không áp dụng cho hồ sơ này; các bước: {', '.join(self.steps)}."
            )
        NOMINATION.require(self, "appraise")  # only a nomination in review takes decisions
        expected = self.next_step()
        if step != expected:
            raise RuleViolation(
                "step_out_of_order",
                f"Chưa thể quyết định bước “{STEP_NAMES[step]}”: bước cần làm tiếp theo là "
                f"“{STEP_NAMES[expected] if expected else '—'}”.",
                expected=expected,
            )
        if approve and step == "figures":
            self._require_figures_agree(official, override, note)
        if approve and step == "appraisal":
            self._require_four_eyes(actor)
        decision = StepDecision(
            round=self.round,
            step=step,
            approved=approve,
            note=note,
            override=override and step == "figures",
            reviewer_id=actor.id,
            reviewer_name=actor.name,
            reviewer_unit=actor.unit,
            decided_at=at,
        )
        self.decisions.append(decision)
        self.updated_at = at  # the row changes with every decision: two reviewers at once meet the version check
        if not approve:
            NOMINATION.fire(self, "reject", actor=actor, at=at, reason=note, payload=self._payload(step=step))
        elif self.next_step() is None:
            NOMINATION.fire(self, "appraise", actor=actor, at=at, reason=note, payload=self._payload())
        return decision

    def return_to_unit(self, reasons: Sequence[Mapping[str, Any]], actor: Actor, at: datetime) -> None:
        """Send the dossier back with one complete list of what to fix (hướng dẫn bổ sung một lần đầy đủ)."""
        self._require_independent(actor)
        NOMINATION.require(self, "return")
        self.return_reasons = [dict(reason) for reason in reasons]
        self.updated_at = at
        summary = "; ".join(str(reason["message"]) for reason in reasons)
        payload = self._payload(reasons=[dict(reason) for reason in reasons])
        NOMINATION.fire(self, "return", actor=actor, at=at, reason=summary, payload=payload)

    # -- what the unit did, as intake reported it ----------------------------------------------------------

    def resubmitted(self, round_: int, contents: Mapping[str, Any], actor: Actor, at: datetime) -> bool:
        """A new round after a return; False (nothing changes) for a round this nomination has already seen."""
        if round_ <= self.round or self.state is not N.RETURNED:
            return False
        self.round = round_
        self.contents = dict(contents)
        self.updated_at = at
        NOMINATION.fire(self, "restart", actor=actor, at=at, payload=self._payload())
        return True

    def withdrawn(self, actor: Actor, at: datetime, reason: str | None) -> bool:
        if self.state is N.WITHDRAWN:
            return False
        self.updated_at = at
        NOMINATION.fire(self, "withdraw", actor=actor, at=at, reason=reason, payload=self._payload())
        return True

    # -- the figures ---------------------------------------------------------------------------------------

    def differences(self, official: Mapping[str, int] | None) -> list[Difference]:
        """Where the unit's own counts differ from the official ones (none for an individual dossier)."""
        declared = self.contents.get("self_assessment") or {}
        if self.kind != "collective" or official is None:
            return []
        return [
            Difference(field, declared.get(field), official[field])
            for field in COUNT_FIELDS
            if declared.get(field) != official[field]
        ]

    def _require_figures_agree(self, official: Mapping[str, int] | None, override: bool, note: str) -> None:
        if official is None:
            raise RuleViolation(
                "figures_not_imported",
                "Chưa có số liệu chính thức của đơn vị này: hãy nhập số liệu từ phần mềm một cửa trước.",
            )
        differences = self.differences(official)
        if differences and not (override and note.strip()):
            raise RuleViolation(
                "figures_differ",
                "Số liệu tự chấm khác số liệu chính thức; chỉ thông qua khi ghi rõ lý do (override kèm ghi chú).",
                differences=[d.__dict__ for d in differences],
            )

    def _require_four_eyes(self, actor: Actor) -> None:
        figures = [d for d in self.decisions_of(self.round) if d.step == "figures" and d.approved]
        if figures and figures[-1].reviewer_id == actor.id:
            raise RuleViolation(
                "four_eyes",
                "Người thẩm định phải khác người đã thông qua bước đối chiếu số liệu.",
                figures_approved_by=figures[-1].reviewer_name,
            )

    def _require_independent(self, actor: Actor) -> None:
        if actor.unit is not None and actor.unit == self.unit:
            raise Forbidden("own_unit", "Bạn không được thẩm định hồ sơ của chính đơn vị mình.")

    def _payload(self, **extra: Any) -> dict[str, Any]:
        return {"dossier_id": self.id, "kind": self.kind, "round": self.round, **extra}


class ProposalState(enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"


P = ProposalState
PROPOSAL = Lifecycle(
    "proposal",
    ProposalState,
    P.DRAFT,
    [
        # Version 2: the proposal also lists the nominations it leaves out, with the reason (shared/catalogue.py).
        Move("submit", P.DRAFT, P.SUBMITTED, "proposal.submitted", version=2),
        Move("reopen", P.SUBMITTED, P.RETURNED, "proposal.reopened"),
        Move("resubmit", P.RETURNED, P.SUBMITTED, "proposal.submitted", version=2),
    ],
    noun="tờ trình đề nghị",
    state_names={P.DRAFT: "bản nháp", P.SUBMITTED: "đã gửi Phòng Nội vụ", P.RETURNED: "bị Phòng Nội vụ trả lại"},
    action_names={"submit": "gửi", "reopen": "ghi nhận trả lại", "resubmit": "gửi lại"},
)


class Proposal(Aggregate):
    """The office's proposal for one campaign; each sending is a round, and what was sent is kept."""

    subject_type = "proposal"

    def __init__(self, campaign: str):
        self.id = str(uuid.uuid4())
        self.campaign = campaign
        self.state = P.DRAFT
        self.round = 0
        self.contents: dict[str, Any] = {}
        self.return_reasons: list[str] | None = None

    @property
    def campaign_code(self) -> str:
        return self.campaign

    def send(self, contents: Mapping[str, Any], actor: Actor, at: datetime, note: str | None) -> None:
        trigger = "resubmit" if self.state is P.RETURNED else "submit"
        PROPOSAL.require(self, trigger)
        self.round += 1
        self.contents = dict(contents)
        payload = {"proposal_id": self.id, "round": self.round, **contents, "note": note}
        PROPOSAL.fire(self, trigger, actor=actor, at=at, reason=note, payload=payload)

    def returned(self, reasons: Sequence[str], actor: Actor, at: datetime) -> bool:
        if self.state is not P.SUBMITTED:
            return False
        self.return_reasons = list(reasons)
        payload = {"proposal_id": self.id, "round": self.round, "reasons": list(reasons)}
        PROPOSAL.fire(self, "reopen", actor=actor, at=at, reason="; ".join(reasons), payload=payload)
        return True
