"""The bare Flask + SQLAlchemy app the submit route is compared with: one route, one INSERT of a row the size of a
submitted dossier, one COMMIT, a small JSON answer. No token, no schema, no state machine, no outbox.

Served by gunicorn exactly as ``thidua serve`` serves a service (gthread, 4 threads per worker, access log on
stdout), with its database at ``BENCH_BARE_DATABASE_URL``:

    BENCH_BARE_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_bare \\
        .venv/bin/gunicorn -k gthread --threads 4 -w 1 --access-logfile - 'bench.bare_app:create_app()'
"""

from __future__ import annotations

import json
import os
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

CONTENTS = json.dumps({"report": {"address": "Ấp Phú Hòa, xã Hòa Tân", "achievements": "72 %"}, "documents": 4})


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

    @app.get("/readyz")
    def ready() -> str:
        return "ready"

    return app
