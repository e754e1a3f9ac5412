"""The unit clerk's pages on the embedded stack: the form and its errors, uploads, submission, a return, the
resubmission, and the walls between units."""

from __future__ import annotations

import io
import re

from tests.integration.harness import COMPLETE_COUNTS, COMPLETE_REPORT, DOCUMENT_KINDS, PDF
from tests.integration.portal.conftest import Portal, Visitor
from tests.waiting import wait_until

FORM = {f"report.{k}": str(v) for k, v in COMPLETE_REPORT.items()} | {
    f"self_assessment.{k}": str(v) for k, v in COMPLETE_COUNTS.items()
}


def create(visitor: Visitor, form: dict[str, str] = FORM) -> str:
    visitor.open("/dossiers/new?kind=collective")
    response = visitor.post("/dossiers/new?kind=collective", form)
    assert response.status_code == 302, response.get_data(as_text=True)
    found = re.match(r"^/dossiers/([\w-]+)\?notice=created$", response.headers["Location"])
    assert found, response.headers["Location"]
    return found.group(1)


def upload(visitor: Visitor, dossier_id: str, kind: str, data: bytes = PDF, name: str = "to-trinh.pdf"):
    return visitor.post(
        f"/dossiers/{dossier_id}/documents/{kind}",
        {"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )


def test_the_form_shows_every_error_next_to_its_field_its_own_and_the_apis(portal: Portal) -> None:
    visitor = portal.signed_in("vanthu.hoa-tan")
    visitor.open("/dossiers/new?kind=collective")

    local = visitor.post("/dossiers/new?kind=collective", {**FORM, "report.staff_count": "hai mươi"})
    page = local.get_data(as_text=True)
    assert local.status_code == 400
    assert re.search(r'id="report-staff-count-error">Vui lòng nhập một số nguyên', page)
    assert 'name="report.address" value="Ấp Phú Hòa, xã Hòa Tân"' in page  # what was typed is kept

    from_api = visitor.post("/dossiers/new?kind=collective", {**FORM, "self_assessment.online_case_files": "2000"})
    page = from_api.get_data(as_text=True)
    assert from_api.status_code == 400
    assert re.search(r'id="self-assessment-online-case-files-error">Số hồ sơ trực tuyến không được lớn hơn', page)
    assert "Đơn vị chưa có hồ sơ nào" in visitor.open("/dossiers/")  # nothing was created


def test_the_form_shows_the_rates_and_whether_each_target_is_met(portal: Portal) -> None:
    visitor = portal.signed_in("vanthu.hoa-tan")
    dossier_id = create(visitor, {**FORM, "self_assessment.online_procedures": "20"})

    page = visitor.open(f"/dossiers/{dossier_id}/edit")

    assert 'id="rate-case_file_rate"' in page and "72,00 %" in page
    assert "40,00 %" in page and "Chưa đạt chỉ tiêu" in page and "Đạt chỉ tiêu" in page


def test_a_clerk_uploads_submits_with_the_missing_list_then_submits_and_follows_the_state(portal: Portal) -> None:
    visitor = portal.signed_in("vanthu.hoa-tan")
    dossier_id = create(visitor)
    visitor.open(f"/dossiers/{dossier_id}")

    refused = visitor.post(f"/dossiers/{dossier_id}/submit")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Còn thiếu 4 mục" in page and "Chưa tải lên: Tờ trình." in page

    bad = upload(visitor, dossier_id, "to_trinh", b"MZ\x90\x00" + b"\x00" * 300, "virus.exe")
    assert bad.status_code in (400, 415) and bad.get_json()["message"]
    for kind in DOCUMENT_KINDS:
        assert upload(visitor, dossier_id, kind).status_code == 201
    submitted = visitor.post(f"/dossiers/{dossier_id}/submit")
    assert submitted.status_code == 302

    page = visitor.open(f"/dossiers/{dossier_id}")
    assert 'id="dossier-state">Đã nộp' in page and "Văn thư Hòa Tân" in page
    listing = visitor.open("/dossiers/")
    assert "Đã nộp" in listing and "06/12/2021" in listing
    download = visitor.client.get(f"/dossiers/{dossier_id}/documents/to_trinh?version=1")
    assert download.status_code == 200 and download.data == PDF


def test_a_returned_dossier_shows_the_reasons_and_is_revised_and_submitted_again(portal: Portal) -> None:
    visitor = portal.signed_in("vanthu.hoa-tan")
    dossier_id = create(visitor)
    for kind in DOCUMENT_KINDS:
        upload(visitor, dossier_id, kind)
    visitor.open(f"/dossiers/{dossier_id}")
    assert visitor.post(f"/dossiers/{dossier_id}/submit").status_code == 302

    # The reviewer's step, through the review API (the reviewer's pages are another part of the portal).
    reviewer = portal.api_headers("reviewer", "van-hoa-thong-tin", "Phạm Thị D")
    client = portal.app.test_client()
    wait_until(lambda: client.get(f"/review/nominations/{dossier_id}", headers=reviewer).status_code == 200)
    reasons = {"reasons": [{"field": "report.phone", "message": "Số điện thoại không liên lạc được."}]}
    assert client.post(f"/review/nominations/{dossier_id}/return", json=reasons, headers=reviewer).status_code == 200

    page = wait_until(lambda: "Bị trả lại" in (p := visitor.open(f"/dossiers/{dossier_id}")) and p, what="return")
    assert "Điện thoại:</strong> Số điện thoại không liên lạc được." in page
    visitor.open(f"/dossiers/{dossier_id}/edit")
    assert visitor.post(f"/dossiers/{dossier_id}/edit", {**FORM, "report.phone": "0277 3840 999"}).status_code == 302
    assert "Nộp lại hồ sơ" in visitor.open(f"/dossiers/{dossier_id}")
    assert visitor.post(f"/dossiers/{dossier_id}/submit").status_code == 302
    assert 'id="dossier-state">Đã nộp' in visitor.open(f"/dossiers/{dossier_id}")


def test_a_clerk_cannot_open_another_units_dossier_pages(portal: Portal) -> None:
    owner = portal.signed_in("vanthu.hoa-tan")
    dossier_id = create(owner)
    stranger = portal.signed_in("vanthu.an-khanh")

    for page in ("", "/edit", "/documents/to_trinh"):
        path = f"/dossiers/{dossier_id}{page}"
        response = stranger.client.get(path)
        assert response.status_code == 404, path
        assert "Hòa Tân" not in response.get_data(as_text=True)
    stranger.open("/dossiers/")
    assert stranger.post(f"/dossiers/{dossier_id}/submit").status_code == 404
    assert "Đơn vị chưa có hồ sơ nào" in stranger.open("/dossiers/")


def test_the_clerks_pages_are_for_clerks_only(portal: Portal) -> None:
    reviewer = portal.signed_in("chuyenvien1.vhtt")
    assert reviewer.client.get("/dossiers/").status_code == 403
    assert "Hồ sơ của đơn vị" not in reviewer.open("/")
