"""The awards service's routes."""

from shared.http import ServiceBlueprint

blueprint = ServiceBlueprint(
    "awards", __name__, url_prefix="/", description="Khen thưởng: Phòng Nội vụ và Hội đồng (awards)"
)
