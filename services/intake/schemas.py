"""The shapes of the intake service's requests and answers (and so of its OpenAPI document)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from services.intake.domain import DossierState, Kind
from shared.catalogue import Nominee, RecordedOutcome, Report, ReturnReason, SelfAssessment
from shared.clock import end_of_local_day, local_date
from shared.money import format_vnd, vnd_in_words
from shared.problems import FieldMessage
from shared.rates import format_percent, percent_text


class UnitSchema(Schema):
    code = fields.String()
    name = fields.String()
    track = fields.String()
    level4_procedures = fields.Integer(allow_none=True)


class PrizeSchema(Schema):
    rank = fields.Integer()
    name = fields.String()
    award = fields.String()
    amount = fields.Integer(metadata={"description": "VND"})
    amount_text = fields.Function(lambda prize: format_vnd(prize.amount))
    amount_words = fields.Function(lambda prize: vnd_in_words(prize.amount))


class TrackSchema(Schema):
    code = fields.String()
    name = fields.String()
    prizes = fields.List(fields.Nested(PrizeSchema))
    total = fields.Integer(metadata={"description": "The most the track pays out, in VND"})


class TargetSchema(Schema):
    code = fields.String()
    name = fields.String()
    threshold_percent = fields.Function(lambda target: percent_text(target.threshold))
    threshold_text = fields.Function(lambda target: format_percent(target.threshold))


class DocumentKindSchema(Schema):
    code = fields.String()
    name = fields.String()


class IndividualsSchema(Schema):
    per_winning_unit = fields.Integer()
    max_total = fields.Integer()
    award = fields.String()
    legal_basis = fields.String()
    amount = fields.Integer()
    amount_text = fields.Function(lambda individuals: format_vnd(individuals.amount))


class CampaignSummarySchema(Schema):
    code = fields.String()
    name = fields.String()
    year = fields.Integer()
    deadlines = fields.Method("_deadlines")

    def _deadlines(self, campaign: Any) -> dict[str, dict[str, str]]:
        return {
            name: {"date": day.isoformat(), "ends_at": end_of_local_day(day).isoformat()}
            for name, day in (("dossier", campaign.dossier_deadline), ("proposal", campaign.proposal_deadline))
        }


class CampaignSchema(CampaignSummarySchema):
    organiser = fields.String()
    timezone = fields.String()
    data_window = fields.Method("_data_window")
    tracks = fields.List(fields.Nested(TrackSchema))
    units = fields.List(fields.Nested(UnitSchema))
    targets = fields.List(fields.Nested(TargetSchema))
    documents = fields.List(fields.Nested(DocumentKindSchema))
    individuals = fields.Nested(IndividualsSchema)
    funding = fields.String()

    def _data_window(self, campaign: Any) -> dict[str, str]:
        return {"start": campaign.data_window_start.isoformat(), "end": campaign.data_window_end.isoformat()}


# -- dossiers: what a clerk sends ------------------------------------------------------------------------------


class NomineeInput(Nominee):
    @validates("date_of_birth")
    def _born_in_the_past(self, value: date | None, **kwargs: object) -> None:
        if value is not None and value > local_date(current_app.extensions["thidua.runtime"].clock.now()):
            raise ValidationError(FieldMessage("date_in_future", "Ngày sinh không được ở tương lai."))


class DossierCreate(Schema):
    class Meta:
        unknown = RAISE

    campaign = fields.String(required=True, metadata={"example": "chau-thanh-2021"})
    kind = fields.Enum(Kind, by_value=True, required=True)
    nominee = fields.Nested(NomineeInput, allow_none=True)
    report = fields.Nested(Report, allow_none=True)
    self_assessment = fields.Nested(SelfAssessment, allow_none=True)

    @validates("campaign")
    def _campaign_exists(self, value: str, **kwargs: object) -> None:
        if value not in current_app.extensions["thidua.runtime"].campaigns:
            raise ValidationError(FieldMessage("unknown_campaign", f"Không có phong trào thi đua mã “{value}”."))


class DossierPatch(Schema):
    """Sections to change; inside a section, a field set to null is cleared and an absent one is kept."""

    class Meta:
        unknown = RAISE

    nominee = fields.Nested(NomineeInput, allow_none=True)
    report = fields.Nested(Report, allow_none=True)
    self_assessment = fields.Nested(SelfAssessment, allow_none=True)


class Withdrawal(Schema):
    class Meta:
        unknown = RAISE

    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class DeadlineExtension(Schema):
    class Meta:
        unknown = RAISE

    new_date = fields.Date(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=5, max=2000))


class DossierQuery(Schema):
    class Meta:
        unknown = RAISE

    campaign = fields.String()
    unit = fields.String()
    state = fields.Enum(DossierState, by_value=True)
    kind = fields.Enum(Kind, by_value=True)


class Upload(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class DocumentQuery(Schema):
    class Meta:
        unknown = RAISE

    version = fields.Integer(validate=validate.Range(min=1))


# -- dossiers: what intake answers -----------------------------------------------------------------------------


class DocumentOut(Schema):
    kind = fields.String()
    version = fields.Integer()
    sha256 = fields.String()
    size = fields.Integer()
    content_type = fields.String()
    filename = fields.String()
    uploaded_at = fields.AwareDateTime()
    uploaded_by_name = fields.String()
    url = fields.Function(lambda doc: f"/intake/dossiers/{doc.dossier_id}/documents/{doc.kind}?version={doc.version}")


class DossierSummary(Schema):
    id = fields.String()
    campaign = fields.String()
    unit = fields.String()
    kind = fields.Enum(Kind, by_value=True)
    state = fields.Enum(DossierState, by_value=True)
    round = fields.Integer()
    nominee_name = fields.String(allow_none=True)
    updated_at = fields.AwareDateTime()
    submitted_at = fields.AwareDateTime(allow_none=True)
    outcome = fields.Nested(RecordedOutcome, allow_none=True)  # the award or the reason there is none, once decided


class _MissingOut(Schema):
    code = fields.String()
    item = fields.String()
    message = fields.String()


class _HistoryOut(Schema):
    trigger = fields.String()
    from_state = fields.String()
    to_state = fields.String()
    to_state_name = fields.String()
    actor = fields.Dict()
    reason = fields.String(allow_none=True)
    occurred_at = fields.AwareDateTime()


class _DeadlineOut(Schema):
    date = fields.Date()
    ends_at = fields.AwareDateTime()


class DossierOut(DossierSummary):
    """One dossier as its unit and the staff follow it."""

    unit_name = fields.String()
    state_name = fields.String()
    allowed_actions = fields.List(fields.String())
    nominee = fields.Nested(Nominee, allow_none=True)
    report = fields.Nested(Report)
    self_assessment = fields.Nested(SelfAssessment, allow_none=True)
    documents = fields.List(fields.Nested(DocumentOut))
    document_history = fields.List(fields.Nested(DocumentOut))
    missing = fields.List(fields.Nested(_MissingOut))
    deadline = fields.Nested(_DeadlineOut, allow_none=True)
    return_reasons = fields.List(fields.Nested(ReturnReason), allow_none=True)
    history = fields.List(fields.Nested(_HistoryOut))
    created_at = fields.AwareDateTime()
