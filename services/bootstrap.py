"""The composition root: the services one process runs, wired to one set of settings, one clock and one bus.

``thidua run`` builds a :class:`System` of all four services; ``thidua serve`` and ``thidua worker`` build one of
a single service; the tests build whichever they need. Nothing is connected or started at import time.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterable, Mapping

from flask import Flask

from services.portal.app import create_portal_app
from services.portal.client import HttpTransport, Transport, WsgiTransport
from services.portal.runtime import PortalRuntime
from shared.auth import TokenAuthority, data_dir_key
from shared.bus import BrokerProbe, Topology, connect
from shared.campaigns import Campaign, load_campaigns
from shared.catalogue import CATALOGUE
from shared.clock import Clock, clock_from_setting
from shared.consumer import ServiceConsumer
from shared.events import Catalogue
from shared.http import Readiness, create_process_app
from shared.migrations import ensure_database, upgrade
from shared.service import ServiceRuntime, ServiceSpec
from shared.settings import Settings

log = logging.getLogger(__name__)

SERVICE_NAMES = ("intake", "review", "awards", "audit")


def service_spec(name: str) -> ServiceSpec:
    if name not in SERVICE_NAMES:
        raise ValueError(f"unknown service {name!r}; the services are {', '.join(SERVICE_NAMES)}")
    spec: ServiceSpec = importlib.import_module(f"services.{name}").SERVICE
    return spec


def topology_for(settings: Settings) -> Topology:
    """Every service's queue and bindings: a process declares them all, so no publish finds a queue missing."""
    return Topology.of(
        {name: service_spec(name).subscription.routing_keys for name in SERVICE_NAMES}, settings.bus_namespace
    )


def signing_key(settings: Settings) -> str:
    return settings.secret_key or data_dir_key(settings.data_dir)


class System:
    def __init__(
        self,
        settings: Settings,
        services: Iterable[str] = SERVICE_NAMES,
        *,
        clock: Clock | None = None,
        catalogue: Catalogue = CATALOGUE,
        campaigns: Mapping[str, Campaign] | None = None,
        portal: bool = False,
    ):
        self.settings = settings
        if settings.database_url.startswith("sqlite") and "{data_dir}" in settings.database_url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.clock = clock or clock_from_setting(settings.now, settings.clock_file)
        self.campaigns = campaigns if campaigns is not None else load_campaigns(settings.campaigns_dir)
        self.tokens = TokenAuthority(signing_key(settings), self.clock, settings.token_hours)
        self.topology = topology_for(settings)
        self.broker = BrokerProbe(settings.broker_url)
        self.runtimes = {
            name: ServiceRuntime(
                service_spec(name),
                settings,
                self.topology,
                clock=self.clock,
                catalogue=catalogue,
                campaigns=self.campaigns,
                broker=self.broker,
            )
            for name in services
        }
        self.portal = PortalRuntime(settings, self.clock, self.campaigns, self.tokens) if portal else None
        self._consumers: list[tuple[ServiceConsumer, threading.Thread]] = []

    # -- set-up ---------------------------------------------------------------------------------------------

    def upgrade_databases(self) -> list[str]:
        """Bring every database to the newest migration; return what was done, for the command to print."""
        done = []
        for runtime in self.runtimes.values():
            url = self.settings.database_url_for(runtime.name)
            if ensure_database(url):
                done.append(f"{runtime.name}: created database")
            upgrade(runtime.spec.migrations, runtime.engine)
            done.append(f"{runtime.name}: schema up to date")
        if self.portal is not None:
            done += self.portal.upgrade_database()
        return done

    def declare_topology(self) -> None:
        with connect(self.settings.broker_url) as connection:
            self.topology.declare(connection)

    def wsgi(self) -> Flask:
        """The process's WSGI app: the services under their prefixes and, with the portal, the portal at ``/``."""
        if self.portal is None:
            return create_process_app(list(self.runtimes.values()), self.tokens, self.readiness())
        transport: Transport
        if self.settings.api_url:
            transport = HttpTransport(self.settings.api_url)
        elif self.runtimes:
            # The services of this very process, reached through the dispatcher create_process_app installs.
            transport = WsgiTransport(lambda: root.wsgi_app)
        else:
            raise ValueError("the portal on its own calls the services at THIDUA_API_URL, which is not set")
        root = create_portal_app(self.portal, transport, behind_proxy=not self.runtimes)
        return create_process_app(list(self.runtimes.values()), self.tokens, self.readiness(), root=root)

    def readiness(self) -> Readiness:
        """Every database of the process (its services' and the portal's), and the broker if it runs services: the
        portal on its own never speaks to the broker."""
        databases = {name: runtime.engine for name, runtime in self.runtimes.items()}
        if self.portal is not None:
            databases[self.portal.name] = self.portal.engine
        return Readiness(databases, self.broker.problem if self.runtimes else None)

    # -- running --------------------------------------------------------------------------------------------

    def start_relays(self) -> None:
        for runtime in self.runtimes.values():
            runtime.relay.start()

    def start_consumers(self, services: Iterable[str] | None = None) -> None:
        """One consumer thread per service (or per one of ``services``), each on its own connection (kombu
        connections are not shared)."""
        for name in self.runtimes if services is None else services:
            runtime = self.runtimes[name]
            consumer = runtime.consumer()
            thread = threading.Thread(target=consumer.run_until_stopped, name=f"{runtime.name}-consumer", daemon=True)
            thread.start()
            self._consumers.append((consumer, thread))

    @property
    def consumers(self) -> dict[str, ServiceConsumer]:
        return {consumer.service: consumer for consumer, _ in self._consumers}

    def stop_consumers(self, services: Iterable[str] | None = None) -> None:
        """Stop consuming, for every service or for ``services``: in-flight messages finish and are acknowledged;
        what comes later waits in the service's queue."""
        chosen = [pair for pair in self._consumers if services is None or pair[0].service in services]
        for consumer, _ in chosen:
            consumer.should_stop = True
        for consumer, thread in chosen:
            thread.join(timeout=15)
            consumer.close()
            consumer.connection.release()
        self._consumers = [pair for pair in self._consumers if pair not in chosen]

    def stop(self) -> None:
        """Stop consuming, send what is committed, close."""
        self.stop_consumers()
        for runtime in self.runtimes.values():
            runtime.close()
        if self.portal is not None:
            self.portal.close()
