"""Backup and restore through engine snapshots, on the real engine: what an operator runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.common import ArticleFactory
from indexer.adapter import Engine
from indexer.layout import IndexNames
from indexer.snapshots import SnapshotError, create_snapshot, list_snapshots, restore_snapshot
from indexer.writer import ArticleWriter

pytestmark = pytest.mark.engine


def test_snapshot_then_restore_after_loss_brings_everything_back(
    engine: Engine, layout: IndexNames
) -> None:
    articles = list(ArticleFactory(seed=31).articles(40))
    assert ArticleWriter(engine, layout).write(articles).created == 40
    engine.put(layout.complaints, "KN-2026-0001", {"case_number": "KN-2026-0001"}, refresh=True)
    engine.refresh(layout.articles)

    snapshot = create_snapshot(engine, layout, now=datetime(2026, 11, 22, 8, 0, tzinfo=UTC))
    assert snapshot.state == "SUCCESS" and snapshot.failures == 0
    assert layout.complaints in snapshot.indices
    assert [s.name for s in list_snapshots(engine, layout)] == [snapshot.name]

    with pytest.raises(SnapshotError, match="--replace"):
        restore_snapshot(engine, layout, snapshot.name)

    for index in snapshot.indices:  # the disk is lost
        engine.request("DELETE", f"/{index}")
    restored = restore_snapshot(engine, layout, snapshot.name)
    assert restored == snapshot.indices
    engine.health(wait_for="green", timeout_s=60)
    engine.refresh(layout.articles)
    assert engine.count(layout.articles) == 40
    assert engine.get(layout.complaints, "KN-2026-0001") is not None

    with pytest.raises(SnapshotError, match="no snapshot named"):
        restore_snapshot(engine, layout, "khong-co")
    engine.request("DELETE", f"/_snapshot/diemnong-backups/{snapshot.name}")
