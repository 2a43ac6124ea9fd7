"""Helpers shared by the benchmarks: JSON output, peak-RSS sampling and a synthetic corpus.

Every benchmark prints exactly one JSON object on stdout (progress goes to stderr), so that runs
can be collected by a script and compared. The machine is shared and noisy: benchmarks report
ratios against a baseline measured in the same run next to absolute figures.

The corpus is built from the five real articles in ``tests/fixtures/seeds``: paragraphs and
sentences are recombined into new articles, so the text has the vocabulary, syllable mix and
punctuation of the Vietnamese press while each article is distinct. Generation is deterministic
for a given seed and article number, independent of how many articles are asked for.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import sys
import threading
import time
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import psutil

from indexer.ids import article_id, content_hash
from indexer.models import Article, OutletKind
from indexer.vietnamese import fold

SEEDS_DIR = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "seeds"
VIETNAM_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_STARTED = time.monotonic()

T = TypeVar("T")


# -- output ------------------------------------------------------------------------------
def log(message: str) -> None:
    """Progress on stderr, stamped with seconds since the benchmark started."""
    print(f"[{time.monotonic() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def emit(result: Mapping[str, Any]) -> None:
    """The benchmark's one result: a single JSON object on one line of stdout."""
    print(json.dumps(dict(result), ensure_ascii=False, sort_keys=False), flush=True)


def machine_context() -> dict[str, Any]:
    """What a reader needs to compare two runs: cores, Python, load when the run began."""
    load1, load5, _ = os.getloadavg()
    return {
        "cpu_count": os.cpu_count(),
        "python_version": platform.python_version(),
        "loadavg_1m_at_start": round(load1, 2),
        "loadavg_5m_at_start": round(load5, 2),
    }


def rounded(value: float, digits: int = 3) -> float:
    return round(value, digits)


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``itertools.batched`` for Python 3.11, yielding lists."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


# -- memory ------------------------------------------------------------------------------
class PeakRss:
    """The peak resident memory of a process (and its children) sampled in a thread.

    RSS of a JVM or of Python is not available after the fact (``ru_maxrss`` covers only the
    calling process and waited-for children), so a daemon thread polls psutil. Short spikes
    between two samples are missed; the interval bounds that error.
    """

    def __init__(self, pid: int, children: bool = True, interval_s: float = 0.2) -> None:
        self.pid = pid
        self.children = children
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss-{pid}", daemon=True)

    def __enter__(self) -> PeakRss:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.sample()

    @property
    def peak_mb(self) -> float:
        return round(self.peak_bytes / 2**20, 1)

    def sample(self) -> int:
        """Sum the RSS of the tree now; processes that vanish mid-sample count as zero."""
        try:
            root = psutil.Process(self.pid)
            procs = [root, *(root.children(recursive=True) if self.children else [])]
        except psutil.Error:
            return 0
        total = 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        self.peak_bytes = max(self.peak_bytes, total)
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)


# -- corpus ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outlet:
    name: str
    domain: str
    kind: OutletKind
    province: str | None


OUTLETS: tuple[Outlet, ...] = (
    Outlet("Báo Nhân Dân", "nhandan.vn", OutletKind.NATIONAL_DAILY, None),
    Outlet("Tuổi Trẻ", "tuoitre.vn", OutletKind.NATIONAL_DAILY, None),
    Outlet("Thanh Niên", "thanhnien.vn", OutletKind.NATIONAL_DAILY, None),
    Outlet("VnExpress", "vnexpress.net", OutletKind.NATIONAL_DAILY, None),
    Outlet("Lao Động", "laodong.vn", OutletKind.NATIONAL_DAILY, None),
    Outlet("Báo Chính phủ", "baochinhphu.vn", OutletKind.GOVERNMENT_PORTAL, None),
    Outlet("Hà Nội Mới", "hanoimoi.vn", OutletKind.PROVINCIAL_PAPER, "Hà Nội"),
    Outlet("Báo Ninh Bình", "baoninhbinh.org.vn", OutletKind.PROVINCIAL_PAPER, "Ninh Bình"),
    Outlet("Báo Huế", "baohue.vn", OutletKind.PROVINCIAL_PAPER, "Huế"),
    Outlet("Sài Gòn Giải Phóng", "sggp.org.vn", OutletKind.PROVINCIAL_PAPER, "Hồ Chí Minh"),
    Outlet("Báo Đồng Nai", "baodongnai.com.vn", OutletKind.PROVINCIAL_PAPER, "Đồng Nai"),
    Outlet("Tạp chí Tuyên giáo", "tuyengiao.vn", OutletKind.MAGAZINE, None),
)
SECTIONS: tuple[tuple[str, str], ...] = (
    ("thoi-su", "Thời sự"),
    ("xa-hoi", "Xã hội"),
    ("phap-luat", "Pháp luật"),
    ("chinh-tri", "Chính trị"),
    ("dat-dai", "Đất đai"),
    ("do-thi", "Xây dựng - Đô thị"),
    ("ban-doc", "Bạn đọc"),
)
AUTHORS: tuple[str, ...] = (
    "Xuân Trường",
    "Đức Lam",
    "Phan Viết Giảng",
    "Kim Loan",
    "Trương Công Huy",
    "Minh Thư",
    "Hoàng Anh",
    "Ngọc Hà",
)
TAGS: tuple[str, ...] = (
    "khiếu nại",
    "tố cáo",
    "tiếp công dân",
    "điểm nóng",
    "dân vận",
    "đối thoại",
    "một cửa",
    "cải cách hành chính",
    "báo chí",
)

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_TRAILING = re.compile(r"[\s,;:.…–-]+$")
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+|\s+[–-]\s+")
_QUOTES = str.maketrans("", "", '“”"()')


def _paragraphs(text: str) -> list[str]:
    """Lines long enough to be prose; headers, dates, bylines and menus are shorter."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return [line for line in lines if len(line.split()) >= 15]


def _sentences(paragraph: str) -> list[str]:
    """Split at sentence ends; a piece starting in lower case belongs to the one before."""
    merged: list[str] = []
    for piece in _SENTENCE_END.split(paragraph):
        if merged and not piece[:1].isupper():
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return [s for s in merged if len(s.split()) >= 6]


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


class ArticleFactory:
    """Deterministic synthetic `Article` objects recombined from the seed articles.

    Article ``n`` of seed ``s`` is always the same article: its random generator is seeded with
    both. Bodies are 2–6 KB of UTF-8, published times spread over ``days`` days from ``start`` in
    Vietnam time, and one article in ten arrives in NFD or with non-breaking spaces, as from real
    CMSs, so that normalisation has its real work to do (that can push a body a little past 6 KB).
    """

    def __init__(
        self,
        seed: int = 0,
        start: datetime | None = None,
        days: int = 91,
        body_bytes: tuple[int, int] = (2048, 6144),
        seeds_dir: Path = SEEDS_DIR,
    ) -> None:
        self.seed = seed
        self.start = start or datetime(2025, 9, 1, tzinfo=VIETNAM_TZ)
        self.days = days
        self.body_bytes = body_bytes
        self.seeds_dir = seeds_dir

    @cached_property
    def paragraphs(self) -> list[str]:
        files = sorted(self.seeds_dir.glob("*.txt"))
        if not files:
            raise FileNotFoundError(f"no seed articles (*.txt) in {self.seeds_dir}")
        found = [p for f in files for p in _paragraphs(f.read_text("utf-8"))]
        return [unicodedata.normalize("NFC", p) for p in found]

    @cached_property
    def sentences(self) -> list[str]:
        return [s for p in self.paragraphs for s in _sentences(p)]

    def articles(self, count: int, first: int = 0) -> Iterator[Article]:
        for number in range(first, first + count):
            yield self.article(number)

    def article(self, number: int) -> Article:
        rng = random.Random(f"{self.seed}:{number}")
        outlet = rng.choice(OUTLETS)
        section_slug, section = rng.choice(SECTIONS)
        title = self._title(rng)
        lead = " ".join(rng.sample(self.sentences, rng.randint(1, 2)))
        body = self._body(rng)
        slug = _NOT_SLUG.sub("-", fold(title)).strip("-")[:80].rstrip("-")
        canonical = f"https://{outlet.domain}/{section_slug}/{slug}-{self.seed}{number:08d}.html"
        url = canonical + ("?utm_source=rss" if rng.random() < 0.3 else "")
        published = self.start + timedelta(seconds=rng.uniform(0, self.days * 86_400))
        published = published.replace(microsecond=0)
        title, lead, body = (self._as_from_cms(rng, text) for text in (title, lead, body))
        return Article(
            id=article_id(canonical),
            url=url,
            canonical_url=canonical,
            outlet=outlet.name,
            outlet_kind=outlet.kind,
            province=outlet.province,
            title=title,
            lead=lead,
            body=body,
            authors=rng.sample(AUTHORS, rng.randint(1, 2)),
            section=section,
            tags=rng.sample(TAGS, rng.randint(0, 3)),
            published_at=published,
            fetched_at=published + timedelta(minutes=rng.randint(2, 180)),
            content_hash=content_hash(title, lead, body),
        )

    def _title(self, rng: random.Random) -> str:
        """Leading clauses of a sentence, 8 to 20 words, as headlines read."""
        words: list[str] = []
        for clause in _CLAUSE_END.split(rng.choice(self.sentences)):
            words.extend(clause.split())
            if len(words) >= 8:
                break
        if len(words) > 20:
            words = words[: rng.randint(10, 16)]
        title = _TRAILING.sub("", " ".join(words).translate(_QUOTES))
        return title[:1].upper() + title[1:]

    def _body(self, rng: random.Random) -> str:
        low, high = self.body_bytes
        target = rng.randint(low, high)
        parts: list[str] = []
        size = -2
        while size < target:
            if rng.random() < 0.5:
                paragraph = rng.choice(self.paragraphs)
            else:
                paragraph = " ".join(rng.sample(self.sentences, rng.randint(2, 4)))
            if size + _utf8_len(paragraph) + 2 > high:
                paragraph = self._fit(rng.choice(self.sentences), high - size - 2)
            if not paragraph:
                break
            parts.append(paragraph)
            size += _utf8_len(paragraph) + 2
        return "\n\n".join(parts)

    @staticmethod
    def _fit(text: str, limit: int) -> str:
        """``text`` cut back to whole words so that it takes at most ``limit`` UTF-8 bytes."""
        if _utf8_len(text) <= limit:
            return text
        cut = text.encode("utf-8")[: max(limit, 0)].decode("utf-8", errors="ignore")
        return cut[: cut.rfind(" ")] if " " in cut else ""

    @staticmethod
    def _as_from_cms(rng: random.Random, text: str) -> str:
        roll = rng.random()
        if roll < 0.05:
            return unicodedata.normalize("NFD", text)
        if roll < 0.10:
            return text.replace(", ", ",\u00a0")
        return text


def text_bytes(articles: Sequence[Article]) -> int:
    """UTF-8 size of the indexed text (title, lead, body) of ``articles``."""
    return sum(_utf8_len(a.title) + _utf8_len(a.lead) + _utf8_len(a.body) for a in articles)
