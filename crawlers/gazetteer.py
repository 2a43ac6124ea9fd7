"""Vietnamese administrative units, old and new, and how the press writes their names.

The data file (``crawlers/data/gazetteer.json``, built by ``crawlers.data.make_gazetteer``)
holds the 2025 two-level map and every pre-2025 province, district and commune with the new
unit it became. This module turns it into name variants ("tỉnh Hà Nam", "TP. Thủ Đức", "xã Tả
Thanh Oai", bare "Hà Nội") keyed like the entity tokenizer keys text, and resolves a matched
name to new codes, using the other places named in the same story when a name is ambiguous
("xã Tân Lập" exists in a dozen provinces).

Codes are the GSO codes as strings: two digits for a province ("01"), five for a commune.
"""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.vietnamese import normalize

__all__ = ["DATA", "TOKEN", "Gazetteer", "Place", "Resolution", "load_gazetteer", "phrase_key"]

DATA = Path(__file__).with_name("data") / "gazetteer.json"
# One token: a word with its decimal parts ("1.300"), or one punctuation mark. The entity
# tokenizer uses the same expression, so a phrase key equals the key of the matched span.
TOKEN = re.compile(r"\w+(?:[.,]\d+)*|[^\w\s]")
_ABBREVIATIONS = {"thành phố": ("TP", "TP."), "thị xã": ("TX", "TX."), "thị trấn": ("TT", "TT.")}


def phrase_key(text: str) -> str:
    """Lowercased tokens joined by one space: "TP.HCM" -> "tp . hcm"."""
    return " ".join(TOKEN.findall(normalize(text).lower()))


@dataclass(frozen=True)
class Place:
    """One unit, new or old. ``communes`` are the new communes it is now part of or became."""

    kind: str
    unit: str
    name: str
    province_code: str
    communes: tuple[str, ...] = ()
    district: int | None = None

    @property
    def is_new(self) -> bool:
        return self.kind in ("province", "commune")

    @property
    def label(self) -> str:
        return f"{self.unit} {self.name}"


@dataclass(frozen=True)
class Resolution:
    province_code: str | None
    commune_code: str | None
    communes: tuple[str, ...]
    place: Place | None


class Gazetteer:
    """Places, their name variants and a resolver; build once with ``load_gazetteer()``."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.places: list[Place] = []
        self.province_names: dict[str, str] = {}
        self.commune_names: dict[str, str] = {}
        self.commune_province: dict[str, str] = {}
        for code, (name, unit) in data["provinces"].items():
            self.province_names[code] = f"{unit} {name}"
            self.places.append(Place("province", unit, name, code))
        for code, (name, unit, province) in data["communes"].items():
            self.commune_names[code] = f"{unit} {name}"
            self.commune_province[code] = province
            self.places.append(Place("commune", unit, name, province, (code,)))
        for name, unit, province in data["old_provinces"]:
            self.places.append(Place("old_province", unit, name, province))
        districts = data["old_districts"]
        for index, (name, unit, province, codes) in enumerate(districts):
            self.places.append(Place("old_district", unit, name, province, tuple(codes), index))
        for name, unit, district, code in data["old_communes"]:
            province = districts[district][2]
            self.places.append(Place("old_commune", unit, name, province, (code,), district))
        self.index: dict[str, list[int]] = defaultdict(list)
        self.bare_names: set[str] = set()
        for phrase, place, exact in self.variants():
            key = phrase_key(phrase)
            if exact:
                self.bare_names.add(key)
            if place not in self.index[key]:
                self.index[key].append(place)

    def variants(self) -> Iterator[tuple[str, int, bool]]:
        """(phrase, place index, exact case): bare province names only match as written, so
        that "hòa bình" (peace) is not the old province Hòa Bình."""
        for number, place in enumerate(self.places):
            if place.kind in ("province", "old_province"):
                yield place.name, number, True
            yield place.label, number, False
            for short in _ABBREVIATIONS.get(place.unit, ()):
                yield f"{short} {place.name}", number, False

    def candidates(self, key: str) -> list[Place]:
        return [self.places[i] for i in self.index.get(key, ())]

    def resolve(
        self,
        key: str,
        provinces: Collection[str] = (),
        districts: Collection[int] = (),
    ) -> Resolution:
        """The unit a name means, given the provinces and old districts the story names.

        New units win over old ones of the same name; an old commune inside a named old
        district wins over namesakes; if the candidates still disagree, the province is kept
        when they share one and nothing is guessed otherwise.
        """
        found = self.candidates(key)
        if not found:
            return Resolution(None, None, (), None)
        tests: list[Callable[[Place], bool]] = [
            lambda p: p.province_code in provinces,
            lambda p: p.kind == "old_commune" and p.district in districts,
            lambda p: p.is_new,
        ]
        for keep in tests:
            narrowed = [p for p in found if keep(p)]
            if narrowed:
                found = narrowed
        first = found[0]
        if all(p.province_code == first.province_code for p in found):
            same_commune = all(p.communes == first.communes for p in found)
            commune = first.communes[0] if same_commune and len(first.communes) == 1 else None
            return Resolution(first.province_code, commune, first.communes, first)
        return Resolution(None, None, (), None)

    def unambiguous_province(self, key: str) -> str | None:
        codes = {p.province_code for p in self.candidates(key)}
        return codes.pop() if len(codes) == 1 else None

    def district_of(self, key: str) -> int | None:
        found = [p.district for p in self.candidates(key) if p.kind == "old_district"]
        return found[0] if len(found) == 1 else None


@functools.cache
def load_gazetteer(path: Path = DATA) -> Gazetteer:
    """The gazetteer of ``path``, read once per process."""
    return Gazetteer(json.loads(path.read_text("utf-8")))
