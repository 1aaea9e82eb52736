"""The dashboard's pages through the real app: sign-in and sessions, the worklist's filters,
search, totals and export, the dealer and overview pages, language, escaping.
(tests/serve/dashboard/test_dashboard_browser.py drives the same pages in a real Chromium.)"""

from __future__ import annotations

import io
import json
import re

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from serve.app import create_app
from serve.dashboard import charts
from serve.dashboard.session import COOKIE, issue, role_of_session
from tests.serve.conftest import READER, sign_in

KEY = READER["X-API-Key"]


@pytest.fixture(scope="module")
def client(served):
    settings, _, _ = served
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def signed(client):
    client.cookies.clear()
    response = sign_in(client, KEY, "/dashboard", follow_redirects=False)
    assert response.status_code == 303
    yield client
    client.cookies.clear()


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-dealer="([^"]+)"', html)


def test_pages_need_a_sign_in_when_keys_are_configured(client):
    client.cookies.clear()
    for path in ("/dashboard", "/dashboard/overview", "/dashboard/export.csv",
                 "/dashboard/dealers/X"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/dashboard/login?next=")


def test_sign_in_sets_a_lax_httponly_expiring_cookie_without_the_key(client):
    client.cookies.clear()
    wrong = sign_in(client, "nope", follow_redirects=False)
    assert wrong.status_code == 401 and "not valid" in wrong.text
    right = sign_in(client, KEY, "/dashboard/overview", follow_redirects=False)
    assert right.status_code == 303 and right.headers["location"] == "/dashboard/overview"
    header = right.headers["set-cookie"]
    assert header.startswith(f"{COOKIE}=")
    assert "HttpOnly" in header and "SameSite=lax" in header and "Max-Age=43200" in header
    assert "Secure" not in header  # plain HTTP, and api.behind_tls is off
    assert KEY not in header
    assert client.get("/dashboard/overview").status_code == 200
    client.cookies.clear()


def test_no_open_redirect_through_next(client):
    client.cookies.clear()
    for target in ("https://evil.example/", "//evil.example/dashboard", "/v1/risk"):
        response = sign_in(client, KEY, target, follow_redirects=False)
        assert response.headers["location"] == "/dashboard"
    client.cookies.clear()


def test_sessions_expire_and_end_when_the_key_is_removed(served):
    settings, _, _ = served
    keys = settings.api_keys
    token = issue(KEY, settings.api, now=1_000_000)
    assert role_of_session(token, keys, settings.api, now=1_000_000 + 60) == "reader"
    assert role_of_session(token, keys, settings.api, now=1_000_000 + 13 * 3600) is None
    tampered = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert role_of_session(tampered, keys, settings.api, now=1_000_000) is None
    assert role_of_session(token, {"other": "reader"}, settings.api, now=1_000_000) is None


def test_withdrawing_one_key_ends_only_its_sessions(served):
    settings, _, _ = served
    keys = {"team-north": "reader", "team-south": "reader", "ops": "admin"}
    north = issue("team-north", settings.api, now=1_000_000)
    south = issue("team-south", settings.api, now=1_000_000)
    left = {k: r for k, r in keys.items() if k != "team-north"}
    assert role_of_session(north, left, settings.api, now=1_000_060) is None
    assert role_of_session(south, left, settings.api, now=1_000_060) == "reader"
    # a cookie of one key cannot pass for another's: the fingerprint picks the key to check
    forged = south.split(".")[0] + "." + north.split(".")[1]
    assert role_of_session(forged, keys, settings.api, now=1_000_060) is None
    # a new session secret signs everyone out
    rotated = settings.api.model_copy(update={"session_secret": "new"})
    assert role_of_session(south, keys, rotated, now=1_000_060) is None


def test_worklist_ranks_filters_searches_and_totals(signed, served):
    _, new, _ = served
    html = signed.get("/dashboard").text
    assert _rows(html) == list(new["dealer_id"].head(50))  # revenue at risk order
    region = new["region"].iloc[0]
    narrowed = signed.get("/dashboard", params={"region": region}).text
    want = new[new["region"] == region]
    assert _rows(narrowed) == list(want["dealer_id"].head(50))
    assert f'<strong id="total">{len(want)}</strong>' in narrowed
    assert f"¥{want['revenue_at_risk'].sum():,.0f}" in narrowed
    dealer = new.iloc[3]
    by_id = signed.get("/dashboard", params={"q": dealer["dealer_id"].lower()}).text
    assert dealer["dealer_id"] in _rows(by_id)
    by_name = signed.get("/dashboard", params={"q": dealer["dealer_name"]}).text
    assert dealer["dealer_id"] in _rows(by_name)
    nothing = signed.get("/dashboard", params={"q": "no such dealer"}).text
    assert 'id="no-match"' in nothing


def test_worklist_shows_leaving_filters_by_kind_and_orders_by_it(signed, served):
    _, new, _ = served
    quiet = new[new["risk_kind"] == "quiet_spell"]
    html = signed.get("/dashboard", params={"kind": "quiet_spell"}).text
    assert _rows(html) == list(quiet["dealer_id"].head(50))
    assert f'<strong id="total">{len(quiet)}</strong>' in html
    by_leaving = signed.get("/dashboard", params={"sort": "leave_probability"}).text
    want = new.sort_values(["leave_probability", "dealer_id"], ascending=[False, True])
    assert _rows(by_leaving) == list(want["dealer_id"].head(50))
    assert "kind-leaving" in by_leaving and "quiet spell" in html
    zh = signed.get("/dashboard", params={"kind": "leaving", "lang": "zh"}).text
    assert "正在离开" in zh and "风险类型" in zh
    export = signed.get("/dashboard/export.csv", params={"kind": "quiet_spell"}).text
    assert len(export.strip().splitlines()) == len(quiet) + 1


def test_dealer_page_says_why_the_score_changed(signed, served):
    _, new, _ = served
    row = new[new["churn_probability_change"].abs() > 0.05].iloc[0]
    html = signed.get(f"/dashboard/dealers/{row['dealer_id']}").text
    assert 'id="why-changed-churn"' in html
    assert f"{abs(100 * row['churn_probability_change']):.0f} points since" in html


def test_dealer_page_splits_the_churn_risk(signed, served):
    _, new, _ = served
    row = new[new["risk_kind"] == "quiet_spell"].iloc[0]
    html = signed.get(f"/dashboard/dealers/{row['dealer_id']}").text
    assert 'id="score-leaving"' in html
    assert f"Of the {row['churn_probability']:.0%} churn risk" in html
    assert "quiet spell" in html


def test_dealer_page_shows_the_time_to_leaving(signed, served):
    _, new, _ = served
    row = new.sort_values("months_ordering").iloc[0]
    curve = json.loads(row["survival_curve"])
    html = signed.get(f"/dashboard/dealers/{row['dealer_id']}").text
    assert 'id="survival"' in html and 'class="chart survival"' in html
    for month in (3, 6, 12):
        assert f'data-month="{month}"' in html
    assert f"12 months {curve[11]:.0%}" in html
    zh = signed.get(f"/dashboard/dealers/{row['dealer_id']}", params={"lang": "zh"}).text
    assert "预计还能留多久" in zh and "12个月后" in zh


def test_worklist_orders_by_the_soonest_to_stop_ordering(signed, served):
    _, new, _ = served
    html = signed.get("/dashboard", params={"sort": "months_ordering"}).text
    first = new.sort_values(["months_ordering", "dealer_id"]).iloc[0]
    assert _rows(html)[0] == first["dealer_id"]
    assert f'<td class="num months-ordering">{first["months_ordering"]:.1f}</td>' in html
    zh = signed.get("/dashboard", params={"sort": "months_ordering", "lang": "zh"}).text
    assert "预计最早停止订货" in zh and "仍订货月数" in zh


def test_worklist_pages_cover_the_list_once(signed, served):
    _, new, _ = served
    seen, page = [], 0
    while True:
        rows = _rows(signed.get("/dashboard", params={"page": page}).text)
        if not rows:
            break
        seen += rows
        page += 1
    assert seen == list(new["dealer_id"])


def test_export_is_the_current_view(signed, served):
    _, new, _ = served
    band = new["band"].iloc[0]
    response = signed.get("/dashboard/export.csv", params={"band": band})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(response.text))  # headed by labels, for Excel
    assert list(table["Dealer id"]) == list(new.loc[new["band"] == band, "dealer_id"])


def test_dealer_page_shows_scores_charts_factors_alerts_and_actions(signed, served):
    _, new, _ = served
    row = new.iloc[0]
    html = signed.get(f"/dashboard/dealers/{row['dealer_id']}").text
    assert f"{row['churn_probability']:.0%}" in html
    assert row["top_reason_en"].replace("'", "&#39;") in html
    for chart in ('class="chart factors"', 'class="chart risk"', 'class="chart orders"'):
        assert chart in html
    assert 'id="actions"' in html and 'id="alerts"' in html and 'id="flags"' in html
    missing = signed.get("/dashboard/dealers/NOPE")
    assert missing.status_code == 404 and "NOPE" in missing.text


def test_dealer_page_shows_context_apart_from_the_reasons(signed, served):
    import json

    _, new, _ = served
    with_notes = [r for r in new.itertuples() if json.loads(r.context)["churn"]]
    assert with_notes, "some dealer's fixed attributes weigh on its score"
    row = with_notes[0]
    notes = json.loads(row.context)["churn"]
    html = signed.get(f"/dashboard/dealers/{row.dealer_id}", params={"lang": "zh"}).text
    block = re.search(r'<p class="context" data-model="churn">(.*?)</p>', html, re.S)
    assert block and "背景" in block.group(1)
    for note in notes:
        assert note["sentence_zh"] in block.group(1)
    # the reasons never name a fixed attribute
    factors = json.loads(row.factors)["churn"]
    assert all(f["group"] not in ("profile", "season") for f in factors)


def test_language_toggle_is_remembered(signed, served):
    _, new, _ = served
    zh = signed.get("/dashboard", params={"lang": "zh"})
    assert "工作清单" in zh.text and zh.cookies.get("dealer_risk_lang") == "zh"
    again = signed.get("/dashboard/overview")
    assert "总览" in again.text and "各区域风险分布" in again.text
    assert new["top_reason_zh"].iloc[0] in signed.get("/dashboard").text
    back = signed.get("/dashboard", params={"lang": "en"})
    assert "Worklist" in back.text


def test_overview_counts_add_up(signed, served):
    _, new, _ = served
    html = signed.get("/dashboard/overview", params={"lang": "en"}).text
    assert f"{len(new):,}" in html and new["as_of"].iloc[0] in html
    for region, n in new["region"].value_counts().items():
        assert re.search(rf">{re.escape(region)}</a></td>\s*<td class=\"num\">{n}</td>", html)


def test_open_on_loopback_without_keys(served):
    settings, _, _ = served
    open_settings = settings.model_copy(update={"api_keys": {}})
    with TestClient(create_app(open_settings)) as c:
        assert c.get("/dashboard", follow_redirects=False).status_code == 200
        assert c.get("/", follow_redirects=False).headers["location"] == "/dashboard"


def test_chart_text_from_data_is_escaped():
    svg = charts.factor_bars([{"sentence": "<script>alert(1)</script>", "direction": "raises",
                               "value": 1.0, "past_value": None, "peer_median": 2.0}],
                             {"dealer": "d", "past": "p", "peers": "q", "title": "t"})
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert charts.month_bars({}, "x") == "" and charts.risk_lines([], {}) == ""


def test_overview_shows_the_latest_monitoring_report(signed, served, network):
    from features.fingerprint import data_fingerprint
    from models.pipeline import RunInputs
    from serve.batch.monitor import log_and_write, monitor
    settings, _, _ = served
    assert "dealer-risk monitor" in signed.get("/dashboard/overview",
                                               params={"lang": "en"}).text
    state = signed.app.state.holder.state
    report = monitor(network.panel, state.champions, settings)
    inputs = RunInputs(settings=settings.public_dump(),
                       fingerprint=data_fingerprint(network.loaded.report), data_dir="x")
    log_and_write(report, inputs, settings)
    html = signed.get("/dashboard/overview", params={"lang": "en"}).text
    assert 'id="model-health"' in html and "Score drift" in html
    churn = next(r for r in report["scores"] if r["column"] == "churn_probability")
    assert f"{churn['psi']:.3f}" in html
    for r in report["matured"]:
        if r["segment"] == "all":
            assert r["as_of"] in html


def test_forms_need_their_csrf_token(client):
    client.cookies.clear()
    client.get("/dashboard/login")  # the browser holds a token cookie now
    forged = client.post("/dashboard/login", data={"key": KEY, "next": "/dashboard"},
                         follow_redirects=False)
    assert forged.status_code == 403 and "came from another site" in forged.text
    other = client.post("/dashboard/login", data={"key": KEY, "csrf": "x" * 43},
                        follow_redirects=False)
    assert other.status_code == 403 and COOKIE not in other.headers.get("set-cookie", "")
    assert sign_in(client, KEY, follow_redirects=False).status_code == 303
    assert client.post("/dashboard/logout", follow_redirects=False).status_code == 403
    page = client.get("/dashboard")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    out = client.post("/dashboard/logout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/dashboard/login"
    client.cookies.clear()


def test_failed_sign_ins_wait_longer_and_longer(served):
    """A client of its own (a fresh app): 5 free failures, then a wait that doubles."""
    settings, _, _ = served
    with TestClient(create_app(settings)) as c:
        for _ in range(settings.api.login_free_attempts - 1):
            assert sign_in(c, "guess").status_code == 401
        assert sign_in(c, "guess").status_code == 401  # the fifth: now it must wait
        blocked = sign_in(c, KEY)  # even the right key waits: the client is throttled
        assert blocked.status_code == 429
        assert blocked.headers["retry-after"] == "2"
        assert "Too many failed sign-ins from here: try again in 2 seconds." in blocked.text
        throttle = c.app.state.login_throttle
        throttle.succeeded("testclient", KEY)
        throttle.succeeded("testclient", "guess")
        assert sign_in(c, KEY, follow_redirects=False).status_code == 303


def test_waits_double_up_to_the_limit():
    from serve.dashboard.guard import LoginThrottle

    t = LoginThrottle(free=2, max_wait=10)
    waits = []
    for i in range(6):
        t.failed("1.2.3.4", f"k{i}", now=100.0)
        waits.append(t.wait("1.2.3.4", "other", now=100.0))
    assert waits == [0.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert t.wait("5.6.7.8", "k0", now=100.0) == 0.0  # the key k0 itself failed once
    t.succeeded("1.2.3.4", "x")
    assert t.wait("1.2.3.4", "x", now=100.0) == 0.0


def test_every_dashboard_response_carries_the_security_headers(signed):
    for path in ("/dashboard", "/dashboard/login", "/dashboard/static/app.css",
                 "/dashboard/dealers/NOPE"):
        response = signed.get(path, follow_redirects=False)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
    assert "content-security-policy" not in signed.get("/health").headers


@pytest.mark.parametrize(("code", "en", "zh"), [
    ("no_visits_in_90_days", "No rep visits recorded for this dealer in the last 90 days",
     "近90天没有该经销商的业务员拜访记录"),
    ("outside_training_range:orders_amount_12m", "outside the range the model learned from",
     "超出模型训练时见过的范围"),
])
def test_flags_read_as_words_in_both_languages(code, en, zh):
    from features.catalog import BY_NAME
    from serve.dashboard.i18n import flag_sentence
    assert en in flag_sentence(code, "en") and zh in flag_sentence(code, "zh")
    if code.startswith("outside"):
        feature = BY_NAME["orders_amount_12m"]
        assert flag_sentence(code, "en").startswith(feature.description_en)
        assert flag_sentence(code, "zh").startswith(feature.description_zh)
    for lang in ("en", "zh"):
        assert "_" not in flag_sentence(code, lang)  # no raw code left


def test_the_dealer_page_shows_its_flags_in_words(signed, served):
    import json
    _, new, _ = served
    flagged = [r for r in new.itertuples() if json.loads(r.flags)]
    assert flagged, "the served snapshot has flagged dealers (test_few_dealers_carry_a_flag)"
    row = flagged[0]
    html = signed.get(f"/dashboard/dealers/{row.dealer_id}?lang=zh").text
    section = html[html.index('id="flags"'):]
    section = section[:section.index("</section>")]
    assert "<code>" not in section and ("记录" in section or "范围" in section)


def test_a_bad_link_or_address_gets_a_page_not_json(signed):
    for lang, words in (("en", "cannot read: page (&#39;abc&#39;)"),
                        ("zh", "无法识别的参数：page (&#39;abc&#39;)")):
        response = signed.get(f"/dashboard?page=abc&lang={lang}")
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("text/html")
        assert words in response.text
        assert "content-security-policy" in response.headers
    missing = signed.get("/dashboard/no-such-page?lang=en")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "There is no page at /dashboard/no-such-page" in missing.text
    api = signed.get("/v1/risk?limit=abc")  # the API keeps answering in JSON
    assert api.status_code in (401, 422) and api.headers["content-type"].startswith(
        "application/json")


def test_overview_names_its_band_colours_and_says_which_snapshots_it_keeps(signed):
    html = signed.get("/dashboard/overview?lang=en").text
    assert html.count('class="legend band-legend"') == 2  # by region, by tier
    for band in ("low", "medium", "high", "critical"):
        assert re.search(rf'data-band="{band}"><svg[^>]*>.*?</svg> {band}</span>', html)
    kept = re.search(r'<p id="snapshots-kept">([^<]+)</p>', html)[1]
    assert re.fullmatch(r"(\d+) monthly snapshots kept, \d{4}-\d\d-01 to \d{4}-\d\d-01", kept) \
        or kept == "The only snapshot kept", kept


def test_dealer_page_tells_one_money_story(signed, served):
    from serve.dashboard.base import money as _money
    from serve.dashboard.base import pct as _pct
    _, new, _ = served
    row = new.iloc[0]
    for lang in ("en", "zh"):
        html = signed.get(f"/dashboard/dealers/{row['dealer_id']}?lang={lang}").text
        money = html[html.index('id="money"'):]
        money = money[:money.index("</section>")]
        for figure in ("forecast_expected", "expected_revenue_12m", "revenue_at_risk",
                       "orders_amount_12m", "forecast_p10", "forecast_p90"):
            assert _money(row[figure]) in money, figure
        assert f"{_pct(row['churn_probability'])} × {_money(row['expected_revenue_12m'])}" \
            in money
    # a lumpy dealer's mean above its p90 is said, not left to look like an error
    lumpy = new["forecast_expected"] > new["forecast_p90"]
    for _, r in pd.concat([new[lumpy].head(3), new[~lumpy].head(3)]).iterrows():
        html = signed.get(f"/dashboard/dealers/{r['dealer_id']}?lang=en").text
        assert ("orders in lumps" in html) == bool(r["forecast_expected"] > r["forecast_p90"])


def test_changes_read_in_points_without_a_negative_zero():
    from serve.dashboard.base import points as _points
    assert _points(0.051) == "+5 pts" and _points(-0.03) == "−3 pts"
    assert _points(-0.001) == "0 pts" and _points(0.004, "zh") == "0个百分点"
    assert _points(float("nan")) == "–"


@pytest.mark.parametrize("lang,heading,rules", [
    ("zh", "经销商风险看板：渠道经理使用指南", "当前启用的预警规则"),
    ("en", "The dealer risk dashboard: a guide for channel managers",
     "The alert rules in force"),
])
def test_the_guide_covers_every_page_in_the_readers_language(signed, served, lang, heading,
                                                              rules):
    settings, _, _ = served
    html = signed.get("/dashboard/guide", params={"lang": lang}).text
    assert f"<h1>{heading}</h1>" in html and rules in html
    # every page the header links to is explained, by its address
    nav = signed.get("/dashboard", params={"lang": lang}).text
    header = nav[nav.index('<header class="top">'):nav.index("</header>")]
    pages = set(re.findall(r'href="(/dashboard[^"?]*)"', header)) - {"/dashboard/guide"}
    assert pages >= {"/dashboard", "/dashboard/overview", "/dashboard/reps",
                     "/dashboard/support"}
    for page in pages:
        assert re.search(rf"[(（]{re.escape(page)}[)）/]", html), page  # "Worklist (/dashboard)"
    assert 'id="guide-link"' in header
    for rule in settings.alerts.rules:  # the rules in force, from the settings
        assert str(escape(rule.title_zh if lang == "zh" else rule.title_en)) in html


def test_the_guide_does_not_pass_raw_html_through(tmp_path, monkeypatch):
    from serve.dashboard import guide
    (tmp_path / "manager.en.md").write_text("# Guide\n\n<script>alert(1)</script>\n")
    monkeypatch.setattr(guide, "GUIDES", tmp_path)
    guide.guide_html.cache_clear()
    try:
        assert "<script>" not in guide.guide_html("en")
        assert "&lt;script&gt;" in guide.guide_html("en")
    finally:
        guide.guide_html.cache_clear()
