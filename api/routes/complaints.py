"""The complaint register over HTTP: cases, import, coverage, deadlines, audit.

Case numbers contain slashes ("20/2025/KN"), so routes take ``{case:path}``; the routes with a
suffix (``/coverage``, ``/deadlines``, ``/close``) are declared before the bare one. Personal
data is returned only through `complaints.audit.disclose`, which redacts by role and writes
the audit entry first.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Query, UploadFile, status

from api.auth.deps import CurrentUser, require_at_least, require_role
from api.auth.users import User
from api.deps import EngineDep, NamesDep, SettingsDep
from complaints.audit import AuditLog, disclose, disclose_many
from complaints.deadlines import compute_deadlines
from complaints.factory import build_register
from complaints.links import links_for
from complaints.privacy import Role
from complaints.register import ComplaintRegister, IllegalTransition
from complaints.rules import HolidayCalendar, RuleTable, load_holidays, load_rules
from complaints.tabular import TableFileError, import_file
from indexer.models import Complaint, ComplaintStatus

router = APIRouter(prefix="/api/complaints", tags=["complaints"])
audit_router = APIRouter(prefix="/api/audit", tags=["audit"])

UPLOAD_SUFFIXES = (".csv", ".xlsx", ".xlsm")
Editor = Annotated[User, Depends(require_at_least(Role.PRESS_OFFICER))]
Admin = Annotated[User, Depends(require_role(Role.ADMIN))]


def get_register(engine: EngineDep, names: NamesDep, settings: SettingsDep) -> ComplaintRegister:
    return build_register(engine, names, settings.complaints.repercolate_days)


def get_audit(engine: EngineDep, names: NamesDep) -> AuditLog:
    return AuditLog(engine, names)


RegisterDep = Annotated[ComplaintRegister, Depends(get_register)]
AuditDep = Annotated[AuditLog, Depends(get_audit)]


@lru_cache(maxsize=4)
def _tables(
    rules_file: Path | None, holidays_file: Path | None
) -> tuple[RuleTable, HolidayCalendar]:
    return load_rules(rules_file), load_holidays(holidays_file)


def _found(register: ComplaintRegister, case: str) -> Complaint:
    complaint = register.get(case)
    if complaint is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"không có hồ sơ {case} (no such case)")
    return complaint


@router.get("")
def list_complaints(
    register: RegisterDep,
    audit: AuditDep,
    user: CurrentUser,
    open_only: bool = False,
    status_filter: Annotated[ComplaintStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """Cases of the register as the signed-in role may see them."""
    cases = register.list(open_only=open_only, status=status_filter, limit=limit)
    shown = disclose_many(cases, user.role, user.username, audit, action="list")
    return [c.model_dump(mode="json") for c in shown]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_complaint(complaint: Complaint, register: RegisterDep, user: Editor) -> dict[str, Any]:
    """Add a case (409 when the case number exists); earlier coverage is searched at once."""
    if register.get(complaint.case_number) is not None:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"hồ sơ {complaint.case_number} đã có (case exists)"
        )
    change = register.upsert(complaint, user.username, refresh=True)
    return {"case_number": complaint.case_number, "action": change.action}


def _upload_suffix(filename: str | None) -> str:
    """The temporary file's suffix: the upload's when known, else ``.csv``.

    Files are recognised by content; the suffix only tells a broken workbook from a CSV. A
    client's name is never used as it is (a 300-character suffix made the OS refuse the file).
    """
    suffix = Path(filename or "").suffix.lower()
    return suffix if suffix in UPLOAD_SUFFIXES else ".csv"


@router.post("/import")
def import_register(
    register: RegisterDep,
    user: Editor,
    file: Annotated[UploadFile, File(description="CSV or XLSX with the register's headers")],
    dry_run: bool = False,
) -> dict[str, Any]:
    """Import a register file: all rows or none; a per-row report of problems."""
    with tempfile.NamedTemporaryFile(suffix=_upload_suffix(file.filename)) as handle:
        handle.write(file.file.read())
        handle.flush()
        try:
            report = import_file(Path(handle.name), register, user.username, dry_run=dry_run)
        except TableFileError as error:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from error
    body = asdict(report)
    if not report.ok:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, body)
    return body


@router.get("/{case:path}/coverage")
def coverage(
    case: str, register: RegisterDep, engine: EngineDep, names: NamesDep, user: CurrentUser
) -> list[dict[str, Any]]:
    """Linked stories grouped by story cluster, newest first, with why each matched."""
    _found(register, case)
    groups = links_for(engine, names, case)
    return [
        {
            "cluster_id": group.cluster_id,
            "latest": group.latest.isoformat() if group.latest else None,
            "outlets": sorted({link.outlet for link in group.links}),
            "links": [link.model_dump(mode="json") for link in group.links],
        }
        for group in groups
    ]


@router.get("/{case:path}/deadlines")
def deadlines(
    case: str, register: RegisterDep, settings: SettingsDep, user: CurrentUser
) -> list[dict[str, Any]]:
    """Legal deadlines of the case, each with the rule and legal basis that produced it."""
    complaint = _found(register, case)
    rules, holidays = _tables(settings.complaints.rules_file, settings.complaints.holidays_file)
    return [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in asdict(d).items()}
        for d in compute_deadlines(complaint, rules, holidays)
    ]


@router.post("/{case:path}/close")
def close_complaint(
    case: str, register: RegisterDep, user: Editor, outcome: str = ""
) -> dict[str, Any]:
    """Close a case: its percolator query is removed, so it stops matching new stories."""
    _found(register, case)
    try:
        change = register.close(case, user.username, outcome, refresh=True)
    except IllegalTransition as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    return {"case_number": case, "action": change.action, "status": "closed"}


@router.get("/{case:path}")
def get_complaint(
    case: str, register: RegisterDep, audit: AuditDep, user: CurrentUser
) -> dict[str, Any]:
    """One case as the signed-in role may see it (reading personal data is audited)."""
    shown = disclose(_found(register, case), user.role, user.username, audit)
    return shown.model_dump(mode="json")


@router.put("/{case:path}")
def update_complaint(
    case: str, complaint: Complaint, register: RegisterDep, user: Editor
) -> dict[str, Any]:
    """Edit a case; status changes are checked and kept in its history."""
    if complaint.case_number != case:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            "case_number trong nội dung khác với đường dẫn (case_number differs from the URL)",
        )
    _found(register, case)
    try:
        change = register.upsert(complaint, user.username, refresh=True)
    except IllegalTransition as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    return {"case_number": case, "action": change.action}


@audit_router.get("")
def audit_entries(
    audit: AuditDep, user: Admin, case: str | None = None, who: str | None = None
) -> list[dict[str, Any]]:
    """Who read complainants' personal data, when and in which case (admins only)."""
    return [e.model_dump(mode="json") for e in audit.entries(case=case, user=who)]
