"""Press statements over HTTP: draft from a case, edit (new version), approve, issue, export.

JSON under ``/api``; the pages (``/complaints/{case}/statement``, ``/statements/{id}``) post
forms with the CSRF token and are redirected back (303). Only a spokesperson or an admin
approves and issues; a press officer drafts and edits.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from api.auth.deps import CurrentUser, require_at_least
from api.auth.users import User
from api.deps import EngineDep, NamesDep, SettingsDep
from api.pages import render
from complaints.deadlines import compute_deadlines
from complaints.factory import build_register
from complaints.links import links_for
from complaints.privacy import Role, redact
from complaints.rules import load_holidays, load_rules
from diemnong.settings import Settings
from indexer.adapter import Engine
from indexer.layout import IndexNames
from statements.draft import Agency, Spokesperson, draft_statement
from statements.export import to_docx, to_markdown
from statements.store import NotAllowed, Statement, StatementStore, WrongStatus
from statements.stories import Story
from statements.strategy import (
    CRISIS_LABEL,
    POSTURE_LABEL,
    CrisisType,
    anticipated_questions,
    suggest,
)

router = APIRouter(tags=["statements"])
pages = APIRouter(include_in_schema=False)
Editor = Annotated[User, Depends(require_at_least(Role.PRESS_OFFICER))]
Approver = Annotated[User, Depends(require_at_least(Role.SPOKESPERSON))]
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class DraftRequest(BaseModel):
    story_ids: list[str] = Field(default_factory=list)
    crisis_type: CrisisType | None = None
    agency: Agency = Field(default_factory=Agency)
    spokesperson: Spokesperson = Field(default_factory=Spokesperson)


class EditRequest(BaseModel):
    text: str
    note: str | None = None


def get_store(engine: EngineDep, names: NamesDep) -> StatementStore:
    return StatementStore(engine, names)


StoreDep = Annotated[StatementStore, Depends(get_store)]


def create_draft(
    engine: Engine, names: IndexNames, settings: Settings, case: str, ask: DraftRequest, by: str
) -> Statement:
    """Draft from the register row and the chosen linked stories (unknown ids are refused)."""
    register = build_register(engine, names, settings.complaints.repercolate_days)
    complaint = register.get(case)
    if complaint is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"không có hồ sơ {case}")
    linked = {
        link.article_id: Story.from_link(link)
        for group in links_for(engine, names, case)
        for link in group.links
    }
    unknown = [i for i in ask.story_ids if i not in linked]
    if unknown:
        raise HTTPException(422, f"bài không gắn với hồ sơ: {', '.join(unknown)}")
    stories = [linked[i] for i in ask.story_ids]
    deadlines = compute_deadlines(
        complaint,
        load_rules(settings.complaints.rules_file),
        load_holidays(settings.complaints.holidays_file),
    )
    strategy = suggest(complaint, stories, ask.crisis_type)
    draft = draft_statement(
        complaint, stories, ask.agency, ask.spokesperson, strategy, deadlines=deadlines
    )
    return StatementStore(engine, names).create(draft, by)


def _found(store: StatementStore, statement_id: str) -> Statement:
    statement = store.get(statement_id)
    if statement is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "không có thông cáo này")
    return statement


def _step(
    action: str,
    store: StatementStore,
    statement_id: str,
    user: User,
    text: str = "",
    note: str | None = None,
) -> Statement:
    _found(store, statement_id)
    try:
        if action == "approve":
            return store.approve(statement_id, user.username, user.role)
        if action == "issue":
            return store.issue(statement_id, user.username, user.role)
        return store.edit(statement_id, text, user.username, note)
    except NotAllowed as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from error
    except WrongStatus as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error


@router.post("/api/complaints/{case:path}/statements", status_code=status.HTTP_201_CREATED)
def draft(
    case: str,
    ask: DraftRequest,
    engine: EngineDep,
    names: NamesDep,
    settings: SettingsDep,
    user: Editor,
) -> dict[str, Any]:
    """Draft a statement from the case and the selected linked stories."""
    return create_draft(engine, names, settings, case, ask, user.username).model_dump(mode="json")


@router.get("/api/statements/{statement_id}.docx")
def download_docx(statement_id: str, store: StoreDep, user: CurrentUser) -> Response:
    """The current version as a Word document in administrative layout."""
    statement = _found(store, statement_id)
    return Response(
        to_docx(statement),
        media_type=DOCX,
        headers={"Content-Disposition": f'attachment; filename="thong-cao-{statement.id}.docx"'},
    )


@router.get("/api/statements/{statement_id}.md")
def download_markdown(statement_id: str, store: StoreDep, user: CurrentUser) -> Response:
    """The current version as Markdown."""
    statement = _found(store, statement_id)
    return PlainTextResponse(
        to_markdown(statement),
        media_type="text/markdown",
        headers={"Content-Disposition": f'attachment; filename="thong-cao-{statement.id}.md"'},
    )


@router.get("/api/statements/{statement_id}")
def get_statement(statement_id: str, store: StoreDep, user: CurrentUser) -> dict[str, Any]:
    """A statement with all its versions."""
    return _found(store, statement_id).model_dump(mode="json")


@router.put("/api/statements/{statement_id}")
def edit_statement(
    statement_id: str, edit: EditRequest, store: StoreDep, user: Editor
) -> dict[str, Any]:
    """Save an edit as a new version (an approved statement returns to draft)."""
    return _step("edit", store, statement_id, user, edit.text, edit.note).model_dump(mode="json")


@router.post("/api/statements/{statement_id}/approve")
def approve(statement_id: str, store: StoreDep, user: Approver) -> dict[str, Any]:
    """Approve the current version (spokesperson or admin)."""
    return _step("approve", store, statement_id, user).model_dump(mode="json")


@router.post("/api/statements/{statement_id}/issue")
def issue(statement_id: str, store: StoreDep, user: Approver) -> dict[str, Any]:
    """Issue an approved statement (spokesperson or admin); on time if within 24 h of the
    case's first alert."""
    return _step("issue", store, statement_id, user).model_dump(mode="json")


# -- pages -----------------------------------------------------------------------------------
@pages.get("/complaints/{case:path}/statement")
def case_statement(case: str, store: StoreDep, user: CurrentUser) -> Response:
    found = store.for_case(case)
    target = f"/statements/{found[0].id}" if found else f"/complaints/{case}#soan-thong-cao"
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


@pages.post("/complaints/{case:path}/statement")
def case_statement_create(
    case: str,
    engine: EngineDep,
    names: NamesDep,
    settings: SettingsDep,
    user: Editor,
    story_ids: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI form default
    crisis_type: Annotated[str, Form()] = "",
    agency_name: Annotated[str, Form()] = "",
    agency_place: Annotated[str, Form()] = "",
    spokesperson_name: Annotated[str, Form()] = "",
    spokesperson_title: Annotated[str, Form()] = "",
    spokesperson_phone: Annotated[str, Form()] = "",
    spokesperson_email: Annotated[str, Form()] = "",
) -> Response:
    ask = DraftRequest(
        story_ids=story_ids,
        crisis_type=CrisisType(crisis_type) if crisis_type else None,
        agency=Agency(name=agency_name, place=agency_place),
        spokesperson=Spokesperson(
            name=spokesperson_name,
            title=spokesperson_title,
            phone=spokesperson_phone,
            email=spokesperson_email,
        ),
    )
    statement = create_draft(engine, names, settings, case, ask, user.username)
    return RedirectResponse(f"/statements/{statement.id}", status_code=status.HTTP_303_SEE_OTHER)


@pages.get("/statements/{statement_id}", response_class=HTMLResponse)
def statement_page(
    request: Request,
    statement_id: str,
    store: StoreDep,
    engine: EngineDep,
    names: NamesDep,
    settings: SettingsDep,
    user: CurrentUser,
) -> HTMLResponse:
    statement = _found(store, statement_id)
    complaint = build_register(engine, names, settings.complaints.repercolate_days).get(
        statement.case_number
    )
    questions = []
    if complaint is not None:
        stories = [
            Story.from_link(link)
            for group in links_for(engine, names, statement.case_number)
            for link in group.links
            if link.article_id in statement.story_ids
        ]
        questions = anticipated_questions(stories, redact(complaint, Role.VIEWER))
    return render(
        request,
        "statement.html",
        user,
        {
            "statement": statement,
            "questions": questions,
            "crisis_labels": CRISIS_LABEL,
            "posture_labels": POSTURE_LABEL,
            "can_edit": user.role is not Role.VIEWER and statement.status.value != "issued",
            "can_sign": user.role in (Role.SPOKESPERSON, Role.ADMIN),
        },
        active="complaints",
    )


@pages.post("/statements/{statement_id}/{action}")
def statement_action(
    statement_id: str,
    action: str,
    store: StoreDep,
    user: CurrentUser,
    text: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    if action not in ("edit", "approve", "issue"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "không có thao tác này")
    if action == "edit" and user.role is Role.VIEWER:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "không có quyền sửa")
    _step(action, store, statement_id, user, text, note or None)
    return RedirectResponse(f"/statements/{statement_id}", status_code=status.HTTP_303_SEE_OTHER)
