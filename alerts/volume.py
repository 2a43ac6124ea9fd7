"""Every engine query behind the crisis and source-health detectors (the aggregation DSL).

Times come from the caller (``now``), never from the engine's ``now``, so a check can be
replayed and tested at any moment. Subjects are filters over the ``articles`` alias: a place
(entity province or commune code), a complaint (the ids of its linked stories) or a saved search
(`indexer.text_query.text_query`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.detectors.crisis import WINDOW_H, SubjectVolume
from alerts.detectors.health import OutletActivity
from alerts.model import StoryRef
from alerts.rules import CrisisRule, HealthRule
from indexer.adapter import Engine
from indexer.layout import IndexNames
from indexer.models import Complaint, OutletKind

STORY_FIELDS = ["id", "title", "lead", "outlet", "outlet_kind", "url", "published_at", "fetched_at"]
SNIPPET_CHARS = 280
OUTLET_BATCH = 100
_LENIENT = {"ignore_unavailable": "true"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _range(
    field: str, gte: datetime, lt: datetime | None = None, lte: datetime | None = None
) -> dict[str, Any]:
    bounds: dict[str, str] = {"gte": _iso(gte)}
    if lt is not None:
        bounds["lt"] = _iso(lt)
    if lte is not None:
        bounds["lte"] = _iso(lte)
    return {"range": {field: bounds}}


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def story_ref(source: dict[str, Any], doc_id: str | None = None) -> StoryRef:
    kind = str(source.get("outlet_kind") or "")
    return StoryRef(
        article_id=str(source.get("id") or doc_id or ""),
        title=str(source.get("title") or ""),
        outlet=str(source.get("outlet") or ""),
        outlet_kind=OutletKind(kind) if kind in OutletKind._value2member_map_ else None,
        url=str(source.get("url") or ""),
        published_at=_when(source.get("published_at")),
        snippet=str(source.get("lead") or "")[:SNIPPET_CHARS],
    )


# -- subjects --------------------------------------------------------------------------------
def place_filter(level: str, code: str) -> dict[str, Any]:
    return {"term": {f"entities.locations.{level}_code": code}}


def ids_filter(ids: Sequence[str]) -> dict[str, Any]:
    return {"ids": {"values": list(ids)}}


def active_places(
    engine: Engine, names: IndexNames, now: datetime, rule: CrisisRule
) -> list[tuple[str, str]]:
    """(level, code) of provinces and communes with stories in the last 6 h, busiest first.

    One story is enough: a single national story can be the outbreak signal.
    """
    field = rule.time_field
    aggs = {
        level: {
            "terms": {
                "field": f"entities.locations.{level}_code",
                "size": rule.max_places,
            }
        }
        for level in ("province", "commune")
    }
    body = {
        "size": 0,
        "query": _range(field, now - timedelta(hours=WINDOW_H), lte=now),
        "aggs": aggs,
    }
    found = engine.search(names.articles, body, params=_LENIENT).get("aggregations", {})
    return [
        (level, str(bucket["key"]))
        for level in ("province", "commune")
        for bucket in found.get(level, {}).get("buckets", [])
    ]


def subject_volume(
    engine: Engine,
    names: IndexNames,
    subject_filter: dict[str, Any],
    now: datetime,
    rule: CrisisRule,
    *,
    key: str,
    label: str,
    provinces: tuple[str, ...] = (),
    complaint: Complaint | None = None,
    saved_search: str | None = None,
    owner: str | None = None,
) -> SubjectVolume:
    """Counts of one subject: last 1 h, last 6 h, the baseline before them, outlets, firsts."""
    field = rule.time_field
    window_start = now - timedelta(hours=WINDOW_H)
    base_start = window_start - timedelta(days=rule.baseline_days)
    body = {
        "size": 0,
        "query": {"bool": {"filter": [subject_filter, _range(field, base_start, lte=now)]}},
        "aggs": {
            "h1": {"filter": _range(field, now - timedelta(hours=1), lte=now)},
            "h6": {
                "filter": _range(field, window_start, lte=now),
                "aggs": {
                    "outlets": {"terms": {"field": "outlet", "size": 200}},
                    "latest": {
                        "top_hits": {
                            "size": 5,
                            "sort": [{field: "desc"}],
                            "_source": STORY_FIELDS,
                        }
                    },
                },
            },
            "base": {
                "filter": _range(field, base_start, lt=window_start),
                "aggs": {
                    "blocks": {
                        "date_histogram": {"field": field, "fixed_interval": f"{WINDOW_H}h"},
                        "aggs": {"outlets": {"cardinality": {"field": "outlet"}}},
                    }
                },
            },
            "kinds": {
                "terms": {"field": "outlet_kind", "size": 10},
                "aggs": {
                    "first": {
                        "top_hits": {"size": 1, "sort": [{field: "asc"}], "_source": STORY_FIELDS}
                    }
                },
            },
        },
    }
    aggs = engine.search(names.articles, body, params=_LENIENT).get("aggregations", {})
    h6 = aggs.get("h6", {})
    blocks = aggs.get("base", {}).get("blocks", {}).get("buckets", [])
    first_seen: dict[OutletKind, datetime] = {}
    first_stories: dict[OutletKind, StoryRef] = {}
    for bucket in aggs.get("kinds", {}).get("buckets", []):
        if bucket["key"] not in OutletKind._value2member_map_:
            continue
        hits = bucket["first"]["hits"]["hits"]
        when = _when(hits[0]["_source"].get(field)) if hits else None
        if when is not None:
            first_seen[OutletKind(bucket["key"])] = when
            first_stories[OutletKind(bucket["key"])] = story_ref(hits[0]["_source"], hits[0]["_id"])
    return SubjectVolume(
        subject_key=key,
        label=label,
        count_1h=int(aggs.get("h1", {}).get("doc_count", 0)),
        count_6h=int(h6.get("doc_count", 0)),
        baseline_total=int(aggs.get("base", {}).get("doc_count", 0)),
        baseline_hours=rule.baseline_days * 24.0,
        baseline_max_outlets_6h=max((int(b["outlets"]["value"]) for b in blocks), default=0),
        window_outlets=tuple(str(b["key"]) for b in h6.get("outlets", {}).get("buckets", [])),
        first_seen=first_seen,
        first_stories=first_stories,
        stories=tuple(
            story_ref(hit["_source"], hit["_id"])
            for hit in h6.get("latest", {}).get("hits", {}).get("hits", [])
        ),
        provinces=provinces,
        complaint=complaint,
        saved_search=saved_search,
        owner=owner,
    )


# -- source health ---------------------------------------------------------------------------
def outlet_activity(
    engine: Engine, names: IndexNames, now: datetime, rule: HealthRule
) -> list[OutletActivity]:
    """Stories fetched per hour and the last fetch of every outlet seen in the baseline."""
    start = (now - timedelta(days=rule.baseline_days)).astimezone(UTC)
    start = start.replace(minute=0, second=0, microsecond=0)
    window = _range("fetched_at", start, lte=now)
    listing = engine.search(
        names.articles,
        {
            "size": 0,
            "query": window,
            "aggs": {
                "outlets": {
                    "terms": {"field": "outlet", "size": 5000},
                    "aggs": {"last": {"max": {"field": "fetched_at"}}},
                }
            },
        },
        params=_LENIENT,
    )
    buckets = listing.get("aggregations", {}).get("outlets", {}).get("buckets", [])
    last_seen = {
        str(b["key"]): datetime.fromtimestamp(b["last"]["value"] / 1000, UTC) for b in buckets
    }
    outlets = sorted(last_seen)
    hours = int((now - start).total_seconds() // 3600) + 1
    found: list[OutletActivity] = []
    for offset in range(0, len(outlets), OUTLET_BATCH):
        batch = outlets[offset : offset + OUTLET_BATCH]
        body = {
            "size": 0,
            "query": {"bool": {"filter": [window, {"terms": {"outlet": batch}}]}},
            "aggs": {
                "outlets": {
                    "terms": {"field": "outlet", "size": len(batch)},
                    "aggs": {
                        "hourly": {
                            "date_histogram": {
                                "field": "fetched_at",
                                "fixed_interval": "1h",
                                "min_doc_count": 0,
                                "extended_bounds": {"min": _iso(start), "max": _iso(now)},
                            }
                        }
                    },
                }
            },
        }
        result = engine.search(names.articles, body, params=_LENIENT)
        for bucket in result.get("aggregations", {}).get("outlets", {}).get("buckets", []):
            series = [0] * hours
            for hour in bucket["hourly"]["buckets"]:
                index = int((hour["key"] / 1000 - start.timestamp()) // 3600)
                if 0 <= index < hours:
                    series[index] = int(hour["doc_count"])
            outlet = str(bucket["key"])
            found.append(OutletActivity(outlet, start, tuple(series), last_seen.get(outlet)))
    return found


def fetch_errors(
    engine: Engine, names: IndexNames, now: datetime, rule: HealthRule
) -> list[tuple[str, int, int, float]]:
    """(outlet, errors in the last hour, errors in the baseline before it, baseline hours)."""
    start = now - timedelta(days=rule.baseline_days)
    last_hour = now - timedelta(hours=1)
    body = {
        "size": 0,
        "query": _range("at", start, lte=now),
        "aggs": {
            "outlets": {
                "terms": {"field": "outlet", "size": 5000},
                "aggs": {"h1": {"filter": _range("at", last_hour, lte=now)}},
            }
        },
    }
    found = engine.search(names.fetch_log, body, params=_LENIENT)
    rows = []
    for bucket in found.get("aggregations", {}).get("outlets", {}).get("buckets", []):
        recent = int(bucket["h1"]["doc_count"])
        rows.append(
            (
                str(bucket["key"]),
                recent,
                int(bucket["doc_count"]) - recent,
                rule.baseline_days * 24.0 - 1,
            )
        )
    return rows
