"""One thin interface over OpenSearch 2.x/3.x and Elasticsearch 8.x/9.x.

Both engines speak the same query DSL; what differs is the client library, its exceptions and
its bulk helper. `Engine.connect` asks ``GET /`` which engine answers and picks the client.
Everything else in diemnong talks to an `Engine`, never to a client library.

Errors: `EngineUnavailable` (cannot reach the engine after retries: callers spool or retry
later) and `EngineRequestError` (the engine answered with an error: a bug or bad input).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

import httpx

from diemnong.settings import EngineSettings

Flavour = Literal["opensearch", "elasticsearch"]
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Connections kept open to the engine: as many as the threads that may call at once (the web
# app runs sync routes on anyio's 40 threads). The client libraries keep 1 (opensearch-py) or
# 10, and open, then drop, a new connection for every concurrent call beyond that.
_POOL_SIZE = 40


class EngineUnavailable(RuntimeError):
    """The engine could not be reached (after retries)."""


class EngineRequestError(RuntimeError):
    """The engine answered with an error status."""

    def __init__(self, status: int, error_type: str, reason: str) -> None:
        super().__init__(f"{status} {error_type}: {reason}")
        self.status = status
        self.error_type = error_type
        self.reason = reason


@dataclass(frozen=True)
class BulkFailure:
    doc_id: str | None
    index: str | None
    status: int
    reason: str


@dataclass
class BulkResult:
    """What a bulk write did: ``duplicates`` are create conflicts (we had it already)."""

    created: int = 0
    duplicates: int = 0
    updated: int = 0
    failed: list[BulkFailure] = field(default_factory=list)

    def merge(self, other: BulkResult) -> None:
        self.created += other.created
        self.duplicates += other.duplicates
        self.updated += other.updated
        self.failed.extend(other.failed)


class _Backend(Protocol):
    def perform(
        self, method: str, path: str, params: Mapping[str, Any] | None, body: Any
    ) -> Any: ...

    def streaming_bulk(
        self, actions: Iterable[dict[str, Any]], chunk_size: int, max_retries: int
    ) -> Iterator[tuple[bool, dict[str, Any]]]: ...

    def close(self) -> None: ...


def _error_details(info: Any, fallback: str) -> tuple[str, str]:
    if isinstance(info, dict):
        error = info.get("error")
        if isinstance(error, dict):
            root = error.get("root_cause") or [error]
            first = root[0] if isinstance(root, list) and root else error
            return str(first.get("type", "error")), str(first.get("reason", fallback))
        if isinstance(error, str):
            return error, fallback
    return "error", fallback


def _item_status(info: Mapping[str, Any]) -> int:
    """A bulk item's HTTP status; 0 when the request never got one (the client says "N/A").

    With ``raise_on_exception=False`` the bulk helpers report a dropped connection per item
    with the status "N/A": that is an engine that went away, not a refused document.
    """
    try:
        return int(info.get("status", 500))
    except (TypeError, ValueError):
        return 0


class _OpenSearchBackend:
    def __init__(self, hosts: list[str], settings: EngineSettings) -> None:
        from opensearchpy import OpenSearch

        auth = None
        if settings.username and settings.password:
            auth = (settings.username, settings.password.get_secret_value())
        self.client = OpenSearch(
            hosts=hosts,
            http_auth=auth,
            verify_certs=settings.verify_certs,
            timeout=settings.timeout_s,
            max_retries=0,
            http_compress=False,
            pool_maxsize=_POOL_SIZE,
        )

    def perform(self, method: str, path: str, params: Mapping[str, Any] | None, body: Any) -> Any:
        from opensearchpy import exceptions as exc

        try:
            return self.client.transport.perform_request(method, path, params=params, body=body)
        except exc.ConnectionError as error:
            raise EngineUnavailable(str(error)) from error
        except exc.TransportError as error:
            status = error.status_code if isinstance(error.status_code, int) else 500
            kind, reason = _error_details(error.info, str(error.error))
            raise EngineRequestError(status, kind, reason) from error

    def streaming_bulk(
        self, actions: Iterable[dict[str, Any]], chunk_size: int, max_retries: int
    ) -> Iterator[tuple[bool, dict[str, Any]]]:
        from opensearchpy import exceptions as exc
        from opensearchpy import helpers

        try:
            yield from helpers.streaming_bulk(
                self.client,
                actions,
                chunk_size=chunk_size,
                raise_on_error=False,
                raise_on_exception=False,
                max_retries=max_retries,
                initial_backoff=1,
            )
        except exc.ConnectionError as error:
            raise EngineUnavailable(str(error)) from error

    def close(self) -> None:
        self.client.close()


class _ElasticsearchBackend:
    _HEADERS: ClassVar[dict[str, str]] = {
        "accept": "application/json",
        "content-type": "application/json",
    }

    def __init__(self, hosts: list[str], settings: EngineSettings) -> None:
        from elasticsearch import Elasticsearch

        auth = None
        if settings.username and settings.password:
            auth = (settings.username, settings.password.get_secret_value())
        self.client = Elasticsearch(
            hosts,
            basic_auth=auth,
            verify_certs=settings.verify_certs,
            request_timeout=settings.timeout_s,
            max_retries=0,
            connections_per_node=_POOL_SIZE,
        )

    def perform(self, method: str, path: str, params: Mapping[str, Any] | None, body: Any) -> Any:
        import elastic_transport
        from elasticsearch import ApiError

        try:
            response = self.client.perform_request(
                method, path, params=params, headers=self._HEADERS, body=body
            )
        except (elastic_transport.ConnectionError, elastic_transport.ConnectionTimeout) as error:
            raise EngineUnavailable(str(error)) from error
        except ApiError as error:
            kind, reason = _error_details(error.body, error.message)
            raise EngineRequestError(error.status_code, kind, reason) from error
        if method == "HEAD" and response.meta.status == 404:
            # the client answers a HEAD 404 with False instead of raising; callers expect 404
            raise EngineRequestError(404, "not_found", f"HEAD {path}: not found")
        return response.body

    def streaming_bulk(
        self, actions: Iterable[dict[str, Any]], chunk_size: int, max_retries: int
    ) -> Iterator[tuple[bool, dict[str, Any]]]:
        import elastic_transport
        from elasticsearch import helpers

        try:
            yield from helpers.streaming_bulk(
                self.client,
                actions,
                chunk_size=chunk_size,
                raise_on_error=False,
                raise_on_exception=False,
                max_retries=max_retries,
                initial_backoff=1,
            )
        except (elastic_transport.ConnectionError, elastic_transport.ConnectionTimeout) as error:
            raise EngineUnavailable(str(error)) from error

    def close(self) -> None:
        self.client.close()


def engine_hosts(url: str) -> list[str]:
    """The node URLs of an engine setting: one URL, or several separated by commas."""
    hosts = [part.strip().rstrip("/") for part in url.split(",") if part.strip()]
    if not hosts:
        raise EngineUnavailable("no engine URL given")
    return hosts


def detect_flavour(url: str, settings: EngineSettings) -> tuple[Flavour, tuple[int, ...]]:
    """Ask ``GET /`` which engine and version answers, at the first of the URLs that does."""
    hosts = engine_hosts(url)
    for host in hosts[:-1]:
        try:
            return _detect_flavour(host, settings)
        except EngineUnavailable:
            continue
    return _detect_flavour(hosts[-1], settings)


def _detect_flavour(url: str, settings: EngineSettings) -> tuple[Flavour, tuple[int, ...]]:
    auth = None
    if settings.username and settings.password:
        auth = (settings.username, settings.password.get_secret_value())
    options: dict[str, Any] = {
        "auth": auth,
        "verify": settings.verify_certs,
        "timeout": settings.timeout_s,
    }
    try:
        resp = httpx.get(url, **options)
        if resp.status_code in (404, 405) and resp.headers.get("X-Elastic-Product"):
            # Minimal Elasticsearch distributions do not serve GET /: ask the local node.
            nodes = httpx.get(
                f"{url}/_nodes/_local", params={"filter_path": "nodes.*.version"}, **options
            )
            nodes.raise_for_status()
            found = list(nodes.json().get("nodes", {}).values())
            number = found[0]["version"] if found else "0"
            return "elasticsearch", tuple(int(p) for p in number.split("-")[0].split("."))
        resp.raise_for_status()
        info = resp.json()
    except (httpx.HTTPError, ValueError, KeyError) as error:
        raise EngineUnavailable(f"no search engine answers at {url}: {error}") from error
    version = info.get("version", {})
    number = tuple(int(p) for p in str(version.get("number", "0")).split("-")[0].split("."))
    if version.get("distribution") == "opensearch":
        return "opensearch", number
    return "elasticsearch", number


class Engine:
    """The search engine as diemnong uses it. One instance per process, injected."""

    def __init__(
        self,
        backend: _Backend,
        flavour: Flavour,
        version: tuple[int, ...],
        url: str,
        max_retries: int = 3,
    ) -> None:
        self._backend = backend
        self.flavour = flavour
        self.version = version
        self.url = url
        self.max_retries = max_retries

    @classmethod
    def connect(cls, url: str, settings: EngineSettings) -> Engine:
        """Connect to one node or, with comma-separated URLs, to a cluster's nodes in turn."""
        flavour, version = detect_flavour(url, settings)
        hosts = engine_hosts(url)
        if flavour == "opensearch":
            backend: _Backend = _OpenSearchBackend(hosts, settings)
        else:
            backend = _ElasticsearchBackend(hosts, settings)
        return cls(backend, flavour, version, url, settings.max_retries)

    def close(self) -> None:
        self._backend.close()

    @property
    def supports_percolator_and_folding(self) -> bool:
        """Full distributions have both; the Elasticsearch integ-test-zip has neither."""
        return self.flavour == "opensearch" or self._has_modules({"percolator", "analysis-common"})

    def _has_modules(self, names: set[str]) -> bool:
        info = self.request(
            "GET", "/_nodes/plugins", params={"filter_path": "nodes.*.modules.name"}
        )
        nodes = list(info.get("nodes", {}).values())
        return bool(nodes) and all(
            names <= {m.get("name") for m in node.get("modules", [])} for node in nodes
        )

    # -- raw request with retries --------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """One REST call; retries connection errors and 429/5xx-busy with backoff."""
        delay = 0.5
        for attempt in range(self.max_retries + 1):
            try:
                return self._backend.perform(method, path, params, body)
            except EngineUnavailable:
                if attempt == self.max_retries:
                    raise
            except EngineRequestError as error:
                if error.status not in _RETRY_STATUSES or attempt == self.max_retries:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 8.0)
        raise AssertionError("unreachable")

    # -- documents -----------------------------------------------------------------------
    def create(
        self, index: str, doc_id: str, doc: Mapping[str, Any], refresh: bool = False
    ) -> bool:
        """Write a new document; False when one with that id exists already."""
        params = {"refresh": "true"} if refresh else None
        try:
            self.request("PUT", f"/{index}/_create/{doc_id}", body=dict(doc), params=params)
        except EngineRequestError as error:
            if error.status == 409:
                return False
            raise
        return True

    def put(self, index: str, doc_id: str, doc: Mapping[str, Any], refresh: bool = False) -> None:
        params = {"refresh": "true"} if refresh else None
        self.request("PUT", f"/{index}/_doc/{doc_id}", body=dict(doc), params=params)

    def get_versioned(self, index: str, doc_id: str) -> tuple[dict[str, Any], int, int] | None:
        """A document with the (seq_no, primary_term) it was read at, for `put_if_unchanged`."""
        try:
            found: dict[str, Any] = self.request("GET", f"/{index}/_doc/{doc_id}")
        except EngineRequestError as error:
            if error.status == 404:
                return None
            raise
        if not found.get("found"):
            return None
        return found["_source"], int(found["_seq_no"]), int(found["_primary_term"])

    def put_if_unchanged(
        self,
        index: str,
        doc_id: str,
        doc: Mapping[str, Any],
        seq_no: int,
        primary_term: int,
        refresh: str | None = None,
    ) -> bool:
        """Optimistic concurrency: write only if nobody wrote since the versioned read.

        False on a conflict; the caller reads again, re-applies its change and retries.
        """
        params: dict[str, Any] = {"if_seq_no": seq_no, "if_primary_term": primary_term}
        if refresh:
            params["refresh"] = refresh
        try:
            self.request("PUT", f"/{index}/_doc/{doc_id}", body=dict(doc), params=params)
        except EngineRequestError as error:
            if error.status == 409:
                return False
            raise
        return True

    def get(self, index: str, doc_id: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.request("GET", f"/{index}/_doc/{doc_id}")
        except EngineRequestError as error:
            if error.status == 404:
                return None
            raise
        return found.get("_source") if found.get("found") else None

    def delete(self, index: str, doc_id: str, refresh: bool = False) -> bool:
        params = {"refresh": "true"} if refresh else None
        try:
            self.request("DELETE", f"/{index}/_doc/{doc_id}", params=params)
        except EngineRequestError as error:
            if error.status == 404:
                return False
            raise
        return True

    def bulk(
        self, actions: Iterable[dict[str, Any]], chunk_size: int = 500, max_retries: int = 3
    ) -> BulkResult:
        """Stream bulk actions; 429s are retried with backoff, conflicts count as duplicates."""
        result = BulkResult()
        for ok, item in self._backend.streaming_bulk(actions, chunk_size, max_retries):
            op, info = next(iter(item.items()))
            status = _item_status(info)
            if ok and op == "create":
                result.created += 1
            elif ok:
                result.updated += 1
            elif status == 409 and op == "create":
                result.duplicates += 1
            else:
                kind, reason = _error_details(info, str(info.get("error", "unknown")))
                if status >= 500 or status in (0, 429) or kind == "ConnectionError":
                    raise EngineUnavailable(f"bulk write failed: {kind}: {reason}")
                result.failed.append(
                    BulkFailure(info.get("_id"), info.get("_index"), status, f"{kind}: {reason}")
                )
        return result

    # -- search --------------------------------------------------------------------------
    def search(
        self, index: str, body: Mapping[str, Any], params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        found: dict[str, Any] = self.request(
            "POST", f"/{index}/_search", body=dict(body), params=params
        )
        return found

    def count(self, index: str, query: Mapping[str, Any] | None = None) -> int:
        body = {"query": dict(query)} if query else None
        found = self.request("POST", f"/{index}/_count", body=body)
        return int(found["count"])

    def refresh(self, index: str) -> None:
        self.request("POST", f"/{index}/_refresh")

    # -- indices -------------------------------------------------------------------------
    def index_exists(self, name: str) -> bool:
        """HEAD answers False (opensearch-py) or raises 404 (other clients) when absent."""
        try:
            return bool(self.request("HEAD", f"/{name}"))
        except EngineRequestError as error:
            if error.status == 404:
                return False
            raise

    def create_index(self, name: str, body: Mapping[str, Any] | None = None) -> bool:
        """Create an index; False when it exists already (idempotent)."""
        try:
            self.request("PUT", f"/{name}", body=dict(body or {}))
        except EngineRequestError as error:
            if error.error_type == "resource_already_exists_exception":
                return False
            raise
        return True

    def delete_index(self, name: str) -> None:
        try:
            self.request("DELETE", f"/{name}", params={"ignore_unavailable": "true"})
        except EngineRequestError as error:
            if error.status != 404:
                raise

    def put_index_template(self, name: str, body: Mapping[str, Any]) -> None:
        self.request("PUT", f"/_index_template/{name}", body=dict(body))

    def health(self, wait_for: str | None = None, timeout_s: float = 30.0) -> dict[str, Any]:
        # The wait goes in the path: opensearch-py would take a `timeout` parameter for its own.
        path = "/_cluster/health"
        if wait_for:
            path += f"?wait_for_status={wait_for}&timeout={int(timeout_s * 1000)}ms"
        found: dict[str, Any] = self.request("GET", path)
        return found
