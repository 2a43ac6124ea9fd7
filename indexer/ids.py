"""Document ids derived from content, so that every write is idempotent."""

from __future__ import annotations

import hashlib

from w3lib.url import canonicalize_url


def url_key(canonical_url: str) -> str:
    """The form of a canonical URL that is hashed: scheme/host case and query order folded."""
    return canonicalize_url(canonical_url.strip(), keep_fragments=False)


def article_id(canonical_url: str) -> str:
    """A stable id for an article: the first 32 hex digits of SHA-256 of its canonical URL."""
    return hashlib.sha256(url_key(canonical_url).encode("utf-8")).hexdigest()[:32]


def content_hash(*parts: str) -> str:
    """A hash of the article text, to notice edits of an already indexed story."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:32]
