"""Signing in and out, the lock-out, disabled accounts, CSRF and the session cookie's flags."""

from __future__ import annotations

from datetime import timedelta

from services.portal.handlers import disable_account
from tests.integration.portal.conftest import Portal


def test_a_clerk_signs_in_sees_who_they_are_and_signs_out(portal: Portal) -> None:
    visitor = portal.visitor()
    assert visitor.client.get("/").headers["Location"].startswith("/sign-in?next=/")

    response = visitor.sign_in("vanthu.hoa-tan")

    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "thidua_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = visitor.open("/")
    assert "Văn thư Hòa Tân" in page and "Văn thư đơn vị" in page and "06/12/2021" in page and "còn 5 ngày" in page

    signed_out = visitor.post("/sign-out")
    assert signed_out.status_code == 302
    assert visitor.client.get("/").status_code == 302  # the session is gone on the server, not only the cookie


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(portal: Portal) -> None:
    visitor = portal.visitor()
    wrong_password = visitor.sign_in("vanthu.hoa-tan", "not the password")
    unknown_name = visitor.sign_in("vanthu.nowhere", "not the password")

    for response in (wrong_password, unknown_name):
        assert response.status_code == 401
        assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.get_data(as_text=True)
        assert "thidua_session" not in response.headers.get("Set-Cookie", "")


def test_repeated_failures_lock_the_account_even_for_the_right_password_until_the_time_is_up(portal: Portal) -> None:
    visitor = portal.visitor()
    for _ in range(3):  # THIDUA_SIGNIN_ATTEMPTS=3 in this portal
        visitor.sign_in("vanthu.an-khanh", "wrong password")

    locked = visitor.sign_in("vanthu.an-khanh")
    assert locked.status_code == 401
    assert "tạm khóa" in locked.get_data(as_text=True) and "15 phút" in locked.get_data(as_text=True)
    assert portal.visitor().sign_in("vanthu.hoa-tan").status_code == 302  # only that account is locked

    portal.clock.advance(timedelta(minutes=15))
    assert visitor.sign_in("vanthu.an-khanh").status_code == 302


def test_a_disabled_account_cannot_sign_in_and_its_open_session_ends(portal: Portal) -> None:
    visitor = portal.signed_in("vanthu.phu-long")
    assert portal.system.portal is not None
    with portal.system.portal.transaction() as session:
        disable_account(session, "vanthu.phu-long")

    assert visitor.client.get("/").status_code == 302
    refused = portal.visitor().sign_in("vanthu.phu-long")
    assert refused.status_code == 401 and "vô hiệu hóa" in refused.get_data(as_text=True)


def test_every_post_without_the_csrf_token_is_refused_and_changes_nothing(portal: Portal) -> None:
    visitor = portal.visitor()
    visitor.open("/sign-in")
    no_token = visitor.post("/sign-in", {"username": "vanthu.hoa-tan", "password": "thidua-2021"}, csrf=False)
    assert no_token.status_code == 400 and "Biểu mẫu đã hết hạn" in no_token.get_data(as_text=True)
    assert "thidua_session" not in no_token.headers.get("Set-Cookie", "")

    signed_in = portal.signed_in("vanthu.hoa-tan")
    forged = signed_in.post("/sign-out", {"csrf_token": "forged"})
    assert forged.status_code == 400
    assert signed_in.client.get("/").status_code == 200  # still signed in: the forged sign-out did nothing


def test_after_sign_in_the_person_returns_to_the_page_they_asked_for_and_never_to_another_site(portal: Portal) -> None:
    visitor = portal.visitor()
    visitor.open("/sign-in?next=/dossiers/")
    back = visitor.post("/sign-in", {"username": "vanthu.hoa-tan", "password": "thidua-2021", "next": "/dossiers/"})
    assert back.headers["Location"] == "/dossiers/"

    other = portal.visitor()
    other.open("/sign-in")
    response = other.post(
        "/sign-in", {"username": "vanthu.hoa-tan", "password": "thidua-2021", "next": "//evil.example/"}
    )
    assert response.headers["Location"] == "/"


def test_a_nul_in_a_form_field_or_the_address_is_refused_before_any_page_reads_it(portal: Portal) -> None:
    # PostgreSQL refuses the NUL character in text: looking the name up would fail as a 500 there.
    visitor = portal.visitor()
    visitor.open("/sign-in")

    refused = visitor.post("/sign-in", {"username": "vanthu.hoa-tan\x00", "password": "x"})
    in_address = visitor.client.get("/sign-in?next=/dossiers/%00")

    for response in (refused, in_address):
        assert response.status_code == 400
        assert "ký tự không hợp lệ (ký tự NUL)" in response.get_data(as_text=True)
    assert visitor.sign_in("vanthu.hoa-tan").status_code == 302
