"""Name and place variants, the place spotter and the compiled query, without an engine."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from typing import Any

import pytest

from complaints.matching import (
    MATCH_NONE,
    PLACE_KEY_FIELD,
    PLACE_NAME_FIELD,
    compile_query,
    explain,
    link_score,
    match_terms,
    percolator_query,
    subject_terms,
)
from complaints.variants import (
    Gazetteer,
    PlaceSpotter,
    name_key,
    person_variants,
    place_key,
    project_variants,
    resolve_location,
    respondent_variants,
)
from indexer.models import Complainant, Complaint, ComplaintKind, Location


def complaint(**fields: Any) -> Complaint:
    base: dict[str, Any] = {
        "case_number": "KN-1",
        "kind": ComplaintKind.COMPLAINT,
        "received_date": date(2025, 3, 1),
        "subject_field": "land",
        "complainants": [Complainant(name="Nguyễn Văn Hùng", is_representative=True)],
        "location": Location(address_text="xã Tả Thanh Oai, huyện Thanh Trì, TP Hà Nội"),
        "projects": ["Khu nhà ở sinh thái Hồng Hà Xanh"],
    }
    return Complaint(**(base | fields))


def phrases_of(query: Any) -> list[str]:
    """Every phrase text of a compiled query, lowercased."""
    found: list[str] = []
    if isinstance(query, dict):
        for name, value in query.items():
            if name in ("match_phrase",):
                found += [v["query"].lower() for v in value.values()]
            elif name == "multi_match":
                found.append(value["query"].lower())
            else:
                found += phrases_of(value)
    elif isinstance(query, list):
        for item in query:
            found += phrases_of(item)
    return found


# -- people ------------------------------------------------------------------------------
def test_person_variants_keep_title_forms_and_initials_but_never_the_surname_alone() -> None:
    full, short = person_variants("Nguyễn Văn Hùng")
    assert full == ["Nguyễn Văn Hùng"]
    assert {"ông Hùng", "ông Nguyễn Hùng", "N.V.H", "Nguyễn Văn H"} <= set(short)
    everything = {v.lower() for v in full + short}
    assert not everything & {"nguyễn", "ông nguyễn", "anh nguyễn", "nguyễn văn"}


def test_titles_follow_the_middle_name_and_skip_common_words() -> None:
    _, woman = person_variants("Đỗ Thị Lan")
    assert {"bà Lan", "chị Lan"} <= set(woman)
    assert not any(v.startswith(("ông", "anh")) for v in woman)
    _, man = person_variants("Phan Văn Dũng")
    assert "ông Dũng" in man
    assert "anh Dũng" not in man  # "anh dũng" is the word "brave"


def test_a_single_word_is_not_a_name() -> None:
    assert person_variants("Hùng") == ([], [])


# -- projects and respondents ----------------------------------------------------------------
def test_project_variants_add_abbreviations_and_the_proper_name() -> None:
    found = project_variants("dự án Khu đô thị mới Hồng Hà Xanh")
    assert found[0] == "Khu đô thị mới Hồng Hà Xanh"
    assert "KĐT mới Hồng Hà Xanh" in found
    assert "dự án Hồng Hà Xanh" in found


def test_local_government_is_no_respondent_but_a_company_is() -> None:
    assert respondent_variants("UBND huyện Thanh Trì") == []
    assert respondent_variants("Chủ tịch UBND xã Tả Thanh Oai") == []
    assert respondent_variants("Công ty TNHH Hưng Long") == [
        "Công ty TNHH Hưng Long",
        "công ty Hưng Long",
    ]


# -- places ------------------------------------------------------------------------------
def test_an_old_address_resolves_to_the_new_commune_too() -> None:
    place = resolve_location(
        Location(address_text="thôn 3, xã Tả Thanh Oai, huyện Thanh Trì, Hà Nội")
    )
    communes = {u.name for u in place.communes}
    assert {"Tả Thanh Oai", "Đại Thanh"} <= communes
    assert [u.name for u in place.districts] == ["Thanh Trì"]
    assert place.provinces == ["Hà Nội"]


def test_a_new_commune_brings_its_old_communes_and_districts() -> None:
    by_code = resolve_location(Location(commune_code="10018"))  # xã Xuân Mai, Hà Nội
    by_name = resolve_location(Location(address_text="xã Xuân Mai, TP Hà Nội"))
    for place in (by_code, by_name):
        assert {"Xuân Mai", "Thủy Xuân Tiên", "Nam Phương Tiến"} <= {u.name for u in place.communes}
        assert "Chương Mỹ" in {u.name for u in place.districts}


def test_renamed_provinces_and_old_tone_marks_still_resolve() -> None:
    hue = resolve_location(
        Location(address_text="phường Thủy Vân, thị xã Hương Thủy, tỉnh Thừa Thiên Huế")
    )
    assert "Vỹ Dạ" in {u.name for u in hue.communes}
    thanh_hoa = resolve_location(
        Location(address_text="xã Hải Hà, thị xã Nghi Sơn, tỉnh Thanh Hoá")
    )
    assert "Thanh Hóa" in thanh_hoa.provinces
    assert "Nghi Sơn" in {u.name for u in thanh_hoa.communes}


def test_shared_commune_names_are_known() -> None:
    gazetteer = Gazetteer.load()
    assert gazetteer.commune_is_ambiguous("Long An")
    assert not gazetteer.commune_is_ambiguous("Tả Thanh Oai")
    assert gazetteer.name_is_unique("Tả Thanh Oai")


def test_keys_fold_places_but_keep_bare_names_as_written() -> None:
    assert place_key("TP. Thủ Đức") == place_key("thành phố Thu Duc") == "thanh pho thu duc"
    assert name_key("Gia Định") != name_key("gia đình")


def test_the_spotter_finds_old_new_unaccented_and_unknown_places() -> None:
    spotter = PlaceSpotter.load()
    found = spotter.spot(
        "Nguoi dan xa Ta Thanh Oai, huyen Thanh Tri gui don. Xã Tân Lập Mới cũng vậy."
    )
    assert {"xa ta thanh oai", "huyen thanh tri", "xa tan lap moi"} <= found
    assert "liên quan" not in spotter.spot("Các đơn vị liên quan đã vào cuộc.")
    assert "liên quan" in spotter.spot("Người dân thị trấn Liên Quan phản ánh.")


# -- the compiled query ---------------------------------------------------------------------
def test_the_query_never_links_by_surname_alone() -> None:
    phrases = phrases_of(compile_query(complaint()))
    assert "nguyễn văn hùng" in phrases
    assert "xã tả thanh oai" in phrases
    assert not {"nguyễn", "ông nguyễn", "văn"} & set(phrases)


def test_the_stored_query_preselects_by_place_and_reads_body_only() -> None:
    query = percolator_query(complaint())
    text = json.dumps(query, ensure_ascii=False)
    candidates = query["bool"]["filter"][0]
    keys = json.dumps(candidates, ensure_ascii=False)
    assert PLACE_KEY_FIELD in keys and "xa ta thanh oai" in keys and "xa dai thanh" in keys
    assert PLACE_NAME_FIELD in keys and "tả thanh oai" in keys
    assert '"title' not in text and '"lead' not in text


def test_without_a_place_nothing_can_match() -> None:
    bare = complaint(location=Location())
    assert compile_query(bare) == MATCH_NONE
    assert percolator_query(bare) == MATCH_NONE


def test_match_terms_list_the_phrases_by_role() -> None:
    terms = match_terms(complaint(aliases=["vụ Hồng Hà Xanh"]))
    assert "xã Đại Thanh" in terms["place"]
    assert "huyện Thanh Trì" in terms["region"]
    assert terms["party"] == ["Nguyễn Văn Hùng"]
    assert "thu hồi đất" in terms["subject"]
    assert terms["alias"] == ["vụ Hồng Hà Xanh"]


@pytest.mark.parametrize("name", ["đất đai", "dat_dai", "land", "Đất Đai"])
def test_subject_fields_are_read_in_both_languages(name: str) -> None:
    assert "thu hồi đất" in subject_terms(name)


def test_explain_names_the_clauses_found_with_or_without_diacritics() -> None:
    terms = match_terms(complaint())
    accented = {"body": ["Ông Nguyễn Văn Hùng ở xã Tả Thanh Oai khiếu nại việc thu hồi đất."]}
    plain = {"title": "Nguoi dan xa Ta Thanh Oai: ong Nguyen Van Hung khieu nai viec thu hoi dat"}
    for doc in (accented, plain):
        found = explain(terms, doc)
        assert {"party:nguyễn văn hùng", "place:xã tả thanh oai", "grievance:khiếu nại"} <= set(
            found
        )
    assert "party:nguyễn văn hùng" not in explain(
        terms, {"body": "Ông Nguyễn Văn Hưng ở xã Tả Thanh Oai"}
    )


def test_the_score_ranks_identifying_clauses_above_vocabulary() -> None:
    named = link_score(["party:nguyễn văn hùng", "place:xã tả thanh oai"])
    vague = link_score(["subject:bồi thường", "subject:thu hồi đất", "grievance:khiếu nại"])
    assert named > vague > 0


def test_loading_the_place_table_leaves_logging_alone() -> None:
    """underthesea's package import calls logging.basicConfig, which made every library's debug
    records print during a crawl; its table is read without importing the package."""
    script = (
        "import logging, sys\n"
        "from complaints.variants import PlaceSpotter\n"
        "assert PlaceSpotter.load().spot('xã Tả Thanh Oai, huyện Thanh Trì')\n"
        "assert logging.root.handlers == [], logging.root.handlers\n"
        "assert 'underthesea' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
