"""Each alert kind fires on its scenario and stays silent on the matching negative one, with
the real engine, stories from the fixture press site and (for complaints) the real matcher and
SMTP server.

- complaint touched: the first story, a republication by the same outlet (silent), the same
  story by a national outlet (fires), an unrelated story (silent);
- emerging crisis: a burst in a quiet commune and a saved search (fire), a steady stream
  (silent), local papers then a national one (outbreak), local papers only (silent);
- deadline: 50 % of the 24-hour period (fires), before it or once resolved (silent); a case's
  own legal deadline while it is in the news (fires), without coverage (silent);
- source health: an outlet silent all morning (fires) but not at night, when it is always
  quiet; a jump of fetch errors (fires), a steady error rate (silent).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alerts.checker import AlertChecker
from alerts.findings import Finding
from alerts.lexicon import load_lexicon
from alerts.lifecycle import resolve
from alerts.model import OutboxAlert
from alerts.routing import decide
from alerts.rules import AlertRules, CheckIntervals, SavedSearch
from alerts.store import AlertStore
from alerts.testing import SmtpSink
from alerts.worker import AlertWorker
from complaints.deadlines import compute_deadlines
from complaints.links import ComplaintLink, store_links
from complaints.matching import compile_for_register
from complaints.register import ComplaintRegister
from complaints.rules import load_holidays
from complaints.rules import load_rules as load_deadline_rules
from crawlers.fixture_site import FixtureSite, OutletInfo, Story
from crawlers.fixture_site.vntext import VN_TZ
from diemnong.settings import AlertSettings, Settings, SmtpSettings
from indexer.adapter import Engine
from indexer.ids import article_id
from indexer.layout import IndexNames
from indexer.models import (
    AlertKind,
    Article,
    Complaint,
    ComplaintKind,
    Entities,
    EntityLocation,
    Location,
    OutletKind,
    Severity,
)
from indexer.writer import ArticleWriter

pytestmark = [pytest.mark.engine]
VN = ZoneInfo("Asia/Ho_Chi_Minh")
TZ = "Asia/Ho_Chi_Minh"
NOW = datetime(2026, 11, 20, 10, 30, tzinfo=VN)
OFFICE = "vanphong@hochiminhcity.gov.vn"
OWNER = "bientap@hochiminhcity.gov.vn"
EVERY_TICK = CheckIntervals(complaint_touched_s=0, crisis_s=0, deadline_s=0, health_s=0)


@pytest.fixture(scope="module")
def site() -> Iterator[FixtureSite]:
    fixture = FixtureSite(
        seed=3, n_articles_per_outlet=4, now=datetime(2026, 11, 13, 9, 0, tzinfo=VN_TZ)
    )
    fixture.start()
    yield fixture
    fixture.stop()


def rules(**changes: object) -> AlertRules:
    base = AlertRules(default_recipients=[OFFICE], quiet_hours=None, digest=None, checks=EVERY_TICK)
    return base.model_copy(update=changes)


def checker(engine: Engine, names: IndexNames, rule_set: AlertRules | None = None) -> AlertChecker:
    return AlertChecker(
        engine,
        names,
        rule_set or rules(),
        load_lexicon(),
        (load_deadline_rules(), load_holidays()),
        tz=TZ,
    )


def outlet(site: FixtureSite, slug: str) -> OutletInfo:
    return next(o for o in site.outlets if o.slug == slug)


def to_article(
    site: FixtureSite,
    story: Story,
    *,
    fetched_at: datetime | None = None,
    published_at: datetime | None = None,
    cluster: str | None = None,
    outlet_slug: str | None = None,
    places: Sequence[tuple[str | None, str | None]] = (),
    suffix: str = "",
) -> Article:
    """The article a crawl of ``story`` would index (times and places as the scenario needs)."""
    info = outlet(site, outlet_slug or story.outlet)
    url = site.url(story) + suffix
    when = published_at or story.published_at or NOW
    return Article(
        id=article_id(url),
        url=url,
        canonical_url=url,
        outlet=info.name,
        outlet_kind=info.kind,
        title=story.title,
        lead=story.lead,
        body=story.body,
        published_at=when,
        fetched_at=fetched_at or when + timedelta(minutes=3),
        story_cluster_id=cluster,
        entities=Entities(
            locations=[
                EntityLocation(text="địa danh", province_code=p, commune_code=c) for p, c in places
            ]
        ),
    )


def write(engine: Engine, names: IndexNames, articles: Sequence[Article]) -> None:
    result = ArticleWriter(engine, names).write(articles, refresh=True)
    assert not result.failed


# -- complaint touched, end to end -------------------------------------------------------------
@pytest.mark.slow
def test_complaint_coverage_alerts_on_new_outlets_not_on_republications(
    engine: Engine, layout: IndexNames, settings: Settings, site: FixtureSite
) -> None:
    register = ComplaintRegister(engine, layout, compile_query=compile_for_register)
    case = Complaint(
        case_number="07/KN-UBND",
        kind=ComplaintKind.COMPLAINT,
        received_date=date.today(),
        summary="Người dân phản đối ô nhiễm của nhà máy dệt nhuộm",
        respondent="Nhà máy dệt nhuộm",
        subject_field="environment",
        location=Location(address_text="xã Phước Kiển, huyện Nhà Bè, TP Hồ Chí Minh"),
        people_count=52,
        is_mass_case=True,
    )
    register.upsert(case, by="test", refresh=True)
    template = next(s for s in site.stories if s.topic == "o_nhiem")
    filler = next(
        s for s in site.stories if s.topic not in ("o_nhiem", "seed") and s.place != template.place
    )

    with SmtpSink() as sink:
        config = settings.model_copy(
            update={
                "alerts": AlertSettings(smtp=SmtpSettings(port=sink.port, sender="canhbao@hcm.vn"))
            }
        )
        # Crisis detection has its own scenarios; here three copies of one story within an
        # hour could also (rightly) make a volume spike, depending on the fixture's timestamps.
        coverage_only = EVERY_TICK.model_copy(update={"crisis_s": 1e9})
        worker = AlertWorker(engine, config, rules=rules(checks=coverage_only))
        worker.start()
        store = worker.store

        original = site.publish(template, outlet="hue-like")
        first = to_article(site, original, fetched_at=datetime.now(UTC))
        write(engine, layout, [first.model_copy(update={"story_cluster_id": first.id})])
        assert worker.tick().stored >= 1
        messages = sink.wait_for(1)
        assert messages[0]["Subject"].endswith("Báo chí đưa tin về vụ việc 07/KN-UBND")
        body = messages[0].get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert original.title in text and f"/articles/{first.id}" in text
        assert "07%2FKN-UBND/statement" in text and "Thời hạn" in text
        touched = [a for a in store.list(kind=AlertKind.COMPLAINT_TOUCHED)]
        assert len(touched) == 1 and touched[0].due_at is not None
        assert touched[0].severity in (Severity.HIGH, Severity.CRITICAL)  # a mass case

        again = site.syndicate(original, "hue-like")
        copy = to_article(site, again, fetched_at=datetime.now(UTC), cluster=first.id)
        write(engine, layout, [copy])
        assert worker.tick().stored == 0

        national = site.syndicate(original, "vnexpress-like")
        spread = to_article(site, national, fetched_at=datetime.now(UTC), cluster=first.id)
        other = to_article(
            site, site.publish(filler, outlet="tuoitre-like"), fetched_at=datetime.now(UTC)
        )
        write(engine, layout, [spread, other])
        report = worker.tick()
        assert report.stored == 1, [(a.kind.value, a.title, a.window) for a in store.list()]
        messages = sink.wait_for(2)
        assert "thêm 1 báo đăng lại" in messages[1]["Subject"]
        latest = store.list(kind=AlertKind.COMPLAINT_TOUCHED)[0]
        assert latest.article_ids == [spread.id] and latest.covers == ["outlet:VnExpress (giả lập)"]
        assert worker.tick().stored == 0
        assert len(sink.messages) == 2
        worker.close()


# -- emerging crisis ---------------------------------------------------------------------------
def stream(
    site: FixtureSite,
    times: Sequence[datetime],
    outlets: Sequence[str],
    commune: str,
    province: str,
    tag: str,
    stories: Sequence[Story] | None = None,
) -> list[Article]:
    pool = itertools.cycle(stories or [s for s in site.stories if s.topic != "seed"])
    slugs = itertools.cycle(outlets)
    return [
        to_article(
            site,
            next(pool),
            published_at=when,
            outlet_slug=next(slugs),
            places=[(province, commune)],
            suffix=f"?{tag}={index}",
        )
        for index, when in enumerate(times)
    ]


def test_crisis_fires_on_bursts_and_local_to_national_moves_only(
    engine: Engine, layout: IndexNames, site: FixtureSite
) -> None:
    hours = [NOW - timedelta(hours=h, minutes=7) for h in range(1, 14 * 24)]
    burst_story = next(s for s in site.stories if s.topic == "o_nhiem")
    national = ["vnexpress-like", "tuoitre-like", "dantri-like", "nld-like", "vietnamnet-like"]
    local = ["hue-like", "ninhbinh-like"]
    articles = [
        # quiet commune: a story every two days, then six in the last hour from five outlets
        *stream(site, hours[6::48], local, "26734", "79", "quiet"),
        *stream(
            site,
            [NOW - timedelta(minutes=m) for m in (5, 12, 20, 31, 40, 52)],
            national,
            "26734",
            "79",
            "burst",
            [burst_story],
        ),
        # steady commune: a story an hour for two weeks, and one in the last hour
        *stream(site, [NOW - timedelta(minutes=20), *hours], national, "10018", "01", "steady"),
        # smoulder to outbreak: local papers yesterday, a national daily an hour ago
        *stream(
            site,
            [NOW - timedelta(hours=20), NOW - timedelta(hours=9)],
            local,
            "9238",
            "24",
            "smoulder",
        ),
        *stream(site, [NOW - timedelta(hours=1)], national[:1], "9238", "24", "outbreak"),
        # local papers only
        *stream(site, [NOW - timedelta(hours=h) for h in (2, 3)], local, "15334", "38", "local"),
    ]
    write(engine, layout, articles)
    for number, watched in enumerate([True, False]):  # saved in the web app; one is watched
        engine.put(
            layout.saved_searches,
            f"web{number}",
            {
                "id": f"web{number}",
                "owner": "vanphong@ninhbinh.gov.vn",
                "name": f"dệt may {number}",
                "query": "det nhuom",
                "filters": {"outlets": [], "province": None},
                "alert": watched,
                "created_at": NOW.isoformat(),
            },
            refresh=True,
        )
    rule_set = rules(
        saved_searches=[SavedSearch(name="dệt nhuộm", query='"dệt nhuộm"', owner=OWNER)]
    )
    check = checker(engine, layout, rule_set)
    stored = check.store_findings(check.check_crises(NOW), NOW)
    by_subject = {(a.subject_key, a.rule.split(".")[1]): a for a in stored}
    burst = by_subject[("place:commune:26734", "volume")]
    assert "spike_1h" in burst.rule and "spread" in burst.rule
    assert burst.numbers["count_1h"] == 6 and burst.numbers["outlets_6h"] == 5
    assert burst.severity in (Severity.HIGH, Severity.CRITICAL)
    assert "ô nhiễm" in burst.lexicon_terms
    assert ("place:province:79", "volume") in by_subject
    search = by_subject[("search:dệt nhuộm", "volume")]
    assert search.recipients == [OWNER]
    web = by_subject[("search:dệt may 0 (vanphong@ninhbinh.gov.vn)", "volume")]
    assert web.recipients == ["vanphong@ninhbinh.gov.vn"]
    assert not any(key.startswith("search:dệt may 1") for key, _ in by_subject)
    outbreak = by_subject[("place:commune:9238", "outbreak")]
    assert outbreak.severity in (Severity.HIGH, Severity.CRITICAL)
    assert outbreak.stories[0].outlet_kind is OutletKind.NATIONAL_DAILY
    subjects = {key for key, _ in by_subject}
    assert "place:commune:10018" not in subjects and "place:province:01" not in subjects
    assert "place:commune:15334" not in subjects
    assert all(a.kind is AlertKind.EMERGING_CRISIS for a in stored)
    later = NOW + timedelta(minutes=20)
    assert check.store_findings(check.check_crises(later), later) == []  # cooldown, same episode


# -- deadlines ---------------------------------------------------------------------------------
def store_touched(store: AlertStore, started: datetime, case: str) -> OutboxAlert:
    finding = Finding(
        kind=AlertKind.COMPLAINT_TOUCHED,
        subject_key=f"complaint:{case}",
        window="covers:x",
        rule="complaint_touched.first",
        severity=Severity.WARNING,
        title=f"Báo chí đưa tin về vụ việc {case}",
        reason="r",
        complaint_case=case,
        due_from=started,
        due_at=started + timedelta(hours=24),
    )
    alert = decide(finding, rules(), started, TZ)
    assert store.create(alert)
    return alert


def test_initial_information_reminder_until_resolved(engine: Engine, layout: IndexNames) -> None:
    store = AlertStore(engine, layout)
    check = checker(engine, layout)
    alert = store_touched(store, NOW - timedelta(hours=10), "31/KN")
    assert check.check_deadlines(NOW) == []  # 42 % of the period
    at_half = NOW + timedelta(hours=3)
    stored = check.store_findings(check.check_deadlines(at_half), at_half)
    assert [a.window for a in stored] == ["fraction:0.5"]
    assert stored[0].kind is AlertKind.DEADLINE and stored[0].due_at == alert.due_at
    assert stored[0].recipients == [OFFICE]
    assert check.store_findings(check.check_deadlines(at_half), at_half) == []  # stored once
    resolve(store, alert.id, by="phatngon", note="đã cung cấp thông tin ban đầu")
    late = NOW + timedelta(hours=12)
    assert check.check_deadlines(late) == []


def test_case_deadline_approaching_while_in_the_news(engine: Engine, layout: IndexNames) -> None:
    register = ComplaintRegister(engine, layout)
    received = date(2026, 11, 6)
    covered = Complaint(case_number="41/KN", kind=ComplaintKind.COMPLAINT, received_date=received)
    quiet = Complaint(case_number="42/KN", kind=ComplaintKind.COMPLAINT, received_date=received)
    for case in (covered, quiet):
        register.upsert(case, by="test", refresh=True)
    acceptance = next(
        d
        for d in compute_deadlines(covered, load_deadline_rules(), load_holidays())
        if d.procedure.value == "complaint.acceptance"
    )
    moment = acceptance.ends_at(TZ) - timedelta(days=1, hours=2)
    link = ComplaintLink(
        case_number="41/KN",
        article_id="x1",
        outlet="Báo Ninh Bình",
        title="Dân khiếu nại",
        published_at=moment - timedelta(days=2),
        linked_at=moment - timedelta(days=2),
    )
    store_links(engine, layout, [link])
    engine.refresh(layout.complaint_links)
    found = checker(engine, layout).check_deadlines(moment)
    assert [f.subject_key for f in found] == [f"case_deadline:41/KN:{acceptance.rule_id}"]
    assert found[0].severity is Severity.WARNING and found[0].complaint_case == "41/KN"


# -- source health -----------------------------------------------------------------------------
def test_silent_outlet_fires_in_the_morning_not_at_night(
    engine: Engine, layout: IndexNames, site: FixtureSite
) -> None:
    last = datetime(2026, 11, 19, 21, 50, tzinfo=VN)
    start = last - timedelta(days=14)
    day_hours = [
        start + timedelta(hours=h)
        for h in range(14 * 24 + 1)
        if 6 <= (start + timedelta(hours=h)).astimezone(VN).hour < 22
    ]
    times = [t for t in day_hours if t <= last]
    articles = stream(site, times, ["ninhbinh-like"], "9238", "24", "day")
    write(engine, layout, [a.model_copy(update={"fetched_at": a.published_at}) for a in articles])
    check = checker(engine, layout)
    night = datetime(2026, 11, 20, 5, 30, tzinfo=VN)
    assert check.check_sources(night) == []
    morning = datetime(2026, 11, 20, 11, 30, tzinfo=VN)
    found = check.check_sources(morning)
    assert [f.subject_key for f in found] == ["outlet:Báo Ninh Bình (giả lập)"]
    assert found[0].kind is AlertKind.SOURCE_HEALTH and "im lặng" in found[0].title


def test_fetch_error_jump_fires_steady_errors_do_not(engine: Engine, layout: IndexNames) -> None:
    entries = []
    for hour in range(1, 14 * 24, 3):  # a steady trickle of errors from one outlet
        entries.append(("Báo Đều", NOW - timedelta(hours=hour, minutes=10)))
    entries += [("Báo Đều", NOW - timedelta(minutes=15))]
    entries += [("Báo Hỏng", NOW - timedelta(minutes=m)) for m in range(2, 50, 5)]  # ten now
    actions = [
        {
            "_index": layout.fetch_log,
            "_source": {
                "url": f"https://example.vn/{index}",
                "outlet": outlet_name,
                "stage": "download",
                "reason": "HTTP 503",
                "status": 503,
                "at": when.astimezone(UTC).isoformat(),
            },
        }
        for index, (outlet_name, when) in enumerate(entries)
    ]
    engine.bulk(actions)
    engine.refresh(layout.fetch_log)
    found = checker(engine, layout).check_sources(NOW)
    assert [f.subject_key for f in found] == ["outlet_errors:Báo Hỏng"]
    assert found[0].numbers["errors_1h"] == 10
