"""Home Affairs' pages: the proposals received and their appraisal; and everyone's page of the final awards.

The awards API decides who may appraise and what a valid appraisal is; the page only gathers the decision, the
nominations not passed with their reasons, or the reasons for returning, and shows a refusal by its field.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from services.portal.access import account, api, requires_role
from services.portal.client import ApiProblem, ApiRefusal
from services.portal.views.common import campaign_of, table_or_file
from shared.auth import ROLES

blueprint = Blueprint("awards", __name__)

COUNCIL = ("council_member", "council_secretary", "council_chair")
READERS = ("home_affairs", *COUNCIL, "review_head", "reviewer", "auditor", "admin")


@blueprint.get("/proposals/")
@requires_role(*READERS)
def proposals() -> Any:
    return render_template("council/proposals.html", proposals=api().get("/awards/proposals"))


@blueprint.get("/proposals/<proposal_id>")
@requires_role(*READERS)
def proposal(proposal_id: str) -> Any:
    return _proposal(proposal_id)


@blueprint.post("/proposals/<proposal_id>/appraisal")
@requires_role("home_affairs")
def appraise(proposal_id: str) -> Any:
    """Pass to the council (some nominations perhaps not, each with its reason) or return with reasons."""
    client = api()
    found = client.get(f"/awards/proposals/{proposal_id}")
    ids = [candidate["dossier_id"] for candidate in found["candidates"]]
    body, errors = read_appraisal(request.form, ids)
    if not errors:
        try:
            client.post(f"/awards/proposals/{proposal_id}/appraisal", body)
            return redirect(url_for("awards.proposal", proposal_id=proposal_id, notice="appraised"))
        except ApiRefusal as problem:
            errors = _appraisal_errors(problem, body)
    return _proposal(proposal_id, errors, request.form), 400


def read_appraisal(form: MultiDict[str, str], dossier_ids: list[str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The appraisal body from the form: reasons one per line; a ticked nomination needs its reason."""
    decision = form.get("decision", "")
    errors: dict[str, list[str]] = {}
    reasons = [line.strip() for line in form.get("reasons", "").splitlines() if line.strip()]
    not_passed = []
    if decision == "return" and not reasons:
        errors["reasons"] = ["Vui lòng ghi lý do trả lại, mỗi lý do một dòng."]
    if decision == "pass":
        for dossier_id in dossier_ids:
            if form.get(f"not_passed.{dossier_id}") != "yes":
                continue
            reason = form.get(f"reason.{dossier_id}", "").strip()
            if not reason:
                errors[f"reason.{dossier_id}"] = ["Vui lòng ghi lý do không trình Hội đồng."]
            not_passed.append({"dossier_id": dossier_id, "reason": reason})
    if decision not in ("pass", "return"):
        errors["decision"] = ["Vui lòng chọn trình Hội đồng hoặc trả lại."]
    return {"decision": decision, "reasons": reasons, "not_passed": not_passed}, errors


def _appraisal_errors(problem: ApiProblem, body: dict[str, Any]) -> dict[str, list[str]]:
    """The API's field paths (``not_passed.0.reason``) turned back into the form's (``reason.<dossier id>``)."""
    if problem.code == "reasons_required":
        return {"reasons": [problem.detail]}
    found: dict[str, list[str]] = {}
    for path, messages in problem.errors.items():
        parts = path.split(".")
        if parts[0] == "not_passed" and len(parts) == 3 and int(parts[1]) < len(body["not_passed"]):
            found[f"reason.{body['not_passed'][int(parts[1])]['dossier_id']}"] = messages
        else:
            found.setdefault(parts[0], []).extend(messages)
    return found or {"decision": [problem.detail]}


def _proposal(
    proposal_id: str, errors: dict[str, list[str]] | None = None, form: MultiDict[str, str] | None = None
) -> str:
    found = api().get(f"/awards/proposals/{proposal_id}")
    person = account()
    return render_template(
        "council/proposal.html",
        proposal=found,
        errors=errors or {},
        form=form or MultiDict(),
        can_appraise=bool(person and "home_affairs" in person.roles) and found["state"] == "received",
    )


@blueprint.get("/prizes")
@requires_role(*ROLES)
def prizes() -> Any:
    """The awards in force with the budget total; ``?format=csv`` or ``xlsx`` hands over the service's file."""
    campaign = campaign_of(api(), request.args.get("campaign"))
    return table_or_file(f"/awards/campaigns/{campaign['code']}/awards", "council/prizes.html", campaign, "awards")
