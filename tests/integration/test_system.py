"""The four services wired as a process wires them: health, readiness, API documents, tokens, migrations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.audit import queries as audit_queries
from services.bootstrap import SERVICE_NAMES, System
from shared.auth import Principal
from shared.settings import Settings
from tests.conftest import Stack, delete_topology
from tests.tcpproxy import TcpProxy


def settings_for(stack: Stack, tmp_path, **overrides: object) -> Settings:
    chosen: dict[str, object] = {
        "data_dir": tmp_path,
        "database_url": stack.database_url,
        "broker_url": stack.broker_url,
        "bus_namespace": stack.namespace,
    }
    return Settings.from_env({}, **{**chosen, **overrides})


@pytest.fixture
def system(stack: Stack, tmp_path, clock) -> Iterator[System]:
    built = System(settings_for(stack, tmp_path), clock=clock)
    built.upgrade_databases()
    yield built
    built.stop()
    if stack.durable_broker:
        delete_topology(stack.broker_url, built.topology)


def bearer(system: System, *roles: str, unit: str | None = None) -> dict[str, str]:
    token = system.tokens.issue(Principal("p-1", "Trần Thị B", frozenset(roles), unit))
    return {"Authorization": f"Bearer {token}"}


def test_the_process_is_alive_ready_and_documents_every_service(system: System) -> None:
    client = system.wsgi().test_client()

    assert client.get("/healthz").get_json() == {"status": "ok", "services": list(SERVICE_NAMES)}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {
        "broker": "ok",
        **{f"database:{name}": "ok" for name in SERVICE_NAMES},
    }
    for name in SERVICE_NAMES:
        spec = client.get(f"/{name}/openapi.json")
        assert spec.status_code == 200
        assert spec.get_json()["servers"] == [{"url": f"/{name}"}]
        assert spec.get_json()["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        docs = client.get(f"/{name}/docs")
        assert docs.status_code == 200 and f"/{name}/swagger-ui/swagger-ui-bundle.js".encode() in docs.data
        assert client.get(f"/{name}/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_a_process_stays_ready_while_the_broker_is_away_says_so_and_accepts_changes(
    stack: Stack, tmp_path, clock
) -> None:
    """Its routes keep working and the outbox keeps the events: readiness must not take every API out of service."""
    system = System(settings_for(stack, tmp_path, broker_url="amqp://guest:guest@127.0.0.1:1//"), clock=clock)
    try:
        system.upgrade_databases()
        client = system.wsgi().test_client()
        ready = client.get("/readyz")
        created = client.post(
            "/intake/dossiers",
            json={"campaign": "chau-thanh-2021", "kind": "collective"},
            headers=bearer(system, "unit_clerk", unit="hoa-tan"),
        )
        outbox = system.runtimes["intake"].spec.tables.outbox
        with system.runtimes["intake"].engine.connect() as conn:
            waiting = conn.execute(sa.select(outbox.c.type).where(outbox.c.published_at.is_(None))).scalars().all()
    finally:
        system.stop()
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["broker"] != "ok"
    assert {k: v for k, v in body["checks"].items() if k != "broker"} == {
        f"database:{name}": "ok" for name in SERVICE_NAMES
    }
    assert created.status_code == 201, created.get_json()
    assert waiting == ["dossier.created"]  # kept for the broker's return


def test_readiness_fails_naming_the_database_that_does_not_answer(stack: Stack, tmp_path, clock) -> None:
    unreachable = (
        "postgresql+psycopg://postgres@127.0.0.1:1/{service}"
        if stack.durable_broker
        else f"sqlite:///{tmp_path}/missing-folder/{{service}}.db"
    )
    system = System(settings_for(stack, tmp_path, database_url=unreachable), ["intake"], clock=clock)
    try:
        ready = system.wsgi().test_client().get("/readyz")
    finally:
        system.stop()
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database:intake"] != "ok"
    assert body["checks"]["broker"] == "ok"


def test_the_portal_on_its_own_is_ready_on_its_database_and_never_asks_the_broker(
    stack: Stack, tmp_path, clock
) -> None:
    settings = settings_for(
        stack, tmp_path, broker_url="amqp://guest:guest@127.0.0.1:1//", api_url="http://127.0.0.1:9"
    )
    system = System(settings, [], clock=clock, portal=True)
    try:
        system.upgrade_databases()
        ready = system.wsgi().test_client().get("/readyz")
    finally:
        system.stop()
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready", "checks": {"database:portal": "ok"}}


def test_the_probes_of_a_process_share_one_broker_connection(system: System, stack: Stack) -> None:
    """A readiness probe every few seconds must not open (and log) a broker connection each time; the kept one,
    idle between probes, asks RabbitMQ for no heartbeats (nobody would send them)."""
    system.declare_topology()
    client = system.wsgi().test_client()
    for _ in range(3):
        assert client.get("/readyz").get_json()["checks"]["broker"] == "ok"
    for name in SERVICE_NAMES:
        counts = client.get(f"/{name}/bus", headers=bearer(system, "admin"))
        assert counts.get_json()["dead_letters"] == 0
    assert system.broker.opened == 1
    if stack.durable_broker:
        assert system.broker.ask(lambda connection: connection.connection.heartbeat) == 0


@pytest.mark.parametrize("stack", ["production"], indirect=True)
def test_a_probe_connection_lost_between_probes_is_opened_again_and_a_cut_broker_is_reported(
    stack: Stack, proxy: TcpProxy, tmp_path, clock
) -> None:
    system = System(settings_for(stack, tmp_path, broker_url=proxy.url), ["intake"], clock=clock)
    try:
        system.upgrade_databases()
        client = system.wsgi().test_client()
        assert client.get("/readyz").get_json()["status"] == "ready"
        proxy.cut()
        proxy.restore()  # as a broker restarted between two probes: the kept connection is gone
        after_restart = client.get("/readyz").get_json()
        opened_after_restart = system.broker.opened
        proxy.cut()
        while_cut = client.get("/readyz").get_json()
        proxy.restore()
        back = client.get("/readyz").get_json()
        client.get("/readyz")
    finally:
        system.stop()
        delete_topology(stack.broker_url, system.topology)
    assert after_restart["status"] == "ready" and opened_after_restart == 2
    assert while_cut["status"] == "degraded" and while_cut["checks"]["broker"] != "ok"
    assert back["status"] == "ready"
    assert proxy.refused >= 1
    assert system.broker.opened == opened_after_restart + 2  # one refused while cut, one kept since


def test_anyone_signed_in_reads_the_campaign_with_its_prizes_targets_and_deadlines(system: System) -> None:
    client = system.wsgi().test_client()

    listed = client.get("/intake/campaigns", headers=bearer(system, "auditor"))
    assert [c["code"] for c in listed.get_json()] == ["chau-thanh-2021"]
    campaign = client.get("/intake/campaigns/chau-thanh-2021", headers=bearer(system, "unit_clerk", unit="an-hiep"))
    body = campaign.get_json()
    assert campaign.status_code == 200
    assert len(body["units"]) == 21
    assert [p["amount_words"] for p in body["tracks"][0]["prizes"]] == [
        "Hai triệu năm trăm ngàn đồng",
        "Hai triệu đồng",
        "Một triệu năm trăm ngàn đồng",
    ]
    assert [t["threshold_text"] for t in body["targets"]] == ["60,00 %", "50,00 %"]
    assert body["deadlines"]["dossier"] == {"date": "2021-12-06", "ends_at": "2021-12-06T16:59:59.999999+00:00"}
    assert body["individuals"]["amount_text"] == "230.000 đồng"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "missing_token"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401, "missing_token"),
        ({"Authorization": "Bearer not-a-token"}, 401, "invalid_token"),
    ],
)
def test_without_a_valid_token_the_answer_is_a_problem_not_the_data(
    system: System, headers: dict[str, str], status: int, code: str
) -> None:
    answer = system.wsgi().test_client().get("/intake/campaigns", headers=headers)
    assert answer.status_code == status
    assert answer.content_type == "application/problem+json"
    assert answer.get_json()["code"] == code
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_campaign_is_a_404_problem_in_vietnamese(system: System) -> None:
    answer = system.wsgi().test_client().get("/intake/campaigns/ha-noi-1990", headers=bearer(system, "reviewer"))
    assert answer.status_code == 404
    assert answer.get_json()["code"] == "campaign_not_found"
    assert "Không có phong trào" in answer.get_json()["detail"]


def test_a_fault_of_ours_is_a_500_in_vietnamese_logged_with_the_full_path(
    system: System, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a fault in the query")

    monkeypatch.setattr(audit_queries, "page", broken)
    answer = system.wsgi().test_client().get("/audit/entries", headers=bearer(system, "auditor"))

    assert (answer.status_code, answer.content_type) == (500, "application/problem+json")
    assert answer.get_json()["code"] == "internal_error"
    assert answer.get_json()["detail"].startswith("Hệ thống gặp lỗi ngoài dự kiến")
    [logged] = [r for r in caplog.records if r.getMessage().startswith("unhandled error")]
    assert logged.getMessage() == "unhandled error on GET /audit/entries"
    assert logged.exc_info and "a fault in the query" in str(logged.exc_info[1])


def test_the_migrations_build_exactly_the_schema_the_models_describe(system: System) -> None:
    for runtime in system.runtimes.values():
        with runtime.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), runtime.spec.metadata)
        assert differences == [], f"{runtime.name}: run `thidua db revision {runtime.name} -m ...`"


def test_upgrading_twice_changes_nothing(system: System) -> None:
    assert system.upgrade_databases() == [f"{name}: schema up to date" for name in SERVICE_NAMES]
