"""One function per command (from the API) and per consumed event: load, apply the domain, record.

The unit of work is opened and committed by the caller (``ServiceRuntime.execute`` or the consumer), once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from services.intake.domain import DocumentVersion, Dossier, DossierState, Kind, terms
from services.intake.models import deadline_extensions, dossiers, proposals, with_documents
from shared import deadlines
from shared.campaigns import Campaign
from shared.catalogue import Outcome
from shared.db import UnitOfWork
from shared.events import Actor, Event
from shared.statemachine import RuleViolation, StateChange

log = logging.getLogger(__name__)
OUTCOME_TERMS = tuple(Outcome().fields)  # what an award event says of the award itself


# -- commands --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateDossier:
    campaign: str
    kind: Kind
    actor: Actor
    nominee: Mapping[str, Any] | None = None
    report: Mapping[str, Any] | None = None
    self_assessment: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class EditDossier:
    dossier_id: str
    actor: Actor
    changes: Mapping[str, Mapping[str, Any] | None]


@dataclass(frozen=True)
class NewDocument:
    kind: str
    sha256: str
    size: int
    content_type: str
    filename: str


@dataclass(frozen=True)
class AttachDocuments:
    dossier_id: str
    actor: Actor
    documents: tuple[NewDocument, ...]


@dataclass(frozen=True)
class SubmitDossier:
    dossier_id: str
    actor: Actor


@dataclass(frozen=True)
class WithdrawDossier:
    dossier_id: str
    actor: Actor
    reason: str | None = None


@dataclass(frozen=True)
class ExtendDeadline:
    campaign: str
    new_date: date
    reason: str
    actor: Actor


def create_dossier(command: CreateDossier, uow: UnitOfWork) -> Dossier:
    campaign = uow.campaign(command.campaign)
    unit = command.actor.unit
    if unit is None or campaign.find_unit(unit) is None:
        raise RuleViolation(
            "unit_not_in_campaign",
            f"Đơn vị của bạn không tham gia phong trào “{campaign.name}”.",
            unit=unit,
        )
    dossier = Dossier(campaign.code, unit, command.kind, command.actor, uow.now())
    dossier.edit(
        {"nominee": command.nominee, "report": command.report, "self_assessment": command.self_assessment},
        uow.now(),
    )
    uow.session.add(dossier)
    try:
        uow.session.flush()  # the quota's unique index refuses a unit's second live dossier of this kind, at once
    except sa.exc.IntegrityError:
        raise _second_dossier(command.kind) from None
    uow.emit(
        "dossier.created",
        subject=dossier.id,
        payload={"kind": dossier.kind.value},
        actor=command.actor,
        campaign=dossier.campaign,
        unit=dossier.unit,
    )
    return dossier


def edit_dossier(command: EditDossier, uow: UnitOfWork) -> Dossier:
    dossier = clerks_dossier(uow, command.dossier_id, command.actor)
    changed = dossier.edit(command.changes, uow.now())
    if changed:
        uow.emit(
            "dossier.updated",
            subject=dossier.id,
            payload={"changed": changed},
            actor=command.actor,
            campaign=dossier.campaign,
            unit=dossier.unit,
        )
    return dossier


def attach_documents(command: AttachDocuments, uow: UnitOfWork) -> list[DocumentVersion]:
    """Each document a new version of its kind; one event for the request, as the clerk did one thing."""
    dossier = clerks_dossier(uow, command.dossier_id, command.actor)
    now = uow.now()
    attached = [
        dossier.attach(new.kind, new.sha256, new.size, new.content_type, new.filename, command.actor, now)
        for new in command.documents
    ]
    uow.emit(
        "dossier.documents_uploaded",
        subject=dossier.id,
        payload={"documents": [{**d.meta(), "replaced_version": d.version - 1 or None} for d in attached]},
        actor=command.actor,
        campaign=dossier.campaign,
        unit=dossier.unit,
    )
    return attached


@dataclass(frozen=True)
class Moved:
    """A dossier a command moved, the move and the deadline in force: the answer shows them without reading them
    back."""

    dossier: Dossier
    move: StateChange
    deadline: date | None  # None for a campaign this process no longer knows


def submit_dossier(command: SubmitDossier, uow: UnitOfWork) -> Moved:
    dossier, extended, proposal_sent = _to_move(uow, command.dossier_id, command.actor)
    campaign = uow.campaign(dossier.campaign)
    deadline = deadlines.in_force(campaign.dossier_deadline, extended)
    move = dossier.submit(campaign, deadline, command.actor, uow.now(), proposal_sent=proposal_sent)
    return Moved(dossier, move, deadline)


def withdraw_dossier(command: WithdrawDossier, uow: UnitOfWork) -> Moved:
    dossier, extended, proposal_sent = _to_move(uow, command.dossier_id, command.actor)
    move = dossier.withdraw(command.actor, uow.now(), command.reason, proposal_sent)
    campaign = uow.campaigns.get(dossier.campaign)
    return Moved(dossier, move, deadlines.in_force(campaign.dossier_deadline, extended) if campaign else None)


def extend_deadline(command: ExtendDeadline, uow: UnitOfWork) -> date:
    campaign = uow.campaign(command.campaign)
    return deadlines.extend_deadline(
        uow,
        deadline_extensions,
        campaign=campaign.code,
        deadline="dossier",
        planned=campaign.dossier_deadline,
        new_date=command.new_date,
        reason=command.reason,
        actor=command.actor,
    )


# -- events from review and awards -----------------------------------------------------------------------------


def prepare_batch(events: Sequence[Event], uow: UnitOfWork) -> None:
    """The dossiers a batch of events names, read at once (a decision sends an outcome for every dossier)."""
    uow.preload(Dossier, {event.payload["dossier_id"] for event in events if "dossier_id" in event.payload})


def record_return(event: Event, uow: UnitOfWork) -> None:
    """Review returned a dossier: the unit sees it returned, with the reasons, and may revise it."""
    dossier = uow.find(Dossier, event.payload["dossier_id"])
    if dossier is None or dossier.state is not DossierState.SUBMITTED or dossier.round != event.payload["round"]:
        log.info("dossier.returned %s ignored: the dossier is not waiting in that round", event.id)
        return
    dossier.reopen(event.payload["reasons"], event.actor, event.occurred_at)


def record_proposal_sent(event: Event, uow: UnitOfWork) -> None:
    _set_proposal(uow, event, pending=True)


def record_proposal_returned(event: Event, uow: UnitOfWork) -> None:
    _set_proposal(uow, event, pending=False)


def record_award_granted(event: Event, uow: UnitOfWork) -> None:
    _record_outcome(event, uow, granted=True)


def record_award_refused(event: Event, uow: UnitOfWork) -> None:
    _record_outcome(event, uow, granted=False)


def _record_outcome(event: Event, uow: UnitOfWork, granted: bool) -> None:
    dossier = uow.find(Dossier, event.payload["dossier_id"])
    if dossier is None or not dossier.may_take_outcome(granted):  # withdrawn, a draft, or never here
        log.warning("%s %s ignored: dossier %s cannot take an outcome", event.type, event.id, event.subject)
        return
    outcome = {key: event.payload[key] for key in OUTCOME_TERMS if key in event.payload}
    if not dossier.decide(granted, outcome, event.actor, event.occurred_at):
        uow.emit(
            "dossier.outcome_amended",
            subject=dossier.id,
            payload={"outcome": outcome, "previous": terms((dossier.outcome or {}).get("previous"))},
            actor=event.actor,
            campaign=dossier.campaign,
            unit=dossier.unit,
        )


def _set_proposal(uow: UnitOfWork, event: Event, pending: bool) -> None:
    values = {"proposal_id": event.payload["proposal_id"], "pending": pending, "updated_at": event.occurred_at}
    updated = uow.session.execute(proposals.update().where(proposals.c.campaign == event.campaign).values(**values))
    if not updated.rowcount:  # type: ignore[attr-defined]
        uow.session.execute(proposals.insert().values(campaign=event.campaign, **values))


# -- loading, with the unit's scope ----------------------------------------------------------------------------


def clerks_dossier(uow: UnitOfWork, dossier_id: str, actor: Actor) -> Dossier:
    """The dossier, if ``actor`` may touch it; another unit's dossier is answered as not found, never shown."""
    return _theirs(uow.session.get(Dossier, dossier_id, options=[with_documents]), dossier_id, actor)


def dossier_deadline(uow: UnitOfWork, campaign: Campaign) -> date:
    return deadlines.current_deadline(uow, deadline_extensions, campaign.code, campaign.dossier_deadline)


def _to_move(uow: UnitOfWork, dossier_id: str, actor: Actor) -> tuple[Dossier, date | None, bool]:
    """The dossier (as :func:`clerks_dossier`), the latest extension of its deadline and whether review's proposal is
    sent: what a submission or a withdrawal is judged by and answered with, read in one query instead of three."""
    row = uow.session.execute(_TO_MOVE, {"dossier_id": dossier_id}).unique().one_or_none()
    if row is None:
        raise DossierNotFound(dossier_id)
    return _theirs(row.Dossier, dossier_id, actor), row.extended, bool(row.proposal_sent)


def _theirs(dossier: Dossier | None, dossier_id: str, actor: Actor) -> Dossier:
    if dossier is None or (actor.role == "unit_clerk" and dossier.unit != actor.unit):
        raise DossierNotFound(dossier_id)
    return dossier


# Built once, so that SQLAlchemy finds it compiled in its cache instead of building the statement for every request.
_TO_MOVE = (
    sa.select(
        Dossier,
        sa.select(sa.func.max(deadline_extensions.c.new_date))
        .where(deadline_extensions.c.campaign == dossiers.c.campaign)
        .scalar_subquery()
        .label("extended"),
        sa.select(proposals.c.pending)
        .where(proposals.c.campaign == dossiers.c.campaign)
        .scalar_subquery()
        .label("proposal_sent"),
    )
    .where(dossiers.c.id == sa.bindparam("dossier_id"))
    .options(with_documents)
)


def _second_dossier(kind: Kind) -> RuleViolation:
    what = "hồ sơ tập thể" if kind is Kind.COLLECTIVE else "hồ sơ cá nhân"
    return RuleViolation(
        "dossier_quota_reached",
        f"Đơn vị đã có một {what} trong phong trào này; mỗi đơn vị chỉ được đề nghị một {what}. "
        "Hãy sửa hồ sơ đó, hoặc rút nó trước khi lập hồ sơ mới.",
        kind=kind.value,
    )


class DossierNotFound(RuleViolation):
    status = 404

    def __init__(self, dossier_id: str):
        super().__init__("dossier_not_found", "Không tìm thấy hồ sơ này, hoặc hồ sơ không thuộc đơn vị của bạn.")
        self.dossier_id = dossier_id
