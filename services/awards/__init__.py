"""Awards: Home Affairs appraises the proposal, the council decides, the Chairman finalises."""

from pathlib import Path

from services.awards import api, consumer, models
from shared.service import ServiceSpec

SERVICE = ServiceSpec(
    name="awards",
    title="Khen thưởng: Phòng Nội vụ và Hội đồng (awards)",
    metadata=models.metadata,
    tables=models.bus,
    blueprint=api.blueprint,
    subscription=consumer.SUBSCRIPTION,
    migrations=Path(__file__).parent / "migrations",
)
