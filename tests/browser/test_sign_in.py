"""Signing in and out in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import screenshot, sign_in

pytestmark = [pytest.mark.engine, pytest.mark.browser]


def test_wrong_password_then_sign_in_and_out(page: Page, live_app: str, accounts) -> None:
    page.goto(f"{live_app}/health")
    assert "Hệ thống hoạt động bình thường" in page.content()
    screenshot(page, "00-health")

    sign_in(page, live_app, accounts["press_officer"], "sai-mat-khau-123")
    assert page.locator("[role=alert]").is_visible()
    screenshot(page, "01-login-failed")

    sign_in(page, live_app, accounts["press_officer"])
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = next(c for c in cookies.values() if c["httpOnly"])
    assert session["sameSite"] in ("Lax", "Strict")
    me = page.request.get(f"{live_app}/api/me")
    assert me.ok
    assert me.json()["username"] == accounts["press_officer"]
    screenshot(page, "02-signed-in")
