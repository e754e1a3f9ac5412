"""Settings, read once from ``THIDUA_*`` environment variables.

Every setting the system has is a field of :class:`Settings` and a row of ``SETTINGS``; the README's table
is checked against ``SETTINGS`` by a test, so the two cannot drift apart.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

PREFIX = "THIDUA_"
T = TypeVar("T", int, float)


class SettingsError(ValueError):
    """A setting has a value the system cannot use; the message names the variable."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("DATA_DIR", "./data", "Folder for the embedded SQLite databases, documents and signing key."),
    Setting(
        "DATABASE_URL",
        "sqlite:///{data_dir}/{service}.db",
        "SQLAlchemy URL of each service's database; `{service}` becomes intake, review, awards or audit.",
    ),
    Setting("BROKER_URL", "memory://", "kombu URL of the bus: `memory://` embedded, `amqp://…` for RabbitMQ."),
    Setting("BUS_NAMESPACE", "thidua", "Prefix of every exchange and queue name; keeps deployments apart."),
    Setting("SECRET_KEY", "", "Key that signs bearer tokens; empty means the data folder's own key file."),
    Setting("TOKEN_HOURS", "12", "How long an issued token stays valid, in hours."),
    Setting("NOW", "", "ISO 8601 instant the clock starts from and runs on (replays a past campaign)."),
    Setting(
        "CLOCK_FILE",
        "",
        "File holding the replayed instant; rewriting it (`thidua clock set`) moves every process. Wins over NOW.",
    ),
    Setting("CAMPAIGNS_DIR", "", "Extra folder of campaign files (`*.toml`) besides the shipped ones."),
    Setting(
        "DOCUMENTS_DIR",
        "",
        "Folder of the units' documents (shared by every intake process); empty: DATA_DIR/documents.",
    ),
    Setting("MAX_UPLOAD_BYTES", "20971520", "Largest document a unit may upload (20 MB)."),
    Setting(
        "CONSUMER_PREFETCH",
        "64",
        "Messages a consumer holds unacknowledged at once; twice the batch keeps the next batch coming meanwhile.",
    ),
    Setting("CONSUMER_BATCH", "32", "Events a consumer applies in one transaction (at most the prefetch)."),
    Setting("RETRY_ATTEMPTS", "5", "Tries of a failing message before it is dead-lettered."),
    Setting("RETRY_BACKOFF_SECONDS", "0.5", "First retry delay; each further try doubles it."),
    Setting("RETRY_BACKOFF_MAX_SECONDS", "30", "Longest delay between two tries."),
    Setting("OUTBOX_POLL_SECONDS", "1.0", "How often the outbox relay looks for unsent events it was not told of."),
    Setting("OUTBOX_BATCH", "200", "Events the relay publishes per round."),
    Setting("HOST", "127.0.0.1", "Address `thidua run` and `thidua serve` listen on."),
    Setting("PORT", "8000", "Port `thidua run` and `thidua serve` listen on."),
    Setting("WORKERS", "2", "gunicorn worker processes of `thidua serve`."),
    Setting("LOG_LEVEL", "INFO", "Python log level of every process."),
    Setting(
        "API_URL",
        "",
        "Base URL the portal calls the services' APIs at (production, e.g. the proxy); empty: its own process.",
    ),
    Setting("SESSION_HOURS", "8", "How long a sign-in to the portal lasts."),
    Setting("SIGNIN_ATTEMPTS", "5", "Failed sign-ins in a row that lock a portal account."),
    Setting("SIGNIN_LOCK_MINUTES", "15", "How long a locked portal account stays locked."),
)


def settings_table() -> str:
    """The README's table of settings, made from ``SETTINGS`` so the two cannot disagree."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [
        f"| `{PREFIX}{s.name}` | `{s.default}` | {s.help} |"
        if s.default
        else f"| `{PREFIX}{s.name}` | (empty) | {s.help} |"
        for s in SETTINGS
    ]
    return "\n".join(rows)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    broker_url: str
    bus_namespace: str
    secret_key: str
    token_hours: float
    now: str
    clock_file: Path | None
    campaigns_dir: Path | None
    documents_dir: Path
    max_upload_bytes: int
    consumer_prefetch: int
    consumer_batch: int
    retry_attempts: int
    retry_backoff_seconds: float
    retry_backoff_max_seconds: float
    outbox_poll_seconds: float
    outbox_batch: int
    host: str
    port: int
    workers: int
    log_level: str
    api_url: str
    session_hours: float
    signin_attempts: int
    signin_lock_minutes: float

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read every setting; ``overrides`` (by field name) win over the environment, as CLI options do."""
        env = os.environ if environ is None else environ
        raw = {s.name: env.get(PREFIX + s.name, s.default) for s in SETTINGS}
        unknown = {key.upper() for key in overrides} - {s.name for s in SETTINGS}
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        for key, value in overrides.items():
            if value is not None:
                raw[key.upper()] = str(value)
        return cls(
            data_dir=Path(raw["DATA_DIR"]).expanduser(),
            database_url=raw["DATABASE_URL"],
            broker_url=raw["BROKER_URL"],
            bus_namespace=raw["BUS_NAMESPACE"],
            secret_key=raw["SECRET_KEY"],
            token_hours=_number(raw, "TOKEN_HOURS", float, minimum=0.01),
            now=raw["NOW"],
            clock_file=Path(raw["CLOCK_FILE"]).expanduser() if raw["CLOCK_FILE"] else None,
            campaigns_dir=Path(raw["CAMPAIGNS_DIR"]) if raw["CAMPAIGNS_DIR"] else None,
            documents_dir=Path(raw["DOCUMENTS_DIR"] or Path(raw["DATA_DIR"]) / "documents").expanduser(),
            max_upload_bytes=_number(raw, "MAX_UPLOAD_BYTES", int, minimum=1),
            consumer_prefetch=_number(raw, "CONSUMER_PREFETCH", int, minimum=1),
            consumer_batch=_number(raw, "CONSUMER_BATCH", int, minimum=1),
            retry_attempts=_number(raw, "RETRY_ATTEMPTS", int, minimum=1),
            retry_backoff_seconds=_number(raw, "RETRY_BACKOFF_SECONDS", float, minimum=0),
            retry_backoff_max_seconds=_number(raw, "RETRY_BACKOFF_MAX_SECONDS", float, minimum=0),
            outbox_poll_seconds=_number(raw, "OUTBOX_POLL_SECONDS", float, minimum=0.01),
            outbox_batch=_number(raw, "OUTBOX_BATCH", int, minimum=1),
            host=raw["HOST"],
            port=_number(raw, "PORT", int, minimum=0),
            workers=_number(raw, "WORKERS", int, minimum=1),
            log_level=raw["LOG_LEVEL"].upper(),
            api_url=raw["API_URL"].rstrip("/"),
            session_hours=_number(raw, "SESSION_HOURS", float, minimum=0.01),
            signin_attempts=_number(raw, "SIGNIN_ATTEMPTS", int, minimum=1),
            signin_lock_minutes=_number(raw, "SIGNIN_LOCK_MINUTES", float, minimum=0),
        )

    def with_changes(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def database_url_for(self, service: str) -> str:
        return self.database_url.format(service=service, data_dir=self.data_dir.resolve().as_posix())

    @property
    def broker_is_volatile(self) -> bool:
        """The in-memory broker forgets every message when the process stops."""
        return self.broker_url.startswith("memory://")


def _number(raw: Mapping[str, str], name: str, kind: type[T], minimum: float) -> T:
    try:
        value = kind(raw[name])
    except ValueError:
        raise SettingsError(f"{PREFIX}{name}={raw[name]!r} is not a {kind.__name__}") from None
    if not math.isfinite(value) or value < minimum:
        raise SettingsError(f"{PREFIX}{name}={raw[name]!r} must be at least {minimum}")
    return value
