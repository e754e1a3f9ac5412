"""The audit service on both stacks (SQLite + memory, PostgreSQL + RabbitMQ): every event on the bus recorded once
in an append-only hash chain, the auditors' queries, a dossier's timeline, and the chain's verification."""

from __future__ import annotations

import base64
import csv
import io
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from kombu import Exchange, Producer, Queue

from services.audit import handlers, queries
from services.audit.domain import CONTENT_CHANGED, GAP, LINK_BROKEN
from services.audit.models import bus as audit_bus
from services.audit.models import entries
from services.audit.queries import EntryFilter, Ordering
from services.bootstrap import System
from shared.auth import ROLES, Principal
from shared.bus import connect
from shared.catalogue import CATALOGUE
from shared.clock import FixedClock
from shared.deadletters import list_dead_letters
from shared.events import Actor, Event
from shared.service import ServiceRuntime
from shared.settings import Settings
from tests.conftest import Stack, delete_topology
from tests.integration.harness import Harness
from tests.waiting import wait_until

CLERK = Actor(id="clerk-hoa-tan", name="Nguyễn Văn A", role="unit_clerk", unit="hoa-tan")
OTHER_CLERK = Actor(id="clerk-an-hiep", name="Lê Thị Bình", role="unit_clerk", unit="an-hiep")
REVIEWER = Actor(id="reviewer-1", name="Phạm Thị D", role="reviewer", unit="van-hoa-thong-tin")
HEAD = Actor(id="head-1", name="Trần Văn Hùng", role="review_head", unit="van-hoa-thong-tin")
CAMPAIGN = "chau-thanh-2021"


def settings_for(stack: Stack, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {},
        data_dir=tmp_path,
        database_url=stack.database_url,
        broker_url=stack.broker_url,
        bus_namespace=stack.namespace,
        outbox_poll_seconds=0.05,
        retry_backoff_seconds=0.02,
    )


def event(
    type_: str,
    subject: str,
    payload: dict[str, Any],
    *,
    clock: FixedClock,
    actor: Actor = CLERK,
    unit: str | None = "hoa-tan",
    campaign: str | None = CAMPAIGN,
    version: int = 1,
    ago: timedelta = timedelta(0),
    producer: str = "intake",
) -> Event:
    return Event(
        type=type_,
        version=version,
        occurred_at=clock.now() - ago,
        producer=producer,
        actor=actor,
        subject=subject,
        payload=payload,
        campaign=campaign,
        unit=unit,
        correlation_id=str(uuid.uuid4()),
    )


def message_of(e: Event) -> dict[str, Any]:
    """The envelope on the wire; types the catalogue does not know travel as they are."""
    if CATALOGUE.knows(e.type, e.version):
        return CATALOGUE.to_message(e)
    return {
        "id": e.id,
        "type": e.type,
        "version": e.version,
        "occurred_at": e.occurred_at.isoformat(),
        "producer": e.producer,
        "actor": e.actor.as_dict(),
        "subject": e.subject,
        "campaign": e.campaign,
        "unit": e.unit,
        "correlation_id": e.correlation_id,
        "causation_id": e.causation_id,
        "payload": dict(e.payload),
    }


@dataclass
class Audit:
    """The audit service of a process, with a way to feed it events and to read it as an auditor."""

    system: System
    runtime: ServiceRuntime
    client: FlaskClient
    clock: FixedClock
    stack: Stack

    def record(self, *events: Event) -> None:
        """Apply events as the consumer does (unit of work with the inbox), without the bus: fast and in order."""
        for e in events:
            with self.runtime.unit_of_work(cause=e) as uow:
                if not uow.already_handled(e):
                    handlers.record(e, uow)
                    uow.commit()

    def publish(self, body: object, routing_key: str, message_id: str, content_type: str | None = None) -> None:
        with connect(self.stack.broker_url) as conn:
            Producer(conn.default_channel).publish(
                body,
                exchange=self.system.topology.events,
                routing_key=routing_key,
                message_id=message_id,
                **({"content_type": content_type, "content_encoding": "utf-8"} if content_type else {}),
            )

    def send(self, e: Event) -> None:
        self.publish(message_of(e), e.type, e.id)

    def rows(self) -> list[Any]:
        with self.runtime.engine.connect() as conn:
            return list(conn.execute(sa.select(entries).order_by(entries.c.seq)))

    def count(self, table: sa.Table = entries) -> int:
        with self.runtime.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    def headers(self, role: str = "auditor", **extra: str) -> dict[str, str]:
        token = self.system.tokens.issue(Principal(f"{role}-1", "Đỗ Thị Kiểm", frozenset({role}), unit="hoa-tan"))
        return {"Authorization": f"Bearer {token}", **extra}

    def get(self, path: str, as_role: str = "auditor", **params: Any) -> Any:
        return self.client.get(f"/audit{path}", query_string=params, headers=self.headers(as_role))

    def seqs(self, **params: Any) -> list[int]:
        answer = self.get("/entries", **params)
        assert answer.status_code == 200, answer.get_json()
        return [e["seq"] for e in answer.get_json()["entries"]]

    def verdict(self, **params: Any) -> dict[str, Any]:
        answer = self.get("/verify", **params)
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()  # type: ignore[no-any-return]

    def tamper(self, statement: str, **params: Any) -> None:
        """Change the log behind the service's back, as someone with the database's keys could."""
        with self.runtime.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SET LOCAL session_replication_role = replica"))  # user triggers stay silent
            else:
                conn.execute(sa.text("DROP TRIGGER IF EXISTS entries_no_update"))
                conn.execute(sa.text("DROP TRIGGER IF EXISTS entries_no_delete"))
            conn.execute(sa.text(statement), params)


@contextmanager
def running_audit(stack: Stack, clock: FixedClock, tmp_path: Path, consume: bool = True) -> Iterator[Audit]:
    system = System(settings_for(stack, tmp_path), ["audit"], clock=clock)
    system.upgrade_databases()
    system.declare_topology()
    if consume:
        system.start_consumers()
    try:
        yield Audit(system, system.runtimes["audit"], system.wsgi().test_client(), clock, stack)
    finally:
        system.stop()
        if stack.durable_broker:
            delete_topology(stack.broker_url, system.topology)


@pytest.fixture
def audit(stack: Stack, clock: FixedClock, tmp_path: Path) -> Iterator[Audit]:
    with running_audit(stack, clock, tmp_path, consume=False) as made:
        yield made


@pytest.fixture
def consuming_audit(stack: Stack, clock: FixedClock, tmp_path: Path) -> Iterator[Audit]:
    with running_audit(stack, clock, tmp_path) as made:
        yield made


# -- consuming -----------------------------------------------------------------------------------------------------


def test_every_event_on_the_bus_is_recorded_once_in_arrival_order(consuming_audit: Audit) -> None:
    audit, clock = consuming_audit, consuming_audit.clock
    sent = [
        event("dossier.created", "d-1", {"kind": "collective"}, clock=clock),
        event("dossier.updated", "d-1", {"changed": ["report.phone"]}, clock=clock, ago=timedelta(hours=2)),
        event(
            "campaign.deadline_extended",
            CAMPAIGN,
            {
                "deadline": "dossier",
                "previous_date": date(2021, 12, 6),
                "new_date": date(2021, 12, 10),
                "reason": "Mưa",
            },
            clock=clock,
            actor=HEAD,
            unit=None,
        ),
        event("council.vote_cast", "session-1", {"vote": "đồng ý", "seat": 3}, clock=clock, actor=REVIEWER),
        event("dossier.created", "d-2", {"kind": "cá nhân", "extra": [1, 2]}, clock=clock, version=2),
    ]
    for e in sent:
        audit.send(e)
    audit.send(sent[0])  # delivered twice

    consumer = audit.system.consumers["audit"]
    wait_until(lambda: consumer.applied + consumer.duplicates == 6, what="six deliveries")
    rows = audit.rows()
    assert [r.event_id for r in rows] == [e.id for e in sent], "once each, in the order they arrived"
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert (consumer.applied, consumer.duplicates, consumer.dead_lettered) == (5, 1, 0)
    first = rows[0]
    assert (first.type, first.version, first.producer, first.subject) == ("dossier.created", 1, "intake", "d-1")
    assert (first.actor_id, first.actor_name, first.actor_role, first.actor_unit) == (
        "clerk-hoa-tan",
        "Nguyễn Văn A",
        "unit_clerk",
        "hoa-tan",
    )
    assert (first.campaign, first.unit, first.correlation_id) == (CAMPAIGN, "hoa-tan", sent[0].correlation_id)
    assert first.occurred_at == sent[0].occurred_at and first.recorded_at == audit.clock.now()
    assert json.loads(rows[2].payload)["new_date"] == "2021-12-10", "a known payload is kept in its JSON form"
    assert json.loads(rows[3].payload) == {"vote": "đồng ý", "seat": 3}, "an unknown type is kept as it came"
    assert (rows[4].version, json.loads(rows[4].payload)) == (2, {"kind": "cá nhân", "extra": [1, 2]})
    assert audit.count(audit_bus.outbox) == 0, "audit emits nothing: the log would feed itself"
    assert audit.count(audit_bus.inbox) == 5
    assert audit.verdict() == {"status": "intact", "entries": 5, "head": rows[-1].hash}


def test_a_known_payload_is_kept_exactly_as_it_came_over_the_bus(consuming_audit: Audit) -> None:
    audit, clock = consuming_audit, consuming_audit.clock
    meta = {"kind": "to_trinh", "version": 1, "sha256": "a" * 64, "size": 2048, "content_type": "application/pdf"}
    uploaded = event(
        "dossier.documents_uploaded",
        "d-1",
        {"documents": [{**meta, "filename": "tờ trình.pdf", "uploaded_at": clock.now(), "replaced_version": None}]},
        clock=clock,
    )
    message = message_of(uploaded)
    message["payload"]["documents"][0]["uploaded_at"] = "2021-12-01T02:00:00Z"  # another spelling the schema reads
    audit.publish(message, uploaded.type, uploaded.id)

    consumer = audit.system.consumers["audit"]
    wait_until(lambda: consumer.applied == 1, what="the upload recorded")
    [row] = audit.rows()
    assert json.loads(row.payload) == message["payload"], "not dumped again from the values it was read into"
    assert audit.verdict()["status"] == "intact"


def test_late_events_are_recorded_as_they_arrive_and_sorted_by_when_they_happened(audit: Audit) -> None:
    clock = audit.clock
    late = event("dossier.created", "d-1", {"kind": "collective"}, clock=clock, ago=timedelta(days=1))
    audit.record(
        event("dossier.submitted", "d-1", {"x": 1}, clock=clock, version=9),
        event("dossier.updated", "d-1", {"changed": []}, clock=clock, ago=timedelta(hours=1)),
        late,
    )

    assert audit.seqs(order="oldest") == [1, 2, 3]
    assert audit.seqs(sort="occurred", order="oldest") == [3, 2, 1]
    assert audit.seqs(sort="occurred", order="newest") == [1, 2, 3]
    assert audit.seqs() == [3, 2, 1], "newest arrival first by default"


def test_a_broken_envelope_is_dead_lettered_with_its_reason_and_the_log_goes_on(consuming_audit: Audit) -> None:
    audit = consuming_audit
    audit.publish({"hello": "world"}, "anything.at_all", "broken-envelope")
    audit.publish("not json at all", "anything.at_all", "not-json", content_type="application/json")
    good = event("dossier.created", "d-1", {"kind": "collective"}, clock=audit.clock)
    audit.send(good)

    consumer = audit.system.consumers["audit"]
    wait_until(lambda: consumer.dead_lettered == 2 and consumer.applied == 1, what="two dead letters, one entry")
    with connect(audit.stack.broker_url) as conn:
        letters = {letter.message_id: letter for letter in list_dead_letters(conn, audit.system.topology, "audit")}
    assert set(letters) == {"broken-envelope", "not-json"}
    assert "the envelope is broken" in letters["broken-envelope"].reason
    assert "'id'" in letters["broken-envelope"].reason, "the reason names what is missing"
    assert "undecodable message" in letters["not-json"].reason
    assert [r.event_id for r in audit.rows()] == [good.id]


def test_two_appenders_at_once_keep_one_unbroken_chain(audit: Audit) -> None:
    """Production runs several audit consumers: each append must chain onto the head the other just wrote."""
    clock, start = audit.clock, threading.Barrier(4, timeout=10)
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            start.wait()
            audit.record(
                *(event("dossier.updated", f"d-{worker}", {"changed": [str(n)]}, clock=clock) for n in range(15))
            )
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert [r.seq for r in audit.rows()] == list(range(1, 61))
    assert audit.verdict()["status"] == "intact"


# -- queries -------------------------------------------------------------------------------------------------------


@pytest.fixture
def story(audit: Audit) -> Audit:
    """Eight entries with every filterable property varied; the comments give each one's seq."""
    clock = audit.clock
    audit.record(
        event("dossier.created", "d-1", {"kind": "collective"}, clock=clock, ago=timedelta(days=3)),  # 1
        event("dossier.updated", "d-1", {"changed": ["report.phone"]}, clock=clock, ago=timedelta(days=2)),  # 2
        event("dossier.created", "d-2", {"kind": "collective"}, clock=clock, actor=OTHER_CLERK, unit="an-hiep"),  # 3
        event(
            "dossier.returned",
            "d-1",
            {"dossier_id": "d-1", "round": 1, "reasons": ["Thiếu biên bản"]},
            clock=clock,
            actor=REVIEWER,
            producer="review",
            version=7,
        ),  # 4
        event("dossier.updated", "d-1", {"changed": ["report.address"]}, clock=clock, ago=timedelta(hours=1)),  # 5
        event("campaign.note", CAMPAIGN, {"text": "Ghi chú"}, clock=clock, actor=HEAD, unit=None),  # 6
        event("dossier.created", "d-3", {"kind": "individual"}, clock=clock, campaign="another-2022"),  # 7
        event(
            "award.granted",
            "proposal-1",
            {"dossier_id": "d-1", "prize_name": "Giải Nhất"},
            clock=clock,
            actor=HEAD,
            producer="awards",
            version=5,
        ),  # 8
    )
    audit.clock.advance(timedelta(hours=1))
    return audit


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"subject": "d-1"}, [5, 4, 2, 1]),
        ({"dossier": "d-1"}, [8, 5, 4, 2, 1]),
        ({"unit": "an-hiep"}, [3]),
        ({"actor": "reviewer-1"}, [4]),
        ({"role": "review_head"}, [8, 6]),
        ({"type": "dossier.created"}, [7, 3, 1]),
        ({"type": ["dossier.created", "campaign.note"]}, [7, 6, 3, 1]),
        ({"type": "dossier.created,award.granted"}, [8, 7, 3, 1]),
        ({"campaign": "another-2022"}, [7]),
        ({"occurred_from": "2021-11-28T09:00:00+07:00", "occurred_to": "2021-11-29T09:00:00+07:00"}, [2, 1]),
        ({"occurred_from": "2021-11-29"}, [8, 7, 6, 5, 4, 3, 2]),
        ({"occurred_to": "2021-11-29"}, [2, 1]),
        ({"occurred_from": "2021-12-01T08:00", "occurred_to": "2021-12-01T08:00"}, [5]),
        ({"recorded_from": "2021-12-01T02:00:00Z"}, [8, 7, 6, 5, 4, 3, 2, 1]),
        ({"recorded_to": "2021-11-30"}, []),
        ({"subject": "d-1", "type": "dossier.updated", "unit": "hoa-tan"}, [5, 2]),
        ({"subject": "nobody"}, []),
    ],
)
def test_entries_are_found_by_each_filter(story: Audit, params: dict[str, Any], expected: list[int]) -> None:
    assert story.seqs(**params) == expected


def test_an_entry_shows_every_column_its_payload_and_what_it_means(story: Audit) -> None:
    [returned] = story.get("/entries", type="dossier.returned").get_json()["entries"]

    assert returned["actor"] == {
        "id": "reviewer-1",
        "name": "Phạm Thị D",
        "role": "reviewer",
        "unit": "van-hoa-thong-tin",
    }
    assert returned["payload"] == {"dossier_id": "d-1", "round": 1, "reasons": ["Thiếu biên bản"]}
    assert (
        returned["sentence"]
        == "Phạm Thị D (chuyên viên thẩm định, Phòng Văn hóa – Thông tin) trả lại hồ sơ để đơn vị bổ sung"
    )
    assert returned["reason"] == "Thiếu biên bản"
    assert (returned["seq"], returned["version"], returned["producer"], returned["dossier_id"]) == (
        4,
        7,
        "review",
        "d-1",
    )
    assert returned["occurred_at"] == "2021-12-01T02:00:00+00:00"
    assert len(returned["hash"]) == len(returned["prev_hash"]) == 64


def test_pages_follow_each_other_in_both_orders_and_both_sorts(story: Audit) -> None:
    for sort in ("seq", "occurred"):
        for order in ("newest", "oldest"):
            everything = story.seqs(sort=sort, order=order, page_size=500)
            paged, cursor = [], None
            while True:
                params = {"sort": sort, "order": order, "page_size": 3, **({"cursor": cursor} if cursor else {})}
                answer = story.get("/entries", **params).get_json()
                paged += [e["seq"] for e in answer["entries"]]
                cursor = answer["next"]
                if cursor is None:
                    break
            assert paged == everything, (sort, order)
    assert story.seqs(sort="occurred", order="oldest") == [1, 2, 5, 3, 4, 6, 7, 8]


def test_paging_while_events_keep_arriving_neither_repeats_nor_skips(audit: Audit) -> None:
    clock = audit.clock

    def append(count: int) -> None:
        audit.record(*(event("dossier.updated", "d-1", {"changed": []}, clock=clock) for _ in range(count)))

    append(25)
    for order in ("newest", "oldest"):
        seen, cursor = [], None
        while True:
            params = {"order": order, "page_size": 10, **({"cursor": cursor} if cursor else {})}
            answer = audit.get("/entries", **params).get_json()
            seen += [e["seq"] for e in answer["entries"]]
            append(4)  # more arrive between every two pages
            cursor = answer["next"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)), "no entry twice"
        if order == "newest":
            assert seen == list(range(25, 0, -1)), "exactly the entries there when paging began"
        else:
            assert seen == list(range(1, len(seen) + 1)), "no gap, and the newcomers at the end"


def test_csv_exports_every_matching_entry_with_a_bom_for_excel(audit: Audit) -> None:
    clock = audit.clock
    audit.record(*(event("dossier.updated", f"d-{n % 3}", {"changed": [f"ô {n}"]}, clock=clock) for n in range(70)))
    audit.record(event("dossier.created", "d-x", {"kind": "collective"}, clock=clock, actor=OTHER_CLERK))

    by_parameter = audit.get("/entries", format="csv", type="dossier.updated", order="oldest")
    by_header = audit.client.get(
        "/audit/entries?type=dossier.updated&order=oldest", headers=audit.headers(Accept="text/csv")
    )

    for answer in (by_parameter, by_header):
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert answer.headers["Content-Disposition"].startswith("attachment;")
        assert answer.data.startswith("\ufeff".encode())
        rows = list(csv.DictReader(io.StringIO(answer.data.decode("utf-8-sig"))))
        assert len(rows) == 70, "every matching entry, not one page"
        assert [int(r["seq"]) for r in rows] == list(range(1, 71))
        assert rows[0]["actor_name"] == "Nguyễn Văn A"
        assert rows[0]["summary"] == "Nguyễn Văn A (văn thư, Hòa Tân) sửa hồ sơ (1 mục)"
        assert json.loads(rows[5]["payload"]) == {"changed": ["ô 5"]}
        assert rows[0]["occurred_local"] == "01/12/2021 09:00"
    header = by_parameter.data.decode("utf-8-sig").splitlines()[0]
    assert header.split(",")[:6] == [
        "seq",
        "event_id",
        "occurred_at",
        "occurred_local",
        "recorded_at",
        "type",
    ]
    names = [
        r["actor_name"]
        for r in csv.DictReader(io.StringIO(audit.get("/entries", format="csv").data.decode("utf-8-sig")))
    ]
    assert names[0] == "Lê Thị Bình" and len(names) == 71


def test_a_formula_in_a_csv_cell_is_defused(audit: Audit) -> None:
    sly = Actor(id="x", name='=HYPERLINK("http://evil")', role="unit_clerk", unit="hoa-tan")
    audit.record(event("dossier.created", "d-1", {"kind": "collective"}, clock=audit.clock, actor=sly))

    [row] = csv.DictReader(io.StringIO(audit.get("/entries", format="csv").data.decode("utf-8-sig")))
    assert row["actor_name"] == '\'=HYPERLINK("http://evil")'


def test_the_export_walks_the_log_in_batches_without_repeating_or_skipping(story: Audit) -> None:
    for sort in ("seq", "occurred"):
        for order in ("newest", "oldest"):
            ordering = Ordering(sort, order)
            walked = [e.seq for e in queries.every(story.runtime.sessions, EntryFilter(), ordering, batch=3)]
            assert walked == story.seqs(sort=sort, order=order), (sort, order)


def forged(*cursor: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"occurred_from": "yesterday"}, "occurred_from", "invalid_instant"),
        ({"occurred_to": "2021-13-01"}, "occurred_to", "invalid_instant"),
        ({"recorded_from": "01/12/2021"}, "recorded_from", "invalid_instant"),
        # Dates a calendar allows whose instant falls before year 1 or after 9999 in UTC.
        ({"occurred_from": "0001-01-01"}, "occurred_from", "invalid_instant"),
        ({"occurred_to": "9999-12-31T23:00-12:00"}, "occurred_to", "invalid_instant"),
        ({"recorded_to": "0001-01-01T00:00:00+07:00"}, "recorded_to", "invalid_instant"),
        ({"occurred_from": "2021-12-02", "occurred_to": "2021-12-01"}, "occurred_to", "range_reversed"),
        ({"colour": "red"}, "colour", "unknown_field"),
        ({"page_size": 1000}, "page_size", "out_of_range"),
        ({"page_size": 0}, "page_size", "out_of_range"),
        ({"page_size": "many"}, "page_size", "invalid_integer"),
        ({"order": "sideways"}, "order", "not_a_choice"),
        ({"sort": "name"}, "sort", "not_a_choice"),
        ({"cursor": "not-a-cursor"}, "cursor", "invalid_cursor"),
        # Cursors shaped like the service's own, holding what no entry has.
        ({"cursor": forged("seq", "newest", 10**20)}, "cursor", "invalid_cursor"),
        ({"cursor": forged("seq", "newest", -1)}, "cursor", "invalid_cursor"),
        ({"cursor": forged("seq", "newest", 10**20), "format": "csv"}, "cursor", "invalid_cursor"),
        (
            {"sort": "occurred", "cursor": forged("occurred", "newest", "0001-01-01T00:00:00+07:00", 1)},
            "cursor",
            "invalid_cursor",
        ),
        (
            {"sort": "occurred", "cursor": forged("occurred", "newest", "2021-12-01T00:00:00Z", 10**20)},
            "cursor",
            "invalid_cursor",
        ),
        ({"format": "xlsx"}, "format", "not_a_choice"),
    ],
)
def test_bad_filters_are_a_400_naming_the_field(audit: Audit, params: dict[str, Any], field: str, code: str) -> None:
    answer = audit.get("/entries", **params)

    assert answer.status_code == 400
    assert answer.content_type == "application/problem+json"
    body = answer.get_json()
    assert body["code"] == "validation_failed"
    assert [e["code"] for e in body["errors"][field]] == [code]


def test_a_cursor_of_another_ordering_is_refused(story: Audit) -> None:
    cursor = story.get("/entries", page_size=2).get_json()["next"]

    assert story.get("/entries", page_size=2, cursor=cursor).status_code == 200
    assert story.get("/entries", page_size=2, cursor=cursor, order="oldest").status_code == 400
    assert story.get("/entries", page_size=2, cursor=cursor, sort="occurred").status_code == 400
    assert story.get("/entries", format="csv", cursor="bad").status_code == 400


def test_every_route_is_for_auditors_and_admins_only(story: Audit) -> None:
    routes = ["/entries", "/subjects/d-1", "/verify", "/entries?format=csv"]
    for route in routes:
        for role in ROLES:
            answer = story.client.get(f"/audit{route}", headers=story.headers(role))
            expected = 200 if role in ("auditor", "admin") else 403
            assert answer.status_code == expected, (route, role)
            if expected == 403:
                assert answer.get_json()["code"] == "forbidden_role"
        assert story.client.get(f"/audit{route}").status_code == 401
    assert story.get("/entries", as_role="reviewer", colour="red").status_code == 403, "who comes before what"


def test_the_openapi_document_describes_the_routes(audit: Audit) -> None:
    spec = audit.client.get("/audit/openapi.json").get_json()
    assert {"/entries", "/subjects/{subject_id}", "/verify"} <= set(spec["paths"])
    names = {p["name"] for p in spec["paths"]["/entries"]["get"]["parameters"]}
    assert {"subject", "unit", "actor", "role", "type", "campaign", "occurred_from", "cursor", "page_size"} <= names


# -- a dossier's timeline ------------------------------------------------------------------------------------------


@contextmanager
def intake_and_audit(stack: Stack, clock: FixedClock, tmp_path: Path) -> Iterator[Harness]:
    """Intake and audit as the embedded process runs them, driven through HTTP like tests/integration/harness."""
    system = System(settings_for(stack, tmp_path), ["intake", "audit"], clock=clock)
    system.upgrade_databases()
    system.declare_topology()
    connection = connect(stack.broker_url)
    observer = Queue(
        f"{stack.namespace}.observer", exchange=Exchange(system.topology.events.name, type="topic"), routing_key="#"
    )
    observer(connection.default_channel).declare()
    system.start_consumers()
    system.start_relays()
    try:
        yield Harness(system, clock, stack, system.wsgi().test_client(), observer, connection)
    finally:
        system.stop()
        if stack.durable_broker:
            connection.default_channel.queue_delete(observer.name)
            delete_topology(stack.broker_url, system.topology)
        connection.release()


def test_the_timeline_of_a_returned_and_resubmitted_dossier_tells_who_did_what_when_and_why(
    stack: Stack, clock: FixedClock, tmp_path: Path
) -> None:
    with intake_and_audit(stack, clock, tmp_path) as harness:
        dossier = harness.complete_dossier()
        clock.advance(timedelta(minutes=30))
        assert harness.submit(dossier["id"]).status_code == 200
        clock.advance(timedelta(days=1))
        harness.return_dossier(dossier["id"], 1, "Bổ sung biên bản có chữ ký.", "Sửa số liệu tự chấm.")
        harness.wait_for_state(dossier["id"], "returned")
        clock.advance(timedelta(hours=3))
        assert harness.submit(dossier["id"]).status_code == 200

        headers = harness.headers(role="auditor", unit=None, name="Đỗ Thị Kiểm")
        expected_types = [
            "dossier.created",
            *["dossier.documents_uploaded"] * 4,  # one document a request
            "dossier.submitted",
            "dossier.returned",
            "dossier.reopened",
            "dossier.resubmitted",
        ]

        def timeline() -> Any:
            answer = harness.client.get(f"/audit/subjects/{dossier['id']}", headers=headers)
            return answer.status_code == 200 and len(answer.get_json()["entries"]) >= 9 and answer.get_json()

        body = wait_until(timeline, what="nine entries about the dossier")
        csv_answer = harness.client.get(f"/audit/subjects/{dossier['id']}?format=csv", headers=headers)
        missing = harness.client.get("/audit/subjects/no-such-dossier", headers=headers)

    steps = body["entries"]
    assert body["subject"] == dossier["id"]
    assert [s["type"] for s in steps] == expected_types
    assert [s["when"] for s in steps] == sorted(s["when"] for s in steps)
    submitted, returned, reopened, resubmitted = steps[5], steps[6], steps[7], steps[8]
    assert submitted["sentence"] == "Nguyễn Văn A (văn thư, Hòa Tân) nộp hồ sơ"
    assert (submitted["who"], submitted["role"], submitted["unit"]) == ("Nguyễn Văn A", "unit_clerk", "hoa-tan")
    assert submitted["when_local"] == "01/12/2021 09:30"
    assert returned["who"] == "Phạm Thị D" and returned["role"] == "reviewer"
    assert returned["sentence"].endswith("trả lại hồ sơ để đơn vị bổ sung")
    assert returned["reason"] == "Bổ sung biên bản có chữ ký.; Sửa số liệu tự chấm."
    assert returned["when_local"] == "02/12/2021 09:30"
    assert reopened["sentence"].startswith(
        "Hồ sơ được chuyển lại cho đơn vị để bổ sung, theo ý kiến trả lại của Phạm Thị D"
    )
    assert reopened["reason"] == "Bổ sung biên bản có chữ ký.; Sửa số liệu tự chấm."
    assert resubmitted["sentence"] == "Nguyễn Văn A (văn thư, Hòa Tân) nộp lại hồ sơ đã bổ sung (lần 2)"
    assert resubmitted["when_local"] == "02/12/2021 12:30"
    assert csv_answer.status_code == 200 and csv_answer.data.startswith("\ufeff".encode())
    assert len(list(csv.DictReader(io.StringIO(csv_answer.data.decode("utf-8-sig"))))) == 9
    assert missing.status_code == 404 and missing.get_json()["code"] == "subject_not_found"


# -- verification and tampering ------------------------------------------------------------------------------------


def test_verify_finds_an_edited_row_then_a_deleted_one_at_the_right_entry(audit: Audit) -> None:
    clock = audit.clock
    audit.record(*(event("dossier.updated", "d-1", {"changed": [str(n)]}, clock=clock) for n in range(12)))
    intact = audit.verdict()
    assert intact == {"status": "intact", "entries": 12, "head": audit.rows()[-1].hash}

    audit.tamper("UPDATE entries SET actor_name = 'Người khác' WHERE seq = 9")
    broken = audit.verdict()
    assert broken["status"] == "broken"
    assert (broken["seq"], broken["why"], broken["entries_checked"]) == (9, CONTENT_CHANGED, 8)
    assert broken["event_id"] == audit.rows()[8].event_id
    assert "bị thay đổi" in broken["detail"]

    audit.tamper("DELETE FROM entries WHERE seq = 4")
    broken = audit.verdict()
    assert (broken["seq"], broken["why"], broken["expected"]) == (5, GAP, {"seq": 4})


def test_verify_finds_reordered_rows(audit: Audit) -> None:
    clock = audit.clock
    audit.record(*(event("dossier.updated", "d-1", {"changed": [str(n)]}, clock=clock) for n in range(6)))
    rows = audit.rows()
    # Rows 3 and 4 trade places, hashes and all, as if the log had received them the other way round.
    audit.tamper("UPDATE entries SET seq = -seq WHERE seq IN (3, 4)")
    audit.tamper("UPDATE entries SET seq = 4 WHERE seq = -3")
    audit.tamper("UPDATE entries SET seq = 3 WHERE seq = -4")

    broken = audit.verdict()
    assert (broken["seq"], broken["event_id"], broken["why"]) == (3, rows[3].event_id, CONTENT_CHANGED)


def test_verify_finds_a_rewritten_chain_and_a_cut_tail_against_a_head_noted_earlier(audit: Audit) -> None:
    clock = audit.clock
    audit.record(*(event("dossier.updated", "d-1", {"changed": [str(n)]}, clock=clock) for n in range(5)))
    noted = audit.verdict()
    audit.record(event("dossier.updated", "d-1", {"changed": ["later"]}, clock=clock))

    assert audit.verdict(seq=5, hash=noted["head"])["status"] == "intact"
    audit.tamper("DELETE FROM entries WHERE seq >= 5")
    assert audit.verdict()["status"] == "intact", "the chain alone cannot see its end cut off"
    cut = audit.verdict(seq=5, hash=noted["head"])
    assert (cut["status"], cut["seq"], cut["why"]) == ("broken", 5, "the noted entry is missing")
    assert audit.get("/verify", seq=5).status_code == 400
    assert audit.get("/verify", seq=5, hash="xyz").status_code == 400


def test_verify_walks_the_chain_in_batches(audit: Audit) -> None:
    clock = audit.clock
    audit.record(*(event("dossier.updated", "d-1", {"changed": [str(n)]}, clock=clock) for n in range(23)))

    assert queries.verify_log(audit.runtime.sessions, batch=5).as_dict()["entries"] == 23
    audit.tamper("UPDATE entries SET prev_hash = :forged WHERE seq = 16", forged="0" * 64)
    verdict = queries.verify_log(audit.runtime.sessions, batch=5)
    assert (verdict.seq, verdict.why) == (16, CONTENT_CHANGED)
    audit.tamper("UPDATE entries SET hash = :h WHERE seq = 16", h=_rehash(audit, 16))
    verdict = queries.verify_log(audit.runtime.sessions, batch=5)
    assert (verdict.seq, verdict.why) == (16, LINK_BROKEN)


def _rehash(audit: Audit, seq: int) -> str:
    from services.audit.domain import Entry, content, entry_hash

    with audit.runtime.session() as session:
        row = session.execute(sa.select(entries).where(entries.c.seq == seq)).mappings().one()
    entry = Entry(**row)
    return entry_hash(entry.prev_hash, content(entry))


def test_the_database_refuses_to_update_or_delete_an_entry(audit: Audit) -> None:
    audit.record(event("dossier.created", "d-1", {"kind": "collective"}, clock=audit.clock))
    before = audit.rows()
    statements = [
        "UPDATE entries SET actor_name = 'Người khác' WHERE seq = 1",
        "UPDATE entries SET seq = 2",
        "DELETE FROM entries WHERE seq = 1",
        "DELETE FROM entries",
    ]
    if audit.runtime.engine.dialect.name == "postgresql":
        statements.append("TRUNCATE entries")

    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), audit.runtime.engine.begin() as conn:
            conn.execute(sa.text(statement))

    assert audit.rows() == before
