"""A local SMTP sink (aiosmtpd) for the tests, the latency bench and trying the worker.

It listens on 127.0.0.1 only, on a port picked by binding port 0 first (aiosmtpd's own
``port=0`` cannot report the port it got), and keeps every message with the time it arrived.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Received:
    message: EmailMessage
    recipients: tuple[str, ...]
    at: float
    """``time.time()`` when the server accepted it."""


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.sink.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.sink.add(Received(parsed, tuple(envelope.rcpt_tos), time.time()))
        return "250 OK"


class SmtpSink:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Received] = []
        self.refuse: set[str] = set()
        """Addresses answered with a permanent 550 refusal."""
        self._changed = threading.Condition()
        self._controller: Any = None

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add(self, received: Received) -> None:
        with self._changed:
            self.received.append(received)
            self._changed.notify_all()

    def to(self, recipient: str) -> list[EmailMessage]:
        with self._changed:
            return [r.message for r in self.received if recipient in r.recipients]

    @property
    def messages(self) -> list[EmailMessage]:
        with self._changed:
            return [r.message for r in self.received]

    def wait_for(self, count: int, timeout_s: float = 30.0) -> list[EmailMessage]:
        """Wait until at least ``count`` messages arrived; raises TimeoutError otherwise."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(self.received)} of {count} messages after {timeout_s} s"
                    )
                self._changed.wait(left)
            return [r.message for r in self.received]
