"""A commune clerk in a real browser: signs in, fills and submits a dossier with its four documents, sees it
returned with the reasons, revises it, submits it again and follows its state.

The reviewer's return is driven through the review API with a reviewer's token: the reviewer's pages are the
other half of the portal.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, focus_is_visible, shoot, sign_in
from tests.browser.pages import COUNT_LABELS, LABELS, fill_report, type_counts, upload_documents
from tests.integration.harness import COMPLETE_COUNTS, COMPLETE_REPORT, PDF
from tests.waiting import wait_until


def test_a_clerk_prepares_submits_revises_and_resubmits_a_dossier(page: Page, site: Site, tmp_path: Path) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
    shoot(page, "01-sign-in")
    sign_in(page, "vanthu.hoa-tan")
    expect(page.locator(".who")).to_contain_text("Văn thư Hòa Tân")
    expect(page.locator(".deadlines")).to_contain_text("06/12/2021")
    shoot(page, "02-dashboard-clerk")

    page.get_by_role("link", name="Hồ sơ của đơn vị").click()
    shoot(page, "03-dossiers-empty")
    page.get_by_role("link", name="Lập hồ sơ tập thể").click()
    fill_report(page)
    type_counts(page, {**COMPLETE_COUNTS, "online_procedures": 20})
    expect(page.locator("#rate-case_file_rate")).to_have_text("72,00 %")  # computed as the clerk types
    expect(page.locator("#verdict-procedure_coverage")).to_have_text("Chưa đạt chỉ tiêu")
    page.get_by_label("Số TTHC mức 4 có phát sinh hồ sơ trực tuyến", exact=True).fill("30")
    expect(page.locator("#rate-procedure_coverage")).to_have_text("60,00 %")
    expect(page.locator("#verdict-procedure_coverage")).to_have_text("Đạt chỉ tiêu")
    shoot(page, "04-dossier-form")
    page.get_by_role("button", name="Lưu bản nháp").click()

    expect(page.locator("#dossier-state")).to_have_text("Bản nháp")
    dossier_id = re.search(r"/dossiers/([\w-]+)", page.url).group(1)  # type: ignore[union-attr]
    page.get_by_role("button", name="Nộp hồ sơ").click()
    expect(page.locator("#missing")).to_contain_text("Chưa tải lên: Tờ trình.")
    expect(page.locator("#refusal")).to_contain_text("còn thiếu 4 mục")
    shoot(page, "05-dossier-missing")

    scan = tmp_path / "to-trinh.pdf"
    scan.write_bytes(PDF)
    upload_documents(page, scan)
    page.get_by_role("button", name="Nộp hồ sơ").click()
    expect(page.locator("#dossier-state")).to_have_text("Đã nộp")
    shoot(page, "06-dossier-submitted")

    reviewer = site.token("reviewer", "van-hoa-thong-tin", "Phạm Thị D")
    wait_until(lambda: site.api("GET", f"/review/nominations/{dossier_id}", reviewer)[0] == 200, what="the nomination")
    reasons = {"reasons": [{"field": "report.phone", "message": "Số điện thoại không liên lạc được."}]}
    assert site.api("POST", f"/review/nominations/{dossier_id}/return", reviewer, reasons)[0] == 200

    def returned() -> bool:
        page.reload()
        return page.locator("#dossier-state").inner_text() == "Bị trả lại để bổ sung"

    wait_until(returned, timeout=15, interval=0.5, what="the return on the clerk's page")
    expect(page.locator(".reasons")).to_contain_text("Điện thoại: Số điện thoại không liên lạc được.")
    shoot(page, "07-dossier-returned")
    page.get_by_role("link", name="Sửa nội dung").click()
    page.get_by_label("Điện thoại", exact=True).fill("0277 3840 999")
    page.get_by_role("button", name="Lưu thay đổi").click()
    page.get_by_role("button", name="Nộp lại hồ sơ").click()
    expect(page.locator("#dossier-state")).to_have_text("Đã nộp")
    expect(page.locator("main")).to_contain_text("0277 3840 999")

    page.get_by_role("link", name="Hồ sơ của đơn vị").click()
    expect(page.locator("main table")).to_contain_text("Đã nộp")
    shoot(page, "08-dossiers-list")
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.locator(".notice")).to_have_text("Bạn đã đăng xuất.")


def test_a_wrong_password_is_shown_next_to_the_form_in_vietnamese(page: Page) -> None:
    page.goto("/sign-in")
    page.get_by_label("Tên đăng nhập").fill("vanthu.an-khanh")
    page.get_by_label("Mật khẩu").fill("not the password")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("alert")).to_have_text("Tên đăng nhập hoặc mật khẩu không đúng.")
    shoot(page, "09-sign-in-refused")


def test_a_clerk_writes_a_dossier_with_the_keyboard_alone_and_always_sees_where_the_focus_is(page: Page) -> None:
    sign_in(page, "vanthu.tan-phu")
    page.goto("/dossiers/new?kind=collective")
    wanted = {path: str(COMPLETE_REPORT[path.split(".")[1]]) for path in LABELS}
    wanted |= {f"self_assessment.{code}": str(COMPLETE_COUNTS[code]) for code in COUNT_LABELS}
    typed: set[str] = set()
    for _ in range(80):  # far more Tabs than the page has stops: a trap or a skipped field ends the walk
        page.keyboard.press("Tab")
        assert focus_is_visible(page), page.evaluate("document.activeElement.outerHTML")
        name, text = page.evaluate("[document.activeElement.name, document.activeElement.textContent.trim()]")
        if name in wanted:
            page.keyboard.type(wanted[name])
            typed.add(name)
        elif text == "Lưu bản nháp":
            break
    assert typed == set(wanted), "every field was reached before the button"
    page.keyboard.press("Enter")

    expect(page.locator("#dossier-state")).to_have_text("Bản nháp")
    expect(page.locator("main")).to_contain_text(str(COMPLETE_REPORT["address"]))
