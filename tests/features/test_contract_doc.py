"""docs/data-contract.md describes features/contract.py: every table, column and reason."""

from __future__ import annotations

import re
from pathlib import Path

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


def test_every_reject_reason_is_documented_and_nothing_else():
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", DOC, flags=re.MULTILINE))
    assert documented == REJECT_REASONS
