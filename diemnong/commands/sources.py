"""`diemnong sources list|add|check|errors`: the outlets watched, their health, the fetch log.

`check` exits 2 when an outlet has a problem (unreachable, malformed or silent feed, robots.txt
forbidding a configured URL), so it can run from cron and page someone.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from crawlers.source_check import SourceChecker, SourceReport, format_age
from crawlers.sources import SourceFileError, SourceIndex, add_source, load_sources
from crawlers.url_safety import UnsafeURL, check_url
from diemnong.commands.context import OPERATOR_ERRORS, CliContext, context
from indexer.layout import IndexNames
from indexer.models import OutletKind, Source

app = typer.Typer(
    help="News outlets: list, add, check their feeds, and read the crawler's fetch errors.",
    no_args_is_help=True,
)

EXIT_PROBLEMS = 2
_DATE = "%d/%m/%Y %H:%M"


def _load(cli: CliContext) -> list[Source]:
    try:
        return load_sources(cli.settings.crawler.sources_file)
    except SourceFileError as error:
        raise cli.fail(error) from None


@app.command("list")
def list_sources(ctx: typer.Context) -> None:
    """The outlets of the sources file, in file order."""
    cli = context(ctx)
    sources = _load(cli)
    table = Table(title=f"{len(sources)} outlets in {cli.settings.crawler.sources_file}")
    for column in ("Outlet", "Kind", "Province", "Domain"):
        table.add_column(column)
    for column in ("Feeds", "Sitemaps", "Sections"):
        table.add_column(column, justify="right")
    for source in sources:
        table.add_row(
            source.name,
            source.kind.value,
            source.province or "-",
            source.domain,
            str(len(source.feeds)),
            str(len(source.sitemaps)),
            str(len(source.sections)),
        )
    cli.console.print(table)


@app.command()
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="The outlet's name as readers know it.")],
    domain: Annotated[str, typer.Option(help="Its host, e.g. baonghean.vn.")],
    kind: Annotated[OutletKind, typer.Option(help="What the outlet is.")] = OutletKind.OTHER,
    province: Annotated[
        str | None, typer.Option(help="One of the 34 provinces; leave out for national.")
    ] = None,
    feed: Annotated[list[str] | None, typer.Option(help="An RSS/Atom feed (repeatable).")] = None,
    sitemap: Annotated[list[str] | None, typer.Option(help="A sitemap (repeatable).")] = None,
    section: Annotated[list[str] | None, typer.Option(help="A section page (repeatable).")] = None,
    pattern: Annotated[
        list[str] | None, typer.Option(help="Regex of article URLs (repeatable).")
    ] = None,
    interval: Annotated[int, typer.Option(help="Seconds between crawls.")] = 3600,
) -> None:
    """Append an outlet to the sources file; URLs that point inside the network are refused."""
    cli = context(ctx)
    source = Source(
        name=name,
        domain=domain,
        kind=kind,
        province=province,
        feeds=feed or [],
        sitemaps=sitemap or [],
        sections=section or [],
        article_patterns=pattern or [],
        crawl_interval_s=interval,
    )
    allow_loopback = cli.settings.crawler.allow_loopback
    path = cli.settings.crawler.sources_file
    try:
        check_url(f"http://{domain}/", allow_loopback)
        for url in (*source.feeds, *source.sitemaps, *source.sections):
            check_url(url, allow_loopback)
        sources = add_source(path, source)
    except (UnsafeURL, SourceFileError) as error:
        raise cli.fail(error) from None
    cli.console.print(f"added {source.name!r} to {path} ({len(sources)} outlets)")


@app.command()
def check(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="An outlet's name or domain.")] = None,
    all_sources: Annotated[bool, typer.Option("--all", help="Check every outlet.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, not a table.")] = False,
) -> None:
    """Reach each outlet: home page, robots.txt, feeds (malformed? silent?), sitemaps, sections."""
    cli = context(ctx)
    sources = _load(cli)
    if all_sources == (name is not None):
        raise cli.fail(ValueError("give one outlet name or --all"))
    if name is not None:
        index = SourceIndex(sources)
        sources = index.by_name(name) or [s for s in sources if s.domain == name.lower()]
        if not sources:
            raise cli.fail(ValueError(f"no outlet named {name!r} (see 'diemnong sources list')"))
    with SourceChecker(cli.settings) as checker:
        reports = checker.check_all(sources)
    if as_json:
        payload = [report.to_json() for report in reports]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        cli.console.print(_check_table(reports))
    if any(report.problems for report in reports):
        raise typer.Exit(code=EXIT_PROBLEMS)


def _check_table(reports: list[SourceReport]) -> Table:
    table = Table(title="Outlet health", show_lines=True)
    for column in ("Outlet", "Home", "robots.txt", "Feeds ok", "Entries", "Newest", "Age"):
        table.add_column(column)
    table.add_column("Sitemaps ok")
    table.add_column("Problems / notes", overflow="fold")
    for report in reports:
        feeds_ok = [f for f in report.feeds if not f.error and not f.bozo and not f.silent]
        dated = [f for f in report.feeds if f.newest is not None]
        newest = max(dated, key=lambda f: f.newest or datetime.min) if dated else None
        maps_ok = [s for s in report.sitemaps if not s.error and (s.status or 0) < 400]
        robots = {True: "yes", False: "absent", None: f"error {report.robots_status or ''}"}
        site = "{0.scheme}://{0.netloc}".format(urlsplit(report.home_url))
        lines = [f"[red]{p}[/]" for p in report.problems] + [f"[dim]{n}[/]" for n in report.notes]
        lines = [line.replace(site, "") for line in lines]
        table.add_row(
            report.name,
            report.home_error or str(report.home_status),
            robots[report.robots_present],
            f"{len(feeds_ok)}/{len(report.feeds)}",
            str(sum(f.entries for f in report.feeds)),
            newest.newest.strftime(_DATE) if newest and newest.newest else "-",
            format_age(newest.age_s) if newest else "-",
            f"{len(maps_ok)}/{len(report.sitemaps)}",
            "\n".join(lines) or "[green]ok[/]",
        )
    return table


# -- the fetch log ---------------------------------------------------------------------------


@app.command()
def errors(
    ctx: typer.Context,
    outlet: Annotated[str | None, typer.Option(help="Only this outlet (its name).")] = None,
    stage: Annotated[
        str | None, typer.Option(help="Only this stage (download, feed, extract ...).")
    ] = None,
    since: Annotated[float | None, typer.Option(help="Only the last N hours.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 50,
) -> None:
    """The crawler's fetch log: failed downloads, bad feeds, failed extractions."""
    show_errors(context(ctx), outlet, stage, limit, since_h=since)


def fetch_log_query(
    outlet: str | None, stage: str | None, limit: int, since_h: float | None = None
) -> dict[str, Any]:
    """Newest first, filtered by outlet, stage and age (the fetch-log index's keyword fields)."""
    filters: list[dict[str, Any]] = []
    if outlet:
        filters.append({"term": {"outlet": outlet}})
    if stage:
        filters.append({"term": {"stage": stage}})
    if since_h is not None:
        filters.append({"range": {"at": {"gte": f"now-{max(1, round(since_h * 60))}m"}}})
    return {
        "size": limit,
        "sort": [{"at": {"order": "desc"}}],
        "query": {"bool": {"filter": filters}},
    }


def show_errors(
    cli: CliContext,
    outlet: str | None,
    stage: str | None,
    limit: int,
    since_h: float | None = None,
) -> None:
    names = IndexNames(cli.settings.index.prefix)
    try:
        engine = cli.engine()
        try:
            if not engine.index_exists(names.fetch_log):
                raise cli.fail(ValueError("no fetch log yet: run 'diemnong setup' and a crawl"))
            found = engine.search(names.fetch_log, fetch_log_query(outlet, stage, limit, since_h))
        finally:
            engine.close()
    except OPERATOR_ERRORS as error:
        raise cli.fail(error) from None
    hits = found["hits"]["hits"]
    total = found["hits"]["total"]
    total_n = total["value"] if isinstance(total, dict) else total
    tz = ZoneInfo(cli.settings.timezone)
    table = Table(title=f"Fetch log: {len(hits)} of {total_n} (newest first)")
    for column in ("At", "Outlet", "Stage", "Status"):
        table.add_column(column, no_wrap=True)
    table.add_column("Reason", overflow="fold")
    table.add_column("URL", overflow="fold")
    for hit in hits:
        entry = hit["_source"]
        table.add_row(
            _local(entry.get("at"), tz),
            entry.get("outlet") or "-",
            entry.get("stage", ""),
            str(entry["status"]) if entry.get("status") is not None else "-",
            entry.get("reason", ""),
            entry.get("url", ""),
        )
    cli.console.print(table)


def _local(stamp: str | None, tz: ZoneInfo) -> str:
    if not stamp:
        return "-"
    try:
        return datetime.fromisoformat(stamp).astimezone(tz).strftime(_DATE)
    except ValueError:
        return stamp
