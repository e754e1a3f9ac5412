"""``GET /<service>/bus``: each service's outbox, inbox and dead letters as an operator reads them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from kombu import Producer

from services.bootstrap import SERVICE_NAMES, System
from shared.auth import Principal
from shared.settings import Settings
from tests.integration.harness import Harness
from tests.waiting import wait_until


def bus(harness: Harness, service: str) -> dict[str, Any]:
    response = harness.client.get(f"/{service}/bus", headers=harness.headers("auditor", None, "Trần Văn B"))
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def test_a_fresh_system_has_nothing_on_its_bus(intake: Harness) -> None:
    for service in SERVICE_NAMES:
        assert bus(intake, service) == {
            "outbox": {"committed": 0, "sent": 0, "pending": 0},
            "inbox": 0,
            "dead_letters": 0,
        }


def test_a_submission_is_counted_where_it_was_committed_and_where_it_was_applied(intake: Harness) -> None:
    dossier = intake.complete_dossier()
    assert intake.submit(dossier["id"]).status_code == 200

    sent = wait_until(
        lambda: (c := bus(intake, "intake"))["outbox"]["pending"] == 0 and c["outbox"]["committed"] > 0 and c,
        what="intake's outbox to be sent",
    )
    assert sent["outbox"]["sent"] == sent["outbox"]["committed"]
    review = wait_until(lambda: (c := bus(intake, "review"))["inbox"] >= 1 and c, what="review to apply the submission")
    assert review["inbox"] == 1
    assert review["dead_letters"] == 0


def test_a_poison_message_shows_in_the_dead_letters_of_the_services_it_reached(intake: Harness) -> None:
    Producer(intake.connection.channel()).publish(
        b"{not json",
        exchange=intake.system.topology.events,
        routing_key="dossier.submitted",
        message_id="poison",
        content_type="application/json",
    )

    wait_until(lambda: bus(intake, "review")["dead_letters"] == 1, what="the poison message in review's dead letters")
    assert bus(intake, "review")["inbox"] == 0
    wait_until(lambda: bus(intake, "audit")["dead_letters"] == 1, what="the poison message in audit's dead letters")
    assert bus(intake, "intake")["dead_letters"] == 0  # intake does not subscribe to dossier.submitted


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("reviewer", 403), ("unit_clerk", 403)])
def test_only_operators_read_the_bus(intake: Harness, role: str, status: int) -> None:
    response = intake.client.get(
        "/awards/bus", headers=intake.headers(role, "hoa-tan" if role == "unit_clerk" else None)
    )

    assert response.status_code == status


def test_every_service_documents_its_bus_route(intake: Harness) -> None:
    for service in SERVICE_NAMES:
        document = intake.client.get(f"/{service}/openapi.json").get_json()
        assert "/bus" in document["paths"], service
        assert set(document["components"]["schemas"]["BusCounts"]["properties"]) == {"outbox", "inbox", "dead_letters"}


def test_with_the_broker_away_the_dead_letters_say_so_and_the_rest_answers(
    migrated_sqlite: Path, tmp_path: Path
) -> None:
    for migrated in migrated_sqlite.glob("*.db"):
        shutil.copy(migrated, tmp_path / migrated.name)
    # Nothing listens on port 9: the broker is "away" while the databases answer.
    settings = Settings.from_env({}, data_dir=tmp_path, broker_url="amqp://guest:guest@127.0.0.1:9//")
    system = System(settings, ["intake"])
    token = system.tokens.issue(Principal("admin-1", "Quản trị", frozenset({"admin"}), None))
    try:
        response = system.wsgi().test_client().get("/intake/bus", headers={"Authorization": f"Bearer {token}"})
    finally:
        system.stop()

    assert response.status_code == 200
    counts = response.get_json()
    assert counts["outbox"] == {"committed": 0, "sent": 0, "pending": 0}
    assert counts["inbox"] == 0
    assert counts["dead_letters"].startswith("unavailable: ")
