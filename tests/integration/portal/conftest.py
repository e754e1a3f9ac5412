"""The portal on the embedded stack, driven with Flask's test client as a browser drives it: pages, forms,
cookies and CSRF tokens. The services run behind it in the same process, reached through their HTTP routes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from services.bootstrap import System
from services.portal.demo import DEMO_PASSWORD, ensure_demo_accounts
from shared.auth import Principal
from shared.clock import FixedClock
from shared.settings import Settings
from tests.conftest import Stack

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class Visitor:
    """One browser: its own cookies, the CSRF token of the last page it read."""

    def __init__(self, client: FlaskClient):
        self.client = client
        self.csrf = ""

    def open(self, path: str, status: int = 200) -> str:
        response = self.client.get(path)
        assert response.status_code == status, f"{path}: {response.status_code}\n{response.get_data(as_text=True)}"
        text = response.get_data(as_text=True)
        if found := CSRF_FIELD.search(text):
            self.csrf = found.group(1)
        return text

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any) -> TestResponse:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        return self.client.post(path, data=form, **kwargs)

    def sign_in(self, username: str, password: str = DEMO_PASSWORD) -> TestResponse:
        self.open("/sign-in")
        response = self.post("/sign-in", {"username": username, "password": password})
        if response.status_code == 302:
            self.open("/")  # the signed-in session's own CSRF token, for the forms that follow
        return response


@dataclass
class Portal:
    system: System
    clock: FixedClock
    app: Flask

    def visitor(self) -> Visitor:
        return Visitor(self.app.test_client())

    def signed_in(self, username: str) -> Visitor:
        visitor = self.visitor()
        assert visitor.sign_in(username).status_code == 302
        return visitor

    def api_headers(self, role: str, unit: str | None, name: str, person: str | None = None) -> dict[str, str]:
        """A bearer token for driving a step through the API directly, as another person would."""
        principal = Principal(person or f"{role}-{unit}", name, frozenset({role}), unit)
        return {"Authorization": f"Bearer {self.system.tokens.issue(principal)}"}


@pytest.fixture
def portal(tmp_path: Path, clock: FixedClock, migrated_sqlite: Path) -> Iterator[Portal]:
    """The whole embedded system with the portal at ``/`` and the demo accounts, the clock on 01/12/2021."""
    stack = Stack("embedded", "memory://", f"sqlite:///{tmp_path}/{{service}}.db", f"test-{tmp_path.name}")
    settings = Settings.from_env(
        {},
        data_dir=tmp_path,
        database_url=stack.database_url,
        broker_url=stack.broker_url,
        bus_namespace=stack.namespace,
        outbox_poll_seconds=0.05,
        retry_backoff_seconds=0.02,
        signin_attempts=3,
        signin_lock_minutes=15,
    )
    system = System(settings, clock=clock, portal=True)
    system.upgrade_databases()
    assert system.portal is not None
    ensure_demo_accounts(system.portal, "chau-thanh-2021")
    system.declare_topology()
    system.start_consumers()
    system.start_relays()
    try:
        yield Portal(system, clock, system.wsgi())
    finally:
        system.stop()
