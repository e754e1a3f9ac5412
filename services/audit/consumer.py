"""The events the audit service consumes: every one, of every type and version, into the log.

A ``fallback`` handler binds the queue to ``#`` and lets the consumer accept types and versions the catalogue does
not know (their payload is kept as it came); a broken envelope is still dead-lettered, with its reason, before any
handler runs.
"""

from services.audit import handlers
from shared.consumer import Subscription

SUBSCRIPTION = Subscription(handlers={}, fallback=handlers.record, prepare=handlers.prepare_batch)
