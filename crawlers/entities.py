"""Persons, organisations and places in a story, with places resolved to 2025 unit codes.

One spaCy pipeline per process: ``spacy.blank("vi")`` with a syllable tokenizer (words and
single punctuation marks; see `build_pipeline` for why not pyvi) and an EntityRuler holding

- ``LOC``: every name variant of the gazetteer (crawlers.gazetteer) as a LOWER phrase pattern;
  bare province names are kept only when written capitalised ("hòa bình" is peace);
- ``ORG``: agency heads (data/entity_words.yaml) as phrase patterns ("UBND", "Công an", "Huyện
  ủy", "Sở Tài nguyên và Môi trường" ...). A head takes the place that follows it ("UBND" + "xã
  Tả Thanh Oai"), which is then reported as a location too. Heads are phrases and tails are
  joined here rather than written as token patterns with optional parts: a few thousand such
  patterns made the Matcher cost ~200 ms per article;
- ``PER``: an honorific ("ông", "bà", "anh", "chị", "đồng chí" ...) before a family name and 1–3
  capitalised syllables, or a family name with the middle name "Văn"/"Thị" and 1–2 more.

Terms added at run time (`EntityExtractor.add_terms`) live in the extractor's own PhraseMatcher,
so extractors sharing the cached pipeline do not see each other's terms.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import spacy
import yaml
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.pipeline import EntityRuler
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from crawlers.gazetteer import TOKEN, Gazetteer, load_gazetteer, phrase_key
from indexer.models import Entities, EntityLocation
from indexer.vietnamese import normalize

__all__ = ["EntityExtractor", "LocationMatch", "SyllableTokenizer", "TermKind", "build_pipeline"]

TermKind = Literal["person", "organisation", "location"]
Tokenizer = Literal["syllable", "pyvi", "whitespace"]

WORDS = Path(__file__).with_name("data") / "entity_words.yaml"
# Up to this many lower-case words may separate a "middle" head from its place.
MIDDLE_WORDS = 8
_UNIT_WORDS = frozenset({"tỉnh", "tp", "xã", "phường", "huyện", "quận", "tx", "tt"})
_UNIT_PAIRS = frozenset({"thành phố", "thị xã", "thị trấn", "đặc khu", "tp ."})


@dataclass(frozen=True)
class Agency:
    """An agency head; see data/entity_words.yaml for what the flags mean."""

    head: str
    implied: str = ""
    complete: bool = False
    middle: bool = False


@dataclass(frozen=True)
class Words:
    """The word lists of data/entity_words.yaml, with the departments expanded into heads."""

    honorifics: tuple[str, ...]
    surnames: tuple[str, ...]
    middle_names: tuple[str, ...]
    agencies: tuple[Agency, ...]

    @classmethod
    @functools.cache
    def load(cls, path: Path = WORDS) -> Words:
        data = yaml.safe_load(path.read_text("utf-8"))
        agencies = [Agency(**item) for item in data["agencies"]]
        for field in data["fields"]:
            agencies += [Agency(f"{kind} {field}", complete=True) for kind in ("sở", "bộ", "phòng")]
        return cls(
            tuple(data["honorifics"]),
            tuple(data["surnames"]),
            tuple(data["middle_names"]),
            tuple(agencies),
        )


def _patterns(gazetteer: Gazetteer) -> Iterator[dict[str, Any]]:
    # No per-phrase ids: the ruler sums its patterns per label on every call, so 13,000 ids
    # cost about a millisecond per article. The span's lowercased tokens are its key anyway.
    for phrase in sorted({normalize(phrase) for phrase, _, _ in gazetteer.variants()}):
        yield {"label": "LOC", "pattern": phrase}
    words = Words.load()
    for agency in words.agencies:
        ident = f"{agency.implied}|{agency.complete:d}|{agency.middle:d}"
        yield {"label": "ORG", "pattern": agency.head, "id": ident}
    yield from _person_patterns(words)


def _person_patterns(words: Words) -> Iterator[dict[str, Any]]:
    """Anchors only: honorifics ("ông") and family + middle name ("Nguyễn Văn"); the given name
    is read after the match. Token patterns ({"IS_TITLE": true, "OP": "{1,3}"}) did the same
    at 1.3 ms per article: the Matcher tries each at every token, set tests in Python."""
    for honorific in words.honorifics:
        yield {"label": "PER", "pattern": honorific, "id": "honorific"}
    for family in words.surnames:
        for middle in words.middle_names:
            yield {"label": "PER", "pattern": f"{family} {middle}", "id": "middle"}


class SyllableTokenizer:
    """Words (with decimal parts) and single punctuation marks, as crawlers.gazetteer.TOKEN.
    A line break stays a whitespace token, so that no name runs from a headline into the next
    line; other spacing becomes one space."""

    _SPLIT = re.compile(r"(\n|" + TOKEN.pattern + r")([^\S\n]?)")

    def __init__(self, vocab: Any) -> None:
        self.vocab = vocab

    def __call__(self, text: str) -> Doc:
        pairs = self._SPLIT.findall(text)
        words = [word for word, _ in pairs]
        spaces = [bool(space) for _, space in pairs]
        if spaces:
            spaces[-1] = False
        return Doc(self.vocab, words=words, spaces=spaces)


@functools.cache
def build_pipeline(tokenizer: Tokenizer = "syllable") -> Language:
    """The shared pipeline, built once per process.

    ``syllable`` is the default. ``pyvi`` (spaCy's default for Vietnamese) runs pyvi's CRF on
    every text: about 4x the time, words joined in context differently than in a pattern
    (275 of 293 fixture communes found against 293), and a name becomes one token ("Nguyễn Văn
    A."), which the person patterns cannot see. ``whitespace`` (``use_pyvi = false``) leaves
    punctuation on the words, so "Thanh Trì," never matches (230 of 293). Both stay selectable
    for such comparisons.
    """
    if tokenizer == "pyvi":
        nlp = spacy.blank("vi")
    else:
        nlp = spacy.blank("vi", config={"nlp": {"tokenizer": {"use_pyvi": False}}})
        if tokenizer == "syllable":
            nlp.tokenizer = SyllableTokenizer(nlp.vocab)
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER", "validate": False})
    ruler.add_patterns(list(_patterns(load_gazetteer())))  # type: ignore[attr-defined]
    return nlp


@dataclass(frozen=True)
class LocationMatch:
    """A place named in the story: its words, new codes, and every new commune it covers."""

    text: str
    province_code: str | None
    commune_code: str | None
    communes: tuple[str, ...]
    old_name: bool


@dataclass
class _Found:
    persons: list[str]
    organisations: list[str]
    places: list[tuple[Span, str | None, str | None]]


class EntityExtractor:
    """Finds entities in a story; build once and reuse (the pipeline is shared per process)."""

    def __init__(self, tokenizer: Tokenizer = "syllable") -> None:
        self.nlp = build_pipeline(tokenizer)
        self._ruler: EntityRuler = self.nlp.get_pipe("entity_ruler")  # type: ignore[assignment]
        self.gazetteer = load_gazetteer()
        self._terms = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        self._surnames = frozenset(Words.load().surnames)

    def add_terms(self, kind: TermKind, phrases: Iterable[str], code: str | None = None) -> None:
        """Names to find from now on (complaint parties, projects, hamlets ...). For locations
        ``code`` is a province (2 digits) or commune (5 digits) code."""
        docs = [self.nlp.make_doc(normalize(p)) for p in phrases if p.strip()]
        if docs:
            self._terms.add(f"{kind}|{code or ''}", docs)

    def extract(self, title: str, text: str, *, normalized: bool = False) -> Entities:
        """Entities of one story; pass ``normalized=True`` when both strings already went
        through indexer.vietnamese.normalize (saves about 0.1 ms per KB)."""
        found = self._find(title, text, normalized)
        locations = [
            EntityLocation(text=m.text, province_code=m.province_code, commune_code=m.commune_code)
            for m in self._resolve(found.places)
        ]
        return Entities(
            persons=_unique(found.persons),
            organisations=_unique(found.organisations),
            locations=_unique(locations),
        )

    def locations(self, title: str, text: str) -> list[LocationMatch]:
        """The places of a story with every new commune they cover (a district has several)."""
        return self._resolve(self._find(title, text, False).places)

    def _find(self, title: str, text: str, normalized: bool) -> _Found:
        if not normalized:
            title, text = normalize(title), normalize(text)
        doc = self.nlp.make_doc(title + "\n" + text)
        strings = self.nlp.vocab.strings
        terms = [Span(doc, s, e, label=strings[i]) for i, s, e in self._terms(doc)]
        bare = self.gazetteer.bare_names
        spans = [
            s
            for s in filter_spans([*terms, *self._ruler_spans(doc)])
            if s.label_ != "LOC" or _key(s) not in bare or _written_as_name(s)
        ]
        spans.sort(key=lambda s: s.start)
        found = _Found([], [], [])
        used = -1
        for number, span in enumerate(spans):
            if span.start < used:
                continue
            if "|" in span.label_:
                kind, code = span.label_.split("|")
                if kind == "location":
                    found.places.append((span, None, code or None))
                else:
                    (found.persons if kind == "person" else found.organisations).append(span.text)
            elif span.label_ == "LOC":
                found.places.append((span, _key(span), None))
            elif span.label_ == "PER":
                used = self._person(span, found)
            elif span.label_ == "ORG":
                following = spans[number + 1] if number + 1 < len(spans) else None
                used = self._organisation(span, following, found)
        return found

    def _ruler_spans(self, doc: Doc) -> list[Span]:
        """The entity ruler's spans without writing them to ``doc.ents``: the ruler's own
        `set_annotations` builds a span per match to test for earlier entities (a blank
        pipeline has none) and then sets every token's entity fields, a quarter of this
        stage's time. The overlap rule is the ruler's: longest first, then earliest."""
        strings = self.nlp.vocab.strings
        separator = self._ruler.ent_id_sep
        seen: set[int] = set()
        spans = []
        for match_id, start, end in self._ruler.match(doc):
            if start in seen or end - 1 in seen:
                continue
            label, _, ent_id = strings[match_id].partition(separator)
            spans.append(Span(doc, start, end, label=label, span_id=ent_id))
            seen.update(range(start, end))
        return spans

    def _person(self, anchor: Span, found: _Found) -> int:
        """A family name and 1-3 capitalised syllables after an honorific, or 1-2 after a
        family and middle name; returns the first token not used."""
        doc = anchor.doc
        if anchor.id_ == "honorific":
            start = anchor.end
            if start >= len(doc) or doc[start].text not in self._surnames:
                return anchor.end
            given = _names(doc[start + 1 : start + 4])
        else:
            start = anchor.start
            given = _names(doc[anchor.end : anchor.end + 2]) if _written_as_name(anchor) else []
        if not given:
            return anchor.end
        end: int = given[-1].i + 1
        found.persons.append(doc[start:end].text)
        return end

    def _organisation(self, head: Span, following: Span | None, found: _Found) -> int:
        """Join an agency head to the place after it; returns the first token not used."""
        implied, complete, middle = head.id_.split("|")
        doc = head.doc
        limit = following.start if following is not None else len(doc)
        gap = doc[head.end : limit]
        reach = MIDDLE_WORDS if middle == "1" else 0
        if (
            following is not None
            and following.label_ == "LOC"
            and len(gap) <= reach
            and all(t.is_alpha for t in gap)
        ):
            found.organisations.append(doc[head.start : following.end].text)
            found.places.append((following, _key(following), None))
            return following.end
        names = _names(doc[head.end : min(limit, head.end + 4)])
        for end in range(len(names), 0, -1):
            key = " ".join(t.lower_ for t in names[:end])
            for candidate in (f"{implied} {key}" if implied else "", key):
                if candidate in self.gazetteer.index:
                    place = doc[head.end : head.end + end]
                    found.organisations.append(doc[head.start : place.end].text)
                    found.places.append((place, candidate, None))
                    return place.end
        unit = _unit_words(doc[head.end : limit])
        names = _names(doc[head.end + unit : min(limit, head.end + unit + 4)], digits=unit > 0)
        end = head.end + unit + len(names) if names else head.end
        if end > head.end or complete == "1":
            found.organisations.append(doc[head.start : end].text)
        return end

    def _resolve(self, places: list[tuple[Span, str | None, str | None]]) -> list[LocationMatch]:
        gazetteer = self.gazetteer
        keys = [key for _, key, _ in places if key]
        provinces = {p for p in map(gazetteer.unambiguous_province, keys) if p}
        districts = {d for d in map(gazetteer.district_of, keys) if d is not None}
        out = []
        for span, key, code in places:
            if code:
                province = gazetteer.commune_province.get(code) if len(code) == 5 else code
                commune = code if len(code) == 5 else None
                out.append(
                    LocationMatch(
                        span.text, province, commune, (commune,) if commune else (), False
                    )
                )
                continue
            found = gazetteer.resolve(key or phrase_key(span.text), provinces, districts)
            old = found.place is not None and not found.place.is_new
            out.append(
                LocationMatch(
                    span.text, found.province_code, found.commune_code, found.communes, old
                )
            )
        return out


def _unit_words(tokens: Span) -> int:
    """How many of the first tokens are a unit word ("xã", "thành phố", "TP.")."""
    first = [t.lower_ for t in tokens[:2]]
    if len(first) == 2 and " ".join(first) in _UNIT_PAIRS:
        return 2
    return 1 if first and first[0] in _UNIT_WORDS else 0


def _is_name(token: Any) -> bool:
    return bool(token.is_title or (token.is_upper and token.is_alpha))


def _names(tokens: Span, digits: bool = False) -> list[Any]:
    """The leading capitalised words of ``tokens`` (or one number after a unit word)."""
    if digits and len(tokens) and tokens[0].is_digit:
        return [tokens[0]]
    words = []
    for token in tokens:
        if not _is_name(token):
            break
        words.append(token)
    return words


def _written_as_name(span: Span) -> bool:
    return all(_is_name(t) for t in span if t.is_alpha)


def _key(span: Span) -> str:
    return " ".join(t.lower_ for t in span)


def _unique(items: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
