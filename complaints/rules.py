"""The versioned deadline rule table and the holiday table, loaded from editable YAML files.

Deadlines change with the law (domain.md §0): every rule carries the dates it is in force, so a
case keeps the version in force when it was received. Amounts and units are data, not code,
because some of them are unsettled (calendar or working days) or come from a single secondary
copy of a 2026 text (``check: true``); an operator corrects the file, not the program.

Both files are validated with pydantic and one rule at a time, so an error names the rule (or the
holiday year) that is wrong rather than a list index deep in the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from indexer.models import ComplaintKind


class RuleFileError(ValueError):
    """A rule or holiday file that cannot be used; the message names the file and the entry."""


class Unit(StrEnum):
    CALENDAR_DAYS = "calendar_days"
    WORKING_DAYS = "working_days"
    HOURS = "hours"


class CountedFrom(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    DECIDED = "decided"
    INCIDENT = "incident"


class Procedure(StrEnum):
    """Every duty with a deadline; a rule file naming anything else is rejected."""

    COMPLAINT_ACCEPTANCE = "complaint.acceptance"
    COMPLAINT_RESOLUTION = "complaint.resolution"
    COMPLAINT_SECOND_WINDOW = "complaint.second_window"
    DENUNCIATION_INITIAL = "denunciation.initial_processing"
    DENUNCIATION_FORWARD = "denunciation.forward"
    DENUNCIATION_NOTIFY = "denunciation.notify_acceptance"
    DENUNCIATION_RESOLUTION = "denunciation.resolution"
    DENUNCIATION_PRESS_REPLY = "denunciation.press_reply"
    RECEPTION_REPLY = "reception.reply"
    PRESS_REQUEST_REPLY = "press.request_reply"
    PRESS_FORWARDED_REPORT = "press.forwarded_report"
    PRESS_FORWARDED_CONCLUSION = "press.forwarded_conclusion"
    SPOKESPERSON_INITIAL = "spokesperson.initial_info"


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """The facts of a case that decide which rule variant applies."""

    instance: int = 1
    is_complex: bool = False
    is_remote_area: bool = False
    several_locations: bool = False
    outside_competence: bool = False
    forwarded_by_press: bool = False
    in_person: bool = False


class Conditions(BaseModel):
    """A rule applies only when every condition it sets equals the case's fact."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instance: int | None = Field(default=None, ge=1, le=2)
    is_complex: bool | None = None
    is_remote_area: bool | None = None
    several_locations: bool | None = None
    outside_competence: bool | None = None
    forwarded_by_press: bool | None = None
    in_person: bool | None = None

    def _set(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)

    def matches(self, facts: CaseFacts) -> bool:
        return all(getattr(facts, key) == value for key, value in self._set().items())

    def compatible(self, other: Conditions) -> bool:
        """Whether some case could satisfy both (then two rules in force would be ambiguous)."""
        mine, theirs = self._set(), other._set()
        return all(theirs[key] == value for key, value in mine.items() if key in theirs)


class Rule(BaseModel):
    """One version of one deadline, in force from ``effective_from`` to ``effective_to``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")
    name: str = Field(min_length=1)
    procedure: Procedure
    kinds: tuple[ComplaintKind, ...] = Field(
        default=(), description="Kinds of citizen matter it applies to; empty for press duties."
    )
    when: Conditions = Conditions()
    amount: int = Field(gt=0)
    unit: Unit
    counted_from: CountedFrom
    or_after: Procedure | None = Field(
        default=None,
        description="With counted_from=decided: count from this procedure's deadline when no "
        "decision has been made by then (Art. 33 Law on Complaints).",
    )
    extension_amount: int = Field(default=0, ge=0)
    max_extensions: int = Field(default=0, ge=0)
    legal_basis: str = Field(min_length=1)
    effective_from: date
    effective_to: date | None = None
    check: bool = False
    note: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        if (self.extension_amount > 0) != (self.max_extensions > 0):
            raise ValueError("extension_amount and max_extensions must be set together")
        if self.or_after is not None and self.counted_from is not CountedFrom.DECIDED:
            raise ValueError("or_after only makes sense with counted_from: decided")
        return self

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def overlaps(self, other: Rule) -> bool:
        """Same procedure, overlapping dates, kinds and conditions: two answers to one question."""
        if self.procedure is not other.procedure:
            return False
        far = date.max
        if self.effective_from > (other.effective_to or far):
            return False
        if other.effective_from > (self.effective_to or far):
            return False
        kinds_meet = not self.kinds or not other.kinds or bool(set(self.kinds) & set(other.kinds))
        return kinds_meet and self.when.compatible(other.when)


class RuleTable(BaseModel):
    """All rule versions plus the table-wide settings."""

    model_config = ConfigDict(frozen=True)

    rules: tuple[Rule, ...]
    calendar_end_on_working_day: bool = Field(
        default=True,
        description="A calendar-day period ending on a day off ends on the next working day "
        "(Điều 148 Bộ luật Dân sự 2015).",
    )

    def get(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def procedures(self) -> list[Procedure]:
        """Procedures in file order, each once."""
        return list(dict.fromkeys(rule.procedure for rule in self.rules))

    def select(
        self,
        procedure: Procedure,
        on: date,
        *,
        kind: ComplaintKind | None = None,
        facts: CaseFacts | None = None,
    ) -> Rule | None:
        """The rule in force on ``on``; ``kind``/``facts`` of None do not filter."""
        found = [
            rule
            for rule in self.rules
            if rule.procedure is procedure
            and rule.in_force(on)
            and (kind is None or kind in rule.kinds)
            and (facts is None or rule.when.matches(facts))
        ]
        if len(found) > 1:
            ids = ", ".join(rule.id for rule in found)
            raise LookupError(f"{procedure}: several rules apply on {on}: {ids}")
        return found[0] if found else None

    def with_units(self, overrides: Mapping[str, Unit | str]) -> RuleTable:
        """A copy with units replaced; keys are rule ids or procedures (an operator setting)."""
        known = {rule.id for rule in self.rules} | {str(p) for p in self.procedures()}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise RuleFileError(f"unit override for unknown rule or procedure: {unknown}")
        changed = []
        for rule in self.rules:
            unit = overrides.get(rule.id, overrides.get(str(rule.procedure)))
            changed.append(rule if unit is None else rule.model_copy(update={"unit": Unit(unit)}))
        return self.model_copy(update={"rules": tuple(changed)})


class _RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1]
    calendar_end_on_working_day: bool = True
    unit_overrides: dict[str, Unit] = Field(default_factory=dict)
    rules: list[dict[str, Any]]


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in err['loc']) or 'value'}: {err['msg']}"
        for err in exc.errors()
    )


def _read_yaml(path: Path | None, default: str) -> tuple[str, Any]:
    source = files("complaints").joinpath("data", default) if path is None else path
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleFileError(f"{source}: cannot read: {exc.strerror or exc}") from exc
    try:
        return str(source), yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleFileError(f"{source}: not valid YAML: {exc}") from exc


def load_rules(
    path: Path | None = None, *, unit_overrides: Mapping[str, Unit | str] | None = None
) -> RuleTable:
    """Load and validate a rule table (default: the package's ``data/rules.yaml``).

    ``unit_overrides`` (rule id or procedure -> unit) is applied after the file's own
    ``unit_overrides``, so a setting can switch calendar days to working days.
    """
    name, raw = _read_yaml(path, "rules.yaml")
    try:
        head = _RuleFile.model_validate(raw)
    except ValidationError as exc:
        raise RuleFileError(f"{name}: {_errors(exc)}") from exc
    rules: list[Rule] = []
    for index, item in enumerate(head.rules):
        label = item.get("id", f"#{index + 1}") if isinstance(item, dict) else f"#{index + 1}"
        try:
            rules.append(Rule.model_validate(item))
        except ValidationError as exc:
            raise RuleFileError(f"{name}: rule {label!r}: {_errors(exc)}") from exc
    _check_unique(name, rules)
    table = RuleTable(
        rules=tuple(rules), calendar_end_on_working_day=head.calendar_end_on_working_day
    )
    try:
        return table.with_units({**head.unit_overrides, **(unit_overrides or {})})
    except RuleFileError as exc:
        raise RuleFileError(f"{name}: {exc}") from exc


def _check_unique(name: str, rules: list[Rule]) -> None:
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        if rule.id in seen:
            raise RuleFileError(f"{name}: rule {rule.id!r}: id used twice")
        seen.add(rule.id)
        for other in rules[:index]:
            if rule.overlaps(other):
                raise RuleFileError(
                    f"{name}: rule {rule.id!r} overlaps rule {other.id!r}: same procedure, "
                    "kinds and conditions in force on the same days; end one with effective_to"
                )
        if rule.or_after is not None and not any(r.procedure is rule.or_after for r in rules):
            raise RuleFileError(f"{name}: rule {rule.id!r}: or_after names no rule's procedure")


class HolidayEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    date: date
    name: str = Field(min_length=1)


class HolidayYear(BaseModel):
    """One year's days off for state agencies, as the Government announced (or as estimated)."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["official", "estimated"]
    source: str = ""
    days_off: list[HolidayEntry]
    workdays: list[HolidayEntry] = Field(
        default_factory=list, description="Weekend days worked to make up a swapped day off."
    )


@dataclass(frozen=True)
class HolidayCalendar:
    """Which days are working days for a state agency: Monday–Friday minus days off plus make-up
    Saturdays. Years missing from the table, or only estimated, make deadlines provisional."""

    days_off: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    official_years: frozenset[int] = frozenset()
    names: Mapping[date, str] = field(default_factory=dict)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.days_off

    def is_confirmed(self, start: date, end: date) -> bool:
        """Whether every year from ``start`` to ``end`` has an official entry in the table."""
        low, high = sorted((start.year, end.year))
        return all(year in self.official_years for year in range(low, high + 1))


def _holiday_year(name: str, year: Any, body: Any) -> HolidayYear:
    try:
        entry = HolidayYear.model_validate(body)
    except ValidationError as exc:
        raise RuleFileError(f"{name}: year {year}: {_errors(exc)}") from exc
    for off in entry.days_off:
        if off.date.year != year:
            raise RuleFileError(f"{name}: year {year}: day off {off.date} is in another year")
    for work in entry.workdays:
        if work.date.weekday() < 5:
            raise RuleFileError(f"{name}: year {year}: workday {work.date} is not a weekend day")
    return entry


def load_holidays(path: Path | None = None) -> HolidayCalendar:
    """Load and validate a holiday table (default: the package's ``data/holidays.yaml``)."""
    name, raw = _read_yaml(path, "holidays.yaml")
    years = raw.get("years") if isinstance(raw, dict) else None
    if not isinstance(years, dict):
        raise RuleFileError(f"{name}: expected a mapping 'years: {{YEAR: ...}}'")
    entries: dict[int, HolidayYear] = {}
    for year, body in years.items():
        if not isinstance(year, int):
            raise RuleFileError(f"{name}: year {year!r} is not a number")
        entries[year] = _holiday_year(name, year, body)
    calendar = _calendar(entries.items())
    both = sorted(calendar.days_off & calendar.workdays)
    if both:
        raise RuleFileError(f"{name}: listed both as day off and as workday: {both}")
    return calendar


def _calendar(entries: Iterable[tuple[int, HolidayYear]]) -> HolidayCalendar:
    days_off: set[date] = set()
    workdays: set[date] = set()
    official: set[int] = set()
    names: dict[date, str] = {}
    for year, entry in entries:
        if entry.status == "official":
            official.add(year)
        for item in entry.days_off:
            days_off.add(item.date)
            names[item.date] = item.name
        for item in entry.workdays:
            workdays.add(item.date)
            names[item.date] = item.name
    return HolidayCalendar(frozenset(days_off), frozenset(workdays), frozenset(official), names)
