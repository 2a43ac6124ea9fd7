"""What the crawler's feed state (`crawlers.feed_state`) says about each outlet.

The watcher keeps, per feed URL, when a poll last brought something new and its current
polling interval. Source health uses both: a silence shorter than two polling intervals is not
evidence of anything, and a feed's ``last_new_at`` may be later than the last stored story.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedActivity:
    last_new_at: datetime | None
    interval_s: float


def feed_activity(data_dir: Path, sources_file: Path) -> dict[str, FeedActivity]:
    """Outlet name -> its feeds' latest news and shortest interval; empty when unknown."""
    from crawlers.feed_state import FeedStates
    from crawlers.sources import SourceFileError, load_sources

    path = data_dir / "crawler" / "feeds.json"
    if not path.exists():
        return {}
    try:
        sources = load_sources(sources_file)
        states = FeedStates(path, 0.0, 0.0)
    except (OSError, ValueError, SourceFileError) as error:
        log.warning("feed state not used: %s", error)
        return {}
    found: dict[str, FeedActivity] = {}
    for source in sources:
        polled = [states.get(url) for url in source.feeds if states.get(url).polls]
        if not polled:
            continue
        news = [s.last_new_at for s in polled if s.last_new_at is not None]
        found[source.name] = FeedActivity(
            last_new_at=datetime.fromtimestamp(max(news), UTC) if news else None,
            interval_s=min(s.interval_s for s in polled),
        )
    return found
