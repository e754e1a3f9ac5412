"""The council's pages: its sessions, the secretary opening one with the members present, each member's votes,
the live tally and quorum, closing or adjourning, and the chair's decision and its amendments.

A member votes as their seat on the roster (the account's person id), which is what the awards service counts;
it refuses a member's vote on their own unit, and the page shows why next to that candidate.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from services.portal.access import account, api, portal, requires_role
from services.portal.client import ApiClient, ApiProblem, ApiRefusal
from services.portal.forms import Field, read_day
from services.portal.views.awards import COUNCIL
from services.portal.views.common import campaign_of

blueprint = Blueprint("council", __name__, url_prefix="/council")

CHOICES = {"approve": "Tán thành", "reject": "Không tán thành", "abstain": "Không biểu quyết"}
REFRESH_SECONDS = 5
DECISION_FIELDS = (
    Field("decision_number", "Số quyết định", hint="Ví dụ 1234/QĐ-UBND."),
    Field("decision_date", "Ngày ký", "date", "Ghi theo dạng ngày/tháng/năm, ví dụ 20/12/2021."),
)
DATE_MESSAGE = "Vui lòng ghi ngày theo dạng ngày/tháng/năm, ví dụ 20/12/2021."
REASON_FIELD = Field("reason", "Lý do sửa đổi, bổ sung", "textarea", "Ví dụ: Hội đồng biểu quyết lại theo kiến nghị.")
CHANGES = {"": "Giữ nguyên", "grant": "Khen thưởng", "withdraw": "Thu hồi, không khen thưởng"}
# The amendment's refusals that concern one field of the form, not a row.
FIELD_OF_REFUSAL = {
    "decision_number_taken": "decision_number",
    "decision_not_found": "amends",
    "prize_required": "changes",
}


@blueprint.route("/", methods=["GET", "POST"])
@requires_role(*COUNCIL, "home_affairs")
def sessions() -> Any:
    """The sessions so far and, for the secretary, the form that opens one with the members present."""
    client = api()
    campaign = campaign_of(client, request.values.get("campaign"))
    refusal: ApiProblem | None = None
    present = request.form.getlist("present")
    if request.method == "POST":
        if not _has_role("council_secretary"):
            return render_template("error.html", status=403, message="Chỉ Thư ký Hội đồng khai mạc phiên họp."), 403
        try:
            opened = client.post("/awards/sessions", {"campaign": campaign["code"], "present": present})
            return redirect(url_for("council.session", session_id=opened["id"], notice="session_opened"))
        except ApiRefusal as problem:
            refusal = problem
    page = render_template(
        "council/sessions.html",
        campaign=campaign,
        sessions=client.get("/awards/sessions", campaign=campaign["code"], page_size=100),
        roster=portal().campaigns[campaign["code"]].council.members,
        present=present,
        refusal=refusal,
        can_open=_has_role("council_secretary"),
    )
    return (page, refusal.status) if refusal else page


@blueprint.get("/sessions/<session_id>")
@requires_role(*COUNCIL, "home_affairs")
def session(session_id: str) -> Any:
    return _session(session_id)


@blueprint.post("/sessions/<session_id>/votes")
@requires_role(*COUNCIL)
def vote(session_id: str) -> Any:
    dossier_id = request.form.get("dossier_id", "")
    try:
        api().post(
            f"/awards/sessions/{session_id}/votes", {"dossier_id": dossier_id, "choice": request.form.get("choice")}
        )
    except ApiRefusal as problem:
        return _session(session_id, vote_errors={dossier_id: problem.detail}), problem.status
    return redirect(url_for("council.session", session_id=session_id, notice="voted", _anchor=f"vote-{dossier_id}"))


@blueprint.post("/sessions/<session_id>/close")
@requires_role("council_chair", "council_secretary")
def close(session_id: str) -> Any:
    try:
        api().post(f"/awards/sessions/{session_id}/close")
    except ApiRefusal as problem:
        return _session(session_id, close_refusal=problem), problem.status
    return redirect(url_for("council.session", session_id=session_id, notice="session_closed"))


@blueprint.post("/sessions/<session_id>/adjourn")
@requires_role("council_chair", "council_secretary")
def adjourn(session_id: str) -> Any:
    try:
        api().post(f"/awards/sessions/{session_id}/adjourn", {"reason": request.form.get("reason", "").strip()})
    except ApiRefusal as problem:
        return _session(session_id, adjourn_refusal=problem), problem.status
    return redirect(url_for("council.session", session_id=session_id, notice="session_adjourned"))


def _session(
    session_id: str,
    vote_errors: dict[str, str] | None = None,
    close_refusal: ApiProblem | None = None,
    adjourn_refusal: ApiProblem | None = None,
) -> str:
    found = api().get(f"/awards/sessions/{session_id}")
    person = account()
    names = {member.id: member.name for member in portal().campaigns[found["campaign"]].council.members}
    seat = person.person_id if person else None
    mine = {
        candidate["dossier_id"]: next((v["choice"] for v in candidate["votes"] if v["member"] == seat), None)
        for candidate in found["candidates"]
    }
    return render_template(
        "council/session.html",
        session=found,
        names=names,
        choices=CHOICES,
        mine=mine,
        can_vote=found["state"] == "open" and any(member["id"] == seat for member in found["present"]),
        can_close=found["state"] == "open" and (_has_role("council_chair") or _has_role("council_secretary")),
        vote_errors=vote_errors or {},
        close_refusal=close_refusal,
        adjourn_refusal=adjourn_refusal,
        refresh=REFRESH_SECONDS if found["state"] == "open" else None,
    )


@blueprint.route("/decision", methods=["GET", "POST"])
@requires_role("council_chair")
def decision() -> Any:
    """The chair's decision: its number and date (dd/mm/yyyy); every award follows from the council's votes.
    Once there is one, the page offers the amending decision instead."""
    client = api()
    campaign = campaign_of(client, request.values.get("campaign"))
    if request.method == "GET":
        return _decision_page(client, campaign)
    errors: dict[str, list[str]] = {}
    refusal: str | None = None
    day = read_day(request.form.get("decision_date", ""))
    if day is None:
        errors["decision_date"] = [DATE_MESSAGE]
    else:
        try:
            body = {
                "decision_number": request.form.get("decision_number", "").strip(),
                "decision_date": day.isoformat(),
            }
            client.post(f"/awards/campaigns/{campaign['code']}/decision", body)
            return redirect(url_for("awards.prizes", campaign=campaign["code"], notice="decided"))
        except ApiRefusal as problem:
            errors, refusal = problem.errors, problem.detail
    return _decision_page(client, campaign, errors, refusal), 400


@blueprint.post("/decision/amendments")
@requires_role("council_chair")
def amend() -> Any:
    """An amending decision: it names the decision it amends, has its own number, date and reason, and for each
    dossier it changes, grants it (with its prize) or withdraws the award. The earlier decision stays as it was."""
    client = api()
    campaign = campaign_of(client, request.form.get("campaign"))
    body, errors = read_amendment(request.form, _decided(client, campaign["code"]))
    refusal: str | None = None
    if not errors:
        amends = quote(request.form.get("amends", ""), safe="/")
        try:
            client.post(f"/awards/campaigns/{campaign['code']}/decisions/{amends}/amendments", body)
            return redirect(url_for("awards.prizes", campaign=campaign["code"], notice="amended"))
        except ApiProblem as problem:
            if problem.status == 404 and problem.code != "decision_not_found":
                raise
            errors, refusal = _amendment_errors(problem, body)
    return _decision_page(client, campaign, errors, refusal), 400


def read_amendment(
    form: MultiDict[str, str], decided: list[dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The amendment's body from the form, and what is wrong before asking the API: the date, and a unit granted
    without its prize (the API would refuse it without saying which row)."""
    errors: dict[str, list[str]] = {}
    day = read_day(form.get("decision_date", ""))
    if day is None:
        errors["decision_date"] = [DATE_MESSAGE]
    changes = []
    for candidate in decided:
        dossier_id = candidate["dossier_id"]
        choice, rank = form.get(f"change.{dossier_id}", ""), form.get(f"prize.{dossier_id}", "")
        if choice not in ("grant", "withdraw"):  # "": kept as decided
            continue
        granted = choice == "grant"
        if granted and candidate["prizes"] and not rank.isdigit():
            errors[f"prize.{dossier_id}"] = ["Vui lòng chọn giải cho đơn vị được khen thưởng."]
        prize_rank = int(rank) if granted and candidate["prizes"] and rank.isdigit() else None
        changes.append({"dossier_id": dossier_id, "granted": granted, "prize_rank": prize_rank})
    body = {
        "decision_number": form.get("decision_number", "").strip(),
        "decision_date": day.isoformat() if day else None,
        "reason": form.get("reason", "").strip(),
        "changes": changes,
    }
    return body, errors


def _amendment_errors(problem: ApiProblem, body: dict[str, Any]) -> tuple[dict[str, list[str]], str | None]:
    """The API's refusal next to the field it concerns; its paths (``changes.0.prize_rank``) back to the rows."""
    if problem.code in FIELD_OF_REFUSAL:
        return {FIELD_OF_REFUSAL[problem.code]: [problem.detail]}, None
    if problem.code == "not_decided":
        return {f"change.{problem.body.get('dossier_id')}": [problem.detail]}, None
    found: dict[str, list[str]] = {}
    for path, messages in problem.errors.items():
        parts = path.split(".")
        if parts[0] == "changes" and len(parts) == 3 and int(parts[1]) < len(body["changes"]):
            row = "prize" if parts[2] == "prize_rank" else "change"
            found[f"{row}.{body['changes'][int(parts[1])]['dossier_id']}"] = messages
        else:
            found.setdefault(parts[0], []).extend(messages)
    return found, None if found else problem.detail


def _decided(client: ApiClient, code: str) -> list[dict[str, Any]]:
    """Every nomination a decision settled, granted or refused: what an amending decision may change, each with
    the prizes its track offers (none for an individual, whose award is fixed)."""
    campaign = portal().campaigns[code]
    return [
        {**candidate, "prizes": campaign.track(candidate["track"]).prizes if candidate["kind"] == "collective" else ()}
        for proposal in client.get("/awards/proposals", campaign=code)
        for candidate in [*proposal["candidates"], *proposal["not_proposed"]]
        if candidate["state"] in ("granted", "refused")
    ]


def _decision_page(
    client: ApiClient, campaign: dict[str, Any], errors: dict[str, list[str]] | None = None, refusal: str | None = None
) -> str:
    decisions = client.get(f"/awards/campaigns/{campaign['code']}/awards")["decisions"]
    return render_template(
        "council/decision.html",
        campaign=campaign,
        decisions=decisions,
        fields=DECISION_FIELDS,
        reason_field=REASON_FIELD,
        values={name: request.form.get(name, "").strip() for name in ("decision_number", "decision_date", "reason")},
        form=request.form,
        amends=request.form.get("amends") or (decisions[-1]["number"] if decisions else ""),
        decided=_decided(client, campaign["code"]) if decisions else [],
        changes=CHANGES,
        errors=errors or {},
        refusal=refusal,
    )


def _has_role(role: str) -> bool:
    person = account()
    return person is not None and role in person.roles
