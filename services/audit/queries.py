"""What auditors read: filtered pages of the log, every matching entry (for CSV), a dossier's timeline, and the
chain's verification. Reads only; nothing here writes.

Paging is by key, never by offset: a cursor holds the sort key of the last entry shown, and the next page starts
after it. ``seq`` only grows and entries never change, so appends made while an auditor pages neither repeat nor
skip an entry that existed when paging began (in arrival order the new ones come before the first page when
newest first, after the last one when oldest first).

Long reads (an export, a verification) go in batches of their own short transactions, not one long one: on SQLite
a transaction holds the database's write lock, and the consumer must keep appending meanwhile. The end of the
walk is fixed when it starts, so the answer is the log as it was at that moment.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.audit.domain import ROLE_NAMES, Anchor, Entry, Names, Verdict, reason_of, sentence, verify
from services.audit.models import entries
from shared.campaigns import Campaign
from shared.clock import format_local_datetime

SORTS = ("seq", "occurred")
ORDERS = ("newest", "oldest")
Sessions = Callable[[], Session]

BATCH = 5000  # entries per transaction when walking the whole log


class BadCursor(ValueError):
    """A cursor this service did not make, or made for another ordering."""


@dataclass(frozen=True)
class EntryFilter:
    subject: str | None = None
    dossier: str | None = None  # the dossier's own events and every event that names it
    unit: str | None = None
    actor: str | None = None
    role: str | None = None
    types: Sequence[str] = ()
    campaign: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None

    @classmethod
    def of(cls, query: Mapping[str, Any]) -> EntryFilter:
        """The filter of a checked query (``schemas.EntryQuery``), from the API or the command line."""
        return cls(
            subject=query.get("subject"),
            dossier=query.get("dossier"),
            unit=query.get("unit"),
            actor=query.get("actor"),
            role=query.get("role"),
            types=tuple(query.get("type") or ()),
            campaign=query.get("campaign"),
            occurred_from=query.get("occurred_from"),
            occurred_to=query.get("occurred_to"),
            recorded_from=query.get("recorded_from"),
            recorded_to=query.get("recorded_to"),
        )

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        c = entries.c
        equal = (
            (c.subject, self.subject),
            (c.unit, self.unit),
            (c.actor_id, self.actor),
            (c.actor_role, self.role),
            (c.campaign, self.campaign),
        )
        conditions = [column == value for column, value in equal if value is not None]
        if self.dossier is not None:
            conditions.append(sa.or_(c.subject == self.dossier, c.dossier_id == self.dossier))
        if self.types:
            conditions.append(c.type.in_(list(self.types)))
        for column, low, high in (
            (c.occurred_at, self.occurred_from, self.occurred_to),
            (c.recorded_at, self.recorded_from, self.recorded_to),
        ):
            if low is not None:
                conditions.append(column >= low)
            if high is not None:
                conditions.append(column <= high)
        return conditions


@dataclass(frozen=True)
class Ordering:
    sort: str = "seq"  # seq: arrival; occurred: when it happened (ties by arrival)
    order: str = "newest"

    def __post_init__(self) -> None:
        if self.sort not in SORTS or self.order not in ORDERS:
            raise ValueError(f"no ordering {self.sort}/{self.order}; sort is one of {SORTS}, order one of {ORDERS}")

    def keys(self) -> list[sa.ColumnElement[Any]]:
        columns = [entries.c.seq] if self.sort == "seq" else [entries.c.occurred_at, entries.c.seq]
        return [col.desc() if self.order == "newest" else col.asc() for col in columns]

    def after(self, position: tuple[Any, ...]) -> sa.ColumnElement[bool]:
        """Entries that come after ``position`` (the sort key of an entry) in this ordering."""
        row: sa.ColumnElement[Any] = entries.c.seq
        at: sa.ColumnElement[Any] = sa.literal(position[-1], entries.c.seq.type)
        if self.sort == "occurred":
            row = sa.tuple_(entries.c.occurred_at, entries.c.seq)
            at = sa.tuple_(sa.literal(position[0], entries.c.occurred_at.type), at)
        return row < at if self.order == "newest" else row > at

    def position(self, entry: Entry) -> tuple[Any, ...]:
        return (entry.seq,) if self.sort == "seq" else (entry.occurred_at, entry.seq)

    # -- cursors: opaque to clients, (ordering, sort key of the last entry shown) inside -----------------------

    def cursor(self, entry: Entry) -> str:
        key = [entry.seq] if self.sort == "seq" else [entry.occurred_at.isoformat(), entry.seq]
        raw = json.dumps([self.sort, self.order, *key], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def read_cursor(self, cursor: str) -> tuple[Any, ...]:
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            sort, order, *key = data
            if (sort, order) != (self.sort, self.order):
                raise BadCursor("the cursor was made for another sort or order")
            seq = key[-1] if key else None
            if type(seq) is not int or not 0 <= seq < 2**63:  # a sequence number the databases can hold
                raise BadCursor("no entry has this sequence number")
            if sort == "seq" and len(key) == 1:
                return (seq,)
            if sort == "occurred" and len(key) == 2:
                at = datetime.fromisoformat(key[0])
                if at.tzinfo is not None:
                    return (at.astimezone(UTC), seq)
        except BadCursor:
            raise
        except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
            pass
        raise BadCursor("not a cursor of this service")


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    next: str | None


def page(session: Session, wanted: EntryFilter, ordering: Ordering, size: int, cursor: str | None = None) -> Page:
    """One page of matching entries, and the cursor of the next page (None on the last)."""
    query = sa.select(entries).where(*wanted.conditions())
    if cursor:
        query = query.where(ordering.after(ordering.read_cursor(cursor)))
    rows = [Entry(**row) for row in session.execute(query.order_by(*ordering.keys()).limit(size + 1)).mappings()]
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, ordering.cursor(rows[-1]) if more else None)


def every(
    sessions: Sessions, wanted: EntryFilter, ordering: Ordering, cursor: str | None = None, batch: int = BATCH
) -> Iterator[Entry]:
    """Every matching entry (after ``cursor``), as the log stood when the walk began; in batches."""
    position = ordering.read_cursor(cursor) if cursor else None
    with sessions() as session:
        end = head_seq(session)
    conditions = [*wanted.conditions(), entries.c.seq <= end]
    while True:
        query = sa.select(entries).where(*conditions)
        if position is not None:
            query = query.where(ordering.after(position))
        with sessions() as session:
            rows = [Entry(**row) for row in session.execute(query.order_by(*ordering.keys()).limit(batch)).mappings()]
        yield from rows
        if len(rows) < batch:
            return
        position = ordering.position(rows[-1])


def timeline(session: Session, subject: str) -> list[Entry]:
    """Everything that happened to one dossier (or other subject), across the services, in the order it happened."""
    c = entries.c
    query = sa.select(entries).where(sa.or_(c.subject == subject, c.dossier_id == subject))
    return [Entry(**row) for row in session.execute(query.order_by(c.occurred_at, c.seq)).mappings()]


def head_seq(session: Session) -> int:
    return int(session.execute(sa.select(sa.func.coalesce(sa.func.max(entries.c.seq), 0))).scalar_one())


def verify_log(sessions: Sessions, anchor: Anchor | None = None, batch: int = BATCH) -> Verdict:
    """Walk the whole chain in seq order, a batch at a time: memory stays flat whatever the log's size."""
    return verify(_chain(sessions, batch), anchor)


def _chain(sessions: Sessions, batch: int) -> Iterator[Entry]:
    with sessions() as session:
        end = head_seq(session)
    last = None
    while True:
        query = sa.select(entries).where(entries.c.seq <= end).order_by(entries.c.seq).limit(batch)
        if last is not None:
            query = query.where(entries.c.seq > last)
        with sessions() as session:
            rows = [Entry(**row) for row in session.execute(query).mappings()]
        yield from rows
        if len(rows) < batch:
            return
        last = rows[-1].seq


# -- what a person reads -----------------------------------------------------------------------------------------


def names_of(campaigns: Mapping[str, Campaign]) -> Names:
    units: dict[str, str] = {}
    documents: dict[str, str] = {}
    for campaign in campaigns.values():
        units.update({unit.code: unit.name for unit in campaign.units if unit.code not in units})
        documents.update({doc.code: doc.name for doc in campaign.documents if doc.code not in documents})
    return Names(units, documents)


def payload_of(entry: Entry) -> dict[str, Any]:
    payload = json.loads(entry.payload)
    return payload if isinstance(payload, dict) else {"value": payload}


def narrate(entry: Entry, names: Names, payload: Mapping[str, Any] | None = None) -> str:
    payload = payload_of(entry) if payload is None else payload
    return sentence(entry.type, entry.version, entry.actor_name, entry.actor_role, entry.actor_unit, payload, names)


def entry_view(entry: Entry, names: Names) -> dict[str, Any]:
    """One entry as the API shows it: every stored column, the payload as JSON, and what it means in words."""
    payload = payload_of(entry)
    return {
        **{name: getattr(entry, name) for name in _PLAIN},
        "actor": {
            "id": entry.actor_id,
            "name": entry.actor_name,
            "role": entry.actor_role,
            "unit": entry.actor_unit,
        },
        "payload": payload,
        "sentence": narrate(entry, names, payload),
        "reason": reason_of(payload),
    }


_PLAIN = (
    "seq", "event_id", "type", "version", "producer", "campaign", "unit", "subject", "dossier_id", "correlation_id",
    "causation_id", "occurred_at", "recorded_at", "prev_hash", "hash",
)  # fmt: skip


def timeline_view(entry: Entry, names: Names) -> dict[str, Any]:
    """One step of a dossier's story: who (in which role, of which unit) did what, when, and why."""
    payload = payload_of(entry)
    return {
        "seq": entry.seq,
        "event_id": entry.event_id,
        "type": entry.type,
        "sentence": narrate(entry, names, payload),
        "who": entry.actor_name,
        "actor_id": entry.actor_id,
        "role": entry.actor_role,
        "role_name": ROLE_NAMES.get(entry.actor_role, entry.actor_role),
        "unit": entry.actor_unit,
        "unit_name": names.units.get(entry.actor_unit, entry.actor_unit) if entry.actor_unit else None,
        "when": entry.occurred_at,
        "when_local": format_local_datetime(entry.occurred_at),
        "recorded_at": entry.recorded_at,
        "reason": reason_of(payload),
        "producer": entry.producer,
    }


# -- CSV ----------------------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "seq", "event_id", "occurred_at", "occurred_local", "recorded_at", "type", "version", "producer", "actor_id",
    "actor_name", "actor_role", "actor_unit", "campaign", "unit", "subject", "dossier_id", "summary", "reason",
    "correlation_id", "causation_id", "payload", "prev_hash", "hash",
)  # fmt: skip


@dataclass
class CsvWriter:
    """Rows of text for a CSV download: UTF-8 with a byte-order mark, so Excel shows Vietnamese as it is."""

    buffer: io.StringIO = field(default_factory=io.StringIO)

    def __post_init__(self) -> None:
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")

    def line(self, values: Sequence[object]) -> str:
        self.writer.writerow([_cell(value) for value in values])
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def csv_lines(rows: Iterator[Entry], names: Names) -> Iterator[str]:
    writer = CsvWriter()
    yield "\ufeff" + writer.line(CSV_COLUMNS)
    for entry in rows:
        payload = payload_of(entry)
        yield writer.line(
            [
                entry.seq,
                entry.event_id,
                entry.occurred_at.isoformat(),
                format_local_datetime(entry.occurred_at),
                entry.recorded_at.isoformat(),
                entry.type,
                entry.version,
                entry.producer,
                entry.actor_id,
                entry.actor_name,
                entry.actor_role,
                entry.actor_unit,
                entry.campaign,
                entry.unit,
                entry.subject,
                entry.dossier_id,
                narrate(entry, names, payload),
                reason_of(payload),
                entry.correlation_id,
                entry.causation_id,
                entry.payload,
                entry.prev_hash,
                entry.hash,
            ]
        )


def _cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula is prefixed with an apostrophe (OWASP's advice)."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
