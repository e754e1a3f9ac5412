"""RabbitMQ definitions of a :class:`~shared.bus.Topology`: what a broker imports at boot, made from the code.

``deploy/rabbitmq/definitions.json`` is this module's output (``thidua deploy rabbitmq-definitions``), and a test
keeps the committed file equal to it. Every value is read off the same kombu objects the processes declare, so a
broker set up from the file accepts their declarations: a queue declared again with other arguments would be
refused (``PRECONDITION_FAILED``) and every process would fail to start.

Besides the queue arguments, each service queue gets a policy with the same delivery limit and dead-lettering.
Arguments are fixed once a queue exists; a policy is what an operator sees in the management UI and can change
at run time. RabbitMQ applies the lower delivery limit of the two, and the argument's dead-letter target, so a
policy can tighten the guard but never loosen what the code relies on.
"""

from __future__ import annotations

import json
import re
from typing import Any

from kombu import Exchange, Queue

from shared.bus import Topology

# Queue arguments that have a policy equivalent (the policy key drops the ``x-``); ``x-queue-type`` has none.
POLICY_KEYS = ("x-delivery-limit", "x-dead-letter-exchange", "x-dead-letter-routing-key")


def rabbitmq_definitions(topology: Topology, vhost: str = "/") -> dict[str, Any]:
    """The vhost, exchanges, queues, bindings and policies of ``topology``; no users (they hold secrets)."""
    exchanges = [topology.events, topology.dead_letters]
    queues: list[Queue] = []
    bindings: list[dict[str, Any]] = []
    policies: list[dict[str, Any]] = []
    for service, keys in topology.bindings.items():
        queue = topology.queue(service)
        dead = topology.dead_letter_queue(service)
        queues += [queue, dead]
        bindings += [_binding(vhost, topology.events.name, queue.name, key) for key in keys]
        bindings.append(_binding(vhost, dead.exchange.name, dead.name, dead.routing_key))
        arguments = _queue_arguments(queue)
        policies.append(
            {
                "vhost": vhost,
                "name": queue.name,
                "pattern": f"^{re.escape(queue.name)}$",
                "apply-to": "queues",
                "priority": 0,
                "definition": {key.removeprefix("x-"): arguments[key] for key in POLICY_KEYS},
            }
        )
    return {
        "vhosts": [{"name": vhost}],
        "exchanges": [_exchange(vhost, exchange) for exchange in exchanges],
        "queues": [_queue(vhost, queue) for queue in queues],
        "bindings": bindings,
        "policies": policies,
    }


def _exchange(vhost: str, exchange: Exchange) -> dict[str, Any]:
    return {
        "name": exchange.name,
        "vhost": vhost,
        "type": exchange.type,
        "durable": exchange.durable,
        "auto_delete": exchange.auto_delete,
        "internal": False,
        "arguments": dict(exchange.arguments or {}),  # type: ignore[attr-defined]
    }


def _queue(vhost: str, queue: Queue) -> dict[str, Any]:
    return {
        "name": queue.name,
        "vhost": vhost,
        "durable": queue.durable,
        "auto_delete": queue.auto_delete,
        "arguments": _queue_arguments(queue),
    }


def _queue_arguments(queue: Queue) -> dict[str, Any]:
    # kombu sets its entities' attributes at run time, so its type hints do not know them.
    return dict(queue.queue_arguments or {})  # type: ignore[attr-defined]


def _binding(vhost: str, source: str, queue: str, routing_key: str) -> dict[str, Any]:
    return {
        "source": source,
        "vhost": vhost,
        "destination": queue,
        "destination_type": "queue",
        "routing_key": routing_key,
        "arguments": {},
    }


def definitions_json(topology: Topology, vhost: str = "/") -> str:
    """The definitions as the committed file holds them: indented, stable, ending with a newline."""
    return json.dumps(rabbitmq_definitions(topology, vhost), indent=2, ensure_ascii=False) + "\n"
