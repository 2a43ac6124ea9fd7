"""`diemnong demo`: the whole job on one machine, and `diemnong fixture-site`.

The demo starts the embedded engine, sets up the indices, imports a sample complaint register,
serves the local press fixture site and publishes stories on it over time, some of them about
the register's cases and once a burst on one case (local papers, then the national press), so
that within minutes the user sees coverage, complaint links and an emerging-crisis email. The
feed watcher, the alert worker and the web app run as child processes of its own with settings
passed as environment variables; alert emails land as .eml files in ``<data_dir>/mail/``.
Ctrl-C or SIGTERM stops them all.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from importlib import resources
from pathlib import Path
from types import FrameType

import typer
import yaml

from api.auth.users import UserStore
from complaints.factory import build_register
from complaints.matching import explain, match_terms
from complaints.privacy import Role
from complaints.tabular import import_file
from crawlers.fixture_site import FixtureSite
from crawlers.fixture_site.corpus import load_corpus
from crawlers.fixture_site.generator import StoryFactory
from crawlers.fixture_site.models import Story
from crawlers.fixture_site.vntext import VN_TZ
from crawlers.sources import save_sources
from diemnong.commands.context import OPERATOR_ERRORS, CliContext, context
from diemnong.demo_mail import MailCatcher
from indexer.adapter import Engine
from indexer.engine.embedded import EmbeddedEngine
from indexer.layout import IndexNames, apply_layout
from indexer.models import Complaint

DEMO_USER = "admin"
DEMO_RECIPIENT = "demo@localhost"
CASE_EVERY = 3
"""Every third published story is about a case of the sample register."""
BURST_AT_TICK = 4
LOCAL_BURST = ("ninhbinh-like", "baochinhphu-like")
NATIONAL_BURST = ("vnexpress-like", "tuoitre-like", "dantri-like", "vietnamnet-like")
NATIONAL_AFTER_S = 65.0
"""Gap between the local and the national stories of the burst: outlets print dates to the
minute, and the outbreak signal needs the first national story after the first local one."""
TOPICS_BY_SUBJECT = {
    "land": ("thu_hoi_dat", "boi_thuong", "khieu_kien"),
    "environment": ("o_nhiem",),
}
_MATCHING_GROUPS = ("party", "project", "respondent", "alias")


def _child(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "diemnong", *args],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    for child in children:
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def start_fixture_site(cli: CliContext, port: int, every_s: float) -> tuple[FixtureSite, Path]:
    site = FixtureSite(n_articles_per_outlet=20, slow_delay_s=3.0)
    site.start(port=port)
    if every_s > 0:
        site.schedule(every_s, n=1)
    return site, _write_sources(cli, site)


def start_on_same_port(site: FixtureSite, remembered: Path) -> None:
    """Serve the fixture site where the last demo run did, so its article URLs (and ids) stay
    the same and a re-run does not crawl the whole archive again under new addresses."""
    try:
        port = int(remembered.read_text("utf-8"))
    except (OSError, ValueError):
        port = 0
    try:
        site.start(port=port)
    except OSError:  # taken by another program since: any free port
        site.start(port=0)
    remembered.parent.mkdir(parents=True, exist_ok=True)
    remembered.write_text(site.base_url.rsplit(":", 1)[1], "utf-8")


def _write_sources(cli: CliContext, site: FixtureSite) -> Path:
    sources = cli.settings.data_dir.resolve() / "fixture-sources.yaml"
    sources.parent.mkdir(parents=True, exist_ok=True)
    save_sources(sources, [o.to_source() for o in site.outlets])
    return sources


def demo_secret_key(data_dir: Path) -> str:
    """The demo's session-signing key: made once, kept in the data folder (demo only)."""
    path = data_dir / "demo-secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32), "utf-8")
        path.chmod(0o600)
    return path.read_text("utf-8").strip()


def demo_account(engine: Engine, names: IndexNames) -> tuple[str, str]:
    """An admin account with a fresh password, printed on the console for the demo user."""
    store = UserStore(engine, names.users)
    password = secrets.token_urlsafe(12)
    if store.get(DEMO_USER) is None:
        store.add(DEMO_USER, password, Role.ADMIN, display_name="Quản trị (demo)")
    else:
        store.set_password(DEMO_USER, password)
    return DEMO_USER, password


def demo_register_file() -> Path:
    return Path(str(resources.files("complaints").joinpath("data", "demo_register.csv")))


def write_demo_rules(data_dir: Path) -> Path:
    """Alert rules for the demo: everything to one mailbox, no quiet hours, quick checks.

    The packaged rules hold night-time alerts for the morning digest and throttle at six an
    hour; a demo run at any hour must show its emails at once.
    """
    rules = {
        "default_recipients": [DEMO_RECIPIENT],
        "quiet_hours": None,
        "digest": None,
        "throttle": {"max_per_hour": 200},
        "checks": {"crisis_s": 10.0, "deadline_s": 60.0},
    }
    path = data_dir / "demo-alert-rules.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def _matches(terms: dict[str, list[str]], story: Story) -> bool:
    """The offline twin of the stored query (complaints.matching): set in the case's commune
    (old or new name, as the story's address starts), naming the case's people or project, or,
    for a case without a project, a grievance word and two words of its subject."""
    if not any((story.place or "").startswith(f"{unit}, ") for unit in terms.get("place", [])):
        return False
    found = explain(terms, {"title": story.title, "lead": story.lead, "body": story.body})
    groups = [clause.split(":", 1)[0] for clause in found]
    if not set(groups).isdisjoint(_MATCHING_GROUPS):
        return True
    return not terms.get("project") and "grievance" in groups and groups.count("subject") >= 2


class DemoPublisher:
    """Publishes on the fixture site: one story each tick, every third about a register case,
    and once (at tick ``BURST_AT_TICK``) a burst on the hottest case, local before national."""

    def __init__(self, site: FixtureSite, cases: list[Complaint], every_s: float, seed: int = 11):
        self.site = site
        self.every_s = every_s
        self.cases = [c for c in cases if c.is_open and c.subject_field in TOPICS_BY_SUBJECT]
        self.cases.sort(key=lambda c: (not c.is_hot_spot, not c.is_mass_case, c.case_number))
        self.published: list[tuple[str | None, Story]] = []
        self._rng = random.Random(seed)
        self._factory = StoryFactory(load_corpus(), self._rng)
        self._terms = {c.case_number: match_terms(c) for c in self.cases}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def burst_case(self) -> Complaint | None:
        return self.cases[0] if self.cases else None

    def start(self) -> None:
        thread = threading.Thread(target=self._run, name="demo-publisher", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def case_story(self, case: Complaint, outlet: str | None = None) -> Story | None:
        """A new story set at the case's place on one of its subject's topics (None: no luck)."""
        spec = self.site.specs["vnexpress-like"]
        topics = TOPICS_BY_SUBJECT[case.subject_field or ""]
        terms = self._terms[case.case_number]
        for _ in range(400):
            story = self._factory.compose(spec, datetime.now(VN_TZ), self._rng.choice(topics))
            if _matches(terms, story):
                return self._publish(story, outlet, case.case_number)
        return None

    def _publish(self, story: Story, outlet: str | None, case: str | None) -> Story:
        utf8 = [s.slug for s in self.site.specs.values() if s.encoding == "utf-8"]
        published = self.site.publish(story, outlet=outlet or self._rng.choice(utf8))
        self.published.append((case, published))
        return published

    def _run(self) -> None:
        tick = 0
        while not self._stop.wait(self.every_s):
            tick += 1
            if tick == BURST_AT_TICK and self.burst_case is not None:
                self._spawn_burst(self.burst_case)
            elif tick % CASE_EVERY == 1 and self.cases:
                self.case_story(self.cases[(tick // CASE_EVERY) % len(self.cases)])
            else:
                self.published.append((None, self.site.publish()))

    def _spawn_burst(self, case: Complaint) -> None:
        thread = threading.Thread(target=self._burst, args=(case,), name="demo-burst", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _burst(self, case: Complaint) -> None:
        gap = max(self.every_s / 4, 2.0)
        for outlet in LOCAL_BURST:
            self.case_story(case, outlet)
            if self._stop.wait(gap):
                return
        if self._stop.wait(NATIONAL_AFTER_S):
            return
        for outlet in NATIONAL_BURST:
            self.case_story(case, outlet)
            if self._stop.wait(gap):
                return


class _Stopped(Exception):
    """SIGINT or SIGTERM, turned into an exception so the demo's cleanup runs."""


@contextmanager
def _signals_stop() -> Iterator[None]:
    """Both signals stop the demo, also when it was started in the background of a script
    (which starts it with SIGINT ignored, so Python raises no KeyboardInterrupt)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise _Stopped

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _import_register(cli: CliContext, engine: Engine, names: IndexNames) -> list[Complaint]:
    settings = cli.settings
    register = build_register(engine, names, settings.complaints.repercolate_days)
    report = import_file(demo_register_file(), register, DEMO_USER, tz=settings.timezone)
    if not report.ok:
        raise cli.fail(RuntimeError(f"the sample register does not import: {report.errors[0]}"))
    cli.console.print(
        f"Sổ đơn thư mẫu: {report.rows} hồ sơ (mới {report.created}, cập nhật "
        f"{report.updated}, không đổi {report.unchanged})"
    )
    return register.list(limit=1000)


def register(app: typer.Typer) -> None:
    @app.command("fixture-site")
    def fixture_site(
        ctx: typer.Context,
        port: int = typer.Option(8088, help="Port on 127.0.0.1 (0 picks a free one)."),
        publish_every: float = typer.Option(30.0, help="Publish a new story every N seconds."),
    ) -> None:
        """Serve the local press fixture site and write a sources file for it."""
        cli = context(ctx)
        site, sources = start_fixture_site(cli, port, publish_every)
        cli.console.print(f"Trang báo giả lập: {site.base_url}/  ({len(site.outlets)} outlets)")
        cli.console.print(
            f"Sources file: {sources}\n  DIEMNONG_CRAWLER__SOURCES_FILE={sources} "
            "DIEMNONG_CRAWLER__ALLOW_LOOPBACK=true diemnong crawl"
        )
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
        finally:
            site.stop()

    @app.command()
    def demo(
        ctx: typer.Context,
        publish_every: float = typer.Option(
            20.0, min=0.5, help="The fixture site publishes a story every N s."
        ),
    ) -> None:
        """Engine, sample register, fixture press site, feed watcher, alert worker (emails
        into <data_dir>/mail) and web app; Ctrl-C stops all."""
        cli = context(ctx)
        settings = cli.settings
        data_dir = settings.data_dir.resolve()
        embedded = EmbeddedEngine(settings)
        started_here = False
        children: list[subprocess.Popen[bytes]] = []
        site: FixtureSite | None = None
        publisher: DemoPublisher | None = None
        catcher: MailCatcher | None = None
        try:
            with _signals_stop():
                if not settings.engine.url:
                    started_here = not embedded.status().running
                    cli.console.print("Khởi động máy tìm kiếm (OpenSearch nhúng)…")
                    state = embedded.start()
                    cli.console.print(state.message)
                    engine_url = state.state.url if state.state else ""
                else:
                    engine_url = settings.engine.url
                engine = cli.engine()
                try:
                    names = IndexNames(settings.index.prefix)
                    apply_layout(engine, names, settings.index)
                    user, password = demo_account(engine, names)
                    cases = _import_register(cli, engine, names)
                finally:
                    engine.close()
                catcher = MailCatcher(data_dir / "mail").start()
                rules = write_demo_rules(data_dir)
                site = FixtureSite(n_articles_per_outlet=20, slow_delay_s=3.0)
                start_on_same_port(site, data_dir / "fixture-site-port")
                sources = _write_sources(cli, site)
                publisher = DemoPublisher(site, cases, publish_every)
                publisher.start()
                cli.console.print(
                    f"Trang báo giả lập: {site.base_url}/ — một tin mới mỗi {publish_every:g} s"
                )
                env = dict(os.environ)
                env.update(
                    {
                        "DIEMNONG_ENGINE__URL": engine_url,
                        "DIEMNONG_DATA_DIR": str(data_dir),
                        "DIEMNONG_CRAWLER__SOURCES_FILE": str(sources),
                        "DIEMNONG_CRAWLER__ALLOW_LOOPBACK": "true",
                        "DIEMNONG_CRAWLER__CONCURRENT_PER_DOMAIN": "8",
                        "DIEMNONG_CRAWLER__FEED_MIN_INTERVAL_S": str(min(10.0, publish_every)),
                        "DIEMNONG_CRAWLER__FEED_MAX_INTERVAL_S": "60",
                        "DIEMNONG_ALERTS__SMTP__HOST": catcher.host,
                        "DIEMNONG_ALERTS__SMTP__PORT": str(catcher.port),
                        "DIEMNONG_ALERTS__SMTP__SECURITY": "none",
                        "DIEMNONG_ALERTS__RULES_FILE": str(rules),
                    }
                )
                if not settings.api.secret_key:
                    env["DIEMNONG_API__SECRET_KEY"] = demo_secret_key(data_dir)
                logs = data_dir / "logs"
                logs.mkdir(parents=True, exist_ok=True)
                children.append(_child(["watch"], env, logs / "watch.log"))
                children.append(_child(["alerts", "run"], env, logs / "alerts.log"))
                children.append(_child(["serve"], env, logs / "serve.log"))
                web = f"http://{settings.api.host}:{settings.api.port}"
                burst = publisher.burst_case
                cli.console.print(
                    f"Ứng dụng web: {web}/login — tài khoản demo: "
                    f"[bold]{user}[/] / mật khẩu: [bold]{password}[/]\n"
                    f"Trạng thái: {web}/health — API: {web}/docs — nhật ký: {logs}\n"
                    f"Tin liên quan đơn thư: {web}/api/complaints/<số hồ sơ>/coverage"
                    + (f" (ví dụ {burst.case_number})" if burst else "")
                    + f"\nThư cảnh báo gửi {DEMO_RECIPIENT}: {catcher.folder}/*.eml\n"
                    "Đang theo dõi báo chí… (Ctrl-C để dừng)",
                    highlight=False,
                    soft_wrap=True,
                )
                while all(child.poll() is None for child in children):
                    time.sleep(1)
                failed = [c for c in children if c.returncode not in (None, 0)]
                if failed:
                    raise cli.fail(RuntimeError(f"a demo process stopped; see the logs in {logs}"))
        except (KeyboardInterrupt, _Stopped):
            cli.console.print("Đang dừng…")
        except OPERATOR_ERRORS as error:
            raise cli.fail(error) from None
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            _stop(children)
            if publisher is not None:
                publisher.stop()
            if site is not None:
                site.stop()
            if catcher is not None:
                catcher.stop()
            if started_here:
                cli.console.print(f"Dừng máy tìm kiếm: {embedded.stop()}")
