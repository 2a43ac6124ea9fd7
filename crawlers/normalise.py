"""The normalise stage: an extracted page becomes an `Article` with canonical URL and id."""

from __future__ import annotations

from datetime import datetime

from crawlers.canonical import canonical_url
from crawlers.extraction import ExtractedArticle
from crawlers.items import FetchedPage
from crawlers.vietnamese_dates import check_plausible
from indexer.ids import article_id, content_hash
from indexer.models import Article
from indexer.vietnamese import normalize


def build_article(page: FetchedPage, extracted: ExtractedArticle, now: datetime) -> Article:
    """Normalise text to one Vietnamese form and fix the identity of the story."""
    url = canonical_url(page.url, extracted.canonical_url)
    published = extracted.published_at
    feed_date = page.feed_published_at
    if published is None and feed_date is not None and check_plausible(feed_date, now) is None:
        published = feed_date
    title = normalize(extracted.title)
    lead = normalize(extracted.lead)
    body = normalize(extracted.body)
    source = page.source
    return Article(
        id=article_id(url),
        url=page.url,
        canonical_url=url,
        outlet=source.name,
        outlet_kind=source.kind,
        province=source.province,
        title=title,
        lead=lead,
        body=body,
        authors=[normalize(a) for a in extracted.authors],
        section=normalize(extracted.section) if extracted.section else None,
        tags=[normalize(t) for t in extracted.tags],
        published_at=published,
        updated_at=extracted.updated_at,
        fetched_at=page.fetched_at,
        content_hash=content_hash(title, lead, body),
        fetch_status=page.status,
    )
