"""What no route can take is a 400 naming what was wrong, on both stacks, before anything is applied.

Text a database cannot hold (PostgreSQL refuses the NUL character; no database holds a lone surrogate, which JSON
spells ``"\\ud800"``), JSON past what Python reads, a page past any list's end and an unsafe file name would each
otherwise reach the database or the parser and fail there as a 500 — some after part of the change was committed.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from werkzeug.test import TestResponse

from tests.integration.harness import Harness

CAMPAIGN = "chau-thanh-2021"
FIGURES = f"/review/campaigns/{CAMPAIGN}/figures"
FIGURES_CSV = (
    b"unit,online_case_files,total_case_files,online_procedures,total_procedures\r\nhoa-tan,720,1000,30,50\r\n"
)


def refused(answer: TestResponse, location: str) -> dict[str, list[str]]:
    """The fields of a 400 validation problem at ``location``, each with its codes."""
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert answer.content_type == "application/problem+json"
    body = answer.get_json()
    assert (body["code"], body["location"]) == ("validation_failed", location)
    return {field: [error["code"] for error in errors] for field, errors in body["errors"].items()}


def dossiers_of(intake: Harness) -> list[dict[str, Any]]:
    answer = intake.client.get("/intake/dossiers", headers=intake.headers())
    assert answer.status_code == 200
    return answer.get_json()  # type: ignore[no-any-return]


# -- text a database cannot hold -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/intake/dossiers/a%00b",
        "/intake/dossiers/a%00b/documents/to_trinh",
        "/review/nominations/a%00b",
        f"/review/campaigns/{CAMPAIGN}%00/figures",
        "/awards/proposals/a%00b",
        "/awards/sessions/a%00b",
        "/audit/subjects/a%00b",
    ],
)
def test_an_id_holding_a_nul_is_refused(intake: Harness, path: str) -> None:
    answer = intake.client.get(path, headers=intake.headers(role="admin", unit=None))

    assert refused(answer, "path") == {"_schema": ["invalid_character"]}


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/intake/dossiers?unit=a%00b", "unit"),
        ("/review/nominations?campaign=a%00b", "campaign"),
        ("/awards/proposals?campaign=a%00b", "campaign"),
        ("/audit/entries?subject=a%00b", "subject"),
        ("/audit/entries?sub%00ject=x", "sub\x00ject"),
    ],
)
def test_a_filter_holding_a_nul_is_refused(intake: Harness, path: str, field: str) -> None:
    answer = intake.client.get(path, headers=intake.headers(role="admin", unit=None))

    assert refused(answer, "query") == {field: ["invalid_character"]}


def test_a_new_dossier_with_a_lone_surrogate_is_refused_naming_the_field_and_is_not_kept(intake: Harness) -> None:
    body = (
        '{"campaign": "chau-thanh-2021", "kind": "collective",'
        ' "report": {"address": "\\ud800", "phone": "0277\\u0000"}, "\\udfff": 1}'
    )
    answer = intake.client.post(
        "/intake/dossiers", data=body, content_type="application/json", headers=intake.headers()
    )

    assert refused(answer, "json") == {
        "report.address": ["invalid_character"],
        "report.phone": ["invalid_character"],
        "_schema": ["invalid_character"],
    }
    assert "NUL" in answer.get_json()["errors"]["report.address"][0]["message"]
    assert dossiers_of(intake) == []
    assert intake.create()["state"] == "draft", "the unit may still create its dossier"


def test_a_withdrawal_whose_reason_holds_a_nul_is_refused_and_the_dossier_stays_submitted(intake: Harness) -> None:
    dossier = intake.complete_dossier()
    assert intake.submit(dossier["id"]).status_code == 200

    answer = intake.client.post(
        f"/intake/dossiers/{dossier['id']}/withdraw",
        data='{"reason": "rút\\u0000"}',
        content_type="application/json",
        headers=intake.headers(),
    )

    assert refused(answer, "json") == {"reason": ["invalid_character"]}
    assert intake.get(dossier["id"])["state"] == "submitted"


def test_an_escaped_but_storable_text_is_kept_as_written(intake: Harness) -> None:
    address = "\\u1ea4p Ph\\u00fa H\\u00f2a \\ud83c\\udfe0"  # a house emoji as JSON spells it: a surrogate pair
    body = '{"campaign": "chau-thanh-2021", "kind": "collective", "report": {"address": "' + address + '"}}'
    answer = intake.client.post(
        "/intake/dossiers", data=body, content_type="application/json", headers=intake.headers()
    )

    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["report"]["address"] == "Ấp Phú Hòa 🏠"


# -- JSON past what Python reads -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '{"campaign": "chau-thanh-2021", "kind": "collective", "self_assessment": {"staff": ' + "9" * 5000 + "}}",
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 100_000 + "1" + "}" * 100_000,
    ],
    ids=["5000-digit integer", "arrays 100,000 deep", "objects 100,000 deep"],
)
def test_json_past_what_python_reads_is_refused_as_invalid_json(intake: Harness, body: str) -> None:
    answer = intake.client.post(
        "/intake/dossiers", data=body, content_type="application/json", headers=intake.headers()
    )

    assert refused(answer, "json") == {"_schema": ["invalid_json"]}
    assert dossiers_of(intake) == []


# -- pages -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/intake/dossiers", "/review/nominations", "/awards/sessions"])
def test_a_page_past_any_list_is_refused_and_the_last_page_served_is_empty(intake: Harness, path: str) -> None:
    admin = intake.headers(role="admin", unit=None)

    assert refused(intake.client.get(f"{path}?page={10**20}", headers=admin), "query") == {"page": ["too_large"]}
    assert refused(intake.client.get(f"{path}?page=1000001", headers=admin), "query") == {"page": ["too_large"]}
    last = intake.client.get(f"{path}?page=1000000&page_size=100", headers=admin)
    assert (last.status_code, last.get_json()) == (200, [])


# -- the name of an uploaded file ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "why"),
    [("so-lieu\x00.csv", "ký tự điều khiển"), ("s" * 300 + ".csv", "dài quá 200 ký tự")],
    ids=["a NUL", "300 characters"],
)
def test_figures_under_an_unsafe_name_are_refused_naming_the_file_and_not_imported(
    intake: Harness, filename: str, why: str
) -> None:
    reviewer = intake.headers(role="reviewer", unit="van-hoa-thong-tin", name="Phạm Thị D")

    answer = intake.client.put(
        FIGURES,
        data={"file": (io.BytesIO(FIGURES_CSV), filename)},
        content_type="multipart/form-data",
        headers=reviewer,
    )

    assert answer.status_code == 400
    body = answer.get_json()
    assert (body["code"], [e["code"] for e in body["errors"]["file"]]) == ("unsafe_filename", ["unsafe_filename"])
    assert why in body["detail"]
    assert intake.client.get(FIGURES, headers=reviewer).get_json()["imports"] == []
    kept = intake.client.put(
        FIGURES,
        data={"file": (io.BytesIO(FIGURES_CSV), "Phụ lục 2.csv")},
        content_type="multipart/form-data",
        headers=reviewer,
    )
    assert (kept.status_code, kept.get_json()["units"]) == (200, 1)


# -- a body that is not JSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ('{"campaign": "chau-thanh-2021", "kind": "collective"}', "text/plain"),
        ("campaign=chau-thanh-2021&kind=collective", "application/x-www-form-urlencoded"),
    ],
)
def test_a_body_that_is_not_json_is_refused_as_such_not_as_missing_fields(
    intake: Harness, data: str, content_type: str
) -> None:
    answer = intake.client.post("/intake/dossiers", data=data, content_type=content_type, headers=intake.headers())

    assert (answer.status_code, answer.get_json()["code"]) == (415, "unsupported_media_type")
    assert "application/json" in answer.get_json()["detail"]
    assert dossiers_of(intake) == []


def test_a_route_whose_body_is_optional_still_takes_none(intake: Harness) -> None:
    dossier = intake.complete_dossier()
    assert intake.submit(dossier["id"]).status_code == 200

    answer = intake.client.post(f"/intake/dossiers/{dossier['id']}/withdraw", headers=intake.headers())

    assert answer.status_code == 200, answer.get_json()
    assert intake.get(dossier["id"])["state"] == "withdrawn"
