"""The bus's guarantees, on both stacks: the embedded one (SQLite, memory) and production (PostgreSQL, RabbitMQ).

Each test drives the probe services (tests/probe.py) through real units of work, a real relay and a real consumer,
and checks outcomes: rows in the databases, messages in the queues, counts of applied effects.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from kombu import Producer
from kombu.message import Message

from shared.db import PLAN_AFRESH, ConcurrentUpdate, plan_afresh
from shared.deadletters import list_dead_letters, replay_dead_letters
from shared.events import Event, InvalidEvent
from shared.outbox import SCAN_IN_ORDER
from shared.statemachine import IllegalTransition
from tests import probe
from tests.probe import Probe
from tests.waiting import consuming, wait_until

# -- publish ---------------------------------------------------------------------------------------------------


def test_a_transition_commits_with_its_history_and_one_event_then_is_applied_once(bus: Probe) -> None:
    bus.open_and_close()

    tables = probe.SENDER.tables
    with bus.sender.engine.connect() as conn:
        history = conn.execute(sa.select(tables.transitions)).one()
        outbox = conn.execute(sa.select(tables.outbox)).one()
    assert (history.trigger, history.from_state, history.to_state) == ("close", "open", "closed")
    assert (history.actor_id, history.actor_role, history.actor_unit) == ("clerk-1", "unit_clerk", "hoa-tan")
    assert history.reason == "xong"
    assert history.event_id == outbox.event_id and outbox.published_at is None
    envelope = json.loads(outbox.body)
    assert envelope["type"] == "ticket.closed"
    assert envelope["actor"]["name"] == "Nguyễn Văn A"
    assert envelope["unit"] == "hoa-tan"
    assert envelope["payload"] == {
        "title": "T1",
        "trigger": "close",
        "from_state": "open",
        "to_state": "closed",
        "reason": "xong",
    }

    assert bus.sender.relay.publish_pending() == 1
    assert bus.sender.relay.publish_pending() == 0, "a confirmed event is marked sent and not published again"
    with consuming(bus.receiver.consumer()) as consumer:
        wait_until(lambda: consumer.applied == 1, what="the closing to be applied")
    assert bus.closings("T1") == 1
    assert bus.count(bus.receiver, probe.RECEIVER.tables.inbox) == 1


def test_a_rolled_back_unit_of_work_publishes_nothing(bus: Probe) -> None:
    bus.sender.execute(probe.open_ticket, "T1")

    with pytest.raises(RuntimeError):
        bus.sender.execute(probe.close_and_fail, "T1")

    tables = probe.SENDER.tables
    assert bus.count(bus.sender, tables.outbox) == 0
    assert bus.count(bus.sender, tables.transitions) == 0
    assert bus.count(bus.sender, probe.tickets, probe.tickets.c.state == "open") == 1
    assert bus.sender.relay.publish_pending() == 0
    assert bus.queued(bus.topology.queue_name("receiver")) == 0


def test_an_event_that_breaks_its_schema_is_refused_at_publish_and_nothing_commits(bus: Probe) -> None:
    bus.sender.execute(probe.open_ticket, "T1")

    def close_with_bad_event(title, uow):
        probe.close_ticket(title, uow)
        uow.emit("ticket.closed", subject=title, payload={"title": 42}, actor=probe.CLERK)

    with pytest.raises(InvalidEvent, match=r"ticket\.closed v1 payload does not match its schema"):
        bus.sender.execute(close_with_bad_event, "T1")
    assert bus.count(bus.sender, probe.SENDER.tables.outbox) == 0
    assert bus.count(bus.sender, probe.tickets, probe.tickets.c.state == "open") == 1


def test_an_illegal_trigger_is_an_error_and_changes_nothing(bus: Probe) -> None:
    bus.open_and_close()

    with pytest.raises(IllegalTransition, match="ticket T1 is closed: 'close' is not allowed"):
        bus.sender.execute(probe.close_ticket, "T1")
    assert bus.count(bus.sender, probe.SENDER.tables.outbox) == 1


def test_the_relay_thread_sends_a_commit_at_once_without_waiting_for_its_poll(bus: Probe) -> None:
    bus.sender.relay.poll_seconds = 60.0  # only the commit's wake-up can send it within the wait below
    bus.sender.relay.start()
    with consuming(bus.receiver.consumer()) as consumer:
        bus.open_and_close()
        wait_until(lambda: consumer.applied == 1, timeout=5, what="the relay to be woken by the commit")
    assert bus.closings("T1") == 1


def test_the_relay_marks_a_batch_sent_once_the_broker_has_confirmed_all_of_it(bus: Probe) -> None:
    for n in range(40):
        bus.open_and_close(f"T{n}")

    assert bus.sender.relay.publish_pending() == 40, "one round, one wait for the confirms"
    assert bus.sender.relay.pending() == 0
    assert bus.queued(bus.topology.queue_name("receiver")) == 40
    with consuming(bus.receiver.consumer()) as consumer:
        wait_until(lambda: consumer.applied == 40, what="the whole batch")
    assert sum(bus.closings(f"T{n}") for n in range(40)) == 40


# -- consume ---------------------------------------------------------------------------------------------------


def test_the_same_message_delivered_twice_changes_state_once(bus: Probe) -> None:
    bus.open_and_close()
    bus.sender.relay.publish_pending()
    assert bus.sender.relay.resend_all() == 1
    bus.sender.relay.publish_pending()

    with consuming(bus.receiver.consumer()) as consumer:
        wait_until(lambda: consumer.applied + consumer.duplicates == 2, what="both deliveries")
    assert (consumer.applied, consumer.duplicates) == (1, 1)
    assert bus.closings("T1") == 1
    assert bus.count(bus.receiver, probe.RECEIVER.tables.inbox) == 1


def test_a_handler_that_fails_for_a_while_is_retried_and_applied_once(bus: Probe) -> None:
    probe.FAULTS.failures_left = 2
    bus.open_and_close()
    bus.sender.relay.publish_pending()

    with consuming(bus.receiver.consumer()) as consumer:
        wait_until(lambda: consumer.applied == 1, what="the third try to succeed")
    assert probe.FAULTS.calls == 3
    assert bus.closings("T1") == 1
    assert consumer.dead_lettered == 0


def test_a_retried_message_does_not_hold_up_the_messages_behind_it(bus: Probe) -> None:
    probe.FAULTS.failures_left = 1
    for title in ("T1", "T2", "T3"):
        bus.open_and_close(title)
    bus.sender.relay.publish_pending()

    with consuming(bus.receiver.consumer()) as consumer:
        wait_until(lambda: consumer.applied == 3, what="all three closings")
    assert [bus.closings(t) for t in ("T1", "T2", "T3")] == [1, 1, 1]


def test_a_message_that_always_fails_is_dead_lettered_with_its_reason_and_can_be_replayed(bus: Probe) -> None:
    probe.FAULTS.always = True
    bus.open_and_close()
    bus.sender.relay.publish_pending()

    with consuming(bus.receiver.consumer()) as consumer:
        wait_until(lambda: consumer.dead_lettered == 1, what="the message to be dead-lettered")
    assert probe.FAULTS.calls == 3, "tried exactly RETRY_ATTEMPTS times"
    assert bus.closings("T1") == 0

    with bus.connection() as conn:
        letters = list_dead_letters(conn, bus.topology, "receiver")
        assert len(letters) == 1
        [letter] = letters
        assert letter.event_type == "ticket.closed"
        assert letter.attempts == 3
        assert "RuntimeError: the receiver refuses every ticket" in letter.reason
        assert letter.queue == bus.topology.queue_name("receiver")
        assert len(list_dead_letters(conn, bus.topology, "receiver")) == 1, "listing removes nothing"

        probe.FAULTS.always = False
        replayed = replay_dead_letters(conn, bus.topology, "receiver")
        assert [r.message_id for r in replayed] == [letter.message_id]
        assert list_dead_letters(conn, bus.topology, "receiver") == []

    with consuming(bus.receiver.consumer()) as consumer:
        wait_until(lambda: consumer.applied == 1, what="the replayed message")
    assert bus.closings("T1") == 1


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        ('{"hello": "world"}', "application/json", "the envelope is broken"),
        ("not json at all", "application/json", "undecodable message"),
        (b"\x80\x04K\x01.", "application/x-python-serialize", "undecodable message"),
        (None, "application/json", "payload does not match its schema"),
    ],
    ids=["broken-envelope", "not-json", "pickle", "bad-payload"],
)
def test_a_malformed_message_is_dead_lettered_with_the_reason_and_nothing_crashes(
    bus: Probe, body: object, content_type: str, reason: str
) -> None:
    if body is None:  # a well-formed envelope whose payload breaks the ticket.closed schema
        good = Event(
            type="ticket.closed",
            version=1,
            occurred_at=datetime.now(UTC),
            producer="sender",
            actor=probe.CLERK,
            subject="T1",
            payload={"title": "T1", "trigger": "close", "from_state": "open", "to_state": "closed"},
        )
        envelope = probe.CATALOGUE.to_message(good)
        envelope["payload"]["title"] = ["not", "a", "string"]
        body = json.dumps(envelope)
    with bus.connection() as conn:
        Producer(conn.default_channel).publish(
            body,
            exchange=bus.topology.events,
            routing_key="ticket.closed",
            content_type=content_type,
            content_encoding="binary" if isinstance(body, bytes) else "utf-8",
            message_id="poison",
        )

    with consuming(bus.receiver.consumer()) as consumer:
        wait_until(lambda: consumer.dead_lettered == 1, what="the poison message to be dead-lettered")
        bus.open_and_close("T2")  # the consumer is still alive and applies the next good event
        bus.sender.relay.publish_pending()
        wait_until(lambda: consumer.applied == 1, what="a good event after the poison one")
    assert probe.FAULTS.calls == 1, "the handler never saw the poison message"
    assert bus.closings("T2") == 1
    with bus.connection() as conn:
        [letter] = list_dead_letters(conn, bus.topology, "receiver")
    assert reason in letter.reason
    assert letter.message_id == "poison"


# -- batches ---------------------------------------------------------------------------------------------------


def test_events_waiting_in_the_queue_are_applied_in_batches_each_once_and_in_order(bus: Probe) -> None:
    bus.open_and_close("T1")
    bus.sender.execute(probe.reopen_ticket, "T1")
    bus.sender.execute(probe.close_ticket, "T1")
    for title in ("T2", "T3", "T4"):
        bus.open_and_close(title)
    bus.sender.relay.publish_pending()

    with consuming(bus.receiver.consumer()) as consumer:
        wait_until(lambda: consumer.applied == 6, what="all six events")
    assert consumer.largest_batch > 1, "what the prefetch delivered is applied together"
    assert consumer.batches < 6
    assert bus.journal("T1") == ["ticket.closed", "ticket.reopened", "ticket.closed"]
    assert [bus.closings(t) for t in ("T1", "T2", "T3", "T4")] == [2, 1, 1, 1]
    assert bus.count(bus.receiver, probe.RECEIVER.tables.inbox) == 6
    assert bus.queued(bus.topology.queue_name("receiver")) == 0, "every message acknowledged"


def test_a_committed_batch_is_acknowledged_by_one_ack_on_rabbitmq_and_an_ack_each_in_memory(
    bus: Probe, monkeypatch: pytest.MonkeyPatch
) -> None:
    acks = spy_on_acks(monkeypatch)
    for title in ("T1", "T2", "T3", "T4"):
        bus.open_and_close(title)
    bus.sender.relay.publish_pending()

    with consuming(bus.receiver.consumer()) as consumer:
        wait_until(lambda: consumer.applied == 4, what="all four events")
    if bus.stack.durable_broker:  # kombu's memory transport ignores ``multiple``
        assert [multiple for _, multiple in acks] == [True] * consumer.batches, "one ack a batch"
    else:
        assert [multiple for _, multiple in acks] == [False] * 4
    assert bus.queued(bus.topology.queue_name("receiver")) == 0, "every message acknowledged"


@pytest.mark.parametrize("stack", ["production"], indirect=True)  # where a batch is acknowledged at once
def test_a_batch_committed_while_a_message_waits_for_its_retry_leaves_that_message_unacknowledged(
    bus: Probe, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One ack with ``multiple`` would acknowledge every earlier delivery, the one held for its retry included: a
    crash then would lose it, and its own ack later would be refused by the broker."""
    held: list[int] = []
    consumer = bus.receiver.consumer()
    consumer.policy = replace(consumer.policy, backoff_seconds=1.0)  # long enough for a batch to pass meanwhile
    acks = spy_on_acks(monkeypatch, lambda: held.append(consumer.held_for_retry))
    probe.FAULTS.failures_left = 1
    with consuming(consumer):
        bus.open_and_close("T1")
        bus.sender.relay.publish_pending()
        wait_until(lambda: consumer.held_for_retry == 1, what="T1 held for its retry")
        for title in ("T2", "T3"):
            bus.open_and_close(title)
        bus.sender.relay.publish_pending()
        wait_until(lambda: consumer.applied == 2, what="T2 and T3 applied while T1 waits")
        assert consumer.held_for_retry == 1
        wait_until(lambda: consumer.applied == 3, what="T1 applied at its retry")
    assert [multiple for _, multiple in acks] == [False, False, False], "an ack each while T1 was held, and T1's own"
    assert held[:2] == [1, 1]
    assert [bus.closings(t) for t in ("T1", "T2", "T3")] == [1, 1, 1]
    assert bus.queued(bus.topology.queue_name("receiver")) == 0


def spy_on_acks(monkeypatch: pytest.MonkeyPatch, also: Callable[[], object] = lambda: None) -> list[tuple[int, bool]]:
    """Every ack a consumer sends from now on: the delivery tag and whether it was ``multiple``."""
    acks: list[tuple[int, bool]] = []
    ack = Message.ack

    def spied(message: Message, multiple: bool = False) -> None:
        acks.append((message.delivery_tag, multiple))
        also()
        ack(message, multiple=multiple)

    monkeypatch.setattr(Message, "ack", spied)
    return acks


def test_a_lingering_subscription_gathers_events_that_trickle_in_into_one_batch(bus: Probe) -> None:
    lingering = bus.receiver.consumer()
    lingering.subscription = replace(lingering.subscription, linger_seconds=2.0)
    with consuming(lingering) as consumer:
        for title in ("T1", "T2", "T3"):
            bus.open_and_close(title)
            bus.sender.relay.publish_pending()
            time.sleep(0.05)  # far longer than a batch waits for a message already on its way
        wait_until(lambda: consumer.applied == 3, what="three events")
    assert (consumer.batches, consumer.largest_batch) == (1, 3)
    assert [bus.closings(t) for t in ("T1", "T2", "T3")] == [1, 1, 1]


def test_without_lingering_events_that_trickle_in_are_applied_as_they_come(bus: Probe) -> None:
    with consuming(bus.receiver.consumer()) as consumer:
        for sent, title in enumerate(("T1", "T2", "T3"), start=1):
            bus.open_and_close(title)
            bus.sender.relay.publish_pending()
            wait_until(lambda n=sent: consumer.applied == n, what=f"{title} applied before the next is sent")
    assert (consumer.batches, consumer.largest_batch) == (3, 1)


def test_the_same_event_twice_in_one_batch_is_applied_once(bus: Probe) -> None:
    for title in ("T1", "T2"):
        bus.open_and_close(title)
    bus.sender.relay.publish_pending()
    bus.sender.relay.resend_all()
    bus.sender.relay.publish_pending()  # T1, T2, T1, T2 wait in the queue

    with consuming(bus.receiver.consumer()) as consumer:
        wait_until(lambda: consumer.applied + consumer.duplicates == 4, what="all four deliveries")
    assert consumer.largest_batch == 4, "all four arrived in one batch"
    assert (consumer.applied, consumer.duplicates) == (2, 2)
    assert (bus.closings("T1"), bus.closings("T2")) == (1, 1)
    assert bus.count(bus.receiver, probe.RECEIVER.tables.inbox) == 2


def test_a_poison_event_inside_a_batch_is_dead_lettered_and_the_rest_of_the_batch_applied_once(bus: Probe) -> None:
    probe.FAULTS.refused = {"T2"}
    for title in ("T1", "T2", "T3"):
        bus.open_and_close(title)
    bus.sender.relay.publish_pending()

    with consuming(bus.receiver.consumer()) as consumer:
        wait_until(lambda: consumer.applied == 2 and consumer.dead_lettered == 1, what="two applied, one dead")
    assert consumer.largest_batch == 3
    assert [bus.closings(t) for t in ("T1", "T2", "T3")] == [1, 0, 1]
    assert bus.journal("T2") == [], "the failed event left nothing behind"
    with bus.connection() as conn:
        [letter] = list_dead_letters(conn, bus.topology, "receiver")
    assert "RuntimeError: the receiver refuses ticket T2" in letter.reason
    assert letter.attempts == 3
    assert bus.count(bus.receiver, probe.RECEIVER.tables.inbox) == 2
    assert bus.queued(bus.topology.queue_name("receiver")) == 0


def _cause(title: str) -> Event:
    return Event(
        type="ticket.closed",
        version=1,
        occurred_at=datetime(2021, 12, 1, tzinfo=UTC),
        producer="sender",
        actor=probe.CLERK,
        subject=title,
        payload={"title": title, "trigger": "close", "from_state": "open", "to_state": "closed", "reason": None},
    )


def test_each_event_of_a_batch_sees_what_the_earlier_ones_changed_though_nothing_is_flushed_between(
    bus: Probe,
) -> None:
    bus.sender.execute(probe.open_ticket, "T1")
    with bus.sender.unit_of_work() as uow:
        uow.preload(probe.Ticket, ["T1", "T2"])
        with uow.applying(_cause("a")):
            uow.session.add(probe.Ticket(id="T2", title="T2"))  # known absent a moment ago
            probe.close_ticket("T1", uow)
        assert uow.find(probe.Ticket, "T2") is not None, "found as added, though the preload did not find it"
        with uow.applying(_cause("b")):
            by_columns = uow.session.execute(sa.select(probe.tickets.c.id, probe.tickets.c.state)).all()
            probe.close_ticket("T2", uow)
        uow.commit()
    closed, open_ = probe.TicketState.CLOSED, probe.TicketState.OPEN
    assert sorted(by_columns) == [("T1", closed), ("T2", open_)], "a read by columns flushed the batch first"
    tables = probe.SENDER.tables
    assert bus.count(bus.sender, probe.tickets, probe.tickets.c.state == "closed") == 2
    assert bus.count(bus.sender, tables.outbox) == 2
    assert bus.count(bus.sender, tables.inbox) == 2


def test_rows_added_in_a_batch_are_found_at_once_and_seen_by_every_statement(bus: Probe) -> None:
    with bus.receiver.unit_of_work() as uow:
        uow.add_row(probe.tally, {"ticket": "T0", "closings": 3})
        uow.commit()
    with bus.receiver.unit_of_work() as uow:
        uow.preload_rows(probe.tally.c.ticket, ["T1", "T2"])
        assert uow.row(probe.tally.c.ticket, "T1") is None
        uow.add_row(probe.tally, {"ticket": "T1", "closings": 1})
        found = uow.row(probe.tally.c.ticket, "T1")
        assert found is not None and found["closings"] == 1, "found as added"
        assert uow.row(probe.tally.c.ticket, "T2") is None
        read = uow.row(probe.tally.c.ticket, "T0")  # not preloaded: from the database
        assert read is not None and read["closings"] == 3
        seen = sorted(uow.session.execute(sa.select(probe.tally.c.ticket)).scalars())
        uow.session.execute(probe.tally.insert().values(ticket="T2", closings=2))  # written by hand
        by_hand = uow.row(probe.tally.c.ticket, "T2")
        assert by_hand is not None and by_hand["closings"] == 2, "a table written by hand is read again"
        uow.commit()
    assert seen == ["T0", "T1"], "a statement inserts what was added before it runs"
    assert [bus.closings(t) for t in ("T0", "T1", "T2")] == [3, 1, 2]


@pytest.mark.parametrize("stack", ["production"], indirect=True)  # PostgreSQL's plans; SQLite plans every time
def test_a_consumers_inbox_is_read_by_its_key_however_small_it_was_when_the_lookup_was_first_planned(
    bus: Probe,
) -> None:
    """The inbox lookup of a consumer's batch, run often while the inbox is nearly empty, is prepared and planned
    then; once the inbox has grown, a batch must still read it by its index, not scan the whole table (autovacuum
    is off on this machine, so no new statistics come to change the plan)."""
    inbox = probe.RECEIVER.tables.inbox
    row = {"type": "ticket.closed", "handled_at": datetime(2021, 12, 1, tzinfo=UTC)}

    def batch(conn: sa.Connection, afresh: bool) -> None:  # the inbox read of a batch of two events never seen
        if afresh:
            plan_afresh(conn)
        ids = [str(uuid.uuid4()), str(uuid.uuid4())]
        assert conn.execute(sa.select(inbox.c.event_id).where(inbox.c.event_id.in_(ids))).all() == []

    def scans_of_a_late_batch(afresh: bool) -> tuple[int, int]:
        with bus.receiver.engine.connect() as conn:
            conn.execute(sa.text("TRUNCATE inbox"))  # back to an empty file: nearly empty, as a new service
            conn.execute(inbox.insert(), [{**row, "event_id": f"early-{n}"} for n in range(20)])
            conn.commit()
            for _ in range(30):  # psycopg prepares it after 5 runs; PostgreSQL settles on a plan after 5 more
                batch(conn, afresh)
                conn.commit()
            conn.execute(inbox.insert(), [{**row, "event_id": f"later-{n}"} for n in range(20_000)])
            conn.execute(sa.text("SELECT pg_stat_force_next_flush()"))  # the counts below are the batch's alone
            conn.commit()
            batch(conn, afresh)
            scans = conn.execute(
                sa.text("SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'inbox'")
            ).one()
            conn.invalidate()  # its prepared statements go with it
        return scans.seq_scan, scans.idx_scan

    assert scans_of_a_late_batch(afresh=True) == (0, 2), "read by its key"
    assert scans_of_a_late_batch(afresh=False)[0] == 1, "what the consumer guards against: a scan of it all"


@pytest.mark.parametrize("stack", ["production"], indirect=True)  # SQLite plans every statement anyway
def test_consumers_and_relays_plan_their_statements_afresh_in_every_transaction_and_the_relay_reads_in_order(
    bus: Probe,
) -> None:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(bus.receiver.engine, "before_cursor_execute", seen)
    sa.event.listen(bus.sender.engine, "before_cursor_execute", seen)
    try:
        bus.open_and_close("T1")
        bus.sender.relay.publish_pending()
        with consuming(bus.receiver.consumer()) as consumer:
            wait_until(lambda: consumer.applied == 1, what="the closing applied")
    finally:
        sa.event.remove(bus.receiver.engine, "before_cursor_execute", seen)
        sa.event.remove(bus.sender.engine, "before_cursor_execute", seen)
    afresh = [n for n, statement in enumerate(statements) if statement == str(PLAN_AFRESH)]
    claim = next(n for n, statement in enumerate(statements) if statement.startswith("UPDATE outbox"))
    inbox_read = next(n for n, statement in enumerate(statements) if "FROM inbox" in statement)
    assert [n + 1 for n in afresh] == [claim - 1, inbox_read], "each first in its transaction"
    assert statements[claim - 1] == str(SCAN_IN_ORDER), "the relay's claim reads its index in order"


@pytest.mark.parametrize("stack", ["production"], indirect=True)  # PostgreSQL's plans and counts
def test_the_relays_claim_reads_the_rows_still_unsent_not_every_row_it_ever_sent(bus: Probe) -> None:
    """Every row of the outbox is unsent once, then marked sent: the relay's claim of the next batch must read the
    few still unsent, not the unsent versions of every row sent before, which stay in the table's files until a
    vacuum (autovacuum is off on this machine)."""
    outbox, relay = probe.SENDER.tables.outbox, bus.sender.relay
    created = datetime(2021, 12, 1, tzinfo=UTC)
    row = {"type": "ticket.closed", "body": "{}", "created_at": created}
    blocks = sa.text(
        "SELECT heap_blks_read + heap_blks_hit + idx_blks_read + idx_blks_hit FROM pg_statio_user_tables"
        " WHERE relname = 'outbox'"
    )

    def add_unsent(conn: sa.Connection, count: int) -> None:
        conn.execute(outbox.insert(), [{**row, "event_id": str(uuid.uuid4())} for _ in range(count)])
        conn.commit()

    def claim(conn: sa.Connection) -> tuple[int, int]:
        """The relay's own statement: how many rows it claimed, and how many blocks of the outbox it read."""
        conn.execute(sa.text("SELECT pg_stat_force_next_flush()"))
        conn.commit()  # what came before is counted
        before = conn.execute(blocks).scalar_one()
        conn.commit()
        claimed = len(relay.claim(conn))
        conn.execute(sa.text("SELECT pg_stat_force_next_flush()"))
        conn.commit()
        read = conn.execute(blocks).scalar_one() - before
        conn.commit()
        return claimed, read

    with bus.sender.engine.connect() as conn:  # one connection: its counts are flushed when it says so
        add_unsent(conn, 50_000)
        conn.execute(outbox.update().values(published_at=created))  # sent, as the relays mark them batch by batch
        conn.commit()
        add_unsent(conn, 3)
        assert claim(conn)[0] == 3  # the first claim since they were sent steps over their old versions once
        add_unsent(conn, 3)
        claimed, read = claim(conn)
        pages = conn.execute(sa.text("SELECT pg_relation_size('outbox') / current_setting('block_size')::int")).scalar()
    assert claimed == 3
    # It steps over the index's entries of the 50,000 sent (about one block of the index for 400) without fetching
    # them from the table: a bitmap scan read ~850 blocks here, and a scan of the table all of its pages.
    assert read < pages / 4, f"the claim of 3 unsent rows read {read} blocks; the outbox has {pages} pages"


@pytest.mark.parametrize("stack", ["production"], indirect=True)  # SQLite lets no other writer in meanwhile
def test_a_batch_that_lost_a_race_at_its_one_flush_keeps_nothing(bus: Probe) -> None:
    bus.sender.execute(probe.open_ticket, "T1")
    with bus.sender.unit_of_work() as uow:
        uow.preload(probe.Ticket, ["T1"])
        with uow.applying(_cause("a")):
            probe.close_ticket("T1", uow)
        bus.sender.execute(probe.close_ticket, "T1")  # another process gets there first
        with pytest.raises(ConcurrentUpdate):
            uow.commit()
    assert bus.count(bus.sender, probe.SENDER.tables.inbox) == 0
    assert bus.count(bus.sender, probe.SENDER.tables.outbox) == 1, "the winner's event alone"


# -- concurrency -----------------------------------------------------------------------------------------------


def test_two_writers_racing_on_one_record_one_wins_and_the_other_gets_a_clear_error(bus: Probe) -> None:
    bus.sender.execute(probe.open_ticket, "T1")
    loaded = threading.Barrier(2, timeout=10)
    outcomes: list[object] = []

    def close_after_both_loaded(title, uow):
        ticket = uow.session.get(probe.Ticket, title)
        with contextlib.suppress(threading.BrokenBarrierError):
            loaded.wait()  # SQLite lets one writer in at a time: the other loads after the first commit
        ticket.close(probe.CLERK, uow.now())

    def racer() -> None:
        try:
            bus.sender.execute(close_after_both_loaded, "T1")
            outcomes.append("won")
        except Exception as err:
            outcomes.append(type(err).__name__)

    if bus.stack.name == "embedded":
        loaded.abort()
    threads = [threading.Thread(target=racer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    loser = ConcurrentUpdate.__name__ if bus.stack.name == "production" else IllegalTransition.__name__
    assert sorted(outcomes) == sorted(["won", loser])
    assert bus.count(bus.sender, probe.SENDER.tables.transitions) == 1
    assert bus.count(bus.sender, probe.SENDER.tables.outbox) == 1
