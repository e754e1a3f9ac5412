"""Faults the bus survives without losing or doubling an event: a consumer dying around its commit, the broker
going away while changes commit, and the in-memory broker of the embedded mode forgetting everything.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from shared.bus import connect
from tests import probe
from tests.conftest import Stack
from tests.probe import Probe
from tests.tcpproxy import TcpProxy
from tests.waiting import consuming, wait_until

production = pytest.mark.parametrize("stack", ["production"], indirect=True)


def take_one_unacknowledged(bus: Probe, conn):
    queue = bus.topology.queue("receiver")(conn.default_channel)
    return wait_until(lambda: queue.get(no_ack=False), what="a message in the receiver's queue")


@production
def test_a_consumer_that_dies_after_its_commit_but_before_the_ack_applies_the_event_once(bus: Probe) -> None:
    bus.open_and_close()
    bus.sender.relay.publish_pending()

    with bus.connection() as conn:
        message = take_one_unacknowledged(bus, conn)
        event = probe.CATALOGUE.from_message(message.decode())
        assert bus.receiver.consumer(conn).apply(event) is True
        assert bus.closings("T1") == 1
    # The connection closed without an ack, as when the process dies: RabbitMQ delivers the message again.

    with consuming(bus.receiver.consumer()) as consumer:
        wait_until(lambda: consumer.duplicates == 1, what="the redelivery")
    assert consumer.applied == 0
    assert bus.closings("T1") == 1
    assert bus.queued(bus.topology.queue_name("receiver")) == 0


@production
def test_a_consumer_that_dies_before_its_commit_applies_the_event_once_on_redelivery(bus: Probe) -> None:
    bus.open_and_close()
    bus.sender.relay.publish_pending()

    with bus.connection() as conn:
        message = take_one_unacknowledged(bus, conn)
        assert message.delivery_info["redelivered"] is False
    assert bus.closings("T1") == 0

    with consuming(bus.receiver.consumer()) as consumer:
        wait_until(lambda: consumer.applied == 1, what="the redelivered event to be applied")
    assert bus.closings("T1") == 1
    assert bus.queued(bus.topology.queue_name("receiver")) == 0


def take_unacknowledged(bus: Probe, conn, count: int) -> list:
    """``count`` messages held unacknowledged on ``conn``, as a consumer holds the batch it is applying."""
    queue = bus.topology.queue("receiver")(conn.default_channel)
    taken: list = []

    def take() -> bool:
        message = queue.get(no_ack=False)
        if message is not None:
            taken.append(message)
        return len(taken) == count

    wait_until(take, what=f"{count} messages in the receiver's queue")
    return taken


def restart(bus: Probe) -> None:
    """What follows a dead consumer process: RabbitMQ redelivers what it held; the in-memory broker died with the
    process, and the embedded start-up sends the whole outbox again."""
    if bus.stack.name == "embedded":
        assert bus.sender.relay.resend_all() == 3
        bus.sender.relay.publish_pending()


@pytest.mark.parametrize("stack", ["embedded", "production"], indirect=True)
def test_a_consumer_that_dies_in_a_batch_before_its_commit_has_every_event_redelivered_and_applied_once(
    bus: Probe,
) -> None:
    for title in ("T1", "T2", "T3"):
        bus.open_and_close(title)
    bus.sender.relay.publish_pending()
    probe.FAULTS.crash_on = "T3"

    with bus.connection() as conn:
        events = [probe.CATALOGUE.from_message(m.decode()) for m in take_unacknowledged(bus, conn, 3)]
        with pytest.raises(probe.Crash):
            bus.receiver.consumer(conn).apply_batch(events)  # T1 and T2 applied, then death before the commit
        assert [bus.closings(t) for t in ("T1", "T2", "T3")] == [0, 0, 0], "nothing of the batch committed"
    # The connection closed without an ack, as when the process dies: the broker delivers all three again.
    restart(bus)

    probe.FAULTS.crash_on = None
    with consuming(bus.receiver.consumer()) as consumer:
        wait_until(lambda: consumer.applied == 3, what="the redelivered batch")
    assert consumer.duplicates == 0
    assert [bus.closings(t) for t in ("T1", "T2", "T3")] == [1, 1, 1]
    assert bus.queued(bus.topology.queue_name("receiver")) == 0


@pytest.mark.parametrize("stack", ["embedded", "production"], indirect=True)
def test_a_consumer_that_dies_after_a_batch_commit_but_before_the_acks_applies_no_event_twice(bus: Probe) -> None:
    for title in ("T1", "T2", "T3"):
        bus.open_and_close(title)
    bus.sender.relay.publish_pending()

    with bus.connection() as conn:
        events = [probe.CATALOGUE.from_message(m.decode()) for m in take_unacknowledged(bus, conn, 3)]
        assert bus.receiver.consumer(conn).apply_batch(events) == [True, True, True]
        assert [bus.closings(t) for t in ("T1", "T2", "T3")] == [1, 1, 1]
    restart(bus)

    with consuming(bus.receiver.consumer()) as consumer:
        wait_until(lambda: consumer.duplicates == 3, what="the redelivered batch")
    assert consumer.applied == 0
    assert [bus.closings(t) for t in ("T1", "T2", "T3")] == [1, 1, 1]
    assert bus.count(bus.receiver, probe.RECEIVER.tables.inbox) == 3
    assert bus.queued(bus.topology.queue_name("receiver")) == 0


@production
def test_changes_commit_while_the_broker_is_unreachable_and_their_events_follow_when_it_returns(
    make_bus: Callable[..., Probe], proxy: TcpProxy, stack: Stack
) -> None:
    bus = make_bus(broker_url=proxy.url)
    bus.sender.relay.start()
    proxy.cut()
    for title in ("T1", "T2"):
        bus.open_and_close(title)  # the service keeps accepting changes
    wait_until(lambda: bus.sender.relay.failures >= 2, what="the relay to try and fail")
    assert bus.sender.relay.pending() == 2, "the events wait in the outbox"

    proxy.restore()  # no restart of the service: its relay finds the broker again
    wait_until(lambda: bus.sender.relay.pending() == 0, timeout=30, what="the outbox to drain")
    with consuming(bus.receiver.consumer(connect(stack.broker_url))) as consumer:
        wait_until(lambda: consumer.applied == 2, what="both events")
    assert (bus.closings("T1"), bus.closings("T2")) == (1, 1)


@production
def test_a_relay_whose_database_connection_dropped_between_rounds_sends_what_commits_next(bus: Probe) -> None:
    bus.open_and_close("T1")
    assert bus.sender.relay.publish_pending() == 1  # the relay keeps its connection for the next round
    with bus.sender.engine.connect() as conn:  # the database ends every other session, as a restart would
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    bus.open_and_close("T2")

    bus.sender.relay.start()
    wait_until(lambda: bus.sender.relay.pending() == 0, timeout=30, what="the relay to connect again and send T2")
    with consuming(bus.receiver.consumer()) as consumer:
        wait_until(lambda: consumer.applied == 2, what="both events")
    assert (bus.closings("T1"), bus.closings("T2")) == (1, 1)


@production
def test_a_consumer_whose_connection_drops_reconnects_and_loses_nothing(bus: Probe, proxy: TcpProxy) -> None:
    consumer = bus.receiver.consumer(connect(proxy.url))
    with consuming(consumer):
        bus.open_and_close("T1")
        bus.sender.relay.publish_pending()
        wait_until(lambda: consumer.applied == 1, what="the first event")
        proxy.cut()
        bus.open_and_close("T2")
        bus.sender.relay.publish_pending()
        proxy.restore()
        wait_until(lambda: consumer.applied == 2, timeout=30, what="the event sent while cut off")
    assert (bus.closings("T1"), bus.closings("T2")) == (1, 1)


@pytest.mark.parametrize("stack", ["embedded"], indirect=True)
def test_after_the_in_memory_broker_lost_everything_resending_the_outbox_loses_and_doubles_nothing(
    bus: Probe,
) -> None:
    bus.open_and_close("T1")
    bus.sender.relay.publish_pending()
    with consuming(bus.receiver.consumer()) as consumer:
        wait_until(lambda: consumer.applied == 1, what="T1 before the stop")
    bus.open_and_close("T2")
    bus.sender.relay.publish_pending()  # T2 sits in the memory queue, not yet consumed...
    with bus.connection() as conn:
        assert conn.default_channel.queue_purge(bus.topology.queue_name("receiver")) == 1  # ...and is lost

    assert bus.sender.relay.resend_all() == 2  # what the embedded start-up does
    bus.sender.relay.publish_pending()
    with consuming(bus.receiver.consumer()) as consumer:
        wait_until(lambda: consumer.applied + consumer.duplicates == 2, what="both events again")
    assert (consumer.applied, consumer.duplicates) == (1, 1)
    assert (bus.closings("T1"), bus.closings("T2")) == (1, 1)
