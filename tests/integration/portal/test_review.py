"""Culture & Information's pages on the embedded stack: the queue and its filters, one nomination with both sets
of figures, the steps and the four-eyes refusal, a return with several reasons, the figures import and its row
errors, the ranking and its chart, Phụ lục 2 and its downloads, and the head's signature."""

from __future__ import annotations

import io
import re

from tests.integration.harness import PDF
from tests.integration.portal.conftest import Portal
from tests.integration.portal.story import CAMPAIGN, OFFICIAL_CSV, Story
from tests.waiting import wait_until


def test_the_queue_lists_the_nominations_and_filters_them(portal: Portal) -> None:
    ids = Story(portal).submitted("hoa-tan", "tu-phap")
    reviewer = portal.signed_in("chuyenvien1.vhtt")

    page = reviewer.open("/nominations/")
    assert "2 hồ sơ" in page and "Hòa Tân" in page and "Phòng Tư pháp" in page
    assert "Kiểm tra tính đầy đủ" in page  # the next step of both
    filtered = reviewer.open("/nominations/?unit=tu-phap&state=in_review&kind=collective")
    assert "1 hồ sơ" in filtered and f"/nominations/{ids['tu-phap']}" in filtered and "Hòa Tân</a>" not in filtered
    assert "0 hồ sơ" in reviewer.open("/nominations/?state=appraised")


def test_a_nomination_shows_both_figures_with_the_differences_and_its_documents(portal: Portal) -> None:
    story = Story(portal)
    ids = story.submitted("an-khanh")
    story.figures_imported()
    reviewer = portal.signed_in("chuyenvien1.vhtt")

    page = reviewer.open(f"/nominations/{ids['an-khanh']}")
    row = re.search(
        r'<tr class="differs">\s*<th scope="row">Số hồ sơ TTHC xử lý trực tuyến mức 4</th>(.*?)</tr>', page, re.S
    )
    assert row and ">650<" in row.group(1) and ">600<" in row.group(1) and "chênh 50" in row.group(1)
    assert page.count('class="differs"') == 1
    assert "65,00 %" in page and "60,00 %" in page  # the case-file rate by each count
    link = f"/dossiers/{ids['an-khanh']}/documents/to_trinh?version=1"
    assert link in page
    download = reviewer.client.get(link)
    assert download.status_code == 200 and download.data == PDF


def test_the_steps_are_approved_with_notes_and_the_api_refusals_are_shown_by_their_field(portal: Portal) -> None:
    story = Story(portal)
    dossier_id = story.submitted("an-khanh")["an-khanh"]
    story.figures_imported()
    first = portal.signed_in("chuyenvien1.vhtt")
    path = f"/nominations/{dossier_id}"
    first.open(path)

    empty = first.post(f"{path}/steps/completeness", {"decision": "approve", "note": ""})
    assert empty.status_code == 400
    assert re.search(r'id="step-note-error">Độ dài phải từ 1', empty.get_data(as_text=True))
    assert first.post(f"{path}/steps/completeness", {"decision": "approve", "note": "Đủ 4 tài liệu"}).status_code == 302

    first.open(path)
    differs = first.post(f"{path}/steps/figures", {"decision": "approve", "note": "Khớp"})
    assert differs.status_code == 409
    assert re.search(r'id="step-error" role="alert">[^<]*số liệu', differs.get_data(as_text=True), re.I)
    override = {"decision": "approve", "note": "Chênh 50 hồ sơ do đồng bộ muộn", "override": "yes"}
    assert first.post(f"{path}/steps/figures", override).status_code == 302

    first.open(path)
    same = first.post(f"{path}/steps/appraisal", {"decision": "approve", "note": "Đạt"})
    assert same.status_code == 409 and "Người thẩm định phải khác" in same.get_data(as_text=True)
    second = portal.signed_in("chuyenvien2.vhtt")
    second.open(path)
    assert second.post(f"{path}/steps/appraisal", {"decision": "approve", "note": "Thẩm định đạt"}).status_code == 302
    page = second.open(path)
    assert 'id="nomination-state">Đã thẩm định đạt' in page
    assert "Chênh 50 hồ sơ do đồng bộ muộn" in page and "(chấp nhận chênh lệch số liệu)" in page


def test_a_return_sends_every_reason_and_an_empty_one_is_refused_by_its_row(portal: Portal) -> None:
    dossier_id = Story(portal).submitted("hoa-tan")["hoa-tan"]
    reviewer = portal.signed_in("chuyenvien1.vhtt")
    path = f"/nominations/{dossier_id}"
    reviewer.open(path)

    nothing = reviewer.post(f"{path}/return", {"rows": "5"})
    assert nothing.status_code == 400 and 'id="reason-0-error">Vui lòng nêu ít nhất' in nothing.get_data(as_text=True)
    half = reviewer.post(f"{path}/return", {"rows": "5", "reasons.2.field": "report.phone"})
    assert half.status_code == 400 and 'id="reason-2-error">Vui lòng ghi nội dung' in half.get_data(as_text=True)
    more = reviewer.post(f"{path}/return", {"rows": "5", "more": "1"})
    assert more.status_code == 200 and 'name="reasons.9.message"' in more.get_data(as_text=True)

    reasons = {
        "rows": "5",
        "reasons.0.field": "report.phone",
        "reasons.0.message": "Số điện thoại không liên lạc được.",
        "reasons.3.field": "documents.bien_ban",
        "reasons.3.message": "Biên bản thiếu chữ ký.",
    }
    assert reviewer.post(f"{path}/return", reasons).status_code == 302
    page = reviewer.open(path)
    assert 'id="nomination-state">Đã trả lại đơn vị' in page
    assert "Điện thoại:</strong> Số điện thoại không liên lạc được." in page
    assert "Biên bản họp xét khen thưởng:</strong> Biên bản thiếu chữ ký." in page
    clerk = portal.signed_in("vanthu.hoa-tan")
    wait_until(lambda: "Biên bản thiếu chữ ký." in clerk.open(f"/dossiers/{dossier_id}"), what="the clerk's reasons")


def test_the_figures_import_shows_every_row_error_and_keeps_nothing_then_a_good_file(portal: Portal) -> None:
    reviewer = portal.signed_in("chuyenvien1.vhtt")
    reviewer.open("/figures")
    bad = OFFICIAL_CSV.splitlines()[0] + "\nnope,1,2,1,2\nan-khanh,x,1000,30,50\n"

    refused = reviewer.post(
        "/figures", {"file": (io.BytesIO(bad.encode()), "mot-cua.csv")}, content_type="multipart/form-data"
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert 'id="figures-error" role="alert">Tệp số liệu có 2 lỗi' in page
    assert "Dòng 2: không có đơn vị “nope”" in page and "Dòng 3: số hồ sơ trực tuyến “x”" in page
    assert "Chưa nhập số liệu chính thức." in page

    good = reviewer.post(
        "/figures", {"file": (io.BytesIO(OFFICIAL_CSV.encode()), "mot-cua.csv")}, content_type="multipart/form-data"
    )
    assert good.status_code == 302
    page = reviewer.open("/figures")
    assert "mot-cua.csv" in page and "Phạm Thị Dung" in page  # the import, by whom
    assert re.search(r"An Khánh</th><td class=\"number\">600</td>", page)


def test_the_ranking_charts_both_rates_against_the_target_lines_and_phu_luc_2_downloads(portal: Portal) -> None:
    story = Story(portal)
    ids = story.submitted("hoa-tan", "an-khanh")
    story.figures_imported()
    for dossier_id in ids.values():
        story.appraised(dossier_id)
    reviewer = portal.signed_in("chuyenvien1.vhtt")

    page = reviewer.open("/ranking")
    chart = re.search(r'<svg[^>]*id="chart-commune".*?</svg>', page, re.S)
    assert chart, "the commune track's chart"
    assert chart.group(0).count('data-rate="case_file_rate"') == 2 and 'data-target="case_file_rate"' in chart.group(0)
    assert ">60 %<" in chart.group(0) and ">50 %<" in chart.group(0)
    assert "72,00 %" in page and "Giải nhất" in page and "Giải nhì" in page

    table = reviewer.open("/summary")
    row = re.search(r'<tr id="summary-hoa-tan">(.*?)</tr>', table, re.S)
    assert row and ">720<" in row.group(1) and ">1000<" in row.group(1) and "72,00 %" in row.group(1)
    csv = reviewer.client.get("/summary?format=csv")
    assert csv.status_code == 200 and "text/csv" in csv.headers["Content-Type"] and "720" in csv.get_data(as_text=True)
    xlsx = reviewer.client.get("/summary?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert "attachment" in xlsx.headers["Content-Disposition"]


def test_only_the_head_signs_the_proposal_and_a_premature_one_is_refused_next_to_the_form(portal: Portal) -> None:
    story = Story(portal)
    ids = story.submitted("hoa-tan")
    story.figures_imported()
    head = portal.signed_in("truongphong.vhtt")
    head.open("/proposal")

    early = head.post("/proposal", {"campaign": CAMPAIGN, "note": "Kính trình"})
    assert early.status_code == 409 and 'id="proposal-error" role="alert">' in early.get_data(as_text=True)
    story.appraised(ids["hoa-tan"])
    assert head.post("/proposal", {"campaign": CAMPAIGN, "note": "Kính trình"}).status_code == 302
    assert "Đã ký và gửi (lần 1)" in head.open("/proposal")

    reviewer = portal.signed_in("chuyenvien1.vhtt")
    assert "Ký và gửi đề nghị" not in reviewer.open("/proposal")
    assert reviewer.post("/proposal", {"campaign": CAMPAIGN}).status_code == 403


def test_the_reviewers_pages_refuse_a_clerk_clearly(portal: Portal) -> None:
    clerk = portal.signed_in("vanthu.hoa-tan")
    for path in ("/nominations/", "/figures", "/ranking", "/summary", "/proposal"):
        response = clerk.client.get(path)
        assert response.status_code == 403, path
        assert "Vai trò của bạn không được phép mở trang này." in response.get_data(as_text=True)
    assert "Hàng đợi thẩm định" not in clerk.open("/")
    assert "Hàng đợi thẩm định" in portal.signed_in("chuyenvien1.vhtt").open("/")
