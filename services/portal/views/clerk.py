"""The unit clerk's pages: the unit's dossiers, the dossier form, uploads, submission, returns and the outcome."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from services.portal.access import api, requires_role

blueprint = Blueprint("clerk", __name__, url_prefix="/dossiers")


@blueprint.get("/")
@requires_role("unit_clerk")
def dossiers() -> Any:
    return render_template("clerk/dossiers.html", dossiers=api().get("/intake/dossiers", page_size=100))
