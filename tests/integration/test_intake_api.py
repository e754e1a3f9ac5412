"""Intake through its HTTP API, on both stacks: a unit's clerk prepares, submits, revises, withdraws and follows
the unit's award dossiers; review's and awards' side arrives as events injected on the bus.

Every refusal is checked as the clerk receives it: ``application/problem+json`` with a stable ``code`` and a
Vietnamese ``detail`` (and for invalid input, each field's own code and Vietnamese message).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from kombu import Producer
from werkzeug.test import TestResponse

from shared.auth import ROLES
from shared.catalogue import CATALOGUE
from shared.clock import FixedClock, parse_instant
from shared.events import Event
from tests.conftest import Stack
from tests.integration.harness import (
    CHAIR,
    COMPLETE_COUNTS,
    COMPLETE_NOMINEE,
    COMPLETE_REPORT,
    DOCUMENT_KINDS,
    EXE,
    PDF,
    PNG,
    REVIEWER,
    Harness,
    running_system,
)
from tests.waiting import wait_until

CAMPAIGN = "chau-thanh-2021"
DOSSIERS = "/intake/dossiers"
EXTENSIONS = f"/intake/campaigns/{CAMPAIGN}/deadline-extensions"
HOME = "hoa-tan"  # the clerk's unit in the harness's defaults
NEIGHBOUR = "an-khanh"  # another commune of the campaign
STAFF = {"role": "reviewer", "unit": None}
DEADLINE_LAST_SECOND = "2021-12-06T23:59:59+07:00"
DAY_AFTER_DEADLINE = "2021-12-07T00:00:00+07:00"

# Letters only Vietnamese writes; a detail without any is not the Vietnamese a clerk was promised.
VIETNAMESE = re.compile("[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]", re.IGNORECASE)
# What a complete dossier must say, in the order the clerk is told what is missing.
COLLECTIVE_FIELDS = [
    *(f"report.{key}" for key in COMPLETE_REPORT),
    *(f"self_assessment.{key}" for key in COMPLETE_COUNTS),
]
INDIVIDUAL_FIELDS = [*(f"nominee.{key}" for key in COMPLETE_NOMINEE), "report.achievements", "report.measures"]
INDIVIDUAL_REPORT = {"achievements": "Hướng dẫn 300 hồ sơ trực tuyến", "measures": "Trực bộ phận một cửa"}


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


DOCX = _docx()
DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200 + "WordDocument".encode("utf-16-le") + b"\x00" * 200
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 300
# (bytes, the name the clerk gave, the type judged from the bytes): the last one's name lies, its bytes decide.
ACCEPTED_SAMPLES = [
    (PDF, "tờ trình.pdf", "application/pdf"),
    (DOCX, "to-trinh.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (DOC, "to-trinh.doc", "application/msword"),
    (JPEG, "to-trinh.jpg", "image/jpeg"),
    (PNG, "to-trinh.png", "image/png"),
    (JPEG, "anh-chup.pdf", "image/jpeg"),
]
# A path out of the documents folder, a bare "..", a right-to-left override that shows "exe.pdf", a blank name.
HOSTILE_NAMES = ("../../etc/passwd", "..", "bao-cao\u202efdp.exe", "   ")


# -- answers ---------------------------------------------------------------------------------------------------


def problem(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    """The problem the API answered with, after checking it is one, with this status and code, in Vietnamese."""
    assert (response.status_code, response.content_type) == (status, "application/problem+json"), response.text
    body: dict[str, Any] = response.get_json()
    assert body["code"] == code, body
    assert VIETNAMESE.search(body["detail"]), f"detail not in Vietnamese: {body['detail']!r}"
    return body


def field_errors(response: TestResponse) -> dict[str, list[str]]:
    """``{"field.path": [codes]}`` of a 400 ``validation_failed``, each error checked for a code and a Vietnamese
    message."""
    body = problem(response, 400, "validation_failed")
    for path, errors in body["errors"].items():
        for error in errors:
            assert re.fullmatch(r"[a-z_]+", error["code"]), (path, error)
            assert VIETNAMESE.search(error["message"]), f"{path}: message not in Vietnamese: {error['message']!r}"
    return {path: [error["code"] for error in errors] for path, errors in body["errors"].items()}


def ok(response: TestResponse, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.get_json()  # type: ignore[no-any-return]


# -- the clerk's and the staff's requests ----------------------------------------------------------------------


def staff(intake: Harness, role: str = "reviewer") -> dict[str, str]:
    return intake.headers(role=role, unit=None)


def post_dossier(intake: Harness, body: Any, unit: str = HOME) -> TestResponse:
    return intake.client.post(DOSSIERS, json=body, headers=intake.headers(unit=unit))


def edit(intake: Harness, dossier_id: str, changes: Any, unit: str = HOME) -> TestResponse:
    return intake.client.patch(f"{DOSSIERS}/{dossier_id}", json=changes, headers=intake.headers(unit=unit))


def withdraw(
    intake: Harness, dossier_id: str, unit: str = HOME, reason: str = "Đơn vị rút để bổ sung."
) -> TestResponse:
    return intake.client.post(
        f"{DOSSIERS}/{dossier_id}/withdraw", json={"reason": reason}, headers=intake.headers(unit=unit)
    )


def download(intake: Harness, dossier_id: str, kind: str, version: int | None = None, **who: Any) -> TestResponse:
    query = f"?version={version}" if version else ""
    return intake.client.get(f"{DOSSIERS}/{dossier_id}/documents/{kind}{query}", headers=intake.headers(**who))


def extend(intake: Harness, new_date: str, role: str = "review_head", unit: str | None = None) -> TestResponse:
    body = {"new_date": new_date, "reason": "Bão lũ làm gián đoạn việc lập hồ sơ."}
    return intake.client.post(EXTENSIONS, json=body, headers=intake.headers(role=role, unit=unit))


def listing(intake: Harness, query: str = "", **who: Any) -> TestResponse:
    return intake.client.get(f"{DOSSIERS}{query}", headers=intake.headers(**who))


def listed_ids(intake: Harness, query: str = "", **who: Any) -> set[str]:
    return {dossier["id"] for dossier in ok(listing(intake, query, **who))}


def filled_draft(intake: Harness, kind: str = "collective", unit: str = HOME) -> dict[str, Any]:
    """A draft with all its contents but none of its documents."""
    if kind == "individual":
        return intake.create(kind, unit, nominee=COMPLETE_NOMINEE, report=INDIVIDUAL_REPORT)
    return intake.create(kind, unit, report=COMPLETE_REPORT, self_assessment=COMPLETE_COUNTS)


def submitted(intake: Harness, kind: str = "collective", unit: str = HOME) -> str:
    """The id of a complete dossier, submitted in time."""
    dossier_id: str = intake.complete_dossier(kind, unit)["id"]
    assert ok(intake.submit(dossier_id, unit=unit))["state"] == "submitted"
    return dossier_id


def submit_at_once(intake: Harness, dossier_id: str, times: int = 2) -> list[TestResponse]:
    """``times`` submissions of the dossier sent together, each on its own thread and client."""
    start = threading.Barrier(times)
    answers: list[TestResponse] = []

    def send() -> None:
        client = intake.client.application.test_client()
        start.wait(timeout=10)
        answers.append(client.post(f"{DOSSIERS}/{dossier_id}/submit", headers=intake.headers()))

    threads = [threading.Thread(target=send) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == times, "a submission never answered"
    return answers


# -- time, files and the bus -----------------------------------------------------------------------------------


def set_clock(clock: FixedClock, instant: str) -> None:
    clock.set(parse_instant(instant))


def stored_files(intake: Harness) -> set[Path]:
    """Every file in the documents folder, its ``tmp/`` included."""
    root = intake.system.settings.documents_dir
    return {path for path in root.rglob("*") if path.is_file()} if root.exists() else set()


@contextmanager
def leaves_no_file(intake: Harness) -> Iterator[None]:
    before = stored_files(intake)
    yield
    assert stored_files(intake) == before


@contextmanager
def intake_consumes(intake: Harness, count: int = 1) -> Iterator[None]:
    """After the block, wait until intake's consumer has taken ``count`` more events, applied or recognised as
    already applied: an event that must change nothing has then had its chance to."""
    consumer = intake.system.consumers["intake"]

    def taken() -> int:
        return consumer.applied + consumer.duplicates

    before = taken()
    yield
    wait_until(lambda: taken() >= before + count, what=f"intake to consume {count} more event(s)")


def relays_idle(intake: Harness) -> None:
    wait_until(lambda: all(r.relay.pending() == 0 for r in intake.system.runtimes.values()), what="relays idle")


def exactly_one(intake: Harness, event_type: str) -> dict[str, Any]:
    """The one event of this type on the wire, once every relay has sent all it has."""
    intake.wait_for_event(event_type)
    relays_idle(intake)
    events = intake.events(event_type)
    assert len(events) == 1, events
    return events[0]


def publish_again(intake: Harness, event: Event) -> None:
    """Put an already published event on the bus once more, same id: a broker redelivery or a retrying sender."""
    with intake.connection.channel() as channel:
        Producer(channel).publish(
            CATALOGUE.to_message(event),
            exchange=intake.system.topology.events,
            routing_key=event.type,
            message_id=event.id,
        )


def grant(intake: Harness, dossier_id: str) -> Event:
    return intake.decide(
        dossier_id,
        prize_rank=1,
        prize_name="Giải nhất",
        amount=2_500_000,
        certificate_number="GK-15/2021",
        decision_number="1234/QĐ-UBND",
        decision_date=date(2021, 12, 20),
    )


def propose(intake: Harness, *dossier_ids: str) -> None:
    with intake_consumes(intake):
        intake.propose(*dossier_ids)


def return_proposal(intake: Harness) -> None:
    with intake_consumes(intake):
        intake.return_proposal("Phòng Nội vụ đề nghị bổ sung biên bản họp.")


def triggers(dossier: dict[str, Any]) -> list[str]:
    return [entry["trigger"] for entry in dossier["history"]]


@pytest.fixture
def small_uploads(stack: Stack, clock: FixedClock, tmp_path: Path) -> Iterator[Harness]:
    """The whole system with a 4 KiB upload limit."""
    with running_system(stack, clock, tmp_path, max_upload_bytes=4096) as harness:
        yield harness


# -- drafts ----------------------------------------------------------------------------------------------------


def test_a_clerk_creates_a_draft_for_their_own_unit_listing_everything_still_missing(intake: Harness) -> None:
    dossier = intake.create("collective", NEIGHBOUR)

    assert (dossier["unit"], dossier["unit_name"], dossier["campaign"]) == (NEIGHBOUR, "An Khánh", CAMPAIGN)
    assert (dossier["kind"], dossier["state"], dossier["round"]) == ("collective", "draft", 0)
    assert (dossier["nominee"], dossier["report"], dossier["self_assessment"]) == (None, {}, {})
    assert [(m["code"], m["item"]) for m in dossier["missing"]] == [
        *(("missing_field", path) for path in COLLECTIVE_FIELDS),
        *(("missing_document", kind) for kind in DOCUMENT_KINDS),
    ]
    assert all(VIETNAMESE.search(m["message"]) for m in dossier["missing"])
    created = intake.wait_for_event("dossier.created")[0]
    assert (created["subject"], created["unit"], created["actor"]["id"]) == (
        dossier["id"],
        NEIGHBOUR,
        f"unit_clerk-{NEIGHBOUR}",
    )


def test_the_unit_comes_from_the_token_and_cannot_be_chosen_in_the_body(intake: Harness) -> None:
    answer = post_dossier(intake, {"campaign": CAMPAIGN, "kind": "collective", "unit": NEIGHBOUR})

    assert field_errors(answer) == {"unit": ["unknown_field"]}
    assert listed_ids(intake, **STAFF) == set()


def test_an_individual_draft_lists_the_nominee_items_still_missing(intake: Harness) -> None:
    dossier = intake.create("individual", nominee={"full_name": "Nguyễn Thị Hoa"}, report=INDIVIDUAL_REPORT)

    assert [m["item"] for m in dossier["missing"]] == [*INDIVIDUAL_FIELDS[1:5], *DOCUMENT_KINDS]
    assert (dossier["nominee_name"], dossier["self_assessment"]) == ("Nguyễn Thị Hoa", None)


def test_editing_a_draft_merges_the_changes_and_a_null_clears_a_field(intake: Harness) -> None:
    dossier_id = intake.create(report={"address": "Ấp Phú Hòa", "phone": "0277 3840 123"})["id"]

    ok(edit(intake, dossier_id, {"report": {"structure": "Chủ tịch, 2 Phó Chủ tịch"}}))
    edited = ok(edit(intake, dossier_id, {"report": {"phone": None}, "self_assessment": {"total_case_files": 10}}))

    assert edited["report"] == {"address": "Ấp Phú Hòa", "structure": "Chủ tịch, 2 Phó Chủ tịch"}
    assert edited["self_assessment"] == {"total_case_files": 10}
    missing = [m["item"] for m in edited["missing"]]
    assert "report.phone" in missing and "report.address" not in missing and "report.structure" not in missing
    assert intake.get(dossier_id) == edited


def test_a_submitted_dossier_cannot_be_edited(intake: Harness) -> None:
    dossier_id = submitted(intake)

    problem(edit(intake, dossier_id, {"report": {"phone": "0277 999 999"}}), 409, "dossier_not_editable")
    assert intake.get(dossier_id)["report"] == COMPLETE_REPORT


# -- validation ------------------------------------------------------------------------------------------------

# name: (the body's changes to a valid collective create, the errors expected)
INVALID_CREATES: dict[str, tuple[dict[str, Any], dict[str, list[str]]]] = {
    "unknown top-level field": ({"colour": "đỏ"}, {"colour": ["unknown_field"]}),
    "unknown report field": ({"report": {"mayor": "Ông B"}}, {"report.mayor": ["unknown_field"]}),
    "unknown count": (
        {"self_assessment": {"paper_case_files": 3}},
        {"self_assessment.paper_case_files": ["unknown_field"]},
    ),
    "unknown nominee field": (
        {"kind": "individual", "nominee": {"nickname": "Hoa"}},
        {"nominee.nickname": ["unknown_field"]},
    ),
    "count as text": ({"report": {"staff_count": "23"}}, {"report.staff_count": ["invalid_integer"]}),
    "fractional count": (
        {"self_assessment": {"total_case_files": 12.5}},
        {"self_assessment.total_case_files": ["invalid_integer"]},
    ),
    "campaign as a number": ({"campaign": 2021}, {"campaign": ["invalid_string"]}),
    "unknown kind": ({"kind": "family"}, {"kind": ["not_a_choice"]}),
    "kind as null": ({"kind": None}, {"kind": ["null"]}),
    "negative count": (
        {"self_assessment": {"online_case_files": -1}},
        {"self_assessment.online_case_files": ["out_of_range"]},
    ),
    "negative staff": ({"report": {"staff_count": -3}}, {"report.staff_count": ["out_of_range"]}),
    "online case files above total": (
        {"self_assessment": {"online_case_files": 11, "total_case_files": 10}},
        {"self_assessment.online_case_files": ["online_above_total"]},
    ),
    "online procedures above total": (
        {"self_assessment": {"online_procedures": 51, "total_procedures": 50}},
        {"self_assessment.online_procedures": ["online_above_total"]},
    ),
    "campaign that does not exist": ({"campaign": "chau-thanh-1990"}, {"campaign": ["unknown_campaign"]}),
    "born tomorrow": (
        {"kind": "individual", "nominee": {"date_of_birth": "2021-12-02"}},
        {"nominee.date_of_birth": ["date_in_future"]},
    ),
    "birth date in another format": (
        {"kind": "individual", "nominee": {"date_of_birth": "12/04/1988"}},
        {"nominee.date_of_birth": ["invalid_date"]},
    ),
    "nominee on a collective": ({"nominee": COMPLETE_NOMINEE}, {"nominee": ["not_for_this_kind"]}),
    "self-assessment on an individual": (
        {"kind": "individual", "self_assessment": COMPLETE_COUNTS},
        {"self_assessment": ["not_for_this_kind"]},
    ),
    "unit particulars on an individual": (
        {"kind": "individual", "report": {"address": "Ấp Phú Hòa"}},
        {"report.address": ["not_for_this_kind"]},
    ),
}


def test_every_invalid_create_is_refused_field_by_field_and_creates_nothing(intake: Harness) -> None:
    refusals = {
        name: field_errors(post_dossier(intake, {"campaign": CAMPAIGN, "kind": "collective", **changes}))
        for name, (changes, _) in INVALID_CREATES.items()
    }

    assert refusals == {name: errors for name, (_, errors) in INVALID_CREATES.items()}
    assert listed_ids(intake, **STAFF) == set()


# name: (the dossier's kind, the PATCH body, the errors expected); the drafts hold COMPLETE_* contents
INVALID_EDITS: dict[str, tuple[str, dict[str, Any], dict[str, list[str]]]] = {
    "unknown section": ("collective", {"kind": "individual"}, {"kind": ["unknown_field"]}),
    "unknown count": ("collective", {"self_assessment": {"bogus": 1}}, {"self_assessment.bogus": ["unknown_field"]}),
    "count as text": ("collective", {"report": {"staff_count": "many"}}, {"report.staff_count": ["invalid_integer"]}),
    "negative count": (
        "collective",
        {"self_assessment": {"total_case_files": -5}},
        {"self_assessment.total_case_files": ["out_of_range"]},
    ),
    "online above the stored total": (
        "collective",
        {"self_assessment": {"online_case_files": 1001}},
        {"self_assessment.online_case_files": ["online_above_total"]},
    ),
    "total below the stored online": (
        "collective",
        {"self_assessment": {"total_procedures": 29}},
        {"self_assessment.online_procedures": ["online_above_total"]},
    ),
    "nominee on a collective": (
        "collective",
        {"nominee": {"full_name": "Lê Văn C"}},
        {"nominee": ["not_for_this_kind"]},
    ),
    "self-assessment on an individual": (
        "individual",
        {"self_assessment": {"total_case_files": 10}},
        {"self_assessment": ["not_for_this_kind"]},
    ),
    "born tomorrow": (
        "individual",
        {"nominee": {"date_of_birth": "2021-12-02"}},
        {"nominee.date_of_birth": ["date_in_future"]},
    ),
}


def test_every_invalid_edit_is_refused_field_by_field_and_changes_nothing(intake: Harness) -> None:
    drafts = {kind: filled_draft(intake, kind) for kind in ("collective", "individual")}

    refusals = {
        name: field_errors(edit(intake, drafts[kind]["id"], changes))
        for name, (kind, changes, _) in INVALID_EDITS.items()
    }

    assert refusals == {name: errors for name, (_, _, errors) in INVALID_EDITS.items()}
    for kind, draft in drafts.items():
        assert intake.get(draft["id"]) == draft, kind


def test_a_body_that_is_not_json_is_refused_in_vietnamese(intake: Harness) -> None:
    answer = intake.client.post(
        DOSSIERS, data='{"campaign": "chau-thanh-2021",', content_type="application/json", headers=intake.headers()
    )

    assert field_errors(answer) == {"_schema": ["invalid_json"]}


# -- scope and roles -------------------------------------------------------------------------------------------

# What another unit's clerk may try on a dossier: each is answered as if the dossier did not exist.
INTRUSIONS: dict[str, Callable[[Harness, str], TestResponse]] = {
    "read": lambda intake, i: intake.client.get(f"{DOSSIERS}/{i}", headers=intake.headers(unit=NEIGHBOUR)),
    "edit": lambda intake, i: edit(intake, i, {"report": {"phone": "000"}}, unit=NEIGHBOUR),
    "upload": lambda intake, i: intake.upload(i, "to_trinh", PNG, "anh.png", unit=NEIGHBOUR),
    "submit": lambda intake, i: intake.submit(i, unit=NEIGHBOUR),
    "withdraw": lambda intake, i: withdraw(intake, i, unit=NEIGHBOUR),
    "download": lambda intake, i: download(intake, i, "to_trinh", unit=NEIGHBOUR),
    "download a version": lambda intake, i: download(intake, i, "to_trinh", 1, unit=NEIGHBOUR),
}


def test_another_units_clerk_can_neither_see_nor_touch_a_dossier(intake: Harness) -> None:
    dossier = intake.complete_dossier()
    before = stored_files(intake)

    answers = {name: attempt(intake, dossier["id"]) for name, attempt in INTRUSIONS.items()}

    for name, answer in answers.items():
        problem(answer, 404, "dossier_not_found")
        leaked = [text for text in (dossier["id"], COMPLETE_REPORT["address"], "%PDF") if text in answer.text]
        assert not leaked, (name, leaked)
    assert dossier["id"] not in listed_ids(intake, unit=NEIGHBOUR)
    assert dossier["id"] not in listed_ids(intake, f"?unit={HOME}", unit=NEIGHBOUR)
    assert stored_files(intake) == before
    after = intake.get(dossier["id"])
    assert (after["state"], after["report"], len(after["document_history"])) == ("draft", COMPLETE_REPORT, 4)


def test_only_a_unit_clerk_may_create_a_dossier(intake: Harness) -> None:
    body = {"campaign": CAMPAIGN, "kind": "collective"}
    others = [role for role in ROLES if role != "unit_clerk"]

    answers = {role: intake.client.post(DOSSIERS, json=body, headers=staff(intake, role)) for role in others}

    for answer in answers.values():
        problem(answer, 403, "forbidden_role")
    assert listed_ids(intake, **STAFF) == set()


def test_staff_read_a_units_dossier_but_cannot_change_it(intake: Harness) -> None:
    dossier_id = intake.complete_dossier()["id"]
    reviewer = staff(intake)

    assert ok(intake.client.get(f"{DOSSIERS}/{dossier_id}", headers=reviewer))["report"] == COMPLETE_REPORT
    for answer in (
        intake.client.patch(f"{DOSSIERS}/{dossier_id}", json={"report": {"phone": "1"}}, headers=reviewer),
        intake.client.post(f"{DOSSIERS}/{dossier_id}/submit", headers=reviewer),
        intake.client.post(f"{DOSSIERS}/{dossier_id}/withdraw", json={}, headers=reviewer),
    ):
        problem(answer, 403, "forbidden_role")
    assert intake.get(dossier_id)["state"] == "draft"


# -- listing ---------------------------------------------------------------------------------------------------


def test_staff_list_every_units_dossiers_and_filter_by_campaign_unit_state_and_kind(intake: Harness) -> None:
    home_collective = submitted(intake)
    home_individual = intake.create("individual")["id"]
    neighbour_collective = intake.create("collective", NEIGHBOUR)["id"]
    withdrawn = intake.create("individual", NEIGHBOUR)["id"]
    ok(withdraw(intake, withdrawn, unit=NEIGHBOUR))
    everyone = {home_collective, home_individual, neighbour_collective, withdrawn}
    expected = {
        "": everyone,
        f"?campaign={CAMPAIGN}": everyone,
        "?campaign=chau-thanh-2022": set(),
        f"?unit={HOME}": {home_collective, home_individual},
        "?state=submitted": {home_collective},
        "?state=withdrawn": {withdrawn},
        "?kind=individual": {home_individual, withdrawn},
        f"?unit={NEIGHBOUR}&kind=collective&state=draft": {neighbour_collective},
    }

    assert {query: listed_ids(intake, query, **STAFF) for query in expected} == expected
    assert {query: listed_ids(intake, query, role="council_chair", unit=None) for query in expected} == expected


def test_a_clerk_lists_only_their_own_units_dossiers(intake: Harness) -> None:
    collective, individual = intake.create("collective")["id"], intake.create("individual")["id"]
    intake.create("collective", NEIGHBOUR)

    assert listed_ids(intake) == {collective, individual}
    assert listed_ids(intake, f"?unit={NEIGHBOUR}") == {collective, individual}
    assert listed_ids(intake, "?kind=individual") == {individual}
    assert json.loads(listing(intake).headers["X-Pagination"])["total"] == 2


def test_the_list_is_paginated_with_the_total_in_a_header(intake: Harness) -> None:
    units = ["hoa-tan", "an-khanh", "an-nhon", "phu-long", "an-hiep"]
    created = {intake.create("collective", unit)["id"] for unit in units}

    pages = [listing(intake, f"?page={page}&page_size=2", **STAFF) for page in (1, 2, 3, 4)]

    assert [len(ok(page)) for page in pages] == [2, 2, 1, 0]
    assert [json.loads(page.headers["X-Pagination"])["total"] for page in pages[:3]] == [5, 5, 5]
    ids = [dossier["id"] for page in pages for dossier in page.get_json()]
    assert sorted(ids) == sorted(created)


def test_a_page_size_above_100_is_a_400_not_a_5xx(intake: Harness) -> None:
    intake.create()

    assert field_errors(listing(intake, "?page_size=101", **STAFF)) == {"page_size": ["out_of_range"]}
    assert len(ok(listing(intake, "?page_size=100", **STAFF))) == 1


def test_an_unknown_filter_value_is_a_400_not_a_5xx(intake: Harness) -> None:
    assert field_errors(listing(intake, "?state=archived&kind=family", **STAFF)) == {
        "state": ["not_a_choice"],
        "kind": ["not_a_choice"],
    }


# -- documents -------------------------------------------------------------------------------------------------


def test_every_accepted_type_is_judged_by_its_bytes_and_each_version_downloads_as_uploaded(intake: Harness) -> None:
    dossier_id = intake.create()["id"]

    stored = [ok(intake.upload(dossier_id, "to_trinh", data, name), 201) for data, name, _ in ACCEPTED_SAMPLES]

    assert [(d["version"], d["content_type"], d["size"], d["filename"], d["sha256"]) for d in stored] == [
        (version, content_type, len(data), name, hashlib.sha256(data).hexdigest())
        for version, (data, name, content_type) in enumerate(ACCEPTED_SAMPLES, start=1)
    ]
    fetched = [download(intake, dossier_id, "to_trinh", version) for version in range(1, len(ACCEPTED_SAMPLES) + 1)]
    assert [(f.status_code, f.mimetype, f.data) for f in fetched] == [
        (200, content_type, data) for data, _, content_type in ACCEPTED_SAMPLES
    ]
    assert download(intake, dossier_id, "to_trinh").data == ACCEPTED_SAMPLES[-1][0]
    assert "to_trinh" not in [m["item"] for m in intake.get(dossier_id)["missing"]]


def test_an_upload_larger_than_the_limit_is_413_and_leaves_no_file(small_uploads: Harness) -> None:
    dossier_id = small_uploads.create()["id"]
    ok(small_uploads.upload(dossier_id, "to_trinh", PDF.ljust(4096, b" ")), 201)  # exactly the limit

    with leaves_no_file(small_uploads):
        answer = small_uploads.upload(dossier_id, "bien_ban", PDF.ljust(4097, b" "))

    problem(answer, 413, "document_too_large")
    assert not list((small_uploads.system.settings.documents_dir / "tmp").iterdir())
    assert [d["kind"] for d in small_uploads.get(dossier_id)["document_history"]] == ["to_trinh"]


def test_a_program_renamed_pdf_is_415_and_leaves_no_file(intake: Harness) -> None:
    dossier_id = intake.create()["id"]

    with leaves_no_file(intake):
        answer = intake.upload(dossier_id, "to_trinh", EXE, "to-trinh.pdf")

    problem(answer, 415, "document_type_not_accepted")
    assert intake.get(dossier_id)["document_history"] == []


def test_a_hostile_file_name_is_400_and_leaves_no_file(intake: Harness) -> None:
    dossier_id = intake.create()["id"]

    with leaves_no_file(intake):
        answers = [intake.upload(dossier_id, "to_trinh", PDF, name) for name in HOSTILE_NAMES]

    for answer in answers:
        problem(answer, 400, "unsafe_filename")
    assert intake.get(dossier_id)["document_history"] == []


def test_two_files_for_one_document_are_400_and_leave_no_file(intake: Harness) -> None:
    dossier_id = intake.create()["id"]

    with leaves_no_file(intake):
        answer = intake.client.put(
            f"{DOSSIERS}/{dossier_id}/documents/to_trinh",
            data={"file": [(io.BytesIO(PDF), "a.pdf"), (io.BytesIO(PNG), "b.png")]},
            content_type="multipart/form-data",
            headers=intake.headers(),
        )

    assert field_errors(answer) == {"file": ["duplicate_document"]}
    assert intake.get(dossier_id)["document_history"] == []


def test_an_unknown_document_kind_is_404_and_leaves_no_file(intake: Harness) -> None:
    dossier_id = intake.create()["id"]

    with leaves_no_file(intake):
        answer = intake.upload(dossier_id, "ho_chieu", PDF)

    assert problem(answer, 404, "unknown_document_kind")["accepted"] == list(DOCUMENT_KINDS)
    problem(download(intake, dossier_id, "ho_chieu"), 404, "document_not_found")


def test_an_upload_without_a_file_is_refused_field_by_field(intake: Harness) -> None:
    dossier_id = intake.create()["id"]
    answer = intake.client.put(
        f"{DOSSIERS}/{dossier_id}/documents/to_trinh",
        data={},
        content_type="multipart/form-data",
        headers=intake.headers(),
    )

    assert field_errors(answer) == {"file": ["required"]}


def test_a_submitted_dossier_takes_no_upload_and_keeps_no_file(intake: Harness) -> None:
    dossier_id = submitted(intake)

    with leaves_no_file(intake):
        answer = intake.upload(dossier_id, "to_trinh", PNG, "moi.png")

    problem(answer, 409, "dossier_not_editable")
    assert len(intake.get(dossier_id)["document_history"]) == 4


def test_replacing_a_document_keeps_the_old_version_which_can_still_be_downloaded(intake: Harness) -> None:
    dossier_id = intake.create()["id"]
    ok(intake.upload(dossier_id, "to_trinh", PDF, "to-trinh.pdf"), 201)

    replaced = ok(intake.upload(dossier_id, "to_trinh", PNG, "to-trinh-ky.png"), 201)

    dossier = intake.get(dossier_id)
    assert replaced["version"] == 2
    assert [(d["kind"], d["version"], d["filename"]) for d in dossier["documents"]] == [
        ("to_trinh", 2, "to-trinh-ky.png")
    ]
    assert [(d["version"], d["content_type"]) for d in dossier["document_history"]] == [
        (1, "application/pdf"),
        (2, "image/png"),
    ]
    current, first = download(intake, dossier_id, "to_trinh"), download(intake, dossier_id, "to_trinh", 1)
    assert (current.mimetype, current.data) == ("image/png", PNG)
    assert (first.mimetype, first.data) == ("application/pdf", PDF)
    problem(download(intake, dossier_id, "to_trinh", 3), 404, "document_not_found")


def test_a_refused_replacement_never_replaces_the_good_document(intake: Harness) -> None:
    dossier_id = intake.create()["id"]
    good = ok(intake.upload(dossier_id, "to_trinh", PDF, "to-trinh.pdf"), 201)

    problem(intake.upload(dossier_id, "to_trinh", EXE, "to-trinh-moi.pdf"), 415, "document_type_not_accepted")
    problem(intake.upload(dossier_id, "to_trinh", PDF, "../to-trinh.pdf"), 400, "unsafe_filename")

    dossier = intake.get(dossier_id)
    assert dossier["documents"] == dossier["document_history"] == [good]
    fetched = download(intake, dossier_id, "to_trinh")
    assert (fetched.mimetype, fetched.data) == ("application/pdf", PDF)


def test_several_documents_go_up_in_one_request_each_versioned_and_all_announced_by_one_event(
    intake: Harness,
) -> None:
    dossier_id = intake.create()["id"]
    ok(intake.upload(dossier_id, "bien_ban", PDF, "bien-ban-cu.pdf"), 201)

    stored = ok(
        intake.upload_many(dossier_id, {"bien_ban": (PNG, "bien-ban.png"), "to_trinh": (PDF, "to-trinh.pdf")}), 201
    )

    # In the campaign's order of kinds, whatever the request's order; a replaced kind takes its next version.
    assert [(d["kind"], d["version"], d["content_type"], d["filename"]) for d in stored] == [
        ("to_trinh", 1, "application/pdf", "to-trinh.pdf"),
        ("bien_ban", 2, "image/png", "bien-ban.png"),
    ]
    dossier = intake.get(dossier_id)
    assert {d["kind"]: d["version"] for d in dossier["documents"]} == {"to_trinh": 1, "bien_ban": 2}
    assert [m["item"] for m in dossier["missing"] if m["item"] in DOCUMENT_KINDS] == [
        "bao_cao_thanh_tich",
        "danh_sach_tom_tat",
    ]
    assert (download(intake, dossier_id, "bien_ban").data, download(intake, dossier_id, "bien_ban", 1).data) == (
        PNG,
        PDF,
    )
    uploaded = intake.wait_for_event("dossier.documents_uploaded", 2)
    assert [
        [(d["kind"], d["version"], d["replaced_version"]) for d in e["payload"]["documents"]] for e in uploaded
    ] == [
        [("bien_ban", 1, None)],
        [("to_trinh", 1, None), ("bien_ban", 2, 1)],
    ], "one event a request, naming every document it brought"


def test_the_four_documents_at_their_largest_go_up_in_one_request(
    stack: Stack, clock: FixedClock, tmp_path: Path
) -> None:
    limit = 600_000  # four of them pass the limit of a request carrying one file
    with running_system(stack, clock, tmp_path, max_upload_bytes=limit) as intake:
        dossier_id = intake.create()["id"]

        stored = ok(
            intake.upload_many(dossier_id, {k: (PDF.ljust(limit, b" "), f"{k}.pdf") for k in DOCUMENT_KINDS}), 201
        )

        assert [(d["kind"], d["size"]) for d in stored] == [(kind, limit) for kind in DOCUMENT_KINDS]
        assert not [m for m in intake.get(dossier_id)["missing"] if m["item"] in DOCUMENT_KINDS]


def test_one_refused_file_keeps_none_of_the_request_and_is_named(small_uploads: Harness) -> None:
    intake = small_uploads
    dossier_id = intake.create()["id"]
    refusals = {
        "document_type_not_accepted": (415, {"bien_ban": (EXE, "bien-ban.pdf")}),
        "document_empty": (400, {"bien_ban": (b"", "bien-ban.pdf")}),
        "unsafe_filename": (400, {"bien_ban": (PDF, "../bien-ban.pdf")}),
    }

    with leaves_no_file(intake):
        answers = {
            code: intake.upload_many(dossier_id, {"to_trinh": (PDF, "to-trinh.pdf"), **bad})
            for code, (_, bad) in refusals.items()
        }
        too_large = intake.upload_many(
            dossier_id, {"to_trinh": (PDF, "to-trinh.pdf"), "bien_ban": (PDF.ljust(4097, b" "), "bien-ban.pdf")}
        )

    for code, (status, _) in refusals.items():
        assert problem(answers[code], status, code)["errors"]["bien_ban"][0]["code"] == code
    alone = intake.upload_many(dossier_id, {"bien_ban": (EXE, "bien-ban.pdf")})
    assert problem(alone, 415, "document_type_not_accepted")["errors"] == {
        "bien_ban": [{"code": "document_type_not_accepted", "message": alone.get_json()["detail"]}]
    }, "a request of one file names it too"
    problem(too_large, 413, "document_too_large")
    assert intake.get(dossier_id)["document_history"] == []
    assert not list((intake.system.settings.documents_dir / "tmp").iterdir())


def test_a_request_of_unknown_kinds_twice_sent_kinds_or_no_file_is_refused_field_by_field(intake: Harness) -> None:
    dossier_id = intake.create()["id"]
    path = f"{DOSSIERS}/{dossier_id}/documents"

    with leaves_no_file(intake):
        unknown = intake.upload_many(dossier_id, {"to_trinh": (PDF, "a.pdf"), "ho_chieu": (PDF, "b.pdf")})
        twice = intake.client.post(
            path,
            data={"to_trinh": [(io.BytesIO(PDF), "a.pdf"), (io.BytesIO(PNG), "b.png")], "note": "xin nhận"},
            content_type="multipart/form-data",
            headers=intake.headers(),
        )
        empty = intake.client.post(path, data={}, content_type="multipart/form-data", headers=intake.headers())

    assert field_errors(unknown) == {"ho_chieu": ["unknown_document_kind"]}
    assert unknown.get_json()["accepted"] == list(DOCUMENT_KINDS)
    assert field_errors(twice) == {"to_trinh": ["duplicate_document"], "note": ["unknown_field"]}
    assert field_errors(empty) == {"_schema": ["required"]}
    assert intake.get(dossier_id)["document_history"] == []


def test_nobody_but_the_units_clerk_uploads_and_only_to_an_editable_dossier(intake: Harness) -> None:
    dossier_id = intake.create()["id"]
    files = {"to_trinh": (PDF, "to-trinh.pdf")}

    with leaves_no_file(intake):
        neighbour = intake.upload_many(dossier_id, files, unit=NEIGHBOUR)
        reviewer = intake.client.post(
            f"{DOSSIERS}/{dossier_id}/documents",
            data={"to_trinh": (io.BytesIO(PDF), "a.pdf")},
            content_type="multipart/form-data",
            headers=staff(intake),
        )
    problem(neighbour, 404, "dossier_not_found")
    assert reviewer.status_code == 403
    submitted_id = submitted(intake, unit=NEIGHBOUR)
    with leaves_no_file(intake):
        late = intake.upload_many(submitted_id, {"to_trinh": (PNG, "moi.png")}, unit=NEIGHBOUR)
    problem(late, 409, "dossier_not_editable")
    assert intake.get(dossier_id)["document_history"] == []


def test_staff_download_a_units_document_and_another_units_clerk_cannot(intake: Harness) -> None:
    dossier_id = intake.create()["id"]
    ok(intake.upload(dossier_id, "bien_ban", PNG, "bien-ban.png"), 201)

    for role in ("reviewer", "council_chair", "auditor"):
        fetched = download(intake, dossier_id, "bien_ban", role=role, unit=None)
        assert (fetched.status_code, fetched.mimetype, fetched.data) == (200, "image/png", PNG), role
        assert "bien-ban.png" in fetched.headers["Content-Disposition"], role
    refused = problem(download(intake, dossier_id, "bien_ban", unit=NEIGHBOUR), 404, "dossier_not_found")
    assert "bien-ban.png" not in str(refused)


# -- submitting ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "contents", "missing"),
    [
        (
            "collective",
            {"report": {"address": "Ấp Phú Hòa", "phone": "0277 3840 123"}, "self_assessment": {"total_case_files": 9}},
            [
                f
                for f in COLLECTIVE_FIELDS
                if f not in {"report.address", "report.phone", "self_assessment.total_case_files"}
            ],
        ),
        ("individual", {"nominee": {"full_name": "Nguyễn Thị Hoa"}}, INDIVIDUAL_FIELDS[1:]),
    ],
)
def test_submitting_an_incomplete_dossier_names_every_missing_item_at_once(
    intake: Harness, kind: str, contents: dict[str, Any], missing: list[str]
) -> None:
    dossier_id = intake.create(kind, **contents)["id"]
    ok(intake.upload(dossier_id, "to_trinh"), 201)

    refused = problem(intake.submit(dossier_id), 422, "dossier_incomplete")

    expected = [*missing, "bien_ban", "bao_cao_thanh_tich", "danh_sach_tom_tat"]
    assert [item["item"] for item in refused["missing"]] == expected
    assert str(len(expected)) in refused["detail"]
    assert all(VIETNAMESE.search(item["message"]) for item in refused["missing"])
    assert intake.get(dossier_id)["state"] == "draft"


def test_a_dossier_may_be_submitted_until_the_last_second_of_the_deadline_day(
    intake: Harness, clock: FixedClock
) -> None:
    dossier_id = intake.complete_dossier()["id"]
    set_clock(clock, DEADLINE_LAST_SECOND)

    sent = ok(intake.submit(dossier_id))

    assert (sent["state"], sent["round"], sent["submitted_at"]) == ("submitted", 1, "2021-12-06T16:59:59+00:00")
    assert sent["missing"] == []


def test_after_the_deadline_day_a_submission_is_refused(intake: Harness, clock: FixedClock) -> None:
    dossier_id = intake.complete_dossier()["id"]
    set_clock(clock, DAY_AFTER_DEADLINE)

    refused = problem(intake.submit(dossier_id), 409, "deadline_passed")

    assert "06/12/2021" in refused["detail"]
    assert intake.get(dossier_id)["state"] == "draft"


def test_a_review_head_extends_the_deadline_and_the_late_submission_then_succeeds(
    intake: Harness, clock: FixedClock
) -> None:
    dossier_id = intake.complete_dossier()["id"]
    set_clock(clock, DAY_AFTER_DEADLINE)
    problem(intake.submit(dossier_id), 409, "deadline_passed")

    assert ok(extend(intake, "2021-12-10"), 201)["new_date"] == "2021-12-10"

    assert intake.get(dossier_id)["deadline"]["date"] == "2021-12-10"
    assert ok(intake.submit(dossier_id))["state"] == "submitted"
    extended = intake.wait_for_event("campaign.deadline_extended")[0]
    assert (extended["actor"]["role"], extended["payload"]["previous_date"], extended["payload"]["new_date"]) == (
        "review_head",
        "2021-12-06",
        "2021-12-10",
    )


def test_a_clerk_may_not_extend_the_deadline(intake: Harness, clock: FixedClock) -> None:
    dossier_id = intake.complete_dossier()["id"]
    set_clock(clock, DAY_AFTER_DEADLINE)

    problem(extend(intake, "2021-12-10", role="unit_clerk", unit=HOME), 403, "forbidden_role")

    assert intake.get(dossier_id)["deadline"]["date"] == "2021-12-06"
    problem(intake.submit(dossier_id), 409, "deadline_passed")


def test_an_extension_must_move_the_deadline_later(intake: Harness) -> None:
    for earlier in ("2021-12-05", "2021-12-06"):
        assert problem(extend(intake, earlier), 409, "deadline_not_later")["current_deadline"] == "2021-12-06"
    ok(extend(intake, "2021-12-10"), 201)

    assert problem(extend(intake, "2021-12-08"), 409, "deadline_not_later")["current_deadline"] == "2021-12-10"
    assert intake.get(intake.create()["id"])["deadline"]["date"] == "2021-12-10"


def test_submitting_puts_exactly_one_event_on_the_wire_with_the_dossier_and_its_document_metadata(
    intake: Harness,
) -> None:
    dossier_id = intake.complete_dossier()["id"]
    ok(intake.upload(dossier_id, "to_trinh", PNG, "to-trinh-ky.png"), 201)

    ok(intake.submit(dossier_id))

    event = exactly_one(intake, "dossier.submitted")
    assert (event["subject"], event["campaign"], event["unit"], event["producer"]) == (
        dossier_id,
        CAMPAIGN,
        HOME,
        "intake",
    )
    assert event["actor"] == {"id": f"unit_clerk-{HOME}", "name": "Nguyễn Văn A", "role": "unit_clerk", "unit": HOME}
    payload = event["payload"]
    assert (payload["kind"], payload["round"], payload["trigger"]) == ("collective", 1, "submit")
    assert (payload["report"], payload["self_assessment"], payload["nominee"]) == (
        COMPLETE_REPORT,
        COMPLETE_COUNTS,
        None,
    )
    assert payload["documents"] == sorted(
        [
            {
                "kind": kind,
                "version": 2 if kind == "to_trinh" else 1,
                "sha256": hashlib.sha256(PNG if kind == "to_trinh" else PDF).hexdigest(),
                "size": len(PNG if kind == "to_trinh" else PDF),
                "content_type": "image/png" if kind == "to_trinh" else "application/pdf",
                "filename": "to-trinh-ky.png" if kind == "to_trinh" else "tai-lieu.pdf",
                "uploaded_at": "2021-12-01T02:00:00+00:00",
            }
            for kind in DOCUMENT_KINDS
        ],
        key=lambda document: document["kind"],
    )


def test_two_submits_of_one_dossier_at_once_make_exactly_one_submission(intake: Harness) -> None:
    dossier_id = intake.complete_dossier()["id"]

    answers = submit_at_once(intake, dossier_id)

    assert sorted(answer.status_code for answer in answers) == [200, 409]
    refused = next(answer for answer in answers if answer.status_code == 409)
    assert refused.get_json()["code"] in {"concurrent_update", "illegal_transition"}
    problem(refused, 409, refused.get_json()["code"])
    assert exactly_one(intake, "dossier.submitted")["subject"] == dossier_id
    dossier = intake.get(dossier_id)
    assert (dossier["state"], dossier["round"], triggers(dossier)) == ("submitted", 1, ["submit"])


# -- the quota -------------------------------------------------------------------------------------------------


def test_a_unit_has_one_collective_and_one_individual_dossier_per_campaign(intake: Harness) -> None:
    intake.create("collective")
    intake.create("individual")

    second_collective = problem(
        post_dossier(intake, {"campaign": CAMPAIGN, "kind": "collective"}), 409, "dossier_quota_reached"
    )
    second_individual = problem(
        post_dossier(intake, {"campaign": CAMPAIGN, "kind": "individual"}), 409, "dossier_quota_reached"
    )

    assert "hồ sơ tập thể" in second_collective["detail"]
    assert "hồ sơ cá nhân" in second_individual["detail"]
    assert len(listed_ids(intake)) == 2
    assert intake.create("collective", NEIGHBOUR)["unit"] == NEIGHBOUR
    assert intake.create("individual", NEIGHBOUR)["unit"] == NEIGHBOUR


def test_after_withdrawing_its_dossier_a_unit_may_create_a_new_one(intake: Harness) -> None:
    first = submitted(intake)
    ok(withdraw(intake, first))

    second = intake.create("collective")

    assert second["id"] != first and second["state"] == "draft"
    assert ok(listing(intake, "?state=draft"))[0]["id"] == second["id"]
    problem(post_dossier(intake, {"campaign": CAMPAIGN, "kind": "collective"}), 409, "dossier_quota_reached")


# -- revising after a return -----------------------------------------------------------------------------------


def test_the_answer_to_a_first_submission_shows_its_one_move_as_a_reader_then_finds_it(
    intake: Harness, clock: FixedClock
) -> None:
    dossier_id = intake.complete_dossier()["id"]
    clock.advance(timedelta(minutes=7, microseconds=123456))

    sent = ok(intake.submit(dossier_id))

    assert sent["history"] == intake.get(dossier_id)["history"]
    assert [(entry["trigger"], entry["from_state"], entry["to_state"]) for entry in sent["history"]] == [
        ("submit", "draft", "submitted")
    ]
    assert sent["history"][0]["occurred_at"] == sent["submitted_at"] == "2021-12-01T02:07:00.123456+00:00"


def test_a_returned_dossier_is_revised_and_resubmitted_as_round_two_with_its_history(
    intake: Harness, clock: FixedClock
) -> None:
    dossier_id = submitted(intake)
    clock.advance(timedelta(hours=1))
    intake.return_dossier(dossier_id, 1, "Biên bản chưa có chữ ký.", "Số liệu tự chấm chưa khớp.")

    returned = intake.wait_for_state(dossier_id, "returned")
    assert [reason["message"] for reason in returned["return_reasons"]] == [
        "Biên bản chưa có chữ ký.",
        "Số liệu tự chấm chưa khớp.",
    ]
    assert "resubmit" in returned["allowed_actions"]
    clock.advance(timedelta(hours=1))
    ok(edit(intake, dossier_id, {"self_assessment": {"online_case_files": 700}}))
    ok(intake.upload(dossier_id, "bien_ban", PNG, "bien-ban-ky.png"), 201)
    resent = ok(intake.submit(dossier_id))

    assert (resent["state"], resent["round"]) == ("submitted", 2)
    assert resent["history"] == intake.get(dossier_id)["history"], "the answer shows the history as committed"
    event = exactly_one(intake, "dossier.resubmitted")
    assert (event["subject"], event["payload"]["round"]) == (dossier_id, 2)
    assert event["payload"]["self_assessment"]["online_case_files"] == 700
    assert {d["kind"]: d["version"] for d in event["payload"]["documents"]}["bien_ban"] == 2
    assert [
        (entry["trigger"], entry["actor"]["id"], entry["actor"]["role"], entry["occurred_at"], entry["reason"])
        for entry in intake.get(dossier_id)["history"]
    ] == [
        ("submit", f"unit_clerk-{HOME}", "unit_clerk", "2021-12-01T02:00:00+00:00", None),
        (
            "reopen",
            REVIEWER.id,
            "reviewer",
            "2021-12-01T03:00:00+00:00",
            "Biên bản chưa có chữ ký.; Số liệu tự chấm chưa khớp.",
        ),
        ("resubmit", f"unit_clerk-{HOME}", "unit_clerk", "2021-12-01T04:00:00+00:00", None),
    ]
    assert intake.get(dossier_id)["history"][1]["actor"]["name"] == REVIEWER.name


def test_a_return_for_a_stale_round_changes_nothing(intake: Harness) -> None:
    dossier_id = submitted(intake)
    intake.return_dossier(dossier_id, 1)
    intake.wait_for_state(dossier_id, "returned")
    ok(intake.submit(dossier_id))

    with intake_consumes(intake):
        intake.return_dossier(dossier_id, 1, "Trả lại lần một, đến muộn.")

    dossier = intake.get(dossier_id)
    assert (dossier["state"], dossier["round"], triggers(dossier)) == ("submitted", 2, ["submit", "reopen", "resubmit"])


def test_a_return_for_a_withdrawn_dossier_changes_nothing(intake: Harness) -> None:
    dossier_id = submitted(intake)
    ok(withdraw(intake, dossier_id))

    with intake_consumes(intake):
        intake.return_dossier(dossier_id, 1)

    dossier = intake.get(dossier_id)
    assert (dossier["state"], dossier["return_reasons"], triggers(dossier)) == (
        "withdrawn",
        None,
        ["submit", "withdraw"],
    )


# -- withdrawing -----------------------------------------------------------------------------------------------


def test_a_clerk_withdraws_a_draft_or_a_submitted_dossier_with_a_reason(intake: Harness) -> None:
    draft = intake.create("individual")["id"]
    sent = submitted(intake)

    for dossier_id in (draft, sent):
        withdrawn = ok(withdraw(intake, dossier_id, reason="Đơn vị rút để bổ sung."))
        assert (withdrawn["state"], withdrawn["allowed_actions"]) == ("withdrawn", [])
        last = withdrawn["history"][-1]
        assert (last["trigger"], last["reason"], last["actor"]["role"]) == (
            "withdraw",
            "Đơn vị rút để bổ sung.",
            "unit_clerk",
        )
        assert withdrawn["history"] == intake.get(dossier_id)["history"], "the answer shows the history as committed"
    assert {event["subject"] for event in intake.wait_for_event("dossier.withdrawn", 2)} == {draft, sent}


def test_once_the_proposal_is_sent_a_dossier_cannot_be_withdrawn_until_the_proposal_comes_back(
    intake: Harness,
) -> None:
    dossier_id = submitted(intake)
    propose(intake, dossier_id)

    refused = problem(withdraw(intake, dossier_id), 409, "proposal_already_sent")

    assert "Phòng Văn hóa và Thông tin" in refused["detail"]
    assert intake.get(dossier_id)["state"] == "submitted"
    return_proposal(intake)
    assert ok(withdraw(intake, dossier_id))["state"] == "withdrawn"


def test_once_the_proposal_is_sent_no_dossier_is_submitted_until_the_proposal_comes_back(intake: Harness) -> None:
    proposed, late = submitted(intake), intake.complete_dossier(unit=NEIGHBOUR)["id"]
    propose(intake, proposed)

    refused = problem(intake.submit(late, unit=NEIGHBOUR), 409, "proposal_already_sent")

    assert "không thể nộp" in refused["detail"]
    assert intake.get(late, unit=NEIGHBOUR)["state"] == "draft"
    return_proposal(intake)
    assert ok(intake.submit(late, unit=NEIGHBOUR))["state"] == "submitted"


def test_a_withdrawn_dossier_cannot_be_submitted_complete_or_not(intake: Harness) -> None:
    complete, incomplete = intake.complete_dossier()["id"], intake.create("individual")["id"]
    for dossier_id in (complete, incomplete):
        ok(withdraw(intake, dossier_id))

    refusals = [problem(intake.submit(dossier_id), 409, "illegal_transition") for dossier_id in (complete, incomplete)]

    assert all("đã rút" in refused["detail"] for refused in refusals)
    assert {intake.get(dossier_id)["state"] for dossier_id in (complete, incomplete)} == {"withdrawn"}
    problem(withdraw(intake, complete), 409, "illegal_transition")


# -- following the outcome -------------------------------------------------------------------------------------


def test_an_award_shows_the_dossier_awarded_with_its_outcome(intake: Harness) -> None:
    dossier_id = submitted(intake)

    grant(intake, dossier_id)

    dossier = intake.wait_for_state(dossier_id, "awarded")
    assert dossier["outcome"] == {
        "granted": True,
        "prize_rank": 1,
        "prize_name": "Giải nhất",
        "amount": 2_500_000,
        "certificate_number": "GK-15/2021",
        "decision_number": "1234/QĐ-UBND",
        "decision_date": "2021-12-20",
        "reason": None,
        "previous": None,
    }
    last = dossier["history"][-1]
    assert (last["trigger"], last["actor"]["id"], last["actor"]["role"]) == ("award", CHAIR.id, "council_chair")
    assert (dossier["state_name"], dossier["allowed_actions"]) == ("được khen thưởng", [])
    listed = {d["id"]: d for d in ok(listing(intake, f"?campaign={CAMPAIGN}")) + ok(listing(intake, "", **STAFF))}
    assert listed[dossier_id]["outcome"] == dossier["outcome"], "the unit's list and the staff's show it too"


def test_a_refusal_shows_the_dossier_not_awarded_with_the_reason(intake: Harness) -> None:
    dossier_id = submitted(intake, "individual")

    intake.decide(dossier_id, granted=False, reason="Không đạt chỉ tiêu 60%.")

    dossier = intake.wait_for_state(dossier_id, "not_awarded")
    assert (dossier["outcome"]["granted"], dossier["outcome"]["reason"]) == (False, "Không đạt chỉ tiêu 60%.")
    draft = intake.create()["id"]
    listed = {d["id"]: d["outcome"] for d in ok(listing(intake, "", **STAFF))}
    assert listed == {dossier_id: dossier["outcome"], draft: None}
    assert (dossier["history"][-1]["trigger"], dossier["history"][-1]["reason"]) == (
        "refuse",
        "Không đạt chỉ tiêu 60%.",
    )


def test_a_dossier_still_returned_when_the_chair_decides_is_not_awarded_with_the_reason_it_was_left_out(
    intake: Harness,
) -> None:
    dossier_id = submitted(intake)
    with intake_consumes(intake):
        intake.return_dossier(dossier_id, 1, "Biên bản họp chưa có chữ ký.")
    assert intake.wait_for_state(dossier_id, "returned")["return_reasons"]
    reason = "Hồ sơ đã bị trả lại để bổ sung và chưa được thẩm định lại."

    intake.decide(dossier_id, granted=False, reason=reason, decision_number="1234/QĐ-UBND")

    dossier = intake.wait_for_state(dossier_id, "not_awarded")
    assert (dossier["outcome"]["reason"], dossier["outcome"]["decision_number"]) == (reason, "1234/QĐ-UBND")
    assert triggers(dossier) == ["submit", "reopen", "refuse"]
    assert dossier["allowed_actions"] == [], "the campaign is decided: no more revisions"
    problem(intake.submit(dossier_id), 409, "illegal_transition")


def test_an_outcome_for_a_withdrawn_or_draft_dossier_changes_nothing(intake: Harness) -> None:
    """A withdrawal review had not heard of when its head signed: the decision refuses the dossier, intake keeps
    it withdrawn. A draft never reached review; an outcome for it can only be a stray."""
    withdrawn = submitted(intake, "individual")
    ok(withdraw(intake, withdrawn))
    draft: str = intake.create("collective", "an-khanh")["id"]

    with intake_consumes(intake, 2):
        intake.decide(withdrawn, granted=False, reason="Đơn vị không đạt giải tập thể.")
        intake.decide(draft, granted=True, prize_name="Giải nhất", amount=2_500_000)

    assert (intake.get(withdrawn)["state"], intake.get(withdrawn)["outcome"]) == ("withdrawn", None)
    assert intake.get(draft, unit="an-khanh")["state"] == "draft"
    relays_idle(intake)
    assert intake.events("dossier.not_awarded") == intake.events("dossier.awarded") == []
    assert intake.system.consumers["intake"].dead_lettered == 0


def test_a_batch_of_outcomes_is_applied_to_each_dossier_it_names_and_ignores_the_unknown(intake: Harness) -> None:
    awarded, refused = submitted(intake), submitted(intake, "individual")
    batch = [
        intake.decision(awarded, granted=True, prize_name="Giải nhất", amount=2_500_000),
        intake.decision("not-a-dossier", granted=True, prize_name="Giải nhì", amount=1_500_000),
        intake.decision(refused, granted=False, reason="Không đạt chỉ tiêu 60%."),
        intake.decision(awarded, granted=False, reason="Sửa đổi quyết định."),
    ]

    assert intake.system.runtimes["intake"].consumer().apply_batch(batch) == [True, True, True, True]

    first = intake.get(awarded)
    assert (first["state"], triggers(first)) == ("not_awarded", ["submit", "award", "refuse"])
    assert first["outcome"]["previous"]["prize_name"] == "Giải nhất", "the second outcome saw the first"
    assert intake.get(refused)["state"] == "not_awarded"


def test_the_same_award_delivered_twice_is_applied_once(intake: Harness) -> None:
    dossier_id = submitted(intake)
    award = grant(intake, dossier_id)
    intake.wait_for_state(dossier_id, "awarded")

    with intake_consumes(intake):
        publish_again(intake, award)

    dossier = intake.get(dossier_id)
    assert (dossier["state"], triggers(dossier)) == ("awarded", ["submit", "award"])
    assert dossier["outcome"]["previous"] is None
    assert intake.system.consumers["intake"].duplicates == 1
    assert exactly_one(intake, "dossier.awarded")["subject"] == dossier_id
    assert intake.events("dossier.outcome_amended") == []
