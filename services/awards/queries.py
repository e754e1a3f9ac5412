"""What awards shows: proposals with their candidates, a session's tally, the final awards. Reads only."""

from __future__ import annotations

import csv
import io
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.orm import Session as OrmSession

from services.awards.domain import CANDIDATE, PROPOSAL, SESSION, Candidate, Proposal, Session, Vote
from services.awards.models import awards, candidates, decisions, votes
from services.awards.models import proposals as proposals_table
from services.awards.models import sessions as sessions_table
from shared.campaigns import Campaign
from shared.money import format_vnd, vnd_in_words


def proposals(session: OrmSession, campaign: str | None) -> list[dict[str, Any]]:
    query = sa.select(Proposal)
    if campaign:
        query = query.where(proposals_table.c.campaign == campaign)
    return [proposal_view(session, p) for p in session.execute(query).scalars()]


def proposal_view(session: OrmSession, proposal: Proposal) -> dict[str, Any]:
    """The proposal with its candidates, and the nominations review left out with why: Home Affairs and the council
    see who is not before them, and the reason each unit will be told."""
    # Rows, not mapped candidates: a proposal lists every unit of the campaign, and nothing here changes them.
    listed = session.execute(sa.select(candidates).where(candidates.c.proposal_id == proposal.id)).all()
    return {
        "id": proposal.id,
        "campaign": proposal.campaign,
        "state": proposal.state.value,
        "state_name": PROPOSAL.state_names[proposal.state.value],
        "round": proposal.round,
        "return_reasons": proposal.return_reasons,
        "candidates": [_candidate(c) for c in listed if c.not_proposed_reason is None],
        "not_proposed": [
            {**_candidate(c), "reason": c.not_proposed_reason} for c in listed if c.not_proposed_reason is not None
        ],
    }


def _candidate(c: Candidate | sa.Row[Any]) -> dict[str, Any]:
    return {
        "dossier_id": c.id,
        "unit": c.unit,
        "unit_name": c.proposed.get("unit_name"),
        "kind": c.kind,
        "track": c.track,
        "review_rank": c.review_rank,
        "proposed_prize": c.proposed.get("prize_name"),
        "tie": c.tie,
        "contested": c.contested,
        "state": c.state.value,
        "state_name": CANDIDATE.state_names[c.state.value],
        "prize_rank": c.prize_rank,
        "outcome": c.outcome,
    }


def sessions(session: OrmSession, campaign: str | None, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The council's sessions, newest first, one page of them and how many in all: how a member finds the one in
    progress without being told its id."""
    conditions = [sessions_table.c.campaign == campaign] if campaign else []
    total = session.execute(sa.select(sa.func.count()).select_from(sessions_table).where(*conditions)).scalar_one()
    query = (
        sa.select(Session)
        .where(*conditions)
        .order_by(sessions_table.c.opened_at.desc(), sessions_table.c.id)
        .offset(offset)
        .limit(limit)
    )
    page = [
        {
            "id": s.id,
            "campaign": s.campaign,
            "proposal_id": s.proposal_id,
            "state": s.state.value,
            "state_name": SESSION.state_names[s.state.value],
            "present": len(s.present),
            "opened_at": s.opened_at.isoformat(),
        }
        for s in session.execute(query).scalars()
    ]
    return page, int(total)


def session_view(session: OrmSession, council_session: Session, campaign: Campaign) -> dict[str, Any]:
    council = campaign.council
    listed = council_candidates(session, council_session.proposal_id)
    cast = votes_in(session, council_session.id)
    return {
        "id": council_session.id,
        "campaign": council_session.campaign,
        "proposal_id": council_session.proposal_id,
        "state": council_session.state.value,
        "present": [
            {"id": m.id, "name": m.name, "position": m.position}
            for m in council.members
            if m.id in council_session.present
        ],
        "members": len(council.members),
        "quorum": f"{council.quorum.numerator}/{council.quorum.denominator}",
        "quorum_met": council_session.quorum_met(council),
        "candidates": [
            {
                **_candidate(c),
                "tally": council_session.tally(c, council, cast).__dict__,
                "votes": [
                    {"member": v.member_id, "choice": v.choice, "cast_at": v.cast_at.isoformat()}
                    for v in cast
                    if v.dossier_id == c.id
                ],
            }
            for c in listed
        ],
    }


def council_candidates(session: OrmSession, proposal_id: str) -> list[Candidate]:
    """The candidates ``proposal_id`` put before the council, without the nominations it left out: a campaign of
    many units leaves most of them out, and a session, its votes and its count never need those."""
    return list(
        session.execute(
            sa.select(Candidate).where(
                candidates.c.proposal_id == proposal_id, candidates.c.not_proposed_reason.is_(None)
            )
        ).scalars()
    )


def votes_in(session: OrmSession, session_id: str) -> list[Vote]:
    """Every vote cast in the council session ``session_id``, in the order they were first cast."""
    return list(session.execute(sa.select(Vote).where(votes.c.session_id == session_id).order_by(votes.c.id)).scalars())


def final_awards(session: OrmSession, campaign: Campaign) -> dict[str, Any]:
    """The awards in force per track, with amounts in figures and in words, and the budget total."""
    decided = (
        session.execute(
            sa.select(decisions).where(decisions.c.campaign == campaign.code).order_by(decisions.c.signed_at)
        )
        .mappings()
        .all()
    )
    every = (
        session.execute(
            sa.select(awards)
            .join(decisions, decisions.c.number == awards.c.decision)
            .where(awards.c.campaign == campaign.code)
            .order_by(decisions.c.signed_at, awards.c.id)
        )
        .mappings()
        .all()
    )
    latest = {row["dossier_id"]: row for row in every}  # an amending decision's word is the last
    rows = [row for row in latest.values() if row["granted"]]
    style = campaign.amount_words_style
    listed = [
        {
            "dossier_id": row["dossier_id"],
            "unit": row["unit"],
            "unit_name": campaign.unit(row["unit"]).name,
            "kind": row["kind"],
            "track": row["track"],
            "prize_rank": row["prize_rank"],
            "prize_name": row["prize_name"],
            "amount": row["amount"],
            "amount_text": format_vnd(row["amount"]),
            "amount_words": vnd_in_words(row["amount"], style),
            "certificate_number": row["certificate_number"],
            "decision": row["decision"],
        }
        for row in rows
    ]
    total = sum(item["amount"] for item in listed)
    return {
        "campaign": campaign.code,
        "decisions": [
            {"number": d["number"], "date": d["decision_date"].isoformat(), "signed_by": d["signed_by_name"]}
            for d in decided
        ],
        "tracks": [
            {
                "track": track.code,
                "name": track.name,
                "collectives": sorted(
                    (a for a in listed if a["kind"] == "collective" and a["track"] == track.code),
                    key=lambda a: a["prize_rank"] or 99,
                ),
                "individuals": [a for a in listed if a["kind"] == "individual" and a["track"] == track.code],
            }
            for track in campaign.tracks
        ],
        "total": total,
        "total_text": format_vnd(total),
        "total_words": vnd_in_words(total, style),
        "funding": campaign.funding,
    }


COLUMNS = ("Khối", "Đơn vị", "Hình thức", "Giải", "Số tiền", "Bằng chữ", "Số giấy khen", "Quyết định")


def _table(result: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for track in result["tracks"]:
        for award in track["collectives"] + track["individuals"]:
            kind = "Tập thể" if award["kind"] == "collective" else "Cá nhân"
            rows.append(
                [
                    track["name"],
                    award["unit_name"],
                    kind,
                    award["prize_name"],
                    award["amount"],
                    award["amount_words"],
                    award["certificate_number"],
                    award["decision"],
                ]
            )
    rows.append(["Tổng cộng", "", "", "", result["total"], result["total_words"], "", ""])
    return rows


def awards_csv(result: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(_table(result))
    return "\ufeff".encode() + out.getvalue().encode()


def awards_xlsx(result: dict[str, Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Khen thưởng"
    sheet.append(list(COLUMNS))
    for row in _table(result):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
