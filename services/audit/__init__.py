"""Audit: the append-only, hash-chained log of every event, and the queries auditors ask."""

from pathlib import Path

from services.audit import api, consumer, models
from shared.service import ServiceSpec

SERVICE = ServiceSpec(
    name="audit",
    title="Nhật ký kiểm toán (audit)",
    metadata=models.metadata,
    tables=models.bus,
    blueprint=api.blueprint,
    subscription=consumer.SUBSCRIPTION,
    migrations=Path(__file__).parent / "migrations",
)
