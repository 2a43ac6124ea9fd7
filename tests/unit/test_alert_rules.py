"""The alert detectors and routing as pure functions: each fires on its scenario and stays
silent on the matching negative one (a steady stream, a republication, a local-only story, a
feed that is always quiet at night)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alerts.detectors.complaints import complaint_touched, plain_snippet
from alerts.detectors.crisis import SubjectVolume, outbreak, spike
from alerts.detectors.deadlines import case_deadlines, initial_info_reminders
from alerts.detectors.health import OutletActivity, error_spike, feed_silence
from alerts.findings import Finding
from alerts.lexicon import CrisisLexicon, load_lexicon
from alerts.model import Delivery, DeliveryState, OutboxAlert, alert_id, raise_severity
from alerts.routing import decide, recipients_for
from alerts.rules import (
    AlertRules,
    Backoff,
    ComplaintTouchedRule,
    CrisisRule,
    DeadlineRule,
    HealthRule,
    QuietHours,
    Recipient,
    RulesFileError,
    load_rules,
)
from complaints.deadlines import compute_deadlines
from complaints.links import ComplaintLink
from complaints.rules import load_holidays
from complaints.rules import load_rules as load_deadline_rules
from indexer.models import (
    AlertKind,
    AlertState,
    Complaint,
    ComplaintKind,
    Location,
    OutletKind,
    Severity,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
TZ = "Asia/Ho_Chi_Minh"
NOW = datetime(2026, 11, 20, 10, 30, tzinfo=VN)


@pytest.fixture(scope="module")
def lexicon() -> CrisisLexicon:
    return load_lexicon()


def complaint(**changes: object) -> Complaint:
    base = Complaint(
        case_number="15/KN-UBND",
        kind=ComplaintKind.COMPLAINT,
        received_date=date(2026, 11, 2),
        summary="Hộ dân xã Xuân Mai khiếu nại quyết định thu hồi đất",
        location=Location(province_code="01", commune_code="10018"),
        officer="Nguyễn Văn An",
        subject_field="land",
    )
    return base.model_copy(update=changes)


def link(
    article: str, cluster: str, outlet: str, minutes_ago: int = 10, **extra: object
) -> ComplaintLink:
    return ComplaintLink(
        case_number="15/KN-UBND",
        article_id=article,
        story_cluster_id=cluster,
        outlet=outlet,
        url=f"https://{outlet}.vn/{article}.html",
        title=str(extra.get("title", f"Dân xã Xuân Mai phản đối thu hồi đất ({article})")),
        published_at=NOW - timedelta(minutes=minutes_ago + 5),
        linked_at=NOW - timedelta(minutes=minutes_ago),
        snippets=[str(extra.get("snippet", "hộ dân <em>khiếu nại</em> quyết định"))],
    )


# -- rule file and lexicon -------------------------------------------------------------------
def test_packaged_rules_load_and_unknown_keys_are_refused(tmp_path: Path) -> None:
    rules = load_rules()
    assert rules.throttle.max_per_hour >= 1
    assert rules.quiet_hours is not None
    bad = tmp_path / "rules.yaml"
    bad.write_text("throttle: {max_per_hour: 5, max_per_day: 9}\n", "utf-8")
    with pytest.raises(RulesFileError, match="max_per_day"):
        load_rules(bad)


def test_quiet_hours_wrap_midnight() -> None:
    quiet = QuietHours(start=time(22, 0), end=time(6, 0))
    assert quiet.contains(time(23, 30)) and quiet.contains(time(5, 59))
    assert not quiet.contains(time(6, 0)) and not quiet.contains(time(12, 0))
    day = QuietHours(start=time(12, 0), end=time(13, 30))
    assert day.contains(time(12, 15)) and not day.contains(time(14, 0))


def test_backoff_doubles_up_to_the_cap() -> None:
    backoff = Backoff(base_s=30, max_s=600)
    assert [backoff.delay(n) for n in range(1, 7)] == [30, 60, 120, 240, 480, 600]


def test_lexicon_matches_folded_whole_words(lexicon: CrisisLexicon) -> None:
    texts = ["Người dân BUC XUC vì bị cưỡng chế", "Khiếu kiện đông người kéo dài ở xã"]
    found = lexicon.matches(texts)
    assert "bức xúc" in found
    assert any(term.startswith("cưỡng chế") for term in found)
    assert "khiếu kiện đông người" in found
    assert lexicon.matches(["Sắp có mưa lớn, xã Thái Bình chuẩn bị vay vốn"]) == []
    assert lexicon.matches(["tụ tập"]) == ["tụ tập"]
    assert CrisisLexicon({}).matches(["bức xúc"]) == []


def test_severity_ladder_is_capped() -> None:
    assert raise_severity(Severity.WARNING) is Severity.HIGH
    assert raise_severity(Severity.CRITICAL, 3) is Severity.CRITICAL
    assert raise_severity(Severity.INFO, -1) is Severity.INFO


# -- complaint touched -----------------------------------------------------------------------
def test_first_story_fires_then_only_new_outlets_or_clusters(lexicon: CrisisLexicon) -> None:
    rule = ComplaintTouchedRule()
    first = [link("a1", "c1", "vnexpress")]
    found = complaint_touched(complaint(), first, set(), rule, lexicon)
    assert found is not None
    assert found.kind is AlertKind.COMPLAINT_TOUCHED
    assert found.rule == "complaint_touched.first"
    assert set(found.covers) == {"cluster:c1", "outlet:vnexpress"}
    covered = set(found.covers)

    same_outlet_copy = [*first, link("a2", "c1", "vnexpress", minutes_ago=2)]
    assert complaint_touched(complaint(), same_outlet_copy, covered, rule, lexicon) is None

    spread = [*same_outlet_copy, link("a3", "c1", "tuoitre", minutes_ago=1)]
    again = complaint_touched(complaint(), spread, covered, rule, lexicon)
    assert again is not None and again.covers == ("outlet:tuoitre",)
    assert [s.article_id for s in again.stories] == ["a3"]
    assert again.due_from is None  # a republication starts no new 24-hour period

    new_story = [*first, link("a4", "c2", "vnexpress", minutes_ago=1)]
    fresh = complaint_touched(complaint(), new_story, covered, rule, lexicon)
    assert fresh is not None and fresh.covers == ("cluster:c2",)
    assert fresh.rule == "complaint_touched.new_coverage"


def test_the_same_links_give_the_same_window(lexicon: CrisisLexicon) -> None:
    links = [link("a1", "c1", "vnexpress"), link("a2", "c2", "dantri")]
    one = complaint_touched(complaint(), links, set(), ComplaintTouchedRule(), lexicon)
    two = complaint_touched(
        complaint(), list(reversed(links)), set(), ComplaintTouchedRule(), lexicon
    )
    assert one is not None and two is not None
    assert one.window == two.window
    assert alert_id(one.kind, one.subject_key, one.window) == alert_id(
        two.kind, two.subject_key, two.window
    )
    assert len(one.stories) == 2  # several stories of one check make one alert


def test_closed_complaints_and_hot_spots(lexicon: CrisisLexicon) -> None:
    from indexer.models import ComplaintStatus

    links = [link("a1", "c1", "vnexpress")]
    closed = complaint(status=ComplaintStatus.CLOSED)
    assert complaint_touched(closed, links, set(), ComplaintTouchedRule(), lexicon) is None
    plain = complaint_touched(complaint(), links, set(), ComplaintTouchedRule(), lexicon)
    hot = complaint_touched(
        complaint(is_hot_spot=True), links, set(), ComplaintTouchedRule(), lexicon
    )
    assert plain is not None and hot is not None
    assert plain.severity is Severity.WARNING and hot.severity is Severity.HIGH
    angry = [link("a1", "c1", "vnexpress", title="Dân tụ tập phản đối cưỡng chế")]
    worded = complaint_touched(complaint(), angry, set(), ComplaintTouchedRule(), lexicon)
    assert worded is not None and worded.severity is Severity.HIGH
    assert "tụ tập" in worded.lexicon_terms


def test_first_story_carries_the_24_hour_deadline(lexicon: CrisisLexicon) -> None:
    found = complaint_touched(
        complaint(),
        [link("a1", "c1", "vnexpress")],
        set(),
        ComplaintTouchedRule(),
        lexicon,
        initial_info_due=lambda start: start + timedelta(hours=24),
    )
    assert found is not None and found.due_from is not None and found.due_at is not None
    assert found.due_at - found.due_from == timedelta(hours=24)


def test_snippet_highlight_marks_are_removed_but_text_kept() -> None:
    assert plain_snippet("dân <em>khiếu nại</em> <script>x</script>") == (
        "dân khiếu nại <script>x</script>"
    )


# -- emerging crisis -------------------------------------------------------------------------
def volume(**changes: Any) -> SubjectVolume:
    steady = SubjectVolume(
        subject_key="place:commune:10018",
        label="Xã Xuân Mai, Thành phố Hà Nội",
        count_1h=2,
        count_6h=12,
        baseline_total=2 * 24 * 14,
        baseline_hours=24 * 14,
        baseline_max_outlets_6h=6,
        window_outlets=("a", "b", "c", "d", "e"),
    )
    return replace(steady, **changes)


def test_a_steady_stream_is_silent(lexicon: CrisisLexicon) -> None:
    assert spike(volume(), CrisisRule(), lexicon, NOW) is None


def test_a_burst_against_the_subjects_own_baseline_fires(lexicon: CrisisLexicon) -> None:
    quiet = volume(count_1h=5, count_6h=6, baseline_total=14, baseline_max_outlets_6h=1)
    found = spike(quiet, CrisisRule(), lexicon, NOW)
    assert found is not None
    assert found.kind is AlertKind.EMERGING_CRISIS
    assert "spike_1h" in found.rule
    assert found.numbers["count_1h"] == 5 and found.numbers["z_1h"] > 3
    busy = volume(count_1h=5, count_6h=14)  # 5 where 2 an hour is normal: not a crisis
    assert spike(busy, CrisisRule(), lexicon, NOW) is None
    few = volume(count_1h=2, count_6h=2, baseline_total=0, window_outlets=("a",))
    assert spike(few, CrisisRule(), lexicon, NOW) is None  # below the minimum counts


def test_spread_to_outlets_never_seen_together_fires(lexicon: CrisisLexicon) -> None:
    spread = volume(
        count_1h=1,
        count_6h=4,
        baseline_total=300,
        baseline_max_outlets_6h=2,
        window_outlets=("a", "b", "c", "d"),
    )
    found = spike(spread, CrisisRule(), lexicon, NOW)
    assert found is not None and found.rule == "crisis.volume.spread"
    usual = volume(count_1h=1, count_6h=4, baseline_total=300, window_outlets=("a", "b", "c", "d"))
    assert spike(usual, CrisisRule(), lexicon, NOW) is None


def test_spike_window_is_the_six_hour_block(lexicon: CrisisLexicon) -> None:
    quiet = volume(count_1h=5, count_6h=6, baseline_total=14, baseline_max_outlets_6h=1)
    one = spike(quiet, CrisisRule(), lexicon, NOW)
    later = spike(quiet, CrisisRule(), lexicon, NOW + timedelta(minutes=50))
    next_block = spike(quiet, CrisisRule(), lexicon, NOW + timedelta(hours=6))
    assert one is not None and later is not None and next_block is not None
    assert one.window == later.window != next_block.window


def test_hot_spot_complaints_and_crisis_words_raise_severity(lexicon: CrisisLexicon) -> None:
    from alerts.model import StoryRef

    base = dict(count_1h=3, count_6h=16, baseline_total=336, window_outlets=("a",))
    plain = spike(volume(**base), CrisisRule(), lexicon, NOW)
    story = StoryRef(article_id="x", title="Hàng trăm người tụ tập, phản đối cưỡng chế")
    worded = spike(volume(**base, stories=(story,)), CrisisRule(), lexicon, NOW)
    hot = spike(
        volume(**base, stories=(story,), complaint=complaint(is_mass_case=True)),
        CrisisRule(),
        lexicon,
        NOW,
    )
    assert plain is not None and worded is not None and hot is not None
    assert plain.severity is Severity.WARNING
    order = list(Severity)
    assert order.index(plain.severity) < order.index(worded.severity) < order.index(hot.severity)
    assert hot.complaint_case == "15/KN-UBND" and hot.officer == "Nguyễn Văn An"


def test_local_to_national_is_an_outbreak(lexicon: CrisisLexicon) -> None:
    local_first = {
        OutletKind.PROVINCIAL_PAPER: NOW - timedelta(hours=30),
        OutletKind.NATIONAL_DAILY: NOW - timedelta(hours=1),
    }
    found = outbreak(volume(first_seen=local_first), CrisisRule(), lexicon, NOW)
    assert found is not None and found.rule == "crisis.outbreak"
    assert found.severity in (Severity.HIGH, Severity.CRITICAL)
    assert found.numbers["hours_local_before_national"] == pytest.approx(29)


def test_an_earlier_national_story_found_later_is_the_same_outbreak(
    lexicon: CrisisLexicon,
) -> None:
    """Seen in the demo: a national story published earlier but fetched later moved the first
    national time, and the same outbreak was sent twice."""
    local = NOW - timedelta(hours=3)
    before = outbreak(
        volume(
            first_seen={
                OutletKind.PROVINCIAL_PAPER: local,
                OutletKind.NATIONAL_DAILY: NOW - timedelta(minutes=20),
            }
        ),
        CrisisRule(),
        lexicon,
        NOW,
    )
    after = outbreak(
        volume(
            first_seen={
                OutletKind.PROVINCIAL_PAPER: local,
                OutletKind.NATIONAL_DAILY: NOW - timedelta(minutes=50),
            }
        ),
        CrisisRule(),
        lexicon,
        NOW + timedelta(seconds=35),
    )
    assert before is not None and after is not None
    assert (before.subject_key, before.window) == (after.subject_key, after.window)


@pytest.mark.parametrize(
    "first_seen",
    [
        {OutletKind.PROVINCIAL_PAPER: NOW - timedelta(hours=3)},  # local only
        {OutletKind.NATIONAL_DAILY: NOW - timedelta(hours=1)},  # national only
        {  # national first, local later
            OutletKind.NATIONAL_DAILY: NOW - timedelta(hours=5),
            OutletKind.GOVERNMENT_PORTAL: NOW - timedelta(hours=2),
        },
        {  # the national press picked it up days ago: old news
            OutletKind.PROVINCIAL_PAPER: NOW - timedelta(days=5),
            OutletKind.NATIONAL_DAILY: NOW - timedelta(days=3),
        },
    ],
)
def test_no_outbreak_without_a_fresh_local_to_national_move(
    lexicon: CrisisLexicon, first_seen: dict[OutletKind, datetime]
) -> None:
    assert outbreak(volume(first_seen=first_seen), CrisisRule(), lexicon, NOW) is None


# -- deadlines -------------------------------------------------------------------------------
def touched(case: str, start: datetime, hours: float = 24, **changes: object) -> OutboxAlert:
    alert = OutboxAlert(
        id=f"id-{case}-{start:%H%M}",
        kind=AlertKind.COMPLAINT_TOUCHED,
        severity=Severity.WARNING,
        title="t",
        reason="r",
        created_at=start,
        complaint_case=case,
        subject_key=f"complaint:{case}",
        due_from=start,
        due_at=start + timedelta(hours=hours),
        deliveries=[Delivery(recipient="a@x.vn", state=DeliveryState.SENT)],
    )
    return alert.model_copy(update=changes).summarised()


def test_initial_information_reminders_at_half_and_ninety_percent() -> None:
    start = NOW - timedelta(hours=10)
    rule = DeadlineRule()
    assert initial_info_reminders([touched("1", start)], rule, NOW) == []
    half = initial_info_reminders([touched("1", start)], rule, start + timedelta(hours=13))
    assert [f.window for f in half] == ["fraction:0.5"]
    assert half[0].severity is Severity.WARNING and half[0].recipients == ("a@x.vn",)
    late = initial_info_reminders([touched("1", start)], rule, start + timedelta(hours=22))
    assert [f.window for f in late] == ["fraction:0.9"] and late[0].severity is Severity.HIGH
    after = initial_info_reminders([touched("1", start)], rule, start + timedelta(hours=25))
    assert after == []  # fractions below 1 remind only before the due time
    overdue = DeadlineRule(reminder_fractions=[0.5, 1.0])
    found = initial_info_reminders([touched("1", start)], overdue, start + timedelta(hours=25))
    assert found[0].severity is Severity.CRITICAL


def test_resolved_alerts_stop_reminding_and_one_reminder_per_case() -> None:
    start = NOW - timedelta(hours=13)
    done = touched("1", start, resolved_at=NOW - timedelta(hours=1))
    assert initial_info_reminders([done], DeadlineRule(), NOW) == []
    two = [touched("2", start), touched("2", start + timedelta(hours=2))]
    found = initial_info_reminders(two, DeadlineRule(), NOW)
    assert len(found) == 1 and found[0].subject_key == f"initial_info:{two[0].id}"


def test_case_deadline_approaching_while_in_the_news() -> None:
    table, holidays = load_deadline_rules(), load_holidays()
    case = complaint(received_date=date(2026, 11, 10))
    dates = compute_deadlines(case, table, holidays)
    acceptance = next(d for d in dates if d.procedure.value == "complaint.acceptance")
    moment = acceptance.ends_at(TZ) - timedelta(days=2)
    found = case_deadlines(case, dates, 3, DeadlineRule(), moment, TZ)
    assert [f.subject_key for f in found] == [f"case_deadline:15/KN-UBND:{acceptance.rule_id}"]
    assert found[0].kind is AlertKind.DEADLINE and found[0].due_at == acceptance.ends_at(TZ)
    assert case_deadlines(case, dates, 0, DeadlineRule(), moment, TZ) == []  # not in the news
    accepted = case.model_copy(update={"acceptance_date": date(2026, 11, 12)})
    assert case_deadlines(accepted, dates, 3, DeadlineRule(), moment, TZ) == []  # done already
    far = acceptance.ends_at(TZ) - timedelta(days=5)
    assert case_deadlines(case, dates, 3, DeadlineRule(), far, TZ) == []


# -- source health ---------------------------------------------------------------------------
def day_outlet(now: datetime, last_seen: datetime, days: int = 14) -> OutletActivity:
    """Publishes every hour 06:00-21:59 local time, never at night, up to ``last_seen``."""
    start = (now - timedelta(days=days)).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hours = int((now - start).total_seconds() // 3600) + 1
    series = []
    for index in range(hours):
        moment = start + timedelta(hours=index)
        local = moment.astimezone(VN)
        busy = 6 <= local.hour < 22 and moment <= last_seen
        series.append(2 if busy else 0)
    return OutletActivity("Báo Ninh Bình", start, tuple(series), last_seen)


def test_a_feed_always_quiet_at_night_is_silent_at_night() -> None:
    night = datetime(2026, 11, 20, 5, 30, tzinfo=VN)
    last = datetime(2026, 11, 19, 21, 50, tzinfo=VN)
    assert feed_silence(day_outlet(night, last), HealthRule(), night, TZ) is None


def test_a_feed_silent_through_the_morning_fires() -> None:
    morning = datetime(2026, 11, 20, 11, 30, tzinfo=VN)
    last = datetime(2026, 11, 19, 21, 50, tzinfo=VN)
    found = feed_silence(day_outlet(morning, last), HealthRule(), morning, TZ)
    assert found is not None and found.kind is AlertKind.SOURCE_HEALTH
    assert found.window == f"silent_since:{last.isoformat()}"
    assert found.numbers["longest_gap_h"] >= 8
    assert found.numbers["probability"] < HealthRule().silence_probability


def test_silence_shorter_than_two_polls_or_without_history_is_not_judged() -> None:
    morning = datetime(2026, 11, 20, 11, 30, tzinfo=VN)
    last = datetime(2026, 11, 19, 21, 50, tzinfo=VN)
    activity = day_outlet(morning, last)
    slow_poll = OutletActivity(activity.outlet, activity.start, activity.hourly, last, 8 * 3600)
    assert feed_silence(slow_poll, HealthRule(), morning, TZ) is None
    assert (
        feed_silence(day_outlet(morning, last, days=1), HealthRule(min_articles=100), morning, TZ)
        is None
    )


def test_fetch_errors_far_above_the_usual_rate_fire() -> None:
    assert error_spike("Báo A", 12, 10, 335, HealthRule(), NOW) is not None
    assert error_spike("Báo A", 3, 0, 335, HealthRule(), NOW) is None  # below the minimum
    assert error_spike("Báo A", 12, 4000, 335, HealthRule(), NOW) is None  # always failing


# -- routing ---------------------------------------------------------------------------------
def finding(severity: Severity = Severity.WARNING, **changes: Any) -> Finding:
    base = Finding(
        kind=AlertKind.COMPLAINT_TOUCHED,
        subject_key="complaint:15/KN-UBND",
        window="covers:x",
        rule="complaint_touched.first",
        severity=severity,
        title="Báo chí đưa tin",
        reason="r",
        complaint_case="15/KN-UBND",
        provinces=("1",),
        subject_field="land",
        officer="Nguyễn Văn An",
    )
    return replace(base, **changes)


def test_recipients_by_province_field_severity_officer_and_owner() -> None:
    rules = AlertRules(
        default_recipients=["vanphong@x.vn"],
        recipients=[
            Recipient(address="hanoi@x.vn", provinces=["01"]),
            Recipient(address="hue@x.vn", provinces=["46"]),
            Recipient(address="land@x.vn", subject_fields=["land"]),
            Recipient(address="boss@x.vn", min_severity=Severity.HIGH),
            Recipient(address="health@x.vn", kinds=[AlertKind.SOURCE_HEALTH]),
        ],
        officers={"Nguyễn Văn An": "an@x.vn"},
    )
    assert recipients_for(finding(), rules) == ["hanoi@x.vn", "land@x.vn", "an@x.vn"]
    assert "boss@x.vn" in recipients_for(finding(Severity.HIGH), rules)
    search = finding(
        kind=AlertKind.EMERGING_CRISIS,
        provinces=(),
        subject_field=None,
        officer=None,
        owner="owner@x.vn",
    )
    assert recipients_for(search, rules) == ["owner@x.vn"]
    health = finding(kind=AlertKind.SOURCE_HEALTH, provinces=(), subject_field=None, officer=None)
    assert recipients_for(health, rules) == ["health@x.vn"]
    nobody = AlertRules(default_recipients=["vanphong@x.vn"])
    assert recipients_for(finding(officer=None), nobody) == ["vanphong@x.vn"]


def test_quiet_hours_hold_for_the_digest_but_critical_goes_out() -> None:
    rules = AlertRules(default_recipients=["vanphong@x.vn"])
    night = datetime(2026, 11, 20, 23, 15, tzinfo=VN)
    held = decide(finding(officer=None), rules, night, TZ)
    assert [d.state for d in held.deliveries] == [DeliveryState.HELD]
    assert held.delivery is AlertState.PENDING and held.next_attempt_at is None
    urgent = decide(finding(Severity.CRITICAL, officer=None), rules, night, TZ)
    assert [d.state for d in urgent.deliveries] == [DeliveryState.PENDING]
    assert urgent.next_attempt_at == night
    day = decide(finding(officer=None), rules, NOW, TZ)
    assert day.deliveries[0].state is DeliveryState.PENDING
    assert (
        day.id
        == held.id
        == alert_id(AlertKind.COMPLAINT_TOUCHED, "complaint:15/KN-UBND", "covers:x")
    )
    assert day.history[0].action == "created"


def test_summary_state_follows_the_deliveries() -> None:
    alert = touched("1", NOW)
    mixed = alert.model_copy(
        update={
            "deliveries": [
                Delivery(recipient="a@x.vn", state=DeliveryState.SENT, sent_at=NOW),
                Delivery(recipient="b@x.vn", state=DeliveryState.FAILED, attempts=12),
            ]
        }
    ).summarised()
    assert mixed.delivery is AlertState.FAILED and mixed.attempts == 12
    waiting = mixed.model_copy(
        update={"deliveries": [*mixed.deliveries, Delivery(recipient="c@x.vn")]}
    ).summarised()
    assert waiting.delivery is AlertState.PENDING
    assert waiting.recipients == ["a@x.vn", "b@x.vn", "c@x.vn"]


def test_feed_state_gives_each_outlet_its_latest_news_and_interval(tmp_path: Path) -> None:
    from alerts.feeds import feed_activity
    from crawlers.feed_state import FeedStates
    from crawlers.sources import save_sources
    from indexer.models import Source

    sources = tmp_path / "sources.yaml"
    save_sources(
        sources,
        [
            Source(
                name="Báo Ninh Bình",
                domain="baoninhbinh.org.vn",
                feeds=[
                    "https://baoninhbinh.org.vn/rss/a.rss",
                    "https://baoninhbinh.org.vn/rss/b.rss",
                ],
            ),
            Source(name="Báo Quiet", domain="quiet.vn", feeds=["https://quiet.vn/rss"]),
        ],
    )
    assert feed_activity(tmp_path, sources) == {}  # no watcher has run here
    states = FeedStates(tmp_path / "crawler" / "feeds.json", 60, 3600)
    states.polled("https://baoninhbinh.org.vn/rss/a.rss", 2, now=1_800_000_000)
    states.polled("https://baoninhbinh.org.vn/rss/b.rss", 0, now=1_800_000_600)
    states.save()
    found = feed_activity(tmp_path, sources)
    assert set(found) == {"Báo Ninh Bình"}
    assert found["Báo Ninh Bình"].last_new_at == datetime.fromtimestamp(1_800_000_000, UTC)
    assert found["Báo Ninh Bình"].interval_s == 60


def test_a_saved_search_becomes_text_plus_keyword_filters() -> None:
    from alerts.saved_searches import query_of

    query = query_of("khieu nai", {"outlets": ["Báo Ninh Bình"], "province": "Ninh Bình", "x": 1})
    assert query["bool"]["filter"] == [
        {"terms": {"outlet": ["Báo Ninh Bình"]}},
        {"terms": {"province": ["Ninh Bình"]}},
    ]
    assert query["bool"]["must"] != [{"match_all": {}}]
    assert query_of("  ", {"outlets": "bad", "province": {"nested": 1}})["bool"] == {
        "must": [{"match_all": {}}],
        "filter": [{"terms": {"outlet": ["bad"]}}],
    }
