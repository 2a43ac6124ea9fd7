"""Entities in seed sentences and fixture stories: old and new place names resolve to 2025 codes."""

from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crawlers.entities import EntityExtractor, SyllableTokenizer, build_pipeline
from crawlers.fixture_site import FixtureSite
from crawlers.fixture_site.corpus import load_corpus
from crawlers.gazetteer import load_gazetteer, phrase_key
from indexer.models import Entities, EntityLocation

SEEDS = Path(__file__).parents[1] / "fixtures" / "seeds"
HA_NOI, HUE, NINH_BINH, HO_CHI_MINH = "01", "46", "37", "79"


@cache
def extractor() -> EntityExtractor:
    return EntityExtractor()


def seed(number: int) -> Entities:
    path = next(SEEDS.glob(f"{number:03d}_*.txt"))
    title, text = path.read_text("utf-8").split("\n", 1)
    return extractor().extract(title, text)


def codes(entities: Entities, text: str) -> tuple[str | None, str | None]:
    found = [loc for loc in entities.locations if loc.text.lower() == text.lower()]
    assert found, f"{text!r} not in {entities.locations}"
    return found[0].province_code, found[0].commune_code


def test_old_district_resolves_to_ha_noi_and_its_new_communes() -> None:
    title, text = "Dân huyện Thanh Trì kiến nghị", "Người dân huyện Thanh Trì gửi đơn."
    entities = extractor().extract(title, text)
    assert codes(entities, "huyện Thanh Trì") == (HA_NOI, None)
    [place] = {m.text: m for m in extractor().locations(title, text)}.values()
    gazetteer = load_gazetteer()
    assert {gazetteer.commune_names[c] for c in place.communes} >= {"xã Đại Thanh", "xã Ngọc Hồi"}
    assert place.old_name


@pytest.mark.parametrize(
    ("sentence", "name", "province"),
    [
        ("Đoàn công tác của tỉnh Thừa Thiên Huế đã làm việc.", "tỉnh Thừa Thiên Huế", HUE),
        ("Năm 2024, tỉnh Hà Nam có 12 vụ khiếu kiện đông người.", "tỉnh Hà Nam", NINH_BINH),
        ("Sở Nội Vụ Tỉnh Bình Dương tổ chức tập huấn.", "Tỉnh Bình Dương", HO_CHI_MINH),
        ("Hội nghị tổ chức tại TP.HCM và Quận 1.", "TP.HCM", HO_CHI_MINH),
    ],
)
def test_old_province_names_resolve_to_the_new_province(
    sentence: str, name: str, province: str
) -> None:
    assert codes(extractor().extract("", sentence), name) == (province, None)


def test_old_commune_resolves_to_the_new_commune_and_is_an_organisation_after_ubnd() -> None:
    entities = extractor().extract(
        "Dân khiếu nại", "Ngày 3/5, UBND xã Tả Thanh Oai, huyện Thanh Trì đã tiếp công dân."
    )
    assert "UBND xã Tả Thanh Oai" in entities.organisations
    province, commune = codes(entities, "xã Tả Thanh Oai")
    assert province == HA_NOI
    assert load_gazetteer().commune_names[commune or ""] == "xã Đại Thanh"


def test_honorific_and_name_is_a_person_without_the_honorific() -> None:
    entities = extractor().extract(
        "", "Ông Nguyễn Văn A và bà Lê Thị Hồng Nhung cho biết; anh em trong xóm đồng tình."
    )
    assert entities.persons == ["Nguyễn Văn A", "Lê Thị Hồng Nhung"]


def test_agencies_with_and_without_a_place() -> None:
    entities = extractor().extract(
        "",
        "Chủ tịch UBND xã Tả Thanh Oai Nguyễn Văn Hùng, Sở Tài nguyên và Môi trường, "
        "Thanh tra tỉnh Hà Nam, Công an phường 1 và Ban Quản lý dự án đầu tư xây dựng huyện "
        "Thanh Trì. Đoàn sẽ thanh tra dự án.",
    )
    assert entities.organisations == [
        "UBND xã Tả Thanh Oai",
        "Sở Tài nguyên và Môi trường",
        "Thanh tra tỉnh Hà Nam",
        "Công an phường 1",
        "Ban Quản lý dự án đầu tư xây dựng huyện Thanh Trì",
    ]
    assert "Nguyễn Văn Hùng" in entities.persons


def test_bare_province_names_must_be_capitalised() -> None:
    entities = extractor().extract("", "Giữ gìn hòa bình. Tỉnh Hòa Bình cũ nay thuộc Phú Thọ.")
    assert [loc.text for loc in entities.locations] == ["Tỉnh Hòa Bình", "Phú Thọ"]


def test_ambiguous_commune_is_resolved_by_the_other_places_in_the_story() -> None:
    alone = extractor().extract("", "Người dân xã Tân Lập phản ánh.")
    assert codes(alone, "xã Tân Lập") == (None, None)
    placed = extractor().extract("", "Người dân xã Tân Lập, huyện Đan Phượng phản ánh.")
    assert codes(placed, "xã Tân Lập")[0] == HA_NOI


def test_seed_articles() -> None:
    thanh_tri = seed(0)
    assert "Huyện ủy Thanh Trì" in thanh_tri.organisations
    assert {"Phạm Nguyên Nhung", "Phạm Thanh Học"} <= set(thanh_tri.persons)
    assert codes(thanh_tri, "Thanh Trì") == (HA_NOI, None)
    assert codes(seed(2), "Thừa Thiên Huế") == (HUE, None)
    district_one = seed(3)
    assert "Quận ủy Quận 1" in district_one.organisations
    assert codes(district_one, "Quận 1") == (HO_CHI_MINH, None)
    assert {"Hoàng Thị Tố Nga", "Lê Thị Lan Chi"} <= set(district_one.persons)


def test_added_terms_are_found_and_stay_in_their_extractor() -> None:
    mine = EntityExtractor()
    other = EntityExtractor()
    mine.add_terms("location", ["thôn Đông Trạch"], code="00664")
    mine.add_terms("organisation", ["Công ty TNHH Phú Thịnh Phát"])
    mine.add_terms("person", ["Đặng Bảo"])
    text = "Công ty TNHH Phú Thịnh Phát san lấp ruộng ở Thôn Đông Trạch; anh Đặng Bảo phản đối."
    entities = mine.extract("", text)
    assert (
        EntityLocation(text="Thôn Đông Trạch", province_code=HA_NOI, commune_code="00664")
        in entities.locations
    )
    assert entities.organisations == ["Công ty TNHH Phú Thịnh Phát"]
    assert entities.persons == ["Đặng Bảo"]
    assert other.extract("", text).locations == []


def test_every_fixture_complaint_story_names_its_commune_with_the_right_code() -> None:
    """The expected new commune is the one places.yaml lists (from underthesea's converter)."""
    gazetteer = load_gazetteer()
    code_of = {
        (gazetteer.commune_province[c], name): c for c, name in gazetteer.commune_names.items()
    }
    places = {p.commune: p for p in load_corpus().places if p.new_commune}
    site = FixtureSite(seed=7, now=datetime(2025, 10, 1, 12, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))
    checked = 0
    for story in site.stories:
        place = places.get((story.place or "").split(",")[0])
        if place is None:
            continue
        province = gazetteer.resolve(phrase_key(place.new_province)).province_code
        expected = code_of[(province or "", place.new_commune or "")]
        entities = extractor().extract(story.title, f"{story.lead}\n\n{story.body}")
        assert expected in {loc.commune_code for loc in entities.locations}, story.place
        checked += 1
    assert checked > 100


def test_tokenizer_keeps_text_and_separates_punctuation() -> None:
    doc = SyllableTokenizer(build_pipeline().vocab)("Huyện Thanh Trì, Hà Nội:\n\nTP.HCM 1.300 ha")
    assert [t.text for t in doc] == [
        "Huyện",
        "Thanh",
        "Trì",
        ",",
        "Hà",
        "Nội",
        ":",
        "\n",
        "\n",
        "TP",
        ".",
        "HCM",
        "1.300",
        "ha",
    ]
