"""The portal's only way into the services: their HTTP routes, called as the signed-in person.

Each call carries a bearer token the portal issues for the person (their id, name, roles and unit), so every
service applies its own rules to them exactly as it would to anyone else: the portal can show no more than the
person may see and do no more than they may do. A :class:`Transport` carries the call: in ``thidua run`` it
hands the request to the process's own WSGI apps (no socket, but still the HTTP routes, headers and bodies);
in production it goes over HTTP to ``THIDUA_API_URL``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

from werkzeug.test import Client, stream_encode_multipart

from shared.auth import Principal, TokenAuthority

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


@dataclass(frozen=True)
class Upload:
    stream: IO[bytes]
    filename: str
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str  # from the root, e.g. /intake/dossiers
    query: Mapping[str, Any] = field(default_factory=dict)
    json: Any = None
    upload: Upload | None = None

    @property
    def target(self) -> str:
        query = {k: v for k, v in self.query.items() if v not in (None, "")}
        return self.path + (f"?{urlencode(query)}" if query else "")


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Transport(Protocol):
    def send(self, request: ApiRequest, headers: Mapping[str, str]) -> ApiResponse: ...


class WsgiTransport:
    """Calls the services mounted in this very process through their WSGI apps, as an HTTP client would."""

    def __init__(self, app: Callable[[], WSGIApplication]):
        self._app = app  # resolved per call: the process app is built after the portal that calls it

    def send(self, request: ApiRequest, headers: Mapping[str, str]) -> ApiResponse:
        client = Client(self._app())
        kwargs: dict[str, Any] = {"method": request.method, "headers": dict(headers)}
        if request.json is not None:
            kwargs["json"] = request.json
        if request.upload is not None:
            upload = request.upload
            kwargs["data"] = {"file": (upload.stream, upload.filename, upload.content_type)}
        response = client.open(request.target, **kwargs)
        return ApiResponse(response.status_code, dict(response.headers), response.get_data())


class HttpTransport:
    """Calls the services over HTTP at a base URL (the reverse proxy in front of them)."""

    def __init__(self, base_url: str, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def send(self, request: ApiRequest, headers: Mapping[str, str]) -> ApiResponse:
        sent_headers = dict(headers)
        data: Any = None
        if request.json is not None:
            data = json.dumps(request.json).encode()
            sent_headers["Content-Type"] = "application/json"
        elif request.upload is not None:
            upload = request.upload
            data, length, boundary = stream_encode_multipart(
                {"file": (upload.stream, upload.filename, upload.content_type)}, use_tempfile=True
            )
            sent_headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
            sent_headers["Content-Length"] = str(length)
        call = urllib.request.Request(
            self.base_url + request.target, data=data, headers=sent_headers, method=request.method
        )
        try:
            with urllib.request.urlopen(call, timeout=self.timeout) as answer:
                return ApiResponse(answer.status, dict(answer.headers), answer.read())
        except urllib.error.HTTPError as err:
            return ApiResponse(err.code, dict(err.headers), err.read())


class ApiProblem(Exception):
    """A service refused the call: its problem+json, with the field errors as path → Vietnamese messages."""

    def __init__(self, status: int, body: Any):
        body = body if isinstance(body, dict) else {}
        self.status = status
        self.code: str = body.get("code", "http_error")
        self.detail: str = body.get("detail") or "Hệ thống chưa thực hiện được yêu cầu; vui lòng thử lại."
        self.errors: dict[str, list[str]] = {
            path: [item.get("message", "") for item in items] for path, items in (body.get("errors") or {}).items()
        }
        self.body = body
        super().__init__(f"{status} {self.code}: {self.detail}")


class ApiRefusal(ApiProblem):
    """A refusal the person can act on — invalid input, a rule, a race, a role — shown on the page they acted
    from. A missing object (404) stays a plain :class:`ApiProblem`, which the portal answers with its not-found
    page, so no page shows a form around a dossier the person may not know exists."""


def problem_for(status: int, body: Any) -> ApiProblem:
    return ApiProblem(status, body) if status == 404 else ApiRefusal(status, body)


class ApiClient:
    """The services' routes for one person: JSON in and out, a problem raised as :class:`ApiProblem`."""

    def __init__(self, transport: Transport, tokens: TokenAuthority, principal: Principal):
        self.transport = transport
        self.tokens = tokens
        self.principal = principal

    def get(self, path: str, **query: Any) -> Any:
        return self.call(ApiRequest("GET", path, query)).json()

    def post(self, path: str, body: Any = None) -> Any:
        return self.call(ApiRequest("POST", path, json=body if body is not None else {})).json()

    def patch(self, path: str, body: Any) -> Any:
        return self.call(ApiRequest("PATCH", path, json=body)).json()

    def put_file(self, path: str, upload: Upload) -> Any:
        return self.call(ApiRequest("PUT", path, upload=upload)).json()

    def call(self, request: ApiRequest) -> ApiResponse:
        token = self.tokens.issue(self.principal)  # short work: a token per call, never kept anywhere
        response = self.transport.send(request, {"Authorization": f"Bearer {token}", "Accept": "application/json"})
        if response.status >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            raise problem_for(response.status, body)
        return response
