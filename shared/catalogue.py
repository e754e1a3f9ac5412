"""The catalogue of every event the services exchange, one payload schema per type and version.

Services register their events here, in one module, so that producers and consumers check one contract.
A change to an event's shape is a new version registered beside the old one; consumers keep accepting the
versions they know. The subject, campaign and unit of an event travel in its envelope, not in its payload.
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from shared.events import Catalogue
from shared.problems import FieldMessage
from shared.statemachine import TransitionPayload

CATALOGUE = Catalogue()

KINDS = ("collective", "individual")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


# -- the dossier's contents (Phụ lục 1 and the self-scored Phụ lục 2 row) ----------------------------------------


class Nominee(_Strict):
    """The person an individual dossier nominates (Phụ lục 1, "Đối với cá nhân")."""

    full_name = fields.String(allow_none=True, validate=validate.Length(max=200))
    alias = fields.String(allow_none=True, validate=validate.Length(max=200))
    date_of_birth = fields.Date(allow_none=True)
    home_town = fields.String(allow_none=True, validate=validate.Length(max=300))
    residence = fields.String(allow_none=True, validate=validate.Length(max=300))
    occupation = fields.String(allow_none=True, validate=validate.Length(max=200))
    position = fields.String(allow_none=True, validate=validate.Length(max=200))


class Report(_Strict):
    """The achievement report (Phụ lục 1): the unit's particulars, then what was achieved and how."""

    address = fields.String(allow_none=True, validate=validate.Length(max=300))
    phone = fields.String(allow_none=True, validate=validate.Length(max=50))
    fax = fields.String(allow_none=True, validate=validate.Length(max=50))
    website = fields.String(allow_none=True, validate=validate.Length(max=300))
    structure = fields.String(allow_none=True, validate=validate.Length(max=5000))
    staff_count = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=0, max=1_000_000))
    functions = fields.String(allow_none=True, validate=validate.Length(max=10000))
    achievements = fields.String(allow_none=True, validate=validate.Length(max=50000))
    measures = fields.String(allow_none=True, validate=validate.Length(max=50000))
    lessons = fields.String(allow_none=True, validate=validate.Length(max=50000))


UNIT_REPORT_FIELDS = ("address", "phone", "fax", "website", "structure", "staff_count", "functions")
COUNT_FIELDS = ("online_case_files", "total_case_files", "online_procedures", "total_procedures")


def _count() -> fields.Integer:
    return fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=0, max=10**9))


class SelfAssessment(_Strict):
    """The unit's own Phụ lục 2 row: case files handled online at level 4 of all, procedures with a case of all."""

    online_case_files = _count()
    total_case_files = _count()
    online_procedures = _count()
    total_procedures = _count()

    @validates_schema
    def _online_within_total(self, data: dict[str, int | None], **kwargs: object) -> None:
        for what in ("case_files", "procedures"):
            online, total = data.get(f"online_{what}"), data.get(f"total_{what}")
            if online is not None and total is not None and online > total:
                raise ValidationError(_online_above_total(what), f"online_{what}")


def _online_above_total(what: str) -> FieldMessage:
    noun = "hồ sơ" if what == "case_files" else "thủ tục"
    return FieldMessage("online_above_total", f"Số {noun} trực tuyến không được lớn hơn tổng số {noun}.")


class DocumentMeta(_Strict):
    """A stored document as events carry it: never the bytes, only how to find and check them."""

    kind = fields.String(required=True)
    version = fields.Integer(required=True, strict=True)
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}\Z"))
    size = fields.Integer(required=True, strict=True)
    content_type = fields.String(required=True)
    filename = fields.String(required=True)
    uploaded_at = fields.AwareDateTime(required=True)


class ReturnReason(_Strict):
    """One thing the unit must fix; ``field`` points at what it concerns, when it concerns one."""

    field = fields.String(load_default=None, allow_none=True)
    message = fields.String(required=True, validate=validate.Length(min=1, max=2000))


# -- intake's events ---------------------------------------------------------------------------------------------


@CATALOGUE.register("dossier.created")
class DossierCreated(_Strict):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))


@CATALOGUE.register("dossier.updated")
class DossierUpdated(_Strict):
    changed = fields.List(fields.String(), required=True)


class UploadedDocument(DocumentMeta):
    replaced_version = fields.Integer(load_default=None, allow_none=True)


@CATALOGUE.register("dossier.documents_uploaded")
class DossierDocumentsUploaded(_Strict):
    """What a clerk uploaded in one request, each a new version of its kind: one document, or several at once."""

    documents = fields.List(fields.Nested(UploadedDocument), required=True, validate=validate.Length(min=1))


class _DossierContents(TransitionPayload):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    round = fields.Integer(required=True, strict=True)
    nominee = fields.Nested(Nominee, allow_none=True, load_default=None)
    report = fields.Nested(Report, required=True)
    self_assessment = fields.Nested(SelfAssessment, allow_none=True, load_default=None)
    documents = fields.List(fields.Nested(DocumentMeta), required=True)
    submitted_at = fields.AwareDateTime(required=True)


@CATALOGUE.register("dossier.submitted")
class DossierSubmitted(_DossierContents):
    """A unit sent its dossier to Culture & Information, complete and in time."""


@CATALOGUE.register("dossier.resubmitted")
class DossierResubmitted(_DossierContents):
    """A unit sent its revised dossier again after a return; ``round`` counts the submissions."""


@CATALOGUE.register("dossier.withdrawn")
class DossierWithdrawn(TransitionPayload):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    round = fields.Integer(required=True, strict=True)


@CATALOGUE.register("dossier.reopened")
class DossierReopened(TransitionPayload):
    """Intake put a returned dossier back in the unit's hands, with the reviewer's reasons."""

    round = fields.Integer(required=True, strict=True)
    reasons = fields.List(fields.Nested(ReturnReason), required=True)


class Outcome(_Strict):
    prize_rank = fields.Integer(load_default=None, allow_none=True)
    prize_name = fields.String(load_default=None, allow_none=True)
    amount = fields.Integer(load_default=None, allow_none=True, strict=True)
    certificate_number = fields.String(load_default=None, allow_none=True)
    decision_number = fields.String(load_default=None, allow_none=True)
    decision_date = fields.Date(load_default=None, allow_none=True)
    reason = fields.String(load_default=None, allow_none=True)


class RecordedOutcome(Outcome):
    """An outcome as intake keeps and shows it: whether it was granted, and the one an amendment replaced."""

    granted = fields.Boolean(required=True)
    previous = fields.Nested(lambda: RecordedOutcome(), load_default=None, allow_none=True)


class _Decided(TransitionPayload):
    outcome = fields.Nested(Outcome, required=True)
    previous = fields.Nested(Outcome, load_default=None, allow_none=True)  # what an amending decision replaced


@CATALOGUE.register("dossier.awarded")
class DossierAwarded(_Decided):
    """The council granted the award (or an amending decision did, replacing a refusal)."""


@CATALOGUE.register("dossier.not_awarded")
class DossierNotAwarded(_Decided):
    """The council refused the award (or an amending decision withdrew it)."""


@CATALOGUE.register("dossier.outcome_amended")
class DossierOutcomeAmended(_Strict):
    """An amending decision changed the terms of a decided dossier's outcome (a prize, an amount), not its
    state; the old terms stay in the history."""

    outcome = fields.Nested(Outcome, required=True)
    previous = fields.Nested(Outcome, required=True)


@CATALOGUE.register("campaign.deadline_extended")
class CampaignDeadlineExtended(_Strict):
    deadline = fields.String(required=True, validate=validate.OneOf(["dossier", "proposal"]))
    previous_date = fields.Date(required=True)
    new_date = fields.Date(required=True)
    reason = fields.String(required=True)


# -- review's events -------------------------------------------------------------------------------------------


class _NominationPayload(TransitionPayload):
    dossier_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    round = fields.Integer(required=True, strict=True)


@CATALOGUE.register("nomination.received")
class NominationReceived(_Strict):
    """Review took a submitted dossier into its queue (or a resubmitted one into a new round)."""

    dossier_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    round = fields.Integer(required=True, strict=True)


@CATALOGUE.register("nomination.step_approved")
class NominationStepApproved(_Strict):
    dossier_id = fields.String(required=True)
    round = fields.Integer(required=True, strict=True)
    step = fields.String(required=True)
    note = fields.String(required=True)
    override = fields.Boolean(load_default=False)  # figures approved despite a difference, with the reason


@CATALOGUE.register("nomination.appraised")
class NominationAppraised(_NominationPayload):
    """Every review step approved: the nomination may be ranked."""


@CATALOGUE.register("nomination.rejected")
class NominationRejected(_NominationPayload):
    step = fields.String(required=True)


@CATALOGUE.register("nomination.restarted")
class NominationRestarted(_NominationPayload):
    """The unit resubmitted a returned dossier: the steps start again in a new round."""


@CATALOGUE.register("nomination.withdrawn")
class NominationWithdrawn(_NominationPayload):
    """The unit withdrew the dossier; the nomination leaves the review."""


@CATALOGUE.register("dossier.returned")
class DossierReturned(_NominationPayload):
    """Culture & Information returned a dossier for revision, with one complete list of what to fix."""

    reasons = fields.List(fields.Nested(ReturnReason), required=True, validate=validate.Length(min=1))


class FigureCounts(_Strict):
    unit = fields.String(required=True)
    online_case_files = fields.Integer(required=True, strict=True)
    total_case_files = fields.Integer(required=True, strict=True)
    online_procedures = fields.Integer(required=True, strict=True)
    total_procedures = fields.Integer(required=True, strict=True)


@CATALOGUE.register("figures.imported")
class FiguresImported(_Strict):
    """The one-stop shop's official figures, replacing the previous import (which stays on record)."""

    import_id = fields.String(required=True)
    filename = fields.String(load_default=None, allow_none=True)
    sha256 = fields.String(required=True)
    replaces = fields.String(load_default=None, allow_none=True)
    rows = fields.List(fields.Nested(FigureCounts), required=True)


class ProposedCollective(_Strict):
    dossier_id = fields.String(required=True)
    unit = fields.String(required=True)
    unit_name = fields.String(required=True)
    track = fields.String(required=True)
    rank = fields.Integer(required=True, strict=True)
    prize_rank = fields.Integer(load_default=None, allow_none=True)  # None while a tie waits for the council
    prize_name = fields.String(load_default=None, allow_none=True)
    amount = fields.Integer(load_default=None, allow_none=True, strict=True)
    tie = fields.List(fields.String(), load_default=list)  # the units it ties with on every ranking key
    contested = fields.List(fields.Integer(), load_default=list)  # prize ranks the council shares out among a tie
    counts = fields.Nested(SelfAssessment, required=True)  # the official figures it was ranked on
    case_file_rate = fields.String(load_default=None, allow_none=True)  # "72,00 %": for people; ranking used fractions
    procedure_coverage = fields.String(load_default=None, allow_none=True)


class ProposedIndividual(_Strict):
    dossier_id = fields.String(required=True)
    unit = fields.String(required=True)
    unit_name = fields.String(required=True)
    full_name = fields.String(required=True)
    position = fields.String(load_default=None, allow_none=True)


@CATALOGUE.register("proposal.submitted")
class ProposalSubmitted(TransitionPayload):
    """Culture & Information sends (or, after a return, sends again) its signed proposal to Home Affairs."""

    proposal_id = fields.String(required=True)
    round = fields.Integer(required=True, strict=True)
    dossier_ids = fields.List(fields.String(), required=True)
    collectives = fields.List(fields.Nested(ProposedCollective), load_default=list)
    individuals = fields.List(fields.Nested(ProposedIndividual), load_default=list)
    note = fields.String(load_default=None, allow_none=True)


class NotProposed(_Strict):
    """A nomination of the campaign the proposal leaves out, and why, in words its unit's clerk can act on."""

    dossier_id = fields.String(required=True)
    unit = fields.String(required=True)
    unit_name = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=5000))


@CATALOGUE.register("proposal.submitted", version=2)
class ProposalSubmittedV2(ProposalSubmitted):
    """Version 2 also states every live nomination it does not propose, with the reason: the chair's decision
    refuses those, so every unit that submitted hears an outcome. Version 1 (no list) is still accepted."""

    not_proposed = fields.List(fields.Nested(NotProposed), required=True)


@CATALOGUE.register("proposal.reopened")
class ProposalReopened(TransitionPayload):
    """Review recorded that Home Affairs returned its proposal; it may be revised and sent again."""

    proposal_id = fields.String(required=True)
    round = fields.Integer(required=True, strict=True)
    reasons = fields.List(fields.String(), required=True)


# -- awards' events ---------------------------------------------------------------------------------------------


@CATALOGUE.register("proposal.received")
class ProposalReceived(_Strict):
    """Home Affairs took Culture & Information's proposal (or its resending) for appraisal."""

    proposal_id = fields.String(required=True)
    round = fields.Integer(required=True, strict=True)
    candidates = fields.Integer(required=True, strict=True)


@CATALOGUE.register("proposal.received_again")
class ProposalReceivedAgain(TransitionPayload):
    """The proposal Home Affairs returned came back, revised, for a new appraisal."""

    proposal_id = fields.String(required=True)
    round = fields.Integer(required=True, strict=True)


@CATALOGUE.register("proposal.passed")
class ProposalPassed(TransitionPayload):
    """Home Affairs appraised the proposal and passed it to the council (some nominations perhaps not)."""

    proposal_id = fields.String(required=True)
    round = fields.Integer(required=True, strict=True)
    not_passed = fields.List(fields.String(), load_default=list)


@CATALOGUE.register("proposal.returned")
class ProposalReturned(TransitionPayload):
    """Home Affairs returned the proposal to Culture & Information, with its reasons."""

    proposal_id = fields.String(required=True)
    round = fields.Integer(required=True, strict=True)
    reasons = fields.List(fields.String(), required=True, validate=validate.Length(min=1))


@CATALOGUE.register("proposal.decided")
class ProposalDecided(TransitionPayload):
    proposal_id = fields.String(required=True)
    decision_number = fields.String(required=True)


class _CandidatePayload(TransitionPayload):
    dossier_id = fields.String(required=True)


@CATALOGUE.register("candidate.not_passed")
class CandidateNotPassed(_CandidatePayload):
    """Home Affairs' appraisal did not pass this nomination on to the council."""


class _Tally(_Strict):
    yes = fields.Integer(required=True, strict=True)
    no = fields.Integer(required=True, strict=True)
    abstain = fields.Integer(required=True, strict=True)
    eligible = fields.Integer(required=True, strict=True)  # members present who may vote on it


@CATALOGUE.register("candidate.approved")
class CandidateApproved(_CandidatePayload):
    session_id = fields.String(required=True)
    tally = fields.Nested(_Tally, required=True)
    prize_rank = fields.Integer(load_default=None, allow_none=True)


@CATALOGUE.register("candidate.rejected")
class CandidateRejected(_CandidatePayload):
    session_id = fields.String(required=True)
    tally = fields.Nested(_Tally, required=True)


@CATALOGUE.register("session.opened")
class SessionOpened(_Strict):
    session_id = fields.String(required=True)
    proposal_id = fields.String(required=True)
    present = fields.List(fields.String(), required=True)
    members = fields.Integer(required=True, strict=True)
    quorum_met = fields.Boolean(required=True)


@CATALOGUE.register("vote.cast")
class VoteCast(_Strict):
    session_id = fields.String(required=True)
    dossier_id = fields.String(required=True)
    member_id = fields.String(required=True)
    choice = fields.String(required=True, validate=validate.OneOf(["approve", "reject", "abstain"]))
    replaces = fields.String(load_default=None, allow_none=True)  # the member's earlier choice, when changed


@CATALOGUE.register("session.closed")
class SessionClosed(TransitionPayload):
    session_id = fields.String(required=True)
    approved = fields.List(fields.String(), required=True)
    rejected = fields.List(fields.String(), required=True)


@CATALOGUE.register("session.adjourned")
class SessionAdjourned(TransitionPayload):
    """The meeting could not decide (no quorum, say); its votes count for nothing, a new session may open."""

    session_id = fields.String(required=True)


@CATALOGUE.register("decision.made")
class DecisionMade(_Strict):
    """The chair's decision (quyết định khen thưởng): immutable; a correction is a new, amending decision."""

    decision_number = fields.String(required=True)
    decision_date = fields.Date(required=True)
    amends = fields.String(load_default=None, allow_none=True)
    granted = fields.Integer(required=True, strict=True)
    refused = fields.Integer(required=True, strict=True)
    total = fields.Integer(required=True, strict=True)  # VND, from the district budget


@CATALOGUE.register("award.granted")
class AwardGranted(Outcome, TransitionPayload):
    dossier_id = fields.String(required=True)


@CATALOGUE.register("award.refused")
class AwardRefused(Outcome, TransitionPayload):
    dossier_id = fields.String(required=True)
