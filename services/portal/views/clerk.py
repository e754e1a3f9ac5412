"""The unit clerk's pages: the unit's dossiers, the dossier form, uploads, submission, returns and the outcome.

Every page asks the intake API as the clerk, so another unit's dossier is the API's 404 and the portal's too.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for

from services.portal import formats
from services.portal.access import api, portal, relay, requires_role
from services.portal.client import ApiProblem, ApiRefusal, Upload
from services.portal.forms import RATES, fields_for, form_values, read_form
from services.portal.states import DOSSIER_STATES
from services.portal.views.common import campaign_of

blueprint = Blueprint("clerk", __name__, url_prefix="/dossiers")

KIND_NAMES = {"collective": "Tập thể", "individual": "Cá nhân"}
ACCEPTED_TYPES = ".pdf,.docx,.doc,.jpg,.jpeg,.png"
ACCEPTED_TEXT = "PDF, DOCX, DOC, JPEG hoặc PNG"
# Staff who open a nomination or a proposal and read its documents.
DOCUMENT_READERS = ("reviewer", "review_head", "home_affairs", "council_member", "council_secretary", "council_chair")


@blueprint.get("/")
@requires_role("unit_clerk")
def dossiers() -> Any:
    """The unit's dossiers with their state and the days left to the deadline (each dossier's own, extended
    deadline, which only its full view carries)."""
    client = api()
    now = portal().clock.now()
    rows = []
    for summary in client.get("/intake/dossiers", page_size=100):
        dossier = client.get(f"/intake/dossiers/{summary['id']}")
        deadline = (dossier.get("deadline") or {}).get("date")
        rows.append({**_named(dossier), "days_left": formats.days_left(deadline, now) if deadline else None})
    return render_template("clerk/dossiers.html", dossiers=rows, kinds=KIND_NAMES)


@blueprint.route("/new", methods=["GET", "POST"])
@requires_role("unit_clerk")
def new() -> Any:
    kind = request.values.get("kind", "collective")
    if kind not in KIND_NAMES:
        abort(404)
    client = api()
    campaign = campaign_of(client, request.values.get("campaign"))
    if request.method == "GET":
        return _form(campaign, kind, form_values(kind, None), {}, None)
    body, errors = read_form(kind, request.form)
    if errors:
        return _form(campaign, kind, dict(request.form), errors, None), 400
    try:
        created = client.post("/intake/dossiers", {"campaign": campaign["code"], "kind": kind, **body})
    except ApiRefusal as problem:
        return _refused_form(campaign, kind, problem, None)
    return redirect(url_for("clerk.show", dossier_id=created["id"], notice="created"))


@blueprint.get("/<dossier_id>")
@requires_role("unit_clerk")
def show(dossier_id: str) -> Any:
    return _show(dossier_id)


@blueprint.route("/<dossier_id>/edit", methods=["GET", "POST"])
@requires_role("unit_clerk")
def edit(dossier_id: str) -> Any:
    client = api()
    dossier = client.get(f"/intake/dossiers/{dossier_id}")
    campaign = campaign_of(client, dossier["campaign"])
    kind = dossier["kind"]
    if request.method == "GET":
        return _form(campaign, kind, form_values(kind, dossier), {}, dossier)
    body, errors = read_form(kind, request.form)
    if errors:
        return _form(campaign, kind, dict(request.form), errors, dossier), 400
    try:
        client.patch(f"/intake/dossiers/{dossier_id}", body)
    except ApiRefusal as problem:
        return _refused_form(campaign, kind, problem, dossier)
    return redirect(url_for("clerk.show", dossier_id=dossier_id, notice="saved"))


@blueprint.post("/<dossier_id>/documents/<kind>")
@requires_role("unit_clerk")
def upload(dossier_id: str, kind: str) -> Any:
    """Upload one document; the page's script sends it with progress and wants JSON, a plain form a page."""
    wants_json = request.accept_mimetypes.best == "application/json"
    sent = request.files.get("file")
    try:
        if sent is None or not sent.filename:
            raise ApiRefusal(400, {"code": "no_file", "detail": "Vui lòng chọn tệp cần tải lên."})
        upload = Upload(sent.stream, sent.filename, sent.mimetype or "application/octet-stream")
        api().put_file(f"/intake/dossiers/{dossier_id}/documents/{kind}", upload)
    except ApiProblem as problem:
        if problem.status == 404 and problem.code != "unknown_document_kind":
            raise
        message = "; ".join(m for messages in problem.errors.values() for m in messages) or problem.detail
        if wants_json:
            return jsonify(message=message, code=problem.code), problem.status
        return _show(dossier_id, upload_errors={kind: message}), problem.status
    if wants_json:
        return jsonify(ok=True), 201
    return redirect(url_for("clerk.show", dossier_id=dossier_id, notice="uploaded"))


@blueprint.get("/<dossier_id>/documents/<kind>")
@requires_role("unit_clerk", *DOCUMENT_READERS)
def download(dossier_id: str, kind: str) -> Any:
    """The unit's own clerk and the staff who read its dossier (intake decides who may, as for anyone)."""
    return relay(f"/intake/dossiers/{dossier_id}/documents/{kind}", version=request.args.get("version"))


@blueprint.post("/<dossier_id>/submit")
@requires_role("unit_clerk")
def submit(dossier_id: str) -> Any:
    try:
        api().post(f"/intake/dossiers/{dossier_id}/submit")
    except ApiRefusal as problem:
        return _show(dossier_id, refusal=problem), problem.status
    return redirect(url_for("clerk.show", dossier_id=dossier_id, notice="submitted"))


@blueprint.post("/<dossier_id>/withdraw")
@requires_role("unit_clerk")
def withdraw(dossier_id: str) -> Any:
    try:
        api().post(f"/intake/dossiers/{dossier_id}/withdraw", {"reason": request.form.get("reason") or None})
    except ApiRefusal as problem:
        return _show(dossier_id, refusal=problem), problem.status
    return redirect(url_for("clerk.show", dossier_id=dossier_id, notice="withdrawn"))


# -- what the pages show ---------------------------------------------------------------------------------------


def _show(dossier_id: str, refusal: ApiProblem | None = None, upload_errors: dict[str, str] | None = None) -> str:
    client = api()
    dossier = _named(client.get(f"/intake/dossiers/{dossier_id}"))
    campaign = campaign_of(client, dossier["campaign"])
    deadline = (dossier.get("deadline") or {}).get("date")
    labels = {field.path: field.label for field in fields_for(dossier["kind"])}
    documents = {doc["kind"]: doc for doc in dossier["documents"]}
    return render_template(
        "clerk/dossier.html",
        dossier=dossier,
        campaign=campaign,
        kinds=KIND_NAMES,
        fields=fields_for(dossier["kind"]),
        values=form_values(dossier["kind"], dossier),
        labels=labels,
        rates=_rates(campaign, form_values(dossier["kind"], dossier)),
        days_left=formats.days_left(deadline, portal().clock.now()) if deadline else None,
        editable=dossier["state"] in ("draft", "returned"),
        documents=[{**kind, "current": documents.get(kind["code"])} for kind in campaign["documents"]],
        refusal=refusal,
        missing=(refusal.body.get("missing") if refusal else None) or dossier["missing"],
        upload_errors=upload_errors or {},
        accepted_types=ACCEPTED_TYPES,
        accepted_text=ACCEPTED_TEXT,
        max_bytes=portal().settings.max_upload_bytes,
        max_text=_megabytes(portal().settings.max_upload_bytes),
    )


def _form(
    campaign: dict[str, Any],
    kind: str,
    values: dict[str, str],
    errors: dict[str, list[str]],
    dossier: dict[str, Any] | None,
    detail: str | None = None,
) -> str:
    return render_template(
        "clerk/form.html",
        campaign=campaign,
        kind=kind,
        kinds=KIND_NAMES,
        fields=fields_for(kind),
        values=values,
        errors=errors,
        detail=detail,
        dossier=dossier,
        rates=_rates(campaign, values),
    )


def _refused_form(campaign: dict[str, Any], kind: str, problem: ApiRefusal, dossier: dict[str, Any] | None) -> Any:
    return _form(campaign, kind, dict(request.form), problem.errors, dossier, problem.detail), problem.status


def _rates(campaign: dict[str, Any], values: dict[str, str]) -> list[dict[str, Any]]:
    """Each target with the rate the counts give and whether it is met, compared exactly."""
    shown = []
    for target in campaign["targets"]:
        online_path, total_path = RATES[target["code"]]
        threshold = Fraction(target["threshold_percent"]) / 100
        counts = [values.get(path, "").replace(".", "").strip() for path in (online_path, total_path)]
        value = formats.rate(*counts) if all(c.isdigit() for c in counts) else None
        shown.append(
            {
                **target,
                "online": online_path,
                "total": total_path,
                "rate": value,
                "met": value is not None and value >= threshold,
            }
        )
    return shown


def _named(dossier: dict[str, Any]) -> dict[str, Any]:
    return {**dossier, "state_label": DOSSIER_STATES.get(dossier["state"], dossier["state"])}


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB".replace(".", ",")
