"""The simulator's HTTP client: the routes as the people's browsers call them, from many threads at once.

Each thread keeps its own keep-alive connection per service (``http.client`` connections are not thread-safe).
A connection idle for longer than a server keeps it (gunicorn closes after two seconds) is opened afresh rather
than reused, so a request is never sent into a socket the server already closed. Errors come back as
:class:`ApiError` with the problem's ``code``, which is what the scenario checks.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

T = TypeVar("T")

IDLE_SECONDS = 1.0  # reuse a connection only if it was used this recently
TIMEOUT_SECONDS = 120.0  # one request; a ranking of 10,000 units may take a while
PAGE_SIZE = 100  # the routes' largest page


class ApiError(Exception):
    """A route answered with an error; ``code`` is the problem's stable code."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        self.code = body.get("code") if isinstance(body, dict) else None
        detail = body.get("detail") if isinstance(body, dict) else str(body)[:300]
        super().__init__(f"{method} {path}: {status} {self.code or ''} {detail}")


class NeverArrived(Exception):
    """What the simulator waited for did not happen in time; the message names it."""


class Client:
    """One client for every service of a system; ``urls`` maps each service to the base URL that serves it."""

    def __init__(self, urls: Mapping[str, str]) -> None:
        self._bases = {service: urlsplit(url.rstrip("/")) for service, url in urls.items()}
        self._local = threading.local()

    def call(
        self,
        method: str,
        path: str,
        token: str,
        *,
        json_body: Any = None,
        files: Mapping[str, tuple[str, bytes]] | None = None,
        query: Mapping[str, Any] | None = None,
    ) -> tuple[Any, Mapping[str, str]]:
        """Send one request to ``/<service>/…``; return the decoded answer and its headers, or raise ApiError."""
        service = path.strip("/").split("/", 1)[0]
        base = self._bases[service]
        target = f"{base.path}{path}" + (f"?{urlencode(query)}" if query else "")
        headers = {"Authorization": f"Bearer {token}"}
        body: bytes | None = None
        if json_body is not None:
            body, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
        elif files is not None:
            body, headers["Content-Type"] = _multipart(files)
        response, data = self._send(base.netloc, base.scheme, method, target, body, headers)
        decoded = json.loads(data) if data and "json" in (response.getheader("Content-Type") or "") else data
        if response.status >= 400:
            raise ApiError(method, path, response.status, decoded)
        return decoded, {k.lower(): v for k, v in response.getheaders()}

    def pages(self, path: str, token: str, **query: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, one page in memory at a time."""
        page = 1
        while True:
            items, headers = self.call("GET", path, token, query={**query, "page": page, "page_size": PAGE_SIZE})
            yield from items
            pagination = json.loads(headers.get("x-pagination") or "{}")
            if page >= int(pagination.get("total_pages") or 1):
                return
            page += 1

    def total(self, path: str, token: str, **query: Any) -> int:
        """How many items a paginated list has, read from one small page."""
        _, headers = self.call("GET", path, token, query={**query, "page": 1, "page_size": 1})
        return int(json.loads(headers.get("x-pagination") or "{}").get("total") or 0)

    def _send(
        self, netloc: str, scheme: str, method: str, target: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[http.client.HTTPResponse, bytes]:
        connections: dict[str, tuple[http.client.HTTPConnection, float]] = self._local.__dict__.setdefault("c", {})
        connection, last_used = connections.get(netloc, (None, 0.0))
        if connection is None or time.monotonic() - last_used > IDLE_SECONDS:
            if connection is not None:
                connection.close()
            kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
            connection = kind(netloc, timeout=TIMEOUT_SECONDS)
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except Exception:
            connection.close()
            connections.pop(netloc, None)
            raise
        connections[netloc] = (connection, time.monotonic())
        return response, data


def wait_for(
    probe: Callable[[], T | None], what: str, *, timeout: float, interval: float = 0.05, longest: float = 1.0
) -> T:
    """Poll ``probe`` until it returns something other than None or False; name ``what`` when it never does.

    The pause doubles from ``interval`` up to ``longest``: what comes at once is seen at once, and a long wait (a
    large campaign's events still on their way) costs the system a probe a second, not five.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise NeverArrived(f"{what}: nothing after {timeout:.0f} s")
        time.sleep(interval)
        interval = min(interval * 2, longest)


def _multipart(files: Mapping[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for field, (filename, data) in files.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        parts.append(head.encode() + b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
