"""``python -m crawlers.fixture_site --port 8088 --publish-every 20``: serve in the foreground."""

from __future__ import annotations

import argparse
import signal
import threading

from crawlers.fixture_site.server import FixtureSite


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the fixture press site on 127.0.0.1.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--articles", type=int, default=30, help="stories per outlet")
    parser.add_argument("--publish-every", type=float, default=None, metavar="SECONDS")
    parser.add_argument("--publish-batch", type=int, default=1, metavar="N")
    parser.add_argument("--slow-delay", type=float, default=5.0, metavar="SECONDS")
    parser.add_argument("--big-page-mb", type=int, default=20)
    args = parser.parse_args(argv)
    site = FixtureSite(
        seed=args.seed,
        n_articles_per_outlet=args.articles,
        slow_delay_s=args.slow_delay,
        big_page_mb=args.big_page_mb,
        publish_every_s=args.publish_every,
        publish_batch=args.publish_batch,
    )
    base = site.start(args.host, args.port)
    print(f"Fixture press site at {base}/ ({len(site.stories)} stories)", flush=True)
    for outlet in site.outlets:
        print(f"  {outlet.name:40} {outlet.feed_url}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()


if __name__ == "__main__":
    main()
