"""Alert latency: from a story's publication on the fixture site to the email in the SMTP sink.

Run ``python -m bench.alert_latency [--quick] [--engine-url URL] [--poll-interval S]``. The
whole chain runs as in production, each part in its own process: ``diemnong watch`` polls the
fixture outlets' feeds every ``--poll-interval`` seconds (the adaptive interval pinned to that
value) and indexes new stories; ``diemnong alerts run`` links them to the open complaints
(`complaints.links.percolate`), stores the alerts and sends them to a local aiosmtpd sink.

Set-up: one open complaint per commune named by the fixture corpus's complaint stories; the
stories whose own complaint's stored query matches them (checked in process first, so the
bench measures latency, not recall) are published one after another, ``--spacing`` seconds
apart, on a live fixture site. A story's latency ends when the first email listing its title
arrives. Prints one JSON object: ``p50_s``, ``p95_s``, ``max_s``, ``poll_interval_s``,
``stories`` (measured), ``published``, ``missed`` (no email before the deadline),
``target_p95_s`` (poll interval + 10 s), ``meets_target``, and ``p50_fetch_s``/``p95_fetch_s``:
the part of the latency spent before the crawler fetched the story.

``--quick``: 50 stories with a 5-s poll interval (under two minutes with a running engine).
Index names use the prefix ``bench-alerts-`` and are deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from alerts.testing import SmtpSink
from bench.common import emit, log, machine_context, rounded
from bench.matching import engine_at
from complaints.links import percolate
from complaints.matching import compile_for_register
from complaints.register import ComplaintRegister
from crawlers.fixture_site import FixtureSite, Story
from crawlers.fixture_site.generator import COMPLAINT_KINDS
from crawlers.fixture_site.vntext import VN_TZ
from crawlers.sources import save_sources
from diemnong.settings import IndexSettings
from indexer.adapter import Engine
from indexer.ids import article_id
from indexer.layout import IndexNames, apply_layout, drop_layout
from indexer.models import Article, Complaint, ComplaintKind, Location
from indexer.vietnamese import normalize

PREFIX = "bench-alerts-"
OUTLETS = ("vietnamnet-like", "hue-like", "vnexpress-like", "ninhbinh-like")
SUBJECTS = {"thu_hoi_dat": "land", "boi_thuong": "land", "o_nhiem": "environment"}
REPO = Path(__file__).resolve().parents[1]


def candidate_stories(seed: int) -> list[Story]:
    """Original complaint stories of a fixture corpus, distinct titles, oldest first."""
    source = FixtureSite(seed=seed, n_articles_per_outlet=40, now=datetime.now(VN_TZ))
    topics = source._factory.corpus.topics  # the corpus' own topic kinds
    seen: set[str] = set()
    found = []
    for story in source.stories:
        topic = topics.get(story.topic)
        if topic is None or topic.kind not in COMPLAINT_KINDS or story.syndicated_from:
            continue
        if story.place and story.title not in seen:
            seen.add(story.title)
            found.append(story)
    return found


def complaints_for(stories: Sequence[Story]) -> dict[str, Complaint]:
    """One open complaint per commune the stories name."""
    cases: dict[str, Complaint] = {}
    for story in stories:
        if story.place is None or story.place in cases:
            continue
        cases[story.place] = Complaint(
            case_number=f"BENCH-{len(cases):03d}",
            kind=ComplaintKind.COMPLAINT,
            received_date=date.today(),
            summary=story.title,
            subject_field=SUBJECTS.get(story.topic, "officials"),
            location=Location(address_text=story.place),
        )
    return cases


def matching_stories(
    engine: Engine, names: IndexNames, stories: Sequence[Story], cases: dict[str, Complaint]
) -> list[Story]:
    """The stories their own commune's complaint links (percolated in process, not stored)."""
    probes = []
    for index, story in enumerate(stories):
        url = f"https://probe.invalid/{index}"
        probes.append(
            Article(
                id=article_id(url),
                url=url,
                canonical_url=url,
                outlet=story.outlet,
                title=story.title,
                lead=story.lead,
                body=story.body,
                fetched_at=datetime.now(UTC),
            )
        )
    links = {(link.case_number, link.article_id) for link in percolate(engine, names, probes)}
    return [
        story
        for story, probe in zip(stories, probes, strict=True)
        if story.place and (cases[story.place].case_number, probe.id) in links
    ]


def child_env(
    names: IndexNames, engine: Engine, data_dir: Path, extra: dict[str, str]
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIEMNONG_")}
    env.update(
        {
            "DIEMNONG_ENGINE__URL": engine.url,
            "DIEMNONG_INDEX__PREFIX": names.prefix,
            "DIEMNONG_DATA_DIR": str(data_dir),
            **extra,
        }
    )
    return env


def alerts_command(rules_file: Path) -> list[str]:
    from diemnong.cli import app

    if any(group.name == "alerts" for group in app.registered_groups):
        head = [sys.executable, "-m", "diemnong", "alerts", "run"]
    else:  # until the CLI registers the sub-app
        head = [sys.executable, "-c", "from diemnong.commands.alerts import main; main()", "run"]
    return [*head, "--rules", str(rules_file)]


@contextmanager
def process(
    command: list[str], env: dict[str, str], log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as out:
        child = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            yield child
        finally:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()


def article_count(engine: Engine, names: IndexNames) -> int:
    try:
        return engine.count(names.articles)
    except Exception:  # the alias appears with the first article
        return 0


def wait_settled(
    engine: Engine,
    names: IndexNames,
    children: Sequence[subprocess.Popen[bytes]],
    quiet_s: float,
    limit_s: float,
) -> None:
    """Until the first crawl stops adding articles for ``quiet_s`` (or ``limit_s`` passes)."""
    deadline = time.monotonic() + limit_s
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        for child in children:
            if child.poll() is not None:
                raise RuntimeError(f"a child process exited early with {child.returncode}")
        count = article_count(engine, names)
        if count != last:
            last, since = count, time.monotonic()
        elif count > 0 and time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.5)


def measure(args: argparse.Namespace, engine: Engine, workdir: Path) -> dict[str, Any]:
    names = IndexNames(PREFIX)
    drop_layout(engine, names)
    apply_layout(engine, names, IndexSettings())
    register = ComplaintRegister(engine, names, compile_query=compile_for_register)
    stories = candidate_stories(seed=41)
    cases = complaints_for(stories)
    for case in cases.values():
        register.upsert(case, by="bench")
    register.refresh()
    chosen = matching_stories(engine, names, stories, cases)[: args.stories]
    log(f"{len(cases)} complaints, {len(chosen)} of {len(stories)} stories matched by their own")
    site = FixtureSite(seed=5, n_articles_per_outlet=2, slow_delay_s=1.0)
    site.start()
    sources_file = workdir / "sources.yaml"
    save_sources(sources_file, [o.to_source() for o in site.outlets if o.slug in OUTLETS])
    rules_file = workdir / "alert-rules.yaml"
    rules_file.write_text(
        yaml.safe_dump(
            {
                "default_recipients": ["bench@localhost"],
                "quiet_hours": None,
                "digest": None,
                "throttle": {"max_per_hour": 100000},
                "checks": {"crisis_s": 3600, "deadline_s": 3600, "health_s": 3600},
            }
        ),
        "utf-8",
    )
    data_dir = workdir / "data"
    poll = str(args.poll_interval)
    crawl_env = child_env(
        names,
        engine,
        data_dir,
        {
            "DIEMNONG_CRAWLER__SOURCES_FILE": str(sources_file),
            "DIEMNONG_CRAWLER__ALLOW_LOOPBACK": "true",
            "DIEMNONG_CRAWLER__FEED_MIN_INTERVAL_S": poll,
            "DIEMNONG_CRAWLER__FEED_MAX_INTERVAL_S": poll,
            "DIEMNONG_CRAWLER__CONCURRENT_PER_DOMAIN": "8",
            "DIEMNONG_CRAWLER__DOWNLOAD_TIMEOUT_S": "5",
            "COLUMNS": "200",
        },
    )
    with SmtpSink() as sink:
        alert_env = child_env(
            names,
            engine,
            data_dir,
            {
                "DIEMNONG_ALERTS__SMTP__HOST": "127.0.0.1",
                "DIEMNONG_ALERTS__SMTP__PORT": str(sink.port),
                "DIEMNONG_ALERTS__POLL_INTERVAL_S": str(args.worker_interval),
            },
        )
        watch = [sys.executable, "-m", "diemnong", "watch"]
        with (
            process(watch, crawl_env, workdir / "watch.log") as crawler,
            process(alerts_command(rules_file), alert_env, workdir / "alerts.log") as worker,
        ):
            wait_settled(
                engine, names, [crawler, worker], quiet_s=2 * args.poll_interval, limit_s=90
            )
            log(f"first crawl settled: {article_count(engine, names)} articles; publishing")
            published: list[tuple[str, float]] = []
            for index, story in enumerate(chosen):
                fresh = replace(story, published_at=None)
                site.publish(fresh, outlet=OUTLETS[index % len(OUTLETS)])
                published.append((normalize(story.title), time.time()))
                time.sleep(args.spacing)
            deadline = time.monotonic() + args.poll_interval + args.wait
            latencies: dict[int, float] = {}
            while time.monotonic() < deadline and len(latencies) < len(published):
                for received in list(sink.received):
                    part = received.message.get_body(("plain",))
                    text = normalize(part.get_content()) if part is not None else ""
                    for index, (title, at) in enumerate(published):
                        if index not in latencies and title in text and received.at >= at:
                            latencies[index] = received.at - at
                time.sleep(0.5)
            for child, name in ((crawler, "watch"), (worker, "alerts")):
                if child.poll() is not None:
                    log(f"{name} exited early with {child.returncode}; see {workdir}/{name}.log")
    site.stop()
    fetched = fetch_delays(engine, names, published)
    drop_layout(engine, names)
    values = sorted(latencies.values())
    if not values:
        raise RuntimeError(f"no alert email arrived; logs in {workdir}")
    p95 = percentile(values, 0.95)
    target = args.poll_interval + 10
    return {
        "p50_s": rounded(statistics.median(values), 2),
        "p95_s": rounded(p95, 2),
        "max_s": rounded(values[-1], 2),
        "poll_interval_s": args.poll_interval,
        "stories": len(values),
        "published": len(published),
        "missed": len(published) - len(values),
        "emails": len(sink.received),
        "target_p95_s": target,
        "meets_target": p95 <= target,
        "worker_interval_s": args.worker_interval,
        "p50_fetch_s": rounded(statistics.median(fetched), 2) if fetched else None,
        "p95_fetch_s": rounded(percentile(fetched, 0.95), 2) if fetched else None,
    }


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def fetch_delays(
    engine: Engine, names: IndexNames, published: Sequence[tuple[str, float]]
) -> list[float]:
    """Publication to the crawler's fetch of each story: the crawl's part of the latency."""
    engine.refresh(names.articles)
    found = engine.search(
        names.articles,
        {
            "query": {"terms": {"title.raw": [title for title, _ in published]}},
            "_source": ["title", "fetched_at"],
            "size": len(published) * 3,
        },
    )
    first: dict[str, datetime] = {}
    for hit in found["hits"]["hits"]:
        when = datetime.fromisoformat(hit["_source"]["fetched_at"])
        title = hit["_source"]["title"]
        first[title] = min(first.get(title, when), when)
    return [first[t].timestamp() - at for t, at in published if t in first]


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.alert_latency", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="50 stories, 5-s feed polling")
    parser.add_argument("--engine-url", help="use this engine instead of starting one")
    parser.add_argument("--poll-interval", type=float, help="feed polling interval (s)")
    parser.add_argument("--stories", type=int, help="stories to publish (at least 50)")
    parser.add_argument("--spacing", type=float, default=0.5, help="seconds between stories")
    parser.add_argument("--worker-interval", type=float, default=1.0, help="alerts worker tick")
    parser.add_argument("--wait", type=float, default=45.0, help="extra wait after the last story")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args(argv)
    args.poll_interval = args.poll_interval or (5.0 if args.quick else 15.0)
    args.stories = args.stories or (50 if args.quick else 100)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    workdir = Path(tempfile.mkdtemp(prefix="diemnong-bench-alerts-"))
    result: dict[str, Any] = machine_context()
    with engine_at(args.engine_url, workdir) as engine:
        result.update(measure(args, engine, workdir))
    if args.keep:
        log(f"work folder kept: {workdir}")
    else:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
