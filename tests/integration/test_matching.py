"""Story ↔ complaint matching against the real engine: percolation, links, re-search."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bench.matching import evaluate, load_set
from complaints.links import links_for, percolate, repercolate, store_links
from complaints.matching import compile_for_register
from complaints.register import ComplaintRegister
from indexer.adapter import Engine
from indexer.ids import article_id
from indexer.layout import IndexNames
from indexer.models import Article, Complainant, Complaint, ComplaintKind, Location
from indexer.writer import ArticleWriter

pytestmark = pytest.mark.engine

NOW = datetime.now(UTC).replace(microsecond=0)
LAND_STORY = (
    "Cho rằng giá bồi thường thấp, nhiều hộ dân tại xã Tả Thanh Oai, huyện Thanh Trì, Hà Nội "
    "đã gửi đơn khiếu nại. Ông Nguyễn Văn Hùng cho biết gia đình có 500 m2 đất nông nghiệp bị "
    "thu hồi để làm dự án Khu nhà ở sinh thái Hồng Hà Xanh."
)


@pytest.fixture
def register(engine: Engine, layout: IndexNames) -> ComplaintRegister:
    return ComplaintRegister(engine, layout, compile_query=compile_for_register)


def land_case(**fields: object) -> Complaint:
    base: dict[str, object] = {
        "case_number": "KN-2025-0001",
        "kind": ComplaintKind.COMPLAINT,
        "received_date": date(2025, 3, 12),
        "subject_field": "land",
        "complainants": [Complainant(name="Nguyễn Văn Hùng", is_representative=True)],
        "respondent": "UBND huyện Thanh Trì",
        "location": Location(address_text="xã Tả Thanh Oai, huyện Thanh Trì, TP Hà Nội"),
        "projects": ["Khu nhà ở sinh thái Hồng Hà Xanh"],
    }
    return Complaint.model_validate(base | fields)


def story(
    slug: str,
    title: str,
    body: str,
    published: datetime = NOW,
    cluster: str | None = None,
    outlet: str = "Báo Thử nghiệm",
) -> Article:
    url = f"https://bao.example.vn/{slug}.html"
    return Article(
        id=article_id(url),
        url=url,
        canonical_url=url,
        outlet=outlet,
        title=title,
        body=body,
        published_at=published,
        fetched_at=published + timedelta(minutes=5),
        story_cluster_id=cluster,
    )


def save(register: ComplaintRegister, complaint: Complaint) -> None:
    register.upsert(complaint, by="test", refresh=True)


def test_the_labelled_set_reaches_the_targets(engine: Engine, layout: IndexNames) -> None:
    result = evaluate(engine, layout, load_set())
    assert result["positives"] >= 200 and result["labelled_pairs"] >= 300
    assert result["precision"] >= 0.9, result["false_links"]
    assert result["recall"] >= 0.9, result["missed"]
    assert result["f1"] > result["baseline_f1"]


def test_only_the_story_about_the_case_matches_in_its_commune(
    engine: Engine, layout: IndexNames, register: ComplaintRegister
) -> None:
    save(register, land_case())
    about = story(
        "dan-ta-thanh-oai-khieu-nai", "Dân xã Tả Thanh Oai khiếu nại giá bồi thường", LAND_STORY
    )
    unaccented = story(
        "khong-dau",
        "Nguoi dan xa Ta Thanh Oai khieu nai",
        "Ong Nguyen Van Hung o xa Ta Thanh Oai, huyen Thanh Tri cho biet viec thu hoi dat "
        "khong dung quy trinh.",
    )
    school = story(
        "truong-mam-non",
        "Khánh thành trường mầm non ở xã Tả Thanh Oai",
        "Sáng nay, xã Tả Thanh Oai (huyện Thanh Trì) khánh thành trường mầm non trung tâm. "
        "Ông Trần Quốc Bảo, Chủ tịch UBND xã, cho biết trường có 12 phòng học.",
    )
    namesake = story(
        "lam-giau",
        "Ông Nguyễn Văn Thắng làm giàu từ vườn bưởi",
        "Ông Nguyễn Văn Thắng ở xã Tả Thanh Oai, huyện Thanh Trì trồng 300 gốc bưởi. "
        "Ông Nguyễn cho biết mỗi năm lãi hơn 300 triệu đồng.",
    )
    other_person = story(
        "nguoi-khac",
        "Chuyện của ông Nguyễn Văn Hưng",
        "Ông Nguyễn Văn Hưng ở xã Tả Thanh Oai vừa được khen thưởng vì cứu người đuối nước.",
    )
    links = percolate(engine, layout, [about, unaccented, school, namesake, other_person])
    assert {link.article_id for link in links} == {about.id, unaccented.id}
    first = next(link for link in links if link.article_id == about.id)
    assert {"party:nguyễn văn hùng", "place:xã tả thanh oai"} <= set(first.matched_clauses)
    assert first.snippets and any("<em>" in s for s in first.snippets)
    assert first.score > 0


def test_links_are_stored_once_and_grouped_by_story(
    engine: Engine, layout: IndexNames, register: ComplaintRegister
) -> None:
    save(register, land_case())
    original = story(
        "goc", "Dân xã Tả Thanh Oai khiếu nại", LAND_STORY, NOW - timedelta(days=2), "c1"
    )
    copy = story(
        "dang-lai", "Dân xã Tả Thanh Oai khiếu nại (theo báo Hà Nội)", LAND_STORY, NOW, "c1"
    )
    later = story(
        "tiep", "Vụ Hồng Hà Xanh: huyện Thanh Trì đối thoại", LAND_STORY, NOW - timedelta(days=1)
    )
    links = percolate(engine, layout, [original, copy, later])
    assert len(links) == 3
    first = store_links(engine, layout, links)
    replay = store_links(engine, layout, percolate(engine, layout, [original, copy, later]))
    assert (first.created, first.duplicates) == (3, 0)
    assert (replay.created, replay.duplicates) == (0, 3)
    engine.refresh(layout.complaint_links)
    groups = links_for(engine, layout, "KN-2025-0001")
    assert [g.cluster_id for g in groups] == ["c1", later.id]
    assert {link.article_id for link in groups[0].links} == {original.id, copy.id}


def test_a_new_case_finds_earlier_coverage(
    engine: Engine, layout: IndexNames, register: ComplaintRegister
) -> None:
    recent = story(
        "thang-truoc", "Dân xã Tả Thanh Oai khiếu nại", LAND_STORY, NOW - timedelta(days=30)
    )
    old = story("nam-ngoai", "Dân xã Tả Thanh Oai khiếu nại", LAND_STORY, NOW - timedelta(days=200))
    unrelated = story("le-hoi", "Lễ hội ở xã Tả Thanh Oai", "Xã Tả Thanh Oai mở hội làng.", NOW)
    ArticleWriter(engine, layout).write([recent, old, unrelated], refresh=True)
    case = land_case()
    save(register, case)
    links = repercolate(engine, layout, case, days=90, now=NOW)
    assert [link.article_id for link in links] == [recent.id]
    assert links[0].origin == "repercolate" and links[0].snippets
    repercolate(engine, layout, case, days=90, now=NOW)
    engine.refresh(layout.complaint_links)
    stored = [link for group in links_for(engine, layout, case.case_number) for link in group.links]
    assert [link.article_id for link in stored] == [recent.id]


def test_a_closed_case_no_longer_matches(
    engine: Engine, layout: IndexNames, register: ComplaintRegister
) -> None:
    save(register, land_case(status="decided"))
    article = story("dan-khieu-nai", "Dân xã Tả Thanh Oai khiếu nại", LAND_STORY)
    assert [link.case_number for link in percolate(engine, layout, [article])] == ["KN-2025-0001"]
    register.close("KN-2025-0001", by="test", outcome="Đã giải quyết xong", refresh=True)
    stored = engine.get(layout.complaints, "KN-2025-0001")
    assert stored is not None and "query" not in stored and stored["is_open"] is False
    assert percolate(engine, layout, [article]) == []
    assert repercolate(engine, layout, register.get("KN-2025-0001") or land_case(), now=NOW) == []
