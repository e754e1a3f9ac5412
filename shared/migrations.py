"""Alembic, per service: each service's ``migrations/`` folder holds its own history of its own database.

A service's ``env.py`` is one call to :func:`run_env`; the commands here drive Alembic from code, so
``thidua db upgrade`` needs no ``alembic.ini``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from alembic import command, context
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from sqlalchemy.engine import Engine, make_url

from shared.db import SchemaJSON, UtcDateTime


def alembic_config(migrations: Path, engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.attributes["engine"] = engine
    return config


def upgrade(migrations: Path, engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(migrations, engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def run_env(metadata: sa.MetaData) -> None:
    """The body of every service's ``env.py``: migrate the engine handed over in the config, online."""
    engine: Engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
            compare_type=True,
            render_item=_render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


def _render_item(type_: str, obj: object, autogen_context: AutogenContext) -> str | Literal[False]:
    """A migration stores what the database holds: a schema-checked JSON column is plain JSON there."""
    if type_ == "type" and isinstance(obj, SchemaJSON):
        return "sa.JSON()"
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database of ``url`` if it is missing (SQLite files make themselves)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql") or not parsed.database:
        return False
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            ).first()
            if exists:
                return False
            conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
            return True
    finally:
        admin.dispose()


def revision(migrations: Path, engine: Engine, message: str) -> None:
    """Write a new migration from the difference between the models and the database at ``engine``."""
    upgrade(migrations, engine)
    command.revision(alembic_config(migrations, engine), message=message, autogenerate=True)
