"""The complaint pages: the list of cases and one case with everything a press officer needs.

Register fields come only through `complaints.audit.disclose` (redacted by role, audited).
The case page shows deadlines with their rule and legal basis, the status history, the coverage
per day, the linked stories with why they matched, the alerts about the case, its statements
and the form that drafts a statement from chosen stories.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse

from alerts.model import OutboxAlert
from api.auth.deps import CurrentUser
from api.deps import EngineDep, NamesDep, SettingsDep
from api.pages import render
from complaints.audit import AuditLog, disclose, disclose_many
from complaints.deadlines import VN_TZ, compute_deadlines
from complaints.factory import build_register
from complaints.links import ComplaintLink, links_for
from complaints.register import ComplaintRegister
from complaints.rules import load_holidays, load_rules
from indexer.adapter import Engine
from indexer.layout import IndexNames
from statements.labels import CHANNEL, KIND, STATUS
from statements.store import StatementStore
from statements.strategy import CRISIS_LABEL, CrisisType, suggest

router = APIRouter(include_in_schema=False)


def get_register(engine: EngineDep, names: NamesDep, settings: SettingsDep) -> ComplaintRegister:
    return build_register(engine, names, settings.complaints.repercolate_days)


RegisterDep = Annotated[ComplaintRegister, Depends(get_register)]
LABELS = {"kinds": KIND, "channels": CHANNEL, "statuses": STATUS}


def alerts_for_case(engine: Engine, names: IndexNames, case: str) -> list[OutboxAlert]:
    body = {
        "query": {"term": {"complaint_case": case}},
        "sort": [{"created_at": "desc"}],
        "size": 100,
    }
    found = engine.search(names.alerts, body, params={"ignore_unavailable": "true"})
    return [OutboxAlert.model_validate(hit["_source"]) for hit in found["hits"]["hits"]]


def per_day(links: list[ComplaintLink]) -> list[tuple[date | None, list[ComplaintLink]]]:
    """Coverage grouped by local publication day, newest day first (undated last)."""
    days: dict[date | None, list[ComplaintLink]] = defaultdict(list)
    zone = ZoneInfo(VN_TZ)
    for link in links:
        day = link.published_at.astimezone(zone).date() if link.published_at else None
        days[day].append(link)
    return sorted(days.items(), key=lambda item: item[0] or date.min, reverse=True)


@router.get("/complaints", response_class=HTMLResponse)
def complaints_page(
    request: Request,
    register: RegisterDep,
    engine: EngineDep,
    names: NamesDep,
    user: CurrentUser,
    open_only: bool = False,
) -> HTMLResponse:
    cases = register.list(open_only=open_only, limit=500)
    shown = disclose_many(cases, user.role, user.username, AuditLog(engine, names), action="list")
    return render(
        request,
        "complaints.html",
        user,
        {"cases": shown, "open_only": open_only, **LABELS},
        active="complaints",
    )


@router.get("/complaints/{case:path}", response_class=HTMLResponse)
def complaint_page(
    request: Request,
    case: str,
    register: RegisterDep,
    engine: EngineDep,
    names: NamesDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> HTMLResponse:
    complaint = register.get(case)
    if complaint is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"không có hồ sơ {case}")
    shown = disclose(complaint, user.role, user.username, AuditLog(engine, names))
    deadlines = compute_deadlines(
        complaint,
        load_rules(settings.complaints.rules_file),
        load_holidays(settings.complaints.holidays_file),
    )
    groups = links_for(engine, names, case)
    links = [link for group in groups for link in group.links]
    context: dict[str, Any] = {
        "complaint": shown,
        "deadlines": deadlines,
        "groups": groups,
        "timeline": per_day(links),
        "alerts": alerts_for_case(engine, names, case),
        "statements": StatementStore(engine, names).for_case(case),
        "strategy": suggest(complaint, []),
        "crisis_labels": CRISIS_LABEL,
        "crisis_types": list(CrisisType),
        **LABELS,
    }
    return render(request, "complaint.html", user, context, active="complaints")
