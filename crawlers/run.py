"""Running a crawl: Scrapy settings from diemnong's settings, one process, one spider."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import CrawlerProcess

from crawlers.offload import PageWorkers
from crawlers.report import CrawlReport
from crawlers.services import CrawlServices
from crawlers.spiders.news import PARTS, NewsSpider
from diemnong.settings import Settings
from indexer.adapter import Engine
from indexer.models import Source

# Loggers that follow the crawl's log level. Scrapy's root handler filters by level, but the
# root logger itself passes everything, so trafilatura built ~17 debug records per page that
# the handler then dropped.
CRAWL_LOGGERS = ("scrapy", "trafilatura", "htmldate", "courlan", "opensearch", "urllib3")


def scrapy_settings(
    services: CrawlServices, log_level: str = "WARNING", workers: PageWorkers | None = None
) -> dict[str, Any]:
    crawler = services.settings.crawler
    stages = {
        "crawlers.pipelines.ExtractStage": 100,
        "crawlers.pipelines.DedupStage": 200,
        "crawlers.index_stage.IndexStage": 900,
    }
    return {
        "BOT_NAME": "diemnong",
        "USER_AGENT": crawler.user_agent,
        "ROBOTSTXT_OBEY": crawler.obey_robots,
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawler.concurrent_per_domain,
        # Scrapy starts this many asyncio tasks for every response's output, however many
        # items it holds: 100 by default, for an article page's one item (15% of the CPU).
        "CONCURRENT_ITEMS": 4,
        "AUTOTHROTTLE_ENABLED": crawler.autothrottle,
        "AUTOTHROTTLE_START_DELAY": 0.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(crawler.concurrent_per_domain),
        "DOWNLOAD_DELAY": 0,
        "DOWNLOAD_TIMEOUT": crawler.download_timeout_s,
        "DOWNLOAD_MAXSIZE": crawler.max_page_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": 2,
        "REDIRECT_MAX_TIMES": 5,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "EXTENSIONS": {"scrapy.extensions.remote_control.RemoteControl": None},
        "LOG_LEVEL": log_level,
        # Scrapy parses each callback's source (ast) on every response to warn about generators
        # that return a value; its cache is keyed by the bound method, new on every call, so it
        # never hits: about 0.5 ms a page. Our callbacks return nothing.
        "WARN_ON_GENERATOR_RETURN_VALUE": False,
        # Each spider middleware wraps every callback's output in one more async generator.
        # Nothing here reads the depth, and the meta-copy check is a development aid.
        "SPIDER_MIDDLEWARES": {
            "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
            "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
        },
        # The offsite filter parses every request's URL to compare it with allowed_domains,
        # which this spider does not set; UrlSafetyMiddleware decides where requests may go.
        "DOWNLOADER_MIDDLEWARES": {
            "crawlers.middlewares.UrlSafetyMiddleware": 50,
            "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
        },
        "ITEM_PIPELINES": stages,
        "DIEMNONG_SERVICES": services,
        "DIEMNONG_PAGE_WORKERS": workers,
    }


def run_crawl(
    settings: Settings,
    sources: list[Source],
    engine: Engine | None,
    mode: str = "once",
    services: CrawlServices | None = None,
    log_level: str = "WARNING",
    parts: frozenset[str] = PARTS,
    page_workers: int = 0,
) -> CrawlReport:
    """Crawl ``sources`` once (or keep watching them) in this process; returns the counts.

    ``page_workers`` > 0 runs decode, extraction, normalisation and entities in that many
    forked processes (crawlers.offload): one reactor thread cannot use a second core.
    """
    shared = services or CrawlServices.build(settings, engine)
    shared.warm_up()
    for name in CRAWL_LOGGERS:
        logging.getLogger(name).setLevel(log_level)
    workers = PageWorkers(page_workers, shared.entities) if page_workers > 0 else None
    try:
        if workers is not None:
            workers.start()
        process = CrawlerProcess(
            {**scrapy_settings(shared, log_level, workers), "LOG_INSTALL_ROOT_HANDLER": True}
        )
        process.crawl(NewsSpider, sources=sources, mode=mode, parts=parts)
        process.start()
    finally:
        if workers is not None:
            workers.close()
    return shared.report
