"""Everything the crawl's components share, built once per process and injected.

The runner puts one `CrawlServices` into the Scrapy settings; the spider, the middlewares and
the pipeline components take it in ``from_crawler`` — one engine client per process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from complaints.factory import link_new_articles
from complaints.variants import PlaceSpotter
from crawlers.dedup import StoryClusterer
from crawlers.entities import EntityExtractor
from crawlers.feed_state import FeedStates
from crawlers.fetch_log import FetchLog
from crawlers.report import CrawlReport
from crawlers.seen import SeenUrls
from crawlers.spool import AfterIndexBacklog, Spool
from diemnong.settings import Settings
from indexer.adapter import Engine
from indexer.layout import IndexNames
from indexer.models import Article
from indexer.vietnamese import segment
from indexer.writer import ArticleWriter

AfterIndex = Callable[[Sequence[Article]], None]


def _complaint_links(engine: Engine, names: IndexNames) -> AfterIndex:
    """New articles are percolated against the open complaints right after they are written."""

    def link(articles: Sequence[Article]) -> None:
        link_new_articles(engine, names, articles)

    return link


@dataclass
class CrawlServices:
    settings: Settings
    engine: Engine | None
    names: IndexNames
    fetch_log: FetchLog
    feeds: FeedStates
    seen: SeenUrls
    spool: Spool
    backlog: AfterIndexBacklog
    clusterer: StoryClusterer
    clusterer_path: Path
    entities: EntityExtractor
    report: CrawlReport = field(default_factory=CrawlReport)
    after_index: list[AfterIndex] = field(default_factory=list)
    on_tick: Callable[[], None] | None = None

    def __deepcopy__(self, memo: dict[int, object]) -> CrawlServices:
        """Scrapy deep-copies its settings; the services are shared on purpose, not copied."""
        return self

    @property
    def writer(self) -> ArticleWriter | None:
        if self.engine is None:
            return None
        return ArticleWriter(self.engine, self.names, self.settings.index.bulk_chunk)

    @classmethod
    def build(cls, settings: Settings, engine: Engine | None) -> CrawlServices:
        state = settings.data_dir / "crawler"
        crawler = settings.crawler
        clusterer_path = state / "story_clusters.npz"
        clusterer = (
            StoryClusterer.load(clusterer_path) if clusterer_path.exists() else StoryClusterer()
        )
        names = IndexNames(settings.index.prefix)
        return cls(
            settings=settings,
            engine=engine,
            names=names,
            fetch_log=FetchLog(engine, names, state / "fetch-log-backlog.jsonl"),
            feeds=FeedStates(
                state / "feeds.json", crawler.feed_min_interval_s, crawler.feed_max_interval_s
            ),
            seen=SeenUrls(state / "seen.sqlite"),
            spool=Spool(state / "spool"),
            backlog=AfterIndexBacklog(state / "after-index"),
            clusterer=clusterer,
            clusterer_path=clusterer_path,
            entities=EntityExtractor(),
            after_index=[_complaint_links(engine, names)] if engine is not None else [],
        )

    def warm_up(self) -> None:
        """Load pyvi's and spaCy's models, and the place spotter that percolation reads (~2 s),
        now, not inside the first batch of articles."""
        segment("Người dân khiếu nại", normalized=True)
        self.entities.extract("Khởi động", "UBND xã Tả Thanh Oai, huyện Thanh Trì", normalized=True)
        if self.after_index:
            PlaceSpotter.load()

    def save(self) -> None:
        """Persist the state a later run resumes from."""
        self.fetch_log.flush()
        self.feeds.save()
        self.clusterer.save(self.clusterer_path)
