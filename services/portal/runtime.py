"""The portal as one process runs it: its database, the clock, the campaigns and the token authority."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from services.portal.domain import LockoutPolicy
from shared.auth import TokenAuthority
from shared.campaigns import Campaign
from shared.clock import Clock
from shared.db import create_engine
from shared.migrations import ensure_database, upgrade
from shared.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


class PortalRuntime:
    name = "portal"

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        campaigns: Mapping[str, Campaign],
        tokens: TokenAuthority,
    ):
        self.settings = settings
        self.clock = clock
        self.campaigns = campaigns
        self.tokens = tokens
        self.lockout = LockoutPolicy(settings.signin_attempts, settings.signin_lock_minutes)
        self.url = settings.database_url_for(self.name)
        self.engine = create_engine(self.url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction, committed when the block ends without an exception and rolled back otherwise."""
        with self._sessions() as session, session.begin():
            yield session

    def upgrade_database(self) -> list[str]:
        done = ["portal: created database"] if ensure_database(self.url) else []
        upgrade(MIGRATIONS, self.engine)
        return [*done, "portal: schema up to date"]

    def close(self) -> None:
        self.engine.dispose()
