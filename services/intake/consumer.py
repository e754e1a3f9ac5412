"""The events the intake service consumes, and the handler of each."""

from services.intake import handlers
from shared.consumer import Subscription

SUBSCRIPTION = Subscription(
    handlers={
        "dossier.returned": handlers.record_return,
        "proposal.submitted": handlers.record_proposal_sent,
        "proposal.returned": handlers.record_proposal_returned,
        "award.granted": handlers.record_award_granted,
        "award.refused": handlers.record_award_refused,
    },
    prepare=handlers.prepare_batch,
)
