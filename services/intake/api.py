"""The intake service's routes."""

from flask_smorest import Blueprint

blueprint = Blueprint("intake", __name__, url_prefix="/", description="Tiếp nhận hồ sơ (intake)")
