"""The audit service's one handler: append every consumed event to the log, once, at the end of the chain.

The unit of work is opened and committed by the consumer, with the inbox row of the event. Audit emits no event
(the log would feed on itself).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.audit.domain import Entry, Head, event_values, seal
from services.audit.models import entries
from shared.db import UnitOfWork, read_once
from shared.events import Catalogue, Event

log = logging.getLogger(__name__)

# Taken for the rest of the transaction before the head is read, so that two audit consumers (production runs
# several) never chain two entries onto the same head. SQLite needs none: its transactions begin IMMEDIATE.
APPEND_LOCK = 0x7468_6964_7561_0001  # "thidua" + 1


# The head as this transaction knows it, in the session's ``info``: read once after the lock is taken, then moved
# by each append, so a batch of events reads the chain's end once (the lock keeps other appenders out meanwhile).
HEAD = "audit.head"

LAST = sa.select(entries.c.seq, entries.c.hash).order_by(entries.c.seq.desc()).limit(1)
LOCK = sa.text("SELECT pg_advisory_xact_lock(:key)")


def prepare_batch(events: Sequence[Event], uow: UnitOfWork) -> None:
    """For a batch: the append lock and the head, then which of its events the log holds, each read once."""
    head(uow.session)
    uow.preload_rows(entries.c.event_id, [event.id for event in events])


def record(event: Event, uow: UnitOfWork) -> Entry | None:
    """Append ``event`` to the log; None if it is there already (a redelivery the inbox did not catch)."""
    session = uow.session
    last = head(session)
    if uow.row(entries.c.event_id, event.id) is not None:
        log.info("audit: %s %s is in the log already", event.type, event.id)
        return None
    entry = seal(last, **values_of(event, uow.catalogue, uow.now()))
    uow.add_row(entries, entry.as_row())
    session.info[HEAD] = Head(entry.seq, entry.hash)
    return entry


def head(session: Session) -> Head:
    """The end of the chain, the append lock taken first (once per transaction; :func:`record` moves it on)."""
    return read_once(session, HEAD, lambda: _locked_head(session))


def _locked_head(session: Session) -> Head:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(LOCK, {"key": APPEND_LOCK})
    last = session.execute(LAST).first()
    return Head(last.seq, last.hash) if last else Head()


def values_of(event: Event, catalogue: Catalogue, recorded_at: datetime) -> dict[str, Any]:
    return event_values(
        event_id=event.id,
        type=event.type,
        version=event.version,
        producer=event.producer,
        actor=event.actor.as_dict(),
        campaign=event.campaign,
        unit=event.unit,
        subject=event.subject,
        correlation_id=event.correlation_id,
        causation_id=event.causation_id,
        occurred_at=event.occurred_at,
        recorded_at=recorded_at,
        payload=wire_payload(event, catalogue),
    )


def wire_payload(event: Event, catalogue: Catalogue) -> dict[str, Any]:
    """The payload as it travels: as it came for a consumed event; else a known type's through its schema (dates as
    text), an unknown one's as it is."""
    if event.wire_payload is not None:
        return dict(event.wire_payload)
    if catalogue.knows(event.type, event.version):
        message: dict[str, Any] = catalogue.to_message(event)
        return dict(message["payload"])
    return dict(event.payload)
