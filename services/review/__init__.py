"""Review: Culture & Information checks the dossiers against the official figures, ranks the units and proposes."""

from pathlib import Path

from services.review import api, consumer, models
from shared.service import ServiceSpec

SERVICE = ServiceSpec(
    name="review",
    title="Thẩm định của Phòng Văn hóa và Thông tin (review)",
    metadata=models.metadata,
    tables=models.bus,
    blueprint=api.blueprint,
    subscription=consumer.SUBSCRIPTION,
    migrations=Path(__file__).parent / "migrations",
)
