"""The review service's routes."""

from flask_smorest import Blueprint

blueprint = Blueprint(
    "review", __name__, url_prefix="/", description="Thẩm định của Phòng Văn hóa và Thông tin (review)"
)
