"""What people do on the portal's pages, as steps the browser tests share: a clerk's dossier form and uploads,
and waiting for another person's step to show on a page."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from tests.integration.harness import COMPLETE_REPORT
from tests.waiting import wait_until

LABELS = {
    "report.address": "Địa điểm trụ sở chính",
    "report.phone": "Điện thoại",
    "report.structure": "Cơ cấu tổ chức",
    "report.staff_count": "Tổng số cán bộ, công chức và viên chức",
    "report.functions": "Chức năng, nhiệm vụ được giao",
    "report.achievements": "Thành tích đạt được",
    "report.measures": "Các biện pháp, giải pháp đạt được thành tích",
}
COUNT_LABELS = {
    "online_case_files": "Số hồ sơ TTHC xử lý trực tuyến mức 4",
    "total_case_files": "Tổng số hồ sơ TTHC",
    "online_procedures": "Số TTHC mức 4 có phát sinh hồ sơ trực tuyến",
    "total_procedures": "Tổng số TTHC mức 4",
}
DOCUMENTS = ("Tờ trình", "Biên bản họp xét khen thưởng", "Báo cáo thành tích", "Danh sách tóm tắt thành tích nổi bật")


def fill_report(page: Page) -> None:
    """The Phụ lục 1 fields of a collective dossier."""
    for path, label in LABELS.items():
        page.get_by_label(label, exact=True).fill(str(COMPLETE_REPORT[path.split(".")[1]]))


def type_counts(page: Page, counts: dict[str, int]) -> None:
    """The self-scored counts, typed key by key so the live rates follow."""
    for code, value in counts.items():
        page.get_by_label(COUNT_LABELS[code], exact=True).press_sequentially(str(value))


def upload_documents(page: Page, scan: Path) -> None:
    """Each of the four documents, from the dossier page; each upload opens the page again once it is kept."""
    for name in DOCUMENTS:
        card = page.locator(".documents li", has=page.get_by_role("heading", name=name, exact=True))
        card.locator("input[type=file]").set_input_files(scan)
        card.get_by_role("button", name="Tải lên").click()
        card.get_by_text(scan.name).wait_for()


def reload_until(page: Page, text: str, what: str) -> None:
    """Another person's step reaches this page through the bus: look again until it shows (bounded)."""

    def shown() -> bool:
        page.reload()
        return text in page.locator("main").inner_text()

    wait_until(shown, timeout=20, interval=0.5, what=what)
