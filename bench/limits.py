"""The raw limits of the stack on this machine: what RabbitMQ and PostgreSQL give a program written by hand.

    .venv/bin/python -m bench.limits --messages 5000

- **publish, a confirm per message**: what the outbox relay did before batching (kombu with ``confirm_publish``,
  where py-amqp waits for the broker's ack after every ``basic_publish``);
- **publish, a confirm per batch**: the channel in confirm mode, a batch published, then one wait until the broker
  acknowledged every delivery tag of it (RabbitMQ's ack may cover many with ``multiple``), as the relay now does;
- **consume with acks**: the messages already queued, prefetch 32, one ack per message;
- **one commit per message**: a small INSERT and a COMMIT each, psycopg alone;
- **the bare pipeline**: consume → INSERT + COMMIT → publish with a confirm → ack, one message at a time: the
  ceiling of a correct event consumer written by hand, without an inbox, a catalogue or an ORM.

Queues are quorum queues and messages persistent, as the project's are; everything is deleted at the end.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.message import Message
from sqlalchemy.engine import make_url

from bench.rig import AMQP_URL, POSTGRES_URL, SAMPLE_EVENT, load, postgres_databases, rate
from shared.bus import BatchPublisher
from shared.migrations import ensure_database

PREFETCH = 32


@dataclass
class Limits:
    publish_each: float
    publish_batched: float
    consume: float
    commits: float
    pipeline: float

    def rows(self) -> list[tuple[str, float]]:
        return [
            ("publish, confirm per message (msgs/s)", self.publish_each),
            ("publish, confirm per batch (msgs/s)", self.publish_batched),
            ("consume with acks (msgs/s)", self.consume),
            ("PostgreSQL, one INSERT + COMMIT each (commits/s)", self.commits),
            ("bare pipeline consume→commit→publish+confirm→ack (msgs/s)", self.pipeline),
        ]


class Wire:
    """A quorum queue behind a topic exchange of its own, as the project's queues are."""

    def __init__(self, connection: Connection, name: str):
        self.exchange = Exchange(f"{name}.x", type="topic", durable=True)
        self.queue = Queue(
            name,
            exchange=self.exchange,
            routing_key="#",
            durable=True,
            queue_arguments={"x-queue-type": "quorum"},
        )
        self.queue(connection.default_channel).declare()

    def delete(self, connection: Connection) -> None:
        connection.default_channel.queue_delete(self.queue.name)
        connection.default_channel.exchange_delete(self.exchange.name)


def confirming(url: str) -> Connection:
    """py-amqp then waits for the broker's ack after each publish."""
    return Connection(url, transport_options={"confirm_publish": True})


def publish_each(url: str, wire: Wire, count: int) -> float:
    with confirming(url) as connection:
        producer = Producer(connection.default_channel)
        started = time.perf_counter()
        for n in range(count):
            producer.publish(
                SAMPLE_EVENT, exchange=wire.exchange, routing_key="dossier.submitted", message_id=str(n),
                content_type="application/json", content_encoding="utf-8", delivery_mode=2,
            )  # fmt: skip
        return rate(count, time.perf_counter() - started)


def publish_batched(url: str, wire: Wire, count: int, batch: int) -> float:
    """The relay's own publisher (``shared.bus.BatchPublisher``): a thin layer over py-amqp's confirm mode."""
    publisher = BatchPublisher(url)
    try:
        started = time.perf_counter()
        for n in range(count):
            publisher.publish(
                SAMPLE_EVENT, exchange=wire.exchange, routing_key="dossier.submitted", message_id=str(n),
                content_type="application/json", content_encoding="utf-8", delivery_mode=2,
            )  # fmt: skip
            if (n + 1) % batch == 0 or n + 1 == count:
                publisher.wait_for_confirms()
        return rate(count, time.perf_counter() - started)
    finally:
        publisher.release()


def consume(url: str, wire: Wire, count: int, on_each: Callable[[Message], None] | None = None) -> float:
    """Consume ``count`` queued messages with prefetch 32; ``on_each`` runs before each ack."""
    done = {"n": 0}

    def handle(body: object, message: Message) -> None:
        if on_each is not None:
            on_each(message)
        message.ack()
        done["n"] += 1

    with Connection(url) as connection:
        consumer = Consumer(
            connection.default_channel, queues=[wire.queue], callbacks=[handle], accept=["json"],
            prefetch_count=PREFETCH,
        )  # fmt: skip
        with consumer:
            started = time.perf_counter()
            while done["n"] < count:
                connection.drain_events(timeout=10)
            return rate(count, time.perf_counter() - started)


def commits(database_url: str, count: int) -> float:
    with psycopg.connect(database_url) as db:
        db.execute("CREATE TABLE IF NOT EXISTS applied (id text PRIMARY KEY, body text NOT NULL)")
        db.commit()
        started = time.perf_counter()
        for _ in range(count):
            db.execute("INSERT INTO applied (id, body) VALUES (%s, %s)", (str(uuid.uuid4()), SAMPLE_EVENT))
            db.commit()
        return rate(count, time.perf_counter() - started)


def pipeline(url: str, database_url: str, source: Wire, sink: Wire, count: int) -> float:
    """Consume each message, commit its row, publish the next event with a confirm, then ack."""
    with psycopg.connect(database_url) as db, confirming(url) as out:
        producer = Producer(out.default_channel)

        def apply(message: Message) -> None:
            db.execute("INSERT INTO applied (id, body) VALUES (%s, %s)", (str(uuid.uuid4()), message.body))
            db.commit()
            producer.publish(
                SAMPLE_EVENT, exchange=sink.exchange, routing_key="dossier.received", message_id=str(uuid.uuid4()),
                content_type="application/json", content_encoding="utf-8", delivery_mode=2,
            )  # fmt: skip

        return consume(url, source, count, on_each=apply)


def measure(count: int, batch: int = 200, amqp_url: str = AMQP_URL, postgres_url: str = POSTGRES_URL) -> Limits:
    name = f"bench-limits-{uuid.uuid4().hex[:8]}"
    with postgres_databases(name.replace("-", "_"), postgres_url) as template, Connection(amqp_url) as admin:
        database = template.format(service="limits")
        ensure_database(database)
        dsn = make_url(database).set(drivername="postgresql").render_as_string(hide_password=False)
        source, sink = Wire(admin, f"{name}.in"), Wire(admin, f"{name}.out")
        try:
            each = publish_each(amqp_url, source, count)
            batched = publish_batched(amqp_url, source, count, batch)
            consumed = consume(amqp_url, source, 2 * count)
            committed = commits(dsn, count)
            publish_batched(amqp_url, source, count, batch)
            piped = pipeline(amqp_url, dsn, source, sink, count)
        finally:
            source.delete(admin)
            sink.delete(admin)
    return Limits(each, batched, consumed, committed, piped)


def report(limits: Limits, count: int) -> None:
    print(f"raw limits of the stack ({count:,} messages each; {load()})")
    print("| limit | per second |")
    print("|---|---:|")
    for label, value in limits.rows():
        print(f"| {label} | {value:,.0f} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=200, help="Messages per confirm wait (the relay's batch).")
    args = parser.parse_args(argv)
    report(measure(args.messages, args.batch), args.messages)


if __name__ == "__main__":
    main()
