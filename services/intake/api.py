"""The intake service's routes: thin — parse, authorise, call a handler, render."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, g, request, send_file
from werkzeug.datastructures import FileStorage, MultiDict

from services.intake import handlers, queries
from services.intake.domain import Dossier
from services.intake.handlers import (
    AttachDocuments,
    CreateDossier,
    EditDossier,
    ExtendDeadline,
    Moved,
    NewDocument,
    SubmitDossier,
    WithdrawDossier,
)
from services.intake.queries import STAFF_ROLES, DossierFilter
from services.intake.schemas import (
    CampaignSchema,
    CampaignSummarySchema,
    DeadlineExtension,
    DocumentOut,
    DocumentQuery,
    DossierCreate,
    DossierOut,
    DossierPatch,
    DossierQuery,
    DossierSummary,
    Upload,
    Withdrawal,
)
from services.intake.storage import DocumentStore, StoredDocument, request_class_for
from shared.auth import ROLES, requires
from shared.campaigns import Campaign
from shared.db import UnitOfWork
from shared.http import ServiceBlueprint, current_runtime
from shared.problems import FieldMessage, Problem, validation_problem
from shared.service import ServiceRuntime
from shared.text import safe_filename

blueprint = ServiceBlueprint("intake", __name__, url_prefix="/", description="Tiếp nhận hồ sơ đề nghị khen thưởng")

READERS = ("unit_clerk", *STAFF_ROLES)  # a clerk reads their own unit's dossiers, the staff every dossier
MANY_DOCUMENTS = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "description": "One file per document kind, each part named by its kind (e.g. to_trinh).",
                "additionalProperties": {"type": "string", "format": "binary"},
            }
        }
    },
}


def setup(app: Flask, runtime: ServiceRuntime) -> None:
    """Uploads stream straight into the document store, hashed and size-checked as they arrive."""
    app.extensions["thidua.documents"] = DocumentStore(
        runtime.settings.documents_dir, runtime.settings.max_upload_bytes
    )
    app.request_class = request_class_for(lambda: current_app.extensions["thidua.documents"])


def store() -> DocumentStore:
    return current_app.extensions["thidua.documents"]


# -- campaigns -------------------------------------------------------------------------------------------------


@blueprint.get("/campaigns")
@requires(*ROLES)
@blueprint.response(200, CampaignSummarySchema(many=True))
def list_campaigns() -> Any:
    """Các phong trào thi đua (campaigns), newest first."""
    return sorted(current_runtime().campaigns.values(), key=lambda c: (-c.year, c.code))


@blueprint.get("/campaigns/<code>")
@requires(*ROLES)
@blueprint.response(200, CampaignSchema)
def get_campaign(code: str) -> Campaign:
    """One campaign: its units, tracks, targets, prizes, documents and deadlines."""
    return current_runtime().campaign(code)


@blueprint.post("/campaigns/<code>/deadline-extensions")
@requires("review_head", "admin")
@blueprint.arguments(DeadlineExtension)
@blueprint.response(201, DeadlineExtension)
def extend_deadline(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Gia hạn nộp hồ sơ: move the units' dossier deadline later, with the reason (audited)."""
    current_runtime().execute(handlers.extend_deadline, ExtendDeadline(code, body["new_date"], body["reason"], g.actor))
    return body


# -- dossiers --------------------------------------------------------------------------------------------------


@blueprint.post("/dossiers")
@requires("unit_clerk")
@blueprint.arguments(DossierCreate)
@blueprint.response(201, DossierOut)
def create_dossier(body: dict[str, Any]) -> dict[str, Any]:
    """Lập hồ sơ: a draft for the clerk's own unit."""
    return current_runtime().execute_and_render(handlers.create_dossier, CreateDossier(actor=g.actor, **body), _render)


@blueprint.get("/dossiers")
@requires(*READERS)
@blueprint.arguments(DossierQuery, location="query")
@blueprint.response(200, DossierSummary(many=True))
@blueprint.paginate()
def list_dossiers(query: dict[str, Any], pagination_parameters: Any) -> list[Any]:
    """The unit's own dossiers (a clerk), or every dossier (staff), filtered; newest change first."""
    with current_runtime().session() as session:
        page, total = queries.list_dossiers(
            session,
            g.actor,
            DossierFilter(**query),
            offset=pagination_parameters.first_item,
            limit=pagination_parameters.page_size,
        )
    pagination_parameters.item_count = total
    return page


@blueprint.get("/dossiers/<dossier_id>")
@requires(*READERS)
@blueprint.response(200, DossierOut)
def get_dossier(dossier_id: str) -> dict[str, Any]:
    """One dossier: contents, documents, state, the full history, return reasons and the outcome."""
    return _view(dossier_id)


@blueprint.patch("/dossiers/<dossier_id>")
@requires("unit_clerk")
@blueprint.arguments(DossierPatch)
@blueprint.response(200, DossierOut)
def edit_dossier(body: dict[str, Any], dossier_id: str) -> dict[str, Any]:
    """Sửa hồ sơ: a draft, or a dossier returned for revision."""
    return current_runtime().execute_and_render(handlers.edit_dossier, EditDossier(dossier_id, g.actor, body), _render)


@blueprint.put("/dossiers/<dossier_id>/documents/<kind>")
@requires("unit_clerk")
@blueprint.arguments(Upload, location="files")
@blueprint.response(201, DocumentOut)
def upload_document(files: dict[str, Any], dossier_id: str, kind: str) -> Any:
    """Tải lên một tài liệu (PDF, DOCX, DOC, JPEG, PNG); a replacement keeps the earlier versions."""
    if len(request.files.getlist("file")) > 1:  # one would be kept and the other silently dropped
        raise validation_problem({"file": [FieldMessage("duplicate_document", "Mỗi lần chỉ nhận một tệp.")]}, "files")
    upload = files["file"]
    # One unit of work: the checks, keeping the file, then the document's row, committed once. Should another
    # writer change the dossier meanwhile, the version check refuses this one (409) and the kept bytes stay
    # unreferenced: content-addressed files are never deleted on this path, as a concurrent upload of the same
    # bytes may be using them.
    with current_runtime().unit_of_work() as uow:
        try:
            # Every refusal the dossier can give comes before a file is kept. The dossier stays referenced here, so
            # the handler finds it in the session instead of loading it again.
            dossier = _may_upload(uow, dossier_id, kind)
            filename = safe_filename(upload.filename)
            stored = store().keep(upload.stream)
        finally:
            store().discard(upload.stream)
        [document] = handlers.attach_documents(
            AttachDocuments(dossier.id, g.actor, (_new_document(kind, stored, filename),)), uow
        )
        uow.commit()
        return document


@blueprint.post("/dossiers/<dossier_id>/documents")
@requires("unit_clerk")
@blueprint.doc(requestBody=MANY_DOCUMENTS)
@blueprint.response(201, DocumentOut(many=True))
def upload_documents(dossier_id: str) -> Any:
    """Tải lên nhiều tài liệu một lần: one file per document kind, each part named by its kind; all or none.

    Each file is judged and versioned as a single upload would be; a refusal of any of them (naming its field)
    keeps none.
    """
    # Parsed before the dossier is read, so that no transaction waits on a slow upload; the body may carry one file
    # of the largest size per kind.
    request.max_content_length = store().max_bytes * _most_document_kinds() + 1024 * 1024
    uploads = request.files
    try:
        with current_runtime().unit_of_work() as uow:
            dossier = handlers.clerks_dossier(uow, dossier_id, g.actor)
            dossier.require_editable("tải tài liệu lên")
            files = _files_by_kind(uow.campaign(dossier.campaign), uploads, request.form)
            filenames = {}
            for kind, upload in files.items():
                try:
                    filenames[kind] = safe_filename(upload.filename)
                except Problem as refused:
                    raise refused.about(kind) from None
            stored = store().keep_all({kind: upload.stream for kind, upload in files.items()})
            new = tuple(_new_document(kind, kept, filenames[kind]) for kind, kept in stored.items())
            documents = handlers.attach_documents(AttachDocuments(dossier.id, g.actor, new), uow)
            uow.commit()
            return documents
    finally:
        for _, upload in uploads.items(multi=True):
            store().discard(upload.stream)


@blueprint.get("/dossiers/<dossier_id>/documents/<kind>")
@requires(*READERS)
@blueprint.arguments(DocumentQuery, location="query")
@blueprint.doc(responses={"200": {"description": "The document's bytes, with its own content type."}})
def download_document(query: dict[str, Any], dossier_id: str, kind: str) -> Response:
    """Tải về: the current version of a document, or ``?version=N``."""
    with current_runtime().unit_of_work() as uow:
        dossier = handlers.clerks_dossier(uow, dossier_id, g.actor)
        versions = [d for d in dossier.documents if d.kind == kind]
    wanted = query.get("version") or max((d.version for d in versions), default=0)
    document = next((d for d in versions if d.version == wanted), None)
    if document is None:
        raise Problem(404, "document_not_found", "Hồ sơ chưa có tài liệu này (hoặc phiên bản này).")
    response = send_file(
        store().open(document.sha256),
        mimetype=document.content_type,
        as_attachment=True,
        download_name=document.filename,
        etag=document.sha256,
        conditional=True,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blueprint.post("/dossiers/<dossier_id>/submit")
@requires("unit_clerk")
@blueprint.response(200, DossierOut)
def submit_dossier(dossier_id: str) -> dict[str, Any]:
    """Nộp hồ sơ (or nộp lại after a return): refused with every missing item at once, or after the deadline."""
    command = SubmitDossier(dossier_id, g.actor)
    return current_runtime().execute_and_render(handlers.submit_dossier, command, _render_move)


@blueprint.post("/dossiers/<dossier_id>/withdraw")
@requires("unit_clerk")
@blueprint.arguments(Withdrawal)
@blueprint.response(200, DossierOut)
def withdraw_dossier(body: dict[str, Any], dossier_id: str) -> dict[str, Any]:
    """Rút hồ sơ, until Culture & Information has sent its proposal."""
    command = WithdrawDossier(dossier_id, g.actor, body.get("reason"))
    return current_runtime().execute_and_render(handlers.withdraw_dossier, command, _render_move)


def _view(dossier_id: str) -> dict[str, Any]:
    with current_runtime().unit_of_work() as uow:
        return queries.dossier_view(uow, dossier_id, g.actor)


def _render(dossier: Dossier, uow: UnitOfWork) -> dict[str, Any]:
    """The answer to a command: the dossier as it is committed, read in the command's own transaction."""
    return queries.dossier_view(uow, dossier.id, g.actor)


def _render_move(moved: Moved, uow: UnitOfWork) -> dict[str, Any]:
    """The answer to a command that moved the dossier: as :func:`_render`, knowing the move and the deadline."""
    return queries.dossier_view(uow, moved.dossier.id, g.actor, moved=moved)


def _may_upload(uow: UnitOfWork, dossier_id: str, kind: str) -> Dossier:
    dossier = handlers.clerks_dossier(uow, dossier_id, g.actor)
    dossier.require_editable("tải tài liệu lên")
    campaign = uow.campaign(dossier.campaign)
    kinds = [doc.code for doc in campaign.documents]
    if kind not in kinds:
        raise Problem(
            404,
            "unknown_document_kind",
            _unknown_kind(kind, kinds),
            accepted=kinds,
        )
    return dossier


def _new_document(kind: str, stored: StoredDocument, filename: str) -> NewDocument:
    return NewDocument(kind, stored.sha256, stored.size, stored.content_type, filename)


def _most_document_kinds() -> int:
    return max((len(campaign.documents) for campaign in current_runtime().campaigns.values()), default=1)


def _files_by_kind(
    campaign: Campaign, uploads: MultiDict[str, FileStorage], form: MultiDict[str, str]
) -> dict[str, FileStorage]:
    """The request's files by document kind, in the campaign's order; every field that is not one file of a known
    kind is refused, all at once."""
    kinds = [doc.code for doc in campaign.documents]
    errors: dict[str, list[FieldMessage]] = {}
    for field in form:
        errors[field] = [FieldMessage("unknown_field", "Chỉ nhận tệp, mỗi tệp mang tên loại tài liệu của nó.")]
    for field in uploads:
        if field not in kinds:
            errors[field] = [FieldMessage("unknown_document_kind", _unknown_kind(field, kinds))]
        elif len(uploads.getlist(field)) > 1:
            errors[field] = [FieldMessage("duplicate_document", "Mỗi loại tài liệu chỉ nhận một tệp mỗi lần.")]
    if not uploads and not errors:
        errors["_schema"] = [FieldMessage("required", "Hãy chọn ít nhất một tệp, mỗi tệp mang tên loại của nó.")]
    if errors:
        refused = validation_problem(errors, location="files")
        refused.extra["accepted"] = kinds
        raise refused
    return {kind: uploads[kind] for kind in kinds if kind in uploads}


def _unknown_kind(kind: str, kinds: list[str]) -> str:
    return f"Không có loại tài liệu “{kind}”; các loại: {', '.join(kinds)}."
