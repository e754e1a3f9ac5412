"""One function per command (from the API) and per consumed event: load, apply the domain, record.

The unit of work is opened and committed by the caller (``ServiceRuntime.execute`` or the consumer), once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm.attributes import flag_modified

from services.awards.domain import (
    CS,
    PROPOSAL,
    PS,
    Candidate,
    CouncilMember,
    Proposal,
    Session,
    SessionState,
    Vote,
    check_ladder,
    decide,
    decision_total,
    not_before_the_council,
)
from services.awards.models import awards, candidates, decisions, proposals, sessions, votes
from services.awards.queries import council_candidates, votes_in
from shared.campaigns import Campaign
from shared.clock import format_local_date
from shared.db import ConcurrentUpdate, UnitOfWork
from shared.events import Actor, Event
from shared.statemachine import Forbidden, RuleViolation

log = logging.getLogger(__name__)
AWARDS = Actor.service("awards")
DECIDED = frozenset({CS.GRANTED, CS.REFUSED})


@dataclass(frozen=True)
class Appraise:
    proposal_id: str
    passed: bool
    actor: Actor
    reasons: Sequence[str] = ()
    not_passed: Sequence[Mapping[str, str]] = ()  # {"dossier_id", "reason"}


@dataclass(frozen=True)
class OpenSession:
    campaign: str
    present: Sequence[str]
    actor: Actor


@dataclass(frozen=True)
class CastVote:
    session_id: str
    dossier_id: str
    choice: str
    actor: Actor


@dataclass(frozen=True)
class CloseSession:
    session_id: str
    actor: Actor


@dataclass(frozen=True)
class AdjournSession:
    session_id: str
    reason: str
    actor: Actor


@dataclass(frozen=True)
class MakeDecision:
    campaign: str
    number: str
    decision_date: date
    actor: Actor
    notes: Mapping[str, Any] = field(default_factory=dict)


# -- what arrives from review ----------------------------------------------------------------------------------


def receive_proposal(event: Event, uow: UnitOfWork) -> None:
    """A proposal, or its resending after a return: its nominations become the candidates before the council, and
    those it leaves out (version 2) candidates that never come before it; a resending replaces both lists."""
    payload = event.payload
    campaign = uow.campaign(event.campaign or "")
    proposal = uow.session.get(Proposal, payload["proposal_id"])
    if proposal is None:
        proposal = Proposal(payload["proposal_id"], campaign.code, payload["round"], event.occurred_at)
        uow.session.add(proposal)
        uow.session.flush()  # the candidates below refer to it
    elif proposal.received_again(payload["round"], event.actor, event.occurred_at):
        for stale in uow.session.execute(sa.select(Candidate).where(candidates.c.proposal_id == proposal.id)).scalars():
            uow.session.delete(stale)  # their history stays in the transitions and the audit log
        uow.session.flush()
    else:
        log.info("proposal.submitted %s ignored: round %s already received", event.id, payload["round"])
        return
    proposed = [(c, "collective") for c in payload["collectives"]]
    proposed += [({**i, "track": campaign.unit(i["unit"]).track}, "individual") for i in payload["individuals"]]
    for item, kind in proposed:
        uow.session.add(Candidate(item, kind, proposal.id, campaign.code, event.occurred_at))
    for item in payload.get("not_proposed", ()):  # version 1 lists none
        left_out = {**item, "track": campaign.unit(item["unit"]).track}
        uow.session.add(Candidate.left_out(left_out, proposal.id, campaign.code, event.occurred_at))
    uow.emit(
        "proposal.received",
        subject=proposal.id,
        payload={"proposal_id": proposal.id, "round": proposal.round, "candidates": len(proposed)},
        actor=AWARDS,
        campaign=campaign.code,
    )


# -- Home Affairs ----------------------------------------------------------------------------------------------


def appraise(command: Appraise, uow: UnitOfWork) -> Proposal:
    proposal = proposal_of(uow, command.proposal_id)
    campaign = uow.campaign(proposal.campaign)
    if not command.passed:
        if not command.reasons:
            raise RuleViolation("reasons_required", "Trả lại tờ trình cần nêu lý do.")
        proposal.appraise(False, command.reasons, command.actor, uow.now())
        return proposal
    listed = council_candidates(uow.session, proposal.id)
    problems = check_ladder([c.proposed for c in listed if c.kind == "collective"], campaign)
    if problems:
        raise RuleViolation(
            "amount_mismatch",
            "Số tiền đề nghị không đúng cơ cấu giải của phong trào; hãy trả lại tờ trình để sửa.",
            problems=problems,
        )
    by_id = {c.id: c for c in listed}
    for item in command.not_passed:
        candidate = by_id.get(item["dossier_id"])
        if candidate is None:
            raise RuleViolation("not_in_proposal", "Hồ sơ này không có trong tờ trình.", dossier_id=item["dossier_id"])
        candidate.fire("not_pass", command.actor, uow.now(), reason=item["reason"])
    proposal.appraise(True, command.reasons, command.actor, uow.now())
    return proposal


# -- the council -----------------------------------------------------------------------------------------------


def open_session(command: OpenSession, uow: UnitOfWork) -> Session:
    campaign = uow.campaign(command.campaign)
    unknown = sorted(set(command.present) - {m.id for m in campaign.council.members})
    if unknown:
        raise RuleViolation("not_members", "Người không thuộc Hội đồng: " + ", ".join(unknown), unknown=unknown)
    proposal = _passed_proposal(uow, campaign.code)
    if uow.session.execute(
        sa.select(sessions.c.id).where(sessions.c.campaign == campaign.code, sessions.c.state == SessionState.OPEN)
    ).first():
        raise RuleViolation("session_already_open", "Đang có một phiên họp chưa kết thúc cho phong trào này.")
    session = Session(campaign.code, proposal.id, command.present, command.actor, uow.now())
    uow.session.add(session)
    uow.emit(
        "session.opened",
        subject=session.id,
        payload={
            "session_id": session.id,
            "proposal_id": proposal.id,
            "present": session.present,
            "members": len(campaign.council.members),
            "quorum_met": session.quorum_met(campaign.council),
        },
        actor=command.actor,
        campaign=campaign.code,
    )
    return session


def cast_vote(command: CastVote, uow: UnitOfWork) -> Vote:
    """A member's vote, written to its own row: members voting at once never wait for one another.

    What it replaces is read first, as the member saw it, so that a vote of theirs committed while this one waited
    for the session is a concurrent write, refused with 409 (the unique key, or the vote's version), and never
    replaced unseen. The session is read with a shared lock: a close or an adjournment, which takes it exclusively,
    waits for the votes under way, and a vote that waited for one sees the session closed.
    """
    earlier = uow.session.execute(
        sa.select(Vote).where(
            votes.c.session_id == command.session_id,
            votes.c.member_id == command.actor.id,
            votes.c.dossier_id == command.dossier_id,
        )
    ).scalar()
    replaces = earlier.choice if earlier is not None else None
    session = session_of(uow, command.session_id, lock="share")
    campaign = uow.campaign(session.campaign)
    member = _member(campaign, command.actor)
    candidate = uow.session.get(Candidate, command.dossier_id)
    if candidate is None:
        raise not_before_the_council()
    vote = session.vote(member, candidate, command.choice, earlier, uow.now())
    if earlier is None:
        uow.session.add(vote)
        try:
            uow.session.flush()  # the member's other first vote at this moment stops here: nothing of this one is kept
        except sa.exc.IntegrityError as err:
            raise ConcurrentUpdate(str(err)) from err
    else:
        flag_modified(vote, "cast_at")  # the same choice at the same instant still writes the row, version and all
    uow.emit(
        "vote.cast",
        subject=candidate.id,
        payload={
            "session_id": session.id,
            "dossier_id": candidate.id,
            "member_id": member.id,
            "choice": command.choice,
            "replaces": replaces,
        },
        actor=command.actor,
        campaign=session.campaign,
        unit=candidate.unit,
    )
    return vote


def adjourn_session(command: AdjournSession, uow: UnitOfWork) -> Session:
    session = session_of(uow, command.session_id, lock="update")  # a vote under way ends first; a later one is refused
    _member(uow.campaign(session.campaign), command.actor)
    session.adjourn(command.reason, command.actor, uow.now())
    return session


def close_session(command: CloseSession, uow: UnitOfWork) -> Session:
    """Count the votes and close. The session is locked exclusively BEFORE the votes are read: the votes under way
    (each holding it shared) commit first and are counted, and a vote that comes later finds the session closed, so
    no vote is ever committed that the count did not see."""
    session = session_of(uow, command.session_id, lock="update")
    campaign = uow.campaign(session.campaign)
    _member(campaign, command.actor)  # the role is not enough: the person must hold a seat on this council
    session.close(
        council_candidates(uow.session, session.proposal_id),
        votes_in(uow.session, session.id),
        campaign,
        command.actor,
        uow.now(),
    )
    return session


# -- the chair -------------------------------------------------------------------------------------------------


def make_decision(command: MakeDecision, uow: UnitOfWork) -> dict[str, Any]:
    """The chair's decision: every award of the campaign, with its certificate number; written once. It also
    refuses, with review's reason, every nomination the proposal left out, so every unit hears its outcome."""
    campaign = uow.campaign(command.campaign)
    _member(campaign, command.actor)
    if uow.session.execute(sa.select(decisions.c.number).where(decisions.c.campaign == campaign.code)).first():
        raise RuleViolation(
            "decision_final",
            "Phong trào đã có quyết định khen thưởng; quyết định không sửa được, chỉ ban hành quyết định sửa đổi.",
        )
    if uow.session.execute(sa.select(decisions.c.number).where(decisions.c.number == command.number)).first():
        raise RuleViolation("decision_number_taken", f"Số quyết định “{command.number}” đã được dùng.")
    proposal = _passed_proposal(uow, campaign.code)
    closed = uow.session.execute(
        sa.select(sessions.c.id).where(sessions.c.proposal_id == proposal.id, sessions.c.state == SessionState.CLOSED)
    ).first()
    if closed is None:
        raise RuleViolation("no_closed_session", "Hội đồng chưa họp xong (chưa kết thúc phiên họp) về tờ trình này.")
    awaiting = {CS.APPROVED, CS.REJECTED, CS.NOT_PASSED, CS.NOT_PROPOSED}
    listed = [c for c in _candidates(uow, proposal.id) if c.state in awaiting]
    decided = decide(listed, campaign, first_certificate=_certificates_of_year(uow, campaign) + 1)
    now = uow.now()
    total = decision_total(decided)
    uow.session.execute(
        decisions.insert().values(
            number=command.number,
            campaign=campaign.code,
            decision_date=command.decision_date,
            signed_by_id=command.actor.id,
            signed_by_name=command.actor.name,
            signed_at=now,
            total=total,
        )
    )
    by_id = {c.id: c for c in listed}
    rows = []
    for award in decided:
        candidate = by_id[award.dossier_id]
        outcome = {
            "prize_rank": award.prize_rank,
            "prize_name": award.prize_name,
            "amount": award.amount,
            "certificate_number": award.certificate_number,
            "decision_number": command.number,
            "decision_date": command.decision_date,
        }
        candidate.outcome = {**outcome, "decision_date": command.decision_date.isoformat(), "reason": award.reason}
        candidate.fire("grant" if award.granted else "refuse", command.actor, now, reason=award.reason, **outcome)
        rows.append(
            {
                "decision": command.number,
                "dossier_id": candidate.id,
                "campaign": campaign.code,
                "unit": candidate.unit,
                "kind": candidate.kind,
                "track": candidate.track,
                "granted": award.granted,
                "prize_rank": award.prize_rank,
                "prize_name": award.prize_name,
                "amount": award.amount,
                "certificate_number": award.certificate_number,
                "reason": award.reason,
            }
        )
    if rows:  # one INSERT for the whole decision: a campaign of many units refuses most of them
        uow.session.execute(awards.insert(), rows)
    proposal.updated_at = now
    payload = {"proposal_id": proposal.id, "decision_number": command.number}
    PROPOSAL.fire(proposal, "decide", actor=command.actor, at=now, payload=payload)
    granted = sum(1 for a in decided if a.granted)
    uow.emit(
        "decision.made",
        subject=command.number,
        payload={
            "decision_number": command.number,
            "decision_date": command.decision_date,
            "amends": None,
            "granted": granted,
            "refused": len(decided) - granted,
            "total": total,
        },
        actor=command.actor,
        campaign=campaign.code,
    )
    return {"decision_number": command.number, "granted": granted, "refused": len(decided) - granted, "total": total}


@dataclass(frozen=True)
class AmendDecision:
    campaign: str
    amends: str
    number: str
    decision_date: date
    reason: str
    changes: Sequence[Mapping[str, Any]]  # {"dossier_id", "granted", "prize_rank"?}
    actor: Actor


def amend_decision(command: AmendDecision, uow: UnitOfWork) -> dict[str, Any]:
    """A correction is a new decision that names the one it amends; the earlier one is never edited."""
    campaign = uow.campaign(command.campaign)
    _member(campaign, command.actor)
    amended = uow.session.execute(
        sa.select(decisions.c.decision_date).where(
            decisions.c.number == command.amends, decisions.c.campaign == campaign.code
        )
    ).first()
    if amended is None:
        raise NotFound("decision_not_found", f"Không có quyết định số “{command.amends}” của phong trào này.")
    if command.decision_date < amended.decision_date:
        raise RuleViolation(
            "decision_date_before_amended",
            f"Quyết định sửa đổi không thể ban hành trước quyết định số “{command.amends}” "
            f"({format_local_date(amended.decision_date)}) mà nó sửa đổi.",
            amended_date=amended.decision_date.isoformat(),
        )
    if uow.session.execute(sa.select(decisions.c.number).where(decisions.c.number == command.number)).first():
        raise RuleViolation("decision_number_taken", f"Số quyết định “{command.number}” đã được dùng.")
    now = uow.now()
    numbered = _certificates_of_year(uow, campaign)
    rows: list[dict[str, Any]] = []
    total = 0
    for change in command.changes:
        candidate = uow.session.get(Candidate, change["dossier_id"])
        if candidate is None or candidate.campaign != campaign.code or candidate.state not in DECIDED:
            raise RuleViolation(
                "not_decided", "Chỉ sửa đổi được đề nghị đã có quyết định.", dossier_id=change["dossier_id"]
            )
        terms = _amended_terms(candidate, change, campaign, numbered + len(rows) + 1, command)
        candidate.outcome = {**terms, "decision_date": command.decision_date.isoformat()}
        award_terms = {key: value for key, value in terms.items() if key != "reason"}
        candidate.fire("grant" if change["granted"] else "refuse", command.actor, now, command.reason, **award_terms)
        rows.append({"dossier_id": candidate.id, "unit": candidate.unit, "kind": candidate.kind,
                     "track": candidate.track, "granted": change["granted"], **_award_columns(terms)})  # fmt: skip
        total += terms["amount"] if change["granted"] else 0
    uow.session.execute(
        decisions.insert().values(
            number=command.number, campaign=campaign.code, decision_date=command.decision_date,
            amends=command.amends, reason=command.reason, signed_by_id=command.actor.id,
            signed_by_name=command.actor.name, signed_at=now, total=total,
        )
    )  # fmt: skip
    uow.session.execute(awards.insert(), [{"decision": command.number, "campaign": campaign.code, **r} for r in rows])
    granted = sum(1 for r in rows if r["granted"])
    uow.emit(
        "decision.made",
        subject=command.number,
        payload={"decision_number": command.number, "decision_date": command.decision_date, "amends": command.amends,
                 "granted": granted, "refused": len(rows) - granted, "total": total},
        actor=command.actor,
        campaign=campaign.code,
    )  # fmt: skip
    return {
        "decision_number": command.number,
        "amends": command.amends,
        "granted": granted,
        "refused": len(rows) - granted,
    }


def _amended_terms(
    candidate: Candidate, change: Mapping[str, Any], campaign: Campaign, number: int, command: AmendDecision
) -> dict[str, Any]:
    base = {"decision_number": command.number, "decision_date": command.decision_date}
    if not change["granted"]:
        return {**base, "prize_rank": None, "prize_name": None, "amount": 0, "certificate_number": None,
                "reason": command.reason}  # fmt: skip
    certificate = f"{number:03d}/GK-{campaign.year}"
    if candidate.kind == "individual":
        individual = campaign.individuals
        return {**base, "prize_rank": None, "prize_name": individual.award, "amount": individual.amount,
                "certificate_number": certificate, "reason": None}  # fmt: skip
    prizes = campaign.track(candidate.track or "").prizes
    rank = change.get("prize_rank")
    if rank is None or not 1 <= rank <= len(prizes):
        raise RuleViolation("prize_required", f"Cần ghi giải (từ 1 đến {len(prizes)}) cho đơn vị được khen thưởng.")
    prize = prizes[rank - 1]
    return {**base, "prize_rank": prize.rank, "prize_name": prize.name, "amount": prize.amount,
            "certificate_number": certificate, "reason": None}  # fmt: skip


def _award_columns(terms: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("prize_rank", "prize_name", "amount", "certificate_number", "reason")
    return {key: terms[key] for key in keys}


def _certificates_of_year(uow: UnitOfWork, campaign: Campaign) -> int:
    """The district numbers its certificates per year, across its campaigns and decisions."""
    return int(
        uow.session.execute(
            sa.select(sa.func.count())
            .select_from(awards)
            .where(awards.c.certificate_number.like(f"%/GK-{campaign.year}"))
        ).scalar_one()
    )


# -- loading ---------------------------------------------------------------------------------------------------


def proposal_of(uow: UnitOfWork, proposal_id: str) -> Proposal:
    proposal = uow.session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound("proposal_not_found", "Không tìm thấy tờ trình này.")
    return proposal


def session_of(uow: UnitOfWork, session_id: str, lock: Literal["share", "update"] | None = None) -> Session:
    """The session; ``lock`` holds its row until the commit, shared by the votes, exclusive for a close (on SQLite,
    whose transactions take the whole file for writing, the lock is already held and this adds nothing)."""
    with_for_update = {"read": lock == "share"} if lock is not None else None
    session = uow.session.get(Session, session_id, with_for_update=with_for_update)
    if session is None:
        raise NotFound("session_not_found", "Không tìm thấy phiên họp này.")
    return session


def _passed_proposal(uow: UnitOfWork, campaign: str) -> Proposal:
    proposal = uow.session.execute(
        sa.select(Proposal).where(proposals.c.campaign == campaign, proposals.c.state == PS.PASSED)
    ).scalar()
    if proposal is None:
        raise RuleViolation("no_proposal_before_the_council", "Chưa có tờ trình nào được Phòng Nội vụ trình Hội đồng.")
    return proposal


def _candidates(uow: UnitOfWork, proposal_id: str) -> list[Candidate]:
    return list(uow.session.execute(sa.select(Candidate).where(candidates.c.proposal_id == proposal_id)).scalars())


def _member(campaign: Campaign, actor: Actor) -> CouncilMember:
    member = campaign.council.member(actor.id)
    if member is None:
        raise Forbidden("not_a_member", "Bạn không phải thành viên Hội đồng Thi đua - Khen thưởng của phong trào này.")
    return member


class NotFound(RuleViolation):
    status = 404
