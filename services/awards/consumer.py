"""The events the awards service consumes, and the handler of each."""

from services.awards import handlers
from shared.consumer import Subscription

SUBSCRIPTION = Subscription(handlers={"proposal.submitted": handlers.receive_proposal})
