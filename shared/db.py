"""Each service's database: the engine, the tables every service shares, and the unit of work.

The unit of work is the only way a service writes. On commit it turns the state changes of the aggregates in
the session into transition-history rows and outbox events, and commits them with the state in one
transaction: a change is never kept without its event, nor an event sent for a change that was rolled back.
For a consumed event it also writes the inbox row that makes a redelivery a no-op.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

import sqlalchemy as sa
from marshmallow import Schema
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from shared.campaigns import Campaign
from shared.clock import Clock
from shared.events import Actor, Catalogue, Event, canonical_json
from shared.statemachine import Aggregate, RuleViolation, StateChange

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
T = TypeVar("T")


class CampaignNotFound(RuleViolation):
    status = 404

    def __init__(self, code: str):
        super().__init__("campaign_not_found", f"Không có phong trào thi đua mã “{code}”.")


def campaign_in(campaigns: Mapping[str, Campaign], code: str) -> Campaign:
    """The campaign ``code``, or a 404 problem naming it."""
    campaign = campaigns.get(code)
    if campaign is None:
        raise CampaignNotFound(code)
    return campaign


def database_unreachable(err: BaseException) -> bool:
    """The database could not be reached or dropped the connection: not the request's fault, nor the message's,
    nor a bug. The same work succeeds once the database is back, so it is answered 503 or tried again later."""
    if isinstance(err, sa.exc.DBAPIError):
        return err.connection_invalidated or isinstance(err, sa.exc.OperationalError | sa.exc.InterfaceError)
    return isinstance(err, sa.exc.TimeoutError)  # no pooled connection came free in time


def read_once(session: Session, key: Hashable, read: Callable[[], T]) -> T:
    """What ``read`` returns, read once per unit of work: kept in its session's ``info`` under ``key``, for the reads
    a command's judgement and its answer (or a batch's events) would otherwise repeat. A session lives for one unit
    of work, so nothing outlives its transaction; whoever writes what was read sets or clears ``key`` too."""
    if key not in session.info:
        session.info[key] = read()
    value: T = session.info[key]
    return value


def database_ready(engine: Engine) -> str | None:
    """None when the database answers, else why not (for ``/readyz``)."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as err:
        return f"{type(err).__name__}: {err}"[:300]
    return None


class ConcurrentUpdate(Exception):
    """Another writer changed the same record first; the API answers 409 and the client may retry."""

    code = "concurrent_update"


def create_engine(url: str) -> Engine:
    """An engine tuned for the backend: SQLite gets WAL and a busy timeout so threads can share a file."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        sa_event.listen(engine, "connect", _sqlite_pragmas)
        # Let SQLAlchemy own BEGIN, so a transaction that only reads still holds its snapshot.
        sa_event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


PLAN_AFRESH = sa.text("SET LOCAL plan_cache_mode = force_custom_plan")


def plan_afresh(connection: sa.Connection | Session) -> None:
    """For the rest of this transaction, plan every statement for its parameters and the tables as they are now.

    For the work that runs the same few statements thousands of times on one long-lived connection (a consumer's
    batch: the inbox and its lookups by key; the relay's claim of the unsent). psycopg prepares such a statement,
    and PostgreSQL settles on one generic plan for it, kept until the tables' statistics change: planned while a
    service's tables were nearly empty (its first minutes), a lookup by key stayed a scan of the whole table as they
    grew wherever autovacuum is off or lags, and audit fell behind a campaign. A batch's few statements are cheap to
    plan; planning every statement of every request instead cost the 10,000-unit campaign a fifth more time.
    """
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    if bind.dialect.name == "postgresql":
        connection.execute(PLAN_AFRESH)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """An instant, always timezone-aware UTC in Python, whatever the backend keeps (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"a naive datetime cannot be stored as an instant: {value!r}")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SchemaJSON(sa.types.TypeDecorator[Any]):
    """A JSON column whose values pass through a marshmallow schema: Python values in the domain (dates stay
    dates), JSON in the database, the same shape as in the events."""

    impl = sa.JSON
    cache_ok = True

    def __init__(self, schema: Schema, many: bool = False):
        super().__init__()
        self.schema = schema
        self.many = many

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        return None if value is None else self.schema.dump(value, many=self.many)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        return None if value is None else self.schema.load(value, many=self.many)


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata() -> sa.MetaData:
    """The metadata of one service's database, with constraint names stable across backends."""
    return sa.MetaData(naming_convention=NAMING_CONVENTION)


@dataclass(frozen=True)
class BusTables:
    outbox: sa.Table
    inbox: sa.Table
    transitions: sa.Table


def bus_tables(metadata: sa.MetaData) -> BusTables:
    """The outbox, inbox and transition history, added to a service's own metadata."""
    outbox = sa.Table(
        "outbox",
        metadata,
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("published_at", UtcDateTime()),
        # The unsent rows alone, in the order the relay claims them (why not (published_at, seq): shared/outbox.py).
        sa.Index(
            "ix_outbox_unsent",
            "seq",
            postgresql_where=sa.text("published_at IS NULL"),
            sqlite_where=sa.text("published_at IS NULL"),
        ),
    )
    inbox = sa.Table(
        "inbox",
        metadata,
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("handled_at", UtcDateTime(), nullable=False),
    )
    transitions = sa.Table(
        "transitions",
        metadata,
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("subject_type", sa.String(50), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("trigger", sa.String(50), nullable=False),
        sa.Column("from_state", sa.String(50), nullable=False),
        sa.Column("to_state", sa.String(50), nullable=False),
        sa.Column("actor_id", sa.String(200), nullable=False),
        sa.Column("actor_name", sa.String(200), nullable=False),
        sa.Column("actor_role", sa.String(50), nullable=False),
        sa.Column("actor_unit", sa.String(100)),
        sa.Column("reason", sa.Text),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Index("ix_transitions_subject", "subject_type", "subject_id", "id"),
    )
    return BusTables(outbox=outbox, inbox=inbox, transitions=transitions)


class UnitOfWork:
    """One transaction of one service: load, change, record, commit once.

    Use it as a context manager; leaving the block without :meth:`commit` rolls everything back.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        tables: BusTables,
        catalogue: Catalogue,
        clock: Clock,
        producer: str,
        *,
        cause: Event | None = None,
        correlation_id: str = "",
        on_commit: Callable[[], None] = lambda: None,
        campaigns: Mapping[str, Campaign] | None = None,
    ):
        self._session_factory = session_factory
        self.tables = tables
        self.catalogue = catalogue
        self.clock = clock
        self.producer = producer
        self.cause = cause
        self.correlation_id = cause.correlation_id if cause else correlation_id
        self._on_commit = on_commit
        self.campaigns: Mapping[str, Campaign] = campaigns or {}
        self._events: list[Event] = []
        self._pending: list[_Rows] = []  # made, not yet inserted: a batch's rows go in together at commit
        self._written: list[Event] = []  # inserted, to be committed
        self._known: dict[tuple[type[Any], Any], Any] = {}  # what :meth:`preload` read, found or not
        self._known_rows: dict[sa.Column[Any], dict[Any, Mapping[Any, Any] | None]] = {}  # :meth:`preload_rows`
        self._added_rows: list[tuple[sa.Table, Mapping[str, Any]]] = []  # :meth:`add_row`, not yet inserted
        self.committed = False
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        self._events = []
        self._pending, self._written = [], []
        self._changes: list[StateChange] = []
        self._known, self._known_rows, self._added_rows = {}, {}, []
        self.committed = False
        self.session.info[_UNIT_OF_WORK] = self  # the session's events (below the class) come back here
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Release the objects as they are (a view may still read them), then undo whatever was not committed.
        self.session.expunge_all()
        if not self.committed:
            self.session.rollback()
        self.session.close()
        del self.session.info[_UNIT_OF_WORK]

    def now(self) -> datetime:
        return self.clock.now()

    def campaign(self, code: str) -> Campaign:
        return campaign_in(self.campaigns, code)

    def emit(
        self,
        type_: str,
        *,
        subject: str,
        payload: dict[str, Any],
        actor: Actor,
        campaign: str | None = None,
        unit: str | None = None,
        version: int = 1,
    ) -> Event:
        """Queue an event that is not a state change (an import, a setting); it commits with the rest."""
        event = Event(
            type=type_,
            version=version,
            occurred_at=self.now(),
            producer=self.producer,
            actor=actor,
            subject=subject,
            payload=payload,
            campaign=campaign,
            unit=unit,
            correlation_id=self.correlation_id,
            causation_id=self.cause.id if self.cause else None,
        )
        self._events.append(event)
        return event

    def already_handled(self, event: Event) -> bool:
        return bool(self.handled_among([event]))

    def handled_among(self, events: Sequence[Event]) -> set[str]:
        """The ids of ``events`` the inbox already holds: one query for a whole batch."""
        inbox = self.tables.inbox
        ids = [event.id for event in events]
        return set(self.session.execute(sa.select(inbox.c.event_id).where(inbox.c.event_id.in_(ids))).scalars())

    def preload(self, entity: type[Any], ids: Collection[Any]) -> None:
        """Read the ``entity`` rows of ``ids`` (values of its one-column primary key) in one query, for the events
        of a batch: :meth:`find` then answers for each without asking the database, for the ones not found too."""
        key = sa.inspect(entity).primary_key[0]
        found = {_identity(obj): obj for obj in self.session.scalars(sa.select(entity).where(key.in_(ids)))}
        self._known.update({(entity, id_): found.get(id_) for id_ in ids})

    def find(self, entity: type[T], id_: Any) -> T | None:
        """The ``entity`` of primary key ``id_`` or None: as :meth:`preload` read it (or this transaction has since
        added it), else from the database."""
        if (entity, id_) in self._known:
            found: T | None = self._known[(entity, id_)]
            return found
        return self.session.get(entity, id_)

    def preload_rows(self, key: sa.Column[Any], values: Collection[Any]) -> None:
        """Read the rows of ``key``'s table whose ``key`` (a unique column) is one of ``values``, in one query, for
        the events of a batch: :meth:`row` then answers for each without asking the database, for the ones not
        found too, and for the ones :meth:`add_row` adds since (a statement that writes the table otherwise sends
        :meth:`row` back to the database)."""
        assert key.table is not None
        rows = self.session.execute(sa.select(key.table).where(key.in_(values))).mappings()
        found = {row[key.name]: row for row in rows}
        self._known_rows.setdefault(key, {}).update({value: found.get(value) for value in values})

    def row(self, key: sa.Column[Any], value: Any) -> Mapping[Any, Any] | None:
        """The row of ``key``'s table whose ``key`` (a unique column) is ``value``, or None: as
        :meth:`preload_rows` read it (or :meth:`add_row` has since added it), else from the database."""
        known = self._known_rows.get(key)
        if known is not None and value in known:
            return known[value]
        assert key.table is not None
        return self.session.execute(sa.select(key.table).where(key == value)).mappings().first()

    def add_row(self, table: sa.Table, values: Mapping[str, Any]) -> None:
        """Insert ``values`` into ``table`` with the transaction's other rows, one INSERT per table, or before the
        next statement the session executes, whichever comes first: every read sees it, as if inserted at once."""
        self._added_rows.append((table, values))
        for key, known in self._known_rows.items():
            if key.table is table and values.get(key.name) in known:
                known[values[key.name]] = values

    @contextmanager
    def applying(self, cause: Event) -> Iterator[None]:
        """Apply one consumed event of a batch: when the block ends well its changes are taken and its history,
        outgoing events and inbox row are made (so an outgoing event that breaks its schema fails here), to be
        written with the whole batch's, one INSERT per table, at :meth:`commit`.

        There is no savepoint: an event that fails leaves the batch's transaction to be rolled back whole, and the
        consumer then applies the batch's events one at a time (failures are rare; a savepoint cost every event two
        round trips). Nor is there a flush per event: the batch's objects stay in the session and are written
        together by the flush at :meth:`commit` (an INSERT per event was most of a consumer's time). Each event
        still sees every earlier event's effect: what it finds by key (:meth:`find`, :meth:`row`) is as the earlier
        events left it, and any statement the session executes writes what is pending first (SQLAlchemy autoflushes
        before every statement, a read of columns or a hand-written write as well as a query of mapped objects;
        the rows of :meth:`add_row` are inserted then too). What reads keep in the session's ``info`` (a deadline,
        the audit chain's head) is kept current by their writers and lasts as long as the transaction.
        """
        self.cause = cause
        self.correlation_id = cause.correlation_id
        try:
            yield
            self._take_changes(self.session)
            self._pending.append(self._rows(flush=False))
        finally:
            self.cause = None
            self._events, self._changes = [], []

    def write(self) -> None:
        """Write what is pending (state, history, outbox) into the transaction without committing it.

        A route then renders its answer from the same transaction, before :meth:`commit`: the answer shows exactly
        what is committed, and needs no second connection and no reload of what the handler already holds.
        """
        with self._stale_is_a_conflict():
            self._pending.append(self._rows())
            self._insert_pending()
        self._events = []

    def commit(self) -> list[Event]:
        """Write the history, the outbox and (for a consumed event) the inbox row with the state; commit."""
        with self._stale_is_a_conflict():
            self._pending.append(self._rows())
            events = self._insert_pending()
            self.session.commit()
        self.committed = True
        self._events, self._written = [], []
        if events:
            self._on_commit()
        return events

    @contextmanager
    def _stale_is_a_conflict(self) -> Iterator[None]:
        """A writer that loaded an older version meets the newer one at flush: nothing of it is kept, and it is told
        to load again and retry (409), whether the flush came with :meth:`write` or :meth:`commit`."""
        try:
            yield
        except StaleDataError as err:
            self.session.rollback()
            raise ConcurrentUpdate(str(err)) from err

    def _rows(self, flush: bool = True) -> _Rows:
        """Flush the state, then make the rows that go with it: history, outbox and (for a consumed event) inbox."""
        # The state first: a writer that lost a race meets the newer version here (and the flush takes the changes).
        if flush:
            self.session.flush()
        changes = sorted(self._changes, key=lambda change: change.sequence)
        self._changes = []
        recorded = [(self._record(change), change) for change in changes]
        events = [event for event, _ in recorded] + self._events
        now = self.now()
        return _Rows(
            events=events,
            transitions=[_transition_row(change, event.id) for event, change in recorded],
            outbox=[
                {
                    "event_id": e.id,
                    "type": e.type,
                    "body": canonical_json(self.catalogue.to_message(e)),
                    "created_at": now,
                }
                for e in events
            ],
            inbox=[]
            if self.cause is None
            else [{"event_id": self.cause.id, "type": self.cause.type, "handled_at": now}],
        )

    def _before_statement(self, state: ORMExecuteState) -> None:
        """Every statement sees the rows :meth:`add_row` added; one that writes a table by hand makes what
        :meth:`preload_rows` read of that table stale, so :meth:`row` asks the database again."""
        self._insert_added_rows()
        if self._known_rows and (state.is_insert or state.is_update or state.is_delete):
            written = getattr(getattr(state.statement, "table", None), "name", None)
            for key in [key for key in self._known_rows if key.table is not None and key.table.name == written]:
                del self._known_rows[key]

    def _insert_added_rows(self) -> None:
        added, self._added_rows = self._added_rows, []
        by_table: dict[sa.Table, list[Mapping[str, Any]]] = {}
        for table, values in added:
            by_table.setdefault(table, []).append(values)
        for table, rows in by_table.items():
            self.session.connection().execute(table.insert(), rows)  # known already: no statement event

    def _insert_pending(self) -> list[Event]:
        """Insert the rows made so far, one INSERT per table, in the order they were made; every event committed
        by this unit of work so far is returned."""
        self._insert_added_rows()
        pending, self._pending = self._pending, []
        for table, rows in (
            (self.tables.transitions, [row for made in pending for row in made.transitions]),
            (self.tables.outbox, [row for made in pending for row in made.outbox]),
            (self.tables.inbox, [row for made in pending for row in made.inbox]),
        ):
            if rows:
                self.session.execute(table.insert(), rows)
        self._written.extend(event for made in pending for event in made.events)
        return list(self._written)

    def _added(self, obj: Any) -> None:
        key = (type(obj), _identity(obj))
        if key in self._known:
            self._known[key] = obj

    def _take_changes(self, session: Session) -> None:
        for obj in list(session.new) + list(session.dirty):
            if isinstance(obj, Aggregate):
                self._changes.extend(obj.pull_changes())
        for obj in session.dirty:
            if isinstance(obj, Aggregate) and session.is_modified(obj) and hasattr(obj, "updated_at"):
                # A change to the aggregate's children alone (a vote, a step decision) must still update its row,
                # so that the version check catches a concurrent writer even when the clock has not moved.
                flag_modified(obj, "updated_at")

    def _record(self, change: StateChange) -> Event:
        return Event(
            type=change.event_type,
            version=change.event_version,
            occurred_at=change.at,
            producer=self.producer,
            actor=change.actor,
            subject=change.subject_id,
            payload=change.payload,
            campaign=change.campaign,
            unit=change.unit,
            correlation_id=self.correlation_id,
            causation_id=self.cause.id if self.cause else None,
        )


def _identity(obj: Any) -> Any:
    return sa.inspect(obj).mapper.primary_key_from_instance(obj)[0]


@dataclass
class _Rows:
    """What one command or one consumed event writes beside its state, made at once and inserted in bulk."""

    events: list[Event]
    transitions: list[dict[str, Any]]
    outbox: list[dict[str, Any]]
    inbox: list[dict[str, Any]]


def _transition_row(change: StateChange, event_id: str) -> dict[str, Any]:
    return {
        "subject_type": change.subject_type,
        "subject_id": change.subject_id,
        "trigger": change.trigger,
        "from_state": change.source,
        "to_state": change.dest,
        "actor_id": change.actor.id,
        "actor_name": change.actor.name,
        "actor_role": change.actor.role,
        "actor_unit": change.actor.unit,
        "reason": change.reason,
        "occurred_at": change.at,
        "event_id": event_id,
    }


# The session events a unit of work follows, listened to once for every session rather than for each one it opens (a
# listener added to one session costs more than a small request's query). A session outside a unit of work (a
# read-only query's) has none in its ``info`` and is left alone.
_UNIT_OF_WORK = "thidua.unit_of_work"


@sa_event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    # A flushed object is clean, and the session then holds it only weakly: take its changes at every flush
    # (autoflush included), or an aggregate the handler no longer refers to could vanish with them.
    uow = session.info.get(_UNIT_OF_WORK)
    if uow is not None:
        uow._take_changes(session)


@sa_event.listens_for(Session, "transient_to_pending")
def _transient_to_pending(session: Session, obj: Any) -> None:
    uow = session.info.get(_UNIT_OF_WORK)
    if uow is not None:
        uow._added(obj)


@sa_event.listens_for(Session, "do_orm_execute")
def _do_orm_execute(state: ORMExecuteState) -> None:
    uow = state.session.info.get(_UNIT_OF_WORK)
    if uow is not None:
        uow._before_statement(state)
