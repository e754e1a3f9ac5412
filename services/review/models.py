"""The review service's own database: nominations and their step decisions, official figures, the proposal."""

from __future__ import annotations

import sqlalchemy as sa
from marshmallow import RAISE, Schema, fields
from sqlalchemy.orm import joinedload, registry, relationship

from services.review.domain import Nomination, NominationState, Proposal, ProposalState, StepDecision
from shared.catalogue import (
    DocumentMeta,
    Nominee,
    ProposedCollective,
    ProposedIndividual,
    Report,
    ReturnReason,
    SelfAssessment,
)
from shared.db import SchemaJSON, UtcDateTime, bus_tables, service_metadata
from shared.deadlines import deadline_extensions as shared_deadline_extensions

metadata = service_metadata()
bus = bus_tables(metadata)
deadline_extensions = shared_deadline_extensions(metadata)


class NominationContents(Schema):
    """What review keeps of a submitted dossier: the unit's own words and figures, and its documents' metadata."""

    class Meta:
        unknown = RAISE

    nominee = fields.Nested(Nominee, allow_none=True, load_default=None)
    report = fields.Nested(Report, required=True)
    self_assessment = fields.Nested(SelfAssessment, allow_none=True, load_default=None)
    documents = fields.List(fields.Nested(DocumentMeta), required=True)
    submitted_at = fields.AwareDateTime(required=True)


class ProposalContents(Schema):
    class Meta:
        unknown = RAISE

    dossier_ids = fields.List(fields.String(), required=True)
    collectives = fields.List(fields.Nested(ProposedCollective), required=True)
    individuals = fields.List(fields.Nested(ProposedIndividual), required=True)


def _enum(kind: type[NominationState] | type[ProposalState]) -> sa.Enum:
    return sa.Enum(kind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


nominations = sa.Table(
    "nominations",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),  # the dossier's id
    sa.Column("campaign", sa.String(100), nullable=False),
    sa.Column("unit", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("state", _enum(NominationState), nullable=False),
    sa.Column("round", sa.Integer, nullable=False),
    sa.Column("contents", SchemaJSON(NominationContents()), nullable=False),
    sa.Column("return_reasons", SchemaJSON(ReturnReason(), many=True)),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_nominations_campaign_unit", "campaign", "unit"),
    sa.Index("ix_nominations_state", "state"),
)

step_decisions = sa.Table(
    "step_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("nomination_id", sa.String(36), sa.ForeignKey("nominations.id"), nullable=False, index=True),
    sa.Column("round", sa.Integer, nullable=False),
    sa.Column("step", sa.String(30), nullable=False),
    sa.Column("approved", sa.Boolean, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("override", sa.Boolean, nullable=False),
    sa.Column("reviewer_id", sa.String(200), nullable=False),
    sa.Column("reviewer_name", sa.String(200), nullable=False),
    sa.Column("reviewer_unit", sa.String(100)),
    sa.Column("decided_at", UtcDateTime(), nullable=False),
)

# Every import is kept; the newest of a campaign is the one in force.
figure_imports = sa.Table(
    "figure_imports",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("campaign", sa.String(100), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("filename", sa.String(255)),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("imported_by_id", sa.String(200), nullable=False),
    sa.Column("imported_by_name", sa.String(200), nullable=False),
    sa.Column("imported_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("campaign", "seq"),
)

figures = sa.Table(
    "figures",
    metadata,
    sa.Column("import_id", sa.String(36), sa.ForeignKey("figure_imports.id"), primary_key=True),
    sa.Column("unit", sa.String(100), primary_key=True),
    sa.Column("online_case_files", sa.Integer, nullable=False),
    sa.Column("total_case_files", sa.Integer, nullable=False),
    sa.Column("online_procedures", sa.Integer, nullable=False),
    sa.Column("total_procedures", sa.Integer, nullable=False),
)

# A withdrawal that arrived before its submission: the late submission must not open a review.
early_withdrawals = sa.Table(
    "early_withdrawals",
    metadata,
    sa.Column("dossier_id", sa.String(36), primary_key=True),
    sa.Column("round", sa.Integer, nullable=False),
)

proposals = sa.Table(
    "proposals",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("campaign", sa.String(100), nullable=False, unique=True),
    sa.Column("state", _enum(ProposalState), nullable=False),
    sa.Column("round", sa.Integer, nullable=False),
    sa.Column("contents", SchemaJSON(ProposalContents())),
    sa.Column("return_reasons", sa.JSON),
    sa.Column("version", sa.Integer, nullable=False),
)

mapper = registry()
mapper.map_imperatively(StepDecision, step_decisions)
nomination_mapper = mapper.map_imperatively(
    Nomination,
    nominations,
    version_id_col=nominations.c.version,
    properties={
        "decisions": relationship(StepDecision, order_by=step_decisions.c.id, lazy="selectin", cascade="all"),
    },
)
# One nomination with its decisions in one query, as a reviewer's every request reads it (a page keeps ``selectin``).
with_decisions = joinedload(nomination_mapper.attrs["decisions"].class_attribute)
mapper.map_imperatively(Proposal, proposals, version_id_col=proposals.c.version)
