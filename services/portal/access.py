"""Who is signed in, what they may open, and the CSRF check every state-changing request passes.

The browser holds only a random session token in an HttpOnly, SameSite=Lax cookie (Secure over https); the
portal's database holds its hash, the account and the session's CSRF token, so signing out or disabling an
account ends the session at once. Every POST carries the CSRF token in a form field (``csrf_token``) or, from
JavaScript, in the ``X-CSRF-Token`` header. Before sign-in the token lives in a cookie of its own and is
compared with the form's copy (double submit), so the sign-in form itself cannot be forged either.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, current_app, g, redirect, request, url_for
from werkzeug.wrappers import Response

from services.portal.client import ApiClient, ApiRequest, Transport
from services.portal.domain import Account
from services.portal.handlers import live_session
from services.portal.runtime import PortalRuntime
from shared.auth import Principal
from shared.text import storable, unstorable_parameters

SESSION_COOKIE = "thidua_session"
CSRF_COOKIE = "thidua_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

F = TypeVar("F", bound=Callable[..., Any])


def portal() -> PortalRuntime:
    runtime: PortalRuntime = current_app.extensions["thidua.portal"]
    return runtime


def account() -> Account | None:
    return cast(Account | None, g.get("account"))


def principal_of(person: Account) -> Principal:
    return Principal(person.person_id, person.full_name, frozenset(person.roles), person.unit)


def api() -> ApiClient:
    """The services' routes, called as the signed-in person."""
    person = account()
    if person is None:
        abort(401)
    transport: Transport = current_app.extensions["thidua.transport"]
    return ApiClient(transport, portal().tokens, principal_of(person))


def relay(path: str, **query: Any) -> Response:
    """A file a service serves (a document, a CSV or XLSX export), passed to the browser as the person's download."""
    answer = api().call(ApiRequest("GET", path, query))
    headers = {k: v for k, v in answer.headers.items() if k.lower() in {"content-type", "content-disposition"}}
    return Response(answer.body, headers=headers)


def load_session() -> None:
    """Before each request: find the live session the cookie names, and the CSRF token this request must carry."""
    g.account = None
    g.session_token = request.cookies.get(SESSION_COOKIE)
    if g.session_token:
        with portal().transaction() as session:
            found = live_session(session, g.session_token, portal().clock.now())
        if found is not None:
            g.portal_session, g.account = found
            g.csrf_token = found[0].csrf_token
            return
    g.csrf_token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    g.new_csrf_cookie = CSRF_COOKIE not in request.cookies


def refuse_unstorable_text() -> None:
    """A NUL in the address or in a form field, which no database holds, is refused before a page reads it."""
    fields = [*request.args.items(multi=True), *request.form.items(multi=True)]
    if not storable(request.path) or unstorable_parameters(fields):
        abort(400, description="unstorable")


def check_csrf() -> None:
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    if not hmac.compare_digest(sent.encode(), str(g.csrf_token).encode()):
        abort(400, description="csrf")


def finish_response(response: Response) -> Response:
    """Cookies and headers every page gets: no caching of personal pages, no framing, no guessing of types."""
    if g.get("new_csrf_cookie"):
        response.set_cookie(
            CSRF_COOKIE, g.csrf_token, httponly=True, samesite="Lax", secure=request.is_secure, path="/"
        )
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    )
    return response


def set_session_cookie(response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="Lax", secure=request.is_secure, path="/"
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax", secure=request.is_secure)


def signed_in(view: F) -> F:
    """The page needs a signed-in person; anyone else is sent to sign in and brought back afterwards."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if account() is None:
            return redirect(url_for("common.sign_in", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return cast(F, guarded)


def requires_role(*roles: str) -> Callable[[F], F]:
    """The page is for these roles only; others get a 403 page (the APIs would refuse them anyway)."""

    def decorate(view: F) -> F:
        @signed_in
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            person = account()
            assert person is not None
            if not set(person.roles) & set(roles):
                abort(403)
            return view(*args, **kwargs)

        return cast(F, guarded)

    return decorate
