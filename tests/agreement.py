"""What the audit log must agree with, read straight from each service's own database.

Every event a service committed to its outbox is in the log exactly once under the same type and subject, and
every transition a service recorded in its own history is there under the same event, subject, trigger and
states. The integration tier checks it on one process, the end-to-end tier on a cluster of processes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa


def outbox_events(engine: sa.Engine) -> dict[str, tuple[str, str]]:
    """Every event the service committed: id → (type, subject)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT event_id, body FROM outbox")).all()
    return {row.event_id: (json.loads(row.body)["type"], json.loads(row.body)["subject"]) for row in rows}


def transitions(engine: sa.Engine) -> list[sa.Row[Any]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT * FROM transitions ORDER BY id")).all())


def audit_entries(engine: sa.Engine) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Every entry of the audit log: event id → (type, subject, payload)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT event_id, type, subject, payload FROM entries")).all()
    return {row.event_id: (row.type, row.subject, json.loads(row.payload)) for row in rows}


def assert_audit_agrees(services: Mapping[str, sa.Engine], audit: sa.Engine) -> int:
    """The audit log agrees with every service's outbox and transitions; return how many events were checked."""
    entries = audit_entries(audit)
    checked = 0
    for name, engine in services.items():
        for event_id, (type_, subject) in outbox_events(engine).items():
            assert event_id in entries, f"{name} {type_} {event_id} is not in the audit log"
            assert entries[event_id][:2] == (type_, subject), f"{name} {type_} {event_id}"
            checked += 1
        for row in transitions(engine):
            type_, subject, payload = entries[row.event_id]
            assert subject == row.subject_id
            assert (payload["trigger"], payload["from_state"], payload["to_state"]) == (
                row.trigger,
                row.from_state,
                row.to_state,
            ), f"{name} {type_} {row.event_id}"
    return checked
