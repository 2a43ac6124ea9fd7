"""Story clusters on fixture-site archives: copies join their original, other stories do not."""

import unicodedata
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bench.dedup_eval import evaluate, load_pairs
from crawlers.dedup import ClusterDecision, StoryClusterer, story_text
from crawlers.fixture_site import FixtureSite, Story
from tests.fixtures.make_dedup_pairs import FILLER

VN = ZoneInfo("Asia/Ho_Chi_Minh")
ANCHOR = datetime(2025, 10, 1, 12, 0, tzinfo=VN)


@cache
def archive() -> tuple[Story, ...]:
    return tuple(sorted(FixtureSite(seed=7, now=ANCHOR).stories, key=lambda s: s.path))


def text(story: Story) -> str:
    return story_text(story.title, story.lead, story.body)


def assign(clusterer: StoryClusterer, story: Story, key: str | None = None) -> ClusterDecision:
    return clusterer.assign(key or story.path, text(story), story.published_at, story.outlet)


def copy_and_original() -> tuple[Story, Story]:
    copy = next(s for s in archive() if s.syndicated_from and s.topic not in FILLER | {"seed"})
    original = next(s for s in archive() if s.path == copy.syndicated_from)
    return copy, original


@cache
def clustered() -> dict[str, ClusterDecision]:
    clusterer = StoryClusterer()
    ordered = sorted(archive(), key=lambda s: (s.published_at or ANCHOR, s.path))
    return {s.path: assign(clusterer, s) for s in ordered}


def test_every_copy_joins_its_original_which_stays_the_original() -> None:
    decisions = clustered()
    copies = [s for s in archive() if s.syndicated_from]
    assert len(copies) > 20
    for copy in copies:
        original = decisions[copy.syndicated_from or ""]
        assert decisions[copy.path].cluster_id == original.cluster_id == copy.syndicated_from
        assert original.is_original
        assert not decisions[copy.path].is_original
        assert decisions[copy.path].similarity >= 0.5


def test_different_complaint_stories_are_never_merged() -> None:
    decisions = clustered()
    originals = [s for s in archive() if not s.syndicated_from and s.topic not in FILLER]
    clusters = [decisions[s.path].cluster_id for s in originals]
    assert len(set(clusters)) == len(originals)


def test_earlier_published_copy_fetched_later_becomes_the_original() -> None:
    copy, original = copy_and_original()
    clusterer = StoryClusterer()
    first = assign(clusterer, copy)
    second = assign(clusterer, original)
    assert first == ClusterDecision(copy.path, True, None, 0.0, ())
    assert second.cluster_id == copy.path
    assert second.is_original
    assert second.demoted == (copy.path,)
    assert second.similar_to == copy.path
    assert clusterer.original(copy.path) == original.path
    assert not assign(clusterer, copy).is_original


def test_assigning_the_same_id_twice_returns_the_same_decision() -> None:
    copy, original = copy_and_original()
    clusterer = StoryClusterer()
    assign(clusterer, original)
    decision = assign(clusterer, copy)
    assert assign(clusterer, copy) == decision
    assert len(clusterer) == 2
    assert clusterer.members(original.path) == {
        original.path: original.outlet,
        copy.path: copy.outlet,
    }


def test_entries_older_than_the_window_are_evicted() -> None:
    copy, original = copy_and_original()
    assert original.published_at is not None
    clusterer = StoryClusterer(window_days=14)
    assign(clusterer, original)
    later = original.published_at + timedelta(days=15)
    clusterer.assign("other", "Một câu chuyện khác hẳn về giá vàng hôm nay", later, "x")
    assert original.path not in clusterer
    decision = clusterer.assign(copy.path, text(copy), later, copy.outlet)
    assert decision.cluster_id == copy.path
    assert decision.similar_to is None


def test_same_template_days_apart_is_another_story() -> None:
    _, original = copy_and_original()
    assert original.published_at is not None
    shorter = "\n\n".join(original.paragraphs[:-1])
    body = story_text("Cập nhật: " + original.title, original.lead, shorter)
    decisions = []
    for gap in (timedelta(days=3), timedelta(hours=3)):
        clusterer = StoryClusterer()
        assign(clusterer, original)
        decisions.append(clusterer.assign("b", body, original.published_at + gap, "y"))
    three_days, same_day = decisions
    assert three_days.cluster_id == "b"
    assert same_day.cluster_id == original.path
    assert same_day.similarity < 0.9


def test_state_survives_save_and_load(tmp_path: Path) -> None:
    ordered = sorted(archive(), key=lambda s: (s.published_at or ANCHOR, s.path))
    half = len(ordered) // 2
    straight = StoryClusterer()
    expected = [assign(straight, s) for s in ordered]
    first = StoryClusterer()
    got = [assign(first, s) for s in ordered[:half]]
    first.save(tmp_path / "clusters.npz")
    second = StoryClusterer.load(tmp_path / "clusters.npz")
    assert len(second) == len(first)
    assert [assign(second, s) for s in ordered[:3]] == got[:3]
    got += [assign(second, s) for s in ordered[half:]]
    assert got == expected


def test_empty_text_gets_its_own_cluster() -> None:
    clusterer = StoryClusterer()
    assert clusterer.assign("a", "", None, "x").cluster_id == "a"
    assert clusterer.assign("b", "...", None, "x").cluster_id == "b"


def test_labelled_pairs_meet_the_targets() -> None:
    result = evaluate(load_pairs())
    assert len(load_pairs()) >= 200
    assert result["precision"] >= 0.95
    assert result["recall"] >= 0.95


@pytest.mark.parametrize("form", ["NFD", "old tones"])
def test_unicode_form_does_not_matter(form: str) -> None:
    _, original = copy_and_original()
    clusterer = StoryClusterer()
    assign(clusterer, original)
    variant = text(original).replace("hòa", "hoà").replace("thủy", "thuỷ")
    if form == "NFD":
        variant = unicodedata.normalize("NFD", variant)
    decision = clusterer.assign("v", variant, original.published_at, "z")
    assert decision.cluster_id == original.path
    assert decision.similarity == 1.0


def test_a_full_word_table_is_replaced_and_gives_the_same_fingerprints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the limit the shared table starts again as a new dict (a thread may still read
    the old one); sentence breaks stay known and the fingerprints do not change."""
    from crawlers import dedup

    monkeypatch.setattr(dedup._Fingerprinter, "_codes", dedup._Fingerprinter._codes)  # undone after
    text = "Người dân xã Gia Sinh khiếu nại việc thu hồi đất. UBND tỉnh Ninh Bình trả lời. " * 3
    fingerprint = dedup._Fingerprinter(4)
    shingles, slots = fingerprint(text)
    before = dedup._Fingerprinter._codes
    monkeypatch.setattr(dedup, "_CACHE_LIMIT", 3)
    again_shingles, again_slots = fingerprint(text)
    assert dedup._Fingerprinter._codes is not before and "Sinh" in before
    assert dedup._Fingerprinter._codes["\0"] == dedup._BREAK
    assert again_shingles == shingles and again_slots.tolist() == slots.tolist()
