"""The events the audit service consumes, and the handler of each."""

from shared.consumer import Subscription

SUBSCRIPTION = Subscription(handlers={})
