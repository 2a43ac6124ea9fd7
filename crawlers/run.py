"""Running a crawl: Scrapy settings from diemnong's settings, one process, one spider."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import CrawlerProcess

from crawlers.report import CrawlReport
from crawlers.services import CrawlServices
from crawlers.spiders.news import PARTS, NewsSpider
from diemnong.settings import Settings
from indexer.adapter import Engine
from indexer.models import Source


def scrapy_settings(services: CrawlServices, log_level: str = "WARNING") -> dict[str, Any]:
    crawler = services.settings.crawler
    return {
        "BOT_NAME": "diemnong",
        "USER_AGENT": crawler.user_agent,
        "ROBOTSTXT_OBEY": crawler.obey_robots,
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawler.concurrent_per_domain,
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
        "DOWNLOADER_MIDDLEWARES": {"crawlers.middlewares.UrlSafetyMiddleware": 50},
        "ITEM_PIPELINES": {
            "crawlers.pipelines.ExtractStage": 100,
            "crawlers.pipelines.DedupStage": 200,
            "crawlers.pipelines.EntityStage": 300,
            "crawlers.pipelines.IndexStage": 900,
        },
        "DIEMNONG_SERVICES": services,
    }


def run_crawl(
    settings: Settings,
    sources: list[Source],
    engine: Engine | None,
    mode: str = "once",
    services: CrawlServices | None = None,
    log_level: str = "WARNING",
    parts: frozenset[str] = PARTS,
) -> CrawlReport:
    """Crawl ``sources`` once (or keep watching them) in this process; returns the counts."""
    shared = services or CrawlServices.build(settings, engine)
    shared.warm_up()
    logging.getLogger("scrapy").setLevel(log_level)
    process = CrawlerProcess(
        {**scrapy_settings(shared, log_level), "LOG_INSTALL_ROOT_HANDLER": True}
    )
    process.crawl(NewsSpider, sources=sources, mode=mode, parts=parts)
    process.start()
    return shared.report
