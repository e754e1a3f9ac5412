"""The audit service's own database: the append-only log of every event on the bus.

``seq`` is the arrival order, assigned by the appender from the head of the chain (see ``domain``), not by a
database sequence. Every filter the auditors use has an index ending in ``seq``, so a filtered page in either
order is an index range scan, however long the log grows. The migrations make the table refuse UPDATE and
DELETE (and TRUNCATE on PostgreSQL) with triggers.
"""

from __future__ import annotations

import sqlalchemy as sa

from shared.db import BigId, UtcDateTime, bus_tables, service_metadata

metadata = service_metadata()
bus = bus_tables(metadata)

entries = sa.Table(
    "entries",
    metadata,
    sa.Column("seq", BigId, primary_key=True, autoincrement=False),
    sa.Column("event_id", sa.String(36), nullable=False, unique=True),
    sa.Column("type", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("producer", sa.String(50), nullable=False),
    sa.Column("actor_id", sa.String(200), nullable=False),
    sa.Column("actor_name", sa.String(200), nullable=False),
    sa.Column("actor_role", sa.String(50), nullable=False),
    sa.Column("actor_unit", sa.Text),
    sa.Column("campaign", sa.Text),
    sa.Column("unit", sa.Text),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("dossier_id", sa.Text),
    sa.Column("correlation_id", sa.Text, nullable=False),
    sa.Column("causation_id", sa.Text),
    sa.Column("occurred_at", UtcDateTime(), nullable=False),
    sa.Column("recorded_at", UtcDateTime(), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_entries_subject", "subject", "seq"),
    sa.Index("ix_entries_dossier", "dossier_id", "seq"),
    sa.Index("ix_entries_unit", "unit", "seq"),
    sa.Index("ix_entries_actor", "actor_id", "seq"),
    sa.Index("ix_entries_role", "actor_role", "seq"),
    sa.Index("ix_entries_type", "type", "seq"),
    sa.Index("ix_entries_campaign", "campaign", "seq"),
    sa.Index("ix_entries_occurred", "occurred_at", "seq"),
    sa.Index("ix_entries_recorded", "recorded_at", "seq"),
)

ENTRY_COLUMNS = tuple(column.name for column in entries.columns)
