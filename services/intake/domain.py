"""The award dossier as its unit prepares it: the lifecycle, what makes it complete, and when it may be sent.

Pure Python: values in, values out, no Flask, SQLAlchemy or kombu.

    draft ──submit──▶ submitted ──reopen (review returned it)──▶ returned ──resubmit──▶ submitted …
    submitted ──award──▶ awarded        submitted | returned ──refuse──▶ not_awarded   (amendments: either way)
    draft | submitted | returned ──withdraw──▶ withdrawn   (only until the proposal is sent)

A dossier still returned when the proposal is signed is left out of it; the chair's decision ends the campaign for
it too, so it is refused from ``returned`` and its unit reads why.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from shared.campaigns import Campaign
from shared.catalogue import UNIT_REPORT_FIELDS
from shared.clock import format_local_date, is_by_deadline
from shared.events import Actor
from shared.statemachine import Aggregate, Lifecycle, Move, RuleViolation, StateChange


class DossierState(enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"
    AWARDED = "awarded"
    NOT_AWARDED = "not_awarded"


class Kind(enum.Enum):
    COLLECTIVE = "collective"
    INDIVIDUAL = "individual"


S = DossierState
LIFECYCLE = Lifecycle(
    "dossier",
    DossierState,
    S.DRAFT,
    [
        Move("submit", S.DRAFT, S.SUBMITTED, "dossier.submitted"),
        Move("reopen", S.SUBMITTED, S.RETURNED, "dossier.reopened"),
        Move("resubmit", S.RETURNED, S.SUBMITTED, "dossier.resubmitted"),
        Move("withdraw", [S.DRAFT, S.SUBMITTED, S.RETURNED], S.WITHDRAWN, "dossier.withdrawn"),
        # An amending decision may turn one outcome into the other; the dossier's state follows it.
        Move("award", [S.SUBMITTED, S.NOT_AWARDED], S.AWARDED, "dossier.awarded"),
        Move("refuse", [S.SUBMITTED, S.RETURNED, S.AWARDED], S.NOT_AWARDED, "dossier.not_awarded"),
    ],
    noun="hồ sơ",
    state_names={
        S.DRAFT: "bản nháp",
        S.SUBMITTED: "đã nộp",
        S.RETURNED: "bị trả lại để bổ sung",
        S.WITHDRAWN: "đã rút",
        S.AWARDED: "được khen thưởng",
        S.NOT_AWARDED: "không được khen thưởng",
    },
    action_names={
        "submit": "nộp",
        "reopen": "trả lại",
        "resubmit": "nộp lại",
        "withdraw": "rút",
        "award": "ghi nhận khen thưởng",
        "refuse": "ghi nhận không khen thưởng",
    },
)
EDITABLE = frozenset({S.DRAFT, S.RETURNED})
SECTIONS = ("nominee", "report", "self_assessment")
DECIDED = frozenset({S.AWARDED, S.NOT_AWARDED})

# What a complete dossier must say, by kind; labels name each item to the clerk (Phụ lục 1's own words).
REQUIRED: Mapping[Kind, tuple[str, ...]] = {
    Kind.COLLECTIVE: (
        "report.address",
        "report.phone",
        "report.structure",
        "report.staff_count",
        "report.functions",
        "report.achievements",
        "report.measures",
        "self_assessment.online_case_files",
        "self_assessment.total_case_files",
        "self_assessment.online_procedures",
        "self_assessment.total_procedures",
    ),
    Kind.INDIVIDUAL: (
        "nominee.full_name",
        "nominee.date_of_birth",
        "nominee.home_town",
        "nominee.residence",
        "nominee.position",
        "report.achievements",
        "report.measures",
    ),
}
LABELS = {
    "report.address": "Địa điểm trụ sở chính",
    "report.phone": "Điện thoại",
    "report.structure": "Cơ cấu tổ chức",
    "report.staff_count": "Tổng số cán bộ, công chức và viên chức",
    "report.functions": "Chức năng, nhiệm vụ được giao",
    "report.achievements": "Thành tích đạt được",
    "report.measures": "Các biện pháp, giải pháp đạt được thành tích",
    "self_assessment.online_case_files": "Số hồ sơ TTHC xử lý trực tuyến mức 4 (tự chấm)",
    "self_assessment.total_case_files": "Tổng số hồ sơ TTHC (tự chấm)",
    "self_assessment.online_procedures": "Số TTHC mức 4 có phát sinh hồ sơ trực tuyến (tự chấm)",
    "self_assessment.total_procedures": "Tổng số TTHC mức 4 (tự chấm)",
    "nominee.full_name": "Họ và tên",
    "nominee.date_of_birth": "Ngày, tháng, năm sinh",
    "nominee.home_town": "Quê quán",
    "nominee.residence": "Nơi thường trú",
    "nominee.position": "Chức vụ",
}


@dataclass(frozen=True)
class MissingItem:
    code: str  # "missing_field" or "missing_document"
    item: str  # the field path, or the document kind
    message: str


@dataclass
class DocumentVersion:
    """One upload of one of the dossier's documents; a replacement is a new version, the old ones stay."""

    kind: str
    version: int
    sha256: str
    size: int
    content_type: str
    filename: str
    uploaded_at: datetime
    uploaded_by: str
    uploaded_by_name: str

    def meta(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "version": self.version,
            "sha256": self.sha256,
            "size": self.size,
            "content_type": self.content_type,
            "filename": self.filename,
            "uploaded_at": self.uploaded_at,
        }


class Dossier(Aggregate):
    subject_type = "dossier"

    def __init__(self, campaign: str, unit: str, kind: Kind, created_by: Actor, created_at: datetime):
        self.id = str(uuid.uuid4())
        self.campaign = campaign
        self.unit = unit
        self.kind = kind
        self.state = S.DRAFT
        self.round = 0
        self.nominee: dict[str, Any] | None = {} if kind is Kind.INDIVIDUAL else None
        self.report: dict[str, Any] = {}
        self.self_assessment: dict[str, Any] | None = {} if kind is Kind.COLLECTIVE else None
        self.documents: list[DocumentVersion] = []
        self.return_reasons: list[dict[str, Any]] | None = None
        self.outcome: dict[str, Any] | None = None
        self.created_by = created_by.id
        self.created_at = created_at
        self.updated_at = created_at
        self.submitted_at: datetime | None = None

    @property
    def nominee_name(self) -> str | None:
        return (self.nominee or {}).get("full_name")

    @property
    def has_moved(self) -> bool:
        """Whether the dossier ever changed state, so has a history: a draft never did, no move leads back to it."""
        return self.state is not S.DRAFT

    @property
    def campaign_code(self) -> str:
        return self.campaign

    @property
    def unit_code(self) -> str:
        return self.unit

    # -- the unit's work on its draft ----------------------------------------------------------------------

    def edit(self, changes: Mapping[str, Mapping[str, Any] | None], at: datetime) -> list[str]:
        """Merge ``changes`` section by section (a None value clears a field); return the changed paths.

        Everything is checked on the merged result before anything is set: a refused edit changes nothing.
        """
        unknown = set(changes) - set(SECTIONS)
        if unknown:
            raise ValueError(f"a dossier has no sections {sorted(unknown)}")
        self.require_editable("sửa")
        self._require_sections_of_kind(changes)
        merged: dict[str, dict[str, Any]] = {}
        changed: list[str] = []
        for section, values in changes.items():
            if not values:
                continue
            current = dict(getattr(self, section) or {})
            for key, value in values.items():
                if current.get(key) != value:
                    changed.append(f"{section}.{key}")
                if value is None:
                    current.pop(key, None)
                else:
                    current[key] = value
            merged[section] = current
        _require_consistent_counts(merged.get("self_assessment", self.self_assessment))
        for section, values in merged.items():
            setattr(self, section, values)
        self.updated_at = at
        return changed

    def attach(
        self, kind: str, sha256: str, size: int, content_type: str, filename: str, actor: Actor, at: datetime
    ) -> DocumentVersion:
        self.require_editable("tải tài liệu lên")
        self.updated_at = at  # the row changes too, so two uploads at once meet the version check
        previous = self.current_documents().get(kind)
        document = DocumentVersion(
            kind=kind,
            version=previous.version + 1 if previous else 1,
            sha256=sha256,
            size=size,
            content_type=content_type,
            filename=filename,
            uploaded_at=at,
            uploaded_by=actor.id,
            uploaded_by_name=actor.name,
        )
        self.documents.append(document)
        return document

    def current_documents(self) -> dict[str, DocumentVersion]:
        latest: dict[str, DocumentVersion] = {}
        for document in self.documents:
            if document.kind not in latest or document.version > latest[document.kind].version:
                latest[document.kind] = document
        return latest

    def missing(self, campaign: Campaign) -> list[MissingItem]:
        """Everything still missing for submission, all at once, as the one-stop rule asks."""
        items = [
            MissingItem("missing_field", path, f"Chưa có: {LABELS[path]}.")
            for path in REQUIRED[self.kind]
            if _blank(self._value(path))
        ]
        present = self.current_documents()
        items += [
            MissingItem("missing_document", doc.code, f"Chưa tải lên: {doc.name}.")
            for doc in campaign.documents
            if doc.code not in present
        ]
        return items

    # -- transitions ---------------------------------------------------------------------------------------

    def submit(
        self, campaign: Campaign, deadline: date, actor: Actor, at: datetime, *, proposal_sent: bool = False
    ) -> StateChange:
        """Send the dossier (again, after a return) to Culture & Information: complete, in time, and while the
        proposal is not yet with Home Affairs — a dossier sent after it could be neither proposed nor left out
        with a reason, so its unit would never hear an outcome."""
        trigger = "resubmit" if self.state is S.RETURNED else "submit"
        LIFECYCLE.require(self, trigger)
        if proposal_sent:
            raise RuleViolation(
                "proposal_already_sent",
                "Phòng Văn hóa và Thông tin đã gửi đề nghị khen thưởng; hồ sơ không thể nộp nữa.",
            )
        missing = self.missing(campaign)
        if missing:
            raise DossierIncomplete(missing)
        if not is_by_deadline(at, deadline):
            raise RuleViolation(
                "deadline_passed",
                f"Đã quá hạn nộp hồ sơ ({format_local_date(deadline)}); hồ sơ không thể nộp.",
                deadline=deadline.isoformat(),
            )
        self.round += 1
        self.submitted_at = at
        self.updated_at = at
        return LIFECYCLE.fire(self, trigger, actor=actor, at=at, payload=self.contents())

    def withdraw(self, actor: Actor, at: datetime, reason: str | None, proposal_sent: bool) -> StateChange:
        LIFECYCLE.require(self, "withdraw")
        if proposal_sent and self.state is not S.DRAFT:
            raise RuleViolation(
                "proposal_already_sent",
                "Phòng Văn hóa và Thông tin đã gửi đề nghị khen thưởng; hồ sơ không thể rút nữa.",
            )
        self.updated_at = at
        return LIFECYCLE.fire(self, "withdraw", actor=actor, at=at, reason=reason, payload=self._kind_and_round())

    def reopen(self, reasons: Sequence[Mapping[str, Any]], actor: Actor, at: datetime) -> None:
        """Review returned the dossier: back into the unit's hands, with everything it has to fix."""
        LIFECYCLE.require(self, "reopen")
        self.return_reasons = [dict(reason) for reason in reasons]
        self.updated_at = at
        summary = "; ".join(str(reason["message"]) for reason in reasons)
        payload = {"round": self.round, "reasons": [dict(reason) for reason in reasons]}
        LIFECYCLE.fire(self, "reopen", actor=actor, at=at, reason=summary, payload=payload)

    def may_take_outcome(self, granted: bool) -> bool:
        """Whether the council's word can land here: a move to it, or an amendment keeping the state."""
        trigger = "award" if granted else "refuse"
        return trigger in LIFECYCLE.allowed(self.state) or self.state is (S.AWARDED if granted else S.NOT_AWARDED)

    def decide(self, granted: bool, outcome: Mapping[str, Any], actor: Actor, at: datetime) -> bool:
        """Record the council's outcome, or an amending decision's; the earlier outcome is kept as ``previous``.

        Returns False when an amendment left the state as it was (a new prize, say): no transition happened, and
        the caller announces the amendment itself.
        """
        trigger = "award" if granted else "refuse"
        unchanged = self.state is (S.AWARDED if granted else S.NOT_AWARDED)
        if not unchanged:
            LIFECYCLE.require(self, trigger)
        previous = self.outcome
        self.outcome = {**outcome, "granted": granted, "previous": previous}
        self.updated_at = at
        if unchanged:
            return False
        payload = {"outcome": dict(outcome), "previous": terms(previous)}
        LIFECYCLE.fire(self, trigger, actor=actor, at=at, reason=outcome.get("reason"), payload=payload)
        return True

    # -- what events carry ---------------------------------------------------------------------------------

    def contents(self) -> dict[str, Any]:
        return {
            **self._kind_and_round(),
            "nominee": self.nominee,
            "report": self.report,
            "self_assessment": self.self_assessment,
            "documents": [doc.meta() for doc in sorted(self.current_documents().values(), key=lambda d: d.kind)],
            "submitted_at": self.submitted_at,
        }

    def _kind_and_round(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "round": self.round}

    def _value(self, path: str) -> Any:
        section, _, key = path.partition(".")
        return (getattr(self, section) or {}).get(key)

    def _require_sections_of_kind(self, changes: Mapping[str, Any]) -> None:
        foreign = {
            Kind.COLLECTIVE: {"nominee": "Hồ sơ tập thể không có thông tin cá nhân được đề nghị."},
            Kind.INDIVIDUAL: {"self_assessment": "Hồ sơ cá nhân không có số liệu tự chấm của đơn vị."},
        }[self.kind]
        errors = {section: [message] for section, message in foreign.items() if changes.get(section)}
        if self.kind is Kind.INDIVIDUAL:
            errors |= {
                f"report.{key}": ["Chỉ hồ sơ tập thể mới khai thông tin đơn vị."]
                for key in UNIT_REPORT_FIELDS
                if (changes.get("report") or {}).get(key) is not None
            }
        if errors:
            raise InvalidContents("not_for_this_kind", errors)

    def require_editable(self, action: str) -> None:
        if self.state not in EDITABLE:
            raise RuleViolation(
                "dossier_not_editable",
                f"Chỉ {action} được khi hồ sơ là bản nháp hoặc bị trả lại; hồ sơ đang ở trạng thái "
                f"“{LIFECYCLE.state_names[self.state.value]}”.",
                state=self.state.value,
            )


class DossierIncomplete(RuleViolation):
    status = 422

    def __init__(self, missing: Sequence[MissingItem]):
        super().__init__(
            "dossier_incomplete",
            f"Hồ sơ còn thiếu {len(missing)} mục; vui lòng bổ sung đầy đủ rồi nộp lại.",
            missing=[{"code": m.code, "item": m.item, "message": m.message} for m in missing],
        )
        self.missing = list(missing)


class InvalidContents(RuleViolation):
    """Contents that each look right but do not fit together, or do not fit the dossier; named field by field."""

    status = 400

    def __init__(self, code: str, errors: Mapping[str, list[str]]):
        super().__init__(
            "validation_failed",
            "Dữ liệu gửi lên chưa hợp lệ; xem lỗi của từng trường.",
            errors={path: [{"code": code, "message": m} for m in messages] for path, messages in errors.items()},
        )


def _require_consistent_counts(counts: Mapping[str, Any] | None) -> None:
    counts = counts or {}
    errors = {
        f"self_assessment.online_{what}": [f"Số {noun} trực tuyến không được lớn hơn tổng số {noun}."]
        for what, noun in (("case_files", "hồ sơ"), ("procedures", "thủ tục"))
        if counts.get(f"online_{what}") is not None
        and counts.get(f"total_{what}") is not None
        and counts[f"online_{what}"] > counts[f"total_{what}"]
    }
    if errors:
        raise InvalidContents("online_above_total", errors)


def terms(outcome: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """An outcome's terms as events carry them, without intake's own bookkeeping."""
    if outcome is None:
        return None
    return {key: value for key, value in outcome.items() if key not in {"granted", "previous"}}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
