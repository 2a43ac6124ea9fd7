"""Near-duplicate story clusters: a syndicated copy joins the cluster of the story it repeats.

Candidates come from MinHash + MinHashLSH over hashed word shingles of the folded text (folding
per word makes the result independent of NFC/NFD, tone placement and case, which is all that
``normalize`` would change for this purpose, at a fraction of its cost). A candidate is accepted
only if three tests pass, because press templates defeat shingles alone: daily weather, gold
price and market reports reuse whole paragraphs and differ only in names, numbers or the day.

1. estimated Jaccard >= ``threshold``;
2. at most ``max_conflicts`` of the slots both stories fill disagree: a slot is a capitalised
   word or number (not at a sentence start) keyed by the two words before it, so "tại xã Tả
   Thanh Oai" against "tại xã Liên Ninh", or "ở mức 169,4" against "ở mức 169,3", conflict,
   while a copy that drops a sentence or adds "Theo báo Ninh Bình" has no conflict;
3. published within ``max_gap_hours`` of each other, unless the texts are near-verbatim
   (>= ``verbatim``): the same weather template three days later is another day's story.

The clusterer is single-threaded and keeps its state in memory; ``save``/``load`` carry it over
restarts in one ``.npz`` file (no pickle).
"""

from __future__ import annotations

import functools
import heapq
import json
import os
import re
import unicodedata
import zlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from datasketch import MinHash, MinHashLSH

from indexer.vietnamese import fold

__all__ = ["ClusterDecision", "StoryClusterer", "story_text"]

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]

_SENTENCES = re.compile(r"[.!?:;\n\"“”()\[\]…]+")
# Sentence breaks become a NUL token, so one findall gives the words and where sentences start.
_TOKENS = re.compile(r"[^\W_]+|\0")
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_MIX = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5)
_SALIENT = 1 << 32
_BREAK = 1 << 34
_CACHE_LIMIT = 200_000


def story_text(title: str, lead: str, body: str) -> str:
    """The text a story is fingerprinted on: title, lead and body, one per line."""
    return "\n".join(part for part in (title, lead, body) if part)


@dataclass(frozen=True)
class ClusterDecision:
    """Where an article went. ``cluster_id`` is the id of the cluster's first-assigned member and
    never changes; ``similar_to`` is the most similar member already assigned and ``similarity``
    the estimated Jaccard with it; ``demoted`` lists the article that was the original until
    this earlier-published one arrived (write ``is_original=False`` on it)."""

    cluster_id: str
    is_original: bool
    similar_to: str | None
    similarity: float
    demoted: tuple[str, ...] = ()


@dataclass
class _Entry:
    cluster_id: str
    stamp: datetime
    published_at: datetime | None
    outlet: str
    signature: U32
    slots: U64
    decision: ClusterDecision


@dataclass
class _Cluster:
    original: str
    published_at: datetime | None
    members: dict[str, str] = field(default_factory=dict)


class _Fingerprinter:
    """Word hashes (stable across processes: crc32 of the folded word) and the two features.

    A word's code depends on nothing but the word, so every fingerprinter of a process shares
    one table: a new clusterer (a test, the benchmark's each pass) starts with warm codes.
    """

    _codes: ClassVar[dict[str, int]] = {"\0": _BREAK}

    def __init__(self, shingle_size: int) -> None:
        self.shingle_size = shingle_size

    def __call__(self, text: str) -> tuple[list[int], U64]:
        text = unicodedata.normalize("NFC", _INVISIBLE.sub("", text))
        tokens = _TOKENS.findall(_SENTENCES.sub(" \0 ", text))
        codes = self._codes
        if len(codes) > _CACHE_LIMIT:
            # A new table rather than clearing this one: another thread may be reading it.
            codes = _Fingerprinter._codes = {"\0": _BREAK}
        known = list(map(codes.get, tokens))
        if None in known:
            known = [self._learn(w) if c is None else c for w, c in zip(tokens, known, strict=True)]
        packed = np.array(known, dtype=np.uint64)
        breaks = packed == _BREAK
        if breaks.all():
            return [], np.zeros(0, dtype=np.uint64)
        starts = np.concatenate(([True], breaks[:-1]))[~breaks]
        packed = packed[~breaks]
        hashes = packed & np.uint64(0xFFFFFFFF)
        return self._shingles(hashes), self._slots(hashes, (packed >= _SALIENT) & ~starts)

    def _learn(self, word: str) -> int:
        salient = word[0].isupper() or word[0].isdigit()
        code = zlib.crc32(fold(word).encode()) | (_SALIENT if salient else 0)
        self._codes[word] = code
        return code

    def _shingles(self, hashes: U64) -> list[int]:
        k = min(self.shingle_size, len(hashes))
        n = len(hashes) - k + 1
        combined = np.zeros(n, dtype=np.uint64)
        for j in range(k):
            combined = combined * np.uint64(_MIX[j % 4]) + hashes[j : j + n]
        folded = (combined ^ (combined >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
        shingles: list[int] = np.unique(folded).tolist()
        return shingles

    @staticmethod
    def _slots(hashes: U64, salient: npt.NDArray[np.bool_]) -> U64:
        salient[:2] = False
        at = np.flatnonzero(salient)
        if not len(at):
            return np.zeros(0, dtype=np.uint64)
        context = hashes[at - 2] * np.uint64(_MIX[0]) + hashes[at - 1] * np.uint64(_MIX[1])
        context = (context ^ (context >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
        return np.unique((context << np.uint64(32)) | hashes[at])


def _conflicts(a: U64, b: U64) -> tuple[int, int]:
    """(disagreeing, agreeing) slots among the contexts both stories fill."""
    shift = np.uint64(32)
    shared = np.intersect1d(np.unique(a >> shift), np.unique(b >> shift), assume_unique=True)
    agreeing = np.unique(np.intersect1d(a, b, assume_unique=True) >> shift)
    return len(shared) - len(agreeing), len(agreeing)


@functools.cache
def _bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """datasketch's (bands, rows) for a threshold: its search integrates numerically, ~10 ms."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


def _aware(moment: datetime | None) -> datetime | None:
    """Naive datetimes are taken as UTC so that mixed inputs still compare."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _earlier(a: datetime | None, b: datetime | None) -> bool:
    """``a`` strictly before ``b``; an unknown date counts as later than any known one."""
    return a is not None and (b is None or a < b)


class StoryClusterer:
    """Assigns each fetched story to a cluster of near-duplicates; see the module docstring."""

    def __init__(
        self,
        threshold: float = 0.55,
        num_perm: int = 64,
        shingle_size: int = 4,
        window_days: int = 14,
        *,
        max_conflicts: float = 0.05,
        max_gap_hours: float = 48.0,
        verbatim: float = 0.9,
    ) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.shingle_size = shingle_size
        self.window = timedelta(days=window_days)
        self.max_conflicts = max_conflicts
        self.max_gap = timedelta(hours=max_gap_hours)
        self.verbatim = verbatim
        self._template = MinHash(num_perm=num_perm, hashfunc=int)
        self._lsh = MinHashLSH(num_perm=num_perm, params=_bands(threshold, num_perm))
        self._fingerprint = _Fingerprinter(shingle_size)
        self._entries: dict[str, _Entry] = {}
        self._clusters: dict[str, _Cluster] = {}
        self._expiry: list[tuple[datetime, int, str]] = []
        self._sequence = 0
        self._latest: datetime | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._entries

    def assign(
        self, article_id: str, text: str, published_at: datetime | None, outlet: str
    ) -> ClusterDecision:
        """Place one article; a replay of a known id returns its decision without inserting."""
        known = self._entries.get(article_id)
        if known is not None:
            original = self._clusters[known.cluster_id].original == article_id
            return replace(known.decision, is_original=original)
        published_at = _aware(published_at)
        stamp = published_at or self._latest or datetime.now(UTC)
        self._latest = max(self._latest or stamp, stamp)
        self._evict()
        shingles, slots = self._fingerprint(text)
        minhash = self._template.copy()
        minhash.update_batch(shingles)
        match = self._best_match(minhash, slots, published_at) if shingles else None
        decision = self._decide(article_id, published_at, match)
        signature = np.asarray(minhash.hashvalues, dtype=np.uint32)
        entry = _Entry(decision.cluster_id, stamp, published_at, outlet, signature, slots, decision)
        self._store(article_id, entry, minhash if shingles else None)
        return decision

    def members(self, cluster_id: str) -> dict[str, str]:
        """Article id -> outlet of the cluster's members still in the window."""
        cluster = self._clusters.get(cluster_id)
        return dict(cluster.members) if cluster else {}

    def original(self, cluster_id: str) -> str | None:
        cluster = self._clusters.get(cluster_id)
        return cluster.original if cluster else None

    def _best_match(
        self, minhash: MinHash, slots: U64, published_at: datetime | None
    ) -> tuple[str, float] | None:
        best: tuple[str, float] | None = None
        for key in self._lsh.query(minhash):
            entry = self._entries[key]
            similarity = float(np.count_nonzero(entry.signature == minhash.hashvalues))
            similarity /= self.num_perm
            if similarity < self.threshold or (best and similarity <= best[1]):
                continue
            disagreeing, agreeing = _conflicts(slots, entry.slots)
            if disagreeing > self.max_conflicts * (disagreeing + agreeing):
                continue
            if (
                published_at is not None
                and entry.published_at is not None
                and abs(published_at - entry.published_at) > self.max_gap
                and similarity < self.verbatim
            ):
                continue
            best = (key, similarity)
        return best

    def _decide(
        self, article_id: str, published_at: datetime | None, match: tuple[str, float] | None
    ) -> ClusterDecision:
        if match is None:
            self._clusters[article_id] = _Cluster(article_id, published_at)
            return ClusterDecision(article_id, True, None, 0.0)
        similar_to, similarity = match
        cluster_id = self._entries[similar_to].cluster_id
        cluster = self._clusters[cluster_id]
        demoted: tuple[str, ...] = ()
        if _earlier(published_at, cluster.published_at):
            demoted = (cluster.original,)
            cluster.original, cluster.published_at = article_id, published_at
        return ClusterDecision(cluster_id, bool(demoted), similar_to, round(similarity, 4), demoted)

    def _store(self, article_id: str, entry: _Entry, minhash: MinHash | None) -> None:
        """Keep an entry; ``minhash`` is None for a text without words (never a candidate)."""
        self._entries[article_id] = entry
        self._clusters[entry.cluster_id].members[article_id] = entry.outlet
        if minhash is not None:
            self._lsh.insert(article_id, minhash, check_duplication=False)
        self._sequence += 1
        heapq.heappush(self._expiry, (entry.stamp, self._sequence, article_id))

    def _evict(self) -> None:
        assert self._latest is not None
        cutoff = self._latest - self.window
        while self._expiry and self._expiry[0][0] < cutoff:
            _, _, article_id = heapq.heappop(self._expiry)
            entry = self._entries.pop(article_id)
            if article_id in self._lsh:
                self._lsh.remove(article_id)
            cluster = self._clusters[entry.cluster_id]
            del cluster.members[article_id]
            if not cluster.members:
                del self._clusters[entry.cluster_id]

    # -- persistence ------------------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "num_perm": self.num_perm,
            "shingle_size": self.shingle_size,
            "window_days": self.window.days,
            "max_conflicts": self.max_conflicts,
            "max_gap_hours": self.max_gap.total_seconds() / 3600,
            "verbatim": self.verbatim,
        }

    def save(self, path: Path) -> None:
        """Write the state atomically (temporary file, then rename)."""
        entries = list(self._entries.items())
        meta = {
            "version": 1,
            "config": self._config(),
            "latest": self._latest.isoformat() if self._latest else None,
            "clusters": {
                key: [c.original, c.published_at.isoformat() if c.published_at else None]
                for key, c in self._clusters.items()
            },
            "entries": [_entry_json(key, entry) for key, entry in entries],
        }
        signatures = np.zeros((len(entries), self.num_perm), dtype=np.uint32)
        for row, (_, entry) in enumerate(entries):
            signatures[row] = entry.signature
        sizes = np.array([len(entry.slots) for _, entry in entries], dtype=np.int64)
        slots = np.concatenate([e.slots for _, e in entries] or [np.zeros(0, np.uint64)])
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        with temporary.open("wb") as handle:
            np.savez_compressed(
                handle,
                meta=np.array(json.dumps(meta, ensure_ascii=False)),
                signatures=signatures,
                slot_sizes=sizes,
                slots=slots,
            )
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: Path) -> StoryClusterer:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            signatures = data["signatures"]
            slots = np.split(data["slots"], np.cumsum(data["slot_sizes"])[:-1])
        clusterer = cls(**meta["config"])
        clusterer._latest = _parse(meta["latest"])
        for key, (original, published) in meta["clusters"].items():
            clusterer._clusters[key] = _Cluster(original, _parse(published))
        empty = np.iinfo(np.uint32).max
        for row, item in enumerate(meta["entries"]):
            entry = _entry_from_json(item, signatures[row], slots[row])
            minhash = clusterer._template.copy()
            minhash.hashvalues = entry.signature.copy()
            indexed = bool(np.any(entry.signature != empty))
            clusterer._store(item["id"], entry, minhash if indexed else None)
        return clusterer


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _entry_json(key: str, entry: _Entry) -> dict[str, Any]:
    decision = entry.decision
    return {
        "id": key,
        "cluster": entry.cluster_id,
        "stamp": entry.stamp.isoformat(),
        "published_at": entry.published_at.isoformat() if entry.published_at else None,
        "outlet": entry.outlet,
        "decision": [
            decision.is_original,
            decision.similar_to,
            decision.similarity,
            list(decision.demoted),
        ],
    }


def _entry_from_json(item: dict[str, Any], signature: U32, slots: U64) -> _Entry:
    is_original, similar_to, similarity, demoted = item["decision"]
    decision = ClusterDecision(item["cluster"], is_original, similar_to, similarity, tuple(demoted))
    stamp = _parse(item["stamp"])
    assert stamp is not None
    return _Entry(
        item["cluster"],
        stamp,
        _parse(item["published_at"]),
        item["outlet"],
        signature.astype(np.uint32),
        slots.astype(np.uint64),
        decision,
    )
