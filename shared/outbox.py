"""The outbox relay: publishes committed events, and marks them sent only when the broker confirmed them.

A service's every process runs one relay thread. A commit wakes the relay of its own process at once; a poll
picks up what another process committed, or what waited while the broker was away. On PostgreSQL the relay
claims its batch with ``FOR UPDATE SKIP LOCKED``, so relays of several processes never send the same rows at
the same time. The batch is published back to back and the relay waits once for the broker to confirm all of it
(a wait per message was its ceiling); rows are marked sent only after that. A crash between the broker's confirm
and the "sent" mark, or a batch of which the broker confirmed only part, sends rows again: consumers' inboxes make
that harmless.

A round asks the database little, since the relay runs beside the API and takes its CPU: on PostgreSQL how to plan
it, then one UPDATE that claims the batch and marks it sent, in a transaction committed only once the broker has
confirmed the batch, so the mark is kept only then. A batch shorter than the limit took every row unsent when it
began, so no round follows it to find nothing; later commits wake the relay again. The relay keeps its connection
between rounds (no checkout and no ping per round), and drops it at any failure.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shared.bus import BatchPublisher, Topology
from shared.clock import Clock
from shared.db import plan_afresh

log = logging.getLogger(__name__)

# The claim reads the index of the unsent rows in its order, never as a bitmap (PostgreSQL's choice while the outbox
# has no statistics). The index is of the unsent alone because from one on (published_at, seq) PostgreSQL cannot
# take the order of seq for ``published_at IS NULL``: it fetched every row that index held as unsent, and sorted.
# A row marked sent leaves its unsent version in the index until a vacuum; a bitmap scan fetches every such version
# from the table at every round, where a scan in order marks each one dead as it passes it, and the next round steps
# over it without touching the table.
SCAN_IN_ORDER = sa.text("SET LOCAL enable_bitmapscan = off")


class OutboxRelay:
    def __init__(
        self,
        engine: Engine,
        outbox: sa.Table,
        topology: Topology,
        broker_url: str,
        clock: Clock,
        *,
        batch: int = 200,
        poll_seconds: float = 1.0,
        name: str = "relay",
    ):
        self.engine = engine
        self.outbox = outbox
        self.topology = topology
        self.broker_url = broker_url
        self.clock = clock
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.name = name
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._publisher: BatchPublisher | None = None
        self._connection: sa.Connection | None = None
        oldest_unsent = (
            sa.select(outbox.c.seq)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.seq)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        # Built once, so that SQLAlchemy finds it compiled in its cache instead of building it every round.
        self._claim = (
            outbox.update()
            .where(outbox.c.seq.in_(oldest_unsent))
            .values(published_at=sa.bindparam("sent_at", type_=outbox.c.published_at.type))
            .returning(outbox.c.seq, outbox.c.event_id, outbox.c.type, outbox.c.body)
        )
        self.published = 0
        self.failures = 0
        self.on_published: Callable[[int], None] = lambda count: None

    # -- the loop -------------------------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Send what is committed, then stop; what the broker refuses now is sent by the next start."""
        if self._thread is not None:
            self._stop.set()
            self._wake.set()
            self._thread.join(timeout)
            self._thread = None
        self._disconnect()

    def _run(self) -> None:
        delay = self.poll_seconds
        while True:
            try:
                while self.publish_pending() == self.batch:  # a short batch took every row unsent when it began
                    pass
                delay = self.poll_seconds
            except Exception as err:  # the broker or the database is away: keep the rows, try again later
                self.failures += 1
                log.warning("%s: cannot publish yet (%s); retrying in %.1fs", self.name, err, delay)
                self._disconnect()
                delay = min(delay * 2, 30.0)
            if self._stop.is_set():
                return
            self._wake.wait(delay)
            self._wake.clear()

    # -- one round ------------------------------------------------------------------------------------------

    def publish_pending(self) -> int:
        """Publish one batch of unsent events in order; return how many were sent."""
        conn = self._database()
        with conn.begin():
            # Marked sent as they are claimed, in a transaction that commits only after the broker's confirm: a
            # refusal, the timeout or a crash rolls the mark back, and the rows are sent again.
            claimed = self.claim(conn)
            if not claimed:
                return 0
            publisher = self._ensure_publisher()
            for row in sorted(claimed, key=lambda row: row.seq):  # RETURNING promises no order
                publisher.publish(
                    row.body,
                    exchange=self.topology.events,
                    routing_key=row.type,
                    message_id=row.event_id,
                    content_type="application/json",
                    content_encoding="utf-8",
                    delivery_mode=2,
                )
            publisher.wait_for_confirms()
        self.published += len(claimed)
        self.on_published(len(claimed))
        return len(claimed)

    def claim(self, conn: sa.Connection) -> Sequence[sa.Row[Any]]:
        """Mark the oldest unsent rows (a batch) sent, in ``conn``'s transaction, and return them."""
        plan_afresh(conn)
        if conn.dialect.name == "postgresql":
            conn.execute(SCAN_IN_ORDER)
        return conn.execute(self._claim, {"sent_at": self.clock.now()}).all()

    def resend_all(self) -> int:
        """Mark every event unsent: after the in-memory broker restarted empty, consumers' inboxes dedupe."""
        with self.engine.begin() as conn:
            result = conn.execute(
                self.outbox.update().where(self.outbox.c.published_at.is_not(None)).values(published_at=None)
            )
            return result.rowcount or 0

    def pending(self) -> int:
        with self.engine.connect() as conn:
            count = conn.execute(
                sa.select(sa.func.count()).select_from(self.outbox).where(self.outbox.c.published_at.is_(None))
            ).scalar_one()
            return int(count)

    def _database(self) -> sa.Connection:
        if self._connection is None:
            self._connection = self.engine.connect()
        return self._connection

    def _ensure_publisher(self) -> BatchPublisher:
        if self._publisher is None:
            publisher = BatchPublisher(self.broker_url)
            self.topology.declare(publisher.connection)
            self._publisher = publisher
        return self._publisher

    def _disconnect(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # already broken; the pool replaces it
                log.debug("%s: closing a broken database connection failed", self.name, exc_info=True)
            self._connection = None
        if self._publisher is not None:
            try:
                self._publisher.release()
            except Exception:  # already broken; nothing left to release
                log.debug("%s: release of a broken connection failed", self.name, exc_info=True)
        self._publisher = None
