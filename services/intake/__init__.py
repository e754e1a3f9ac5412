"""Intake: units prepare, submit, revise and follow their award dossiers."""

from pathlib import Path

from services.intake import api, consumer, models
from shared.service import ServiceSpec

SERVICE = ServiceSpec(
    name="intake",
    title="Tiếp nhận hồ sơ (intake)",
    metadata=models.metadata,
    tables=models.bus,
    blueprint=api.blueprint,
    subscription=consumer.SUBSCRIPTION,
    migrations=Path(__file__).parent / "migrations",
    setup=api.setup,
)
