"""The shapes of the review service's requests and answers (and so of its OpenAPI document)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from services.review.domain import NominationState
from shared.catalogue import ReturnReason


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class StepDecisionIn(_Strict):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "reject"]))
    note = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    override = fields.Boolean(
        load_default=False, metadata={"description": "approve figures that differ, with the note"}
    )


class ReturnIn(_Strict):
    reasons = fields.List(fields.Nested(ReturnReason), required=True, validate=validate.Length(min=1, max=100))


class ProposalIn(_Strict):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))


class DeadlineExtensionIn(_Strict):
    new_date = fields.Date(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=5, max=2000))


class NominationQuery(_Strict):
    campaign = fields.String()
    unit = fields.String()
    state = fields.Enum(NominationState, by_value=True)
    kind = fields.String(validate=validate.OneOf(["collective", "individual"]))


class FormatQuery(_Strict):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "xlsx"]))


class Upload(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class NominationSummary(Schema):
    id = fields.String()
    campaign = fields.String()
    unit = fields.String()
    kind = fields.String()
    state = fields.Enum(NominationState, by_value=True)
    round = fields.Integer()
    next_step = fields.Method("_next_step", allow_none=True)
    updated_at = fields.AwareDateTime()

    def _next_step(self, nomination: object) -> str | None:
        state = getattr(nomination, "state", None)
        return nomination.next_step() if state is NominationState.IN_REVIEW else None  # type: ignore[attr-defined]


class ProposalOut(Schema):
    id = fields.String()
    campaign = fields.String()
    state = fields.Function(lambda p: p.state.value)
    round = fields.Integer()
    contents = fields.Dict()
    return_reasons = fields.List(fields.String(), allow_none=True)
