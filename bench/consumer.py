"""Events applied per second by a real service's consumer, on RabbitMQ and PostgreSQL.

    .venv/bin/python -m bench.consumer --events 2000

N ``dossier.submitted`` events of the catalogue (distinct dossiers of the 2021 campaign's units, as intake
publishes them) are put on the bus first; they wait in the review queue (bound to ``dossier.submitted``) and in
the audit queue (bound to everything). Then each service's own ``ServiceConsumer``, built by the service's runtime
as ``thidua worker`` builds it, is started and, once the broker has it on its queue (the bare pipeline, too, is
timed from its basic.consume), timed until it has applied all N: review opens a nomination per
event and emits ``nomination.received`` into its outbox; audit appends each to its hash chain. Each runs twice,
with batches of one (an event per transaction, as before batching) and with the configured batch, on fresh
events each time, the two interleaved over ``--rounds`` rounds so that a burst of load on a shared machine hits
both.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from kombu import Connection, Producer

from bench.rig import AMQP_URL, POSTGRES_URL, delete_queues, load, namespace, postgres_databases, rate
from services.bootstrap import System
from shared.campaigns import default_campaign
from shared.catalogue import CATALOGUE
from shared.consumer import ServiceConsumer
from shared.events import Actor, Event
from shared.settings import Settings

SERVICES = ("review", "audit")
STALL_SECONDS = 60
SUBMITTED_AT = datetime(2021, 12, 1, 2, 0, tzinfo=UTC)
REPORT = {
    "address": "Ấp Phú Hòa, xã Hòa Tân",
    "phone": "0277 3840 123",
    "structure": "Chủ tịch, 2 Phó Chủ tịch, 12 công chức chuyên môn",
    "staff_count": 23,
    "functions": "Quản lý nhà nước trên địa bàn xã",
    "achievements": "Tỷ lệ hồ sơ trực tuyến mức 4 đạt 72%",
    "measures": "Hướng dẫn người dân tại bộ phận một cửa",
}
COUNTS = {"online_case_files": 720, "total_case_files": 1000, "online_procedures": 30, "total_procedures": 50}


@dataclass
class Applied:
    service: str
    batch: int
    events: int
    seconds: float
    batches: int

    @property
    def per_second(self) -> float:
        return rate(self.events, self.seconds)


def submitted(n: int) -> Event:
    """The ``dossier.submitted`` intake publishes for a complete collective dossier."""
    units = default_campaign().units
    unit = units[n % len(units)].code
    dossier = str(uuid.uuid4())
    at = SUBMITTED_AT + timedelta(seconds=n)
    documents = [
        {
            "kind": kind,
            "version": 1,
            "sha256": f"{n:064x}",
            "size": 4096,
            "content_type": "application/pdf",
            "filename": f"{kind}.pdf",
            "uploaded_at": at,
        }
        for kind in ("to_trinh", "bien_ban", "bao_cao_thanh_tich", "danh_sach_tom_tat")
    ]
    payload = {
        "kind": "collective",
        "round": 1,
        "nominee": None,
        "report": REPORT,
        "self_assessment": COUNTS,
        "documents": documents,
        "submitted_at": at,
        "trigger": "submit",
        "from_state": "draft",
        "to_state": "submitted",
        "reason": None,
    }
    clerk = Actor(f"unit_clerk-{unit}", f"Văn thư {unit}", "unit_clerk", unit)
    return Event(
        type="dossier.submitted",
        version=1,
        occurred_at=at,
        producer="intake",
        actor=clerk,
        subject=dossier,
        payload=payload,
        campaign="chau-thanh-2021",
        unit=unit,
        correlation_id=str(uuid.uuid4()),
    )


def publish(system: System, count: int, start: int) -> None:
    """Put ``count`` events on the bus, then wait until the broker has them all (a confirm per 500)."""
    with Connection(system.settings.broker_url) as connection:
        channel = connection.default_channel
        producer = Producer(channel)
        for n in range(start, start + count):
            event = submitted(n)
            producer.publish(
                CATALOGUE.to_message(event),
                exchange=system.topology.events,
                routing_key=event.type,
                message_id=event.id,
                delivery_mode=2,
            )
        for service in SERVICES:
            queue = system.topology.queue_name(service)
            while channel.queue_declare(queue, passive=True).message_count < count:
                time.sleep(0.05)


def consume_all(system: System, service: str, count: int, batch: int) -> Applied:
    """Start the service's consumer on a thread, time it until it has applied ``count`` events, then stop it.

    A round that makes no progress for ``STALL_SECONDS`` fails with what the consumer, its queue and its inbox
    say, instead of waiting for ever; a consumer thread that outlives its stop fails the run, as it would take
    the next round's events."""
    consumer = system.runtimes[service].consumer()
    consumer.batch = min(batch, consumer.prefetch)
    thread = threading.Thread(target=consumer.run_until_stopped, kwargs={"poll_seconds": 0.05}, daemon=True)
    thread.start()
    try:
        # Timed from the moment the broker has the consumer on its queue, as the bare pipeline is timed from its
        # basic.consume: connecting and declaring the topology are a start-up cost, not a rate.
        wait_until_attached(system, service)
        started, before = time.perf_counter(), consumer.applied
        progress, moved = 0, time.monotonic()
        while consumer.applied < count:
            if consumer.dead_lettered:
                raise RuntimeError(f"{service} dead-lettered {consumer.dead_lettered} events; see its log")
            if consumer.applied + consumer.duplicates != progress:
                progress, moved = consumer.applied + consumer.duplicates, time.monotonic()
            elif time.monotonic() - moved > STALL_SECONDS:
                raise RuntimeError(f"{service} stalled: {stall_report(system, service, consumer)}")
            time.sleep(0.01)
        seconds = time.perf_counter() - started
    finally:
        consumer.should_stop = True
        thread.join(timeout=15)
        consumer.close()
        consumer.connection.release()
    if thread.is_alive():
        raise RuntimeError(f"{service}'s consumer did not stop; it would take the next round's events")
    return Applied(service, consumer.batch, count - before, seconds, consumer.batches)


def wait_until_attached(system: System, service: str) -> None:
    with Connection(system.settings.broker_url) as connection:
        channel, queue = connection.default_channel, system.topology.queue_name(service)
        deadline = time.monotonic() + STALL_SECONDS
        while not channel.queue_declare(queue, passive=True).consumer_count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{service}'s consumer did not attach to its queue")
            time.sleep(0.001)


def stall_report(system: System, service: str, consumer: ServiceConsumer) -> str:
    with Connection(system.settings.broker_url) as connection:
        waiting = connection.default_channel.queue_declare(system.topology.queue_name(service), passive=True)
    counts = system.runtimes[service].bus_counts()
    return (
        f"applied {consumer.applied}, duplicates {consumer.duplicates}, held for retry {consumer.held_for_retry}, "
        f"batches {consumer.batches}; queue: {waiting.message_count} ready, {waiting.consumer_count} consumers; "
        f"inbox {counts['inbox']}"
    )


def measure(
    count: int, batch: int, rounds: int = 2, amqp_url: str = AMQP_URL, postgres_url: str = POSTGRES_URL
) -> list[Applied]:
    space = namespace()
    with postgres_databases(space.replace("-", "_"), postgres_url) as template, TemporaryDirectory() as folder:
        settings = Settings.from_env(
            {},
            data_dir=Path(folder),
            database_url=template,
            broker_url=amqp_url,
            bus_namespace=space,
            log_level="WARNING",
        )
        system = System(settings, SERVICES)
        try:
            system.upgrade_databases()
            system.declare_topology()
            results = []
            for run, size in enumerate((1, batch) * rounds):  # interleaved, so a burst of load hits both
                publish(system, count, start=run * count)
                results += [consume_all(system, service, count, size) for service in SERVICES]
            return results
        finally:
            with Connection(amqp_url) as connection:
                delete_queues(connection, system.topology)
            system.stop()


def report(results: list[Applied], pipeline: float | None = None) -> None:
    print(f"events applied per second by one consumer ({load()})")
    print("| consumer | batch | events | seconds | events/s | mean batch | vs bare pipeline |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        ratio = f"{r.per_second / pipeline:.2f}×" if pipeline else "—"
        mean = r.events / r.batches if r.batches else 0
        print(
            f"| {r.service} | {r.batch} | {r.events:,} | {r.seconds:,.1f} | {r.per_second:,.0f} | {mean:,.1f} | "
            f"{ratio} |"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=32, help="The consumer's batch (at most its prefetch).")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pipeline", type=float, help="The bare pipeline's msgs/s, to print the ratio.")
    args = parser.parse_args(argv)
    report(measure(args.events, args.batch, args.rounds), args.pipeline)


if __name__ == "__main__":
    main()
