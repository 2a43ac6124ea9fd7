"""Seeded story generator: composes Vietnamese stories from the corpus templates.

Complaint stories name real communes (old or post-2025 form) and fictional people; filler
stories (weather, football, economy) exist so that not everything matches a watch list.
Syndicated copies repeat an original with the small edits republishers make.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

from crawlers.fixture_site.corpus import Corpus, Place, SeedArticle, Topic
from crawlers.fixture_site.models import Story
from crawlers.fixture_site.outlets import OutletSpec
from crawlers.fixture_site.slots import SlotMaker
from crawlers.fixture_site.vntext import slugify

COMPLAINT_KINDS = frozenset({"complaint"})
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZĐÀ-Ỹ\"“])")


def assign_path(story: Story, spec: OutletSpec, rng: random.Random, taken: set[str]) -> Story:
    """Give a story its outlet-shaped id and path; ``taken`` keeps paths unique."""
    assert story.published_at is not None
    title_slug = slugify(story.title)
    while True:
        article_id = spec.scheme.make_id(story.published_at, rng)
        path = spec.article_path(title_slug, story.section, article_id)
        if path not in taken:
            taken.add(path)
            return replace(story, outlet=spec.slug, article_id=article_id, path=path)


class StoryFactory:
    def __init__(self, corpus: Corpus, rng: random.Random) -> None:
        self.corpus = corpus
        self.rng = rng
        self.slot_maker = SlotMaker(corpus.people, rng)
        self._titles: set[str] = set()
        self._extras: dict[str, tuple[str, ...]] = {}
        self._copy_titles: dict[str, set[str]] = {}
        self._variants = [
            (
                re.compile(
                    r"(?<!\w)(" + "|".join(map(re.escape, group)) + r")(?!\w)", re.IGNORECASE
                ),
                group,
            )
            for group in corpus.phrase_variants
        ]

    def compose(self, spec: OutletSpec, published_at: datetime, topic: str | None = None) -> Story:
        chosen = self.corpus.topics[topic] if topic else self._pick_topic(spec)
        section = next((s for s in chosen.sections if s in spec.sections), spec.sections[0])
        place = self._pick_place(spec)
        use_new = place.new_commune is not None and self.rng.random() < 0.25
        for _ in range(40):
            slots = self.slot_maker.slots(place, use_new, published_at)
            template, leads = self.rng.choice(chosen.titles)
            title = template.format_map(slots)
            if title not in self._titles:
                break
        self._titles.add(title)
        lead = chosen.leads[self.rng.choice(leads)] if leads else self.rng.choice(chosen.leads)
        pool = chosen.paragraphs
        most = max(2, min(6, len(pool) - 2))
        picked = sorted(self.rng.sample(range(len(pool)), self.rng.randint(min(3, most), most)))
        self._extras[title] = tuple(e.format_map(slots) for e in chosen.extras)
        is_complaint = chosen.kind != "filler"
        voice = self._voice()
        return Story(
            outlet=spec.slug,
            title=title,
            lead=voice(lead.format_map(slots)),
            paragraphs=tuple(voice(pool[i].format_map(slots)) for i in picked),
            section=section,
            authors=tuple(self.rng.sample(self.corpus.people["bylines"], self.rng.randint(1, 2))),
            tags=(*self.rng.sample(chosen.tags, min(3, len(chosen.tags))), slots["prov"]),
            topic=chosen.key,
            place=slots["place"] if is_complaint else None,
            province=place.province_short,
            published_at=published_at,
        )

    def _voice(self) -> Callable[[str], str]:
        """One writer's wording: a fixed pick from each group of equivalent phrases."""
        picks = [(pattern, self.rng.choice(group)) for pattern, group in self._variants]

        def apply(text: str) -> str:
            for pattern, word in picks:
                text = pattern.sub(partial(_same_case, word=word), text)
            return text

        return apply

    def from_seed(self, seed: SeedArticle) -> Story:
        return Story(
            outlet=seed.outlet,
            title=seed.title,
            lead=seed.paragraphs[0],
            paragraphs=seed.paragraphs[1:],
            section=seed.section,
            authors=seed.authors,
            tags=seed.tags,
            topic="seed",
            place=seed.place,
            province=seed.province,
            published_at=seed.published_at,
        )

    def syndicate(
        self, original: Story, source: OutletSpec, target: OutletSpec, published_at: datetime
    ) -> Story:
        """A republished copy: reworded title, a sentence dropped or added, attribution line."""
        paragraphs = list(original.paragraphs)
        extras = self._extras.get(original.title, ())
        if not extras or self.rng.random() < 0.5:
            self._drop_sentence(paragraphs)
        else:
            paragraphs.append(self.rng.choice(extras))
        credit = self.rng.choice(self.corpus.attribution_formats).format(source=source.short_name)
        paragraphs.append(credit)
        section = (
            original.section
            if original.section in target.sections
            else next(
                (
                    s
                    for s in self.corpus.topics.get(original.topic, _ANY).sections
                    if s in target.sections
                ),
                target.sections[0],
            )
        )
        return replace(
            original,
            outlet=target.slug,
            title=self._reword(original, self._copy_titles.setdefault(original.path, set())),
            paragraphs=tuple(paragraphs),
            section=section,
            published_at=published_at,
            article_id=0,
            path="",
            syndicated_from=original.path,
            flags=(),
        )

    def _reword(self, original: Story, used: set[str]) -> str:
        """A new wording of the title that no earlier copy of the same story used."""
        title, province = original.title, original.province
        rewrites = list(self.corpus.title_rewrites)
        self.rng.shuffle(rewrites)
        options = [title.replace(find, new, 1) for find, new in rewrites if find in title]
        if province and not title.startswith(province):
            options.append(f"{province}: {title}")
        options += [f"{title} - tin mới", f"{title} (cập nhật)"]
        chosen = next((o for o in options if o not in used), options[-1])
        used.add(chosen)
        return chosen

    def _drop_sentence(self, paragraphs: list[str]) -> None:
        multi = [i for i, p in enumerate(paragraphs) if len(_SENTENCE_END.split(p)) > 1]
        if not multi:
            if len(paragraphs) > 2:
                del paragraphs[self.rng.randrange(1, len(paragraphs))]
            return
        index = self.rng.choice(multi)
        paragraphs[index] = " ".join(_SENTENCE_END.split(paragraphs[index])[:-1])

    def _pick_topic(self, spec: OutletSpec) -> Topic:
        topics = [t for t in self.corpus.topics.values() if set(t.sections) & set(spec.sections)]
        return self.rng.choices(topics, weights=[t.weight for t in topics])[0]

    def _pick_place(self, spec: OutletSpec) -> Place:
        local = [p for p in self.corpus.places if p.province_short in spec.home_provinces]
        if local and self.rng.random() < 0.8:
            return self.rng.choice(local)
        return self.rng.choice(self.corpus.places)


def _same_case(found: re.Match[str], word: str) -> str:
    return word[0].upper() + word[1:] if found.group(0)[0].isupper() else word


_ANY = Topic("any", "filler", 0, (), (), (), (), (), ())


def build_stories(
    factory: StoryFactory,
    specs: dict[str, OutletSpec],
    n_per_outlet: int,
    anchor: datetime,
    taken: set[str],
    days: float = 7.0,
) -> list[Story]:
    """The initial archive: n generated stories per outlet, the seeds, syndicated copies."""
    rng = factory.rng
    originals: list[Story] = []
    for spec in specs.values():
        offsets = sorted(
            (rng.uniform(600, days * 86400) for _ in range(n_per_outlet)), reverse=True
        )
        for offset in offsets:
            when = (anchor - timedelta(seconds=offset)).replace(microsecond=0)
            story = factory.compose(spec, when)
            originals.append(assign_path(story, spec, rng, taken))
    copies: list[Story] = []
    for seed in factory.corpus.seeds:
        if seed.outlet not in specs:
            continue
        story = assign_path(factory.from_seed(seed), specs[seed.outlet], rng, taken)
        originals.append(story)
        for target in (specs[t] for t in seed.syndicate_to if t in specs):
            assert story.published_at is not None
            when = story.published_at + timedelta(seconds=rng.randint(7200, 108_000))
            copy = factory.syndicate(story, specs[seed.outlet], target, when)
            copies.append(assign_path(copy, target, rng, taken))
    copies += _syndicate_some(factory, specs, originals, anchor, taken)
    return originals + copies


def _syndicate_some(
    factory: StoryFactory,
    specs: dict[str, OutletSpec],
    originals: list[Story],
    anchor: datetime,
    taken: set[str],
) -> list[Story]:
    rng = factory.rng
    complaint = {k for k, t in factory.corpus.topics.items() if t.kind in COMPLAINT_KINDS}
    cutoff = anchor - timedelta(hours=3)
    candidates = [
        s for s in originals if s.topic in complaint and s.published_at and s.published_at < cutoff
    ]
    copies = []
    for original in rng.sample(candidates, min(len(candidates), max(3, len(originals) // 12))):
        assert original.published_at is not None
        targets = [s for s in specs.values() if s.slug != original.outlet and s.encoding == "utf-8"]
        room = min(12 * 3600.0, (anchor - original.published_at).total_seconds() - 300)
        for target in rng.sample(targets, min(len(targets), rng.randint(2, 3))):
            when = original.published_at + timedelta(seconds=rng.randint(1200, int(room)))
            copy = factory.syndicate(original, specs[original.outlet], target, when)
            copies.append(assign_path(copy, target, rng, taken))
    return copies
