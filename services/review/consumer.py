"""The events the review service consumes, and the handler of each."""

from services.review import handlers
from shared.consumer import Subscription

SUBSCRIPTION = Subscription(
    handlers={
        "dossier.submitted": handlers.receive_dossier,
        "dossier.resubmitted": handlers.receive_dossier,
        "dossier.withdrawn": handlers.record_withdrawal,
        "proposal.returned": handlers.record_proposal_returned,
    },
    prepare=handlers.prepare_batch,
)
