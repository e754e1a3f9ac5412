"""The audit service's routes: read the log, follow a dossier, verify the chain. Nothing here writes.

Every route is for auditors (and admins). A list answers JSON pages, or every matching entry as CSV with
``?format=csv`` or ``Accept: text/csv``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response, request
from marshmallow import RAISE

from services.audit import queries
from services.audit.domain import Anchor
from services.audit.queries import BadCursor, EntryFilter, Ordering
from services.audit.schemas import EntryPage, EntryQuery, ExportQuery, Timeline, VerdictOut, VerifyQuery
from shared.auth import requires
from shared.http import ServiceBlueprint, current_runtime
from shared.problems import Problem

blueprint = ServiceBlueprint("audit", __name__, url_prefix="/", description="Nhật ký kiểm toán (audit)")

AUDITORS = ("auditor", "admin")
CSV = "text/csv"


@blueprint.get("/entries")
@requires(*AUDITORS)
@blueprint.arguments(EntryQuery, location="query", unknown=RAISE)
@blueprint.response(200, EntryPage)
@blueprint.doc(responses={200: {"content": {CSV: {"schema": {"type": "string"}}}}})
def list_entries(query: dict[str, Any]) -> Any:
    """Tra cứu nhật ký: entries by subject, dossier, unit, actor, role, event type, campaign and time; newest or
    oldest first, by arrival (``sort=seq``) or by when they happened (``sort=occurred``)."""
    wanted, ordering = EntryFilter.of(query), Ordering(query["sort"], query["order"])
    try:
        if query.get("cursor"):
            ordering.read_cursor(query["cursor"])  # refused now, not halfway through a download
        if wants_csv(query):
            rows = queries.every(current_runtime().sessions, wanted, ordering, query.get("cursor"))
            return csv_response(rows, "nhat-ky-kiem-toan.csv")
        with current_runtime().session() as session:
            found = queries.page(session, wanted, ordering, query["page_size"], query.get("cursor"))
    except BadCursor as err:
        raise bad_cursor(err) from None
    names = queries.names_of(current_runtime().campaigns)
    return {"entries": [queries.entry_view(entry, names) for entry in found.entries], "next": found.next}


@blueprint.get("/subjects/<subject_id>")
@requires(*AUDITORS)
@blueprint.arguments(ExportQuery, location="query", unknown=RAISE)
@blueprint.response(200, Timeline)
@blueprint.doc(responses={200: {"content": {CSV: {"schema": {"type": "string"}}}}})
def subject_timeline(query: dict[str, Any], subject_id: str) -> Any:
    """Dòng thời gian của một hồ sơ: everything that happened to it in intake, review and awards, in the order it
    happened — who (in which role, of which unit) did what, when, and why."""
    with current_runtime().session() as session:
        steps = queries.timeline(session, subject_id)
    if not steps:
        raise Problem(404, "subject_not_found", "Nhật ký không có sự kiện nào về đối tượng này.", subject=subject_id)
    if wants_csv(query):
        return csv_response(iter(steps), f"dong-thoi-gian-{_safe(subject_id)}.csv")
    names = queries.names_of(current_runtime().campaigns)
    return {"subject": subject_id, "entries": [queries.timeline_view(step, names) for step in steps]}


@blueprint.get("/verify")
@requires(*AUDITORS)
@blueprint.arguments(VerifyQuery, location="query", unknown=RAISE)
@blueprint.response(200, VerdictOut)
def verify(query: dict[str, Any]) -> dict[str, Any]:
    """Kiểm tra chuỗi: walk the whole hash chain and say it is intact (with the count and the head's hash), or
    where it first breaks and why. Give ``seq`` and ``hash`` of a head noted earlier to check it is still there."""
    anchor = Anchor(query["seq"], query["hash"]) if "seq" in query else None
    return queries.verify_log(current_runtime().sessions, anchor).as_dict()


# -- helpers of the views --------------------------------------------------------------------------------------------


def wants_csv(query: dict[str, Any]) -> bool:
    if "format" in query:
        return bool(query["format"] == "csv")
    return request.accept_mimetypes.best_match(["application/json", CSV]) == CSV


def csv_response(rows: Iterator[Any], filename: str) -> Response:
    names = queries.names_of(current_runtime().campaigns)
    response = Response(queries.csv_lines(rows, names), mimetype=CSV, content_type=f"{CSV}; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _safe(text: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in text[:60])


def bad_cursor(err: BadCursor) -> Problem:
    return Problem(
        400,
        "validation_failed",
        "Dữ liệu gửi lên chưa hợp lệ; xem lỗi của từng trường.",
        errors={"cursor": [{"code": "invalid_cursor", "message": "Con trỏ trang không hợp lệ; hãy mở lại trang đầu."}]},
        location="query",
        debug=str(err),
    )
