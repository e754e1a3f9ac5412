"""The browser tier: headless Chromium (Debian's, driven by Playwright) against ``thidua run`` as a real process.

Screenshots of every page the tests visit are saved at a desktop and a phone width under ``tests/artifacts/``
(git-ignored), for people to look at; the tests never compare them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from services.portal.demo import DEMO_PASSWORD
from tests.waiting import wait_until

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; `make test-browser` installs it when missing
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # without these Chromium's own connections are refused on a closed network
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parents[1] / "artifacts" / "browser"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
THIDUA = Path(sys.executable).parent / "thidua"


@dataclass
class Site:
    url: str
    data_dir: Path

    def token(self, role: str, unit: str | None, name: str) -> str:
        args = [str(THIDUA), "token", "--data-dir", str(self.data_dir), "--role", role, "--name", name]
        args += ["--unit", unit] if unit else []
        return subprocess.run(args, check=True, capture_output=True, text=True, env=_environment()).stdout.strip()

    def api(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
        """Call a service's route directly, as another person's tool would."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_site(tmp_path_factory) as started:
        yield started


@contextmanager
def running_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """``thidua run`` as an operator starts it, its clock inside the 2021 submission window. A test whose story
    needs a campaign no other test touches starts one of its own."""
    data_dir = tmp_path_factory.mktemp("browser") / "data"
    port = _free_port()
    log = (data_dir.parent / "thidua-run.log").open("w")
    args = [str(THIDUA), "run", "--port", str(port), "--data-dir", str(data_dir), "--now", "2021-12-01T08:00"]
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=_environment())
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), timeout=90, what="thidua run")
        yield Site(f"http://127.0.0.1:{port}", data_dir)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test-browser` installs Debian's chromium", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    opened = window(browser, site)
    yield opened
    opened.context.close()


def window(browser: Browser, site: Site) -> Page:
    """A fresh browser window (its own cookies) at the desktop width, in Vietnamese; its caller closes its context."""
    context = browser.new_context(
        base_url=site.url, viewport={"width": WIDTHS["desktop"][0], "height": WIDTHS["desktop"][1]}, locale="vi-VN"
    )
    context.set_default_timeout(15_000)
    return context.new_page()


def shoot(page: Page, name: str) -> None:
    """Save the page as it looks at a desktop's width and at a phone's, then go back to the desktop width.

    Every page a test shows is also checked, not assumed, to work on a phone and with a screen reader: at the
    phone's width nothing but a wide table's own container scrolls sideways, and every control has a name."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
    assert fits_the_width(page), f"{name}: the page scrolls sideways at {WIDTHS['phone'][0]} px: {too_wide(page)}"
    width, height = WIDTHS["desktop"]
    page.set_viewport_size({"width": width, "height": height})
    every_control_is_named(page)


def fits_the_width(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def too_wide(page: Page) -> list[str]:
    """What sticks out past the window's right edge, outside any container that scrolls on its own, for the
    failure message."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll("body *")]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5 && !e.closest(".table-wrap"))
                .slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
                                      + (e.className ? "." + String(e.className).split(" ").join(".") : ""))"""
        )
    )


def every_control_is_named(page: Page) -> None:
    """Each visible field, choice and button has an accessible name (its label, legend or text), as a screen
    reader announces it."""
    controls = page.locator("input:not([type=hidden]), select, textarea, button").filter(visible=True)
    for control in controls.all():
        expect(control).to_have_accessible_name(re.compile(r"\S"), timeout=1_000)


def focus_is_visible(page: Page) -> bool:
    """The element the keyboard is on is drawn with an outline a person can see."""
    return bool(
        page.evaluate(
            """() => { const s = getComputedStyle(document.activeElement);
                       return s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2; }"""
        )
    )


def sign_in(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """With the keyboard only, as a person who does not reach for the mouse would; returns once the signed-in
    page is there (its sign-out control), so the next step never lands on the sign-in form still on screen."""
    page.goto("/")
    assert focus_is_visible(page), "the name field has the focus when the page opens, and shows it"
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    assert focus_is_visible(page)
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()
