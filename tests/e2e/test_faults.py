"""Faults in the middle of the 2021 campaign, and nothing lost: each run ends as the run without faults did.

Each test plays the same seed as the shared fault-free run (``baseline``) on a cluster of its own, injects one
fault at a meaningful moment (when the simulator says it turned a page, from a thread, so the campaign goes on
meanwhile), proves the fault really happened, and then checks the ledger: every committed event went over the
wire, was handled once by each service subscribing to it and was audited, no outbox row is unsent and no queue
holds a message; and the end is the baseline's: the same awards and total, each dossier in the same state
with the same prize, and each subject's audited event types in the same order.
"""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from kombu import Producer

from services.bootstrap import SERVICE_NAMES
from shared.bus import connect
from tests.agreement import assert_audit_agrees
from tests.e2e.campaign import assert_nothing_lost, final_state, play, settle
from tests.e2e.cluster import Cluster, request, thidua
from tests.e2e.conftest import Baseline
from tests.waiting import wait_until

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.timeout(900)]

SECOND_DAY = "— 02/12/2021 09:00"  # clerks submit: every service is busy with the events that follow
OUTAGE_SECONDS = 5.0


class OnProgress:
    """The simulator's progress callback: starts ``fault`` on a thread when a message begins with ``moment``."""

    def __init__(self, moment: str, fault: Callable[[], None]):
        self.moment, self.fault = moment, fault
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def __call__(self, message: str) -> None:
        if self.thread is None and message.startswith(self.moment):
            self.thread = threading.Thread(target=self._run, name="fault", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        try:
            self.fault()
        except BaseException as err:  # re-raised on the test's thread by joined()
            self.error = err

    def joined(self) -> None:
        assert self.thread is not None, f"the simulator never said {self.moment!r}: the fault was not injected"
        self.thread.join(timeout=180)
        assert not self.thread.is_alive(), "the fault never finished"
        if self.error is not None:
            raise self.error


def held(seconds: float, *evidence: Callable[[], bool]) -> Callable[[], bool]:
    """A probe for ``wait_until``: true once the fault has lasted ``seconds`` and every piece of evidence holds."""
    started = time.monotonic()
    return lambda: time.monotonic() - started >= seconds and all(probe() for probe in evidence)


def same_end_as(baseline: Baseline, cluster: Cluster, tap: str) -> None:
    """Nothing lost, the audit log agreeing with every service, and the baseline's end."""
    books = settle(cluster, tap)
    assert_nothing_lost(books)
    assert_audit_agrees({s: cluster.engine(s) for s in SERVICE_NAMES}, cluster.engine("audit"))
    auditor = cluster.token("auditor", "Kiểm toán viên")
    status, verdict = request("GET", f"{cluster.url('audit')}/audit/verify", auditor)
    assert (status, verdict["status"], verdict["entries"]) == (200, "intact", len(books.audited)), verdict
    state, expected = final_state(cluster), baseline.state
    assert (state.awards, state.total) == (expected.awards, expected.total)
    assert state.outcomes == expected.outcomes
    assert state.proposed == expected.proposed
    assert state.histories == expected.histories
    assert len(books.audited) == len(baseline.books.audited), "as many events as without the fault"


def committed_and_unsent(cluster: Cluster) -> tuple[int, int]:
    books = {s: cluster.engine(s) for s in SERVICE_NAMES}
    totals = [0, 0]
    for engine in books.values():
        with engine.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT count(*), count(*) FILTER (WHERE published_at IS NULL) FROM outbox"
            ).one()
        totals[0] += row[0]
        totals[1] += row[1]
    return totals[0], totals[1]


# -- the faults ------------------------------------------------------------------------------------------------


def test_a_consumer_killed_mid_campaign_and_restarted_loses_nothing(
    baseline: Baseline, make_cluster: Callable[..., Cluster]
) -> None:
    cluster = make_cluster()
    tap = cluster.tap()
    seen: dict[str, Any] = {}

    def kill_and_restart() -> None:
        seen["killed"] = cluster.kill("review-worker")
        wait_until(lambda: cluster.queue_depths()["review"] > 0, timeout=60, what="events waiting for review")
        seen["waiting"] = cluster.queue_depths()["review"]
        seen["restarted"] = cluster.restart("review-worker")

    fault = OnProgress(SECOND_DAY, kill_and_restart)
    play(cluster, fault)
    fault.joined()
    assert seen["killed"] != seen["restarted"] and seen["waiting"] > 0, seen
    same_end_as(baseline, cluster, tap)


def test_rabbitmq_stopped_mid_campaign_while_the_apis_keep_accepting_changes_loses_nothing(
    baseline: Baseline, make_cluster: Callable[..., Cluster]
) -> None:
    """The broker of the whole machine goes away for a few seconds; the outboxes keep what is committed."""
    cluster = make_cluster()
    tap = cluster.tap()
    seen: dict[str, Any] = {}

    def broker_outage() -> None:
        seen["before"], _ = committed_and_unsent(cluster)
        _rabbitmqctl("stop_app")
        try:
            wait_until(
                held(OUTAGE_SECONDS, lambda: committed_and_unsent(cluster)[0] > seen["before"]),
                timeout=60,
                interval=0.2,
                what="a change accepted while the broker is away",
            )
            seen["during"] = committed_and_unsent(cluster)
        finally:
            _rabbitmqctl("start_app")
            wait_until(_amqp_answers(cluster.broker_url), timeout=60, interval=0.5, what="RabbitMQ to answer again")

    fault = OnProgress(SECOND_DAY, broker_outage)
    play(cluster, fault)
    fault.joined()
    committed, unsent = seen["during"]
    assert committed > seen["before"] and unsent > 0, f"no write was accepted and kept during the outage: {seen}"
    same_end_as(baseline, cluster, tap)


def test_one_services_database_unavailable_for_seconds_answers_503_and_loses_nothing(
    baseline: Baseline, make_cluster: Callable[..., Cluster]
) -> None:
    """Audit's PostgreSQL goes away (its proxy cut) while every other service keeps sending it events.

    Its consumer is given two tries per message only, far less than the outage lasts: a database that is away
    is no fault of the messages, so none of them may be dead-lettered for it.
    """
    cluster = make_cluster(retry_attempts="2")
    tap = cluster.tap()
    proxy = cluster.through_proxy("audit")
    seen: dict[str, Any] = {}

    def database_outage() -> None:
        auditor = cluster.token("auditor", "Kiểm toán viên")  # signed on the day the campaign has reached
        proxy.cut()
        try:
            started = time.monotonic()
            seen["answer"] = request("GET", f"{cluster.url('audit')}/audit/entries?page_size=1", auditor, timeout=20)
            seen["answered_in"] = time.monotonic() - started
            wait_until(held(OUTAGE_SECONDS, lambda: proxy.refused > 0), timeout=60, what="the proxy to refuse")
            seen["refused"] = proxy.refused
        finally:
            proxy.restore()

    fault = OnProgress(SECOND_DAY, database_outage)
    play(cluster, fault)
    fault.joined()
    status, problem = seen["answer"]
    assert (status, problem["code"]) == (503, "database_unavailable"), seen["answer"]
    assert "thử lại" in problem["detail"] and seen["answered_in"] < 10, "a Vietnamese answer at once, not a hang"
    assert seen["refused"] > 0
    worker_log = cluster.processes["audit-worker"].log_path.read_text(encoding="utf-8")
    assert "failed (try 3)" in worker_log, "the audit consumer met the outage and went on trying past its limit"
    assert thidua("dead-letters", "list", "--json", env=cluster.env).stdout == "", "nothing was given up on"
    same_end_as(baseline, cluster, tap)


class Republisher:
    """Every event of the cluster published once more, after a random delay of up to two seconds, so copies
    arrive shuffled among later events: each event is delivered twice, and out of order. Runs on a thread."""

    COPY = "x-e2e-copy"

    def __init__(self, cluster: Cluster, seed: int = 7):
        self.cluster, self.rng = cluster, random.Random(seed)
        self.tap = cluster.tap("republisher")
        self.consumed: list[str] = []
        self.republished: list[str] = []
        self._due: list[tuple[float, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="republisher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with connect(self.cluster.broker_url) as conn:
            channel, producer = conn.default_channel, Producer(conn.channel())
            while not self._stop.is_set():
                message = channel.basic_get(self.tap)
                if message is not None:
                    if self.COPY not in (message.properties.get("application_headers") or {}):
                        self.consumed.append(message.properties["message_id"])
                        self._due.append((time.monotonic() + self.rng.uniform(0, 2), message))
                    channel.basic_ack(message.delivery_tag)
                now = time.monotonic()
                for entry in [e for e in self._due if e[0] <= now]:
                    self._due.remove(entry)
                    self._publish(producer, entry[1])
                if message is None:
                    self._stop.wait(0.02)

    def _publish(self, producer: Producer, message: Any) -> None:
        event = json.loads(message.body)
        producer.publish(
            message.body,
            exchange=self.cluster.topology.events,
            routing_key=event["type"],
            message_id=message.properties["message_id"],
            headers={self.COPY: "1"},
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,
        )
        self.republished.append(message.properties["message_id"])

    def finished(self) -> bool:
        return not self._due and len(self.republished) == len(self.consumed)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def test_every_event_delivered_twice_and_out_of_order_changes_nothing(
    baseline: Baseline, make_cluster: Callable[..., Cluster]
) -> None:
    cluster = make_cluster()
    tap = cluster.tap()
    republisher = Republisher(cluster)
    try:
        play(cluster)
        wait_until(
            lambda: (
                republisher.finished()
                and cluster.depth(republisher.tap) == 0
                and len(republisher.consumed) == committed_and_unsent(cluster)[0]
            ),
            timeout=180,
            interval=0.5,
            what="every event republished",
        )
    finally:
        republisher.stop()
    events = set(republisher.consumed)
    assert len(republisher.consumed) == len(events) == len(baseline.books.audited), "each original seen once"
    assert sorted(republisher.republished) == sorted(republisher.consumed), "each event published again"
    assert republisher.republished != republisher.consumed, "the copies went out in another order"
    on_the_wire = Counter(e["message_id"] for e in cluster.tapped(tap))
    assert set(on_the_wire.values()) == {2}, "every event reached the services twice"
    same_end_as(baseline, cluster, tap)


def test_poison_messages_on_every_queue_are_dead_lettered_with_their_reason_and_change_nothing(
    baseline: Baseline, make_cluster: Callable[..., Cluster]
) -> None:
    cluster = make_cluster()
    tap = cluster.tap()
    published: dict[str, str] = {}

    def poison() -> None:
        genuine = wait_until(lambda: cluster.tapped(tap), timeout=60, what="an event to imitate")[0]
        broken = {**genuine, "id": str(uuid.uuid4()), "payload": {}}  # a real envelope whose payload breaks its schema
        bodies = {
            "not-json": (b"{not json at all", "application/json"),
            "no-envelope": (json.dumps({"hello": "world"}).encode(), "application/json"),
            "bad-payload": (
                json.dumps({k: v for k, v in broken.items() if k != "message_id"}).encode(),
                "application/json",
            ),
        }
        with connect(cluster.broker_url) as conn:
            producer = Producer(conn.default_channel)
            for service in SERVICE_NAMES:
                for name, (body, content_type) in bodies.items():
                    message_id = f"poison-{name}-{service}"
                    producer.publish(
                        body,
                        exchange="",
                        routing_key=cluster.topology.queue_name(service),
                        message_id=message_id,
                        content_type=content_type,
                        content_encoding="utf-8",
                        delivery_mode=2,
                    )
                    published[message_id] = service

    fault = OnProgress(SECOND_DAY, poison)
    play(cluster, fault)
    fault.joined()
    same_end_as(baseline, cluster, tap)

    listed = thidua("dead-letters", "list", "--json", env=cluster.env).stdout.splitlines()
    letters = {letter["message_id"]: letter for letter in map(json.loads, listed)}
    assert set(letters) == set(published), "every poison message, and nothing else, was dead-lettered"
    for message_id, service in published.items():
        letter = letters[message_id]
        assert letter["service"] == service and letter["queue"] == cluster.topology.queue_name(service)
        assert letter["reason"], f"{message_id} was dead-lettered without a reason"
        assert letter["attempts"] == 1, "a message that cannot be read is not retried"
        undecodable = "undecodable" in letter["reason"]
        assert undecodable == message_id.startswith("poison-not-json"), letter["reason"]


def _rabbitmqctl(command: str) -> None:
    subprocess.run(["rabbitmqctl", command], check=True, capture_output=True, timeout=120)


def _amqp_answers(url: str) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            with connect(url) as conn:
                conn.ensure_connection(max_retries=1)
                conn.default_channel  # noqa: B018 - opening a channel proves the broker serves again
            return True
        except Exception:
            return False

    return probe
