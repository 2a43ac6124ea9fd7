"""The sources file (``sources/vietnam.yaml``): load, validate, save, append, and find by URL.

The file is a YAML list of outlets; each entry becomes an `indexer.models.Source`. A bad entry
fails the whole load with a message naming the outlet and the field, because a crawler that
silently skips an outlet is the "silent gap" press offices fear most. `add_source` appends the
new entry as text so the comments of a hand-kept file survive.

Finding the source of a URL (`SourceIndex.find`): the host decides; when several sources share
a host (the fixture site serves every imitated outlet on one port under ``/<slug>/``) the
longest common path prefix of each source's feeds, sitemaps and sections decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import ValidationError

from indexer.models import Source
from indexer.vietnamese import normalize

HEADER = (
    "# News outlets watched by diemnong: see sources/README.md for the format.\n"
    "# Check them with `diemnong sources check --all`.\n"
)
_FIELDS = tuple(Source.model_fields)
_DOMAIN = re.compile(r"[a-z0-9\u00c0-\u1ef9.-]+(?::\d{1,5})?", re.IGNORECASE)
_PROVINCE_PREFIXES = ("thành phố ", "tp. ", "tp ", "tỉnh ")


class SourceFileError(ValueError):
    """The sources file (or one entry) is not valid; the message names outlet and field."""


def load_sources(path: Path) -> list[Source]:
    """Every source of the file at ``path``, in file order."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise SourceFileError(f"{path}: no such sources file") from None
    return parse_sources(text, origin=str(path))


def parse_sources(text: str, origin: str = "<sources>") -> list[Source]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SourceFileError(f"{origin}: not valid YAML ({error})") from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise SourceFileError(f"{origin}: expected a list of outlets at the top level")
    sources = [_entry(item, number, origin) for number, item in enumerate(data, start=1)]
    check_unique(sources, origin)
    return sources


def _entry(item: Any, number: int, origin: str) -> Source:
    where = f"{origin}: outlet #{number}"
    if not isinstance(item, dict):
        raise SourceFileError(f"{where}: expected a mapping of fields, got {type(item).__name__}")
    name = item.get("name")
    if isinstance(name, str) and name:
        where += f" {name!r}"
    unknown = [str(key) for key in item if key not in _FIELDS]
    if unknown:
        raise SourceFileError(
            f"{where}: unknown field {unknown[0]!r} (fields: {', '.join(_FIELDS)})"
        )
    try:
        source = Source.model_validate(item)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(entry)"
        raise SourceFileError(f"{where}: field {field}: {first['msg']}") from None
    problem = source_problem(source)
    if problem:
        raise SourceFileError(f"{where}: {problem}")
    return source


def source_problem(source: Source) -> str | None:
    """What is wrong with one source beyond its types ("field X: ..."), or None."""
    if not source.name.strip():
        return "field name: must not be empty"
    domain = source.domain
    if "/" in domain or not _DOMAIN.fullmatch(domain):
        return f"field domain: {domain!r} is not a host name like 'vnexpress.net'"
    if source.crawl_interval_s <= 0:
        return "field crawl_interval_s: must be positive"
    if source.province is not None and canonical_province(source.province) is None:
        return (
            f"field province: {source.province!r} is not one of the 34 provinces "
            "(new names since 01/07/2025, e.g. 'Huế', 'Ninh Bình'; null for national outlets)"
        )
    for field in ("feeds", "sitemaps", "sections"):
        for position, url in enumerate(getattr(source, field)):
            problem = _url_problem(url, domain)
            if problem:
                return f"field {field}.{position}: {problem}"
    for position, pattern in enumerate(source.article_patterns):
        try:
            re.compile(pattern)
        except re.error as error:
            return f"field article_patterns.{position}: not a regular expression ({error})"
    return None


def _url_problem(url: str, domain: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{url!r} is not an absolute http(s) URL"
    if not host_matches(parts.netloc, domain):
        return f"{url!r} is not on the outlet's domain {domain!r}"
    return None


def check_unique(sources: Sequence[Source], origin: str = "<sources>") -> None:
    seen: dict[tuple[str, str], int] = {}
    for number, source in enumerate(sources, start=1):
        key = (host_key(source.domain), source.name.strip().casefold())
        if key in seen:
            raise SourceFileError(
                f"{origin}: outlet #{number} {source.name!r}: same name and domain as "
                f"outlet #{seen[key]}"
            )
        seen[key] = number


@lru_cache(maxsize=1)
def _provinces() -> dict[str, str]:
    from vietnam_provinces import Province

    names: dict[str, str] = {}
    for province in Province.iter_all():
        short = _strip_prefix(province.name)
        names[_province_key(province.name)] = short
        names[_province_key(short)] = short
    return names


def _strip_prefix(name: str) -> str:
    lowered = name.lower()
    for prefix in _PROVINCE_PREFIXES:
        if lowered.startswith(prefix):
            return name[len(prefix) :].strip()
    return name.strip()


def _province_key(name: str) -> str:
    return normalize(_strip_prefix(name)).casefold()


def canonical_province(name: str) -> str | None:
    """The short new-map name ("Huế") for any spelling of one of the 34 provinces, else None."""
    return _provinces().get(_province_key(name))


def dump_sources(sources: Iterable[Source]) -> str:
    """YAML text for ``sources`` (fields in model order, empty lists left out)."""
    entries = [_as_entry(source) for source in sources]
    if not entries:
        return HEADER
    return HEADER + "\n" + _yaml(entries)


def _as_entry(source: Source) -> dict[str, Any]:
    data = source.model_dump(mode="json")
    return {key: value for key, value in data.items() if value != []}


def _yaml(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def save_sources(path: Path, sources: Sequence[Source]) -> None:
    """Write the whole file (comments of a hand-kept file are not kept: see `add_source`)."""
    check_unique(sources, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_sources(sources), "utf-8")


def add_source(path: Path, source: Source) -> list[Source]:
    """Append ``source`` to the file at ``path`` (created when missing); returns the new list.

    The entry is appended as text, keeping the file's comments and layout; if the file's
    own indentation would not take the appended entry, the file is rewritten instead.
    """
    problem = source_problem(source)
    if problem:
        raise SourceFileError(f"outlet {source.name!r}: {problem}")
    existing = load_sources(path) if path.exists() else []
    wanted = [*existing, source]
    check_unique(wanted, str(path))
    text = path.read_text("utf-8") if path.exists() else HEADER
    if text and not text.endswith("\n"):
        text += "\n"
    appended = text + "\n" + _yaml([_as_entry(source)])
    try:
        same = parse_sources(appended, str(path)) == wanted
    except SourceFileError:
        same = False
    path.parent.mkdir(parents=True, exist_ok=True)
    if same:
        path.write_text(appended, "utf-8")
    else:
        save_sources(path, wanted)
    return wanted


def host_key(netloc: str) -> str:
    """A host for comparison: lower case, no ``www.``, no default port."""
    host = netloc.lower().rsplit("@", 1)[-1]
    for default in (":80", ":443"):
        host = host.removesuffix(default)
    return host.removeprefix("www.")


def host_matches(netloc: str, domain: str) -> bool:
    """True when ``netloc`` is the outlet's domain or one of its subdomains."""
    host, wanted = host_key(netloc), host_key(domain)
    return host == wanted or (":" not in wanted and host.endswith("." + wanted))


def _directories(path: str) -> list[str]:
    """Directory segments of a URL path: "/a/b/c.rss" -> ["a", "b"]; "/a/b/" -> ["a", "b"]."""
    return [part for part in path.split("/")[1:-1] if part]


def _common(lists: Sequence[list[str]]) -> list[str]:
    if not lists:
        return []
    prefix = list(lists[0])
    for other in lists[1:]:
        size = 0
        while size < min(len(prefix), len(other)) and prefix[size] == other[size]:
            size += 1
        prefix = prefix[:size]
    return prefix


def source_urls(source: Source) -> list[str]:
    return [*source.feeds, *source.sitemaps, *source.sections]


def path_prefix(source: Source) -> str:
    """The longest directory shared by the source's URLs ("/" for a one-URL source)."""
    paths = [urlsplit(url).path or "/" for url in source_urls(source)]
    if len(paths) < 2:
        return "/"
    parts = _common([_directories(path) for path in paths])
    return "/" + "".join(f"{part}/" for part in parts)


def home_url(source: Source) -> str:
    """The outlet's home page: the host and path prefix its URLs share, else its domain."""
    parts = [urlsplit(url) for url in source_urls(source)]
    scheme = parts[0].scheme if parts else "https"
    hosts = {part.netloc for part in parts}
    host = hosts.pop() if len(hosts) == 1 else source.domain
    return f"{scheme}://{host}{path_prefix(source)}"


class SourceIndex:
    """Finds the source a URL belongs to; built once per crawl (patterns compiled once)."""

    def __init__(self, sources: Iterable[Source]) -> None:
        self.sources = list(sources)
        self._prefixes = [path_prefix(source) for source in self.sources]
        self._dirs = [
            [_directories(urlsplit(url).path or "/") for url in source_urls(source)]
            for source in self.sources
        ]
        self._patterns = [
            [re.compile(pattern) for pattern in source.article_patterns] for source in self.sources
        ]

    def by_name(self, name: str) -> list[Source]:
        """Sources whose name is ``name`` (case- and tone-placement-insensitive)."""
        key = normalize(name).casefold()
        return [s for s in self.sources if normalize(s.name).casefold() == key]

    def find(self, url: str) -> Source | None:
        parts = urlsplit(url)
        candidates = [
            i for i, source in enumerate(self.sources) if host_matches(parts.netloc, source.domain)
        ]
        if len(candidates) <= 1:
            return self.sources[candidates[0]] if candidates else None
        path = parts.path or "/"
        dirs = _directories(path)

        def score(i: int) -> tuple[int, int, int, int]:
            exact_host = host_key(parts.netloc) == host_key(self.sources[i].domain)
            prefix = self._prefixes[i]
            under = len(prefix) if path.startswith(prefix) else -1
            shared = max((len(_common([dirs, own])) for own in self._dirs[i]), default=0)
            matched = any(pattern.search(url) for pattern in self._patterns[i])
            return int(exact_host), under, shared, int(matched)

        return self.sources[max(candidates, key=score)]


def find_source(sources: Iterable[Source], url: str) -> Source | None:
    """One-off lookup; build a `SourceIndex` when looking up many URLs."""
    return SourceIndex(sources).find(url)
