"""Fixtures shared by every tier: the real services when a test needs them, and the two stacks.

A test that needs RabbitMQ or PostgreSQL skips, saying why, when the service is not reachable on a developer's
machine; in CI (``CI=true``) the same test fails instead, so a missing service can never pass unnoticed.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from kombu import Connection
from sqlalchemy.engine import make_url

from services.bootstrap import SERVICE_NAMES, service_spec
from shared.bus import Topology, connect
from shared.clock import FixedClock, parse_instant
from shared.db import create_engine
from shared.migrations import ensure_database, upgrade

AMQP_URL = os.environ.get("THIDUA_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
POSTGRES_URL = os.environ.get("THIDUA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(service: str, problem: str | None) -> None:
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"{service} is required in CI but is not reachable: {problem}", pytrace=False)
    pytest.skip(f"{service} is not reachable ({problem}); start it to run this test")


def _rabbitmq_problem() -> str | None:
    try:
        with Connection(AMQP_URL, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as err:
        return f"{AMQP_URL}: {err}"
    return None


def _postgres_problem() -> str | None:
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as err:
        return f"{POSTGRES_URL}: {type(err).__name__}"
    finally:
        engine.dispose()
    return None


@pytest.fixture(scope="session")
def rabbitmq_url() -> str:
    require("RabbitMQ", _rabbitmq_problem())
    return AMQP_URL


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    require("PostgreSQL", _postgres_problem())
    return POSTGRES_URL


@pytest.fixture
def postgres_url_template(postgres_admin_url: str) -> Iterator[str]:
    """A ``{service}`` URL template whose databases exist only for this test, and are dropped after it."""
    prefix = f"t_{uuid.uuid4().hex[:12]}"
    template = make_url(postgres_admin_url).set(database=f"{prefix}_SERVICE").render_as_string(hide_password=False)
    yield template.replace("SERVICE", "{service}")
    drop_databases(postgres_admin_url, f"{prefix}_%")


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every service's SQLite database migrated once per session; each test starts from a copy."""
    folder = tmp_path_factory.mktemp("migrated")
    for name in SERVICE_NAMES:
        engine = create_engine(f"sqlite:///{folder}/{name}.db")
        upgrade(service_spec(name).migrations, engine)
        engine.dispose()
    return folder


@pytest.fixture(scope="session")
def migrated_postgres(postgres_admin_url: str) -> Iterator[dict[str, str]]:
    """Every service's PostgreSQL database migrated once per session, as templates the tests copy."""
    prefix = f"tpl_{uuid.uuid4().hex[:8]}"
    templates = {name: f"{prefix}_{name}" for name in SERVICE_NAMES}
    for name, database in templates.items():
        url = make_url(postgres_admin_url).set(database=database).render_as_string(hide_password=False)
        ensure_database(url)
        engine = create_engine(url)
        upgrade(service_spec(name).migrations, engine)
        engine.dispose()
    yield templates
    drop_databases(postgres_admin_url, f"{prefix}_%")


def drop_databases(admin_url: str, pattern: str) -> None:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        names = conn.execute(sa.text("SELECT datname FROM pg_database WHERE datname LIKE :p"), {"p": pattern})
        for name in list(names.scalars()):
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@dataclass(frozen=True)
class Stack:
    """Where a test's services keep their data and pass their events."""

    name: str
    broker_url: str
    database_url: str
    namespace: str

    @property
    def durable_broker(self) -> bool:
        return not self.broker_url.startswith("memory://")


@pytest.fixture(params=["embedded", pytest.param("production", marks=[pytest.mark.rabbitmq, pytest.mark.postgres])])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Stack:
    """The embedded stack (SQLite, kombu's memory transport) and the production one (PostgreSQL, RabbitMQ)."""
    namespace = f"test-{uuid.uuid4().hex[:10]}"
    if request.param == "embedded":
        for migrated in request.getfixturevalue("migrated_sqlite").glob("*.db"):
            shutil.copy(migrated, tmp_path / migrated.name)
        return Stack("embedded", "memory://", f"sqlite:///{tmp_path}/{{service}}.db", namespace)
    broker = request.getfixturevalue("rabbitmq_url")
    database = request.getfixturevalue("postgres_url_template")
    templates = request.getfixturevalue("migrated_postgres")
    admin = sa.create_engine(request.getfixturevalue("postgres_admin_url"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name, template in templates.items():
            target = make_url(database.format(service=name)).database
            conn.execute(sa.text(f'CREATE DATABASE "{target}" TEMPLATE "{template}"'))
    admin.dispose()
    return Stack("production", broker, database, namespace)


def delete_topology(broker_url: str, topology: Topology) -> None:
    """Remove a test's exchanges and queues from the shared broker."""
    with connect(broker_url) as conn:
        channel = conn.default_channel
        for service in topology.bindings:
            channel.queue_delete(topology.queue_name(service))
            channel.queue_delete(topology.dead_letter_queue(service).name)
        channel.exchange_delete(topology.events.name)
        channel.exchange_delete(topology.dead_letters.name)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(parse_instant("2021-12-01T09:00:00+07:00"))
