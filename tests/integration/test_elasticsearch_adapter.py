"""The engine adapter against a real Elasticsearch node (the integ-test-zip from Maven Central).

One node per module and version (``DIEMNONG_TEST_ES_VERSIONS=8.19.21,9.2.8`` runs both; the
default is 8.19.21), and every call goes through `indexer.adapter.Engine`. The node has neither
analysis-common nor percolator, so the data tests use the built-in ``standard`` analyzer, and
`test_layout_needs_folding_and_percolator_only` names exactly which parts of diemnong's real
layout need a full Elasticsearch distribution.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from diemnong.settings import EngineSettings, IndexSettings, Settings
from indexer.adapter import (
    BulkResult,
    Engine,
    EngineRequestError,
    EngineUnavailable,
    _ElasticsearchBackend,
)
from indexer.ids import article_id
from indexer.layout import IndexNames, index_bodies
from indexer.models import Article
from indexer.writer import article_document
from tests.support.elasticsearch_node import (
    DEFAULT_VERSION,
    ElasticsearchNode,
    ElasticsearchNodeError,
    java_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.elasticsearch]

SEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "seeds"
OUTLETS = ("Báo Thừa Thiên Huế", "Thanh tra", "Tin tức")
ARTICLES = "es-articles"
SCRATCH = "es-scratch"
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
ARTICLE_INDEX = {
    "settings": {"index": {"number_of_shards": 1, "number_of_replicas": 0}},
    "mappings": {
        "dynamic": False,
        "properties": {
            "id": {"type": "keyword"},
            "outlet": {"type": "keyword"},
            "title": {"type": "text", "analyzer": "standard"},
            "body": {"type": "text", "analyzer": "standard"},
            "published_at": {"type": "date"},
        },
    },
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One node per version: DIEMNONG_TEST_ES_VERSIONS is read once, at collection."""
    if "es_version" in metafunc.fixturenames:
        raw = os.environ.get("DIEMNONG_TEST_ES_VERSIONS") or DEFAULT_VERSION
        versions = [v.strip() for v in raw.split(",") if v.strip()]
        metafunc.parametrize("es_version", versions, scope="module", ids=lambda v: f"es{v}")


def connect(url: str, settings: EngineSettings) -> Engine:
    """`Engine.connect`, or the same Engine built by hand while `detect_flavour` needs ``GET /``.

    The integ-test-zip has no rest-root module, so ``GET /`` answers 405;
    `test_connect_detects_elasticsearch_and_its_version` fails until the adapter handles that.
    """
    try:
        return Engine.connect(url, settings)
    except EngineUnavailable:
        info = httpx.get(f"{url}/_nodes/_local", params={"filter_path": "nodes.*.version"}).json()
        number = next(iter(info["nodes"].values()))["version"]
        version = tuple(int(part) for part in number.split("-")[0].split("."))
        backend = _ElasticsearchBackend(url, settings)
        return Engine(backend, "elasticsearch", version, url, settings.max_retries)


@pytest.fixture(scope="module")
def es_url(es_version: str) -> Iterator[str]:
    workdir = Path(tempfile.mkdtemp(prefix="diemnong-es-"))
    cache_dir = Settings(_env_file=None).cache_dir  # type: ignore[call-arg]
    node = ElasticsearchNode(es_version, java_for(es_version).home, workdir, cache_dir=cache_dir)
    try:
        yield node.start()
    finally:
        node.stop()
        leftover = node.running_pids()
        shutil.rmtree(workdir, ignore_errors=True)
    assert leftover == [], f"Elasticsearch processes {leftover} outlived stop()"


@pytest.fixture(scope="module")
def es(es_url: str) -> Iterator[Engine]:
    engine = connect(es_url, EngineSettings())
    yield engine
    engine.close()


def seed_sentences() -> list[str]:
    """The seed articles cut into sentences of four words or more, each once."""
    found: dict[str, None] = {}
    for path in sorted(SEEDS.glob("*.txt")):
        for paragraph in path.read_text("utf-8").splitlines():
            for sentence in re.split(r"(?<=[.!?;:])\s+", paragraph.strip()):
                if len(sentence.split()) >= 4:
                    found.setdefault(sentence, None)
    return list(found)


def seed_documents() -> list[dict[str, Any]]:
    """Each sentence as a story republished by three outlets (a few hundred documents)."""
    docs = []
    for i, sentence in enumerate(seed_sentences()):
        for j, outlet in enumerate(OUTLETS):
            url = f"https://outlet{j}.example.vn/tin/{i}.html"
            published = datetime(2025, 1 + i % 12, 1 + i % 28, 8, tzinfo=UTC)
            article = Article(
                id=article_id(url),
                url=url,
                canonical_url=url,
                outlet=outlet,
                title=sentence[:80],
                body=sentence,
                published_at=published,
                fetched_at=published,
            )
            docs.append(article_document(article))
    return docs


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def has_phrase(text: str, phrase: str) -> bool:
    words, wanted = tokens(text), tokens(phrase)
    return any(words[i : i + len(wanted)] == wanted for i in range(len(words)))


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    return seed_documents()


@pytest.fixture(scope="module")
def loaded(es: Engine, documents: list[dict[str, Any]]) -> BulkResult:
    assert es.create_index(ARTICLES, ARTICLE_INDEX)
    actions = [
        {"_op_type": "create", "_index": ARTICLES, "_id": doc["id"], "_source": doc}
        for doc in [*documents, documents[0]]
    ]
    result = es.bulk(actions, chunk_size=100)
    es.refresh(ARTICLES)
    return result


def test_connect_detects_elasticsearch_and_its_version(es_url: str, es_version: str) -> None:
    try:
        engine = Engine.connect(es_url, EngineSettings())
    except EngineUnavailable as error:
        failure = str(error)
    else:
        failure = ""
    if failure:
        pytest.fail(
            f"Engine.connect failed on a node without GET / (no rest-root module): {failure}; "
            "detect_flavour must fall back to GET /_nodes/_local",
            pytrace=False,
        )
    assert engine.flavour == "elasticsearch"
    assert engine.version == tuple(int(part) for part in es_version.split("."))
    engine.close()


def test_percolator_and_folding_are_missing_from_this_distribution(es: Engine) -> None:
    assert not es.supports_percolator_and_folding, (
        "the integ-test-zip has no percolator module; Engine._has_modules asks /_nodes/modules, "
        "which filters on a node named 'modules' and so sees no node at all"
    )


def test_create_index_exists_and_create_document_once(es: Engine) -> None:
    assert es.create_index(SCRATCH, ARTICLE_INDEX)
    assert not es.create_index(SCRATCH, ARTICLE_INDEX)
    assert es.index_exists(SCRATCH)
    assert not es.index_exists("es-no-such-index")
    doc = {"id": "a1", "outlet": "Thanh tra", "title": "Đơn khiếu nại đông người"}
    assert es.create(SCRATCH, "a1", doc, refresh=True)
    assert not es.create(SCRATCH, "a1", {**doc, "title": "bản sửa"})
    assert es.get(SCRATCH, "a1") == doc


def test_get_and_delete(es: Engine) -> None:
    es.create_index(SCRATCH, ARTICLE_INDEX)
    es.put(SCRATCH, "d1", {"id": "d1", "title": "Điểm nóng ở phường"}, refresh=True)
    assert es.get(SCRATCH, "d1") == {"id": "d1", "title": "Điểm nóng ở phường"}
    assert es.delete(SCRATCH, "d1", refresh=True)
    assert es.get(SCRATCH, "d1") is None
    assert not es.delete(SCRATCH, "d1")


def test_bulk_counts_the_repeated_id_as_duplicate(
    es: Engine, loaded: BulkResult, documents: list[dict[str, Any]]
) -> None:
    assert len(documents) >= 300
    assert loaded.created == len(documents)
    assert loaded.duplicates == 1
    assert loaded.failed == []
    assert es.count(ARTICLES) == len(documents)


@pytest.mark.parametrize("phrase", ["tiếp dân", "khiếu nại", "cấp ủy"])
def test_phrase_with_diacritics_finds_exactly_the_documents_holding_it(
    es: Engine, loaded: BulkResult, documents: list[dict[str, Any]], phrase: str
) -> None:
    expected = {doc["id"] for doc in documents if has_phrase(doc["body"], phrase)}
    assert expected
    found = es.search(
        ARTICLES,
        {"query": {"match_phrase": {"body": phrase}}, "size": 1000, "_source": False},
    )
    assert {hit["_id"] for hit in found["hits"]["hits"]} == expected
    assert es.count(ARTICLES, {"match_phrase": {"body": phrase}}) == len(expected)


def test_without_folding_unaccented_words_find_nothing(es: Engine, loaded: BulkResult) -> None:
    assert es.count(ARTICLES, {"match": {"body": {"query": "tiếp dân", "operator": "and"}}}) > 0
    assert es.count(ARTICLES, {"match": {"body": {"query": "tiep dan", "operator": "and"}}}) == 0


def test_terms_and_date_histogram(
    es: Engine, loaded: BulkResult, documents: list[dict[str, Any]]
) -> None:
    body = {
        "size": 0,
        "aggs": {
            "outlets": {"terms": {"field": "outlet", "size": 10}},
            "months": {
                "date_histogram": {
                    "field": "published_at",
                    "calendar_interval": "month",
                    "time_zone": "Asia/Ho_Chi_Minh",
                    "format": "yyyy-MM",
                    "min_doc_count": 1,
                }
            },
        },
    }
    aggs = es.search(ARTICLES, body)["aggregations"]
    outlets = {b["key"]: b["doc_count"] for b in aggs["outlets"]["buckets"]}
    assert outlets == Counter(doc["outlet"] for doc in documents)
    months = {b["key_as_string"]: b["doc_count"] for b in aggs["months"]["buckets"]}
    expected = Counter(
        datetime.fromisoformat(doc["published_at"]).astimezone(LOCAL).strftime("%Y-%m")
        for doc in documents
    )
    assert months == expected


def test_bad_query_and_missing_index_are_request_errors(es: Engine, loaded: BulkResult) -> None:
    with pytest.raises(EngineRequestError) as bad:
        es.search(ARTICLES, {"query": {"no_such_query": {"body": "x"}}})
    assert (bad.value.status, bad.value.error_type) == (400, "parsing_exception")
    with pytest.raises(EngineRequestError) as missing:
        es.search("es-no-such-index", {"query": {"match_all": {}}})
    assert (missing.value.status, missing.value.error_type) == (404, "index_not_found_exception")


def test_request_timeout_is_engine_unavailable(es_url: str) -> None:
    engine = connect(es_url, EngineSettings(timeout_s=0.5, max_retries=0))
    try:
        with pytest.raises(EngineUnavailable):
            engine.request(
                "GET", "/_cluster/health", params={"wait_for_nodes": "5", "timeout": "5s"}
            )
    finally:
        engine.close()


def test_a_node_that_cannot_start_raises_with_its_log() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="diemnong-es-"))
    cache_dir = Settings(_env_file=None).cache_dir  # type: ignore[call-arg]
    node = ElasticsearchNode(DEFAULT_VERSION, Path("/no/such/jdk"), workdir, cache_dir=cache_dir)
    try:
        with pytest.raises(ElasticsearchNodeError, match="exited during start") as failed:
            node.start()
        assert "/no/such/jdk" in str(failed.value)
    finally:
        node.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    assert node.running_pids() == []


# -- which parts of the real layout this node rejects ------------------------------------


def _attempt(engine: Engine, name: str, body: dict[str, Any]) -> str | None:
    """None when the node takes ``body`` (an index, or an index template), else its reason."""
    is_template = "index_patterns" in body
    try:
        if is_template:
            engine.put_index_template(name, {**body, "index_patterns": [f"{name}-*"]})
        else:
            engine.create_index(name, body)
    except EngineRequestError as error:
        return error.reason
    if is_template:
        engine.request("DELETE", f"/_index_template/{name}")
    else:
        engine.delete_index(name)
    return None


def _index_part(body: dict[str, Any]) -> dict[str, Any]:
    part: dict[str, Any] = body.get("template", body)
    return part


def _analysis(bodies: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The shared analysis block (every body carries the same one)."""
    for body in bodies.values():
        found: dict[str, dict[str, Any]] | None = (
            _index_part(body)["settings"].get("index", {}).get("analysis")
        )
        if found:
            return found
    return {}


def _substitute(node: Any, analyzers: set[str], normalizers: set[str]) -> Any:
    """``node`` with rejected analyzers replaced by ``standard`` and rejected normalizers gone."""
    if isinstance(node, list):
        return [_substitute(item, analyzers, normalizers) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if not isinstance(value, str):
            out[key] = _substitute(value, analyzers, normalizers)
        elif key == "analyzer" and value in analyzers:
            out[key] = "standard"
        elif key != "normalizer" or value not in normalizers:
            out[key] = value
    return out


def layout_rejections(engine: Engine, bodies: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Each part of the layout the node refuses, with its reason.

    Parts are analysis components (``analysis.analyzer.vi_folded``), then fields of the bodies
    still refused without those (``complaints.mappings.query``; a field exactly as in a body
    already accepted is not probed again), and, should anything else be refused, whole bodies.
    """
    analysis = _analysis(bodies)
    rejected: dict[str, str] = {}
    gone: dict[str, set[str]] = {"analyzer": set(), "normalizer": set()}
    accepted: list[tuple[str, Any]] = []
    for kind, components in analysis.items():
        for name, definition in components.items():
            single = {"settings": {"index": {"analysis": {kind: {name: definition}}}}}
            reason = _attempt(engine, "es-probe", single)
            if reason:
                rejected[f"analysis.{kind}.{name}"] = reason
                gone.setdefault(kind, set()).add(name)
    for body_name, raw in bodies.items():
        body = _substitute(copy.deepcopy(raw), gone["analyzer"], gone["normalizer"])
        part = _index_part(body)
        part["settings"]["index"]["analysis"] = {
            kind: {n: d for n, d in comps.items() if n not in gone.get(kind, set())}
            for kind, comps in analysis.items()
        }
        fields = part["mappings"]["properties"]
        probe = f"es-probe-{body_name.replace('_', '-')}"
        if _attempt(engine, probe, body) is None:
            accepted.extend(fields.items())
            continue
        engine.create_index(probe, {"settings": part["settings"]})
        for field, mapping in list(fields.items()):
            if (field, mapping) in accepted:
                continue
            try:
                engine.request("PUT", f"/{probe}/_mapping", body={"properties": {field: mapping}})
            except EngineRequestError as error:
                rejected[f"{body_name}.mappings.{field}"] = error.reason
                del fields[field]
        engine.delete_index(probe)
        reason = _attempt(engine, probe, body)
        if reason:
            rejected[body_name] = reason
    return rejected


def test_layout_needs_folding_and_percolator_only(es: Engine) -> None:
    bodies = index_bodies(IndexNames("es-layout-"), IndexSettings())
    rejected = layout_rejections(es, bodies)
    folding = {
        f"analysis.{kind}.{name}"
        for kind, components in _analysis(bodies).items()
        for name, definition in components.items()
        if "asciifolding" in definition.get("filter", [])
    }
    percolator = {
        f"{body_name}.mappings.{field}"
        for body_name, body in bodies.items()
        for field, mapping in _index_part(body)["mappings"]["properties"].items()
        if mapping.get("type") == "percolator"
    }
    assert folding and percolator
    report = "\n".join(f"{part}: {reason}" for part, reason in sorted(rejected.items()))
    assert set(rejected) == folding | percolator, report
    assert all("asciifolding" in rejected[part] for part in folding), report
    assert all("percolator" in rejected[part] for part in percolator), report
