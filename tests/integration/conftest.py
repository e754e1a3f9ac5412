"""Fixtures of the integration tier: the probe services on the stack under test, and a broker that can be cut."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from shared.clock import FixedClock
from tests.conftest import Stack, delete_topology
from tests.integration.harness import Harness, running_system
from tests.probe import FAULTS, Probe, make_probe
from tests.tcpproxy import TcpProxy


@pytest.fixture
def make_bus(stack: Stack, clock: FixedClock, tmp_path: Path) -> Iterator[Callable[..., Probe]]:
    """Build probe services on the stack (optionally reaching the broker at another URL); clean up after."""
    FAULTS.reset()
    made: list[Probe] = []

    def make(broker_url: str | None = None) -> Probe:
        made.append(make_probe(stack, clock, tmp_path, broker_url=broker_url))
        return made[-1]

    yield make
    for bus in made:
        bus.close()
    if made and stack.durable_broker:
        delete_topology(stack.broker_url, made[0].topology)


@pytest.fixture
def bus(make_bus: Callable[..., Probe]) -> Probe:
    return make_bus()


@pytest.fixture
def intake(stack: Stack, clock: FixedClock, tmp_path: Path) -> Iterator[Harness]:
    """The whole system on the stack under test, the clock inside the 2021 submission window."""
    with running_system(stack, clock, tmp_path) as harness:
        yield harness


@pytest.fixture
def proxy(stack: Stack) -> Iterator[TcpProxy]:
    """A cuttable path to the stack's broker; ``proxy.url`` is the broker's URL through it."""
    broker = urlsplit(stack.broker_url)
    made = TcpProxy(broker.hostname or "127.0.0.1", broker.port or 5672)
    made.url = broker._replace(netloc=f"{broker.username}:{broker.password}@127.0.0.1:{made.port}").geturl()
    yield made
    made.close()
