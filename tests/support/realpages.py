"""The saved real article pages (tests/fixtures/realpages) as fetched pages for the page stages."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from crawlers.items import FetchedPage
from indexer.models import OutletKind, Source

REALPAGES = Path(__file__).resolve().parents[1] / "fixtures" / "realpages"
GOLD = json.loads((REALPAGES / "gold.json").read_text("utf-8"))["articles"]
SOURCE = Source(name="VnExpress", domain="vnexpress.net", kind=OutletKind.NATIONAL_DAILY)


def real_page(name: str, fetched_at: datetime, body: bytes | None = None) -> FetchedPage:
    """The saved page ``name`` at its real URL; with ``body``, that body at a URL of its own
    (a page in the same batch as the real one is another page)."""
    url = next(g["url"] for g in GOLD if g["page"] == name)
    return FetchedPage(
        url=url if body is None else f"{url}?variant={len(body)}",
        requested_url=url,
        status=200,
        body=body if body is not None else (REALPAGES / "pages" / name).read_bytes(),
        content_type="text/html; charset=utf-8",
        source=SOURCE,
        fetched_at=fetched_at,
        via="test",
    )
