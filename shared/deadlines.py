"""Deadlines that an authorised person may extend: the campaign's date, or the latest extension of it.

Each extension is a row in the service's own table (who, when, why, from which date to which) and an event,
so the audit log shows it; the latest extension wins. Intake keeps the units' dossier deadline, review the
proposal deadline.
"""

from __future__ import annotations

from datetime import date
from functools import cache

import sqlalchemy as sa

from shared.clock import format_local_date
from shared.db import UnitOfWork, UtcDateTime, read_once
from shared.events import Actor
from shared.statemachine import RuleViolation


def deadline_extensions(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "deadline_extensions",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("campaign", sa.String(100), nullable=False, index=True),
        sa.Column("new_date", sa.Date, nullable=False),
        sa.Column("previous_date", sa.Date, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor_id", sa.String(200), nullable=False),
        sa.Column("actor_name", sa.String(200), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
    )


def current_deadline(uow: UnitOfWork, table: sa.Table, campaign: str, planned: date) -> date:
    """The deadline in force, read once per unit of work (kept in its session's ``info``): a route that judged a
    submission by it renders the same date in its answer without asking the database again."""
    return read_once(
        uow.session,
        (table.name, campaign),
        lambda: in_force(planned, uow.session.execute(_latest_extension(table), {"campaign": campaign}).scalar()),
    )


def in_force(planned: date, latest_extension: date | None) -> date:
    """The deadline in force: the planned date, unless the latest extension moved it."""
    return max(planned, latest_extension) if latest_extension else planned


@cache
def _latest_extension(table: sa.Table) -> sa.Select[date | None]:
    """Built once per table, so SQLAlchemy finds it in its compiled cache instead of building it per request."""
    return sa.select(sa.func.max(table.c.new_date)).where(table.c.campaign == sa.bindparam("campaign"))


def extend_deadline(
    uow: UnitOfWork,
    table: sa.Table,
    *,
    campaign: str,
    deadline: str,
    planned: date,
    new_date: date,
    reason: str,
    actor: Actor,
) -> date:
    """Move ``deadline`` ("dossier" or "proposal") of ``campaign`` to ``new_date``, which must be later."""
    previous = current_deadline(uow, table, campaign, planned)
    if new_date <= previous:
        raise RuleViolation(
            "deadline_not_later",
            f"Hạn mới phải sau hạn hiện tại ({format_local_date(previous)}).",
            current_deadline=previous.isoformat(),
        )
    uow.session.info[(table.name, campaign)] = new_date
    uow.session.execute(
        table.insert().values(
            campaign=campaign,
            new_date=new_date,
            previous_date=previous,
            reason=reason,
            actor_id=actor.id,
            actor_name=actor.name,
            at=uow.now(),
        )
    )
    uow.emit(
        "campaign.deadline_extended",
        subject=campaign,
        payload={"deadline": deadline, "previous_date": previous, "new_date": new_date, "reason": reason},
        actor=actor,
        campaign=campaign,
    )
    return new_date
