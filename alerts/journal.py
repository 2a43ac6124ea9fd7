"""The delivery journal: an append-only, fsync'ed record of messages the SMTP server accepted.

One JSON line per message, written right after the server accepted it and before the alert is
marked sent. After a crash an alert found ``sending`` is looked up here by Message-ID: present
means delivered (mark it sent, do not resend). A line cut short by a crash does not count: its
message is sent again (see `alerts.delivery` for the remaining window).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from diemnong.durable import fsync_folder


class DeliveryJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._ids: set[str] = set()
        if path.exists():
            data = path.read_bytes()
            complete = data[: data.rfind(b"\n") + 1]
            if len(complete) < len(data):
                # a line torn by a crash never completed: drop it, or the next append joins it
                with path.open("r+b") as handle:
                    handle.truncate(len(complete))
                    os.fsync(handle.fileno())
            for raw in complete.splitlines():
                try:
                    self._ids.add(json.loads(raw)["message_id"])
                except (ValueError, KeyError):
                    continue
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
            fsync_folder(path.parent)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def record(self, message_id: str, recipient: str, alert_ids: Sequence[str]) -> None:
        """Append one line and make it durable before returning."""
        line = json.dumps(
            {
                "message_id": message_id,
                "recipient": recipient,
                "alerts": list(alert_ids),
                "at": datetime.now(UTC).isoformat(),
            },
            ensure_ascii=False,
        )
        with self.path.open("ab") as handle:
            handle.write(line.encode("utf-8") + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        self._ids.add(message_id)
