"""One function per command (from the API) and per consumed event: load, apply the domain, record.

The unit of work is opened and committed by the caller (``ServiceRuntime.execute`` or the consumer), once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.review import queries
from services.review.domain import Nomination, NominationState, Proposal, ProposalState
from services.review.figures import FigureRow
from services.review.models import deadline_extensions, early_withdrawals, figure_imports, figures, with_decisions
from shared import deadlines
from shared.campaigns import Campaign
from shared.clock import format_local_date, is_by_deadline
from shared.db import UnitOfWork, read_once
from shared.events import Actor, Event
from shared.statemachine import RuleViolation

log = logging.getLogger(__name__)
REVIEW = Actor.service("review")


# -- commands --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecideStep:
    nomination_id: str
    step: str
    approve: bool
    note: str
    actor: Actor
    override: bool = False


@dataclass(frozen=True)
class ReturnNomination:
    nomination_id: str
    reasons: Sequence[Mapping[str, Any]]
    actor: Actor


@dataclass(frozen=True)
class ImportFigures:
    campaign: str
    rows: Sequence[FigureRow]
    sha256: str
    filename: str | None
    actor: Actor


@dataclass(frozen=True)
class SendProposal:
    campaign: str
    actor: Actor
    note: str | None = None


@dataclass(frozen=True)
class ExtendProposalDeadline:
    campaign: str
    new_date: date
    reason: str
    actor: Actor


def decide_step(command: DecideStep, uow: UnitOfWork) -> Nomination:
    """The decision, on the nomination returned: the route renders it, and holding it keeps the session from
    letting it go once flushed (it would be loaded again, contents and all)."""
    nomination = nomination_of(uow, command.nomination_id)
    # Only the figures step compares the unit's counts with the official ones.
    official = (
        queries.official_counts_of(uow.session, nomination.campaign, nomination.unit)
        if command.step == "figures"
        else None
    )
    decision = nomination.decide_step(
        command.step, command.approve, command.note, command.actor, uow.now(), official=official,
        override=command.override,
    )  # fmt: skip
    if decision.approved:
        uow.emit(
            "nomination.step_approved",
            subject=nomination.id,
            payload={
                "dossier_id": nomination.id,
                "round": decision.round,
                "step": decision.step,
                "note": decision.note,
                "override": decision.override,
            },
            actor=command.actor,
            campaign=nomination.campaign,
            unit=nomination.unit,
        )
    return nomination


def return_nomination(command: ReturnNomination, uow: UnitOfWork) -> Nomination:
    nomination = nomination_of(uow, command.nomination_id)
    nomination.return_to_unit(command.reasons, command.actor, uow.now())
    return nomination


def import_figures(command: ImportFigures, uow: UnitOfWork) -> dict[str, Any]:
    """Keep the new import beside the earlier ones; from now on it is the one in force."""
    campaign = uow.campaign(command.campaign)
    previous = queries.current_import(uow.session, campaign.code)
    import_id = str(uuid.uuid4())
    uow.session.execute(
        figure_imports.insert().values(
            id=import_id,
            campaign=campaign.code,
            seq=(previous.seq + 1) if previous else 1,
            filename=command.filename,
            sha256=command.sha256,
            imported_by_id=command.actor.id,
            imported_by_name=command.actor.name,
            imported_at=uow.now(),
        )
    )
    uow.session.info.pop((queries.FIGURES_IN_FORCE, campaign.code), None)  # what was read of the earlier import
    counts = [{k: v for k, v in row.__dict__.items() if k != "line"} for row in command.rows]
    if counts:
        uow.session.execute(figures.insert(), [{"import_id": import_id, **row} for row in counts])
    uow.emit(
        "figures.imported",
        subject=campaign.code,
        payload={
            "import_id": import_id,
            "filename": command.filename,
            "sha256": command.sha256,
            "replaces": previous.id if previous else None,
            "rows": counts,
        },
        actor=command.actor,
        campaign=campaign.code,
    )
    return {"import_id": import_id, "units": len(counts), "replaces": previous.id if previous else None}


def send_proposal(command: SendProposal, uow: UnitOfWork) -> Proposal:
    """Sign and send the ranked collectives and the valid individuals to Home Affairs, with every other live
    nomination and why it is left out. Refused while a nomination is still in review: its unit is owed an
    appraisal, and a proposal cannot say why it was left out before review has judged it."""
    campaign = uow.campaign(command.campaign)
    deadline = proposal_deadline(uow, campaign)
    if not is_by_deadline(uow.now(), deadline):
        raise RuleViolation(
            "deadline_passed",
            f"Đã quá hạn gửi đề nghị khen thưởng ({format_local_date(deadline)}).",
            deadline=deadline.isoformat(),
        )
    if queries.current_import(uow.session, campaign.code) is None:
        raise RuleViolation("figures_not_imported", "Chưa nhập số liệu chính thức từ phần mềm một cửa.")
    waiting = queries.nominations_in(uow.session, campaign.code, NominationState.IN_REVIEW)
    if waiting:
        raise RuleViolation(
            "nominations_in_review",
            f"Còn {len(waiting)} hồ sơ chưa thẩm định xong; hãy hoàn tất hoặc trả lại trước khi gửi đề nghị.",
            nominations=[n.id for n in waiting],
        )
    proposal = queries.proposal_of(uow.session, campaign.code)
    if proposal is None:
        proposal = Proposal(campaign.code)
        uow.session.add(proposal)
    proposal.send(queries.proposal_contents(uow, campaign), command.actor, uow.now(), command.note)
    return proposal


def extend_proposal_deadline(command: ExtendProposalDeadline, uow: UnitOfWork) -> date:
    campaign = uow.campaign(command.campaign)
    return deadlines.extend_deadline(
        uow,
        deadline_extensions,
        campaign=campaign.code,
        deadline="proposal",
        planned=campaign.proposal_deadline,
        new_date=command.new_date,
        reason=command.reason,
        actor=command.actor,
    )


# -- events from intake and awards -----------------------------------------------------------------------------


def prepare_batch(events: Sequence[Event], uow: UnitOfWork) -> None:
    """The nominations of a batch's dossiers and their early withdrawals, read at once, not once per event."""
    dossiers = {event.subject for event in events if event.type.startswith("dossier.")}
    uow.preload(Nomination, dossiers)
    uow.preload_rows(early_withdrawals.c.dossier_id, dossiers)


def receive_dossier(event: Event, uow: UnitOfWork) -> None:
    """A dossier submitted, or resubmitted after a return: into the queue, its steps from the start."""
    payload = event.payload
    contents = {key: payload[key] for key in ("nominee", "report", "self_assessment", "documents", "submitted_at")}
    nomination = uow.find(Nomination, event.subject)
    if nomination is None and _withdrawn_before(uow, event.subject, payload["round"]):
        log.info("%s %s ignored: the dossier was withdrawn before its submission arrived", event.type, event.id)
        return
    if nomination is None:
        if event.campaign is None or event.unit is None:
            raise ValueError(f"{event.type} {event.id} names no campaign or unit")
        nomination = Nomination(
            event.subject, event.campaign, event.unit, payload["kind"], payload["round"], contents, event.occurred_at
        )
        uow.session.add(nomination)
    elif not nomination.resubmitted(payload["round"], contents, event.actor, event.occurred_at):
        log.info(
            "%s %s ignored: nomination %s has seen round %s", event.type, event.id, event.subject, payload["round"]
        )
        return
    if _proposal_out(uow, nomination.campaign):
        # Intake accepted it in the moment before it heard of the proposal: it can be neither proposed nor left out
        # with a reason now, so its unit is told at once, and may send it again should Home Affairs return the
        # proposal.
        nomination.return_to_unit([{"field": None, "message": ARRIVED_AFTER_PROPOSAL}], REVIEW, uow.now())
        return
    uow.emit(
        "nomination.received",
        subject=nomination.id,
        payload={"dossier_id": nomination.id, "kind": nomination.kind, "round": nomination.round},
        actor=REVIEW,
        campaign=nomination.campaign,
        unit=nomination.unit,
    )


def record_withdrawal(event: Event, uow: UnitOfWork) -> None:
    nomination = uow.find(Nomination, event.subject)
    if nomination is not None:
        nomination.withdrawn(event.actor, event.occurred_at, event.payload.get("reason"))
    elif not _withdrawn_before(uow, event.subject, event.payload["round"]):
        # Early: its submission is still on the way (held for a retry, say). Remember, so it opens no review.
        uow.add_row(early_withdrawals, {"dossier_id": event.subject, "round": event.payload["round"]})


ARRIVED_AFTER_PROPOSAL = (
    "Hồ sơ đến Phòng Văn hóa và Thông tin sau khi đề nghị khen thưởng của phong trào đã được ký gửi Phòng Nội vụ, "
    "nên không có trong đề nghị. Nếu Phòng Nội vụ trả lại đề nghị, đơn vị có thể nộp lại hồ sơ."
)


def _proposal_out(uow: UnitOfWork, campaign: str) -> bool:
    """Whether the campaign's proposal is with Home Affairs (or decided): read once per unit of work, as every
    submission of a batch asks. The proposal object itself is kept, so a return applied in the batch is seen."""
    proposal = read_once(uow.session, (Proposal, campaign), lambda: queries.proposal_of(uow.session, campaign))
    return proposal is not None and proposal.state is ProposalState.SUBMITTED


def _withdrawn_before(uow: UnitOfWork, dossier_id: str, round_: int) -> bool:
    found = uow.row(early_withdrawals.c.dossier_id, dossier_id)
    return found is not None and found["round"] >= round_


def record_proposal_returned(event: Event, uow: UnitOfWork) -> None:
    proposal = uow.session.get(Proposal, event.payload["proposal_id"])
    if proposal is None or not proposal.returned(event.payload["reasons"], event.actor, event.occurred_at):
        log.warning("proposal.returned %s ignored: proposal %s is not waiting", event.id, event.payload["proposal_id"])


# -- loading ---------------------------------------------------------------------------------------------------


def nomination_of(uow: UnitOfWork, nomination_id: str) -> Nomination:
    nomination = uow.session.get(Nomination, nomination_id, options=[with_decisions])
    if nomination is None:
        raise NominationNotFound()
    return nomination


def proposal_deadline(uow: UnitOfWork, campaign: Campaign) -> date:
    return deadlines.current_deadline(uow, deadline_extensions, campaign.code, campaign.proposal_deadline)


class NominationNotFound(RuleViolation):
    status = 404

    def __init__(self) -> None:
        super().__init__("nomination_not_found", "Không tìm thấy hồ sơ đề nghị này.")
