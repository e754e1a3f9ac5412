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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kombu import Connection, Exchange, Queue

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


def connect(url: str) -> Connection:
    """A kombu connection that waits for the broker's confirm of every publish (RabbitMQ)."""
    if url.startswith("memory://"):
        # The memory transport polls; the default second would make every hop a second late. It has no host,
        # but kombu warns on every connection without one.
        return Connection("memory://localhost/", transport_options={"polling_interval": 0.01})
    return Connection(url, transport_options={"confirm_publish": True}, heartbeat=30, connect_timeout=5)
