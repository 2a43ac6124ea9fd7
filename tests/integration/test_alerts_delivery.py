"""Delivery against the real engine and a real SMTP server (aiosmtpd on 127.0.0.1).

Exactly once: a crash after the claim, after the journal line, or in the worker process itself
(killed between store and send, and between send and mark-sent) still gives one email per
alert and recipient; the documented window (accepted, not yet journaled) gives a second copy
with the same Message-ID. Also: SMTP down for an hour, permanent refusals, the hourly limit,
quiet hours and the daily digest, acknowledgement history, one worker per data folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from alerts.findings import Finding
from alerts.lifecycle import acknowledge, assign, resolve
from alerts.model import DeliveryState, OutboxAlert, StoryRef
from alerts.routing import decide
from alerts.rules import AlertRules, Backoff, Digest, QuietHours, Recipient, Throttle
from alerts.store import AlertStore
from alerts.testing import SmtpSink
from alerts.worker import AlertWorker, WorkerBusy
from complaints.links import ComplaintLink, store_links
from complaints.register import ComplaintRegister
from diemnong.settings import AlertSettings, Settings, SmtpSettings
from indexer.adapter import Engine, EngineUnavailable
from indexer.layout import IndexNames
from indexer.models import AlertKind, AlertState, Complaint, ComplaintKind, Location, Severity

pytestmark = [pytest.mark.engine]
VN = ZoneInfo("Asia/Ho_Chi_Minh")
TZ = "Asia/Ho_Chi_Minh"
OFFICE = "vanphong@ninhbinh.gov.vn"
SPOKESPERSON = "phatngon@ninhbinh.gov.vn"


class Crash(BaseException):
    """Stands for the process dying at a crash point (nothing after it runs)."""


class Clock:
    """Simulated time for the worker. A simulated minute passes in milliseconds, while a real
    one lets the engine refresh its searches (every second); so moving the clock refreshes the
    outbox, else a search could still show a delivery ``sending`` minutes after it was released.
    """

    def __init__(self, start: datetime, store: AlertStore) -> None:
        self._now = start
        self.store = store

    def __call__(self) -> datetime:
        return self._now

    @property
    def now(self) -> datetime:
        return self._now

    @now.setter
    def now(self, moment: datetime) -> None:
        self.store.refresh()
        self._now = moment

    def advance(self, **delta: float) -> datetime:
        self.now = self._now + timedelta(**delta)
        return self.now


def rules(**changes: object) -> AlertRules:
    base = AlertRules(
        default_recipients=[OFFICE],
        recipients=[
            Recipient(address=OFFICE),
            Recipient(address=SPOKESPERSON, min_severity=Severity.HIGH),
        ],
        quiet_hours=None,
        digest=None,
        backoff=Backoff(base_s=60, max_s=600),
        throttle=Throttle(max_per_hour=6),
    )
    return base.model_copy(update=changes)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


@pytest.fixture
def config(settings: Settings, sink: SmtpSink) -> Settings:
    return settings.model_copy(
        update={
            "alerts": AlertSettings(
                poll_interval_s=0.2,
                max_send_attempts=12,
                smtp=SmtpSettings(host="127.0.0.1", port=sink.port, sender="canhbao@diemnong.vn"),
            )
        }
    )


def worker(
    engine: Engine,
    config: Settings,
    rule_set: AlertRules,
    clock: Clock | None = None,
    crash_at: str | None = None,
) -> AlertWorker:
    def crash(point: str) -> None:
        if point == crash_at:
            raise Crash(point)

    made = AlertWorker(
        engine,
        config,
        rules=rule_set,
        clock=clock or (lambda: datetime.now(UTC)),
        crash=crash,
        checks=False,
    )
    made.start()
    return made


def put(
    store: AlertStore,
    rule_set: AlertRules,
    now: datetime,
    number: int,
    severity: Severity = Severity.WARNING,
) -> OutboxAlert:
    finding = Finding(
        kind=AlertKind.COMPLAINT_TOUCHED,
        subject_key=f"complaint:{number}/KN",
        window="covers:test",
        rule="complaint_touched.first",
        severity=severity,
        title=f"Báo chí đưa tin về vụ việc {number}/KN",
        reason="Một bài báo khớp với hồ sơ.",
        complaint_case=f"{number}/KN",
        stories=(
            StoryRef(
                article_id=f"art{number}",
                title=f"Dân phản đối thu hồi đất, vụ {number}",
                outlet="Báo Ninh Bình",
                url=f"https://baoninhbinh.org.vn/tin-{number}.html",
                published_at=now,
            ),
        ),
    )
    alert = decide(finding, rule_set, now, TZ)
    assert store.create(alert)
    return alert


def states(store: AlertStore, alert_id: str) -> dict[str, DeliveryState]:
    found = store.get(alert_id)
    assert found is not None
    return {d.recipient: d.state for d in found.deliveries}


def message_ids(sink: SmtpSink) -> Counter[str]:
    return Counter(str(m["Message-ID"]) for m in sink.messages)


# -- the ordinary path -----------------------------------------------------------------------
def test_sent_once_per_recipient_and_marked_sent(
    engine: Engine, layout: IndexNames, config: Settings, sink: SmtpSink
) -> None:
    store = AlertStore(engine, layout)
    rule_set = rules()
    alert = put(store, rule_set, datetime.now(UTC), 1, Severity.HIGH)
    w = worker(engine, config, rule_set)
    report = w.tick()
    assert report.sent == 2
    assert states(store, alert.id) == {OFFICE: DeliveryState.SENT, SPOKESPERSON: DeliveryState.SENT}
    stored = store.get(alert.id)
    assert stored is not None and stored.delivery is AlertState.SENT and stored.sent_at
    assert sorted(m["To"] for m in sink.messages) == sorted([OFFICE, SPOKESPERSON])
    assert w.tick().sent == 0
    assert len(sink.messages) == 2
    assert all(m["X-Diemnong-Alert"] == alert.id for m in sink.messages)
    w.close()


def test_smtp_down_for_an_hour_then_everything_is_delivered(
    engine: Engine, layout: IndexNames, config: Settings, sink: SmtpSink
) -> None:
    store = AlertStore(engine, layout)
    rule_set = rules()
    clock = Clock(datetime(2026, 11, 20, 9, 0, tzinfo=VN), store)
    sink.stop()
    alerts = [put(store, rule_set, clock.now, n) for n in range(5)]
    w = worker(engine, config, rule_set, clock)
    for _ in range(60):  # one simulated hour, a tick a minute, the server refusing connections
        report = w.tick()
        assert report.sent == 0
        clock.advance(minutes=1)
    waiting = [store.get(a.id) for a in alerts]
    for alert in waiting:
        assert alert is not None and alert.delivery is AlertState.PENDING
        delivery = alert.deliveries[0]
        assert delivery.attempts >= 2 and delivery.next_attempt_at is not None
        assert delivery.last_error and "connect" in delivery.last_error
    sink.start()
    deadline = clock.now + timedelta(hours=1)
    while clock.now < deadline and not all(
        set(states(store, a.id).values()) == {DeliveryState.SENT} for a in alerts
    ):
        w.tick()
        clock.advance(minutes=1)
    assert all(states(store, a.id) == {OFFICE: DeliveryState.SENT} for a in alerts)
    assert len(sink.messages) == 5 and set(message_ids(sink).values()) == {1}
    w.close()


def test_a_permanent_refusal_marks_the_delivery_failed(
    engine: Engine, layout: IndexNames, config: Settings, sink: SmtpSink
) -> None:
    store = AlertStore(engine, layout)
    rule_set = rules()
    sink.refuse.add(SPOKESPERSON)
    alert = put(store, rule_set, datetime.now(UTC), 2, Severity.HIGH)
    w = worker(engine, config, rule_set)
    report = w.tick()
    assert report.sent == 1 and report.failed == 1
    assert states(store, alert.id) == {
        OFFICE: DeliveryState.SENT,
        SPOKESPERSON: DeliveryState.FAILED,
    }
    stored = store.get(alert.id)
    assert stored is not None and stored.delivery is AlertState.FAILED
    assert any(event.action == "failed" for event in stored.history)
    w.close()


# -- throttling, quiet hours, digest ---------------------------------------------------------
def test_hourly_limit_groups_the_rest_into_one_email(
    engine: Engine, layout: IndexNames, config: Settings, sink: SmtpSink
) -> None:
    store = AlertStore(engine, layout)
    rule_set = rules(throttle=Throttle(max_per_hour=2))
    clock = Clock(datetime(2026, 11, 20, 9, 0, tzinfo=VN), store)
    alerts = [put(store, rule_set, clock.now, n) for n in range(5)]
    w = worker(engine, config, rule_set, clock)
    report = w.tick()
    assert report.sent == 2 and report.grouped == 3
    clock.advance(minutes=30)
    assert w.tick().sent == 0
    urgent = put(store, rule_set, clock.now, 9, Severity.CRITICAL)
    assert w.tick().sent == 2  # critical ignores the limit (office and spokesperson)
    clock.advance(minutes=31)
    report = w.tick()
    assert report.sent == 1
    grouped = sink.to(OFFICE)[-1]
    assert grouped["Subject"].startswith("3 cảnh báo gộp")
    body = grouped.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    held_back = [a for a in alerts if f"vụ việc {a.complaint_case}" in text]
    assert len(held_back) == 3
    for alert in [*alerts, urgent]:
        assert set(states(store, alert.id).values()) == {DeliveryState.SENT}
    assert len(sink.to(OFFICE)) == 4  # 2 single + 1 critical + 1 grouped
    assert set(message_ids(sink).values()) == {1}
    w.close()


def test_quiet_hours_hold_alerts_for_one_daily_digest(
    engine: Engine, layout: IndexNames, config: Settings, sink: SmtpSink
) -> None:
    store = AlertStore(engine, layout)
    from datetime import time as clock_time

    rule_set = rules(
        quiet_hours=QuietHours(start=clock_time(22, 0), end=clock_time(6, 0)),
        digest=Digest(at=clock_time(7, 0)),
    )
    clock = Clock(datetime(2026, 11, 20, 23, 0, tzinfo=VN), store)
    quiet = [put(store, rule_set, clock.now, n) for n in (1, 2)]
    urgent = put(store, rule_set, clock.now, 3, Severity.CRITICAL)
    w = worker(engine, config, rule_set, clock)
    assert w.tick().sent == 2  # only the critical one, to both addresses
    assert states(store, quiet[0].id) == {OFFICE: DeliveryState.HELD}
    clock.now = datetime(2026, 11, 21, 6, 30, tzinfo=VN)
    assert w.tick().digests == 0
    clock.now = datetime(2026, 11, 21, 7, 5, tzinfo=VN)
    report = w.tick()
    assert report.digests == 2  # office (held + the critical one), spokesperson (critical)
    digest = sink.to(OFFICE)[-1]
    assert digest["Subject"] == "Bản tin cảnh báo ngày 21/11/2026: 3 cảnh báo"
    text = digest.get_body(("plain",))
    assert text is not None and "1/KN" in text.get_content() and "2/KN" in text.get_content()
    assert "Các cảnh báo đã gửi trong ngày" in text.get_content()
    for alert in quiet:
        assert states(store, alert.id) == {OFFICE: DeliveryState.SENT}
    assert states(store, urgent.id) == {
        OFFICE: DeliveryState.SENT,
        SPOKESPERSON: DeliveryState.SENT,
    }
    clock.advance(hours=3)
    assert w.tick().digests == 0  # one digest per recipient and day
    clock.now = datetime(2026, 11, 22, 7, 5, tzinfo=VN)
    assert w.tick().digests == 0  # nothing in the last day: no empty digest
    assert len(sink.messages) == 4 and set(message_ids(sink).values()) == {1}
    w.close()


# -- crashes, in process -----------------------------------------------------------------------
def crash_then_restart(
    engine: Engine, layout: IndexNames, config: Settings, point: str
) -> tuple[OutboxAlert, AlertStore]:
    store = AlertStore(engine, layout)
    rule_set = rules()
    alert = put(store, rule_set, datetime.now(UTC), 4)
    dying = worker(engine, config, rule_set, crash_at=point)
    with pytest.raises(Crash):
        dying.tick()
    dying.close()  # the process is gone: its lock goes with it
    assert states(store, alert.id) == {OFFICE: DeliveryState.SENDING}
    restarted = worker(engine, config, rule_set)  # start() recovers
    restarted.tick()
    restarted.tick()
    restarted.close()
    return alert, store


def test_crash_after_claim_sends_once_after_restart(
    engine: Engine, layout: IndexNames, config: Settings, sink: SmtpSink
) -> None:
    alert, store = crash_then_restart(engine, layout, config, "claimed")
    assert states(store, alert.id) == {OFFICE: DeliveryState.SENT}
    assert len(sink.messages) == 1


def test_crash_after_journal_marks_sent_without_resending(
    engine: Engine, layout: IndexNames, config: Settings, sink: SmtpSink
) -> None:
    alert, store = crash_then_restart(engine, layout, config, "sent")
    assert states(store, alert.id) == {OFFICE: DeliveryState.SENT}
    assert len(sink.messages) == 1


def test_the_remaining_window_resends_with_the_same_message_id(
    engine: Engine, layout: IndexNames, config: Settings, sink: SmtpSink
) -> None:
    """Accepted by the server, dead before the journal line: the documented duplicate."""
    alert, store = crash_then_restart(engine, layout, config, "accepted")
    assert states(store, alert.id) == {OFFICE: DeliveryState.SENT}
    assert len(sink.messages) == 2
    assert len(message_ids(sink)) == 1  # the receiver can drop the copy by Message-ID


def test_a_tick_failing_after_the_journal_is_settled_by_the_next_tick(
    engine: Engine, layout: IndexNames, config: Settings, sink: SmtpSink
) -> None:
    """The engine gone between journal and mark-sent: the same worker settles it, no resend."""
    store = AlertStore(engine, layout)
    rule_set = rules()
    alert = put(store, rule_set, datetime.now(UTC), 6)
    failures = ["sent"]

    def engine_lost(point: str) -> None:
        if point in failures:
            failures.remove(point)
            raise EngineUnavailable("connection refused")

    w = AlertWorker(engine, config, rules=rule_set, crash=engine_lost, checks=False)
    w.start()
    with pytest.raises(EngineUnavailable):
        w.tick()
    assert states(store, alert.id) == {OFFICE: DeliveryState.SENDING}
    w.tick()
    assert states(store, alert.id) == {OFFICE: DeliveryState.SENT}
    assert len(sink.messages) == 1
    w.close()


def test_one_worker_per_data_folder(engine: Engine, layout: IndexNames, config: Settings) -> None:
    first = worker(engine, config, rules())
    with pytest.raises(WorkerBusy):
        worker(engine, config, rules())
    first.close()
    worker(engine, config, rules()).close()


def test_acknowledge_assign_resolve_keep_history_alongside_delivery(
    engine: Engine, layout: IndexNames, config: Settings, sink: SmtpSink
) -> None:
    store = AlertStore(engine, layout)
    rule_set = rules()
    alert = put(store, rule_set, datetime.now(UTC), 5)
    acknowledge(store, alert.id, by="an")
    w = worker(engine, config, rule_set)
    w.tick()
    assign(store, alert.id, to="binh", by="an", note="soạn thông cáo")
    acknowledge(store, alert.id, by="binh")
    done = resolve(store, alert.id, by="binh", note="đã phát hành thông cáo")
    assert done.acknowledged_by == "an" and done.assigned_to == "binh"
    assert done.resolved_by == "binh" and done.resolved_at is not None
    actions = [event.action for event in done.history]
    assert actions == ["created", "acknowledged", "sent", "assigned", "acknowledged", "resolved"]
    assert done.delivery is AlertState.SENT
    w.close()


# -- crashes of the real worker process ----------------------------------------------------
def worker_env(config: Settings, crash_after: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIEMNONG_")}
    env.update(
        {
            "DIEMNONG_ENGINE__URL": config.engine.url or "",
            "DIEMNONG_INDEX__PREFIX": config.index.prefix,
            "DIEMNONG_DATA_DIR": str(config.data_dir),
            "DIEMNONG_ALERTS__SMTP__HOST": "127.0.0.1",
            "DIEMNONG_ALERTS__SMTP__PORT": str(config.alerts.smtp.port),
            "DIEMNONG_ALERTS__POLL_INTERVAL_S": "0.2",
        }
    )
    if crash_after:
        env["DIEMNONG_ALERTS__CRASH_AFTER"] = crash_after
    return env


def worker_command(rules_file: Path, crash_after: str | None) -> list[str]:
    """`python -m diemnong alerts run`; until the CLI registers the sub-app, the same typer
    app is started directly. Until the settings model has ``alerts.crash_after`` the hook goes
    in as the hidden option."""
    from diemnong.cli import app as cli_app
    from diemnong.settings import AlertSettings as Section

    registered = any(group.name == "alerts" for group in cli_app.registered_groups)
    command = (
        [sys.executable, "-m", "diemnong", "alerts", "run"]
        if registered
        else [sys.executable, "-c", "from diemnong.commands.alerts import main; main()", "run"]
    )
    command += ["--rules", str(rules_file)]
    if crash_after and "crash_after" not in Section.model_fields:
        command += ["--crash-after", crash_after]
    return command


def start_worker(
    config: Settings, rules_file: Path, crash_after: str | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        worker_command(rules_file, crash_after),
        env=worker_env(config, crash_after),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_until(condition: object, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise TimeoutError("condition not met in time")


def stop_worker(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    return output


@pytest.fixture
def touched_case(engine: Engine, layout: IndexNames) -> str:
    """An open complaint with one linked story: the worker's own check will alert on it."""
    register = ComplaintRegister(engine, layout)
    case = Complaint(
        case_number="21/KN-UBND",
        kind=ComplaintKind.COMPLAINT,
        received_date=date.today(),
        summary="Hộ dân phản đối thu hồi đất làm khu công nghiệp",
        location=Location(province_code="37"),
    )
    register.upsert(case, by="test", refresh=True)
    now = datetime.now(UTC)
    link = ComplaintLink(
        case_number=case.case_number,
        article_id="b0a1c2d3",
        story_cluster_id="b0a1c2d3",
        outlet="Báo Ninh Bình",
        url="https://baoninhbinh.org.vn/dan-phan-doi-thu-hoi-dat.html",
        title="Dân phản đối thu hồi đất làm khu công nghiệp",
        published_at=now - timedelta(minutes=20),
        linked_at=now - timedelta(minutes=1),
        snippets=["hộ dân <em>phản đối</em> thu hồi đất"],
    )
    store_links(engine, layout, [link])
    engine.refresh(layout.complaint_links)
    return case.case_number


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "alert-rules.yaml"
    path.write_text(
        yaml.safe_dump({"default_recipients": [OFFICE], "quiet_hours": None, "digest": None}),
        "utf-8",
    )
    return path


@pytest.mark.slow
@pytest.mark.parametrize("point", ["stored", "sent"])
def test_killed_worker_delivers_exactly_once_after_restart(
    engine: Engine,
    layout: IndexNames,
    config: Settings,
    sink: SmtpSink,
    touched_case: str,
    rules_file: Path,
    point: str,
) -> None:
    store = AlertStore(engine, layout)
    dying = start_worker(config, rules_file, crash_after=point)
    output, _ = dying.communicate(timeout=120)
    assert dying.returncode == 75, output
    assert f"simulated crash after {point}" in output
    stored = store.list()
    assert len(stored) == 1 and stored[0].complaint_case == touched_case
    expected = DeliveryState.PENDING if point == "stored" else DeliveryState.SENDING
    assert states(store, stored[0].id) == {OFFICE: expected}
    assert len(sink.messages) == (0 if point == "stored" else 1)

    restarted = start_worker(config, rules_file)
    wait_until(lambda: states(store, stored[0].id) == {OFFICE: DeliveryState.SENT})
    output = stop_worker(restarted)
    assert "stopped" in output
    assert len(sink.messages) == 1, output
    assert sink.messages[0]["Subject"] == f"[Cảnh báo] Báo chí đưa tin về vụ việc {touched_case}"
    assert len(store.list()) == 1  # the restarted check found the same alert, stored once
