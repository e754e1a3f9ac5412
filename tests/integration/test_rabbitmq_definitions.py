"""The generated RabbitMQ definitions, imported into a real broker, make exactly the queues the code declares.

Imported into a throwaway vhost with ``rabbitmqctl import_definitions`` (the same import a node does at boot),
then every process's own declaration must be accepted on top of it: a queue declared with other arguments would
be refused with ``PRECONDITION_FAILED``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from kombu import Connection

from services.bootstrap import topology_for
from shared.bus import connect
from shared.definitions import definitions_json
from shared.settings import Settings
from tests.conftest import require
from tests.waiting import wait_until

pytestmark = pytest.mark.rabbitmq


def rabbitmqctl(*arguments: str, stdin: str | None = None) -> str:
    done = subprocess.run(["rabbitmqctl", *arguments], input=stdin, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"rabbitmqctl {' '.join(arguments)}: {done.stderr or done.stdout}"
    return done.stdout


@pytest.fixture
def vhost(rabbitmq_url: str) -> Iterator[str]:
    if shutil.which("rabbitmqctl") is None:
        # like a missing broker: a skip on a developer's machine, a failure in CI
        require("rabbitmqctl", "not on PATH, so the definitions cannot be imported into the broker from here")
    name = f"thidua-test-{uuid.uuid4().hex[:10]}"
    yield name
    subprocess.run(["rabbitmqctl", "delete_vhost", name], capture_output=True, timeout=60, check=False)


def test_imported_definitions_make_the_queues_the_code_declares(rabbitmq_url: str, vhost: str) -> None:
    topology = topology_for(Settings.from_env({}))
    # On standard input: the broker's node may not be allowed to read a test's private temp folder.
    rabbitmqctl("import_definitions", "--format", "json", stdin=definitions_json(topology, vhost))

    expected = {
        queue.name: queue.queue_arguments
        for service in topology.bindings
        for queue in (topology.queue(service), topology.dead_letter_queue(service))
    }

    def imported() -> list[dict[str, object]] | None:
        found: list[dict[str, object]] = json.loads(
            rabbitmqctl("list_queues", "-q", "-p", vhost, "name", "type", "arguments", "policy", "--formatter", "json")
            or "[]"
        )
        return found if len(found) == len(expected) else None

    queues = {q["name"]: q for q in wait_until(imported, timeout=30, interval=0.5, what="the imported queues")}
    assert set(queues) == set(expected)
    for name, arguments in expected.items():
        assert queues[name]["type"] == "quorum"
        assert {key: value for key, _, value in queues[name]["arguments"]} == arguments  # type: ignore[attr-defined]
        assert queues[name]["policy"] == (name if "x-delivery-limit" in arguments else "")

    user = urlsplit(rabbitmq_url).username or "guest"
    rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    parts = urlsplit(rabbitmq_url)
    with connect(urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), "", ""))) as connection:
        topology.declare(connection)  # the processes' own declarations agree with the imported ones
        assert_routes_like_the_code(connection, topology.queue_name("audit"), topology.events.name)


def assert_routes_like_the_code(connection: Connection, audit_queue: str, exchange: str) -> None:
    """An event published to the exchange reaches the audit queue (bound to every type) through the imports."""
    with connection.Producer() as producer:
        producer.publish({"probe": True}, exchange=exchange, routing_key="dossier.submitted", serializer="json")
    channel = connection.default_channel
    message = wait_until(lambda: channel.basic_get(audit_queue, no_ack=True), timeout=10)
    assert json.loads(message.body) == {"probe": True}
