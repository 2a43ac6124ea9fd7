"""The adapter's bulk write when the engine goes away: unavailable, never a crash."""

from __future__ import annotations

import socket

import pytest

from diemnong.settings import EngineSettings
from indexer.adapter import Engine, EngineUnavailable, _OpenSearchBackend


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_bulk_to_an_engine_that_is_gone_raises_unavailable() -> None:
    """The client reports a refused connection per item with status "N/A", not a number."""
    url = f"http://127.0.0.1:{_closed_port()}"
    backend = _OpenSearchBackend([url], EngineSettings(url=url, max_retries=0, timeout_s=2))
    engine = Engine(backend, "opensearch", (3, 0, 0), url, max_retries=0)
    actions = [
        {"_op_type": "create", "_index": "articles", "_id": str(n), "_source": {"n": n}}
        for n in range(3)
    ]
    try:
        with pytest.raises(EngineUnavailable):
            engine.bulk(actions, max_retries=0)
    finally:
        engine.close()
