"""The bare Flask + SQLAlchemy app the submit route is compared with, three routes written by hand:

- ``/dossiers/<id>/submit``, **the bare insert**: one INSERT of a row the size of a submitted dossier, one COMMIT,
  a small JSON answer. No token, no schema, no state machine, no outbox.
- ``/least/dossiers/<id>/submit``, **the least a submit must do**, as the statements the project's unit of work
  makes, in SQLAlchemy Core: read the dossier's state and version, UPDATE it to submitted with the version check
  (the loser of a race changes nothing), INSERT its history row and its event's outbox row (the event leaves only
  if the change is committed), one COMMIT, a small JSON answer. Still no token, no schema check of the event, no
  state machine, and nobody publishes the outbox's rows.
- ``/least-in-one/dossiers/<id>/submit``, **the same in one statement**: a PostgreSQL CTE that updates the draft,
  inserts the history row and builds the event's body in SQL for the outbox row, then COMMIT. This is how far a
  submit written in SQL could go: its rules and its event would live in the statement, outside the state machine
  and the catalogue.

Served by gunicorn exactly as ``thidua serve`` serves a service (gthread, 4 threads per worker, access log on
stdout), with its database at ``BENCH_BARE_DATABASE_URL`` (PostgreSQL); :func:`reset_drafts` writes the drafts the
two last routes submit:

    BENCH_BARE_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_bare \\
        .venv/bin/gunicorn -k gthread --threads 4 -w 1 --access-logfile - 'bench.bare_app:create_app()'
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask

metadata = sa.MetaData()
submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("contents", sa.Text, nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
)
dossiers = sa.Table(
    "dossiers",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("contents", sa.JSON, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True)),
)
history = sa.Table(
    "history",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subject_id", sa.String(36), nullable=False),
    sa.Column("from_state", sa.String(20), nullable=False),
    sa.Column("to_state", sa.String(20), nullable=False),
    sa.Column("actor_id", sa.String(200), nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("event_id", sa.String(36), nullable=False),
)
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(36), nullable=False, unique=True),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True)),
)

DRAFT = {"report": {"address": "Ấp Phú Hòa, xã Hòa Tân", "achievements": "72 %"}, "documents": 4}
CONTENTS = json.dumps(DRAFT)

_STATE = sa.select(dossiers.c.state, dossiers.c.version, dossiers.c.contents).where(
    dossiers.c.id == sa.bindparam("dossier_id")
)
_SUBMIT = (
    dossiers.update()
    .where(dossiers.c.id == sa.bindparam("dossier_id"), dossiers.c.version == sa.bindparam("version"))
    .values(state="submitted", version=dossiers.c.version + 1, submitted_at=sa.bindparam("now"))
)


_SUBMIT_IN_ONE = sa.text("""
WITH moved AS (
    UPDATE dossiers SET state = 'submitted', version = version + 1, submitted_at = :now
    WHERE id = :dossier_id AND state = 'draft'
    RETURNING id, version, contents
), recorded AS (
    INSERT INTO history (subject_id, from_state, to_state, actor_id, occurred_at, event_id)
    SELECT id, 'draft', 'submitted', 'unit_clerk', :now, :event_id FROM moved
), sent AS (
    INSERT INTO outbox (event_id, type, body, created_at)
    SELECT :event_id, 'dossier.submitted', jsonb_build_object(
        'id', :event_id, 'type', 'dossier.submitted', 'occurred_at', :now,
        'payload', jsonb_build_object('dossier_id', id) || contents::jsonb
    )::text, :now FROM moved
)
SELECT version FROM moved
""")


def reset_drafts(database_url: str, ids: Iterable[str]) -> None:
    """A draft dossier for each of ``ids`` and no other, no history, an empty outbox: before each of the runs of
    ``/least/...`` and ``/least-in-one/...``."""
    engine = sa.create_engine(database_url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        for table in (dossiers, history, outbox):
            conn.execute(table.delete())
        conn.execute(dossiers.insert(), [{"id": id_, "state": "draft", "contents": DRAFT, "version": 1} for id_ in ids])
    engine.dispose()


def create_app() -> Flask:
    engine = sa.create_engine(os.environ["BENCH_BARE_DATABASE_URL"], pool_size=10, max_overflow=20)
    metadata.create_all(engine)
    app = Flask(__name__)

    @app.post("/dossiers/<dossier_id>/submit")
    def submit(dossier_id: str) -> dict[str, Any]:
        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(
                submissions.insert().values(id=dossier_id, state="submitted", contents=CONTENTS, submitted_at=now)
            )
        return {"id": dossier_id, "state": "submitted", "submitted_at": now.isoformat()}

    @app.post("/least/dossiers/<dossier_id>/submit")
    def least_submit(dossier_id: str) -> tuple[dict[str, Any], int]:
        now = datetime.now(UTC)
        with engine.begin() as conn:
            draft = conn.execute(_STATE, {"dossier_id": dossier_id}).one_or_none()
            if draft is None:
                return {"code": "dossier_not_found"}, 404
            if draft.state != "draft":
                return {"code": "invalid_transition"}, 409
            moved = conn.execute(_SUBMIT, {"dossier_id": dossier_id, "version": draft.version, "now": now})
            if moved.rowcount != 1:
                return {"code": "concurrent_update"}, 409
            event_id = str(uuid.uuid4())
            conn.execute(
                history.insert(),
                {
                    "subject_id": dossier_id,
                    "from_state": "draft",
                    "to_state": "submitted",
                    "actor_id": "unit_clerk",
                    "occurred_at": now,
                    "event_id": event_id,
                },
            )
            event = {"id": event_id, "type": "dossier.submitted", "occurred_at": now.isoformat()}
            body = json.dumps({**event, "payload": {"dossier_id": dossier_id, **draft.contents}}, ensure_ascii=False)
            conn.execute(
                outbox.insert(), {"event_id": event_id, "type": "dossier.submitted", "body": body, "created_at": now}
            )
        answer = {"id": dossier_id, "state": "submitted", "version": draft.version + 1, "submitted_at": now.isoformat()}
        return answer, 200

    @app.post("/least-in-one/dossiers/<dossier_id>/submit")
    def least_in_one(dossier_id: str) -> tuple[dict[str, Any], int]:
        now = datetime.now(UTC)
        values = {"dossier_id": dossier_id, "now": now, "event_id": str(uuid.uuid4())}
        with engine.begin() as conn:
            version = conn.execute(_SUBMIT_IN_ONE, values).scalar_one_or_none()
        if version is None:
            return {"code": "invalid_transition"}, 409
        return {"id": dossier_id, "state": "submitted", "version": version, "submitted_at": now.isoformat()}, 200

    @app.get("/readyz")
    def ready() -> str:
        return "ready"

    return app
