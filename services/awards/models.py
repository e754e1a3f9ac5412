"""The awards service's own database: proposals as received, candidates, council sessions and votes, decisions."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import registry

from services.awards.domain import Candidate, CandidateState, Proposal, ProposalState, Session, SessionState, Vote
from shared.db import UtcDateTime, bus_tables, service_metadata

metadata = service_metadata()
bus = bus_tables(metadata)


def _enum(kind: type[CandidateState] | type[ProposalState] | type[SessionState]) -> sa.Enum:
    return sa.Enum(kind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


proposals = sa.Table(
    "proposals",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("campaign", sa.String(100), nullable=False, index=True),
    sa.Column("state", _enum(ProposalState), nullable=False),
    sa.Column("round", sa.Integer, nullable=False),
    sa.Column("return_reasons", sa.JSON),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

candidates = sa.Table(
    "candidates",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),  # the dossier's id
    sa.Column("proposal_id", sa.String(36), sa.ForeignKey("proposals.id"), nullable=False, index=True),
    sa.Column("campaign", sa.String(100), nullable=False),
    sa.Column("unit", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("track", sa.String(50)),
    sa.Column("review_rank", sa.Integer),
    sa.Column("contested", sa.JSON, nullable=False),
    sa.Column("tie", sa.JSON, nullable=False),
    sa.Column("proposed", sa.JSON, nullable=False),
    sa.Column("state", _enum(CandidateState), nullable=False),
    sa.Column("not_proposed_reason", sa.Text),  # set when review left the nomination out of its proposal
    sa.Column("prize_rank", sa.Integer),
    sa.Column("outcome", sa.JSON),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("campaign", sa.String(100), nullable=False, index=True),
    sa.Column("proposal_id", sa.String(36), sa.ForeignKey("proposals.id"), nullable=False),
    sa.Column("present", sa.JSON, nullable=False),
    sa.Column("state", _enum(SessionState), nullable=False),
    sa.Column("opened_by", sa.String(200), nullable=False),
    sa.Column("opened_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

votes = sa.Table(
    "votes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(36), sa.ForeignKey("sessions.id"), nullable=False),
    sa.Column("member_id", sa.String(200), nullable=False),
    sa.Column("dossier_id", sa.String(36), nullable=False),
    sa.Column("choice", sa.String(10), nullable=False),
    sa.Column("cast_at", UtcDateTime(), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),  # one member's two changes at once: one meets the other's
    sa.UniqueConstraint("session_id", "member_id", "dossier_id"),  # one member's two first votes at once: likewise
)

# Decisions and their certificates are written once and never changed: a correction is a new decision.
decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("number", sa.String(100), primary_key=True),
    sa.Column("campaign", sa.String(100), nullable=False, index=True),
    sa.Column("decision_date", sa.Date, nullable=False),
    sa.Column("amends", sa.String(100), sa.ForeignKey("decisions.number")),
    sa.Column("reason", sa.Text),
    sa.Column("signed_by_id", sa.String(200), nullable=False),
    sa.Column("signed_by_name", sa.String(200), nullable=False),
    sa.Column("signed_at", UtcDateTime(), nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),
)

awards = sa.Table(
    "awards",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("decision", sa.String(100), sa.ForeignKey("decisions.number"), nullable=False, index=True),
    sa.Column("dossier_id", sa.String(36), nullable=False),
    sa.Column("campaign", sa.String(100), nullable=False),
    sa.Column("unit", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("track", sa.String(50)),
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("prize_rank", sa.Integer),
    sa.Column("prize_name", sa.String(200)),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("certificate_number", sa.String(50), unique=True),
    sa.Column("reason", sa.Text),
)

mapper = registry()
mapper.map_imperatively(Proposal, proposals, version_id_col=proposals.c.version)
mapper.map_imperatively(Candidate, candidates, version_id_col=candidates.c.version)
# A vote is not a part of its session's mapping: casting one writes its own row and never the session's.
mapper.map_imperatively(Vote, votes, version_id_col=votes.c.version)
mapper.map_imperatively(Session, sessions, version_id_col=sessions.c.version)
