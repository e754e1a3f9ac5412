"""Two small services that exercise the shared bus the way the real services do.

``sender`` owns tickets (a lifecycle open → closed → open) and publishes their transitions; ``receiver`` consumes
``ticket.closed`` and keeps a tally per ticket, so a doubled or lost event shows as a wrong count.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask_smorest import Blueprint
from kombu import Connection
from marshmallow import fields
from sqlalchemy.orm import registry

from shared.bus import Topology, connect
from shared.clock import Clock
from shared.consumer import Subscription
from shared.db import UnitOfWork, bus_tables, service_metadata
from shared.events import Actor, Catalogue, Event
from shared.migrations import ensure_database
from shared.service import ServiceRuntime, ServiceSpec
from shared.settings import Settings
from shared.statemachine import Aggregate, Lifecycle, Move, TransitionPayload
from tests.conftest import Stack

CLERK = Actor(id="clerk-1", name="Nguyễn Văn A", role="unit_clerk", unit="hoa-tan")


class TicketState(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Ticket(Aggregate):
    subject_type = "ticket"

    def __init__(self, id: str, title: str):
        self.id = id
        self.title = title
        self.state = TicketState.OPEN

    @property
    def unit_code(self) -> str:
        return "hoa-tan"

    def close(self, actor: Actor, at, reason: str | None = None) -> None:
        LIFECYCLE.fire(self, "close", actor=actor, at=at, reason=reason, payload={"title": self.title})

    def reopen(self, actor: Actor, at, reason: str | None = None) -> None:
        LIFECYCLE.fire(self, "reopen", actor=actor, at=at, reason=reason, payload={"title": self.title})


LIFECYCLE = Lifecycle(
    "ticket",
    TicketState,
    TicketState.OPEN,
    [
        Move("close", TicketState.OPEN, TicketState.CLOSED, "ticket.closed"),
        Move("reopen", TicketState.CLOSED, TicketState.OPEN, "ticket.reopened"),
    ],
)

CATALOGUE = Catalogue()


@CATALOGUE.register("ticket.closed")
class TicketClosed(TransitionPayload):
    title = fields.String(required=True)


@CATALOGUE.register("ticket.reopened")
class TicketReopened(TransitionPayload):
    title = fields.String(required=True)


# -- sender ---------------------------------------------------------------------------------------------------

sender_metadata = service_metadata()
sender_bus = bus_tables(sender_metadata)
tickets = sa.Table(
    "tickets",
    sender_metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("state", sa.Enum(TicketState, native_enum=False, values_callable=lambda e: [m.value for m in e])),
    sa.Column("version", sa.Integer, nullable=False),
)
registry().map_imperatively(Ticket, tickets, version_id_col=tickets.c.version)


def open_ticket(title: str, uow: UnitOfWork) -> Ticket:
    ticket = Ticket(id=title, title=title)
    uow.session.add(ticket)
    return ticket


def close_ticket(title: str, uow: UnitOfWork) -> None:
    ticket = uow.session.get(Ticket, title)
    assert ticket is not None
    ticket.close(CLERK, uow.now(), reason="xong")


def reopen_ticket(title: str, uow: UnitOfWork) -> None:
    ticket = uow.session.get(Ticket, title)
    assert ticket is not None
    ticket.reopen(CLERK, uow.now(), reason="chưa xong")


def close_and_fail(title: str, uow: UnitOfWork) -> None:
    close_ticket(title, uow)
    raise RuntimeError("the handler fails after the transition")


# -- receiver -------------------------------------------------------------------------------------------------

receiver_metadata = service_metadata()
receiver_bus = bus_tables(receiver_metadata)
tally = sa.Table(
    "tally",
    receiver_metadata,
    sa.Column("ticket", sa.String(36), primary_key=True),
    sa.Column("closings", sa.Integer, nullable=False),
)


journal = sa.Table(
    "journal",
    receiver_metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ticket", sa.String(36), nullable=False),
    sa.Column("type", sa.String(100), nullable=False),
)


class Crash(BaseException):
    """The process dying where the handler runs: nothing after it in the process happens."""


class Faults:
    """Switches a test flips to make the receiver's handler fail."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.failures_left = 0
        self.always = False
        self.refused: set[str] = set()
        self.crash_on: str | None = None
        self.calls = 0
        self.lock = threading.Lock()

    def check(self, ticket: str) -> None:
        with self.lock:
            self.calls += 1
            if ticket == self.crash_on:
                raise Crash(ticket)
            if self.always:
                raise RuntimeError("the receiver refuses every ticket")
            if ticket in self.refused:
                raise RuntimeError(f"the receiver refuses ticket {ticket}")
            if self.failures_left > 0:
                self.failures_left -= 1
                raise ConnectionError("the receiver's database is away")


FAULTS = Faults()


def note_reopening(event: Event, uow: UnitOfWork) -> None:
    uow.session.execute(journal.insert().values(ticket=event.subject, type=event.type))


def count_closing(event: Event, uow: UnitOfWork) -> None:
    FAULTS.check(event.subject)
    uow.session.execute(journal.insert().values(ticket=event.subject, type=event.type))
    ticket = event.subject
    updated = uow.session.execute(
        tally.update().where(tally.c.ticket == ticket).values(closings=tally.c.closings + 1)
    ).rowcount
    if not updated:
        uow.session.execute(tally.insert().values(ticket=ticket, closings=1))


def journal_of(engine: sa.Engine, ticket: str) -> list[str]:
    """The types of the ticket's events, in the order the receiver applied them."""
    with engine.connect() as conn:
        return list(
            conn.execute(sa.select(journal.c.type).where(journal.c.ticket == ticket).order_by(journal.c.seq)).scalars()
        )


def closings(engine: sa.Engine, ticket: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(tally.c.closings).where(tally.c.ticket == ticket)).scalar() or 0


@dataclass
class Probe:
    stack: Stack
    sender: ServiceRuntime
    receiver: ServiceRuntime
    topology: Topology

    def connection(self) -> Connection:
        return connect(self.stack.broker_url)

    def closings(self, ticket: str) -> int:
        return closings(self.receiver.engine, ticket)

    def journal(self, ticket: str) -> list[str]:
        return journal_of(self.receiver.engine, ticket)

    def count(self, runtime: ServiceRuntime, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
        with runtime.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())

    def open_and_close(self, title: str = "T1") -> None:
        self.sender.execute(open_ticket, title)
        self.sender.execute(close_ticket, title)

    def close(self) -> None:
        self.sender.close()
        self.receiver.close()

    def queued(self, queue_name: str) -> int:
        with self.connection() as conn:
            _, count, _ = conn.default_channel.queue_declare(queue_name, passive=True)
            return int(count)


def make_probe(stack: Stack, clock: Clock, tmp_path: Path, broker_url: str | None = None, **settings: object) -> Probe:
    config = Settings.from_env(
        {},
        data_dir=tmp_path,
        database_url=stack.database_url,
        broker_url=broker_url or stack.broker_url,
        bus_namespace=stack.namespace,
        retry_attempts=3,
        retry_backoff_seconds=0.02,
        outbox_poll_seconds=0.05,
        consumer_prefetch=8,
        **settings,
    )
    topology = Topology.of(
        {"sender": SENDER.subscription.routing_keys, "receiver": RECEIVER.subscription.routing_keys},
        stack.namespace,
    )
    runtimes = []
    for spec in (SENDER, RECEIVER):
        ensure_database(config.database_url_for(spec.name))
        runtime = ServiceRuntime(spec, config, topology, clock=clock, catalogue=CATALOGUE, campaigns={})
        spec.metadata.create_all(runtime.engine)
        runtimes.append(runtime)
    with connect(stack.broker_url) as conn:
        topology.declare(conn)
    return Probe(stack, runtimes[0], runtimes[1], topology)


def _spec(name: str, metadata: sa.MetaData, bus, subscription: Subscription) -> ServiceSpec:
    return ServiceSpec(
        name=name,
        title=name,
        metadata=metadata,
        tables=bus,
        blueprint=Blueprint(name, __name__),
        subscription=subscription,
        migrations=Path("unused"),
    )


SENDER = _spec("sender", sender_metadata, sender_bus, Subscription(handlers={}))
RECEIVER = _spec(
    "receiver",
    receiver_metadata,
    receiver_bus,
    Subscription(handlers={"ticket.closed": count_closing, "ticket.reopened": note_reopening}),
)
