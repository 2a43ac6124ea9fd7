"""A real browser against the real app: Debian's Chromium driven by Playwright.

The app runs under uvicorn in a thread on a free loopback port, with the real engine; the
browser is /usr/bin/chromium (installed by scripts/test.sh from Debian's packages), launched
with `executable_path`, never a browser downloaded by Playwright. Screenshots of each page go
to test-artifacts/screenshots/.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from argon2 import PasswordHasher
from playwright.sync_api import Browser, Page, sync_playwright

from api.app import create_app
from api.auth.passwords import Passwords
from api.auth.users import UserStore
from complaints.privacy import Role
from indexer.adapter import Engine
from indexer.layout import IndexNames
from tests.conftest import REPO

SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "mat-khau-trinh-duyet-2026"


def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, (
        "Debian's chromium is missing: scripts/test.sh installs it (apt-get install chromium)"
    )
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_app(engine: Engine, settings, layout: IndexNames) -> Iterator[str]:
    port = _free_port()
    app = create_app(settings, engine=engine)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def accounts(engine: Engine, layout: IndexNames) -> dict[str, str]:
    """One user per role, all with PASSWORD (hashed cheaply: these are test accounts)."""
    store = UserStore(engine, layout.users, Passwords(PasswordHasher(time_cost=1, memory_cost=64)))
    names = {}
    for role in Role:
        name = f"trinh-duyet-{role.value.replace('_', '-')}"
        store.add(name, PASSWORD, role)
        names[role.value] = name
    return names


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_binary(), headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()
