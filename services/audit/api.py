"""The audit service's routes."""

from flask_smorest import Blueprint

blueprint = Blueprint("audit", __name__, url_prefix="/", description="Nhật ký kiểm toán (audit)")
