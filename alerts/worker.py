"""The alerts worker: each tick checks, then sends what is due, grouped emails and digests.

One worker per data folder (a lock file): the delivery journal lives there, and recovery at
start assumes no other worker is sending. Sending follows `alerts.delivery` (exactly once up to
the window documented there). Per recipient at most ``throttle.max_per_hour`` emails go out in
an hour; further non-critical alerts wait as ``grouped`` and leave together in one email when
the hour allows. Alerts held in quiet hours go out in the daily digest.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import IO
from zoneinfo import ZoneInfo

from alerts.checker import AlertChecker
from alerts.delivery import Build, Courier, CrashHook, Outcome, no_crash
from alerts.email import Composer, alert_message_id, digest_message_id, group_message_id
from alerts.feeds import feed_activity
from alerts.journal import DeliveryJournal
from alerts.lexicon import CrisisLexicon, load_lexicon
from alerts.model import DeliveryState, OutboxAlert
from alerts.routing import in_quiet_hours
from alerts.rules import AlertRules, load_rules
from alerts.smtp import Mailer
from alerts.store import AlertStore
from complaints.rules import load_holidays
from complaints.rules import load_rules as load_deadline_rules
from diemnong.settings import Settings
from indexer.adapter import Engine, EngineRequestError, EngineUnavailable
from indexer.layout import IndexNames
from indexer.models import Severity

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)


class WorkerBusy(RuntimeError):
    """Another alerts worker runs on this data folder."""


@dataclass
class TickReport:
    stored: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    grouped: int = 0
    digests: int = 0


@dataclass
class SendLog:
    """Emails sent per recipient in the last hour (the throttle's memory)."""

    times: dict[str, list[datetime]] = field(default_factory=dict)

    def count(self, recipient: str, now: datetime) -> int:
        kept = [t for t in self.times.get(recipient, []) if t > now - HOUR]
        self.times[recipient] = kept
        return len(kept)

    def add(self, recipient: str, when: datetime) -> None:
        self.times.setdefault(recipient, []).append(when)


class AlertWorker:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        rules: AlertRules | None = None,
        lexicon: CrisisLexicon | None = None,
        mailer: Mailer | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        crash: CrashHook = no_crash,
        checks: bool = True,
    ) -> None:
        self.settings = settings
        self.rules = rules or load_rules()
        self.tz = settings.timezone
        self.clock = clock
        self.crash = crash
        self.names = IndexNames(settings.index.prefix)
        self.store = AlertStore(engine, self.names)
        self.folder = settings.data_dir / "alerts"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.journal = DeliveryJournal(self.folder / "journal.jsonl")
        self.sender = settings.alerts.smtp.sender
        self.composer = Composer(settings.api.public_url, self.sender, self.tz)
        self.courier = Courier(
            self.store,
            mailer or Mailer(settings.alerts.smtp),
            self.journal,
            self.rules.backoff,
            settings.alerts.max_send_attempts,
            clock=clock,
            crash=crash,
        )
        self.checker: AlertChecker | None = None
        if checks:
            tables = (
                load_deadline_rules(settings.complaints.rules_file),
                load_holidays(settings.complaints.holidays_file),
            )
            self.checker = AlertChecker(
                engine,
                self.names,
                self.rules,
                lexicon or load_lexicon(getattr(settings.alerts, "lexicon_file", None)),
                tables,
                tz=self.tz,
                feeds=lambda: feed_activity(settings.data_dir, settings.crawler.sources_file),
            )
        self.sendlog = SendLog()
        self._lock: IO[str] | None = None
        self._digest_wait: dict[str, datetime] = {}
        self._digest_empty: dict[str, date] = {}
        self._unsettled = False

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> int:
        """Take the data folder's lock, settle what a crash left ``sending``, learn the last
        hour's sends. Returns the number of emails recovered."""
        handle = (self.folder / "worker.lock").open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            handle.close()
            raise WorkerBusy(f"another alerts worker uses {self.folder}") from error
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock = handle
        recovered = self.courier.recover(self._rebuild)
        for recipient, times in self.store.messages_sent(self.clock() - HOUR).items():
            self.sendlog.times[recipient] = sorted(times)
        return recovered

    def close(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def run(self, stop: threading.Event) -> None:
        """Tick every ``poll_interval_s`` until ``stop`` is set (SIGTERM/SIGINT in the CLI)."""
        self.start()
        try:
            while not stop.is_set():
                try:
                    report = self.tick()
                    if report.stored or report.sent or report.retried or report.digests:
                        log.info("tick: %s", report)
                except (EngineUnavailable, EngineRequestError) as error:
                    log.warning("engine trouble, retrying next tick: %s", error)
                except Exception:  # one bad alert or check must not stop every alert
                    log.exception("tick failed; retrying next tick")
                stop.wait(self.settings.alerts.poll_interval_s)
        finally:
            self.close()

    def tick(self, now: datetime | None = None) -> TickReport:
        """Settle what a failed tick left ``sending``, check, then send what is due."""
        moment = now or self.clock()
        report = TickReport()
        if self._unsettled:
            self.courier.recover(self._rebuild)
        self._unsettled = True  # until this tick ends normally
        if self.checker is not None:
            report.stored = len(self.checker.run_due(moment))
            if report.stored:
                self.crash("stored")
        if self.send_due(moment, report):
            self.send_groups(moment, report)
            self.send_digests(moment, report)
        self._unsettled = False
        return report

    # -- composing ---------------------------------------------------------------------------
    def _rebuild(
        self,
        via: str,
        recipient: str,
        message_id: str,
        alerts: list[OutboxAlert],
        earlier: Sequence[OutboxAlert] = (),
    ) -> EmailMessage:
        if via.startswith("digest:"):
            day = date.fromisoformat(via.split(":", 1)[1])
            return self.composer.bundle(
                alerts, recipient, message_id, digest_day=day, earlier=earlier
            )
        if via == "group" or len(alerts) > 1:
            return self.composer.bundle(alerts, recipient, message_id)
        return self.composer.alert(alerts[0], recipient, message_id)

    def _builder(
        self, via: str, recipient: str, message_id: str, earlier: Sequence[OutboxAlert] = ()
    ) -> Build:
        def build(alerts: list[OutboxAlert]) -> EmailMessage:
            return self._rebuild(via, recipient, message_id, alerts, earlier)

        return build

    # -- sending -----------------------------------------------------------------------------
    def _count(self, outcome: Outcome, report: TickReport, recipient: str, now: datetime) -> bool:
        """Record an outcome; False when the SMTP server is in trouble (stop this tick)."""
        if outcome is Outcome.SENT:
            report.sent += 1
            self.sendlog.add(recipient, now)
        elif outcome is Outcome.RETRY:
            report.retried += 1
            return False
        elif outcome is Outcome.FAILED:
            report.failed += 1
        return True

    def _to_grouped(self, alert_id: str, recipient: str) -> None:
        def change(alert: OutboxAlert) -> OutboxAlert | None:
            delivery = alert.delivery_for(recipient)
            if delivery is None or delivery.state is not DeliveryState.PENDING:
                return None
            delivery.state = DeliveryState.GROUPED
            delivery.next_attempt_at = None
            return alert

        self.store.update(alert_id, change)

    def send_due(self, now: datetime, report: TickReport) -> bool:
        """Send pending deliveries due now, one email each, within the hourly limit."""
        limit = self.rules.throttle.max_per_hour
        for alert in self.store.due(now):
            for delivery in alert.deliveries:
                if delivery.state is not DeliveryState.PENDING:
                    continue
                if delivery.next_attempt_at and delivery.next_attempt_at > now:
                    continue
                recipient = delivery.recipient
                critical = alert.severity is Severity.CRITICAL
                if not critical and self.sendlog.count(recipient, now) >= limit:
                    self._to_grouped(alert.id, recipient)
                    report.grouped += 1
                    continue
                message_id = alert_message_id(alert.id, recipient, self.sender)
                outcome = self.courier.deliver(
                    message_id,
                    recipient,
                    [alert.id],
                    "alert",
                    self._builder("alert", recipient, message_id),
                    {DeliveryState.PENDING},
                )
                if not self._count(outcome, report, recipient, now):
                    return False
        return True

    def _still(self, alert: OutboxAlert, recipient: str, state: DeliveryState) -> bool:
        """Whether the stored alert (real-time read) still has that delivery in ``state``."""
        current = self.store.get(alert.id)
        delivery = current.delivery_for(recipient) if current else None
        return delivery is not None and delivery.state is state

    def _waiting(self, state: DeliveryState, now: datetime) -> dict[str, list[OutboxAlert]]:
        by_recipient: dict[str, list[OutboxAlert]] = {}
        for alert in self.store.with_delivery_state(state):
            for delivery in alert.deliveries:
                ready = delivery.next_attempt_at is None or delivery.next_attempt_at <= now
                if delivery.state is state and ready:
                    by_recipient.setdefault(delivery.recipient, []).append(alert)
        return by_recipient

    def send_groups(self, now: datetime, report: TickReport) -> bool:
        """One email per recipient with the alerts the hourly limit held back, once it allows."""
        limit = self.rules.throttle.max_per_hour
        for recipient, alerts in sorted(self._waiting(DeliveryState.GROUPED, now).items()):
            if self.sendlog.count(recipient, now) >= limit:
                continue
            ids = [a.id for a in alerts if self._still(a, recipient, DeliveryState.GROUPED)]
            if not ids:
                continue
            message_id = group_message_id(recipient, ids, self.sender)
            outcome = self.courier.deliver(
                message_id,
                recipient,
                ids,
                "group",
                self._builder("group", recipient, message_id),
                {DeliveryState.GROUPED},
            )
            if not self._count(outcome, report, recipient, now):
                return False
        return True

    def send_digests(self, now: datetime, report: TickReport) -> bool:
        """After the digest time, once a day per recipient: held alerts and the day's list.

        Never in quiet hours: alerts held at night wait for the next morning's digest even
        when tonight's digest time has passed without one (a worker started in the evening).
        """
        local = now.astimezone(ZoneInfo(self.tz))
        digest = self.rules.digest
        if digest is None or local.time() < digest.at or in_quiet_hours(self.rules, now, self.tz):
            return True
        day = local.date()
        held = self._waiting(DeliveryState.HELD, now)
        for recipient in dict.fromkeys([*self.rules.every_address(), *sorted(held)]):
            message_id = digest_message_id(recipient, day, self.sender)
            if message_id in self.journal or self._digest_empty.get(recipient) == day:
                continue
            if self._digest_wait.get(recipient, now) > now:
                continue
            mine = [
                a for a in held.get(recipient, []) if self._still(a, recipient, DeliveryState.HELD)
            ]
            ids = {a.id for a in mine}
            earlier = [
                a
                for a in self.store.for_recipient(recipient, now - timedelta(days=1), now)
                if a.id not in ids
            ]
            if not mine and not earlier:
                self._digest_empty[recipient] = day
                continue
            outcome = self.courier.deliver(
                message_id,
                recipient,
                sorted(ids),
                f"digest:{day.isoformat()}",
                self._builder(f"digest:{day.isoformat()}", recipient, message_id, earlier),
                {DeliveryState.HELD},
                send_unclaimed=True,
            )
            if outcome is Outcome.SENT:
                report.digests += 1
                self.sendlog.add(recipient, now)
            elif outcome is Outcome.RETRY:
                self._digest_wait[recipient] = now + timedelta(seconds=self.rules.backoff.base_s)
                return False
        return True
