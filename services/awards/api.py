"""The awards service's routes."""

from flask_smorest import Blueprint

blueprint = Blueprint("awards", __name__, url_prefix="/", description="Khen thưởng: Phòng Nội vụ và Hội đồng (awards)")
