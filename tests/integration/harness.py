"""A running system on the stack under test, driven through HTTP as its users drive it.

``Harness`` gives tokens per role and unit, an HTTP client, the clock, the events on the wire (a queue of the
test's own bound to every event type), and a way to inject the events review and awards would send.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from kombu import Connection, Exchange, Producer, Queue

from services.bootstrap import System
from shared.auth import Principal
from shared.bus import connect
from shared.catalogue import CATALOGUE
from shared.clock import FixedClock
from shared.events import Actor, Event
from shared.settings import Settings
from tests.conftest import Stack, delete_topology
from tests.waiting import wait_until

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b" " * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 300
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 300
DOCUMENT_KINDS = ("to_trinh", "bien_ban", "bao_cao_thanh_tich", "danh_sach_tom_tat")
REVIEWER = Actor(id="reviewer-1", name="Phạm Thị D", role="reviewer", unit="van-hoa-thong-tin")
CHAIR = Actor(id="chair-1", name="Võ Văn E", role="council_chair", unit=None)

COMPLETE_REPORT = {
    "address": "Ấp Phú Hòa, xã Hòa Tân",
    "phone": "0277 3840 123",
    "structure": "Chủ tịch, 2 Phó Chủ tịch, 12 công chức chuyên môn",
    "staff_count": 23,
    "functions": "Quản lý nhà nước trên địa bàn xã",
    "achievements": "Tỷ lệ hồ sơ trực tuyến mức 4 đạt 72%",
    "measures": "Hướng dẫn người dân tại bộ phận một cửa",
}
COMPLETE_COUNTS = {"online_case_files": 720, "total_case_files": 1000, "online_procedures": 30, "total_procedures": 50}
COMPLETE_NOMINEE = {
    "full_name": "Nguyễn Thị Hoa",
    "date_of_birth": "1988-04-12",
    "home_town": "Châu Thành, Đồng Tháp",
    "residence": "Ấp Phú Hòa, xã Hòa Tân",
    "position": "Công chức Văn phòng - Thống kê",
}


@dataclass
class Harness:
    system: System
    clock: FixedClock
    stack: Stack
    client: FlaskClient
    observer: Queue
    connection: Connection
    seen: list[dict[str, Any]] = field(default_factory=list)

    # -- people ----------------------------------------------------------------------------------------------

    def headers(self, role: str = "unit_clerk", unit: str | None = "hoa-tan", name: str = "Nguyễn Văn A") -> dict:
        person = f"{role}-{unit or 'district'}"
        token = self.system.tokens.issue(Principal(person, name, frozenset({role}), unit))
        return {"Authorization": f"Bearer {token}"}

    # -- the clerk's steps -----------------------------------------------------------------------------------

    def create(self, kind: str = "collective", unit: str = "hoa-tan", **body: Any) -> dict[str, Any]:
        response = self.client.post(
            "/intake/dossiers",
            json={"campaign": "chau-thanh-2021", "kind": kind, **body},
            headers=self.headers(unit=unit),
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]

    def upload(
        self, dossier_id: str, kind: str, data: bytes = PDF, filename: str = "tai-lieu.pdf", unit: str = "hoa-tan"
    ):
        return self.client.put(
            f"/intake/dossiers/{dossier_id}/documents/{kind}",
            data={"file": (io.BytesIO(data), filename)},
            content_type="multipart/form-data",
            headers=self.headers(unit=unit),
        )

    def upload_many(self, dossier_id: str, files: dict[str, tuple[bytes, str]], unit: str = "hoa-tan"):
        """One request carrying several files, each part named by its field (a document kind)."""
        return self.client.post(
            f"/intake/dossiers/{dossier_id}/documents",
            data={field: (io.BytesIO(data), filename) for field, (data, filename) in files.items()},
            content_type="multipart/form-data",
            headers=self.headers(unit=unit),
        )

    def complete_dossier(self, kind: str = "collective", unit: str = "hoa-tan") -> dict[str, Any]:
        """A draft with everything a submission needs."""
        body = {"report": COMPLETE_REPORT, "self_assessment": COMPLETE_COUNTS}
        if kind == "individual":
            body = {"report": {"achievements": "a", "measures": "m"}, "nominee": COMPLETE_NOMINEE}
        dossier = self.create(kind, unit, **body)
        for document in DOCUMENT_KINDS:
            assert self.upload(dossier["id"], document, unit=unit).status_code == 201
        return dossier

    def submit(self, dossier_id: str, unit: str = "hoa-tan"):
        return self.client.post(f"/intake/dossiers/{dossier_id}/submit", headers=self.headers(unit=unit))

    def get(self, dossier_id: str, **who: Any) -> dict[str, Any]:
        response = self.client.get(f"/intake/dossiers/{dossier_id}", headers=self.headers(**who))
        assert response.status_code == 200, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]

    # -- the bus ---------------------------------------------------------------------------------------------

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        """Every event published so far (after the relays had a moment to send what is committed)."""
        with self.connection.channel() as channel:
            queue = self.observer(channel)
            while (message := queue.get(no_ack=True)) is not None:
                self.seen.append(json.loads(message.body) if isinstance(message.body, (str, bytes)) else message.body)
        return [e for e in self.seen if type_ is None or e["type"] == type_]

    @contextmanager
    def held(self, service: str) -> Iterator[None]:
        """``service`` hears nothing during the block: its consumer stops, and the events for it wait in its queue
        until the block ends (as when its worker is slow or down)."""
        self.system.stop_consumers([service])
        try:
            yield
        finally:
            self.system.start_consumers([service])

    def wait_for_event(self, type_: str, count: int = 1) -> list[dict[str, Any]]:
        return wait_until(lambda: len(self.events(type_)) >= count and self.events(type_), what=f"{count} {type_}")

    def inject(
        self,
        type_: str,
        subject: str,
        payload: dict[str, Any],
        actor: Actor = REVIEWER,
        campaign: str = "chau-thanh-2021",
        version: int = 1,
    ) -> Event:
        """Publish an event as review or awards would, straight onto the bus."""
        return self.send(self.event(type_, subject, payload, actor, campaign, version))

    def event(
        self,
        type_: str,
        subject: str,
        payload: dict[str, Any],
        actor: Actor = REVIEWER,
        campaign: str = "chau-thanh-2021",
        version: int = 1,
    ) -> Event:
        """An event as review or awards would make it."""
        return Event(
            type=type_,
            version=version,
            occurred_at=self.clock.now(),
            producer="review" if type_.startswith(("dossier", "proposal.submitted")) else "awards",
            actor=actor,
            subject=subject,
            payload=payload,
            campaign=campaign,
        )

    def send(self, event: Event) -> Event:
        Producer(self.connection.channel()).publish(
            CATALOGUE.to_message(event),
            exchange=self.system.topology.events,
            routing_key=event.type,
            message_id=event.id,
        )
        return event

    def return_dossier(self, dossier_id: str, round_: int, *messages: str, kind: str = "collective") -> Event:
        """What review sends when a reviewer returns a dossier for revision."""
        reasons = [{"field": None, "message": m} for m in messages or ("Bổ sung biên bản có chữ ký.",)]
        payload = {"dossier_id": dossier_id, "kind": kind, "round": round_, "reasons": reasons}
        transition = {"trigger": "return", "from_state": "in_review", "to_state": "returned", "reason": None}
        return self.inject("dossier.returned", dossier_id, {**payload, **transition})

    def propose(self, *dossier_ids: str, proposal_id: str = "proposal-1", round_: int = 1) -> Event:
        """What review sends when its head signs the proposal (the parts intake reads)."""
        payload = {"proposal_id": proposal_id, "round": round_, "dossier_ids": list(dossier_ids)}
        transition = {"trigger": "submit", "from_state": "draft", "to_state": "submitted", "reason": None}
        return self.inject("proposal.submitted", proposal_id, {**payload, **transition})

    def decide(self, dossier_id: str, granted: bool = True, **outcome: Any) -> Event:
        """Send what awards sends when the chair's decision grants or refuses a nomination's award."""
        return self.send(self.decision(dossier_id, granted, **outcome))

    def decision(self, dossier_id: str, granted: bool = True, **outcome: Any) -> Event:
        """What awards sends when the chair's decision grants or refuses a nomination's award."""
        trigger, dest = ("grant", "granted") if granted else ("refuse", "refused")
        transition = {"trigger": trigger, "from_state": "approved", "to_state": dest, "reason": outcome.get("reason")}
        payload = {"dossier_id": dossier_id, **outcome, **transition}
        return self.event("award.granted" if granted else "award.refused", dossier_id, payload, actor=CHAIR)

    def return_proposal(self, *reasons: str, proposal_id: str = "proposal-1", round_: int = 1) -> Event:
        """What awards sends when Home Affairs returns the proposal to Culture & Information."""
        transition = {"trigger": "return", "from_state": "received", "to_state": "returned", "reason": None}
        payload = {"proposal_id": proposal_id, "round": round_, "reasons": list(reasons or ("Bổ sung",))}
        return self.inject("proposal.returned", proposal_id, {**payload, **transition})

    def wait_for_state(self, dossier_id: str, state: str, **who: Any) -> dict[str, Any]:
        return wait_until(
            lambda: (d := self.get(dossier_id, **who))["state"] == state and d, what=f"dossier {dossier_id} {state}"
        )


@contextmanager
def running_system(stack: Stack, clock: FixedClock, tmp_path: Path, **settings: Any) -> Iterator[Harness]:
    config = Settings.from_env(
        {},
        **{
            "data_dir": tmp_path,
            "database_url": stack.database_url,
            "broker_url": stack.broker_url,
            "bus_namespace": stack.namespace,
            "outbox_poll_seconds": 0.05,
            "retry_backoff_seconds": 0.02,
            **settings,
        },
    )
    system = System(config, clock=clock)
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
            delete_topology(stack.broker_url, system.topology)  # quorum queues are costly: leave none behind
        connection.release()
