"""Complaint touched: the press writes about an open complaint.

The first story of a case fires; after that only a story from a new outlet or of a new story
cluster does — a republication by an outlet that already covered the case does not. What an
alert reported is recorded as its ``covers`` (``cluster:<id>``, ``outlet:<name>``); the next
detection compares against the union of the covers of every stored alert of the case. All new
stories found in one check make one alert.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from alerts.findings import Finding
from alerts.lexicon import CrisisLexicon
from alerts.model import StoryRef, raise_severity
from alerts.rules import ComplaintTouchedRule
from complaints.links import ComplaintLink
from indexer.models import AlertKind, Complaint, OutletKind

_HIGHLIGHT_TAGS = re.compile(r"</?em>")


def plain_snippet(fragment: str) -> str:
    """A highlight fragment without the engine's ``<em>`` marks (the rest stays as text)."""
    return _HIGHLIGHT_TAGS.sub("", fragment).strip()


def covers_of(link: ComplaintLink) -> tuple[str, str]:
    return f"cluster:{link.story_cluster_id or link.article_id}", f"outlet:{link.outlet}"


def story_of(link: ComplaintLink, outlet_kind: OutletKind | None = None) -> StoryRef:
    return StoryRef(
        article_id=link.article_id,
        title=link.title,
        outlet=link.outlet,
        outlet_kind=outlet_kind,
        url=link.url,
        published_at=link.published_at,
        snippet=plain_snippet(link.snippets[0]) if link.snippets else "",
    )


def complaint_touched(
    complaint: Complaint,
    links: Sequence[ComplaintLink],
    covered: Collection[str],
    rule: ComplaintTouchedRule,
    lexicon: CrisisLexicon,
    *,
    outlet_kinds: dict[str, OutletKind] | None = None,
    initial_info_due: Callable[[datetime], datetime] | None = None,
) -> Finding | None:
    """One finding for the links that bring a new cluster or a new outlet to the case."""
    if not complaint.is_open:
        return None
    ordered = sorted(links, key=lambda link: (link.linked_at, link.article_id))
    seen = set(covered)
    fresh: list[ComplaintLink] = []
    new_covers: list[str] = []
    for link in ordered:
        keys = [key for key in covers_of(link) if key not in seen]
        if keys:
            fresh.append(link)
            new_covers.extend(keys)
            seen.update(keys)
    if not fresh:
        return None
    kinds = outlet_kinds or {}
    stories = tuple(story_of(link, kinds.get(link.article_id)) for link in fresh)
    first_time = not covered
    new_clusters = sorted({k for k in new_covers if k.startswith("cluster:")})
    outlets = sorted({link.outlet for link in fresh})
    terms = lexicon.matches(text for s in stories for text in (s.title, s.snippet))
    severity = rule.severity
    if complaint.is_hot_spot or complaint.is_mass_case:
        severity = raise_severity(severity)
    if terms:
        severity = raise_severity(severity)
    case = complaint.case_number
    if first_time:
        title = f"Báo chí đưa tin về vụ việc {case}"
    elif new_clusters:
        title = f"Vụ việc {case}: {len(new_clusters)} tin mới trên báo chí"
    else:
        title = f"Vụ việc {case}: thêm {len(outlets)} báo đăng lại"
    reason = (
        f"{len(fresh)} bài báo khớp với hồ sơ {case}"
        + (" (lần đầu được báo chí nhắc đến)" if first_time else "")
        + f"; báo: {', '.join(outlets)}."
    )
    if complaint.is_hot_spot or complaint.is_mass_case:
        reason += " Vụ việc là điểm nóng/đông người."
    if terms:
        reason += f" Từ ngữ khủng hoảng: {', '.join(terms)}."
    times = [link.published_at or link.linked_at for link in fresh if new_clusters]
    due_from = min(times) if times else None
    digest = hashlib.sha256("\n".join(sorted(new_covers)).encode()).hexdigest()[:16]
    return Finding(
        kind=AlertKind.COMPLAINT_TOUCHED,
        subject_key=f"complaint:{case}",
        window=f"covers:{digest}",
        rule="complaint_touched.first" if first_time else "complaint_touched.new_coverage",
        severity=severity,
        title=title,
        reason=reason,
        subject_label=complaint.summary[:200] or case,
        numbers={
            "stories": len(fresh),
            "new_clusters": len(new_clusters),
            "new_outlets": len([k for k in new_covers if k.startswith("outlet:")]),
            "covered_before": len({k for k in covered if k.startswith("cluster:")}),
        },
        stories=stories[: rule.max_stories],
        complaint_case=case,
        provinces=tuple(p for p in [complaint.location.province_code] if p),
        subject_field=complaint.subject_field,
        officer=complaint.officer,
        covers=tuple(new_covers),
        lexicon_terms=tuple(terms),
        due_from=due_from,
        due_at=initial_info_due(due_from) if due_from and initial_info_due else None,
    )
