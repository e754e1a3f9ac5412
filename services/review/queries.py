"""What review shows and what its proposal is made of: reads only, nothing here changes state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, defer, lazyload

from services.review.domain import (
    COUNT_FIELDS,
    NOMINATION,
    STEP_NAMES,
    Nomination,
    NominationState,
    Proposal,
)
from services.review.models import bus, figure_imports, figures, nominations, proposals
from services.review.rules import (
    Counts,
    IndividualCandidate,
    IndividualVerdict,
    Placing,
    Rejection,
    Standing,
    Status,
    collective_left_out,
    individual_left_out,
    judge_individuals,
    out_reason,
    place_campaign,
)
from shared.campaigns import Campaign
from shared.db import UnitOfWork, read_once
from shared.rates import format_percent

STATUS_OF = {
    NominationState.IN_REVIEW: Status.IN_REVIEW,
    NominationState.APPRAISED: Status.APPRAISED,
    NominationState.REJECTED: Status.REJECTED,
    NominationState.RETURNED: Status.RETURNED,
    NominationState.WITHDRAWN: Status.WITHDRAWN,
}


# -- figures ---------------------------------------------------------------------------------------------------


def current_import(session: Session, campaign: str) -> sa.Row[Any] | None:
    return session.execute(
        sa.select(figure_imports).where(figure_imports.c.campaign == campaign).order_by(figure_imports.c.seq.desc())
    ).first()


def official_counts(session: Session, campaign: str) -> dict[str, dict[str, int]]:
    """The figures in force, per unit: the newest import's."""
    latest = current_import(session, campaign)
    if latest is None:
        return {}
    rows = session.execute(sa.select(figures).where(figures.c.import_id == latest.id)).mappings()
    return {row["unit"]: {field: row[field] for field in COUNT_FIELDS} for row in rows}


def official_counts_of(session: Session, campaign: str, unit: str) -> dict[str, int] | None:
    """One unit's figures in force, in one query: a nomination's view and step never read the whole campaign's.
    Read once per unit of work (kept in its session's ``info``, which an import clears): the figures step judges
    by them and its answer shows them without asking the database again."""
    known: dict[str, dict[str, int] | None] = read_once(session, (FIGURES_IN_FORCE, campaign), dict)
    if unit not in known:
        row = session.execute(_OFFICIAL_COUNTS_OF, {"campaign": campaign, "unit": unit}).first()
        known[unit] = None if row is None else dict(row._mapping)
    return known[unit]


FIGURES_IN_FORCE = "figures in force"


# Built once, so that SQLAlchemy finds it compiled in its cache instead of building it for every nomination shown.
_OFFICIAL_COUNTS_OF = sa.select(*(figures.c[field] for field in COUNT_FIELDS)).where(
    figures.c.import_id
    == sa.select(figure_imports.c.id)
    .where(figure_imports.c.campaign == sa.bindparam("campaign"))
    .order_by(figure_imports.c.seq.desc())
    .limit(1)
    .scalar_subquery(),
    figures.c.unit == sa.bindparam("unit"),
)


def imports(session: Session, campaign: str) -> list[dict[str, Any]]:
    rows = session.execute(
        sa.select(figure_imports, sa.func.count(figures.c.unit).label("units"))
        .join(figures, figures.c.import_id == figure_imports.c.id, isouter=True)
        .where(figure_imports.c.campaign == campaign)
        .group_by(figure_imports.c.id)
        .order_by(figure_imports.c.seq.desc())
    ).mappings()
    return [dict(row) for row in rows]


# -- nominations -----------------------------------------------------------------------------------------------


def nominations_in(session: Session, campaign: str, state: NominationState) -> list[Nomination]:
    return list(
        session.execute(sa.select(Nomination).where(nominations.c.campaign == campaign, nominations.c.state == state))
        .scalars()
        .all()
    )


@dataclass(frozen=True)
class NominationFilter:
    campaign: str | None = None
    unit: str | None = None
    state: NominationState | None = None
    kind: str | None = None


def list_nominations(
    session: Session, wanted: NominationFilter, offset: int, limit: int
) -> tuple[list[Nomination], int]:
    conditions = [
        column == value
        for column, value in (
            (nominations.c.campaign, wanted.campaign),
            (nominations.c.unit, wanted.unit),
            (nominations.c.state, wanted.state),
            (nominations.c.kind, wanted.kind),
        )
        if value is not None
    ]
    total = session.execute(sa.select(sa.func.count()).select_from(nominations).where(*conditions)).scalar_one()
    page = session.execute(
        sa.select(Nomination).where(*conditions).order_by(nominations.c.updated_at.desc(), nominations.c.id)
        .offset(offset).limit(limit)
    ).scalars().all()  # fmt: skip
    return list(page), int(total)


def nomination_view(uow: UnitOfWork, nomination: Nomination) -> dict[str, Any]:
    """One nomination as a reviewer works it: the unit's words, its figures beside the official ones, the steps."""
    campaign = uow.campaigns.get(nomination.campaign)
    official = official_counts_of(uow.session, nomination.campaign, nomination.unit)
    declared = nomination.contents.get("self_assessment") or {}
    unit = campaign.find_unit(nomination.unit) if campaign else None
    return {
        "id": nomination.id,
        "campaign": nomination.campaign,
        "unit": nomination.unit,
        "unit_name": unit.name if unit else nomination.unit,
        "kind": nomination.kind,
        "state": nomination.state.value,
        "state_name": NOMINATION.state_names[nomination.state.value],
        "round": nomination.round,
        "next_step": nomination.next_step() if nomination.state is NominationState.IN_REVIEW else None,
        "steps": [
            {"step": step, "name": STEP_NAMES[step], "decisions": _decisions(nomination, step)}
            for step in nomination.steps
        ],
        "earlier_rounds": [
            {"round": r, "decisions": [_decision(d) for d in nomination.decisions_of(r)]}
            for r in sorted({d.round for d in nomination.decisions} - {nomination.round})
        ],
        "nominee": nomination.contents.get("nominee"),
        "report": nomination.contents.get("report"),
        "documents": [
            {**doc, "url": f"/intake/dossiers/{nomination.id}/documents/{doc['kind']}?version={doc['version']}"}
            for doc in nomination.contents.get("documents", [])
        ],
        "submitted_at": nomination.contents.get("submitted_at"),
        "figures": [
            {
                "field": field,
                "declared": declared.get(field),
                "official": official[field] if official else None,
                "differs": official is not None and declared.get(field) != official[field],
            }
            for field in COUNT_FIELDS
        ]
        if nomination.kind == "collective"
        else [],
        "return_reasons": nomination.return_reasons,
        "history": history(uow.session, nomination.id),
    }


def _decisions(nomination: Nomination, step: str) -> list[dict[str, Any]]:
    return [_decision(d) for d in nomination.decisions_of(nomination.round) if d.step == step]


def _decision(decision: Any) -> dict[str, Any]:
    return {
        "step": decision.step,
        "approved": decision.approved,
        "note": decision.note,
        "override": decision.override,
        "reviewer": {"id": decision.reviewer_id, "name": decision.reviewer_name, "unit": decision.reviewer_unit},
        "decided_at": decision.decided_at,
    }


def history(session: Session, nomination_id: str) -> list[dict[str, Any]]:
    """Every move of the nomination, oldest first; read by the transitions' index (subject type, then id)."""
    rows = session.execute(_HISTORY, {"nomination_id": nomination_id}).mappings()
    return [
        {
            "trigger": row["trigger"],
            "from_state": row["from_state"],
            "to_state": row["to_state"],
            "actor": {"id": row["actor_id"], "name": row["actor_name"], "role": row["actor_role"]},
            "reason": row["reason"],
            "occurred_at": row["occurred_at"],
        }
        for row in rows
    ]


_HISTORY = (
    sa.select(bus.transitions)
    .where(
        bus.transitions.c.subject_type == Nomination.subject_type,
        bus.transitions.c.subject_id == sa.bindparam("nomination_id"),
    )
    .order_by(bus.transitions.c.id)
)  # built once, as _OFFICIAL_COUNTS_OF


# -- ranking, summary, proposal ------------------------------------------------------------------------------


def standings(session: Session, campaign: Campaign) -> list[Standing]:
    """Each unit's collective nomination status (its live one) and its official figures."""
    return _standings(session, campaign, _collectives(session, campaign.code))


def _standings(session: Session, campaign: Campaign, collectives: Sequence[Nomination]) -> list[Standing]:
    official = official_counts(session, campaign.code)
    by_unit = {
        n.unit: n for n in sorted(collectives, key=lambda n: n.state is not NominationState.WITHDRAWN)
    }  # a live nomination wins over a withdrawn one of the same unit
    return [
        Standing(
            unit=unit.code,
            status=STATUS_OF[by_unit[unit.code].state] if unit.code in by_unit else Status.NO_DOSSIER,
            counts=Counts(**official[unit.code]) if unit.code in official else None,
        )
        for unit in campaign.units
    ]


def _campaign_nominations(session: Session, campaign: str, *conditions: Any) -> list[Nomination]:
    """The campaign's nominations, as a ranking or a proposal reads them: every unit's, so without their contents
    and their decisions, which are loaded only for the few that need them (a nominee's name, a rejection)."""
    mapped = sa.inspect(Nomination).attrs  # the mapping is imperative: the class has no typed attributes
    return list(
        session.execute(
            sa.select(Nomination)
            .where(nominations.c.campaign == campaign, *conditions)
            .options(defer(mapped["contents"].class_attribute), lazyload(mapped["decisions"].class_attribute))
        )
        .scalars()
        .all()
    )


def _collectives(session: Session, campaign: str) -> list[Nomination]:
    return _campaign_nominations(session, campaign, nominations.c.kind == "collective")


def _live_individuals(session: Session, campaign: str) -> dict[str, Nomination]:
    individuals = _campaign_nominations(
        session, campaign, nominations.c.kind == "individual", nominations.c.state != NominationState.WITHDRAWN
    )
    return {n.id: n for n in individuals}


def ranking(uow: UnitOfWork, campaign: Campaign) -> dict[str, Any]:
    placings = place_campaign(standings(uow.session, campaign), campaign)
    individuals = _live_individuals(uow.session, campaign.code)
    return {
        "campaign": campaign.code,
        "figures_imported": current_import(uow.session, campaign.code) is not None,
        "tracks": [
            {
                "track": track.code,
                "name": track.name,
                "units": [_placing_view(p, campaign) for p in placings[track.code]],
            }
            for track in campaign.tracks
        ],
        "individuals": [v.__dict__ for v in _judged(individuals, campaign, placings)],
    }


def _placing_view(placing: Placing, campaign: Campaign) -> dict[str, Any]:
    counts = placing.counts
    return {
        "unit": placing.unit,
        "unit_name": campaign.unit(placing.unit).name,
        "counts": counts.__dict__ if counts else None,
        "targets": [
            {
                "code": t.code,
                "name": t.name,
                "rate": format_percent(t.rate) if t.rate is not None else None,
                "rate_exact": f"{t.rate.numerator}/{t.rate.denominator}" if t.rate is not None else None,
                "threshold": format_percent(t.threshold),
                "met": t.met,
            }
            for t in placing.targets
        ],
        "meets_targets": placing.meets_targets,
        "qualifies": placing.qualifies,
        "rank": placing.rank,
        "tie": list(placing.tie),
        "contested": list(placing.contested),
        "prize": {"rank": placing.prize.rank, "name": placing.prize.name, "amount": placing.prize.amount}
        if placing.prize
        else None,
        "out": [{"code": code, "reason": out_reason(code, campaign)} for code in placing.out],
    }


def _judged(
    individuals: Mapping[str, Nomination], campaign: Campaign, placings: dict[str, list[Placing]]
) -> list[IndividualVerdict]:
    candidates = [
        IndividualCandidate(unit=n.unit, dossier_id=n.id, status=STATUS_OF[n.state]) for n in individuals.values()
    ]
    return judge_individuals(candidates, placings, campaign)


def proposal_contents(uow: UnitOfWork, campaign: Campaign) -> dict[str, Any]:
    """The ranked collectives with their (provisional or contested) prizes, the valid individuals, and every other
    live nomination of the campaign with the reason it is left out (the chair's decision refuses those)."""
    collectives = _collectives(uow.session, campaign.code)
    placings = place_campaign(_standings(uow.session, campaign, collectives), campaign)
    # A withdrawn nomination left the campaign and hears no outcome; every other one is proposed or left out.
    staying = {n.unit: n for n in collectives if n.state is not NominationState.WITHDRAWN}
    live = {unit: n for unit, n in staying.items() if n.state is NominationState.APPRAISED}
    not_proposed = [
        _left_out(staying[p.unit], campaign, collective_left_out(p, campaign, _rejection(staying[p.unit])))
        for track_placings in placings.values()
        for p in track_placings
        if p.prize is None and not p.contested and p.unit in staying
    ]
    proposed = [
        {
            "dossier_id": live[p.unit].id,
            "unit": p.unit,
            "unit_name": campaign.unit(p.unit).name,
            "track": track,
            "rank": p.rank,
            "prize_rank": p.prize.rank if p.prize else None,
            "prize_name": p.prize.name if p.prize else None,
            "amount": p.prize.amount if p.prize else None,
            "tie": list(p.tie),
            "contested": list(p.contested),
            "counts": p.counts.__dict__ if p.counts else None,
            "case_file_rate": _rate(p, "case_file_rate"),
            "procedure_coverage": _rate(p, "procedure_coverage"),
        }
        for track, track_placings in placings.items()
        for p in track_placings
        if p.prize is not None or p.contested
    ]
    individuals = _live_individuals(uow.session, campaign.code)
    valid = []
    for verdict in _judged(individuals, campaign, placings):
        nomination = individuals[verdict.dossier_id]
        if not verdict.valid:
            reason = individual_left_out(verdict, campaign, _rejection(nomination))
            not_proposed.append(_left_out(nomination, campaign, reason))
            continue
        nominee = nomination.contents.get("nominee") or {}
        valid.append(
            {
                "dossier_id": verdict.dossier_id,
                "unit": verdict.unit,
                "unit_name": campaign.unit(verdict.unit).name,
                "full_name": nominee.get("full_name") or "",
                "position": nominee.get("position"),
            }
        )
    return {
        "dossier_ids": [c["dossier_id"] for c in proposed] + [i["dossier_id"] for i in valid],
        "collectives": proposed,
        "individuals": valid,
        "not_proposed": not_proposed,
    }


def _rejection(nomination: Nomination) -> Rejection | None:
    decision = nomination.rejection()
    return Rejection(STEP_NAMES[decision.step], decision.note) if decision else None


def _left_out(nomination: Nomination, campaign: Campaign, reason: str) -> dict[str, Any]:
    return {
        "dossier_id": nomination.id,
        "unit": nomination.unit,
        "unit_name": campaign.unit(nomination.unit).name,
        "kind": nomination.kind,
        "reason": reason,
    }


def _rate(placing: Placing, code: str) -> str | None:
    target = next((t for t in placing.targets if t.code == code), None)
    return format_percent(target.rate) if target and target.rate is not None else None


def summary(session: Session, campaign: Campaign) -> dict[str, Any]:
    """The Phụ lục 2 table: per section (CẤP HUYỆN, CẤP XÃ), each unit's two targets as online / total / rate."""
    official = official_counts(session, campaign.code)
    sections = []
    for number, track in enumerate(campaign.tracks, start=1):
        rows = []
        for index, unit in enumerate(campaign.units_of(track.code), start=1):
            counts = Counts(**official[unit.code]) if unit.code in official else None
            label = f"{unit.name} ({unit.level4_procedures:02d} thủ tục)" if unit.level4_procedures else unit.name
            rows.append(
                {
                    "stt": index,
                    "unit": unit.code,
                    "unit_label": label,
                    "case_files": _pair(counts, "case_files"),
                    "procedures": _pair(counts, "procedures"),
                }
            )
        sections.append(
            {
                "number": _ROMAN[number],
                "track": track.code,
                "title": SECTION_TITLES.get(track.code, track.name),
                "rows": rows,
            }
        )
    return {
        "campaign": campaign.code,
        "title": f"BẢNG TỔNG HỢP KẾT QUẢ {campaign.name.upper()}",
        "data_window": {"start": campaign.data_window_start, "end": campaign.data_window_end},
        "targets": [
            {"code": t.code, "name": t.name, "threshold": format_percent(t.threshold)} for t in campaign.targets
        ],
        "sections": sections,
    }


SECTION_TITLES = {"district": "CẤP HUYỆN", "commune": "CẤP XÃ"}
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def _pair(counts: Counts | None, what: str) -> dict[str, Any]:
    if counts is None:
        return {"online": None, "total": None, "rate": None}
    online, total = getattr(counts, f"online_{what}"), getattr(counts, f"total_{what}")
    rate = counts.case_file_rate() if what == "case_files" else counts.procedure_coverage()
    return {"online": online, "total": total, "rate": format_percent(rate) if rate is not None else None}


def proposal_of(session: Session, campaign: str) -> Proposal | None:
    return session.execute(sa.select(Proposal).where(proposals.c.campaign == campaign)).scalar()
