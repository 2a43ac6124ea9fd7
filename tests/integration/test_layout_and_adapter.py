"""The index layout and the adapter against the real engine (OpenSearch)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from diemnong.settings import IndexSettings
from indexer.adapter import Engine, EngineRequestError
from indexer.ids import article_id
from indexer.layout import IndexNames, apply_layout, index_bodies, load_template
from indexer.models import Article
from indexer.writer import ArticleWriter

pytestmark = pytest.mark.engine


def make_article(url: str, title: str, body: str, published: datetime | None = None) -> Article:
    now = datetime.now(UTC)
    return Article(
        id=article_id(url),
        url=url,
        canonical_url=url,
        outlet="Báo Thử nghiệm",
        title=title,
        body=body,
        published_at=published or now,
        fetched_at=now,
    )


def test_setup_is_idempotent(engine: Engine, settings, names: IndexNames) -> None:
    try:
        first = apply_layout(engine, names, settings.index)
        second = apply_layout(engine, names, settings.index)
        assert names.complaints in first and names.alerts in first
        assert second == []
        mapping = engine.request("GET", f"/{names.complaints}/_mapping")
        props = mapping[names.complaints]["mappings"]["properties"]
        assert props["query"]["type"] == "percolator"
        assert props["title"]["fields"]["folded"]["analyzer"] == "vi_folded"
        aliases = engine.request("GET", f"/_alias/{names.articles}")
        assert all(index.startswith(f"{names.prefix}articles-") for index in aliases)
    finally:
        from indexer.layout import drop_layout

        drop_layout(engine, names)


def test_article_refresh_interval_follows_the_setting(engine: Engine, names: IndexNames) -> None:
    """New monthly indices get it from the template; existing ones when setup runs again."""
    try:
        apply_layout(engine, names, IndexSettings(prefix=names.prefix, article_refresh_s=7))
        older = names.article_index(datetime(2024, 1, 15, tzinfo=UTC))
        engine.create_index(older)
        apply_layout(engine, names, IndexSettings(prefix=names.prefix, article_refresh_s=2.5))
        found = engine.request("GET", f"/{names.article_pattern}/_settings/index.refresh_interval")
        assert {i: v["settings"]["index"]["refresh_interval"] for i, v in found.items()} == {
            older: "2500ms",
            names.article_index(datetime.now(UTC)): "2500ms",
        }
    finally:
        from indexer.layout import drop_layout

        drop_layout(engine, names)


def test_layout_is_built_from_the_template_files() -> None:
    bodies = index_bodies(IndexNames("x-"), IndexSettings())
    fields = load_template("article_fields")["properties"]
    template_props = bodies["articles_template"]["template"]["mappings"]["properties"]
    assert template_props == fields
    assert bodies["articles_template"]["index_patterns"] == ["x-articles-*"]
    assert set(fields) <= set(bodies["complaints"]["mappings"]["properties"])


def test_create_counts_a_refetch_as_duplicate(engine: Engine, layout: IndexNames) -> None:
    index = layout.article_index(datetime.now(UTC))
    doc = {"id": "a1", "title": "Khiếu nại đất đai", "fetched_at": datetime.now(UTC).isoformat()}
    assert engine.create(index, "a1", doc, refresh=True) is True
    assert engine.create(index, "a1", doc, refresh=True) is False
    assert engine.count(layout.articles) == 1
    assert engine.get(index, "a1")["title"] == "Khiếu nại đất đai"
    assert engine.delete(index, "a1", refresh=True) is True
    assert engine.get(index, "a1") is None


def test_writer_bulk_is_idempotent_across_months(engine: Engine, layout: IndexNames) -> None:
    writer = ArticleWriter(engine, layout, chunk_size=50)
    base = datetime(2026, 10, 15, tzinfo=UTC)
    articles = [
        make_article(
            f"https://baothu.vn/bai-{i}.html",
            f"Bài {i}: người dân phản ánh ô nhiễm",
            "Người dân xã Tả Thanh Oai phản ánh tình trạng ô nhiễm kéo dài. " * 5,
            base + timedelta(days=i % 40),
        )
        for i in range(120)
    ]
    first = writer.write(articles, refresh=True)
    assert (first.created, first.duplicates, first.failed) == (120, 0, [])
    moved = [a.model_copy(update={"published_at": base + timedelta(days=70)}) for a in articles]
    again = writer.write(moved + articles[:5], refresh=True)
    assert again.created == 0
    assert again.duplicates == 125
    assert engine.count(layout.articles) == 120
    indices = engine.request(
        "GET", f"/_cat/indices/{layout.article_pattern}", params={"format": "json"}
    )
    assert len(indices) >= 2


def test_search_aggregation_and_bad_query(engine: Engine, layout: IndexNames) -> None:
    writer = ArticleWriter(engine, layout)
    outlets = ["Tuổi Trẻ", "Dân Trí", "Tuổi Trẻ"]
    articles = [
        make_article(
            f"https://x.vn/{i}", f"Thu hồi đất ở Thanh Trì {i}", "Bồi thường, tái định cư."
        ).model_copy(update={"outlet": outlet})
        for i, outlet in enumerate(outlets)
    ]
    writer.write(articles, refresh=True)
    found = engine.search(
        layout.articles,
        {
            "query": {"match": {"title.folded": "thu hoi dat"}},
            "aggs": {"outlets": {"terms": {"field": "outlet"}}},
        },
    )
    assert found["hits"]["total"]["value"] == 3
    buckets = {b["key"]: b["doc_count"] for b in found["aggregations"]["outlets"]["buckets"]}
    assert buckets == {"Tuổi Trẻ": 2, "Dân Trí": 1}
    with pytest.raises(EngineRequestError) as caught:
        engine.search(layout.articles, {"query": {"no_such_query": {}}})
    assert caught.value.status == 400


def test_percolator_round_trip(engine: Engine, layout: IndexNames) -> None:
    query = {
        "bool": {
            "must": [
                {"match_phrase": {"body.folded": "ta thanh oai"}},
                {"match": {"body.folded": {"query": "thu hoi dat", "operator": "and"}}},
            ]
        }
    }
    engine.put(layout.complaints, "KN-1", {"case_number": "KN-1", "query": query}, refresh=True)
    engine.put(
        layout.complaints,
        "KN-2",
        {"case_number": "KN-2", "query": {"match_phrase": {"body.folded": "cau giay"}}},
        refresh=True,
    )
    doc = {"body": "Dân xã Tả Thanh Oai khiếu nại việc thu hồi đất làm đường."}
    found = engine.search(
        layout.complaints, {"query": {"percolate": {"field": "query", "document": doc}}}
    )
    assert [hit["_id"] for hit in found["hits"]["hits"]] == ["KN-1"]


def test_index_exists_tells_the_truth(engine: Engine, layout: IndexNames) -> None:
    assert engine.index_exists(layout.complaints) is True
    assert engine.index_exists(f"{layout.prefix}no-such-index") is False
    assert engine.supports_percolator_and_folding is True


def test_put_if_unchanged_refuses_a_stale_version(engine: Engine, layout: IndexNames) -> None:
    engine.put(layout.alerts, "cas", {"id": "cas", "title": "một"}, refresh=True)
    read = engine.get_versioned(layout.alerts, "cas")
    assert read is not None
    _, seq_no, term = read
    assert engine.put_if_unchanged(
        layout.alerts, "cas", {"id": "cas", "title": "hai"}, seq_no, term
    )
    stale = {"id": "cas", "title": "ba"}
    assert engine.put_if_unchanged(layout.alerts, "cas", stale, seq_no, term) is False
    assert engine.get(layout.alerts, "cas") == {"id": "cas", "title": "hai"}
    assert engine.get_versioned(layout.alerts, "missing") is None


def _refreshes(engine: Engine, names: IndexNames) -> int:
    found = engine.request(
        "GET",
        f"/{names.articles}/_stats/refresh",
        params={"filter_path": "_all.total.refresh.external_total"},
    )
    return int(found["_all"]["total"]["refresh"]["external_total"])


def test_demote_by_id_where_the_index_is_known_and_by_query_elsewhere(
    engine: Engine, layout: IndexNames
) -> None:
    """`crawlers.index_stage.demote`: a known index is updated by id with no refresh; an id
    not found there, or of unknown index, is still demoted through the ids query."""
    from crawlers.index_stage import demote

    writer = ArticleWriter(engine, layout)
    nov, oct_ = datetime(2026, 11, 5, tzinfo=UTC), datetime(2026, 10, 5, tzinfo=UTC)
    articles = {
        key: make_article(
            f"https://baothu.vn/{key}.html", f"Bài {key}", "Nội dung.", when
        ).model_copy(update={"story_cluster_id": "cum-1", "is_original": True})
        for key, when in (("a", nov), ("moved", nov), ("old", oct_), ("b", nov))
    }
    assert writer.write(list(articles.values()), refresh=True).created == 4
    ids = {key: a.id for key, a in articles.items()}
    known = {
        ids["a"]: writer.index_for(articles["a"]),
        ids["b"]: writer.index_for(articles["b"]),
        ids["moved"]: layout.article_index(oct_),  # not where the article is
    }

    before = _refreshes(engine, layout)
    demote(engine, layout, [ids["b"]], known)
    assert _refreshes(engine, layout) == before, "an id in its known index needs no refresh"
    assert engine.get(known[ids["b"]], ids["b"])["is_original"] is False

    demote(engine, layout, [ids["a"], ids["moved"], ids["old"]], known)
    engine.refresh(layout.articles)
    for key in ("a", "moved", "old"):
        found = engine.search(layout.articles, {"query": {"ids": {"values": [ids[key]]}}})
        assert found["hits"]["hits"][0]["_source"]["is_original"] is False, key
