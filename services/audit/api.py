"""The audit service's routes."""

from shared.http import ServiceBlueprint

blueprint = ServiceBlueprint("audit", __name__, url_prefix="/", description="Nhật ký kiểm toán (audit)")
