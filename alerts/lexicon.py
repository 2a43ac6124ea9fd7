"""The crisis lexicon: Vietnamese words that make coverage a possible crisis, kept as data.

Matching is on folded text (`indexer.vietnamese.fold`), so "cuong che" in a title typed without
diacritics counts as "cưỡng chế"; terms match whole words only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import yaml

from indexer.vietnamese import fold, normalize


class LexiconFileError(ValueError):
    """The lexicon file is missing or malformed."""


class CrisisLexicon:
    """Terms as written -> their category; `matches` finds them in folded text."""

    def __init__(self, terms: dict[str, str]) -> None:
        self.terms = dict(terms)
        self._by_fold = {fold(normalize(t)): t for t in self.terms}
        folded = sorted(self._by_fold, key=len, reverse=True)
        alternatives = "|".join(re.escape(t) for t in folded)
        self._pattern = re.compile(rf"(?<!\w)({alternatives})(?!\w)") if folded else None

    def matches(self, texts: Iterable[str]) -> list[str]:
        """The lexicon terms (as written in the lexicon) found in ``texts``, in first-seen order."""
        if self._pattern is None:
            return []
        found: list[str] = []
        for text in texts:
            for hit in self._pattern.findall(fold(normalize(text))):
                term = self._by_fold[hit]
                if term not in found:
                    found.append(term)
        return found


def load_lexicon(path: Path | None = None) -> CrisisLexicon:
    """The operator's lexicon file, or the packaged ``alerts/data/crisis_lexicon.yaml``."""
    try:
        if path is None:
            source = resources.files("alerts").joinpath("data", "crisis_lexicon.yaml")
            raw = yaml.safe_load(source.read_text("utf-8"))
        else:
            raw = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise LexiconFileError(f"{path or 'crisis_lexicon.yaml'}: {error}") from error
    categories = raw.get("categories") if isinstance(raw, dict) else None
    if not isinstance(categories, dict):
        raise LexiconFileError("expected a mapping 'categories: {name: [term, ...]}'")
    terms: dict[str, str] = {}
    for category, words in categories.items():
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise LexiconFileError(f"category {category!r}: expected a list of terms")
        terms.update({normalize(w).strip(): str(category) for w in words if w.strip()})
    return CrisisLexicon(terms)
