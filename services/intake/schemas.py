"""The shapes of the intake service's requests and answers (and so of its OpenAPI document)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from shared.clock import end_of_local_day
from shared.money import format_vnd, vnd_in_words
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
