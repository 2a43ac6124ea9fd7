"""Shared domain types: the one definition of Article, Complaint, Alert and Source.

Every component (crawlers, alerts, api) imports these; nothing else defines them. They are
pydantic models so that API validation, index documents and the CLI share one schema.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class OutletKind(StrEnum):
    NATIONAL_DAILY = "national_daily"
    PROVINCIAL_PAPER = "provincial_paper"
    GOVERNMENT_PORTAL = "government_portal"
    MAGAZINE = "magazine"
    OTHER = "other"


class Source(BaseModel):
    """A news outlet and where to find its stories."""

    name: str
    domain: str
    kind: OutletKind = OutletKind.OTHER
    province: str | None = None
    feeds: list[str] = Field(default_factory=list)
    sitemaps: list[str] = Field(default_factory=list)
    sections: list[str] = Field(default_factory=list)
    article_patterns: list[str] = Field(
        default_factory=list, description="Regular expressions an article URL must match."
    )
    crawl_interval_s: int = 3600


class EntityLocation(BaseModel):
    text: str
    province_code: str | None = None
    commune_code: str | None = None


class Entities(BaseModel):
    persons: list[str] = Field(default_factory=list)
    organisations: list[str] = Field(default_factory=list)
    locations: list[EntityLocation] = Field(default_factory=list)


class Article(BaseModel):
    """One news story as indexed. ``id`` is a hash of ``canonical_url`` (see indexer.ids)."""

    id: str
    url: str
    canonical_url: str
    outlet: str
    outlet_kind: OutletKind = OutletKind.OTHER
    province: str | None = None
    title: str
    lead: str = ""
    body: str = ""
    authors: list[str] = Field(default_factory=list)
    section: str | None = None
    tags: list[str] = Field(default_factory=list)
    published_at: datetime | None = None
    updated_at: datetime | None = None
    fetched_at: datetime
    language: str = "vi"
    entities: Entities = Field(default_factory=Entities)
    story_cluster_id: str | None = None
    is_original: bool = True
    content_hash: str = ""
    fetch_status: int = 200


class ComplaintKind(StrEnum):
    """Kinds of citizen matters (domain.md §1)."""

    COMPLAINT = "khieu_nai"
    DENUNCIATION = "to_cao"
    PETITION = "kien_nghi"
    FEEDBACK = "phan_anh"


class Channel(StrEnum):
    IN_PERSON = "truc_tiep"
    POST = "buu_chinh"
    ONLINE = "truc_tuyen"
    PRESS = "bao_chi_chuyen"


class ComplaintStatus(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    VERIFYING = "verifying"
    DECIDED = "decided"
    APPEALED = "appealed"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    REFUSED = "refused"
    FORWARDED = "forwarded"


OPEN_STATUSES = frozenset(
    {
        ComplaintStatus.RECEIVED,
        ComplaintStatus.ACCEPTED,
        ComplaintStatus.VERIFYING,
        ComplaintStatus.DECIDED,
        ComplaintStatus.APPEALED,
    }
)


class Complainant(BaseModel):
    """Personal data: shown only to roles allowed to see it (domain.md §4)."""

    name: str
    address: str | None = None
    id_number: str | None = None
    phone: str | None = None
    is_representative: bool = False


class Location(BaseModel):
    address_text: str = ""
    province_code: str | None = None
    commune_code: str | None = None
    province_name: str | None = None
    commune_name: str | None = None


class StatusChange(BaseModel):
    status: ComplaintStatus
    at: datetime
    by: str | None = None
    note: str | None = None


MAX_CASE_NUMBER = 100
"""Characters in a case number: it is the register's document id, which the engine caps at
512 bytes (100 characters of UTF-8 fit)."""


class Complaint(BaseModel):
    """One row of the complaint register (domain.md §3)."""

    case_number: str = Field(min_length=1, max_length=MAX_CASE_NUMBER)
    kind: ComplaintKind
    channel: Channel = Channel.IN_PERSON
    received_date: date
    complainants: list[Complainant] = Field(default_factory=list)
    people_count: int = 1
    is_mass_case: bool = False
    is_hot_spot: bool = False
    respondent: str = ""
    summary: str = ""
    request: str = ""
    subject_field: str = "other"
    location: Location = Field(default_factory=Location)
    competence: str = "ours"
    forwarded_to: str | None = None
    acceptance_date: date | None = None
    instance: int = Field(default=1, ge=1, le=2)
    is_complex: bool = False
    is_remote_area: bool = False
    extensions: int = Field(default=0, ge=0, le=2)
    status: ComplaintStatus = ComplaintStatus.RECEIVED
    history: list[StatusChange] = Field(default_factory=list)
    decision_date: date | None = None
    outcome: str | None = None
    officer: str | None = None
    aliases: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    projects: list[str] = Field(default_factory=list)
    notes: str = ""

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class AlertKind(StrEnum):
    COMPLAINT_TOUCHED = "complaint_touched"
    EMERGING_CRISIS = "emerging_crisis"
    DEADLINE = "deadline"
    SOURCE_HEALTH = "source_health"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    HIGH = "high"
    CRITICAL = "critical"


class AlertState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Alert(BaseModel):
    """An alert as stored in the outbox index before it is sent."""

    id: str
    kind: AlertKind
    severity: Severity
    title: str
    reason: str
    created_at: datetime
    complaint_case: str | None = None
    article_ids: list[str] = Field(default_factory=list)
    recipients: list[str] = Field(default_factory=list)
    due_at: datetime | None = None
    delivery: AlertState = AlertState.PENDING
    attempts: int = 0
    message_id: str | None = None
    sent_at: datetime | None = None
    acknowledged_by: str | None = None
    assigned_to: str | None = None
    resolved_at: datetime | None = None
