"""The awards service's routes: thin — parse, authorise, call a handler, render."""

from __future__ import annotations

from typing import Any

from flask import Response, g

from services.awards import handlers, queries
from services.awards.handlers import (
    AdjournSession,
    AmendDecision,
    Appraise,
    CastVote,
    CloseSession,
    MakeDecision,
    OpenSession,
)
from services.awards.schemas import (
    AdjournIn,
    AmendmentIn,
    AppraisalIn,
    DecisionIn,
    FormatQuery,
    ProposalQuery,
    SessionIn,
    VoteIn,
)
from shared.auth import ROLES, requires
from shared.http import ServiceBlueprint, current_runtime

blueprint = ServiceBlueprint(
    "awards", __name__, url_prefix="/", description="Khen thưởng: Phòng Nội vụ, Hội đồng và Chủ tịch UBND Huyện"
)

COUNCIL = ("council_member", "council_secretary", "council_chair")
READERS = ("home_affairs", *COUNCIL, "review_head", "reviewer", "auditor", "admin")


@blueprint.get("/proposals")
@requires(*READERS)
@blueprint.arguments(ProposalQuery, location="query")
def list_proposals(query: dict[str, Any]) -> Any:
    """Tờ trình received from Culture & Information, with their candidates."""
    with current_runtime().session() as session:
        return queries.proposals(session, query.get("campaign"))


@blueprint.get("/proposals/<proposal_id>")
@requires(*READERS)
def get_proposal(proposal_id: str) -> Any:
    with current_runtime().unit_of_work() as uow:
        return queries.proposal_view(uow.session, handlers.proposal_of(uow, proposal_id))


@blueprint.post("/proposals/<proposal_id>/appraisal")
@requires("home_affairs")
@blueprint.arguments(AppraisalIn)
def appraise(body: dict[str, Any], proposal_id: str) -> Any:
    """Thẩm định tờ trình: pass it to the council (some nominations perhaps not), or return it with reasons."""
    command = Appraise(proposal_id, body["decision"] == "pass", g.actor, body["reasons"], body["not_passed"])
    current_runtime().execute(handlers.appraise, command)
    with current_runtime().unit_of_work() as uow:
        return queries.proposal_view(uow.session, handlers.proposal_of(uow, proposal_id))


@blueprint.post("/sessions")
@requires("council_secretary")
@blueprint.arguments(SessionIn)
def open_session(body: dict[str, Any]) -> Any:
    """Khai mạc phiên họp: the members present (ids of the campaign's council roster)."""
    session = current_runtime().execute(handlers.open_session, OpenSession(body["campaign"], body["present"], g.actor))
    return _session(session.id), 201


@blueprint.get("/sessions")
@requires(*READERS)
@blueprint.arguments(ProposalQuery, location="query")
@blueprint.paginate()
def list_sessions(query: dict[str, Any], pagination_parameters: Any) -> Any:
    """The council's sessions, newest first, with their state."""
    with current_runtime().session() as session:
        page, total = queries.sessions(
            session,
            query.get("campaign"),
            offset=pagination_parameters.first_item,
            limit=pagination_parameters.page_size,
        )
    pagination_parameters.item_count = total
    return page


@blueprint.get("/sessions/<session_id>")
@requires(*READERS)
def get_session(session_id: str) -> Any:
    """The session: who is present, the quorum, each candidate's tally and every member's vote."""
    return _session(session_id)


@blueprint.post("/sessions/<session_id>/votes")
@requires(*COUNCIL)
@blueprint.arguments(VoteIn)
def vote(body: dict[str, Any], session_id: str) -> Any:
    """Biểu quyết: approve, reject or abstain; a member may change their vote until the session closes."""
    # The session is read after the commit, not inside the vote's transaction: the vote holds the session's row
    # shared, and rendering every candidate's tally there would keep a close (which locks it) waiting longer.
    current_runtime().execute(handlers.cast_vote, CastVote(session_id, body["dossier_id"], body["choice"], g.actor))
    return _session(session_id)


@blueprint.post("/sessions/<session_id>/close")
@requires("council_chair", "council_secretary")
def close_session(session_id: str) -> Any:
    """Kết thúc phiên họp: count every vote; refused without quorum or with a tie the votes did not settle."""
    current_runtime().execute(handlers.close_session, CloseSession(session_id, g.actor))
    return _session(session_id)


@blueprint.post("/sessions/<session_id>/adjourn")
@requires("council_chair", "council_secretary")
@blueprint.arguments(AdjournIn)
def adjourn_session(body: dict[str, Any], session_id: str) -> Any:
    """Hoãn phiên họp (no quorum, say): its votes count for nothing, and a new session may be opened."""
    current_runtime().execute(handlers.adjourn_session, AdjournSession(session_id, body["reason"], g.actor))
    return _session(session_id)


@blueprint.post("/campaigns/<code>/decision")
@requires("council_chair")
@blueprint.arguments(DecisionIn)
def make_decision(body: dict[str, Any], code: str) -> Any:
    """Quyết định khen thưởng: number and date; every award with its certificate number. Written once."""
    command = MakeDecision(
        current_runtime().campaign(code).code, body["decision_number"], body["decision_date"], g.actor
    )
    return current_runtime().execute(handlers.make_decision, command), 201


@blueprint.post("/campaigns/<code>/decisions/<path:number>/amendments")
@requires("council_chair")
@blueprint.arguments(AmendmentIn)
def amend_decision(body: dict[str, Any], code: str, number: str) -> Any:
    """Quyết định sửa đổi: a new, numbered decision that corrects the one named; the earlier one stays as it was."""
    command = AmendDecision(
        current_runtime().campaign(code).code,
        number,
        body["decision_number"],
        body["decision_date"],
        body["reason"],
        body["changes"],
        g.actor,
    )
    return current_runtime().execute(handlers.amend_decision, command), 201


@blueprint.get("/campaigns/<code>/awards")
@requires(*ROLES)
@blueprint.arguments(FormatQuery, location="query")
def get_awards(query: dict[str, Any], code: str) -> Any:
    """The awards per track, amounts in figures and words, certificate numbers, the budget total; or CSV/XLSX."""
    found = current_runtime().campaign(code)
    with current_runtime().session() as session:
        result = queries.final_awards(session, found)
    if query["format"] == "csv":
        return _download(queries.awards_csv(result), "text/csv; charset=utf-8", f"khen-thuong-{found.code}.csv")
    if query["format"] == "xlsx":
        xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return _download(queries.awards_xlsx(result), xlsx, f"khen-thuong-{found.code}.xlsx")
    return result


def _session(session_id: str) -> dict[str, Any]:
    with current_runtime().unit_of_work() as uow:
        council_session = handlers.session_of(uow, session_id)
        return queries.session_view(uow.session, council_session, uow.campaign(council_session.campaign))


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
