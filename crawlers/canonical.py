"""Canonical article URLs: one form per story, whatever link led to it.

Tracking parameters, AMP and mobile variants and fragments are removed; a page's own
``<link rel=canonical>`` wins when it points to the same site.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from w3lib.url import canonicalize_url, url_query_cleaner

TRACKING_PARAMETERS = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "utm_id",
    "fbclid",
    "gclid",
    "zarsrc",
    "zacc",
    "gidzl",
    "vn_source",
    "vn_medium",
    "vn_campaign",
    "ref",
    "amp",
    "outputType",
)
_AMP_PATH = re.compile(r"(/amp(?=/|$)|\.amp(?=\.html?$|$)|/amp\.html$)")
_MOBILE_HOST = re.compile(r"^(m|mobile|amp)\.")


def _same_site(a: str, b: str) -> bool:
    def root(host: str) -> str:
        return _MOBILE_HOST.sub("", host.lower().removeprefix("www."))

    return root(urlsplit(a).netloc) == root(urlsplit(b).netloc)


def clean_url(url: str) -> str:
    """Drop tracking parameters, AMP/mobile markers and the fragment."""
    cleaned = url_query_cleaner(url.strip(), TRACKING_PARAMETERS, remove=True, keep_fragments=False)
    parts = urlsplit(cleaned)
    host = _MOBILE_HOST.sub("", parts.netloc.lower())
    path = _AMP_PATH.sub("", parts.path) or "/"
    return canonicalize_url(urlunsplit((parts.scheme.lower(), host, path, parts.query, "")))


def canonical_url(fetched_url: str, declared: str | None) -> str:
    """The page's declared canonical URL when it is on the same site, else the cleaned URL."""
    if declared:
        absolute = declared if urlsplit(declared).scheme else None
        if absolute and _same_site(absolute, fetched_url):
            return clean_url(absolute)
    return clean_url(fetched_url)
