"""The review service's routes."""

from shared.http import ServiceBlueprint

blueprint = ServiceBlueprint(
    "review", __name__, url_prefix="/", description="Thẩm định của Phòng Văn hóa và Thông tin (review)"
)
