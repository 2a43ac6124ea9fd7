"""The alert rule file: who receives what, when, and each detector's thresholds.

Loaded from ``alerts/data/rules.yaml`` (or an operator's copy) into strict pydantic models, so a
misspelt key fails at start instead of silently falling back to a default.
"""

from __future__ import annotations

from datetime import time
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from indexer.models import AlertKind, OutletKind, Severity

_STRICT = ConfigDict(extra="forbid", frozen=True)


class RulesFileError(ValueError):
    """The rule file is missing, not YAML, or does not validate."""


class Recipient(BaseModel):
    """An address and the alerts it wants; an empty filter list means "all"."""

    model_config = _STRICT

    address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = ""
    kinds: list[AlertKind] = Field(default_factory=list)
    min_severity: Severity = Severity.INFO
    provinces: list[str] = Field(default_factory=list)
    subject_fields: list[str] = Field(default_factory=list)


class SavedSearch(BaseModel):
    model_config = _STRICT

    name: str
    query: str
    owner: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")


class QuietHours(BaseModel):
    """Local times (``Settings.timezone``); non-critical alerts wait for the digest."""

    model_config = _STRICT

    start: time = time(22, 0)
    end: time = time(6, 0)

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


class Throttle(BaseModel):
    model_config = _STRICT

    max_per_hour: int = Field(default=6, ge=1)


class Digest(BaseModel):
    model_config = _STRICT

    at: time = time(7, 0)


class Backoff(BaseModel):
    model_config = _STRICT

    base_s: float = Field(default=30.0, gt=0)
    max_s: float = Field(default=3600.0, gt=0)

    def delay(self, attempts: int) -> float:
        return float(min(self.max_s, self.base_s * 2 ** max(0, attempts - 1)))


class ComplaintTouchedRule(BaseModel):
    model_config = _STRICT

    severity: Severity = Severity.WARNING
    lookback_h: float = Field(default=24.0, gt=0)
    max_stories: int = Field(default=10, ge=1)


class CrisisRule(BaseModel):
    model_config = _STRICT

    baseline_days: int = Field(default=14, ge=1)
    time_field: str = Field(default="published_at", pattern="^(published_at|fetched_at)$")
    z_threshold: float = 3.0
    min_count_1h: int = 3
    min_count_6h: int = 6
    min_outlets: int = 4
    local_kinds: list[OutletKind] = Field(
        default_factory=lambda: [OutletKind.PROVINCIAL_PAPER, OutletKind.GOVERNMENT_PORTAL]
    )
    national_kinds: list[OutletKind] = Field(default_factory=lambda: [OutletKind.NATIONAL_DAILY])
    cooldown_h: float = 6.0
    lexicon_min_terms: int = 1
    max_places: int = 50


class DeadlineRule(BaseModel):
    model_config = _STRICT

    reminder_fractions: list[float] = Field(default_factory=lambda: [0.5, 0.9])
    case_approaching_days: float = 3.0
    coverage_active_days: float = 7.0


class HealthRule(BaseModel):
    model_config = _STRICT

    baseline_days: int = Field(default=14, ge=1)
    min_articles: int = 20
    min_silence_h: float = 2.0
    silence_probability: float = Field(default=0.001, gt=0, lt=1)
    error_z_threshold: float = 3.0
    min_errors_1h: int = 5
    cooldown_h: float = 6.0


class CheckIntervals(BaseModel):
    """Seconds between runs of each detector (0: every worker tick)."""

    model_config = _STRICT

    complaint_touched_s: float = 0.0
    crisis_s: float = 60.0
    deadline_s: float = 60.0
    health_s: float = 600.0
    link_new_articles: bool = True
    """Percolate newly fetched articles here too (harmless when the crawler links them)."""


class AlertRules(BaseModel):
    model_config = _STRICT

    default_recipients: list[str] = Field(default_factory=list)
    recipients: list[Recipient] = Field(default_factory=list)
    officers: dict[str, str] = Field(default_factory=dict)
    saved_searches: list[SavedSearch] = Field(default_factory=list)
    quiet_hours: QuietHours | None = QuietHours()
    throttle: Throttle = Throttle()
    digest: Digest | None = Digest()
    """None: no daily digest (then quiet hours should be off too, or held alerts wait)."""
    backoff: Backoff = Backoff()
    complaint_touched: ComplaintTouchedRule = ComplaintTouchedRule()
    crisis: CrisisRule = CrisisRule()
    deadline: DeadlineRule = DeadlineRule()
    health: HealthRule = HealthRule()
    checks: CheckIntervals = CheckIntervals()

    def every_address(self) -> list[str]:
        """Everyone who may receive a digest."""
        found = [
            *self.default_recipients,
            *(r.address for r in self.recipients),
            *self.officers.values(),
            *(s.owner for s in self.saved_searches),
        ]
        return list(dict.fromkeys(found))


def load_rules(path: Path | None = None) -> AlertRules:
    """The operator's rule file, or the packaged ``alerts/data/rules.yaml``."""
    try:
        if path is None:
            text = resources.files("alerts").joinpath("data", "rules.yaml").read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        raw = yaml.safe_load(text) or {}
        return AlertRules.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as error:
        raise RulesFileError(f"{path or 'alerts/data/rules.yaml'}: {error}") from error
