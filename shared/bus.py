"""The bus: where events go, declared in one place, the same on RabbitMQ and on kombu's in-memory transport.

- one durable topic exchange ``<namespace>.events``; the routing key is the event type;
- per service a durable queue ``<namespace>.<service>`` (a quorum queue on RabbitMQ) bound to the event types
  it handles, and a dead-letter queue ``<namespace>.<service>.dead-letters`` behind the direct exchange
  ``<namespace>.dead-letters`` (routing key: the service);
- retries and replays go straight to one service's queue through the default exchange, never back through the
  topic exchange, so the other services do not see them twice.

Every process declares the whole topology when it connects (declarations are idempotent), so no event is
published before the queues that must keep it exist.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from kombu import Connection, Exchange, Producer, Queue

T = TypeVar("T")

# RabbitMQ gives up on a message redelivered this often (a consumer that crashes on it each time) and
# dead-letters it; the consumer's own retry limit normally acts long before.
BROKER_DELIVERY_LIMIT = 20

# Longest wait for the broker to take and confirm one publish; a silent broker must not hang a relay.
PUBLISH_TIMEOUT = 10.0


@dataclass(frozen=True)
class Topology:
    """The exchanges and queues of a deployment; ``namespace`` keeps deployments (and tests) apart."""

    bindings: Mapping[str, tuple[str, ...]]
    namespace: str = "thidua"

    @classmethod
    def of(cls, bindings: Mapping[str, Iterable[str]], namespace: str = "thidua") -> Topology:
        return cls({service: tuple(sorted(keys)) for service, keys in bindings.items()}, namespace)

    @property
    def events(self) -> Exchange:
        return Exchange(f"{self.namespace}.events", type="topic", durable=True)

    @property
    def dead_letters(self) -> Exchange:
        return Exchange(f"{self.namespace}.dead-letters", type="direct", durable=True)

    def queue_name(self, service: str) -> str:
        return f"{self.namespace}.{service}"

    def queue(self, service: str) -> Queue:
        return Queue(
            self.queue_name(service),
            durable=True,
            queue_arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": BROKER_DELIVERY_LIMIT,
                "x-dead-letter-exchange": self.dead_letters.name,
                "x-dead-letter-routing-key": service,
            },
        )

    def dead_letter_queue(self, service: str) -> Queue:
        return Queue(
            f"{self.namespace}.{service}.dead-letters",
            exchange=self.dead_letters,
            routing_key=service,
            durable=True,
            queue_arguments={"x-queue-type": "quorum"},
        )

    def declare(self, connection: Connection) -> None:
        """Declare every exchange, queue and binding; safe to repeat."""
        channel = connection.default_channel
        self.events(channel).declare()
        self.dead_letters(channel).declare()
        for service, keys in self.bindings.items():
            queue = self.queue(service)(channel)
            queue.declare()
            for key in keys:
                queue.bind_to(exchange=self.events, routing_key=key)
            self.dead_letter_queue(service)(channel).declare()


def connect(url: str, *, confirm_each: bool = True, timeout: float | None = None, heartbeat: int = 30) -> Connection:
    """A kombu connection that waits for the broker's confirm of every publish (RabbitMQ), unless the caller waits
    for a batch's confirms itself (:class:`BatchPublisher`); with ``timeout``, no read or write on it waits longer
    (a probe must answer, not wait on a broker that went silent); ``heartbeat`` 0 asks for none."""
    if url.startswith("memory://"):
        # The memory transport polls; the default second would make every hop a second late. It has no host,
        # but kombu warns on every connection without one.
        return Connection("memory://localhost/", transport_options={"polling_interval": 0.01})
    options: dict[str, Any] = {"confirm_publish": confirm_each}
    if timeout is not None:
        options |= {"read_timeout": timeout, "write_timeout": timeout}
    return Connection(url, transport_options=options, heartbeat=heartbeat, connect_timeout=timeout or 5)


# Longest a health probe waits on the broker for one step (connect, a reply): within a Kubernetes probe's timeout.
PROBE_TIMEOUT = 2.0


class BrokerProbe:
    """The broker asked on behalf of the health routes and the bus counts, on one connection the process keeps.

    A readiness probe every few seconds per process would otherwise open and close a connection each time, and
    write both in the broker's log. The kept connection asks for no heartbeats: it is idle between probes, which
    may come rarely (an operator's curl), and nobody would send them, so RabbitMQ would close it and log the missed
    heartbeats as an error. It can still be lost unseen (the broker restarted), so a question that fails for its
    connection is asked once more on a new one before the failure is reported. Probes come from a server's threads,
    and a kombu connection is not shared, so they take turns.
    """

    def __init__(self, url: str):
        self.url = url
        self.opened = 0  # connections opened so far
        self._lock = threading.Lock()
        self._connection: Connection | None = None

    def ask(self, question: Callable[[Connection], T]) -> T:
        """``question``'s answer on the kept connection; raises when the broker does not answer a fresh one either."""
        with self._lock:
            connection = self._open()
            try:
                return question(connection)
            except connection.connection_errors:  # not the question's own failure (a missing queue): the connection's
                self._drop()
            return question(self._open())

    def problem(self) -> str | None:
        """None when the broker answers (a channel opened and closed), else why not."""
        try:
            self.ask(lambda connection: connection.channel().close())
        except Exception as err:
            return f"{type(err).__name__}: {err}"[:300]
        return None

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _open(self) -> Connection:
        if self._connection is None:
            connection = connect(self.url, timeout=PROBE_TIMEOUT, heartbeat=0)
            self.opened += 1
            try:
                connection.ensure_connection(max_retries=1, interval_start=0, timeout=PROBE_TIMEOUT)
            except Exception:
                connection.release()
                raise
            self._connection = connection
        return self._connection

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # a lost connection may fail to close
                connection.release()


class Unconfirmed(Exception):
    """The broker refused a message of the batch, or did not confirm it in time: the batch is not sent."""


class BatchPublisher:
    """Publishes a batch of messages, then waits once until the broker has confirmed every one of them.

    py-amqp's ``confirm_publish`` waits for the broker's ack after each message: a round trip and a quorum-queue
    write per message. Here the channel is put in confirm mode and the messages go out back to back; the broker
    numbers them (delivery tags from 1 on the channel) and acks them, often many at once (``multiple``). The batch
    counts as sent only when the highest tag is acked; a nack or the timeout raises :class:`Unconfirmed`. The
    memory transport has no confirms: a publish there is in the queue when it returns.
    """

    def __init__(self, url: str):
        self.connection = connect(url, confirm_each=False)
        self.connection.ensure_connection(max_retries=1)
        channel: Any = self.connection.default_channel  # py-amqp's channel on RabbitMQ: confirm mode, its events
        self.producer = Producer(channel)
        self._confirms = self.connection.transport.driver_type == "amqp"
        self._published = 0
        self._unconfirmed: set[int] = set()
        self._refused: int | None = None
        if self._confirms:
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)

    def publish(self, body: str, **options: object) -> None:
        self.producer.publish(body, retry=False, timeout=PUBLISH_TIMEOUT, **options)
        self._published += 1
        if self._confirms:
            self._unconfirmed.add(self._published)

    def wait_for_confirms(self, timeout: float = PUBLISH_TIMEOUT) -> None:
        """Return once everything published so far is confirmed; raise :class:`Unconfirmed` otherwise."""
        if not self._confirms:
            return
        deadline = time.monotonic() + timeout
        while self._unconfirmed and self._refused is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Unconfirmed(f"{len(self._unconfirmed)} messages unconfirmed after {timeout}s")
            try:
                self.connection.drain_events(timeout=left)
            except TimeoutError:
                continue
        if self._refused is not None:
            raise Unconfirmed(f"the broker refused delivery {self._refused}")

    def _on_ack(self, tag: int, multiple: bool) -> None:
        if multiple:
            self._unconfirmed = {waiting for waiting in self._unconfirmed if waiting > tag}
        else:
            self._unconfirmed.discard(tag)

    def _on_nack(self, tag: int, multiple: bool) -> None:
        self._refused = tag

    def release(self) -> None:
        self.connection.release()
