"""`diemnong crawl`, `diemnong watch` and `diemnong extract`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.live import Live
from rich.table import Table

from crawlers.report import COLUMNS, CrawlReport
from crawlers.sources import SourceFileError, load_sources
from diemnong.commands.context import OPERATOR_ERRORS, CliContext, context
from indexer.layout import apply_layout
from indexer.models import Source


def _report_table(report: CrawlReport, title: str) -> Table:
    table = Table(title=title)
    table.add_column("outlet")
    for column in COLUMNS:
        table.add_column(column.replace("_", " "), justify="right")
    for outlet in sorted(report.counts):
        row = report.counts[outlet]
        table.add_row(outlet, *(str(row.get(c, 0)) for c in COLUMNS))
    table.add_row("[bold]total", *(f"[bold]{report.total(c)}" for c in COLUMNS))
    return table


def _sources(cli: CliContext, only: list[str]) -> list[Source]:
    try:
        sources = load_sources(cli.settings.crawler.sources_file)
    except (OSError, SourceFileError) as error:
        raise cli.fail(error) from None
    if only:
        wanted = {name.casefold() for name in only}
        sources = [s for s in sources if s.name.casefold() in wanted]
        if not sources:
            raise cli.fail(ValueError(f"no source named {', '.join(only)} in the sources file"))
    return sources


def _parts(only: list[str]) -> frozenset[str]:
    chosen = frozenset(only) or frozenset({"feeds", "pages"})
    unknown = chosen - {"feeds", "pages"}
    if unknown:
        raise typer.BadParameter(f"--only takes feeds or pages, not {', '.join(sorted(unknown))}")
    return chosen


def _run(
    cli: CliContext,
    only: list[str],
    mode: str,
    log_level: str = "WARNING",
    parts: frozenset[str] = frozenset({"feeds", "pages"}),
) -> None:
    # Scrapy, spaCy and the extraction stack load only when a crawl really runs.
    from crawlers.offload import default_page_workers
    from crawlers.run import run_crawl
    from crawlers.services import CrawlServices

    sources = _sources(cli, only)
    try:
        engine = cli.engine()
        apply_layout(engine, cli.services_names(), cli.settings.index)
    except OPERATOR_ERRORS as error:
        raise cli.fail(error) from None
    services = CrawlServices.build(cli.settings, engine)
    title = "diemnong crawl" if mode == "once" else "diemnong watch (Ctrl-C to stop)"
    with Live(
        _report_table(services.report, title), console=cli.console, refresh_per_second=2
    ) as live:
        services.on_tick = lambda: live.update(_report_table(services.report, title))
        run_crawl(
            cli.settings,
            sources,
            engine,
            mode=mode,
            services=services,
            log_level=log_level,
            page_workers=default_page_workers(cli.settings.crawler.page_workers),
        )
        live.update(_report_table(services.report, title))
    failures = services.fetch_log.counts
    if failures:
        cli.console.print(
            "fetch log: "
            + ", ".join(f"{stage} {count}" for stage, count in sorted(failures.items()))
            + " — see 'diemnong sources errors'"
        )
    pending = services.spool.pending()
    if pending:
        cli.console.print(f"{pending} articles wait in the spool for the engine (kept on disk)")
    unlinked = services.backlog.articles_pending()
    if unlinked:
        cli.console.print(
            f"{unlinked} articles wait to be matched against the complaints (kept on disk); "
            "the next crawl or watch does it"
        )


def register(app: typer.Typer) -> None:
    @app.command()
    def crawl(
        ctx: typer.Context,
        source: list[str] = typer.Option([], "--source", "-s", help="Only these outlets."),
        log_level: str = typer.Option("WARNING", help="Scrapy log level (INFO, DEBUG)."),
        only: list[str] = typer.Option([], help="feeds or pages (sitemaps and sections)."),
    ) -> None:
        """One pass over every source's feeds, sitemaps and sections; new articles are indexed."""
        _run(context(ctx), source, "once", log_level.upper(), _parts(only))

    @app.command()
    def watch(
        ctx: typer.Context,
        source: list[str] = typer.Option([], "--source", "-s", help="Only these outlets."),
        log_level: str = typer.Option("WARNING", help="Scrapy log level (INFO, DEBUG)."),
        only: list[str] = typer.Option([], help="feeds or pages (sitemaps and sections)."),
    ) -> None:
        """Keep polling feeds (adaptive intervals) and re-crawl sections; SIGTERM stops cleanly."""
        _run(context(ctx), source, "watch", log_level.upper(), _parts(only))

    @app.command()
    def extract(
        ctx: typer.Context,
        page: str = typer.Argument(..., help="A saved HTML file, or an http(s) URL to fetch."),
        url: str | None = typer.Option(None, help="The page's address, when PAGE is a file."),
    ) -> None:
        """Run the extraction stages on one page and print the article as JSON."""
        from crawlers.encoding import decode_html
        from crawlers.extraction import ExtractionError, article_to_json, extract_article
        from crawlers.safe_fetch import FetchFailed, SafeFetcher

        cli = context(ctx)
        content_type: str | None = None
        try:
            if page.startswith(("http://", "https://")):
                with SafeFetcher(cli.settings.crawler) as fetcher:
                    fetched = fetcher.fetch(page)
                fetched.raise_for_failure()
                body, content_type = fetched.content, fetched.content_type
                url = url or fetched.final_url
            else:
                if not Path(page).is_file():
                    raise FileNotFoundError(f"no such file: {page!r}")
                body = Path(page).read_bytes()
            decoded = decode_html(body, content_type)
            article = extract_article(decoded.text, url)
        except (OSError, FetchFailed, ExtractionError) as error:
            raise cli.fail(error) from None
        result = article_to_json(article)
        result["encoding"] = decoded.encoding
        if article.rejected_dates:
            result["rejected_dates"] = article.rejected_dates
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
