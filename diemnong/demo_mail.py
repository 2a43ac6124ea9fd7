"""A local SMTP catcher for `diemnong demo`: every alert email becomes an .eml file on disk.

The demo has no mail server to send to, and a user trying it wants to open the emails the
alert worker sends. The catcher listens on 127.0.0.1 only, on a port picked by binding port 0
first (aiosmtpd's ``Controller(port=0)`` cannot report the port it got), and writes each
message unchanged into ``<data_dir>/mail/`` so any mail client or editor opens it.
"""

from __future__ import annotations

import itertools
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class _Handler:
    def __init__(self, catcher: MailCatcher) -> None:
        self.catcher = catcher

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.catcher.save(bytes(envelope.content))
        return "250 OK"


class MailCatcher:
    """Accepts every message for any recipient and keeps it as ``<time>-<n>.eml``."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.folder = folder
        self.host = host
        self.port = port or free_port(host)
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> MailCatcher:
        self.folder.mkdir(parents=True, exist_ok=True)
        controller = Controller(_Handler(self), hostname=self.host, port=self.port)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailCatcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def save(self, content: bytes) -> Path:
        """Write one message; the name sorts by arrival and never overwrites an earlier one."""
        with self._lock:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            while True:
                path = self.folder / f"{stamp}-{next(self._numbers):04d}.eml"
                if not path.exists():
                    break
            path.write_bytes(content if content.endswith(b"\n") else content + b"\n")
        return path

    def messages(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml"))
