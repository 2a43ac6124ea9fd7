"""A local imitation of Vietnamese news outlets for integration tests and the demo.

One ``ThreadingHTTPServer`` on 127.0.0.1 serves every outlet under ``/<outlet-slug>/``:
home, section pages with pagination, article pages, an RSS or Atom feed (conditional GET)
and a Google-News sitemap each, plus ``/robots.txt`` and admin JSON under ``/_fixture/``
(``stories``, ``outlets``, ``specials``, ``hits``).

Bad cases (see ``specials``): a malformed feed (CafeF-like), a 20 MB page (Dân trí-like), a
slow page (Báo Đầu tư-like), a 3-hop redirect chain (NLĐ-like feed and section links), a
utm-tagged feed link (Tuổi Trẻ-like), an AMP link (VnExpress-like section), dead 404/500
links and robots-disallowed drafts on a VnExpress-like section page, disallowed print pages
linked from every Tuổi Trẻ-like article, a feed item without a date and one dated in the
future (Ninh Bình-like), and a windows-1258 portal (Thanh Trì-like).
"""

from __future__ import annotations

import random
import sys
import threading
import traceback
from dataclasses import replace
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from crawlers.fixture_site.badcases import place_bad_cases
from crawlers.fixture_site.corpus import load_corpus
from crawlers.fixture_site.generator import (
    COMPLAINT_KINDS,
    StoryFactory,
    assign_path,
    build_stories,
)
from crawlers.fixture_site.models import OutletInfo, Story, pattern_for
from crawlers.fixture_site.outlets import OUTLETS_BY_SLUG
from crawlers.fixture_site.render import Renderer
from crawlers.fixture_site.routes import Response, dispatch
from crawlers.fixture_site.state import Archive, HitCounter
from crawlers.fixture_site.vntext import VN_TZ

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class FixtureSite:
    """The fixture press site. Deterministic for a given ``seed`` and ``now``.

    ``now`` anchors the archive's publication times (default: the current minute); stories
    are spread over the week before it. ``publish_every_s`` starts a schedule on ``start``
    that publishes ``publish_batch`` new stories each period.
    """

    def __init__(
        self,
        seed: int = 7,
        n_articles_per_outlet: int = 30,
        slow_delay_s: float = 5.0,
        big_page_mb: int = 20,
        *,
        now: datetime | None = None,
        publish_every_s: float | None = None,
        publish_batch: int = 1,
    ) -> None:
        self.seed = seed
        self.slow_delay_s = slow_delay_s
        self.big_page_bytes = big_page_mb * 1024 * 1024
        self.specs = dict(OUTLETS_BY_SLUG)
        anchor = (now or datetime.now(VN_TZ)).astimezone(VN_TZ).replace(second=0, microsecond=0)
        self._rng = random.Random(seed)
        self._factory = StoryFactory(load_corpus(), self._rng)
        self._taken: set[str] = set()
        stories = build_stories(
            self._factory, self.specs, n_articles_per_outlet, anchor, self._taken
        )
        stories, self.bad_cases = place_bad_cases(
            stories, self.specs, self._factory, anchor, self._taken
        )
        self.archive = Archive(changed_at=anchor)
        self.archive.extend(stories)
        self.counter = HitCounter()
        self.base_url = ""
        self.renderer = Renderer("")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._schedule = (publish_every_s, publish_batch)

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a background thread; returns the base URL (port 0 picks a free port)."""
        if host not in LOOPBACK:
            raise ValueError(f"the fixture site binds only to loopback, not {host!r}")
        server = _Server((host, port), _Handler)
        server.site = self
        self._server = server
        self.base_url = f"http://{host}:{server.server_address[1]}"
        self.renderer = Renderer(self.base_url)
        self._spawn(server.serve_forever, "fixture-site")
        every, batch = self._schedule
        if every:
            self.schedule(every, batch)
        return self.base_url

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def __enter__(self) -> FixtureSite:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def outlets(self) -> list[OutletInfo]:
        base, infos = self.base_url, []
        for spec in self.specs.values():
            infos.append(
                OutletInfo(
                    slug=spec.slug,
                    name=spec.name,
                    kind=spec.kind,
                    province=spec.province,
                    home_url=f"{base}{spec.prefix}/",
                    feed_url=base + spec.prefix + spec.feed_path,
                    feed_format=spec.feed_format,
                    sitemap_url=f"{base}{spec.prefix}/sitemap-news.xml",
                    section_urls=tuple(base + spec.section_path(s) for s in spec.sections),
                    encoding=spec.encoding,
                    article_pattern=pattern_for(base, spec.article_regex),
                )
            )
        return infos

    @property
    def stories(self) -> list[Story]:
        return self.archive.all()

    @property
    def specials(self) -> dict[str, Any]:
        """URLs of the bad cases (``big``, ``slow``, ``redirect_start``, ``amp`` ...)."""
        return self.bad_cases.to_json(self.base_url)

    def url(self, story: Story) -> str:
        return self.base_url + story.path

    def story(self, path_or_url: str) -> Story | None:
        return self.archive.get(urlsplit(path_or_url).path)

    def hits(self, path: str) -> int:
        """Requests for ``path`` (a path or a URL on this site; with a query: that exact one)."""
        parts = urlsplit(path)
        return self.counter.hits(parts.path + (f"?{parts.query}" if parts.query else ""))

    def hits_under(self, prefix: str) -> int:
        return self.counter.hits_under(urlsplit(prefix).path)

    def publish(self, story: Story | None = None, outlet: str | None = None) -> Story:
        """Publish now: the story tops its outlet's feed, sitemap and first section page."""
        with self._lock:
            now = datetime.now(VN_TZ).replace(microsecond=0)
            slug = outlet or (story.outlet if story else None) or self._rng.choice(list(self.specs))
            if slug not in self.specs:
                raise ValueError(f"unknown outlet {slug!r}")
            spec = self.specs[slug]
            if story is None:
                story = self._factory.compose(spec, now)
            else:
                section = story.section if story.section in spec.sections else spec.sections[0]
                story = replace(
                    story,
                    outlet=slug,
                    section=section,
                    article_id=0,
                    path="",
                    published_at=story.published_at or now,
                )
            story = assign_path(story, spec, self._rng, self._taken)
            self._add(story)
            return story

    def syndicate(self, original: Story, outlet: str) -> Story:
        """Publish now another outlet's edited copy of ``original``."""
        with self._lock:
            target = self.specs[outlet]
            now = datetime.now(VN_TZ).replace(microsecond=0)
            copy = self._factory.syndicate(original, self.specs[original.outlet], target, now)
            copy = assign_path(copy, target, self._rng, self._taken)
            self._add(copy)
            return copy

    def schedule(self, every_s: float, n: int = 1) -> None:
        """Publish ``n`` stories every ``every_s`` seconds until ``stop``; every third round
        one recent complaint story is also republished by another outlet."""
        self._spawn(lambda: self._run_schedule(every_s, n), "fixture-publisher")

    def _add(self, story: Story) -> None:
        previous = self.archive.changed_at(story.outlet)
        changed = max(datetime.now(VN_TZ), previous + timedelta(seconds=1))
        self.archive.add(story, changed_at=changed)

    def _run_schedule(self, every_s: float, n: int) -> None:
        complaint = {k for k, t in self._factory.corpus.topics.items() if t.kind in COMPLAINT_KINDS}
        rounds = 0
        while not self._stop.wait(every_s):
            rounds += 1
            fresh = [self.publish() for _ in range(n)]
            originals = [s for s in fresh if s.topic in complaint]
            if rounds % 3 == 0 and originals:
                targets = [
                    s
                    for s in self.specs.values()
                    if s.slug != originals[0].outlet and s.encoding == "utf-8"
                ]
                with self._lock:
                    target = self._rng.choice(targets).slug
                self.syndicate(originals[0], target)

    def _spawn(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver listens with a backlog of 5: a crawl opening 32 connections at once had
    # the rest of its SYNs dropped and resent after TCP's 1 s timeout, a second of idle crawl.
    request_queue_size = 128
    site: FixtureSite

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A crawler hanging up (a size limit, a killed crawl) is normal here, not a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests and the demo read the hit counters instead."""

    def _serve(self, head: bool) -> None:
        site = self.server.site
        site.counter.count(self.path)
        request = {key.lower(): value for key, value in self.headers.items()}
        try:
            response = dispatch(site, self.path, request)
        except Exception:  # a fixture bug must show up as a 500, not a dropped connection
            traceback.print_exc()
            response = Response(500, {"Content-Type": "text/plain; charset=utf-8"}, b"error")
        if response.delay:
            site._stop.wait(response.delay)
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        length = response.length if response.stream is not None else len(response.body)
        if response.status != 304:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        if head or response.status == 304:
            return
        try:
            for chunk in response.stream if response.stream is not None else (response.body,):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
