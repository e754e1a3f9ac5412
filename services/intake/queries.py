"""What intake shows: lists and views of dossiers, scoped to the reader. Reads only; nothing here changes state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.intake.domain import EDITABLE, LIFECYCLE, Dossier, DossierState, Kind
from services.intake.handlers import DossierNotFound, Moved, dossier_deadline
from services.intake.models import bus, dossiers, with_documents
from shared.campaigns import Campaign
from shared.clock import end_of_local_day
from shared.db import UnitOfWork
from shared.events import Actor
from shared.statemachine import StateChange

STAFF_ROLES = (
    "reviewer",
    "review_head",
    "home_affairs",
    "council_member",
    "council_secretary",
    "council_chair",
    "auditor",
    "admin",
)


@dataclass(frozen=True)
class DossierFilter:
    campaign: str | None = None
    unit: str | None = None
    state: DossierState | None = None
    kind: Kind | None = None


def list_dossiers(
    session: Session, reader: Actor, wanted: DossierFilter, offset: int, limit: int
) -> tuple[list[Dossier], int]:
    """A page of dossiers, newest change first; a clerk only ever sees their own unit's."""
    conditions = [
        column == value
        for column, value in (
            (dossiers.c.campaign, wanted.campaign),
            (dossiers.c.unit, reader.unit if reader.role == "unit_clerk" else wanted.unit),
            (dossiers.c.state, wanted.state),
            (dossiers.c.kind, wanted.kind),
        )
        if value is not None
    ]
    total = session.execute(sa.select(sa.func.count()).select_from(dossiers).where(*conditions)).scalar_one()
    page = (
        session.execute(
            sa.select(Dossier)
            .where(*conditions)
            .order_by(dossiers.c.updated_at.desc(), dossiers.c.id)
            .offset(offset)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    return list(page), int(total)


def dossier_view(uow: UnitOfWork, dossier_id: str, reader: Actor, *, moved: Moved | None = None) -> dict[str, Any]:
    """Everything a reader follows on one dossier: its contents, documents, state, history and outcome.

    ``moved`` is what the command being answered did and knew: the deadline it was judged by, and its move, which,
    when it left the draft, is the dossier's whole history (a draft never moved before). Neither is read again.
    """
    dossier = uow.session.get(Dossier, dossier_id, options=[with_documents])  # no query if the handler holds it
    if dossier is None or (reader.role == "unit_clerk" and dossier.unit != reader.unit):
        raise DossierNotFound(dossier_id)
    campaign: Campaign | None = uow.campaigns.get(dossier.campaign)
    deadline = moved.deadline if moved else dossier_deadline(uow, campaign) if campaign else None
    unit = campaign.find_unit(dossier.unit) if campaign else None
    return {
        **{name: getattr(dossier, name) for name in _DOSSIER_FIELDS},
        "document_history": list(dossier.documents),
        "documents": sorted(dossier.current_documents().values(), key=lambda d: d.kind),
        "unit_name": unit.name if unit else dossier.unit,
        "state_name": LIFECYCLE.state_names[dossier.state.value],
        "allowed_actions": [a for a in LIFECYCLE.allowed(dossier.state) if a in {"submit", "resubmit", "withdraw"}],
        "missing": dossier.missing(campaign) if campaign and dossier.state in EDITABLE else [],
        "deadline": {"date": deadline, "ends_at": end_of_local_day(deadline)} if deadline else None,
        "history": _history(uow.session, dossier, moved.move if moved else None),
    }


def _history(session: Session, dossier: Dossier, move: StateChange | None) -> list[dict[str, Any]]:
    if not dossier.has_moved:
        return []
    if move is not None and move.source == DossierState.DRAFT.value:
        actor = move.actor
        return [_entry(move.trigger, move.source, move.dest, actor.id, actor.name, actor.role, move.reason, move.at)]
    return history(session, dossier.id)


_DOSSIER_FIELDS = (
    "id", "campaign", "unit", "kind", "state", "round", "nominee", "nominee_name", "report", "self_assessment",
    "return_reasons", "outcome", "created_at", "updated_at", "submitted_at",
)  # fmt: skip


def history(session: Session, dossier_id: str) -> list[dict[str, Any]]:
    """Every transition of the dossier, oldest first: who (in which role), when, from what to what, and why."""
    rows = session.execute(_HISTORY, {"dossier_id": dossier_id})
    return [
        _entry(
            row.trigger,
            row.from_state,
            row.to_state,
            row.actor_id,
            row.actor_name,
            row.actor_role,
            row.reason,
            row.occurred_at,
        )
        for row in rows
    ]


def _entry(
    trigger: str,
    from_state: str,
    to_state: str,
    actor_id: str,
    actor_name: str,
    actor_role: str,
    reason: str | None,
    occurred_at: datetime,
) -> dict[str, Any]:
    """One line of the history, as its row in ``transitions`` keeps it (the instant in UTC)."""
    return {
        "trigger": trigger,
        "from_state": from_state,
        "to_state": to_state,
        "to_state_name": LIFECYCLE.state_names.get(to_state, to_state),
        "actor": {"id": actor_id, "name": actor_name, "role": actor_role},
        "reason": reason,
        "occurred_at": occurred_at.astimezone(UTC),
    }


# Built once, so that SQLAlchemy finds it compiled in its cache instead of building the statement for every answer.
_HISTORY = (
    sa.select(bus.transitions)
    .where(bus.transitions.c.subject_type == "dossier", bus.transitions.c.subject_id == sa.bindparam("dossier_id"))
    .order_by(bus.transitions.c.id)
)
