"""The CSV exports: column names for programs by default, labels in the page's language
for a spreadsheet (header=labels, which the dashboard's exports use), every column
labelled, with the byte-order mark Excel needs either way."""

from __future__ import annotations

import csv
import io

import pytest

from serve.service.headers import COLUMN_LABELS
from tests.serve.conftest import READER, sign_in

EXPORTS = {
    "risk": ("/v1/risk", {}),
    "reps": ("/v1/reps", {}),
    "plan": ("/v1/plan", {"budget": 200_000, "include_uncertain": "true"}),
}


def header_row(text: str) -> list[str]:
    assert text.startswith("\ufeff")  # Excel on Chinese Windows reads UTF-8 only with it
    return next(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


@pytest.mark.parametrize("export", list(EXPORTS))
def test_labels_in_either_language_cover_every_column(client, export):
    path, params = EXPORTS[export]
    names = header_row(client.get(path, params={**params, "format": "csv"},
                                  headers=READER).text)
    assert names and all(n in COLUMN_LABELS for n in names), \
        [n for n in names if n not in COLUMN_LABELS]
    for lang, at in (("zh", 1), ("en", 0)):
        got = client.get(path, params={**params, "format": "csv", "header": "labels",
                                       "lang": lang}, headers=READER)
        assert got.status_code == 200
        assert header_row(got.text) == [COLUMN_LABELS[n][at] for n in names]
    assert client.get(path, params={**params, "format": "csv", "header": "pretty"},
                      headers=READER).status_code == 422


def test_labels_are_distinct_so_no_column_hides_another():
    for at in (0, 1):
        labels = [v[at] for v in COLUMN_LABELS.values()]
        assert len(labels) == len(set(labels))


def test_the_dashboards_exports_are_headed_in_the_pages_language(served):
    from fastapi.testclient import TestClient

    from serve.app import create_app
    settings, _, _ = served
    with TestClient(create_app(settings)) as browser:
        sign_in(browser, READER["X-API-Key"])
        zh = browser.get("/dashboard/export.csv", params={"lang": "zh"}).text
        assert header_row(zh)[:3] == ["经销商编号", "经销商名称", "区域"]
        reps = browser.get("/dashboard/reps", params={"lang": "zh"}).text
        assert "/v1/reps?format=csv&amp;header=labels&amp;lang=zh" in reps
