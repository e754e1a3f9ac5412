"""Fixtures of the end-to-end tier: whole clusters of processes, cleaned up and explained when a test fails."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from services.simulator import Report
from shared.clock import parse_instant
from tests.e2e.campaign import FinalState, Ledger, final_state, play, settle
from tests.e2e.cluster import Cluster

# Inside the 2021 submission window, as the campaign's clerks would start.
CAMPAIGN_START = parse_instant("2021-12-01T08:00")


FAILED: list[str] = []  # the tests of this session that failed, so shared clusters know whether to explain


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.failed:
        FAILED.append(item.nodeid)
    return report


@contextmanager
def clusters(folder: Path, rabbitmq_url: str, postgres_admin_url: str) -> Iterator[Callable[..., Cluster]]:
    """Make started clusters in ``folder``; at the end stop them all, printing their output if a test failed."""
    made: list[Cluster] = []
    failures_before = len(FAILED)

    def make(*, start_at: datetime = CAMPAIGN_START, workers: int = 1, **settings: str) -> Cluster:
        where = folder / f"cluster-{len(made)}"
        where.mkdir(parents=True)
        cluster = Cluster(where, rabbitmq_url, postgres_admin_url, start_at=start_at, workers=workers, **settings)
        made.append(cluster)
        return cluster.start()

    try:
        yield make
    finally:
        explain = len(FAILED) > failures_before
        for cluster in made:
            if explain:
                print(cluster.logs())
            cluster.stop()


@pytest.fixture
def make_cluster(rabbitmq_url: str, postgres_admin_url: str, tmp_path: Path) -> Iterator[Callable[..., Cluster]]:
    """Clusters for one test: four services as API and worker processes each, fresh databases and namespace."""
    with clusters(tmp_path, rabbitmq_url, postgres_admin_url) as make:
        yield make


@pytest.fixture(scope="module")
def module_clusters(
    rabbitmq_url: str, postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Cluster]]:
    """Clusters shared by the tests of one module (started once, stopped after its last test)."""
    with clusters(tmp_path_factory.mktemp("clusters"), rabbitmq_url, postgres_admin_url) as make:
        yield make


@dataclass(frozen=True)
class Baseline:
    """The 2021 campaign played once without faults: the cluster (still running), the report, its ledger and end."""

    cluster: Cluster
    report: Report
    books: Ledger
    state: FinalState


@pytest.fixture(scope="session")
def baseline(
    rabbitmq_url: str, postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Baseline]:
    """Played once per session and shared: the campaign test checks it, each fault test compares with it."""
    with clusters(tmp_path_factory.mktemp("baseline"), rabbitmq_url, postgres_admin_url) as make:
        cluster = make()
        tap = cluster.tap()
        report = play(cluster)
        books = settle(cluster, tap)
        yield Baseline(cluster, report, books, final_state(cluster))
