"""docs/features.md lists the catalog exactly as `dealer-risk catalog --markdown` prints it."""

from __future__ import annotations

from pathlib import Path

from serve.cli.report import catalog_markdown, catalog_rows


def test_docs_list_every_feature_as_the_catalog_command_prints_it():
    doc = (Path(__file__).parents[3] / "docs" / "features.md").read_text(encoding="utf-8")
    assert catalog_markdown(catalog_rows("en")) in doc
