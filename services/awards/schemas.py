"""The shapes of the awards service's requests."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from shared.problems import FieldMessage


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class NotPassed(_Strict):
    dossier_id = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class AppraisalIn(_Strict):
    decision = fields.String(required=True, validate=validate.OneOf(["pass", "return"]))
    reasons = fields.List(fields.String(validate=validate.Length(min=1, max=2000)), load_default=list)
    not_passed = fields.List(fields.Nested(NotPassed), load_default=list)


class SessionIn(_Strict):
    campaign = fields.String(required=True)
    present = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class VoteIn(_Strict):
    dossier_id = fields.String(required=True)
    choice = fields.String(required=True, validate=validate.OneOf(["approve", "reject", "abstain"]))


class AdjournIn(_Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class DecisionIn(_Strict):
    decision_number = fields.String(required=True, validate=validate.Length(min=1, max=100))
    decision_date = fields.Date(required=True)


class AmendmentChange(_Strict):
    dossier_id = fields.String(required=True)
    granted = fields.Boolean(required=True)
    prize_rank = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))


class AmendmentIn(DecisionIn):
    reason = fields.String(required=True, validate=validate.Length(min=5, max=5000))
    changes = fields.List(fields.Nested(AmendmentChange), required=True, validate=validate.Length(min=1))

    @validates("changes")
    def _each_nomination_once(self, changes: list[dict[str, Any]], **kwargs: object) -> None:
        seen: set[str] = set()
        twice: dict[int, dict[str, list[str]]] = {}
        for index, change in enumerate(changes):
            dossier_id = change.get("dossier_id")  # absent when it did not load: that error is reported already
            if dossier_id in seen:
                twice[index] = {"dossier_id": [_CHANGED_TWICE]}
            elif dossier_id is not None:
                seen.add(dossier_id)
        if twice:
            raise ValidationError(twice)


_CHANGED_TWICE = FieldMessage(
    "duplicate_dossier", "Đề nghị này đã có trong danh sách sửa đổi; mỗi đề nghị chỉ sửa một lần trong một quyết định."
)


class ProposalQuery(_Strict):
    campaign = fields.String()


class FormatQuery(_Strict):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "xlsx"]))
