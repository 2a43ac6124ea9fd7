"""The Vietnamese-aware text query: exact fields outrank folded ones, compounds add a bonus.

User input only ever reaches the engine through ``simple_query_string`` (which never raises on
syntax) and a phrase match on the pyvi-segmented twins.
"""

from __future__ import annotations

import re
from typing import Any

from indexer.vietnamese import normalize, segment

TEXT_FIELDS: dict[str, float] = {"title": 3.0, "lead": 2.0, "body": 1.0}
EXACT_BOOST = 4.0
SEGMENT_BOOST = 2.0
_OPERATORS = re.compile(r'[+|\-"*()~]')


def query_fields(fields: dict[str, float] | None = None, exact: bool = True) -> list[str]:
    chosen = fields or TEXT_FIELDS
    folded = [f"{name}.folded^{weight:g}" for name, weight in chosen.items()]
    if not exact:
        return folded
    return [f"{name}^{weight * EXACT_BOOST:g}" for name, weight in chosen.items()] + folded


def text_match(
    user_query: str, fields: dict[str, float] | None = None, exact: bool = True
) -> dict[str, Any]:
    """What ``user_query`` matches, without the ranking bonus: for filters, counts, highlights.

    ``exact=False`` asks the folded fields alone. It matches the very same documents (a word
    found as written is also found folded) for half the postings to read: what a query that
    only selects, never ranks, should use.
    """
    return {
        "simple_query_string": {
            "query": normalize(user_query).strip(),
            "fields": query_fields(fields, exact),
            "default_operator": "and",
            "flags": "AND|OR|NOT|PHRASE|PRECEDENCE|WHITESPACE|ESCAPE|PREFIX",
            "lenient": True,
        }
    }


def text_query(user_query: str, fields: dict[str, float] | None = None) -> dict[str, Any]:
    """A bool query for ``user_query``: diacritics optional, quoted phrases, AND/OR/NOT."""
    chosen = fields or TEXT_FIELDS
    query = normalize(user_query).strip()
    must = text_match(query, chosen)
    plain = _OPERATORS.sub(" ", query).strip()
    should: list[dict[str, Any]] = []
    if plain:
        should.append(
            {
                "multi_match": {
                    "query": segment(plain),
                    "fields": [f"{name}_seg^{weight:g}" for name, weight in chosen.items()],
                    "type": "phrase",
                    "boost": SEGMENT_BOOST,
                }
            }
        )
    return {"bool": {"must": [must], "should": should}}
