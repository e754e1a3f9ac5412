"""A service's consumer: every event applied once, acknowledged only after its effect committed.

- The envelope and payload are checked against the catalogue first; a message that fails is dead-lettered at
  once with the reason (retrying cannot mend it).
- The handler runs in a unit of work that also writes the event's inbox row; a redelivered event finds its row
  and is acknowledged without running the handler again.
- A handler that raises is tried again after a back-off that doubles each time. The message stays unacknowledged
  meanwhile and the consumer goes on with other messages, so one failing event does not stall the queue.
  After the last try it is published to the service's dead-letter queue with the reason, then acknowledged;
  while the service's database is unreachable there is no last try (the back-off stays at its longest).
- If the process dies at any point before the ack, the broker delivers the message again.

Messages are applied in batches: what the prefetch has delivered (up to ``batch`` messages) is applied in one
transaction, the batch's history, outbox and inbox rows inserted together (one INSERT per table), committed once,
and only then acknowledged (on RabbitMQ by one ack for the whole batch). A commit per event was the consumer's
ceiling; one per batch is not. The guarantees are those of one event at a time: if any event of a batch fails, or
the commit does, nothing of the batch is kept and its events are applied again one at a time, each with its own
retries; the inbox is read once inside the transaction and the batch's own applied events are added to what it
found, so the same event twice in one batch is applied once; events are applied in the order they were delivered.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kombu import Connection, Consumer, Producer
from kombu.message import Message
from kombu.mixins import ConsumerMixin

from shared.bus import PUBLISH_TIMEOUT, Topology, connect
from shared.clock import Clock
from shared.db import UnitOfWork, database_unreachable, plan_afresh
from shared.events import Catalogue, Event, InvalidEvent

log = logging.getLogger(__name__)

Handler = Callable[[Event, UnitOfWork], object]
Preparer = Callable[[Sequence[Event], UnitOfWork], object]
UnitOfWorkFactory = Callable[[Event | None], UnitOfWork]  # the cause; a batch's has none, each event its own

# Headers of a dead letter: enough for an operator to decide, and for a replay to find its way back.
DEAD_REASON = "x-thidua-reason"
DEAD_QUEUE = "x-thidua-queue"
DEAD_ATTEMPTS = "x-thidua-attempts"
DEAD_AT = "x-thidua-dead-lettered-at"

# How long a batch waits for the next message the broker has already sent: enough to read what is in the
# socket, short enough that a lone event is not held back.
GATHER_SECONDS = 0.002


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0

    def delay(self, failed_attempts: int) -> float:
        return float(min(self.backoff_seconds * 2 ** (failed_attempts - 1), self.max_backoff_seconds))


@dataclass(frozen=True)
class Subscription:
    """What a service consumes: a handler per event type, and optionally one for every other type; and optionally
    what to read at once for a batch before its events are applied one by one (what the handlers would otherwise
    each ask the database for, e.g. with :meth:`UnitOfWork.preload`)."""

    handlers: Mapping[str, Handler]
    fallback: Handler | None = None
    prepare: Preparer | None = None
    # How long a batch may wait in all for more events before it is applied; none by default: a lone event is
    # applied at once. A service nobody waits on (audit) gives its batches time to fill while events trickle in,
    # so that a transaction's fixed cost (its reads, its commit) is paid once for many events.
    linger_seconds: float = 0.0

    @property
    def routing_keys(self) -> tuple[str, ...]:
        return ("#",) if self.fallback else tuple(sorted(self.handlers))

    def handler_for(self, event_type: str) -> Handler | None:
        return self.handlers.get(event_type, self.fallback)


@dataclass(order=True)
class _Retry:
    due: float
    seq: int
    attempt: int
    message: Message = None  # type: ignore[assignment]
    event: Event = None  # type: ignore[assignment]


class ServiceConsumer(ConsumerMixin):
    def __init__(
        self,
        service: str,
        connection: Connection,
        topology: Topology,
        catalogue: Catalogue,
        subscription: Subscription,
        unit_of_work: UnitOfWorkFactory,
        clock: Clock,
        *,
        policy: RetryPolicy = RetryPolicy(),
        prefetch: int = 32,
        batch: int = 32,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.service = service
        self.connection = connection
        self.topology = topology
        self.catalogue = catalogue
        self.subscription = subscription
        self.unit_of_work = unit_of_work
        self.clock = clock
        self.policy = policy
        self.prefetch = prefetch
        self.batch = min(batch, prefetch)
        self.monotonic = monotonic
        self._retries: list[_Retry] = []
        self._seq = itertools.count()
        self._publisher: Connection | None = None
        self._consuming: Connection | None = None
        self._gathered: list[tuple[Event, Message]] = []
        self._ack_batches = connection.transport.driver_type == "amqp"
        self.applied = 0
        self.duplicates = 0
        self.dead_lettered = 0
        self.batches = 0
        self.largest_batch = 0

    @property
    def held_for_retry(self) -> int:
        """Messages held unacknowledged until their next try."""
        return len(self._retries)

    # -- kombu wiring ---------------------------------------------------------------------------------------

    def get_consumers(self, consumer_cls: Callable[..., Consumer], channel: Any) -> list[Consumer]:
        self.topology.declare(self.connection)
        return [
            consumer_cls(
                queues=[self.topology.queue(self.service)],
                callbacks=[self.on_message],
                accept=["json"],
                prefetch_count=self.prefetch,
            )
        ]

    def on_connection_revived(self) -> None:
        # Unacknowledged messages of a lost connection come back from the broker; forget their retries.
        self._retries.clear()
        self._gathered.clear()

    def on_consume_ready(self, connection: Connection, channel: Any, consumers: list[Consumer], **kwargs: Any) -> None:
        self._consuming = connection  # the mixin's own clone of ``self.connection``, where deliveries arrive

    def consume(self, *args: Any, **kwargs: Any) -> Iterator[None]:
        """The mixin's loop, and after each delivery: gather what else has arrived, then apply it as one batch.
        Nothing stays gathered between two turns of the loop, so stopping never strands a message."""
        for _ in super().consume(*args, **kwargs):
            self._gather()
            self._apply_gathered()
            yield

    def on_iteration(self) -> None:
        self._run_due_retries()

    def on_decode_error(self, message: Message, exc: Exception) -> None:
        self._dead_letter(message, f"undecodable message: {exc}", attempts=1)

    def run_until_stopped(self, poll_seconds: float = 0.1) -> None:
        """Consume until :attr:`should_stop` is set; short polls keep retries close to their due time."""
        self.run(safety_interval=poll_seconds)

    # -- one message ----------------------------------------------------------------------------------------

    def on_message(self, body: Any, message: Message) -> None:
        try:
            event = self.catalogue.from_message(body, accept_unknown=self.subscription.fallback is not None)
        except InvalidEvent as err:
            self._dead_letter(message, str(err), attempts=1)
            return
        if self.subscription.handler_for(event.type) is None:
            self._dead_letter(message, f"{self.service} has no handler for {event.type}", attempts=1)
            return
        self._gathered.append((event, message))

    def _gather(self) -> None:
        until = self.monotonic() + self.subscription.linger_seconds
        while self._gathered and len(self._gathered) < self.batch and self._consuming is not None:
            try:
                self._consuming.drain_events(timeout=max(GATHER_SECONDS, until - self.monotonic()))
            except TimeoutError:
                return

    def _apply_gathered(self) -> None:
        gathered, self._gathered = self._gathered, []
        if not gathered:
            return
        self.batches += 1
        self.largest_batch = max(self.largest_batch, len(gathered))
        try:
            outcomes = self.apply_batch([event for event, _ in gathered])
        except Exception as err:  # nothing of the batch is kept
            if len(gathered) == 1:
                self._failed(*gathered[0], 1, err)
                return
            log.info("%s: a batch of %d failed, applying it one by one: %s", self.service, len(gathered), err)
            for event, message in gathered:
                self._attempt(event, message, attempt=1)
            return
        self._acknowledge([message for _, message in gathered])
        self.applied += sum(outcomes)
        self.duplicates += len(outcomes) - sum(outcomes)
        self._run_due_retries()

    def _acknowledge(self, batch: list[Message]) -> None:
        """Acknowledge a committed batch. On RabbitMQ one ack with ``multiple`` covers it (a third of the broker's
        work of an ack each): it acknowledges every delivery of the channel up to the batch's last, and those are
        the batch's own unless a message delivered before it is held for a retry. kombu's memory transport ignores
        ``multiple``: an ack each there."""
        if self._retries or not self._ack_batches:
            for message in batch:
                message.ack()
        else:
            batch[-1].ack(multiple=True)

    def apply_batch(self, events: list[Event]) -> list[bool]:
        """Apply ``events`` in one transaction and commit once; per event, True when applied and False when the
        inbox shows it was applied before. An event that fails raises, and nothing of the batch is kept.

        The inbox is read once for the batch, inside its transaction; an event applied earlier in the same batch
        (delivered twice) is known from that, as its inbox row is only written at the commit."""
        outcomes: list[bool] = []
        with self.unit_of_work(None) as uow:
            plan_afresh(uow.session)
            handled = uow.handled_among(events)
            if self.subscription.prepare is not None:
                self.subscription.prepare([event for event in events if event.id not in handled], uow)
            for event in events:
                handler = self.subscription.handler_for(event.type)
                assert handler is not None
                if event.id in handled:
                    outcomes.append(False)
                    continue
                with uow.applying(event):
                    handler(event, uow)
                handled.add(event.id)
                outcomes.append(True)
            uow.commit()
        return outcomes

    def apply(self, event: Event) -> bool:
        """Apply ``event`` once: False when the inbox shows it was applied before."""
        handler = self.subscription.handler_for(event.type)
        assert handler is not None
        with self.unit_of_work(event) as uow:
            plan_afresh(uow.session)
            if uow.already_handled(event):
                return False
            handler(event, uow)
            uow.commit()
        return True

    def _attempt(self, event: Event, message: Message, attempt: int) -> None:
        try:
            applied = self.apply(event)
        except Exception as err:
            self._failed(event, message, attempt, err)
            return
        message.ack()
        if applied:
            self.applied += 1
        else:
            self.duplicates += 1

    def _failed(self, event: Event, message: Message, attempt: int, err: Exception) -> None:
        """Try ``event`` again after a back-off, or dead-letter it after the last try.

        A database that is away is no fault of the message: it is tried again for as long as that lasts, rather
        than using up its tries and being dead-lettered with nothing wrong with it.
        """
        if attempt >= self.policy.attempts and not database_unreachable(err):
            log.error("%s: %s %s failed %d times, dead-lettering: %s", self.service, event.type, event.id, attempt, err)
            self._dead_letter(message, f"{type(err).__name__}: {err}", attempts=attempt)
            return
        delay = self.policy.delay(attempt)
        log.warning(
            "%s: %s %s failed (try %d), again in %.2fs: %s", self.service, event.type, event.id, attempt, delay, err
        )
        heapq.heappush(self._retries, _Retry(self.monotonic() + delay, next(self._seq), attempt + 1, message, event))

    def _run_due_retries(self) -> None:
        while self._retries and self._retries[0].due <= self.monotonic():
            retry = heapq.heappop(self._retries)
            self._attempt(retry.event, retry.message, retry.attempt)

    def _dead_letter(self, message: Message, reason: str, attempts: int) -> None:
        """Park the message with its reason in the service's dead-letter queue, then let the original go."""
        headers = dict(message.headers or {})
        headers.update(
            {
                DEAD_REASON: reason[:2000],
                DEAD_QUEUE: self.topology.queue_name(self.service),
                DEAD_ATTEMPTS: attempts,
                DEAD_AT: self.clock.now().isoformat(),
            }
        )
        properties = message.properties or {}
        self._producer().publish(
            message.body,
            exchange=self.topology.dead_letters,
            routing_key=self.service,
            headers=headers,
            message_id=properties.get("message_id"),
            content_type=message.content_type or "application/octet-stream",
            content_encoding=message.content_encoding or "binary",
            delivery_mode=2,
            retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0.5, "interval_step": 1.0},
            timeout=PUBLISH_TIMEOUT,
            confirm_timeout=PUBLISH_TIMEOUT,
        )
        message.ack()
        self.dead_lettered += 1

    def _producer(self) -> Producer:
        # Its own connection: waiting for a confirm on the consuming connection could run the next delivery
        # inside this one.
        if self._publisher is None:
            self._publisher = connect(self.connection.as_uri(include_password=True))
        return Producer(self._publisher.default_channel)

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.release()
            self._publisher = None
