"""A service as the processes see it: its definition, and its wiring in one process.

Every service defines one :class:`ServiceSpec` (name, tables, blueprint, subscription, migrations). A process
(embedded, gunicorn, or a worker) builds a :class:`ServiceRuntime` for each service it runs; the runtime is
what handlers, routes and consumers get: a unit of work, the clock, the campaigns.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from flask import Flask
from flask_smorest import Blueprint
from kombu import Connection
from sqlalchemy.orm import Session, sessionmaker

from shared.bus import BrokerProbe, Topology, connect
from shared.campaigns import Campaign
from shared.clock import Clock
from shared.consumer import RetryPolicy, ServiceConsumer, Subscription
from shared.db import BusTables, UnitOfWork, campaign_in, create_engine
from shared.deadletters import count_dead_letters
from shared.events import Catalogue, Event
from shared.outbox import OutboxRelay
from shared.settings import Settings

M = TypeVar("M")
R = TypeVar("R")
A = TypeVar("A")


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    metadata: sa.MetaData
    tables: BusTables
    blueprint: Blueprint
    subscription: Subscription
    migrations: Path
    setup: Callable[[Flask, ServiceRuntime], None] | None = None  # what the service adds to its Flask app


class ServiceRuntime:
    def __init__(
        self,
        spec: ServiceSpec,
        settings: Settings,
        topology: Topology,
        *,
        clock: Clock,
        catalogue: Catalogue,
        campaigns: Mapping[str, Campaign],
        broker: BrokerProbe | None = None,
    ):
        self.spec = spec
        self.name = spec.name
        self.settings = settings
        self.topology = topology
        self.clock = clock
        self.catalogue = catalogue
        self.campaigns = campaigns
        self.broker = broker or BrokerProbe(settings.broker_url)  # the process's, for the bus counts
        self.engine = create_engine(settings.database_url_for(spec.name))
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.relay = OutboxRelay(
            self.engine,
            spec.tables.outbox,
            topology,
            settings.broker_url,
            clock,
            batch=settings.outbox_batch,
            poll_seconds=settings.outbox_poll_seconds,
            name=f"{spec.name}-relay",
        )

    def unit_of_work(self, *, cause: Event | None = None, correlation_id: str | None = None) -> UnitOfWork:
        return UnitOfWork(
            self.sessions,
            self.spec.tables,
            self.catalogue,
            self.clock,
            self.name,
            cause=cause,
            correlation_id=correlation_id or str(uuid.uuid4()),
            on_commit=self.relay.wake,
            campaigns=self.campaigns,
        )

    def execute(self, handler: Callable[[M, UnitOfWork], R], message: M, *, correlation_id: str | None = None) -> R:
        """Run a command handler in its own unit of work and commit once; an exception commits nothing."""
        with self.unit_of_work(correlation_id=correlation_id) as uow:
            result = handler(message, uow)
            uow.commit()
            return result

    def execute_and_render(
        self, handler: Callable[[M, UnitOfWork], R], message: M, render: Callable[[R, UnitOfWork], A]
    ) -> A:
        """Run a command handler, then ``render`` its answer in the same transaction, and commit once.

        The answer is read after the change, its history and its events are written and before the commit, so it
        shows what was committed, from the objects the handler loaded: one connection and one transaction per
        request instead of a second unit of work reloading it all.
        """
        with self.unit_of_work() as uow:
            result = handler(message, uow)
            uow.write()
            answer = render(result, uow)
            uow.commit()
            return answer

    def consumer(self, connection: Connection | None = None) -> ServiceConsumer:
        return ServiceConsumer(
            self.name,
            connection or connect(self.settings.broker_url),
            self.topology,
            self.catalogue,
            self.spec.subscription,
            lambda event: self.unit_of_work(cause=event),
            self.clock,
            policy=RetryPolicy(
                attempts=self.settings.retry_attempts,
                backoff_seconds=self.settings.retry_backoff_seconds,
                max_backoff_seconds=self.settings.retry_backoff_max_seconds,
            ),
            prefetch=self.settings.consumer_prefetch,
            batch=self.settings.consumer_batch,
        )

    def campaign(self, code: str) -> Campaign:
        return campaign_in(self.campaigns, code)

    def session(self) -> Session:
        """A read-only session for queries that change nothing (lists, downloads)."""
        return self.sessions()

    def bus_counts(self) -> dict[str, object]:
        """The service's own view of the bus, for operators: events committed and sent, applied, dead-lettered.

        The database counts always answer; the dead letters are the broker's, so when it is away the field says
        why instead of failing the whole answer (that is when an operator most needs the rest).
        """
        outbox, inbox = self.spec.tables.outbox, self.spec.tables.inbox
        with self.engine.connect() as conn:
            committed, sent = conn.execute(
                sa.select(sa.func.count(), sa.func.count(outbox.c.published_at)).select_from(outbox)
            ).one()
            applied = conn.execute(sa.select(sa.func.count()).select_from(inbox)).scalar_one()
        dead_letters: int | str
        try:
            dead_letters = self.broker.ask(lambda connection: count_dead_letters(connection, self.topology, self.name))
        except Exception as err:
            dead_letters = f"unavailable: {type(err).__name__}: {err}"[:300]
        return {
            "outbox": {"committed": committed, "sent": sent, "pending": committed - sent},
            "inbox": applied,
            "dead_letters": dead_letters,
        }

    def close(self) -> None:
        self.relay.stop()
        self.broker.close()
        self.engine.dispose()
