"""The portal's Flask app: server-rendered pages in Vietnamese, a little plain JavaScript, no front-end build.

Each role's pages are a blueprint of their own in ``views/``; ``NAVIGATION`` lists what the header offers to
whom. The app is mounted at ``/`` of the process (embedded) or served on its own (production, behind the proxy
that routes ``/`` to it); either way it calls the services through a :class:`Transport`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, g, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from services.portal import formats
from services.portal.access import (
    account,
    check_csrf,
    finish_response,
    load_session,
    portal,
    refuse_unstorable_text,
)
from services.portal.client import ApiProblem, Transport
from services.portal.runtime import PortalRuntime
from services.portal.states import event_name
from services.portal.views import audit, awards, clerk, common, council, review
from shared.auth import ROLES

ROLE_NAMES = {
    "unit_clerk": "Văn thư đơn vị",
    "reviewer": "Chuyên viên Phòng Văn hóa và Thông tin",
    "review_head": "Lãnh đạo Phòng Văn hóa và Thông tin",
    "home_affairs": "Phòng Nội vụ",
    "council_member": "Thành viên Hội đồng",
    "council_secretary": "Thư ký Hội đồng",
    "council_chair": "Chủ tịch Hội đồng",
    "auditor": "Kiểm tra, giám sát",
    "admin": "Quản trị",
}


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    roles: tuple[str, ...]


NAVIGATION: list[NavItem] = [
    NavItem("Tổng quan", "common.dashboard", ROLES),
    NavItem("Hồ sơ của đơn vị", "clerk.dossiers", ("unit_clerk",)),
    NavItem("Hàng đợi thẩm định", "review.queue", review.REVIEWERS),
    NavItem("Số liệu chính thức", "review.figures", review.REVIEWERS),
    NavItem("Xếp hạng", "review.ranking", review.STAFF),
    NavItem("Phụ lục 2", "review.summary", review.STAFF),
    NavItem("Đề nghị khen thưởng", "review.proposal", (*review.REVIEWERS, "home_affairs")),
    NavItem("Tờ trình", "awards.proposals", awards.READERS),
    NavItem("Phiên họp Hội đồng", "council.sessions", (*council.COUNCIL, "home_affairs")),
    NavItem("Quyết định", "council.decision", ("council_chair",)),
    NavItem("Kết quả khen thưởng", "awards.prizes", ROLES),
    NavItem("Nhật ký", "audit.search", audit.AUDITORS),
    NavItem("Kiểm tra chuỗi", "audit.verify", audit.AUDITORS),
]

ERROR_MESSAGES = {
    400: "Yêu cầu không hợp lệ.",
    401: "Vui lòng đăng nhập.",
    403: "Vai trò của bạn không được phép mở trang này.",
    404: "Không tìm thấy trang hoặc hồ sơ được yêu cầu.",
    405: "Trang này không hỗ trợ thao tác vừa thực hiện.",
    413: "Tệp gửi lên quá lớn.",
}
NOTICES = {
    "signed_out": "Bạn đã đăng xuất.",
    "created": "Đã lập hồ sơ (bản nháp).",
    "saved": "Đã lưu các thay đổi.",
    "uploaded": "Đã tải tài liệu lên.",
    "submitted": "Đã nộp hồ sơ tới Phòng Văn hóa và Thông tin.",
    "withdrawn": "Đã rút hồ sơ.",
    "step_approved": "Đã ghi nhận: thông qua bước.",
    "step_rejected": "Đã ghi nhận: không thông qua bước.",
    "returned": "Đã trả lại hồ sơ cho đơn vị.",
    "figures_imported": "Đã nhập số liệu chính thức.",
    "proposal_sent": "Đã ký và gửi đề nghị tới Phòng Nội vụ.",
    "appraised": "Đã ghi nhận kết quả thẩm định.",
    "session_opened": "Đã khai mạc phiên họp.",
    "voted": "Đã ghi nhận biểu quyết.",
    "session_closed": "Đã kết thúc phiên họp và kiểm phiếu.",
    "session_adjourned": "Đã hoãn phiên họp.",
    "decided": "Đã ban hành quyết định khen thưởng.",
    "amended": "Đã ban hành quyết định sửa đổi, bổ sung.",
}
REFUSALS = {  # why a request was refused before any page read it, by the description it was aborted with
    "csrf": "Biểu mẫu đã hết hạn hoặc không hợp lệ; vui lòng tải lại trang rồi thử lại.",
    "unstorable": "Nội dung gửi lên có ký tự không hợp lệ (ký tự NUL); hãy nhập lại.",
}


def create_portal_app(portal: PortalRuntime, transport: Transport, *, behind_proxy: bool = False) -> Flask:
    app = Flask("thidua.portal", root_path=str(Path(__file__).parent), static_url_path="/static")
    app.config.update(MAX_CONTENT_LENGTH=portal.settings.max_upload_bytes + 1024 * 1024)
    app.extensions["thidua.portal"] = portal
    app.extensions["thidua.transport"] = transport
    if behind_proxy:  # the proxy says whether the browser came over https, so cookies are Secure then
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    app.jinja_env.globals.update(ROLE_NAMES=ROLE_NAMES)
    app.jinja_env.filters.update(
        date=formats.as_date,
        datetime=formats.as_datetime,
        money=formats.as_money,
        percent=formats.as_percent,
        days_left=formats.days_left_text,
        event_name=event_name,
    )
    app.before_request(refuse_unstorable_text)
    app.before_request(load_session)
    app.before_request(check_csrf)
    app.after_request(finish_response)
    app.context_processor(_page_context)
    app.register_blueprint(common.blueprint)
    app.register_blueprint(clerk.blueprint)
    for pages in (review, awards, council, audit):
        app.register_blueprint(pages.blueprint)
    app.register_error_handler(ApiProblem, _api_problem)
    app.register_error_handler(HTTPException, _http_error)
    return app


def _page_context() -> dict[str, Any]:
    person = account()
    nav = [item for item in NAVIGATION if person and set(item.roles) & set(person.roles)]
    units = {unit.code: unit.name for campaign in portal().campaigns.values() for unit in campaign.units}
    return {
        "person": person,
        "unit_name": units.get(person.unit, person.unit) if person and person.unit else None,
        "csrf_token": g.get("csrf_token", ""),
        "navigation": nav,
        "notice": NOTICES.get(request.args.get("notice", "")),
    }


def _http_error(error: HTTPException) -> tuple[str, int]:
    status = error.code or 500
    message = REFUSALS.get(error.description or "") or ERROR_MESSAGES.get(status, "Đã có lỗi xảy ra.")
    return render_template("error.html", status=status, message=message), status


def _api_problem(problem: ApiProblem) -> tuple[str, int]:
    """A refusal no page handled itself: 404 stays 404 (another unit's dossier is simply not there)."""
    status = problem.status if problem.status in ERROR_MESSAGES else 502 if problem.status >= 500 else 400
    message = ERROR_MESSAGES[404] if problem.status == 404 else problem.detail
    return render_template("error.html", status=status, message=message), status
