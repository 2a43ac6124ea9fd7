"""pyvi's word segmentation, same model and same output, at about a third of its cost.

``pyvi.ViTokenizer.tokenize`` builds a dict of 15 features per syllable and passes the dicts to
python-crfsuite, which turns every key and value into an attribute string: that, not the CRF
itself, is most of the time of a call. Here the attribute strings are built directly — a
syllable's own attributes once per distinct syllable — attributes whose value is False are left
out (weight 0: they add nothing to a score), and the tagger receives lists of strings, which
python-crfsuite reads as attributes of weight 1 ("key:value" for a string value, as it writes
them itself). Syllables, model and joining rules are pyvi's own, so the output is identical;
a test compares the two on real articles.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import string
from collections.abc import Callable
from typing import Any

__all__ = ["tokenize"]

_OWN_CACHE = 1 << 16


class _Segmenter:
    def __init__(self, pyvi: Any) -> None:
        self.sylabelize: Callable[[str], tuple[str, list[str]]] = pyvi.sylabelize
        self.tagger = pyvi.model.tagger_
        self.bi_grams: set[str] = pyvi.bi_grams
        self.tri_grams: set[str] = pyvi.tri_grams

    @staticmethod
    @functools.lru_cache(maxsize=_OWN_CACHE)
    def _syllable(word: str) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """Lowercase form and the attributes of ``word`` at, before and after the position."""
        low = word.lower()
        upper, title = word.isupper(), word.istitle()
        own: tuple[str, ...] = ("bias", "word.lower():" + low)
        own += ("word.isupper()",) * upper + ("word.istitle()",) * title
        own += ("word.isdigit()",) * word.isdigit()
        before: tuple[str, ...] = ("-1:word.lower():" + low,)
        before += ("-1:word.istitle()",) * title + ("-1:word.isupper()",) * upper
        after: tuple[str, ...] = ("+1:word.lower():" + low,)
        after += ("+1:word.istitle()",) * title + ("+1:word.isupper()",) * upper
        return low, own, before, after

    def features(self, words: list[str]) -> list[list[str]]:
        """pyvi's ``sent2features`` as attribute strings."""
        info = [self._syllable(w) for w in words]
        lows = [i[0] for i in info]
        bi, tri = self.bi_grams, self.tri_grams
        pairs = [f"{a} {b}" in bi for a, b in itertools.pairwise(lows)]
        triples = [f"{a} {b} {c}" in tri for a, b, c in zip(lows, lows[1:], lows[2:], strict=False)]
        last = len(words) - 1
        out = []
        for i, (_, own, _, _) in enumerate(info):
            item = list(own)
            if i > 0:
                item += info[i - 1][2]
                if pairs[i - 1]:
                    item.append("-1:word.bi_gram()")
                if i > 1 and triples[i - 2]:
                    item.append("-2:word.tri_gram()")
            if i < last:
                item += info[i + 1][3]
                if pairs[i]:
                    item.append("+1:word.bi_gram()")
                if i < last - 1 and triples[i]:
                    item.append("+2:word.tri_gram()")
            out.append(item)
        return out

    def tokenize(self, text: str) -> str:
        """``pyvi.ViTokenizer.tokenize``: syllables of one word joined by "_", others by " "."""
        _, words = self.sylabelize(text)
        if not words:
            return text
        labels = self.tagger.tag(self.features(words))
        out = [words[0]]
        punctuation = string.punctuation
        for i in range(1, len(labels)):
            word, previous = words[i], words[i - 1]
            joined = (
                labels[i] == "I_W"
                and word not in punctuation
                and previous not in punctuation
                and not word[0].isdigit()
                and not previous[0].isdigit()
                and not (word[0].istitle() and not previous[0].istitle())
            )
            out.append("_" if joined else " ")
            out.append(word)
        return "".join(out)


@functools.cache
def _segmenter() -> _Segmenter:
    """Load pyvi on first use: importing it unpickles a CRF model and takes about a second."""
    return _Segmenter(importlib.import_module("pyvi.ViTokenizer").ViTokenizer)


def tokenize(text: str) -> str:
    """What ``pyvi.ViTokenizer.tokenize(text)`` returns."""
    return _segmenter().tokenize(text)
