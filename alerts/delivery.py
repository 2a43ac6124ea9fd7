"""Sending one email exactly once across crashes: claim → send → journal → mark sent.

One email has one Message-ID and delivers one or more (alert, recipient) deliveries:

1. claim: each delivery is set to ``sending`` with the Message-ID (compare-and-set, so two
   workers cannot both claim it; `alerts.worker` also holds a lock file per data folder);
2. send over SMTP;
3. journal: the Message-ID is appended to `alerts.journal.DeliveryJournal` and fsync'ed;
4. mark sent.

Recovery (`Courier.recover`, at worker start and after a tick that failed): a delivery found
``sending`` whose Message-ID is in the journal was accepted — it is marked sent without sending
again. One that is not in the journal is sent again under the same Message-ID.

The remaining window: the server accepted the message (step 2 done) but the journal line was
not yet durable (step 3) when the process died — or the connection dropped after the message
data went out, before the server's reply arrived. The message is then sent twice, both copies
with the same Message-ID, which the receiving side can use to drop the second. The window is
the time between the server's "250 OK" and the fsync of one journal line (about a millisecond),
plus the rare lost reply; every other crash point delivers exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from enum import StrEnum

from alerts.journal import DeliveryJournal
from alerts.model import AlertEvent, DeliveryState, OutboxAlert
from alerts.rules import Backoff
from alerts.smtp import Mailer, PermanentFailure, TemporaryFailure
from alerts.store import AlertNotFound, AlertStore

log = logging.getLogger(__name__)

CrashHook = Callable[[str], None]
Build = Callable[[list[OutboxAlert]], EmailMessage]


class Outcome(StrEnum):
    SENT = "sent"
    NOTHING = "nothing"
    RETRY = "retry"
    FAILED = "failed"


def no_crash(point: str) -> None:
    """The production crash hook: does nothing (tests stop the process at ``point``)."""


class Courier:
    def __init__(
        self,
        store: AlertStore,
        mailer: Mailer,
        journal: DeliveryJournal,
        backoff: Backoff,
        max_attempts: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        crash: CrashHook = no_crash,
    ) -> None:
        self.store = store
        self.mailer = mailer
        self.journal = journal
        self.backoff = backoff
        self.max_attempts = max_attempts
        self.clock = clock
        self.crash = crash

    # -- the protocol --------------------------------------------------------------------
    def deliver(
        self,
        message_id: str,
        recipient: str,
        alert_ids: Sequence[str],
        via: str,
        build: Build,
        claim_from: Collection[DeliveryState],
        *,
        send_unclaimed: bool = False,
    ) -> Outcome:
        """Claim the deliveries of ``recipient`` in ``alert_ids`` and send one email for them.

        ``message_id`` must follow from ``recipient`` and ``alert_ids`` (as the alert and group
        ids of `alerts.email` do): when the journal has it, those deliveries went out already
        and are only marked sent. A digest's id follows from the day instead, so its caller
        checks the journal first. ``send_unclaimed`` sends even when nothing was claimed (a
        digest listing only alerts that went out before); the caller makes sure there is
        something to say, as the search that proposed the deliveries may lag a second.
        """
        if message_id in self.journal:
            marked = self._mark_sent(message_id, recipient, alert_ids, claim_from)
            return Outcome.SENT if marked else Outcome.NOTHING
        claimed = [
            a
            for a in (self._claim(i, recipient, message_id, via, claim_from) for i in alert_ids)
            if a
        ]
        if not claimed and not send_unclaimed:
            return Outcome.NOTHING
        self.crash("claimed")
        return self._send(message_id, recipient, claimed, build)

    def _claim(
        self,
        alert_id: str,
        recipient: str,
        message_id: str,
        via: str,
        claim_from: Collection[DeliveryState],
    ) -> OutboxAlert | None:
        def change(alert: OutboxAlert) -> OutboxAlert | None:
            delivery = alert.delivery_for(recipient)
            if delivery is None or delivery.state not in claim_from:
                return None
            if delivery.next_attempt_at and delivery.next_attempt_at > self.clock():
                return None  # the search that proposed it was stale: still backing off
            delivery.resume = delivery.state
            delivery.state = DeliveryState.SENDING
            delivery.message_id = message_id
            delivery.via = via
            delivery.sending_at = self.clock()
            return alert

        try:
            return self.store.update(alert_id, change)
        except AlertNotFound:
            return None

    def _send(
        self, message_id: str, recipient: str, claimed: list[OutboxAlert], build: Build
    ) -> Outcome:
        ids = [a.id for a in claimed]
        try:
            self.mailer.send(build(claimed))
        except TemporaryFailure as error:
            log.warning("sending %s to %s failed, will retry: %s", message_id, recipient, error)
            self._release(message_id, recipient, ids, str(error), permanent=False)
            return Outcome.RETRY
        except PermanentFailure as error:
            log.error("sending %s to %s refused: %s", message_id, recipient, error)
            self._release(message_id, recipient, ids, str(error), permanent=True)
            return Outcome.FAILED
        self.crash("accepted")
        self.journal.record(message_id, recipient, ids)
        self.crash("sent")
        self._mark_sent(message_id, recipient, ids, {DeliveryState.SENDING})
        return Outcome.SENT

    def _mark_sent(
        self,
        message_id: str,
        recipient: str,
        alert_ids: Sequence[str],
        from_states: Collection[DeliveryState],
    ) -> int:
        """Mark the deliveries sent; returns how many changed."""
        moment = self.clock()

        def change(alert: OutboxAlert) -> OutboxAlert | None:
            delivery = alert.delivery_for(recipient)
            if delivery is None or delivery.state not in from_states:
                return None
            if delivery.state is DeliveryState.SENDING and delivery.message_id != message_id:
                return None
            delivery.state = DeliveryState.SENT
            delivery.message_id = message_id
            delivery.sent_at = moment
            delivery.attempts += 1
            delivery.last_error = None
            alert.history.append(
                AlertEvent(at=moment, action="sent", note=f"{recipient} {message_id}")
            )
            return alert

        marked = 0
        for alert_id in alert_ids:
            try:
                marked += self.store.update(alert_id, change) is not None
            except AlertNotFound:
                continue
        return marked

    def _release(
        self,
        message_id: str,
        recipient: str,
        alert_ids: Sequence[str],
        error: str,
        *,
        permanent: bool,
    ) -> None:
        """Give up the claim: back to the state it came from with a later attempt, or failed."""
        moment = self.clock()

        def change(alert: OutboxAlert) -> OutboxAlert | None:
            delivery = alert.delivery_for(recipient)
            if delivery is None or delivery.message_id != message_id:
                return None
            if delivery.state is not DeliveryState.SENDING:
                return None
            delivery.attempts += 1
            delivery.last_error = error[:500]
            if permanent or delivery.attempts >= self.max_attempts:
                delivery.state = DeliveryState.FAILED
                alert.history.append(
                    AlertEvent(at=moment, action="failed", note=f"{recipient}: {error[:200]}")
                )
            else:
                delivery.state = delivery.resume or DeliveryState.PENDING
                delivery.next_attempt_at = moment + timedelta(
                    seconds=self.backoff.delay(delivery.attempts)
                )
            if delivery.state is not DeliveryState.FAILED:
                delivery.message_id = None
            return alert

        for alert_id in alert_ids:
            try:
                self.store.update(alert_id, change)
            except AlertNotFound:
                continue

    # -- after a crash ---------------------------------------------------------------------
    def recover(
        self,
        rebuild: Callable[[str, str, str, list[OutboxAlert]], EmailMessage],
        refresh: bool = True,
    ) -> int:
        """Settle every ``sending`` delivery no send is under way for; returns how many emails.

        Called when the worker starts (after a crash) and before the tick after one that
        failed half-way (e.g. the engine went away before mark-sent). Each candidate is
        re-read in real time first, so a search lagging behind a mark-sent never causes a
        resend. ``rebuild(via, recipient, message_id, alerts)`` composes the email again.
        """
        if refresh:
            self.store.refresh()  # the claims may be younger than the refresh interval
        stranded: dict[tuple[str, str], list[str]] = {}
        vias: dict[tuple[str, str], str] = {}
        for alert in self.store.with_delivery_state(DeliveryState.SENDING):
            for delivery in alert.deliveries:
                if delivery.state is DeliveryState.SENDING and delivery.message_id:
                    key = (delivery.message_id, delivery.recipient)
                    stranded.setdefault(key, []).append(alert.id)
                    vias[key] = delivery.via or "alert"
        settled = 0
        for (message_id, recipient), ids in stranded.items():
            current = [a for a in (self.store.get(i) for i in ids) if a is not None]
            alerts = [a for a in current if _sending(a, recipient, message_id)]
            if not alerts:
                continue
            settled += 1
            if message_id in self.journal:
                log.info("recovery: %s was accepted before the crash; marking sent", message_id)
                self._mark_sent(
                    message_id, recipient, [a.id for a in alerts], {DeliveryState.SENDING}
                )
                continue
            log.info("recovery: %s not in the journal; sending it again", message_id)
            via = vias[(message_id, recipient)]
            self._send(message_id, recipient, alerts, _bound(rebuild, via, recipient, message_id))
        return settled


def _sending(alert: OutboxAlert, recipient: str, message_id: str) -> bool:
    delivery = alert.delivery_for(recipient)
    return (
        delivery is not None
        and delivery.state is DeliveryState.SENDING
        and delivery.message_id == message_id
    )


def _bound(
    rebuild: Callable[[str, str, str, list[OutboxAlert]], EmailMessage],
    via: str,
    recipient: str,
    message_id: str,
) -> Build:
    def build(alerts: list[OutboxAlert]) -> EmailMessage:
        return rebuild(via, recipient, message_id, alerts)

    return build
