"""The review service's routes: thin — parse, authorise, call a handler, render."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, g, request

from services.review import handlers, queries
from services.review.domain import Nomination
from services.review.exports import summary_csv, summary_xlsx
from services.review.figures import FiguresRefused, read_figures
from services.review.handlers import (
    DecideStep,
    ExtendProposalDeadline,
    ImportFigures,
    ReturnNomination,
    SendProposal,
)
from services.review.queries import NominationFilter
from services.review.schemas import (
    DeadlineExtensionIn,
    FormatQuery,
    NominationQuery,
    NominationSummary,
    ProposalIn,
    ProposalOut,
    ReturnIn,
    StepDecisionIn,
)
from shared.auth import requires
from shared.db import UnitOfWork
from shared.http import ServiceBlueprint, current_runtime
from shared.problems import Problem
from shared.text import safe_filename

blueprint = ServiceBlueprint("review", __name__, url_prefix="/", description="Thẩm định của Phòng Văn hóa và Thông tin")

REVIEWERS = ("reviewer", "review_head")
QUEUE_READERS = (*REVIEWERS, "admin", "auditor")
STAFF = (*REVIEWERS, "home_affairs", "council_member", "council_secretary", "council_chair", "auditor", "admin")
FIGURES_MAX_BYTES = 5 * 1024 * 1024


# -- official figures ------------------------------------------------------------------------------------------


@blueprint.put("/campaigns/<code>/figures")
@requires(*REVIEWERS)
@blueprint.doc(
    requestBody={
        "description": "The one-stop shop's export: CSV (UTF-8, comma or semicolon) or XLSX, as a multipart `file` "
        "or as the raw body.",
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            }
        },
    }
)
def import_figures(code: str) -> Any:
    """Nhập số liệu chính thức: refused whole, with every bad row, or kept as the figures in force."""
    found = current_runtime().campaign(code)
    upload = request.files.get("file")
    data = upload.read(FIGURES_MAX_BYTES + 1) if upload else request.get_data()
    try:
        filename = safe_filename(upload.filename) if upload and upload.filename else None
    except Problem as refused:
        raise refused.about("file") from None
    try:
        rows = read_figures(data, found, filename)
    except FiguresRefused as refused:
        raise Problem(
            400,
            "figures_refused",
            f"Tệp số liệu có {len(refused.errors)} lỗi; không dòng nào được nhập. Sửa các dòng dưới đây rồi nhập lại.",
            rows=[error.__dict__ for error in refused.errors],
        ) from None
    result = current_runtime().execute(
        handlers.import_figures,
        ImportFigures(found.code, rows, hashlib.sha256(data).hexdigest(), filename, g.actor),
    )
    return result, 200


@blueprint.get("/campaigns/<code>/figures")
@requires(*STAFF)
def get_figures(code: str) -> Any:
    """Số liệu chính thức đang áp dụng, and every import so far (newest first)."""
    found = current_runtime().campaign(code)
    with current_runtime().session() as session:
        return {
            "campaign": found.code,
            "figures": queries.official_counts(session, found.code),
            "imports": queries.imports(session, found.code),
        }


# -- nominations -----------------------------------------------------------------------------------------------


@blueprint.get("/nominations")
@requires(*QUEUE_READERS)
@blueprint.arguments(NominationQuery, location="query")
@blueprint.response(200, NominationSummary(many=True))
@blueprint.paginate()
def list_nominations(query: dict[str, Any], pagination_parameters: Any) -> list[Any]:
    """The review queue, newest change first, filtered by campaign, unit, state or kind."""
    with current_runtime().session() as session:
        page, total = queries.list_nominations(
            session,
            NominationFilter(**query),
            offset=pagination_parameters.first_item,
            limit=pagination_parameters.page_size,
        )
    pagination_parameters.item_count = total
    return page


@blueprint.get("/nominations/<nomination_id>")
@requires(*QUEUE_READERS)
def get_nomination(nomination_id: str) -> Any:
    """One nomination: contents, documents, the figures side by side, the steps of this and earlier rounds."""
    return _nomination(nomination_id)


@blueprint.post("/nominations/<nomination_id>/steps/<step>")
@requires(*REVIEWERS)
@blueprint.arguments(StepDecisionIn)
def decide_step(body: dict[str, Any], nomination_id: str, step: str) -> Any:
    """Approve or reject a step (completeness, figures, appraisal), with a note."""
    command = DecideStep(
        nomination_id, step, body["decision"] == "approve", body["note"], g.actor, override=body["override"]
    )
    return current_runtime().execute_and_render(handlers.decide_step, command, _rendered)


@blueprint.post("/nominations/<nomination_id>/return")
@requires(*REVIEWERS)
@blueprint.arguments(ReturnIn)
def return_nomination(body: dict[str, Any], nomination_id: str) -> Any:
    """Trả lại đơn vị: one complete list of everything to fix (hướng dẫn bổ sung một lần đầy đủ)."""
    command = ReturnNomination(nomination_id, body["reasons"], g.actor)
    return current_runtime().execute_and_render(handlers.return_nomination, command, _rendered)


# -- ranking, summary, proposal --------------------------------------------------------------------------------


@blueprint.get("/campaigns/<code>/ranking")
@requires(*STAFF)
def get_ranking(code: str) -> Any:
    """Per track: every unit's counts, rates, targets met, rank, provisional prize, or why it is out."""
    found = current_runtime().campaign(code)
    with current_runtime().unit_of_work() as uow:
        return queries.ranking(uow, found)


@blueprint.get("/campaigns/<code>/summary")
@requires(*STAFF)
@blueprint.arguments(FormatQuery, location="query")
def get_summary(query: dict[str, Any], code: str) -> Any:
    """Bảng tổng hợp (Phụ lục 2): JSON, or ``?format=csv`` / ``?format=xlsx``."""
    found = current_runtime().campaign(code)
    with current_runtime().session() as session:
        table = queries.summary(session, found)
    if query["format"] == "csv":
        return _download(summary_csv(table), "text/csv; charset=utf-8", f"phu-luc-2-{found.code}.csv")
    if query["format"] == "xlsx":
        xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return _download(summary_xlsx(table), xlsx, f"phu-luc-2-{found.code}.xlsx")
    return table


@blueprint.post("/campaigns/<code>/proposal")
@requires("review_head")
@blueprint.arguments(ProposalIn)
@blueprint.response(201, ProposalOut)
def send_proposal(body: dict[str, Any], code: str) -> Any:
    """Ký và gửi đề nghị khen thưởng to Home Affairs, once every nomination is appraised or out."""
    return current_runtime().execute(
        handlers.send_proposal, SendProposal(current_runtime().campaign(code).code, g.actor, body.get("note"))
    )


@blueprint.get("/campaigns/<code>/proposal")
@requires(*STAFF)
@blueprint.response(200, ProposalOut)
def get_proposal(code: str) -> Any:
    found = current_runtime().campaign(code)
    with current_runtime().session() as session:
        proposal = queries.proposal_of(session, found.code)
    if proposal is None:
        raise Problem(404, "proposal_not_found", "Phòng Văn hóa và Thông tin chưa gửi đề nghị cho phong trào này.")
    return proposal


@blueprint.post("/campaigns/<code>/deadline-extensions")
@requires("home_affairs", "admin")
@blueprint.arguments(DeadlineExtensionIn)
@blueprint.response(201, DeadlineExtensionIn)
def extend_proposal_deadline(body: dict[str, Any], code: str) -> Any:
    """Gia hạn gửi đề nghị: move the proposal deadline later, with the reason (audited)."""
    command = ExtendProposalDeadline(current_runtime().campaign(code).code, body["new_date"], body["reason"], g.actor)
    current_runtime().execute(handlers.extend_proposal_deadline, command)
    return body


def _nomination(nomination_id: str) -> dict[str, Any]:
    with current_runtime().unit_of_work() as uow:
        return queries.nomination_view(uow, handlers.nomination_of(uow, nomination_id))


def _rendered(nomination: Nomination, uow: UnitOfWork) -> dict[str, Any]:
    """The answer to a command on a nomination, read in the command's own transaction (see execute_and_render)
    from the nomination the handler changed, not loaded again."""
    return queries.nomination_view(uow, nomination)


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
