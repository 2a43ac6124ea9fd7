"""Vietnamese search behaviour on the real engine, from tests/fixtures/vietnamese_pairs.json."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from indexer.adapter import Engine
from indexer.ids import article_id
from indexer.layout import IndexNames
from indexer.models import Article
from indexer.text_query import TEXT_FIELDS, text_match, text_query
from indexer.vietnamese import fold, normalize
from indexer.writer import ArticleWriter
from tests.conftest import FIXTURES

pytestmark = pytest.mark.engine
CASES = json.loads((FIXTURES / "vietnamese_pairs.json").read_text("utf-8"))


def _article(key: str, text: str) -> Article:
    url = f"https://pairs.test/{key}"
    return Article(
        id=article_id(url),
        url=url,
        canonical_url=url,
        outlet="pairs",
        title=text,
        fetched_at=datetime.now(UTC),
    )


@pytest.fixture(scope="module")
def indexed(engine: Engine, tmp_path_factory: pytest.TempPathFactory):
    from diemnong.settings import IndexSettings
    from indexer.layout import apply_layout, drop_layout

    names = IndexNames(f"tpairs{tmp_path_factory.getbasetemp().name[-6:]}-".lower())
    apply_layout(engine, names, IndexSettings())
    docs: dict[str, Article] = {}
    for i, case in enumerate(CASES["pairs"]):
        docs[f"p{i}"] = _article(f"p{i}", case["text"])
    for i, group in enumerate(CASES["ranking"]):
        for j, text in enumerate(group["rank"]):
            docs[f"r{i}-{j}"] = _article(f"r{i}-{j}", text)
    result = ArticleWriter(engine, names).write(list(docs.values()), refresh=True)
    assert result.failed == []
    yield names, {key: a.id for key, a in docs.items()}
    drop_layout(engine, names)


def _ids_matching(engine: Engine, names: IndexNames, query: dict, within: list[str]) -> list[str]:
    body = {"query": {"bool": {"must": [query], "filter": [{"ids": {"values": within}}]}}}
    found = engine.search(names.articles, body)
    return [hit["_id"] for hit in found["hits"]["hits"]]


def test_there_are_enough_pairs() -> None:
    assert len(CASES["pairs"]) >= 20
    assert any(c["query"] != normalize(c["query"]) for c in CASES["pairs"])  # NFD or old tone


@pytest.mark.parametrize(
    "index", range(len(CASES["pairs"])), ids=[c["query"] for c in CASES["pairs"]]
)
def test_pair(engine: Engine, indexed, index: int) -> None:
    names, ids = indexed
    case = CASES["pairs"][index]
    doc_id = ids[f"p{index}"]
    hits = _ids_matching(engine, names, text_query(case["query"]), [doc_id])
    assert (hits == [doc_id]) is case["match"], case["note"]


@pytest.mark.parametrize(
    "index",
    [
        i
        for i, c in enumerate(CASES["pairs"])
        if c["match"] and fold(c["query"]) != c["query"].lower()
    ],
)
def test_diacritic_queries_match_the_exact_field(engine: Engine, indexed, index: int) -> None:
    """Tone placement and NFD are normalised on both sides, so the exact field matches too."""
    names, ids = indexed
    case = CASES["pairs"][index]
    exact_only = {
        "simple_query_string": {
            "query": normalize(case["query"]),
            "fields": list(TEXT_FIELDS),
            "default_operator": "and",
        }
    }
    doc_id = ids[f"p{index}"]
    assert _ids_matching(engine, names, exact_only, [doc_id]) == [doc_id], case["note"]


@pytest.mark.parametrize(
    "index", range(len(CASES["ranking"])), ids=[c["query"] for c in CASES["ranking"]]
)
def test_exact_diacritics_rank_first(engine: Engine, indexed, index: int) -> None:
    names, ids = indexed
    group = CASES["ranking"][index]
    within = [ids[f"r{index}-{j}"] for j in range(len(group["rank"]))]
    hits = _ids_matching(engine, names, text_query(group["query"]), within)
    assert hits == within, group["note"]


SELECTING_QUERIES = [
    *(c["query"] for c in CASES["pairs"]),
    *(group["query"] for group in CASES["ranking"]),
    '"khiếu nại" -"Thanh Trì"',
    "khiếu* | đất",
    "khieu* +dai",
]


@pytest.mark.parametrize("query", SELECTING_QUERIES)
def test_the_folded_fields_alone_select_the_same_documents(
    engine: Engine, indexed, query: str
) -> None:
    """Counting and filtering ask only the folded fields (`text_match(exact=False)`)."""
    names, _ = indexed

    def selected(query_body: dict) -> set[str]:
        body = {"query": {"bool": {"filter": [query_body]}}, "size": 1000, "_source": False}
        return {hit["_id"] for hit in engine.search(names.articles, body)["hits"]["hits"]}

    both = selected(text_match(query))
    assert selected(text_match(query, exact=False)) == both
