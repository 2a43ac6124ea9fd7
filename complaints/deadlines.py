"""Legal deadlines of a citizen matter and of press/spokesperson duties, from the rule table.

The version of each rule is the one in force on the day the case was received (domain.md §0),
whatever the date the period is counted from. Periods follow the Civil Code's counting: the
start day is not counted; a calendar-day period that ends on a day off ends on the next working
day when the table says so (``calendar_end_on_working_day``). Every ``Deadline`` names its rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from complaints.rules import (
    CaseFacts,
    CountedFrom,
    HolidayCalendar,
    Procedure,
    Rule,
    RuleTable,
    Unit,
    load_holidays,
    load_rules,
)
from indexer.models import Channel, Complaint, ComplaintStatus

VN_TZ = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True, slots=True)
class Deadline:
    """One due date and the rule that produced it.

    ``provisional`` is true when the holiday table does not confirm every year the period crosses
    (a year missing or only estimated), so the date may still move.
    """

    name: str
    due: date | datetime
    rule_id: str
    legal_basis: str
    amount: int
    unit: Unit
    counted_from: CountedFrom
    is_check: bool
    procedure: Procedure
    start: date | datetime
    extensions: int = 0
    provisional: bool = False

    def ends_at(self, tz: str = VN_TZ) -> datetime:
        """The last moment to act: the due time, or the end of the due day in ``tz``."""
        if isinstance(self.due, datetime):
            return self.due
        return datetime.combine(self.due, time.max, tzinfo=ZoneInfo(tz))


def next_working_day(day: date, holidays: HolidayCalendar) -> date:
    """``day`` itself when it is a working day, otherwise the first working day after it."""
    while not holidays.is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(start: date, n: int, holidays: HolidayCalendar) -> date:
    """The ``n``-th working day after ``start`` (``start`` itself is not counted)."""
    if n < 0:
        raise ValueError(f"cannot count {n} working days")
    day = start
    while n > 0:
        day += timedelta(days=1)
        if holidays.is_working_day(day):
            n -= 1
    return day


def add_calendar_days(
    start: date, n: int, holidays: HolidayCalendar, *, end_on_working_day: bool
) -> date:
    """``start`` + ``n`` days, moved to the next working day if asked and it is a day off."""
    due = start + timedelta(days=n)
    return next_working_day(due, holidays) if end_on_working_day else due


def _local(moment: datetime, tz: str) -> datetime:
    zone = ZoneInfo(tz)
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)


def _apply(
    rule: Rule,
    start: date | datetime,
    table: RuleTable,
    holidays: HolidayCalendar,
    *,
    extensions: int = 0,
    tz: str = VN_TZ,
) -> Deadline:
    used = min(extensions, rule.max_extensions)
    amount = rule.amount + used * rule.extension_amount
    due: date | datetime
    provisional = False
    if rule.unit is Unit.HOURS:
        begin = start if isinstance(start, datetime) else datetime.combine(start, time.min)
        due = _local(begin, tz) + timedelta(hours=amount)
    else:
        day = start.date() if isinstance(start, datetime) else start
        if rule.unit is Unit.WORKING_DAYS:
            due = add_working_days(day, amount, holidays)
        else:
            due = add_calendar_days(
                day, amount, holidays, end_on_working_day=table.calendar_end_on_working_day
            )
        provisional = not holidays.is_confirmed(day, due)
    name = f"{rule.name} (gia hạn {used} lần)" if used else rule.name
    return Deadline(
        name=name,
        due=due,
        rule_id=rule.id,
        legal_basis=rule.legal_basis,
        amount=amount,
        unit=rule.unit,
        counted_from=rule.counted_from,
        is_check=rule.check,
        procedure=rule.procedure,
        start=start,
        extensions=used,
        provisional=provisional,
    )


def case_facts(complaint: Complaint, *, several_locations: bool = False) -> CaseFacts:
    """The facts rule conditions look at; ``several_locations`` is not in the register yet."""
    return CaseFacts(
        instance=complaint.instance,
        is_complex=complaint.is_complex,
        is_remote_area=complaint.is_remote_area,
        several_locations=several_locations,
        outside_competence=complaint.competence != "ours"
        or complaint.status is ComplaintStatus.FORWARDED,
        forwarded_by_press=complaint.channel is Channel.PRESS,
        in_person=complaint.channel is Channel.IN_PERSON,
    )


def _anchor(rule: Rule, complaint: Complaint, done: dict[Procedure, Deadline]) -> date | None:
    if rule.counted_from is CountedFrom.RECEIVED:
        return complaint.received_date
    if rule.counted_from is CountedFrom.ACCEPTED:
        return complaint.acceptance_date
    if rule.counted_from is CountedFrom.DECIDED:
        if complaint.decision_date is not None:
            return complaint.decision_date
        fallback = done.get(rule.or_after) if rule.or_after is not None else None
        if fallback is not None and not isinstance(fallback.due, datetime):
            return fallback.due
    return None


def compute_deadlines(
    complaint: Complaint,
    rules: RuleTable,
    holidays: HolidayCalendar,
    *,
    several_locations: bool = False,
) -> list[Deadline]:
    """Every deadline that applies to ``complaint`` and whose starting date is known.

    Rules are those in force on ``received_date``. A period counted from acceptance or decision
    is left out until that date is recorded (except where the rule counts from another deadline
    when no decision came, ``or_after``).
    """
    facts = case_facts(complaint, several_locations=several_locations)
    on = complaint.received_date
    chosen: list[Rule] = []
    for procedure in rules.procedures():
        rule = rules.select(procedure, on, kind=complaint.kind, facts=facts)
        if rule is not None:
            chosen.append(rule)
    chosen.sort(key=lambda rule: rule.or_after is not None)
    done: dict[Procedure, Deadline] = {}
    for rule in chosen:
        start = _anchor(rule, complaint, done)
        if start is not None:
            done[rule.procedure] = _apply(
                rule, start, rules, holidays, extensions=complaint.extensions
            )
    order = {procedure: index for index, procedure in enumerate(rules.procedures())}
    return sorted(done.values(), key=lambda deadline: order[deadline.procedure])


@cache
def _default_tables() -> tuple[RuleTable, HolidayCalendar]:
    return load_rules(), load_holidays()


def press_reply_deadline(
    received_at: datetime,
    kind: Procedure,
    *,
    rules: RuleTable | None = None,
    holidays: HolidayCalendar | None = None,
    tz: str = VN_TZ,
) -> Deadline:
    """Deadline of a press or spokesperson duty (``press.*``, ``spokesperson.initial_info``).

    ``received_at`` is the moment the period starts: what the rule's ``counted_from`` says (the
    incident under Decree 09/2017, the agency's receipt under Decree 244/2026). A naive datetime
    is read in ``tz``. The rule version is the one in force on that local date. Tables default to
    the package data files.
    """
    if rules is None or holidays is None:
        default_rules, default_holidays = _default_tables()
        rules = default_rules if rules is None else rules
        holidays = default_holidays if holidays is None else holidays
    local = _local(received_at, tz)
    rule = rules.select(kind, local.date())
    if rule is None:
        raise LookupError(f"no rule for {kind} in force on {local.date()}")
    return _apply(rule, local, rules, holidays, tz=tz)
