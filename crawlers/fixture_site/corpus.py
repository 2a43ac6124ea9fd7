"""Loads the fixture site's text corpus shipped in ``corpus/`` (never ../shared at run time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CORPUS_DIR = Path(__file__).with_name("corpus")


@dataclass(frozen=True)
class Place:
    commune: str
    district: str
    province: str
    province_short: str
    new_commune: str | None
    new_province: str

    @property
    def old_address(self) -> str:
        return f"{self.commune}, {self.district}, {self.province}"

    @property
    def new_address(self) -> str | None:
        return f"{self.new_commune}, {self.new_province}" if self.new_commune else None

    @property
    def province_admin(self) -> str:
        """The province as the subject of an administrative sentence ("UBND TP Hà Nội")."""
        if self.province.startswith(("tỉnh ", "TP ")):
            return self.province
        return f"TP {self.province}"


@dataclass(frozen=True)
class Topic:
    key: str
    kind: str
    weight: int
    sections: tuple[str, ...]
    tags: tuple[str, ...]
    titles: tuple[tuple[str, tuple[int, ...]], ...]
    leads: tuple[str, ...]
    paragraphs: tuple[str, ...]
    extras: tuple[str, ...]


@dataclass(frozen=True)
class SeedArticle:
    """A real article from corpus/seeds with the metadata its manifest entry gives."""

    outlet: str
    section: str
    title: str
    published_at: datetime
    place: str
    province: str
    authors: tuple[str, ...]
    tags: tuple[str, ...]
    paragraphs: tuple[str, ...]
    syndicate_to: tuple[str, ...]


@dataclass(frozen=True)
class Corpus:
    topics: dict[str, Topic]
    places: tuple[Place, ...]
    people: dict[str, tuple[str, ...]]
    seeds: tuple[SeedArticle, ...]
    title_rewrites: tuple[tuple[str, str], ...]
    attribution_formats: tuple[str, ...]
    phrase_variants: tuple[tuple[str, ...], ...]


def _yaml(name: str) -> Any:
    return yaml.safe_load((CORPUS_DIR / name).read_text(encoding="utf-8"))


def _title(raw: str | dict[str, Any]) -> tuple[str, tuple[int, ...]]:
    """(title template, indices of the leads it may go with; empty means any)."""
    if isinstance(raw, str):
        return raw, ()
    return raw["text"], tuple(raw["leads"])


def _seed_body(text: str, entry: dict[str, Any]) -> tuple[str, ...]:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    body = [line for line in lines if line][entry["skip_head"] :]
    cut = tuple(entry.get("cut_from") or ())
    kept: list[str] = []
    for line in body:
        if cut and line.startswith(cut):
            break
        if line not in set(entry.get("drop") or ()):
            kept.append(line)
    return tuple(kept)


def _load_seeds() -> tuple[SeedArticle, ...]:
    seeds = []
    for entry in _yaml("seeds.yaml")["seeds"]:
        text = (CORPUS_DIR / "seeds" / entry["file"]).read_text(encoding="utf-8")
        seeds.append(
            SeedArticle(
                outlet=entry["outlet"],
                section=entry["section"],
                title=entry["title"],
                published_at=datetime.fromisoformat(entry["published_at"]),
                place=entry["place"],
                province=entry["province"],
                authors=tuple(entry["authors"]),
                tags=tuple(entry["tags"]),
                paragraphs=_seed_body(text, entry),
                syndicate_to=tuple(entry.get("syndicate_to") or ()),
            )
        )
    return tuple(seeds)


@cache
def load_corpus() -> Corpus:
    stories = _yaml("stories.yaml")
    topics = {
        key: Topic(
            key=key,
            kind=raw["kind"],
            weight=int(raw["weight"]),
            sections=tuple(raw["sections"]),
            tags=tuple(raw["tags"]),
            titles=tuple(_title(t) for t in raw["titles"]),
            leads=tuple(raw["leads"]),
            paragraphs=tuple(raw["paragraphs"]),
            extras=tuple(raw.get("extras") or ()),
        )
        for key, raw in stories["topics"].items()
    }
    people = {key: tuple(values) for key, values in _yaml("people.yaml").items()}
    return Corpus(
        topics=topics,
        places=tuple(Place(*row) for row in _yaml("places.yaml")["places"]),
        people=people,
        seeds=_load_seeds(),
        title_rewrites=tuple((a, b) for a, b in stories["title_rewrites"]),
        attribution_formats=tuple(stories["attribution_formats"]),
        phrase_variants=tuple(tuple(group) for group in stories["phrase_variants"]),
    )
