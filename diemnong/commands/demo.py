"""`diemnong demo`: the whole job on one machine, and `diemnong fixture-site`.

The demo starts the embedded engine, sets up the indices, serves the local press fixture site
(publishing new stories over time), and runs the feed watcher and the web app as child
processes of its own, with settings passed as environment variables. Ctrl-C stops them all.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import typer

from api.auth.users import UserStore
from complaints.privacy import Role
from crawlers.fixture_site import FixtureSite
from crawlers.sources import save_sources
from diemnong.commands.context import OPERATOR_ERRORS, CliContext, context
from indexer.adapter import Engine
from indexer.engine.embedded import EmbeddedEngine
from indexer.layout import IndexNames, apply_layout

DEMO_USER = "admin"


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


def start_fixture_site(cli: CliContext, port: int, every_s: float) -> tuple[FixtureSite, Path]:
    site = FixtureSite(n_articles_per_outlet=20, slow_delay_s=3.0)
    site.start(port=port)
    if every_s > 0:
        site.schedule(every_s, n=1)
    sources = cli.settings.data_dir.resolve() / "fixture-sources.yaml"
    sources.parent.mkdir(parents=True, exist_ok=True)
    save_sources(sources, [o.to_source() for o in site.outlets])
    return site, sources


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
        publish_every: float = typer.Option(20.0, help="The fixture site publishes every N s."),
    ) -> None:
        """Engine, indices, fixture press site, feed watcher and web app; Ctrl-C stops all."""
        cli = context(ctx)
        settings = cli.settings
        embedded = EmbeddedEngine(settings)
        started_here = False
        children: list[subprocess.Popen[bytes]] = []
        site: FixtureSite | None = None
        try:
            if not settings.engine.url:
                started_here = not embedded.status().running
                cli.console.print("Khởi động máy tìm kiếm (OpenSearch nhúng)…")
                state = embedded.start()
                cli.console.print(state.message)
                engine_url = state.state.url if state.state else ""
            else:
                engine_url = settings.engine.url
            engine = cli.engine()
            names = IndexNames(settings.index.prefix)
            apply_layout(engine, names, settings.index)
            user, password = demo_account(engine, names)
            engine.close()
            site, sources = start_fixture_site(cli, 0, publish_every)
            cli.console.print(f"Trang báo giả lập: {site.base_url}/")
            env = dict(os.environ)
            env.update(
                {
                    "DIEMNONG_ENGINE__URL": engine_url,
                    "DIEMNONG_DATA_DIR": str(settings.data_dir.resolve()),
                    "DIEMNONG_CRAWLER__SOURCES_FILE": str(sources),
                    "DIEMNONG_CRAWLER__ALLOW_LOOPBACK": "true",
                    "DIEMNONG_CRAWLER__CONCURRENT_PER_DOMAIN": "8",
                    "DIEMNONG_CRAWLER__FEED_MIN_INTERVAL_S": "10",
                    "DIEMNONG_CRAWLER__FEED_MAX_INTERVAL_S": "60",
                }
            )
            if not settings.api.secret_key:
                env["DIEMNONG_API__SECRET_KEY"] = demo_secret_key(settings.data_dir.resolve())
            logs = settings.data_dir.resolve() / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            children.append(_child(["watch"], env, logs / "watch.log"))
            children.append(_child(["serve"], env, logs / "serve.log"))
            cli.console.print(
                f"Ứng dụng web: {settings.api.public_url}/login — tài khoản demo: "
                f"[bold]{user}[/] / mật khẩu: [bold]{password}[/]\n"
                f"Trạng thái: {settings.api.public_url}/health — nhật ký: {logs}\n"
                "Đang theo dõi báo chí… (Ctrl-C để dừng)"
            )
            while all(child.poll() is None for child in children):
                time.sleep(1)
            failed = [c for c in children if c.returncode not in (None, 0)]
            if failed:
                raise cli.fail(RuntimeError(f"a demo process stopped; see the logs in {logs}"))
        except KeyboardInterrupt:
            cli.console.print("Đang dừng…")
        except OPERATOR_ERRORS as error:
            raise cli.fail(error) from None
        finally:
            _stop(children)
            if site is not None:
                site.stop()
            if started_here:
                cli.console.print(f"Dừng máy tìm kiếm: {embedded.stop()}")
