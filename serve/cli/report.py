"""Rendering the validation report for people (rich tables) and machines (JSON)."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from features.catalog import CATALOG
from features.validation import ValidationReport


def report_json(report: ValidationReport, rejects_dir: str | None) -> str:
    data = report.to_dict()
    data["rejects_dir"] = rejects_dir
    return json.dumps(data, ensure_ascii=False, indent=2)


def print_report(report: ValidationReport, console: Console, rejects_dir: str | None) -> None:
    console.print(f"[bold]Data folder[/bold] {report.data_dir}   [bold]as of[/bold] {report.as_of}")
    table = Table(title="Tables", show_lines=False)
    numeric = ("read", "accepted", "rejected", "dup.", "cancel.")
    for col in ("table", *numeric, "sum ok", "first .. last"):
        table.add_column(col, justify="right" if col in numeric else "left")
    for t in report.tables.values():
        dates = f"{t.date_min} .. {t.date_max}" if t.date_min else "-"
        table.add_row(
            t.table, f"{t.rows_read:,}", f"{t.accepted:,}", f"{t.rejected:,}",
            f"{t.duplicates:,}", f"{t.cancelled:,}", "yes" if t.balanced else "[red]NO[/red]",
            dates,
        )
    console.print(table)
    console.print("read = accepted + rejected + duplicates + cancelled ('sum ok')")
    for t in report.tables.values():
        fmt = t.file_format + (f", {t.encoding}" if t.encoding else "")
        if t.delimiter:
            fmt += ", tab-separated" if t.delimiter == "\t" else f", '{t.delimiter}'-separated"
        console.print(f"  {t.table}: {t.file} ({fmt}); dates from {t.date_column}",
                      highlight=False)
    if report.absent_tables:
        console.print("Optional tables absent (their features are left out): "
                      + ", ".join(report.absent_tables))
    if report.ignored_files:
        console.print("Files that are not contract tables (ignored): "
                      + ", ".join(report.ignored_files))
    for t in report.tables.values():
        if t.ignored_columns:
            console.print(f"{t.table}: columns not in the contract (ignored): "
                          + ", ".join(t.ignored_columns))
    reasons = Table(title="Rejected rows by reason")
    reasons.add_column("table")
    reasons.add_column("reason")
    reasons.add_column("rows", justify="right")
    for t in report.tables.values():
        for reason, count in sorted(t.rejected_by_reason.items()):
            reasons.add_row(t.table, reason, f"{count:,}")
    if reasons.row_count:
        console.print(reasons)
        console.print(f"Rejected rows, with row numbers and reasons, are in {rejects_dir}/")
    else:
        console.print("No rows rejected.")
    for t in report.tables.values():
        for kind, note in t.notices.items():
            rows = "row" if note["count"] == 1 else "rows"
            console.print(f"[yellow]notice[/yellow] {t.table}: {kind}: {note['count']:,} "
                          f"{rows} kept, e.g. {_examples(note)}. {note['detail']}",
                          highlight=False)
    q = report.orders_per_dealer
    if q:
        console.print(
            f"Orders per dealer: min {q['min']:.0f}, quartiles {q['p25']:.0f} / {q['median']:.0f}"
            f" / {q['p75']:.0f}, max {q['max']:.0f}; dealers without orders: "
            f"{report.dealers_without_orders:,}"
        )


def _examples(note: dict) -> str:
    """A notice's example rows: a conversion shows the cell as written and as read."""
    out = []
    for e in note["examples"]:
        if "before" in e:
            out.append(f"row {e['row']}: {e['column']} '{e['before']}' -> '{e['after']}'")
        else:
            out.append(f"row {e['row']}: {note['column']} {e['value']:g}"
                       + (f" ({e['product_category']})" if "product_category" in e else ""))
    return "; ".join(out)


def catalog_rows(lang: str) -> list[dict[str, str]]:
    return [{"name": f.name, "group": f.group, "unit": f.unit,
             "actionable": "yes" if f.actionable else "no", "needs": f.requires,
             "description": f.description_zh if lang == "zh" else f.description_en}
            for f in CATALOG]


def catalog_markdown(rows: list[dict[str, str]]) -> str:
    lines = ["| name | group | unit | actionable | needs | description |",
             "|---|---|---|---|---|---|"]
    lines += [f"| `{r['name']}` | {r['group']} | {r['unit']} | {r['actionable']} | "
              f"{r['needs']} | {r['description']} |" for r in rows]
    return "\n".join(lines) + "\n"
