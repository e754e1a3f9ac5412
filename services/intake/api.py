"""The intake service's routes."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from services.intake.schemas import CampaignSchema, CampaignSummarySchema
from shared.auth import ROLES, requires
from shared.campaigns import Campaign
from shared.problems import Problem

blueprint = Blueprint("intake", __name__, url_prefix="/", description="Tiếp nhận hồ sơ đề nghị khen thưởng")


def campaigns() -> dict[str, Campaign]:
    return current_app.extensions["thidua.runtime"].campaigns


@blueprint.get("/campaigns")
@blueprint.response(200, CampaignSummarySchema(many=True))
@requires(*ROLES)
def list_campaigns() -> Any:
    """Các phong trào thi đua (campaigns), newest first."""
    return sorted(campaigns().values(), key=lambda c: (-c.year, c.code))


@blueprint.get("/campaigns/<code>")
@blueprint.response(200, CampaignSchema)
@requires(*ROLES)
def get_campaign(code: str) -> Any:
    """One campaign: its units, tracks, targets, prizes, documents and deadlines."""
    campaign = campaigns().get(code)
    if campaign is None:
        raise Problem(404, "campaign_not_found", f"Không có phong trào thi đua mã '{code}'.")
    return campaign
