"""The council's pages: its sessions, the secretary opening one with the members present, each member's votes,
the live tally and quorum, closing or adjourning, and the chair's decision.

A member votes as their seat on the roster (the account's person id), which is what the awards service counts;
it refuses a member's vote on their own unit, and the page shows why next to that candidate.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from services.portal.access import account, api, portal, requires_role
from services.portal.client import ApiProblem
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
        except ApiProblem as problem:
            if problem.status == 404:
                raise
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
    except ApiProblem as problem:
        if problem.status == 404:
            raise
        return _session(session_id, vote_errors={dossier_id: problem.detail}), problem.status
    return redirect(url_for("council.session", session_id=session_id, notice="voted", _anchor=f"vote-{dossier_id}"))


@blueprint.post("/sessions/<session_id>/close")
@requires_role("council_chair", "council_secretary")
def close(session_id: str) -> Any:
    try:
        api().post(f"/awards/sessions/{session_id}/close")
    except ApiProblem as problem:
        if problem.status == 404:
            raise
        return _session(session_id, close_refusal=problem), problem.status
    return redirect(url_for("council.session", session_id=session_id, notice="session_closed"))


@blueprint.post("/sessions/<session_id>/adjourn")
@requires_role("council_chair", "council_secretary")
def adjourn(session_id: str) -> Any:
    try:
        api().post(f"/awards/sessions/{session_id}/adjourn", {"reason": request.form.get("reason", "").strip()})
    except ApiProblem as problem:
        if problem.status == 404:
            raise
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
    """The chair's decision: its number and date (dd/mm/yyyy); every award follows from the council's votes."""
    client = api()
    campaign = campaign_of(client, request.values.get("campaign"))
    errors: dict[str, list[str]] = {}
    refusal: str | None = None
    number = request.form.get("decision_number", "").strip()
    day_text = request.form.get("decision_date", "").strip()
    if request.method == "POST":
        day = read_day(day_text)
        if day is None:
            errors["decision_date"] = ["Vui lòng ghi ngày theo dạng ngày/tháng/năm, ví dụ 20/12/2021."]
        else:
            try:
                body = {"decision_number": number, "decision_date": day.isoformat()}
                client.post(f"/awards/campaigns/{campaign['code']}/decision", body)
                return redirect(url_for("awards.prizes", campaign=campaign["code"], notice="decided"))
            except ApiProblem as problem:
                if problem.status == 404:
                    raise
                errors, refusal = problem.errors, problem.detail
    awards = client.get(f"/awards/campaigns/{campaign['code']}/awards")
    page = render_template(
        "council/decision.html",
        campaign=campaign,
        decisions=awards["decisions"],
        number_field=DECISION_FIELDS[0],
        date_field=DECISION_FIELDS[1],
        number=number,
        day=day_text,
        errors=errors,
        refusal=refusal,
    )
    return (page, 400) if errors or refusal else page


def _has_role(role: str) -> bool:
    person = account()
    return person is not None and role in person.roles
