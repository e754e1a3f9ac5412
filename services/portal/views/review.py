"""Culture & Information's pages: the review queue, one nomination and its steps, returns, the official figures,
the ranking with its chart, the Phụ lục 2 table and the signed proposal.

Every page asks the review API as the signed-in reviewer, so the four-eyes rule, the order of the steps and the
head's signature are the service's to enforce; a refusal is shown next to the form it concerns.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from services.portal.access import account, api, requires_role
from services.portal.client import ApiProblem, ApiRefusal, Upload
from services.portal.forms import fields_for
from services.portal.states import NOMINATION_STATES
from services.portal.views.clerk import KIND_NAMES
from services.portal.views.common import campaign_of, table_or_file

blueprint = Blueprint("review", __name__)

REVIEWERS = ("reviewer", "review_head")
STAFF = (*REVIEWERS, "home_affairs", "council_member", "council_secretary", "council_chair", "auditor", "admin")
RETURN_ROWS = 5  # reason rows the return form offers at first; “Thêm dòng” offers five more
FIGURE_NAMES = {
    "online_case_files": "Số hồ sơ TTHC xử lý trực tuyến mức 4",
    "total_case_files": "Tổng số hồ sơ TTHC",
    "online_procedures": "Số TTHC mức 4 có phát sinh hồ sơ trực tuyến",
    "total_procedures": "Tổng số TTHC mức 4",
}
STEP_NAMES = {"completeness": "Kiểm tra tính đầy đủ", "figures": "Đối chiếu số liệu", "appraisal": "Thẩm định"}
DOCUMENT_FIELDS = {
    "documents.to_trinh": "Tờ trình",
    "documents.bien_ban": "Biên bản họp xét khen thưởng",
    "documents.bao_cao_thanh_tich": "Báo cáo thành tích",
    "documents.danh_sach_tom_tat": "Danh sách tóm tắt thành tích nổi bật",
}


@blueprint.get("/nominations/")
@requires_role(*REVIEWERS, "admin")
def queue() -> Any:
    """The queue, filtered as the reviewer asks; every filter is the review API's own."""
    client = api()
    campaign = campaign_of(client, request.args.get("campaign"))
    wanted = {key: request.args.get(key, "") for key in ("unit", "state", "kind")}
    try:
        rows = client.get("/review/nominations", campaign=campaign["code"], page_size=100, **wanted)
        refusal = None
    except ApiProblem as problem:
        if problem.status != 400:
            raise
        rows, refusal = [], problem
    units = {unit["code"]: unit["name"] for unit in campaign["units"]}
    return render_template(
        "review/queue.html",
        campaign=campaign,
        campaigns=client.get("/intake/campaigns"),
        wanted=wanted,
        rows=[{**row, "unit_name": units.get(row["unit"], row["unit"])} for row in rows],
        states=NOMINATION_STATES,
        steps=STEP_NAMES,
        kinds=KIND_NAMES,
        refusal=refusal,
    )


@blueprint.get("/nominations/<nomination_id>")
@requires_role(*REVIEWERS, "admin")
def nomination(nomination_id: str) -> Any:
    return _nomination(nomination_id)


@blueprint.post("/nominations/<nomination_id>/steps/<step>")
@requires_role(*REVIEWERS)
def decide(nomination_id: str, step: str) -> Any:
    """Approve or reject a step with a note; the override is sent only when the reviewer ticked it."""
    body = {
        "decision": request.form.get("decision", ""),
        "note": request.form.get("note", "").strip(),
        "override": request.form.get("override") == "yes",
    }
    try:
        api().post(f"/review/nominations/{nomination_id}/steps/{step}", body)
    except ApiProblem as problem:
        if problem.status == 404 and problem.code != "unknown_step":
            raise
        return _nomination(nomination_id, step_refusal=problem), problem.status
    notice = "step_approved" if body["decision"] == "approve" else "step_rejected"
    return redirect(url_for("review.nomination", nomination_id=nomination_id, notice=notice))


@blueprint.post("/nominations/<nomination_id>/return")
@requires_role(*REVIEWERS)
def return_to_unit(nomination_id: str) -> Any:
    """Return with one complete list of reasons; each row's field is optional, its message is not."""
    if request.form.get("more"):  # the reviewer asked for more rows: nothing is sent yet
        return _nomination(nomination_id, return_form=request.form, extra_rows=RETURN_ROWS)
    rows, errors = read_reasons(request.form)
    if not errors:
        try:
            api().post(f"/review/nominations/{nomination_id}/return", {"reasons": [r for _, r in rows]})
            return redirect(url_for("review.nomination", nomination_id=nomination_id, notice="returned"))
        except ApiRefusal as problem:
            errors = _row_errors(problem, [index for index, _ in rows])
            if not errors:
                errors = {"reasons": [problem.detail]}
    return _nomination(nomination_id, return_errors=errors, return_form=request.form), 400


def read_reasons(form: MultiDict[str, str]) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, list[str]]]:
    """The filled rows of the return form, each with its row number so the API's errors find their row again."""
    rows: list[tuple[int, dict[str, Any]]] = []
    errors: dict[str, list[str]] = {}
    for index in range(int(form.get("rows", RETURN_ROWS))):
        field = form.get(f"reasons.{index}.field", "").strip() or None
        message = form.get(f"reasons.{index}.message", "").strip()
        if message:
            rows.append((index, {"field": field, "message": message}))
        elif field:
            errors[f"reasons.{index}.message"] = ["Vui lòng ghi nội dung đơn vị cần sửa hoặc bổ sung."]
    if not rows and not errors:
        errors["reasons.0.message"] = ["Vui lòng nêu ít nhất một nội dung cần sửa hoặc bổ sung."]
    return rows, errors


def _row_errors(problem: ApiProblem, indexes: list[int]) -> dict[str, list[str]]:
    """The API numbers the rows it was sent; the form numbers the rows it showed."""
    found: dict[str, list[str]] = {}
    for path, messages in problem.errors.items():
        parts = path.split(".")
        if len(parts) == 3 and parts[0] == "reasons" and parts[1].isdigit() and int(parts[1]) < len(indexes):
            found[f"reasons.{indexes[int(parts[1])]}.{parts[2]}"] = messages
        else:
            found.setdefault("reasons", []).extend(messages)
    return found


def _nomination(
    nomination_id: str,
    step_refusal: ApiProblem | None = None,
    return_errors: dict[str, list[str]] | None = None,
    return_form: MultiDict[str, str] | None = None,
    extra_rows: int = 0,
) -> str:
    client = api()
    found = client.get(f"/review/nominations/{nomination_id}")
    campaign = campaign_of(client, found["campaign"])
    shown = [spec for spec in fields_for(found["kind"]) if spec.section != "self_assessment"]
    values = {spec.path: (found.get(spec.section) or {}).get(spec.name) for spec in shown}
    person = account()
    return render_template(
        "review/nomination.html",
        nomination=found,
        campaign=campaign,
        kinds=KIND_NAMES,
        states=NOMINATION_STATES,
        fields=shown,
        values=values,
        figure_names=FIGURE_NAMES,
        figure_rates=_figure_rates(campaign, found["figures"]),
        differs=any(row["differs"] for row in found["figures"]),
        documents={doc["kind"]: doc for doc in found["documents"]},
        can_decide=bool(person and set(person.roles) & set(REVIEWERS)) and found["state"] == "in_review",
        step_refusal=step_refusal,
        return_errors=return_errors or {},
        return_form=return_form or MultiDict(),
        return_rows=(int(return_form.get("rows", RETURN_ROWS)) if return_form else RETURN_ROWS) + extra_rows,
        reason_fields={**{spec.path: spec.label for spec in shown}, **_figure_fields(), **DOCUMENT_FIELDS},
    )


def _figure_fields() -> dict[str, str]:
    return {f"self_assessment.{code}": name for code, name in FIGURE_NAMES.items()}


def _figure_rates(campaign: dict[str, Any], figures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target's rate by the unit's own counts and by the official ones, side by side."""
    counts = {row["field"]: row for row in figures}
    pairs = {
        "case_file_rate": ("online_case_files", "total_case_files"),
        "procedure_coverage": ("online_procedures", "total_procedures"),
    }
    shown = []
    for target in campaign["targets"]:
        online, total = pairs[target["code"]]
        if online not in counts or total not in counts:
            continue
        threshold = Fraction(target["threshold_percent"]) / 100
        rates = {side: _rate(counts[online][side], counts[total][side]) for side in ("declared", "official")}
        shown.append(
            {
                **target,
                **rates,
                "declared_met": rates["declared"] is not None and rates["declared"] >= threshold,
                "official_met": rates["official"] is not None and rates["official"] >= threshold,
            }
        )
    return shown


def _rate(online: Any, total: Any) -> Fraction | None:
    if online is None or not total:
        return None
    return Fraction(int(online), int(total))


# -- the official figures ---------------------------------------------------------------------------------------


@blueprint.route("/figures", methods=["GET", "POST"])
@requires_role(*REVIEWERS)
def figures() -> Any:
    """Import the one-stop shop's export; a refused file lists every bad row, and nothing of it is kept."""
    client = api()
    campaign = campaign_of(client, request.values.get("campaign"))
    refusal: ApiProblem | None = None
    if request.method == "POST":
        sent = request.files.get("file")
        try:
            if sent is None or not sent.filename:
                raise ApiRefusal(400, {"code": "no_file", "detail": "Vui lòng chọn tệp số liệu (CSV hoặc XLSX)."})
            upload = Upload(sent.stream, sent.filename, sent.mimetype or "application/octet-stream")
            client.put_file(f"/review/campaigns/{campaign['code']}/figures", upload)
            return redirect(url_for("review.figures", campaign=campaign["code"], notice="figures_imported"))
        except ApiRefusal as problem:
            refusal = problem
    current = client.get(f"/review/campaigns/{campaign['code']}/figures")
    rows = [
        {"unit": unit, "counts": current["figures"].get(unit["code"])}
        for unit in campaign["units"]
        if unit["code"] in current["figures"]
    ]
    page = render_template(
        "review/figures.html",
        campaign=campaign,
        rows=rows,
        imports=current["imports"],
        refusal=refusal,
        row_errors=(refusal.body.get("rows") or []) if refusal else [],
    )
    return (page, refusal.status) if refusal else page


# -- the ranking, the summary, the proposal ----------------------------------------------------------------------


@blueprint.get("/ranking")
@requires_role(*STAFF)
def ranking() -> Any:
    """Per track: the order, each unit's rates against both targets (a chart and a table), prizes, why out."""
    client = api()
    campaign = campaign_of(client, request.args.get("campaign"))
    ranked = client.get(f"/review/campaigns/{campaign['code']}/ranking")
    thresholds = {t["code"]: Fraction(t["threshold_percent"]) for t in campaign["targets"]}
    return render_template(
        "review/ranking.html",
        campaign=campaign,
        ranking=ranked,
        charts={track["track"]: rate_chart(track["units"], thresholds) for track in ranked["tracks"]},
        targets=campaign["targets"],
    )


CHART_BAR = 14
CHART_GAP = 10
CHART_LABEL = 190
CHART_WIDTH = 720


def rate_chart(units: list[dict[str, Any]], thresholds: dict[str, Fraction]) -> dict[str, Any]:
    """Geometry of the bar chart drawn server-side (inline SVG, nothing to download): two bars per unit with
    figures, one per target, and a line at each target's threshold. Widths are in the SVG's own units."""
    plot = CHART_WIDTH - CHART_LABEL - 60
    rows = []
    for index, unit in enumerate(u for u in units if u["targets"]):
        top = 24 + index * (2 * CHART_BAR + CHART_GAP)
        bars = []
        for offset, target in enumerate(unit["targets"]):
            percent = Fraction(target["rate_exact"]) * 100 if target.get("rate_exact") else Fraction(0)
            bars.append(
                {
                    "code": target["code"],
                    "y": top + offset * CHART_BAR,
                    "width": float(min(percent, Fraction(100)) * plot / 100),
                    "text": target["rate"] or "—",
                    "met": target["met"],
                }
            )
        rows.append({"name": unit["unit_name"], "y": top, "bars": bars, "rank": unit["rank"]})
    height = 24 + len(rows) * (2 * CHART_BAR + CHART_GAP) + 10
    lines = [
        {"code": code, "x": CHART_LABEL + float(value * plot / 100), "text": f"{value} %"}
        for code, value in thresholds.items()
    ]
    return {"rows": rows, "lines": lines, "width": CHART_WIDTH, "height": height, "left": CHART_LABEL, "plot": plot}


@blueprint.get("/summary")
@requires_role(*STAFF)
def summary() -> Any:
    """Phụ lục 2 as a table; ``?format=csv`` or ``xlsx`` hands over the service's own file."""
    campaign = campaign_of(api(), request.args.get("campaign"))
    return table_or_file(f"/review/campaigns/{campaign['code']}/summary", "review/summary.html", campaign, "table")


@blueprint.route("/proposal", methods=["GET", "POST"])
@requires_role(*REVIEWERS, "home_affairs")
def proposal() -> Any:
    """The proposal to Home Affairs: what the ranking proposes and, for the head, the signature that sends it."""
    client = api()
    campaign = campaign_of(client, request.values.get("campaign"))
    path = f"/review/campaigns/{campaign['code']}/proposal"
    refusal: ApiProblem | None = None
    if request.method == "POST":
        try:
            client.post(path, {"note": request.form.get("note", "").strip() or None})
            return redirect(url_for("review.proposal", campaign=campaign["code"], notice="proposal_sent"))
        except ApiRefusal as problem:
            refusal = problem
    try:
        sent = client.get(path)
    except ApiProblem as problem:
        if problem.status != 404:
            raise
        sent = None
    ranked = client.get(f"/review/campaigns/{campaign['code']}/ranking")
    person = account()
    page = render_template(
        "review/proposal.html",
        campaign=campaign,
        sent=sent,
        ranking=ranked,
        refusal=refusal,
        note=request.form.get("note", ""),
        can_sign=bool(person and "review_head" in person.roles),
    )
    return (page, refusal.status) if refusal else page
