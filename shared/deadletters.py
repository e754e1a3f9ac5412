"""Dead letters: list them with their reasons, and replay them into the queue they came from.

Listing takes every message of a dead-letter queue and puts each back, so it changes nothing. Replay publishes a
message (with the broker's confirm) to its service's queue through the default exchange, so only that service
sees it again, and only then removes it from the dead letters.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass

from kombu import Connection, Producer
from kombu.message import Message

from shared.bus import PUBLISH_TIMEOUT, Topology
from shared.consumer import DEAD_AT, DEAD_ATTEMPTS, DEAD_QUEUE, DEAD_REASON


@dataclass(frozen=True)
class DeadLetter:
    service: str
    message_id: str | None
    event_type: str | None
    reason: str
    attempts: int
    dead_lettered_at: str
    queue: str

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def list_dead_letters(connection: Connection, topology: Topology, service: str) -> list[DeadLetter]:
    messages = _take_all(connection, topology, service)
    try:
        return [_describe(service, topology, message) for message in messages]
    finally:
        for message in messages:
            message.requeue()


def count_dead_letters(connection: Connection, topology: Topology, service: str) -> int:
    """How many messages wait in the service's dead-letter queue, read without taking any (a passive declare)."""
    channel = connection.channel()
    try:
        _, count, _ = channel.queue_declare(queue=topology.dead_letter_queue(service).name, passive=True)
    finally:
        channel.close()
    return int(count)


def replay_dead_letters(
    connection: Connection, topology: Topology, service: str, message_ids: Collection[str] | None = None
) -> list[DeadLetter]:
    """Replay the dead letters of ``service`` (those with ``message_ids``, or all); return the replayed ones."""
    messages = _take_all(connection, topology, service)
    producer = Producer(connection.channel())
    replayed: list[DeadLetter] = []
    try:
        for message in messages:
            letter = _describe(service, topology, message)
            if message_ids is not None and letter.message_id not in message_ids:
                continue
            headers = {k: v for k, v in (message.headers or {}).items() if not k.startswith("x-thidua-")}
            producer.publish(
                message.body,
                exchange="",
                routing_key=letter.queue,
                headers=headers,
                message_id=letter.message_id,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                delivery_mode=2,
                retry=True,
                timeout=PUBLISH_TIMEOUT,
                confirm_timeout=PUBLISH_TIMEOUT,
            )
            message.ack()
            replayed.append(letter)
    finally:
        for message in messages:
            if not message.acknowledged:
                message.requeue()
        producer.channel.close()
    return replayed


def _take_all(connection: Connection, topology: Topology, service: str) -> list[Message]:
    topology.declare(connection)
    queue = topology.dead_letter_queue(service)(connection.default_channel)
    messages: list[Message] = []
    while (message := queue.get(no_ack=False, accept=None)) is not None:
        messages.append(message)
    return messages


def _describe(service: str, topology: Topology, message: Message) -> DeadLetter:
    headers = message.headers or {}
    return DeadLetter(
        service=service,
        message_id=(message.properties or {}).get("message_id"),
        event_type=_event_type(message.body),
        reason=str(headers.get(DEAD_REASON, headers.get("x-first-death-reason", "unknown"))),
        attempts=int(headers.get(DEAD_ATTEMPTS, 0)),
        dead_lettered_at=str(headers.get(DEAD_AT, "")),
        queue=str(headers.get(DEAD_QUEUE) or topology.queue_name(service)),
    )


def _event_type(body: bytes | str) -> str | None:
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return None
    return data.get("type") if isinstance(data, dict) else None
