"""`diemnong extract` on a saved page and on a URL of the local press site, and what it refuses.

The CLI runs in a subprocess as an operator runs it. A second loopback server answers with a
redirect to the cloud metadata address: every hop must pass the SSRF check, not only the first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from crawlers.fixture_site import FixtureSite
from crawlers.fixture_site.vntext import VN_TZ

FIXED_NOW = datetime(2026, 11, 20, 9, 0, tzinfo=VN_TZ)


@pytest.fixture(scope="module")
def site() -> Iterator[FixtureSite]:
    fixture = FixtureSite(seed=3, n_articles_per_outlet=3, now=FIXED_NOW)
    fixture.start()
    yield fixture
    fixture.stop()


class _Inward(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def redirecting_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Inward)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/bai-viet.html"
    server.shutdown()
    server.server_close()


def _extract(*args: str, loopback: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIEMNONG_")}
    env["DIEMNONG_CRAWLER__ALLOW_LOOPBACK"] = "true" if loopback else "false"
    return subprocess.run(
        [sys.executable, "-m", "diemnong", "extract", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _a_story(site: FixtureSite) -> dict[str, str]:
    stories = httpx.get(f"{site.base_url}/_fixture/stories", timeout=10).json()
    return next(s for s in stories if not s["flags"] and s["outlet"] == stories[0]["outlet"])


def test_a_url_of_the_press_site_becomes_the_article_as_json(site: FixtureSite) -> None:
    story = _a_story(site)
    done = _extract(story["url"])
    assert done.returncode == 0, done.stderr
    article = json.loads(done.stdout)
    assert article["title"] == story["title"]
    assert article["body"] and article["canonical_url"].startswith(site.base_url)
    assert article["published_at"].endswith("+07:00")


def test_a_saved_page_gives_the_same_article(site: FixtureSite, tmp_path: Path) -> None:
    story = _a_story(site)
    saved = tmp_path / "page.html"
    saved.write_bytes(httpx.get(story["url"], timeout=10).content)
    from_url = json.loads(_extract(story["url"]).stdout)
    done = _extract(str(saved), "--url", story["url"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == from_url


def test_a_redirect_to_an_internal_address_is_refused(redirecting_server: str) -> None:
    done = _extract(redirecting_server)
    assert done.returncode != 0
    assert "unsafe URL" in done.stderr and "169.254.169.254" in done.stderr
    assert done.stdout == ""


def test_loopback_is_refused_unless_allowed(site: FixtureSite) -> None:
    done = _extract(_a_story(site)["url"], loopback=False)
    assert done.returncode != 0 and "unsafe URL" in done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "not an HTML document"), (b"\x00\x01\xff\xfe binary", "not an HTML document")],
)
def test_a_file_that_is_no_page_gets_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    page = tmp_path / "page.html"
    page.write_bytes(content)
    done = _extract(str(page))
    assert done.returncode != 0
    assert done.stderr.strip() == f"error: {message}"


@pytest.mark.parametrize("name", ["absent.html", "", "."])
def test_a_path_that_is_no_file_gets_one_line(tmp_path: Path, name: str) -> None:
    path = str(tmp_path / name) if name == "absent.html" else name
    done = _extract(path)
    assert done.returncode != 0
    assert done.stderr.strip() == f"error: no such file: {path!r}"
