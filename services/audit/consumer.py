"""The events the audit service consumes: every one, of every type and version, into the log.

A ``fallback`` handler binds the queue to ``#`` and lets the consumer accept types and versions the catalogue does
not know (their payload is kept as it came); a broken envelope is still dead-lettered, with its reason, before any
handler runs. Nobody waits on the log, so a batch lingers up to a tenth of a second for more events: under the
trickle of a working day, each transaction (the append lock, the chain's head, the commit) then carries a dozen
events instead of one or two.
"""

from services.audit import handlers
from shared.consumer import Subscription

SUBSCRIPTION = Subscription(handlers={}, fallback=handlers.record, prepare=handlers.prepare_batch, linger_seconds=0.1)
