"""The alerts inbox: list and filter, acknowledge, assign, resolve (each kept in its history).

JSON under ``/api/alerts``; the ``/alerts`` page posts forms (with the CSRF token) to
``/alerts/{id}/{action}`` and is redirected back. Changing an alert needs a press officer or
above; anyone signed in may read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from alerts import lifecycle
from alerts.model import OutboxAlert
from alerts.store import AlertNotFound, AlertStore
from api.auth.deps import CurrentUser, require_at_least
from api.auth.users import User
from api.deps import EngineDep, NamesDep
from api.pages import render
from complaints.privacy import Role
from indexer.models import AlertKind, AlertState

router = APIRouter(prefix="/api/alerts", tags=["alerts"])
pages = APIRouter(include_in_schema=False)
Editor = Annotated[User, Depends(require_at_least(Role.PRESS_OFFICER))]
ACTIONS = ("ack", "assign", "resolve")


class Note(BaseModel):
    note: str | None = None


class Assignment(BaseModel):
    to: str
    note: str | None = None


def get_store(engine: EngineDep, names: NamesDep) -> AlertStore:
    return AlertStore(engine, names)


StoreDep = Annotated[AlertStore, Depends(get_store)]


def inbox(
    store: AlertStore,
    state: AlertState | None,
    kind: AlertKind | None,
    open_only: bool,
    limit: int,
) -> list[OutboxAlert]:
    found = store.list(state=state, kind=kind, limit=limit)
    return [a for a in found if a.resolved_at is None] if open_only else found


def apply(
    store: AlertStore,
    alert_id: str,
    action: str,
    user: User,
    to: str = "",
    note: str | None = None,
) -> OutboxAlert:
    try:
        if action == "ack":
            return lifecycle.acknowledge(store, alert_id, user.username, note)
        if action == "assign":
            if not to.strip():
                raise HTTPException(422, "cần người được giao")
            return lifecycle.assign(store, alert_id, to.strip(), user.username, note)
        if action == "resolve":
            return lifecycle.resolve(store, alert_id, user.username, note)
    except AlertNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "không có cảnh báo này") from error
    raise HTTPException(status.HTTP_404_NOT_FOUND, "không có thao tác này")


@router.get("")
def list_alerts(
    store: StoreDep,
    user: CurrentUser,
    state: AlertState | None = None,
    kind: AlertKind | None = None,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[dict[str, Any]]:
    """Newest alerts first, by delivery state and kind; ``open_only`` hides resolved ones."""
    return [a.model_dump(mode="json") for a in inbox(store, state, kind, open_only, limit)]


@router.post("/{alert_id}/ack")
def acknowledge(
    alert_id: str, store: StoreDep, user: Editor, body: Note | None = None
) -> dict[str, Any]:
    """Mark the alert as read (the first acknowledgement is kept)."""
    return apply(store, alert_id, "ack", user, note=body.note if body else None).model_dump(
        mode="json"
    )


@router.post("/{alert_id}/assign")
def assign(alert_id: str, body: Assignment, store: StoreDep, user: Editor) -> dict[str, Any]:
    """Hand the alert to someone; earlier assignments stay in the history."""
    return apply(store, alert_id, "assign", user, body.to, body.note).model_dump(mode="json")


@router.post("/{alert_id}/resolve")
def resolve(
    alert_id: str, store: StoreDep, user: Editor, body: Note | None = None
) -> dict[str, Any]:
    """Close the alert; its deadline reminders stop."""
    return apply(store, alert_id, "resolve", user, note=body.note if body else None).model_dump(
        mode="json"
    )


@pages.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request,
    store: StoreDep,
    user: CurrentUser,
    state: str = "",
    kind: str = "",
    open_only: bool = False,
) -> HTMLResponse:
    chosen_state = AlertState(state) if state in set(AlertState) else None
    chosen_kind = AlertKind(kind) if kind in set(AlertKind) else None
    alerts = inbox(store, chosen_state, chosen_kind, open_only, 200)
    return render(
        request,
        "alerts.html",
        user,
        {
            "alerts": alerts,
            "states": list(AlertState),
            "kinds": list(AlertKind),
            "state": state,
            "kind": kind,
            "open_only": open_only,
            "can_act": user.role is not Role.VIEWER,
        },
        active="alerts",
    )


@pages.post("/alerts/{alert_id}/{action}")
def alerts_form(
    alert_id: str,
    action: str,
    store: StoreDep,
    user: Editor,
    to: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    if action not in ACTIONS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "không có thao tác này")
    apply(store, alert_id, action, user, to, note or None)
    return RedirectResponse("/alerts", status_code=status.HTTP_303_SEE_OTHER)
