"""Check → decide → store: run the detectors on what the engine holds and store what they find.

Each detector runs on its own interval (`CheckIntervals`); a detector whose queries fail is
logged and skipped, the others still run. Stored alerts have content-derived ids, so running a
check twice, or two checkers at once, stores each alert once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from alerts import coverage, volume
from alerts.detectors import complaints as complaint_rules
from alerts.detectors import crisis, deadlines, health
from alerts.detectors.crisis import SubjectVolume
from alerts.feeds import FeedActivity
from alerts.findings import Finding
from alerts.lexicon import CrisisLexicon
from alerts.model import OutboxAlert
from alerts.places import commune, place_label
from alerts.routing import decide
from alerts.rules import AlertRules
from alerts.saved_searches import watched_searches
from alerts.store import AlertStore
from complaints.deadlines import compute_deadlines, press_reply_deadline
from complaints.links import percolate, store_links
from complaints.register import ComplaintRegister
from complaints.rules import HolidayCalendar, Procedure, RuleTable
from indexer.adapter import Engine, EngineRequestError, EngineUnavailable
from indexer.layout import IndexNames
from indexer.models import AlertKind, Complaint

log = logging.getLogger(__name__)

LINK_MARGIN = timedelta(minutes=5)
LINK_BATCH = 200
FeedSource = Callable[[], dict[str, FeedActivity]]


class AlertChecker:
    def __init__(
        self,
        engine: Engine,
        names: IndexNames,
        rules: AlertRules,
        lexicon: CrisisLexicon,
        deadline_tables: tuple[RuleTable, HolidayCalendar],
        *,
        tz: str = "Asia/Ho_Chi_Minh",
        feeds: FeedSource | None = None,
    ) -> None:
        self.engine = engine
        self.names = names
        self.rules = rules
        self.lexicon = lexicon
        self.tables = deadline_tables
        self.tz = tz
        self.feeds = feeds
        self.store = AlertStore(engine, names)
        self.register = ComplaintRegister(engine, names)
        self._last_run: dict[str, datetime] = {}
        self._links_cursor: datetime | None = None
        self._articles_cursor: datetime | None = None
        self._percolated: dict[str, datetime] = {}

    # -- orchestration ---------------------------------------------------------------------
    def run_due(self, now: datetime, force: bool = False) -> list[OutboxAlert]:
        """Run the detectors whose interval has passed; returns the alerts newly stored."""
        every = self.rules.checks
        plan: list[tuple[str, float, Callable[[datetime], list[Finding]]]] = [
            ("complaint_touched", every.complaint_touched_s, self.check_complaints),
            ("crisis", every.crisis_s, self.check_crises),
            ("deadline", every.deadline_s, self.check_deadlines),
            ("health", every.health_s, self.check_sources),
        ]
        stored: list[OutboxAlert] = []
        for name, interval, check in plan:
            last = self._last_run.get(name)
            if not force and last is not None and now - last < timedelta(seconds=interval):
                continue
            try:
                findings = check(now)
            except (EngineUnavailable, EngineRequestError) as error:
                log.warning("check %s skipped: %s", name, error)
                continue
            self._last_run[name] = now
            stored.extend(self.store_findings(findings, now))
        return stored

    def store_findings(self, findings: list[Finding], now: datetime) -> list[OutboxAlert]:
        stored = []
        for finding in findings:
            alert = decide(finding, self.rules, now, self.tz)
            if self.store.create(alert, refresh=False):
                log.info("alert %s stored: %s", alert.id, alert.title)
                stored.append(alert)
        if stored:
            self.store.refresh()  # the next check must see what this one stored (covers)
        return stored

    def _complaint(self, case: str, cache: dict[str, Complaint | None]) -> Complaint | None:
        if case not in cache:
            found = self.register.get(case)
            cache[case] = found if found is not None and found.is_open else None
        return cache[case]

    # -- complaint touched -----------------------------------------------------------------
    def link_new_articles(self, now: datetime) -> int:
        """Percolate the articles fetched since the last check against the open complaints.

        The window reaches ``LINK_MARGIN`` back, because an article is searchable only once
        its batch is written; what was percolated in that margin is remembered by id.
        """
        since = (self._articles_cursor or now - timedelta(hours=1)) - LINK_MARGIN
        fresh = [
            article
            for article in coverage.articles_fetched_since(self.engine, self.names, since)
            if article.id not in self._percolated
        ]
        for start in range(0, len(fresh), LINK_BATCH):
            batch = fresh[start : start + LINK_BATCH]
            store_links(self.engine, self.names, percolate(self.engine, self.names, batch, now=now))
        if fresh:
            self.engine.refresh(self.names.complaint_links)
        self._percolated.update({article.id: now for article in fresh})
        horizon = now - 2 * LINK_MARGIN
        self._percolated = {k: v for k, v in self._percolated.items() if v >= horizon}
        self._articles_cursor = now
        return len(fresh)

    def check_complaints(self, now: datetime) -> list[Finding]:
        if self.rules.checks.link_new_articles:
            self.link_new_articles(now)
        rule = self.rules.complaint_touched
        lookback = now - timedelta(hours=rule.lookback_h)
        since = max(lookback, (self._links_cursor or lookback) - LINK_MARGIN)
        cases = sorted(
            {link.case_number for link in coverage.links_since(self.engine, self.names, since)}
        )
        table, holidays = self.tables

        def due(moment: datetime) -> datetime:
            deadline = press_reply_deadline(
                moment, Procedure.SPOKESPERSON_INITIAL, rules=table, holidays=holidays, tz=self.tz
            )
            return deadline.ends_at(self.tz)

        found: list[Finding] = []
        cache: dict[str, Complaint | None] = {}
        for case in cases:
            complaint = self._complaint(case, cache)
            if complaint is None:
                continue
            links = coverage.links_since(self.engine, self.names, lookback, case)
            ids = [link.article_id for link in links]
            kinds = coverage.outlet_kinds(self.engine, self.names, ids)
            finding = complaint_rules.complaint_touched(
                complaint,
                links,
                self.store.covers(case),
                rule,
                self.lexicon,
                outlet_kinds=kinds,
                initial_info_due=due,
            )
            if finding is not None:
                found.append(finding)
        self._links_cursor = now
        return found

    # -- emerging crisis -------------------------------------------------------------------
    def _volumes(self, now: datetime) -> list[SubjectVolume]:
        rule = self.rules.crisis
        found = []
        for level, code in volume.active_places(self.engine, self.names, now, rule):
            if level == "province":
                provinces: tuple[str, ...] = (code,)
            else:
                parent = commune(code)
                provinces = (parent[1],) if parent else ()
            found.append(
                volume.subject_volume(
                    self.engine,
                    self.names,
                    volume.place_filter(level, code),
                    now,
                    rule,
                    key=f"place:{level}:{code}",
                    label=place_label(level, code),
                    provinces=provinces,
                )
            )
        window = now - timedelta(hours=crisis.WINDOW_H)
        cache: dict[str, Complaint | None] = {}
        for case in sorted(coverage.cases_with_stories(self.engine, self.names, window)):
            complaint = self._complaint(case, cache)
            if complaint is None:
                continue
            base = window - timedelta(days=rule.baseline_days)
            ids = coverage.linked_article_ids(self.engine, self.names, case, base)
            found.append(
                volume.subject_volume(
                    self.engine,
                    self.names,
                    volume.ids_filter(ids),
                    now,
                    rule,
                    key=f"complaint:{case}",
                    label=f"vụ việc {case}"
                    + (f" ({complaint.summary[:80]})" if complaint.summary else ""),
                    provinces=tuple(p for p in [complaint.location.province_code] if p),
                    complaint=complaint,
                )
            )
        for search in watched_searches(self.engine, self.names, self.rules):
            found.append(
                volume.subject_volume(
                    self.engine,
                    self.names,
                    search.query,
                    now,
                    rule,
                    key=f"search:{search.name}",
                    label=f"tìm kiếm “{search.name}”",
                    saved_search=search.name,
                    owner=search.owner,
                )
            )
        return found

    def check_crises(self, now: datetime) -> list[Finding]:
        rule = self.rules.crisis
        found: list[Finding] = []
        for subject in self._volumes(now):
            rising = crisis.spike(subject, rule, self.lexicon, now)
            if rising is not None:
                last = self.store.latest(
                    AlertKind.EMERGING_CRISIS, subject.subject_key, "crisis.volume"
                )
                if last is None or now - last >= timedelta(hours=rule.cooldown_h):
                    found.append(rising)
            national = crisis.outbreak(subject, rule, self.lexicon, now)
            if national is not None:
                found.append(national)
        return found

    # -- deadlines -------------------------------------------------------------------------
    def check_deadlines(self, now: datetime) -> list[Finding]:
        rule = self.rules.deadline
        waiting = self.store.open_with_deadline(AlertKind.COMPLAINT_TOUCHED)
        found = deadlines.initial_info_reminders(waiting, rule, now)
        active = coverage.cases_with_stories(
            self.engine, self.names, now - timedelta(days=rule.coverage_active_days)
        )
        table, holidays = self.tables
        cache: dict[str, Complaint | None] = {}
        for case, stories in sorted(active.items()):
            complaint = self._complaint(case, cache)
            if complaint is None:
                continue
            dates = compute_deadlines(complaint, table, holidays)
            found.extend(deadlines.case_deadlines(complaint, dates, stories, rule, now, self.tz))
        return found

    # -- source health ---------------------------------------------------------------------
    def check_sources(self, now: datetime) -> list[Finding]:
        rule = self.rules.health
        feeds = self.feeds() if self.feeds else {}
        found: list[Finding] = []
        for activity in volume.outlet_activity(self.engine, self.names, now, rule):
            feed = feeds.get(activity.outlet)
            if feed is not None:
                latest = max((t for t in (activity.last_seen, feed.last_new_at) if t), default=None)
                activity = health.OutletActivity(
                    activity.outlet, activity.start, activity.hourly, latest, feed.interval_s
                )
            silent = health.feed_silence(activity, rule, now, self.tz)
            if silent is not None:
                found.append(silent)
        for outlet, recent, total, hours in volume.fetch_errors(self.engine, self.names, now, rule):
            failing = health.error_spike(outlet, recent, total, hours, rule, now)
            if failing is None:
                continue
            last = self.store.latest(AlertKind.SOURCE_HEALTH, failing.subject_key, "health.errors")
            if last is None or now - last >= timedelta(hours=rule.cooldown_h):
                found.append(failing)
        return found
