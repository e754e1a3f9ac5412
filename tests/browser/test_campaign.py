"""The whole campaign in a real browser, each person in their own window: a clerk submits a dossier with its
documents; a reviewer imports the official figures and returns it; the clerk revises and resubmits; two
reviewers approve the steps; the ranking and Phụ lục 2 show the unit's numbers; the head signs the proposal;
Home Affairs passes it; the secretary opens the council's session, the members vote, the chair closes it and
decides; the clerk sees the prize; the auditor finds the dossier's whole timeline and the chain verifies.

The story runs on a ``thidua run`` of its own, so the clerk's test beside it cannot change its numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Site, running_site, shoot, sign_in, window
from tests.browser.pages import fill_report, reload_until, type_counts, upload_documents
from tests.integration.harness import COMPLETE_COUNTS, PDF

VOTERS = ("chu-tich-ubnd", "pho-chu-tich-ubnd", "truong-phong-vhtt")
PRESENT = ("Chủ tịch UBND Huyện", "Phó Chủ tịch UBND Huyện", "Trưởng phòng Nội vụ", "Trưởng phòng Văn hóa và Thông tin")


@pytest.fixture(scope="module")
def story_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_site(tmp_path_factory) as started:
        yield started


class People:
    """One window per person, signed in with the keyboard; all closed at the end."""

    def __init__(self, browser: Browser, site: Site):
        self.browser, self.site, self.windows = browser, site, {}  # type: ignore[var-annotated]

    def __call__(self, username: str) -> Page:
        if username not in self.windows:
            page = window(self.browser, self.site)
            sign_in(page, username)
            shoot(page, f"campaign-00-dashboard-{username}")  # each role's dashboard, checked as every page is
            self.windows[username] = page
        return self.windows[username]

    def close(self) -> None:
        for page in self.windows.values():
            page.context.close()


@pytest.fixture
def people(browser: Browser, story_site: Site) -> Iterator[People]:
    found = People(browser, story_site)
    yield found
    found.close()


def test_a_dossier_goes_from_the_clerk_to_the_prize_and_the_auditor_finds_every_step(
    people: People, tmp_path: Path
) -> None:
    scan = tmp_path / "ho-so.pdf"
    scan.write_bytes(PDF)
    figures = tmp_path / "mot-cua.csv"
    figures.write_text(
        "unit,online_case_files,total_case_files,online_procedures,total_procedures\nhoa-tan,720,1000,30,50\n"
    )

    clerk = people("vanthu.hoa-tan")
    clerk.get_by_role("link", name="Hồ sơ của đơn vị").click()
    clerk.get_by_role("link", name="Lập hồ sơ tập thể").click()
    fill_report(clerk)
    type_counts(clerk, COMPLETE_COUNTS)
    clerk.get_by_role("button", name="Lưu bản nháp").click()
    dossier_id = re.search(r"/dossiers/([\w-]+)", clerk.url).group(1)  # type: ignore[union-attr]
    upload_documents(clerk, scan)
    clerk.get_by_role("button", name="Nộp hồ sơ").click()
    expect(clerk.locator("#dossier-state")).to_have_text("Đã nộp")

    reviewer = people("chuyenvien1.vhtt")
    reviewer.get_by_role("link", name="Số liệu chính thức").click()
    reviewer.get_by_label("Tệp xuất từ hệ thống một cửa (CSV hoặc XLSX)").set_input_files(figures)
    reviewer.get_by_role("button", name="Nhập số liệu").click()
    expect(reviewer.locator("#figures-in-force")).to_contain_text("Hòa Tân")
    shoot(reviewer, "campaign-01-figures")
    reviewer.get_by_role("link", name="Hàng đợi thẩm định").click()
    reload_until(reviewer, "Hòa Tân", "the nomination in the queue")
    shoot(reviewer, "campaign-02-queue")
    reviewer.get_by_role("link", name="Hòa Tân").click()
    expect(reviewer.locator("#figures")).to_contain_text("Khớp")
    reviewer.get_by_label("Mục cần sửa 1").select_option("report.phone")
    reviewer.get_by_label("Nội dung cần sửa 1").fill("Số điện thoại không liên lạc được.")
    shoot(reviewer, "campaign-03-nomination")
    reviewer.get_by_role("button", name="Trả lại đơn vị").click()
    expect(reviewer.locator("#nomination-state")).to_have_text("Đã trả lại đơn vị")

    reload_until(clerk, "Số điện thoại không liên lạc được.", "the return on the clerk's page")
    clerk.get_by_role("link", name="Sửa nội dung").click()
    shoot(clerk, "campaign-03-revision")
    clerk.get_by_label("Điện thoại", exact=True).fill("0277 3840 999")
    clerk.get_by_role("button", name="Lưu thay đổi").click()
    clerk.get_by_role("button", name="Nộp lại hồ sơ").click()
    expect(clerk.locator("#dossier-state")).to_have_text("Đã nộp")

    reload_until(reviewer, "Kiểm tra tính đầy đủ", "the resubmission")
    reload_until(reviewer, "Lần thẩm định thứ 2", "the second round")
    for note in ("Đủ bốn tài liệu", "Khớp số liệu một cửa"):
        reviewer.get_by_label("Ghi chú (bắt buộc)").fill(note)
        reviewer.get_by_role("button", name="Ghi nhận").click()
        expect(reviewer.locator(".notice")).to_have_text("Đã ghi nhận: thông qua bước.")
    appraiser = people("chuyenvien2.vhtt")
    appraiser.goto(f"/nominations/{dossier_id}")
    appraiser.get_by_label("Ghi chú (bắt buộc)").fill("Thẩm định đạt")
    appraiser.get_by_role("button", name="Ghi nhận").click()
    expect(appraiser.locator("#nomination-state")).to_have_text("Đã thẩm định đạt")
    shoot(appraiser, "campaign-04-appraised")

    appraiser.get_by_role("link", name="Xếp hạng").click()
    ranking = appraiser.locator("#ranking-commune tr", has_text="Hòa Tân")
    expect(ranking).to_contain_text("72,00 %")
    expect(ranking).to_contain_text("60,00 %")
    expect(ranking).to_contain_text("Giải nhất")
    expect(appraiser.locator("#chart-commune rect")).to_have_count(2)
    shoot(appraiser, "campaign-05-ranking")
    appraiser.get_by_role("link", name="Phụ lục 2").click()
    row = appraiser.locator("#summary-hoa-tan")
    expect(row).to_contain_text("720")
    expect(row).to_contain_text("72,00 %")
    csv = appraiser.request.get("/summary?format=csv")
    assert csv.ok and "720" in csv.text()
    shoot(appraiser, "campaign-06-summary")

    head = people("truongphong.vhtt")
    head.get_by_role("link", name="Đề nghị khen thưởng").click()
    head.get_by_label("Ý kiến của Lãnh đạo Phòng (không bắt buộc)").fill("Kính trình Phòng Nội vụ")
    head.get_by_role("button", name="Ký và gửi đề nghị").click()
    expect(head.locator("#sent-title")).to_have_text("Đã ký và gửi (lần 1)")
    shoot(head, "campaign-07-proposal")

    home = people("noivu")
    home.get_by_role("link", name="Tờ trình").click()
    reload_until(home, "Đề nghị của Phòng Văn hóa và Thông tin", "the proposal at Home Affairs")
    shoot(home, "campaign-08-proposals")
    home.get_by_role("link", name="Đề nghị của Phòng Văn hóa và Thông tin, lần 1").click()
    shoot(home, "campaign-08-appraisal")
    home.get_by_role("button", name="Ghi nhận kết quả thẩm định").click()
    expect(home.locator("#proposal-state")).to_have_text("Đã trình hội đồng")

    secretary = people("truong-phong-noi-vu")
    secretary.get_by_role("link", name="Phiên họp Hội đồng").click()
    for name in PRESENT:
        secretary.get_by_label(name, exact=False).first.check()
    secretary.get_by_label("Chánh Văn phòng HĐND và UBND Huyện", exact=False).check()
    shoot(secretary, "campaign-09-sessions")
    secretary.get_by_role("button", name="Khai mạc phiên họp").click()
    expect(secretary.locator("#quorum")).to_contain_text("Đủ")
    session_url = secretary.url.split("?")[0]
    for seat in VOTERS:
        member = people(seat)
        member.goto(session_url)
        member.get_by_role("button", name="Tán thành: Hòa Tân", exact=True).click()
        expect(member.locator("#vote-" + dossier_id + " [data-mine]")).to_have_text("Tán thành")
    shoot(people(VOTERS[0]), "campaign-09-session")
    expect(secretary.locator(f"#tally-{dossier_id} [data-yes]")).to_have_text("3", timeout=20_000)  # polled

    chair = people("chu-tich-ubnd")
    chair.goto(session_url)
    chair.get_by_role("button", name="Kết thúc và kiểm phiếu").click()
    expect(chair.locator("#session-state")).to_have_text("Đã kết thúc")
    chair.get_by_role("link", name="Quyết định").click()
    chair.get_by_label("Số quyết định").fill("1234/QĐ-UBND")
    chair.get_by_label("Ngày ký").fill("20/12/2021")
    shoot(chair, "campaign-10-decision")
    chair.get_by_role("button", name="Ban hành quyết định").click()
    expect(chair.locator("#awards-total")).to_have_text("2.500.000 đồng")
    shoot(chair, "campaign-11-awards")
    chair.get_by_role("link", name="Quyết định").click()
    expect(chair.get_by_label("Sửa đổi: Hòa Tân")).to_have_value("")  # an amending decision, should one be needed
    shoot(chair, "campaign-11-amendment")

    reload_until(clerk, "Giải nhất", "the prize on the clerk's page")
    expect(clerk.locator("#outcome-amount")).to_have_text("2.500.000 đồng")
    expect(clerk.locator("#dossier-state")).to_have_text("Được khen thưởng")
    shoot(clerk, "campaign-12-clerk-prize")

    auditor = people("kiemtra")
    auditor.get_by_role("link", name="Nhật ký").click()
    auditor.get_by_label("Mã hồ sơ", exact=True).fill(dossier_id)
    auditor.get_by_role("button", name="Tra cứu").click()
    expect(auditor.locator("#entries")).to_contain_text("nộp hồ sơ")
    shoot(auditor, "campaign-13-log")
    auditor.get_by_role("link", name="Dòng thời gian").first.click()
    timeline = auditor.locator("#timeline")
    for step in ("lập hồ sơ", "trả lại", "nộp lại hồ sơ", "Thẩm định", "khen thưởng (Giải nhất)"):
        expect(timeline).to_contain_text(step)
    shoot(auditor, "campaign-14-timeline")
    auditor.get_by_role("link", name="Kiểm tra chuỗi").click()
    expect(auditor.locator("#verdict")).to_contain_text("Chuỗi nhật ký nguyên vẹn")
    shoot(auditor, "campaign-15-verify")
