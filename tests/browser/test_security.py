"""The portal's defences as a browser meets them: a form posted without its CSRF token, a clerk typing another
unit's dossier address, the sign-in lock-out, and the session cookie's flags as the browser keeps them.

Each test uses units no other browser test touches, so they can share one ``thidua run``.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from services.portal.app import ERROR_MESSAGES, REFUSALS
from services.portal.demo import DEMO_PASSWORD
from shared.settings import Settings
from tests.browser.conftest import Site, shoot, sign_in
from tests.integration.harness import COMPLETE_REPORT

CAMPAIGN = "chau-thanh-2021"


def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(page: Page, site: Site) -> None:
    sign_in(page, "vanthu.an-nhon")
    page.goto("/dossiers/new?kind=collective")
    page.get_by_label("Địa điểm trụ sở chính", exact=True).fill("Ấp An Thạnh, xã An Nhơn")
    removed = page.evaluate(
        "() => { const found = document.querySelectorAll('main form input[name=csrf_token]');"
        " found.forEach(e => e.remove()); return found.length; }"
    )
    assert removed == 1
    with page.expect_response(lambda answer: answer.request.method == "POST") as posted:
        page.get_by_role("button", name="Lưu bản nháp").click()

    assert posted.value.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text(REFUSALS["csrf"])
    shoot(page, "security-01-csrf-refused")
    clerk = site.token("unit_clerk", "an-nhon", "Văn thư An Nhơn")
    assert site.api("GET", f"/intake/dossiers?campaign={CAMPAIGN}", clerk) == (200, [])  # no draft was made
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()  # and the person is still signed in


def test_a_clerk_who_types_another_units_dossier_address_gets_the_not_found_page(page: Page, site: Site) -> None:
    owner = site.token("unit_clerk", "phu-huu", "Văn thư Phú Hựu")
    report = {**COMPLETE_REPORT, "address": "Ấp Phú Hòa, xã Phú Hựu", "phone": "0277 3999 111"}
    status, created = site.api(
        "POST", "/intake/dossiers", owner, {"campaign": CAMPAIGN, "kind": "collective", "report": report}
    )
    assert status == 201, created
    sign_in(page, "vanthu.tan-binh")

    for path in (f"/dossiers/{created['id']}", f"/dossiers/{created['id']}/edit"):
        answer = page.goto(path)
        assert answer is not None and answer.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text(ERROR_MESSAGES[404])
        shown = page.content()
        for secret in ("Phú Hựu", "0277 3999 111", "Phú Hòa"):
            assert secret not in shown, (path, secret)
    shoot(page, "security-02-other-unit")


def test_repeated_failures_lock_the_account_and_the_right_password_is_refused_while_locked(page: Page) -> None:
    configured = Settings.from_env({})  # thidua run here has the defaults
    page.goto("/sign-in")
    for attempt in range(1, configured.signin_attempts + 1):
        page.get_by_label("Tên đăng nhập").fill("vanthu.cai-tau-ha")
        page.get_by_label("Mật khẩu").fill(f"wrong {attempt}")
        page.get_by_role("button", name="Đăng nhập").click()
        if attempt < configured.signin_attempts:
            expect(page.get_by_role("alert")).to_have_text("Tên đăng nhập hoặc mật khẩu không đúng.")

    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Tài khoản tạm khóa do đăng nhập sai nhiều lần")
    minutes = re.search(r"thử lại sau (\d+) phút", alert.inner_text())
    assert minutes and 1 <= int(minutes.group(1)) <= configured.signin_lock_minutes
    expect(page.get_by_role("button", name="Đăng xuất")).to_have_count(0)
    assert not [c for c in page.context.cookies() if c["name"] == "thidua_session"]
    shoot(page, "security-03-locked")


def test_the_session_cookie_is_http_only_and_same_site_lax_in_the_browser(page: Page) -> None:
    sign_in(page, "vanthu.an-phu-thuan")

    [session] = [c for c in page.context.cookies() if c["name"] == "thidua_session"]
    assert (session["httpOnly"], session["sameSite"], session["path"]) == (True, "Lax", "/")
    assert session["secure"] is False  # plain http here; over https (behind the proxy) it is Secure
    assert "thidua_session" not in page.evaluate("document.cookie")  # no script of the page can read it
