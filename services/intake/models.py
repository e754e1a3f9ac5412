"""The intake service's own database: dossiers, their document versions, deadline extensions, proposal status."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, registry, relationship

from services.intake.domain import DocumentVersion, Dossier, DossierState, Kind
from shared.catalogue import Nominee, RecordedOutcome, ReturnReason
from shared.db import SchemaJSON, UtcDateTime, bus_tables, service_metadata
from shared.deadlines import deadline_extensions as shared_deadline_extensions

metadata = service_metadata()
bus = bus_tables(metadata)


def _enum(kind: type[Kind] | type[DossierState]) -> sa.Enum:
    return sa.Enum(kind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


dossiers = sa.Table(
    "dossiers",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("campaign", sa.String(100), nullable=False),
    sa.Column("unit", sa.String(100), nullable=False),
    sa.Column("kind", _enum(Kind), nullable=False),
    sa.Column("state", _enum(DossierState), nullable=False),
    sa.Column("round", sa.Integer, nullable=False),
    sa.Column("nominee", SchemaJSON(Nominee())),  # a date of birth: a schema turns it into JSON and back
    # The report and the self-scored counts are text and integers only, already JSON, and checked by the API's
    # schemas on their way in: kept as they are, without a schema's pass over every row that reads them (a dossier
    # with its documents comes as one row per document).
    sa.Column("report", sa.JSON, nullable=False),
    sa.Column("self_assessment", sa.JSON),
    sa.Column("return_reasons", SchemaJSON(ReturnReason(), many=True)),
    sa.Column("outcome", SchemaJSON(RecordedOutcome())),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("submitted_at", UtcDateTime()),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_dossiers_campaign_unit", "campaign", "unit"),
    sa.Index("ix_dossiers_state", "state"),
    # The quota: one live dossier of each kind per unit and campaign. A withdrawn one makes room for another.
    sa.Index(
        "uq_dossiers_one_live_per_kind",
        "campaign",
        "unit",
        "kind",
        unique=True,
        sqlite_where=sa.text("state != 'withdrawn'"),
        postgresql_where=sa.text("state != 'withdrawn'"),
    ),
)

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dossier_id", sa.String(36), sa.ForeignKey("dossiers.id"), nullable=False),
    sa.Column("kind", sa.String(50), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("uploaded_at", UtcDateTime(), nullable=False),
    sa.Column("uploaded_by", sa.String(200), nullable=False),
    sa.Column("uploaded_by_name", sa.String(200), nullable=False),
    sa.UniqueConstraint("dossier_id", "kind", "version"),
)

deadline_extensions = shared_deadline_extensions(metadata)

# Intake's copy of review's proposal status: a dossier may be withdrawn only until the proposal is sent.
proposals = sa.Table(
    "proposals",
    metadata,
    sa.Column("campaign", sa.String(100), primary_key=True),
    sa.Column("proposal_id", sa.String(36), nullable=False),
    sa.Column("pending", sa.Boolean, nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

mapper = registry()
mapper.map_imperatively(DocumentVersion, documents)
dossier_mapper = mapper.map_imperatively(
    Dossier,
    dossiers,
    version_id_col=dossiers.c.version,
    properties={
        "documents": relationship(DocumentVersion, order_by=documents.c.id, lazy="selectin", cascade="all"),
    },
)
# One dossier with its documents in one query (a page of dossiers keeps ``selectin``: two queries for the page).
with_documents = joinedload(dossier_mapper.attrs["documents"].class_attribute)
