"""`diemnong demo` end to end: its own engine, data folder and ports, stories published every
3 s; within the deadline the health API counts articles, a register case has coverage and
alert emails (one of them an emerging-crisis alert) are in the mail folder; Ctrl-C stops it
all, the JVM included.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

DEADLINE_S = 300.0
CRISIS_WORDS = ("khủng hoảng", "báo trung ương")
VIETNAMESE = frozenset("ăâđêôơưáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _using(folder: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if any(str(folder) in part for part in proc.info["cmdline"] or []):
            found.append(proc)
    return found


class Demo:
    def __init__(self, tmp_path: Path) -> None:
        self.data = tmp_path / "data"
        self.port = _free_port()
        self.web = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DIEMNONG_")}
        self.env.update(
            DIEMNONG_DATA_DIR=str(self.data),
            DIEMNONG_API__PORT=str(self.port),
            DIEMNONG_API__PUBLIC_URL=self.web,
            DIEMNONG_ENGINE__HEAP_MB="768",
        )
        self.log = tmp_path / "demo.log"
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "diemnong", "demo", "--publish-every", "3"],
            cwd=REPO,
            env=self.env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.token: str | None = None

    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 1)

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    def health_articles(self) -> int:
        response = httpx.get(f"{self.web}/api/health", timeout=10)
        return int(response.json().get("indices", {}).get("articles") or 0)

    def cases_with_coverage(self) -> list[str]:
        if self.token is None:
            made = subprocess.run(
                [sys.executable, "-m", "diemnong", "users", "token", "admin"],
                cwd=REPO,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            if made.returncode != 0:
                return []
            self.token = made.stdout.strip().splitlines()[-1]
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.web, headers=headers, timeout=20) as client:
            cases = client.get("/api/complaints", params={"open_only": "true"}).json()
            return [
                case["case_number"]
                for case in cases
                if client.get(f"/api/complaints/{case['case_number']}/coverage").json()
            ]

    def emails(self) -> list[EmailMessage]:
        found = []
        for path in sorted((self.data / "mail").glob("*.eml")):
            parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            found.append(parsed)
        return found


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = Demo(tmp_path)
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            running.proc.send_signal(signal.SIGINT)
            try:
                running.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                running.proc.kill()
        for leftover in _using(running.data):
            leftover.kill()


def _is_vietnamese(text: str) -> bool:
    return not VIETNAMESE.isdisjoint(text.lower())


def _is_case_crisis(message: EmailMessage) -> bool:
    """An emerging-crisis alert about a register case (not only about a place)."""
    subject = str(message["Subject"]).lower()
    return "vụ việc" in subject and any(word in subject for word in CRISIS_WORDS)


def test_demo_shows_coverage_links_and_a_crisis_email_then_stops_cleanly(demo: Demo) -> None:
    checks: dict[str, Callable[[], bool]] = {
        "articles in /api/health": lambda: demo.health_articles() > 0,
        "a case with coverage": lambda: bool(demo.cases_with_coverage()),
        "an alert email (.eml, Vietnamese subject)": lambda: any(
            _is_vietnamese(str(m["Subject"])) for m in demo.emails()
        ),
        "an emerging-crisis email on a case": lambda: any(
            _is_case_crisis(m) for m in demo.emails()
        ),
    }
    reached: dict[str, float] = {}
    deadline = time.monotonic() + DEADLINE_S
    while len(reached) < len(checks) and time.monotonic() < deadline:
        assert demo.proc.poll() is None, demo.output()[-3000:]
        for name, check in checks.items():
            if name in reached:
                continue
            try:
                if check():
                    reached[name] = demo.elapsed()
            except (httpx.HTTPError, json.JSONDecodeError, ValueError):
                pass
        time.sleep(2)
    print("\nmilestones (s after `diemnong demo` started):", reached)
    missing = [name for name in checks if name not in reached]
    assert not missing, f"not reached in {DEADLINE_S} s: {missing}\n{demo.output()[-3000:]}"

    children = psutil.Process(demo.proc.pid).children(recursive=True)
    assert len(children) >= 3
    demo.proc.send_signal(signal.SIGINT)
    assert demo.proc.wait(timeout=120) == 0, demo.output()[-3000:]
    print(f"stopped {demo.elapsed()} s after start")
    assert [c.pid for c in children if c.is_running() and c.status() != "zombie"] == []
    assert _using(demo.data) == []
