"""The portal's own database: its accounts and their sign-in sessions. No outbox: the portal publishes nothing."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import registry

from services.portal.domain import Account, PortalSession
from shared.db import UtcDateTime, service_metadata

metadata = service_metadata()


class Roles(sa.types.TypeDecorator[tuple[str, ...]]):
    """Roles as one space-separated column: a handful of fixed words, never queried one by one."""

    impl = sa.String(300)
    cache_ok = True

    def process_bind_param(self, value: tuple[str, ...] | None, dialect: sa.Dialect) -> str | None:
        return None if value is None else " ".join(value)

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> tuple[str, ...] | None:
        return None if value is None else tuple(value.split())


accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("full_name", sa.String(200), nullable=False),
    sa.Column("roles", Roles(), nullable=False),
    sa.Column("unit", sa.String(100)),
    sa.Column("person_id", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(300)),
    sa.Column("failed_attempts", sa.Integer, nullable=False),
    sa.Column("locked_until", UtcDateTime()),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Index("ix_sessions_account_id", "account_id"),
)

mapper = registry()
mapper.map_imperatively(Account, accounts)
mapper.map_imperatively(PortalSession, sessions)
