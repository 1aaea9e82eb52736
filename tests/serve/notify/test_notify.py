"""`dealer-risk notify` against real local robots and a real SMTP server: signed digests
within each platform's size, de-duplicated, held alerts left out, retried on 429/5xx,
kept in the outbox when they fail and sent by --resend, paced to each platform's limit."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from serve.notify.digest import SEVERITY_RANK
from serve.notify.outbox import Pace
from serve.notify.run import notify
from serve.service.alerts import snapshot_alerts as open_alerts
from serve.service.situations import Situations
from serve.store.schema import outbox
from tests.serve.notify.robots import DING_SECRET, FEISHU_SECRET, Mail, Robots


class FakeClock:
    """Time that moves only when the code sleeps: pacing and back-off judged exactly."""

    def __init__(self):
        self.now = time.time()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def robots():
    with Robots() as r:
        yield r


@pytest.fixture
def mail():
    with Mail() as m:
        yield m


def settings_for(served, tmp_path, destinations, **notify):
    settings, _, _ = served
    return settings.model_copy(update={
        "store": settings.store.model_copy(update={"url": f"sqlite:///{tmp_path / 's.db'}"}),
        "notify": settings.notify.model_validate(
            {"destinations": destinations, "retry_seconds": 1.0, **notify})})


def robot(kind, robots, **more):
    secret = {"dingtalk": DING_SECRET, "feishu": FEISHU_SECRET}.get(kind)
    return {"name": f"{kind}-east", "kind": kind, "url": robots.urls()[kind],
            **({"secret": secret} if secret else {}), **more}


def carried(report_or_rows) -> set[tuple[str, str]]:
    return {(a["dealer_id"], a["rule"]) for m in report_or_rows for a in m.alerts}


def test_each_robot_and_email_get_signed_digests_of_every_alert_due_once(
        served, tmp_path, robots, mail):
    dests = [robot("wecom", robots), robot("dingtalk", robots), robot("feishu", robots),
             {"name": "mail", "kind": "email", "to": ["east@example.com"], "language": "both"}]
    settings = settings_for(served, tmp_path, dests,
                            smtp={"host": "127.0.0.1", "port": mail.port},
                            dashboard_url="https://risk.example.com")
    _, alerts = open_alerts(settings)
    expected = {(d, r) for d, r, s in zip(alerts["dealer_id"], alerts["rule"],
                                          alerts["severity"], strict=True)
                if SEVERITY_RANK[s] >= SEVERITY_RANK["medium"]}
    assert expected, "the small network should have alerts of medium severity or more"
    clock = FakeClock()
    report = notify(settings, clock=clock, sleep=clock.sleep)
    assert report.failed == 0, [d.errors for d in report.destinations]
    for d in report.destinations:
        assert d.due == len(expected) and d.sent == d.queued >= 1
    # what arrived: signed and accepted (the servers check), every alert due, in the body
    for kind in ("wecom", "dingtalk", "feishu"):
        assert len(robots.accepted(kind)) == next(
            d.sent for d in report.destinations if d.kind == kind)
    text = "".join(p["markdown"]["content"] for p in robots.accepted("wecom"))
    for dealer_id, _ in expected:
        assert f"https://risk.example.com/dashboard/dealers/{dealer_id}?lang=zh" in text
    assert all(len(p["markdown"]["content"].encode()) <= 4096
               for p in robots.accepted("wecom"))
    assert robots.accepted("feishu")[0]["card"]["elements"][0]["text"]["tag"] == "lark_md"
    (to, message), = mail.messages
    assert to == ["east@example.com"]
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "新增或变化的预警" in message["Subject"] and "new or changed alerts" in \
        message["Subject"]
    assert all(d in plain and d in html for d, _ in expected)

    # the same alerts are not sent twice
    again = notify(settings, clock=clock, sleep=clock.sleep)
    assert [(d.due, d.sent) for d in again.destinations] == [(0, 0)] * 4
    assert len(robots.accepted("wecom")) == next(
        d.sent for d in report.destinations if d.kind == "wecom")
    # ... until the cool-down has passed
    clock.now += timedelta(days=8).total_seconds()
    later = notify(settings, only=["wecom-east"], clock=clock, sleep=clock.sleep)
    assert later.destinations[0].due == len(expected)


def test_a_digest_too_long_for_wecom_is_split_into_parts_that_fit(served, tmp_path, robots):
    settings = settings_for(served, tmp_path, [robot("wecom", robots, min_severity="low",
                                                     language="both")])
    _, alerts = open_alerts(settings)
    report = notify(settings, dry_run=True)
    messages = report.destinations[0].preview
    assert len(messages) >= 2, "every open alert in both languages should not fit 4 KB"
    assert all(len(m.body["markdown"].encode()) <= 4096 for m in messages)
    assert f"1/{len(messages)}" in messages[0].subject
    assert carried(messages) == set(zip(alerts["dealer_id"], alerts["rule"], strict=True))
    # a dry run sends and keeps nothing
    assert robots.received == []
    with Situations(settings).store.engine.connect() as c:
        assert c.execute(select(outbox)).all() == []


def test_alerts_held_by_a_known_situation_are_not_sent(served, tmp_path, robots):
    settings = settings_for(served, tmp_path, [robot("wecom", robots, min_severity="low")])
    _, alerts = open_alerts(settings)
    dealer = alerts["dealer_id"].iloc[0]
    store = Situations(settings).store
    store.add(dealer, "store_refit", "", store.today() + timedelta(days=30), by="Wang",
              credential="open")
    report = notify(settings, dry_run=True)
    assert report.held == 1
    assert dealer not in {d for d, _ in carried(report.destinations[0].preview)}
    assert report.destinations[0].due == int((alerts["dealer_id"] != dealer).sum())


def test_429_and_500_are_retried_with_backoff_then_sent(served, tmp_path, robots):
    settings = settings_for(served, tmp_path, [robot("dingtalk", robots)])
    robots.script.extend([(429, {"errcode": 0}, {"Retry-After": "7"}),
                          (502, None, {})])
    clock = FakeClock()
    report = notify(settings, clock=clock, sleep=clock.sleep)
    d = report.destinations[0]
    assert d.failed == 0 and d.sent == d.queued >= 1
    assert 7.0 in clock.sleeps  # the Retry-After was honoured
    assert 2.0 in clock.sleeps  # then the doubled back-off (retry_seconds 1: 1, 2)
    with Situations(settings).store.engine.connect() as c:
        first = c.execute(select(outbox).order_by(outbox.c.id)).first()
    assert first.status == "sent" and first.attempts == 3


def test_a_message_that_keeps_failing_stays_in_the_outbox_until_resend(served, tmp_path,
                                                                      robots):
    settings = settings_for(served, tmp_path, [robot("feishu", robots)], max_attempts=2)
    robots.script.extend([(500, None, {})] * 100)
    clock = FakeClock()
    report = notify(settings, clock=clock, sleep=clock.sleep)
    d = report.destinations[0]
    assert d.sent == 0 and d.failed == d.queued >= 1
    assert d.errors[0] == "HTTP 500"
    calls = len(robots.received)
    assert calls == 2 * d.queued  # max_attempts each
    # a new run neither retries the failed nor queues the same alerts again
    rerun = notify(settings, clock=clock, sleep=clock.sleep)
    assert rerun.destinations[0].due == 0 and len(robots.received) == calls
    robots.script.clear()  # the robot is back
    resent = notify(settings, resend=True, clock=clock, sleep=clock.sleep)
    assert resent.destinations[0].sent == d.queued and resent.failed == 0


def test_a_wrong_secret_fails_at_once_with_the_robots_answer(served, tmp_path, robots):
    settings = settings_for(served, tmp_path, [robot("dingtalk", robots, secret="wrong")])
    report = notify(settings, clock=FakeClock(), sleep=lambda s: None)
    d = report.destinations[0]
    assert d.failed == d.queued and d.errors[0] == "dingtalk error 310000: sign not match"
    assert len(robots.received) == d.queued  # not retried: it cannot get better


def test_a_dingtalk_block_holds_the_robots_messages_for_ten_minutes(served, tmp_path, robots):
    settings = settings_for(served, tmp_path, [robot("dingtalk", robots)])
    robots.script.append((200, {"errcode": 130101, "errmsg": "send too fast"}, {}))
    clock = FakeClock()
    report = notify(settings, clock=clock, sleep=clock.sleep)
    d = report.destinations[0]
    assert d.sent == 0 and d.waiting == d.queued and "blocked until" in d.errors[0]
    clock.now += 5 * 60
    assert notify(settings, clock=clock, sleep=clock.sleep).destinations[0].sent == 0
    clock.now += 6 * 60
    assert notify(settings, clock=clock, sleep=clock.sleep).destinations[0].sent == d.queued


@pytest.mark.parametrize("per_minute,per_second,sends", [(20, None, 45), (100, 5, 120)])
def test_the_pace_never_exceeds_a_platforms_limit(per_minute, per_second, sends):
    clock = FakeClock()
    pace = Pace(per_minute, per_second, [], clock, clock.sleep)
    times = []
    for _ in range(sends):
        pace.wait()
        times.append(clock())
        pace.sent()
    for t in times:
        assert sum(t <= u < t + 60 for u in times) <= per_minute
        if per_second:
            assert sum(t <= u < t + 1 for u in times) <= per_second
    if not per_second:  # and no longer than it must: the 21st send waits for the minute
        assert times[per_minute] - times[0] == pytest.approx(60)


def test_the_command_previews_sends_and_exits_4_when_a_message_failed(served, tmp_path,
                                                                     robots):
    """Through the console entry point, with the destinations in dealer-risk.toml."""
    import json

    from tests.serve.cli.test_cli_models import run
    settings, _, _ = served
    (tmp_path / "dealer-risk.toml").write_text(f"""
work_dir = "{settings.work_dir.as_posix()}"
[store]
url = "sqlite:///{(tmp_path / 'store.db').as_posix()}"
[[notify.destinations]]
name = "east-managers"
kind = "wecom"
url = "{robots.urls()['wecom']}"
[[notify.destinations]]
name = "broken"
kind = "feishu"
url = "{robots.base}/open-apis/bot/v2/hook/nobody"
secret = "{FEISHU_SECRET}"
""", encoding="utf-8")
    preview = run(["notify", "--dry-run"], tmp_path)
    assert preview.returncode == 0, preview.stderr
    assert "east-managers (wecom)" in preview.stdout and "/dashboard/dealers/" in preview.stdout
    assert robots.received == []
    sent = run(["notify", "--json"], tmp_path)
    assert sent.returncode == 4, sent.stderr  # the broken hook's messages failed
    out = json.loads(sent.stdout.strip().splitlines()[-1])
    east, broken = out["destinations"]
    assert east["sent"] >= 1 and east["failed"] == 0
    assert broken["failed"] >= 1 and broken["errors"][0].startswith("feishu error 19021")
    assert run(["notify", "--destination", "nowhere"], tmp_path).returncode == 2
