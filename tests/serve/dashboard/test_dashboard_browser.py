"""The dashboard in a real headless Chromium (Debian's `chromium`, driven by Playwright with
its executable path) against the real app on uvicorn: sign in, the worklist loads with data,
a filter narrows it, a dealer page opens with its charts and factors, and the language
toggle switches to Chinese and stays. Each test saves a screenshot in its temp folder."""

from __future__ import annotations

import os
import shutil

import pytest

from serve.app import create_app
from tests.serve.conftest import READER, uvicorn_server

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
"""Without the background-networking flags Chromium keeps calling Google's hosts, which
this closed network refuses."""


def chromium_path() -> str:
    path = os.environ.get("DEALER_RISK_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser")
    if not path:
        pytest.fail("no chromium: `./run test` installs Debian's chromium package; or set "
                    "DEALER_RISK_CHROMIUM to a Chromium executable")
    return path


@pytest.fixture(scope="module")
def site(served):
    settings, _, _ = served
    with uvicorn_server(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, site, tmp_path):
    """A fresh, signed-in browser context (its own cookies) per test."""
    context = browser.new_context(viewport={"width": 1300, "height": 900},
                                  locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{site}/dashboard")
    assert "/dashboard/login" in page.url  # keys configured: sign in first
    page.fill("input[name=key]", READER["X-API-Key"])
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{site}/dashboard")
    yield page
    context.close()


def test_worklist_loads_with_data(page, served, tmp_path):
    _, new, _ = served
    rows = page.locator("#worklist tbody tr")
    assert rows.count() == min(50, len(new))
    assert rows.first.get_attribute("data-dealer") == new["dealer_id"].iloc[0]
    assert page.locator("#total").inner_text() == str(len(new))
    page.screenshot(path=tmp_path / "worklist.png", full_page=True)


def test_a_filter_narrows_the_list(page, served, tmp_path):
    _, new, _ = served
    region = new["region"].value_counts().index[-1]  # the smallest region
    page.select_option("select[name=region]", region)
    page.click("#filters button[type=submit]")
    page.wait_for_url("**region=*")
    rows = page.locator("#worklist tbody tr")
    expected = int((new["region"] == region).sum())
    assert page.locator("#total").inner_text() == str(expected)
    assert rows.count() == min(50, expected) < len(new)
    regions = {rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())}
    assert regions == {region}
    page.screenshot(path=tmp_path / "filtered.png", full_page=True)


def test_a_dealer_page_opens_with_its_charts_and_factors(page, served, tmp_path):
    _, new, _ = served
    dealer = new["dealer_id"].iloc[0]
    page.click(f"tr[data-dealer='{dealer}'] a")
    page.wait_for_url(f"**/dashboard/dealers/{dealer}")
    assert dealer in page.locator("#dealer-name").inner_text()
    factors = page.locator("svg.chart.factors").first
    assert factors.is_visible()
    assert page.locator("#factors .factor-sentence").count() >= 1
    assert new["top_reason_en"].iloc[0] in page.locator("#factors").inner_text()
    assert page.locator("svg.chart.risk polyline").count() == 2  # churn and decline
    assert page.locator("svg.chart.orders rect").count() > 0
    # time to leaving: a step line from 100%, the report months marked
    assert page.locator("svg.chart.survival polyline").is_visible()
    assert page.locator("svg.chart.survival circle[data-month]").count() == 3
    assert "of the next 12 months" in page.locator("#survival-sentence").inner_text()
    assert page.locator("#actions").is_visible()
    page.screenshot(path=tmp_path / "dealer.png", full_page=True)


def test_the_language_toggle_switches_to_chinese_and_stays(page, served, tmp_path):
    _, new, _ = served
    assert "Worklist" in page.locator("header nav").inner_text()
    page.click("#lang-toggle")
    page.wait_for_url("**lang=zh*")
    assert "工作清单" in page.locator("header nav").inner_text()
    assert new["top_reason_zh"].iloc[0] in page.locator("#worklist").inner_text()
    page.click("header nav >> text=总览")  # a plain link: no ?lang=, the cookie remembers
    page.wait_for_url("**/dashboard/overview")
    assert "各区域风险分布" in page.content()
    page.screenshot(path=tmp_path / "overview-zh.png", full_page=True)


def test_the_pages_hold_to_their_security_policy(page, site, served, tmp_path):
    """Session cookie HttpOnly, SameSite=Lax, expiring; a dealer page renders its charts
    under the Content-Security-Policy with no violation; a form posted from elsewhere
    (no CSRF token) is refused."""
    _, new, _ = served
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["dealer_risk_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax" and session["expires"] > 0
    assert cookies["dealer_risk_csrf"]["sameSite"] == "Strict"
    violations = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    response = page.goto(f"{site}/dashboard/dealers/{new['dealer_id'].iloc[0]}")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert page.locator("svg.chart.factors").first.is_visible()
    assert violations == []
    status = page.evaluate("""async () => (await fetch('/dashboard/logout',
        {method: 'POST', body: new URLSearchParams({csrf: 'forged'})})).status""")
    assert status == 403
    page.screenshot(path=tmp_path / "dealer-under-csp.png", full_page=True)


def test_repeated_failed_sign_ins_are_told_to_wait(browser, served, tmp_path):
    settings, _, _ = served
    with uvicorn_server(create_app(settings)) as url:  # its own server: its own counts
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        page.set_default_timeout(15_000)
        for _ in range(settings.api.login_free_attempts + 1):
            page.goto(f"{url}/dashboard/login")
            page.fill("input[name=key]", "a-wrong-key")
            page.click("#login-form button[type=submit]")
        message = page.locator("#login-error").inner_text()
        assert message.startswith("Too many failed sign-ins from here: try again in ")
        page.screenshot(path=tmp_path / "throttled.png")
        context.close()


def test_the_support_board_opens_groups_and_switches_language(page, site, served, tmp_path):
    page.click("header nav a[href='/dashboard/support']")
    page.wait_for_url(f"{site}/dashboard/support")
    groups = page.locator("#support-groups tbody tr")
    assert groups.count() >= 3  # request types
    late = int(page.locator("#overdue-total").inner_text().replace(",", ""))
    assert late > 0 and page.locator("#support-overdue tbody tr").count() == min(late, 100)
    page.select_option("select[name=by]", "region")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**by=region*")
    regions = {groups.nth(i).get_attribute("data-value") for i in range(groups.count())}
    assert regions <= set(served[1]["region"]) and regions
    page.screenshot(path=tmp_path / "support.png", full_page=True)
    page.click("#lang-toggle")
    page.wait_for_url("**lang=zh*")
    assert "按区域" in page.locator("main").inner_text()
    assert "当前超时未答复" in page.locator("main").inner_text()
    page.screenshot(path=tmp_path / "support-zh.png", full_page=True)


def test_the_plan_page_spends_a_budget_lists_programs_and_switches_language(page, site,
                                                                          tmp_path):
    page.click("header nav a[href='/dashboard/plan']")
    page.wait_for_url(f"{site}/dashboard/plan")
    assert page.locator("#plan-totals").count() == 1
    page.fill("input[name=budget]", "150000")
    page.check("input[name=include_uncertain]")
    page.click("#plan-form button[type=submit]")
    page.wait_for_url("**include_uncertain=true*")
    rows = page.locator("#plan-rows tbody tr")
    assert rows.count() > 0
    dealers = [rows.nth(i).get_attribute("data-dealer") for i in range(rows.count())]
    assert len(set(dealers)) == len(dealers)  # one program per dealer
    spent = float(page.locator("#plan-spent").inner_text().lstrip("¥").replace(",", ""))
    assert 0 < spent <= 150_000
    if page.locator("#plan-unproven").count():
        assert "has not passed" in page.locator("#plan-unproven").inner_text()
    page.screenshot(path=tmp_path / "plan.png", full_page=True)
    rows.first.locator("a").click()  # the plan's dealer opens its page
    page.wait_for_url(f"{site}/dashboard/dealers/**")
    page.go_back()
    page.click("#lang-toggle")
    page.wait_for_url("**lang=zh*")
    text = page.locator("main").inner_text()
    assert "计划" in text and "预计保住的收入" in text
    page.screenshot(path=tmp_path / "plan-zh.png", full_page=True)


def test_the_reps_scorecard_filters_opens_a_rep_and_switches_language(page, site, served,
                                                                     tmp_path):
    page.click("header nav a[href='/dashboard/reps']")
    page.wait_for_url(f"{site}/dashboard/reps")
    rows = page.locator("#reps tbody tr")
    everyone = rows.count()
    assert everyone >= len(set(served[1]["sales_rep_id"]))  # every rep of the snapshot
    region = sorted(set(served[1]["region"]))[0]
    page.select_option("select[name=region]", region)
    page.select_option("select[name=sort]", "revenue_at_risk")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**sort=revenue_at_risk*")
    assert 0 < rows.count() < everyone
    page.screenshot(path=tmp_path / "reps.png", full_page=True)
    rep = rows.first.get_attribute("data-rep")
    rows.first.locator("a").click()
    page.wait_for_url(f"{site}/dashboard/reps/{rep}*")
    parts = page.locator("#rep-parts tbody tr")
    assert parts.count() == 5
    dealers = page.locator("#rep-dealers tbody tr")
    assert dealers.count() == int((served[1]["sales_rep_id"] == rep).sum())
    assert "Lost, last 90 days" in page.locator("#rep-figures").inner_text()
    page.screenshot(path=tmp_path / "rep.png", full_page=True)
    page.click("#lang-toggle")
    page.wait_for_url("**lang=zh*")
    text = page.locator("main").inner_text()
    assert "维护得分" in text and "近90天流失" in text
    page.screenshot(path=tmp_path / "rep-zh.png", full_page=True)
    dealers.first.locator("a").click()  # on to the dealer's own page
    page.wait_for_url(f"{site}/dashboard/dealers/*")


FIELD_KEY = "field-key-browser-1"


@pytest.fixture(scope="module")
def field_settings(served, tmp_path_factory):
    """The served snapshots with a store of their own and a field key (a rep)."""
    settings, _, _ = served
    store = tmp_path_factory.mktemp("browser-situations") / "store.db"
    return settings.model_copy(update={
        "api_keys": {**settings.api_keys, FIELD_KEY: "field"},
        "store": settings.store.model_copy(update={"url": f"sqlite:///{store}"})})


@pytest.fixture(scope="module")
def field_site(field_settings):
    with uvicorn_server(create_app(field_settings)) as url:
        yield url


def test_a_rep_records_a_known_situation_that_holds_alerts_then_ends_it(browser, field_site,
                                                                       served, tmp_path):
    import httpx

    alerts = httpx.get(f"{field_site}/v1/alerts", params={"limit": 1000},
                       headers={"X-API-Key": FIELD_KEY}).json()
    dealer = alerts["items"][0]["dealer_id"]
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{field_site}/dashboard/login")
    page.fill("input[name=key]", FIELD_KEY)
    page.click("#login-form button[type=submit]")
    page.goto(f"{field_site}/dashboard/dealers/{dealer}?lang=zh")
    assert "没有已知情况" in page.locator("#situation-now").inner_text()
    form = page.locator("#situation-record")
    form.locator("select[name=kind]").select_option("store_refit")
    until = form.locator("input[name=expires_on]").get_attribute("min")  # tomorrow
    form.locator("input[name=expires_on]").fill(until)
    form.locator("input[name=note]").fill("门店装修，三月重新开业")
    form.locator("input[name=by]").fill("王磊")
    form.locator("button[value=record]").click()
    page.wait_for_url(f"**/dashboard/dealers/{dealer}?lang=zh#situation")
    assert f"门店装修，至 {until}" in page.locator("#situation-now").inner_text()
    assert page.locator("#situation-note").inner_text() == "门店装修，三月重新开业"
    assert page.locator("#alerts-held").is_visible()
    page.screenshot(path=tmp_path / "situation.png", full_page=True)
    held = httpx.get(f"{field_site}/v1/alerts", params={"limit": 1000, "held": "only"},
                     headers={"X-API-Key": FIELD_KEY}).json()
    assert {a["dealer_id"] for a in held["items"]} == {dealer}

    page.locator("#situation-change input[name=by]").fill("李娜")
    page.locator("#situation-change button[value=end]").click()
    page.wait_for_url(f"**/dashboard/dealers/{dealer}?lang=zh#situation")
    assert "没有已知情况" in page.locator("#situation-now").inner_text()
    page.locator("#situation-trail summary").click()
    trail = page.locator("#situation-trail li").all_inner_texts()
    assert len(trail) == 2 and "王磊 · 登记" in trail[0] and "李娜 · 结束" in trail[1]
    context.close()


def test_a_reader_sees_the_situation_but_no_form(page, field_site, served):
    """The `page` fixture signs in with a reader key on the other site; here a reader on
    this one: it can read the box, not record."""
    context = page.context.browser.new_context()
    reader = context.new_page()
    reader.goto(f"{field_site}/dashboard/login")
    reader.fill("input[name=key]", READER["X-API-Key"])
    reader.click("#login-form button[type=submit]")
    reader.wait_for_url(f"{field_site}/dashboard")
    dealer = served[1]["dealer_id"].iloc[0]
    reader.goto(f"{field_site}/dashboard/dealers/{dealer}")
    assert reader.locator("#situation").is_visible()
    assert reader.locator("#situation-record").count() == 0
    context.close()


def test_a_rep_finds_their_tasks_and_records_one_done(browser, field_site, field_settings,
                                                      tmp_path):
    from serve.service.tasks import sync_tasks
    settings = field_settings.model_copy(update={"tasks": field_settings.tasks.model_copy(
        update={"min_severity": "low"})})
    _, made = sync_tasks(settings)
    assert made, "the small network's alerts should open tasks"
    owner = made[0].owner
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{field_site}/dashboard/login")
    page.fill("input[name=key]", FIELD_KEY)
    page.click("#login-form button[type=submit]")
    page.click("nav a[href='/dashboard/tasks']")
    page.wait_for_selector("#tasks-summary")
    page.click(f"#tasks-summary tr[data-owner='{owner}'] a")
    page.wait_for_url(f"**/dashboard/tasks?owner={owner}")
    assert page.locator("#tasks-heading").inner_text() == f"My tasks · {owner}"
    row = page.locator(f"#task-{made[0].id}")
    row.locator("select[name=status]").select_option("done")
    row.locator("select[name=outcome]").select_option("program_offered")
    row.locator("select[name=program]").select_option("extra_visits")
    row.locator("input[name=by]").fill("Wang Lei")
    row.locator("button[type=submit]").click()
    page.wait_for_url(f"**#task-{made[0].id}")
    page.screenshot(path=tmp_path / "tasks.png", full_page=True)
    # done tasks leave the active list; "all" shows it with its outcome
    assert page.locator(f"#task-{made[0].id}").count() == 0
    page.select_option("select[name=show]", "all")
    page.click("#tasks-filter button[type=submit]")
    status = page.locator(f"#task-{made[0].id} td.status").inner_text()
    assert "done" in status and "program offered: extra_visits" in status
    context.close()
