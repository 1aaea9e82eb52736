"""docs/data-contract.md describes features/contract.py: every table, column and reason."""

from __future__ import annotations

import re
from pathlib import Path

from features.coercion import CONVERSIONS
from features.contract import TABLES
from features.validation import REJECT_REASONS

DOC = (Path(__file__).parents[2] / "docs" / "data-contract.md").read_text(encoding="utf-8")


def test_every_table_and_column_is_documented_with_its_kind_and_requiredness():
    for table in TABLES.values():
        section = DOC.split(f"### {table.name} ")[1].split("###")[0]
        assert ("(required)" in section.splitlines()[0]) == table.required, table.name
        for col in table.columns:
            row = f"| {col.name} | {col.kind.value} | {'yes' if col.required else 'no'} |"
            assert row in section, row


def first_column_names(header: str) -> set[str]:
    """The backticked names in the first column of the table under `header`."""
    table = DOC.split(header)[1].split("\n\n")[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE))


def test_every_reject_reason_is_documented_and_nothing_else():
    assert first_column_names("| reason |") == REJECT_REASONS


def test_every_conversion_notice_is_documented_and_nothing_else():
    assert first_column_names("| notice |") == set(CONVERSIONS)


TEMPLATES = Path(__file__).parents[2] / "docs" / "templates"


def test_the_templates_have_every_column_and_validate_clean():
    """docs/templates/ (docs/your-data.md): each table's file has the contract's columns in
    order, and the folder passes validation with no reject and no notice."""
    from features.settings import ContractSettings
    from features.validation import load_data

    for table in TABLES.values():
        header = (TEMPLATES / f"{table.name}.csv").read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",") == list(table.column_names), table.name
    loaded = load_data(TEMPLATES, ContractSettings(as_of="2025-12-31"))
    report = loaded.report.to_dict()
    assert loaded.report.total_rejected == 0
    assert all(not t.get("notices") for t in report["tables"].values()), report
    assert report["tables"]["orders"]["cancelled"] == 1
