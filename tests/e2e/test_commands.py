"""The ``thidua`` command as an operator uses it: real processes, real ports, real signals."""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Producer

from shared.bus import Topology, connect
from tests.conftest import delete_topology
from tests.e2e.cluster import answers, environment, free_port, get, running, stop, thidua
from tests.waiting import wait_until


def test_thidua_run_serves_everything_accepts_its_own_tokens_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port, data_dir = free_port(), tmp_path / "data"
    env = environment()
    args = ["run", "--port", str(port), "--data-dir", str(data_dir), "--now", "2021-12-01T08:00"]
    base = f"http://127.0.0.1:{port}"

    with running(args, env) as process:
        wait_until(lambda: answers(f"{base}/healthz"), timeout=60, what="thidua run to listen")
        token = thidua(
            "token",
            "--data-dir",
            str(data_dir),
            "--role",
            "unit_clerk",
            "--unit",
            "hoa-tan",
            "--name",
            "Lê Văn C",
            env=env,
        ).stdout.strip()
        status, body = get(f"{base}/intake/campaigns/chau-thanh-2021", token)
        assert status == 200 and json.loads(body)["code"] == "chau-thanh-2021"
        status, body = get(f"{base}/intake/dossiers", token, {"campaign": "chau-thanh-2021", "kind": "collective"})
        assert status == 201, body
        dossier_id = json.loads(body)["id"]
        assert get(f"{base}/readyz")[0] == 200
        for service in ("intake", "review", "awards", "audit"):
            assert get(f"{base}/{service}/openapi.json")[0] == 200
        output = stop(process)
    assert f"thidua đang chạy tại {base}" in output
    assert "01/12/2021 08:0" in output, "the clock starts at --now, in local time"
    assert "Đã dừng" in output
    databases = sorted(p.name for p in data_dir.glob("*.db"))
    assert databases == ["audit.db", "awards.db", "intake.db", "portal.db", "review.db"]

    with running(args, env) as process:  # the same data folder: its key, so the same token, still works
        wait_until(lambda: answers(f"{base}/healthz"), timeout=60, what="thidua run to listen again")
        status, body = get(f"{base}/intake/dossiers/{dossier_id}", token)
        assert status == 200 and json.loads(body)["state"] == "draft", "what was committed before Ctrl-C is kept"
        output = stop(process)
    assert "Gửi lại 1 sự kiện từ outbox" in output, "the in-memory bus starts empty: the outbox is sent again"


def test_thidua_token_refuses_what_the_system_would_not_accept(tmp_path: Path) -> None:
    env = environment(data_dir=str(tmp_path))
    no_unit = thidua("token", "--role", "unit_clerk", "--name", "Lê Văn C", env=env, check=False)
    assert no_unit.returncode == 2 and "a unit clerk needs a unit" in no_unit.stderr
    bad_role = thidua("token", "--role", "mayor", "--name", "Lê Văn C", env=env, check=False)
    assert bad_role.returncode == 2 and "mayor" in bad_role.stderr


def test_thidua_run_refuses_a_bad_now_with_a_clear_message(tmp_path: Path) -> None:
    result = thidua("run", "--data-dir", str(tmp_path), "--now", "1/12/2021", env=environment(), check=False)
    assert result.returncode == 2
    assert "--now" in result.stderr and "1/12/2021" in result.stderr


@pytest.fixture
def production_env(rabbitmq_url: str, postgres_url_template: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    namespace = f"test-{uuid.uuid4().hex[:10]}"
    yield environment(
        broker_url=rabbitmq_url,
        database_url=postgres_url_template,
        bus_namespace=namespace,
        data_dir=str(tmp_path),
        secret_key="e2e-" + "k" * 40,
    )
    delete_topology(rabbitmq_url, Topology.of({s: () for s in ("intake", "review", "awards", "audit")}, namespace))


def test_db_upgrade_creates_and_migrates_each_postgres_database_and_is_idempotent(
    production_env: dict[str, str],
) -> None:
    first = thidua("db", "upgrade", env=production_env).stdout.splitlines()
    assert [line for line in first if "created database" in line] == [
        f"{s}: created database" for s in ("intake", "review", "awards", "audit", "portal")
    ]
    again = thidua("db", "upgrade", "intake", env=production_env).stdout.splitlines()
    assert again == ["intake: schema up to date"]


def test_thidua_serve_runs_one_service_under_gunicorn_and_stops_on_sigterm(production_env: dict[str, str]) -> None:
    thidua("db", "upgrade", "review", env=production_env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(["serve", "review", "--port", str(port), "--workers", "1"], production_env, signal.SIGTERM) as proc:
        wait_until(lambda: answers(f"{base}/healthz"), timeout=60, what="gunicorn to listen")
        status, body = get(f"{base}/readyz")
        assert status == 200, body
        assert json.loads(body)["checks"] == {"broker": "ok", "database:review": "ok"}
        assert get(f"{base}/review/openapi.json")[0] == 200
        assert get(f"{base}/intake/openapi.json")[0] == 404, "a review process serves only review"
        stop(proc, signal.SIGTERM)


def test_thidua_worker_consumes_its_queue_and_stops_cleanly_on_sigterm(production_env: dict[str, str]) -> None:
    thidua("db", "upgrade", "audit", env=production_env)
    with running(["worker", "audit"], production_env, signal.SIGTERM) as process:
        namespace = production_env["THIDUA_BUS_NAMESPACE"]
        with connect(production_env["THIDUA_BROKER_URL"]) as conn:
            wait_until(lambda: _consumers(conn, f"{namespace}.audit") == 1, timeout=60, what="the worker to consume")
        output = stop(process, signal.SIGTERM)
    assert f"audit: consuming {namespace}.audit" in output
    assert "audit: stopped after 0 events applied, 0 dead-lettered" in output


def _consumers(conn, queue: str) -> int:
    try:
        _, _, consumers = conn.default_channel.queue_declare(queue, passive=True)
    except Exception:
        return 0
    return int(consumers)


def test_dead_letters_are_listed_with_their_reason_and_replayed_to_their_queue(production_env: dict[str, str]) -> None:
    namespace = production_env["THIDUA_BUS_NAMESPACE"]
    topology = Topology.of({s: () for s in ("intake", "review", "awards", "audit")}, namespace)
    with connect(production_env["THIDUA_BROKER_URL"]) as conn:
        topology.declare(conn)
        Producer(conn.default_channel).publish(
            {"type": "dossier.submitted"},
            exchange=topology.dead_letters,
            routing_key="intake",
            message_id="m-1",
            headers={
                "x-thidua-reason": "KeyError: 'nominee'",
                "x-thidua-queue": topology.queue_name("intake"),
                "x-thidua-attempts": 5,
                "x-thidua-dead-lettered-at": "2021-12-02T01:00:00+00:00",
            },
        )

    listed = thidua("dead-letters", "list", "--service", "intake", "--json", env=production_env).stdout
    [letter] = [json.loads(line) for line in listed.splitlines()]
    assert letter == {
        "service": "intake",
        "message_id": "m-1",
        "event_type": "dossier.submitted",
        "reason": "KeyError: 'nominee'",
        "attempts": 5,
        "dead_lettered_at": "2021-12-02T01:00:00+00:00",
        "queue": f"{namespace}.intake",
    }
    refused = thidua("dead-letters", "replay", "--service", "intake", env=production_env, check=False)
    assert refused.returncode == 2 and "--all" in refused.stderr

    replayed = thidua("dead-letters", "replay", "--service", "intake", "--id", "m-1", env=production_env)
    assert replayed.stdout.strip() == "intake: replayed 1"
    assert thidua("dead-letters", "list", "--service", "intake", "--json", env=production_env).stdout == ""
    with connect(production_env["THIDUA_BROKER_URL"]) as conn:
        message = conn.SimpleQueue(topology.queue("intake")).get(timeout=5)
        assert message.properties["message_id"] == "m-1"
        assert "x-thidua-reason" not in (message.headers or {})
        message.ack()
