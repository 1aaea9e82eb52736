"""Exports from Chinese Excel: encodings, delimiters, quoting, and CSV vs Parquet parity."""

from __future__ import annotations

import pandas as pd
import pytest

from features.validation import load_data
from tests.features.conftest import DEALERS, ORDERS


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030"),
     ("utf-16", "utf-16")],
)
def test_encodings_are_detected_and_chinese_names_survive(folder, settings, encoding, expected):
    data = folder({"dealers.csv": DEALERS.encode(encoding)})
    loaded = load_data(data, settings)
    assert loaded.report.tables["dealers"].encoding == expected
    assert loaded.tables["dealers"]["name"].tolist() == ["上海鑫华橱柜", "成都佳居"]
    assert loaded.tables["dealers"]["region"].tolist() == ["华东", "西南"]


@pytest.mark.parametrize(("delimiter", "shown"), [(";", ";"), ("\t", "\t"), ("|", "|")])
def test_delimiters_are_detected(folder, settings, delimiter, shown):
    orders = ORDERS.replace(",", delimiter)
    loaded = load_data(folder({"orders.csv": orders}), settings)
    assert loaded.report.tables["orders"].delimiter == shown
    assert loaded.tables["orders"]["net_amount"].sum() == 8000.0


def test_quoted_fields_with_newlines_and_delimiters(folder, settings):
    dealers = DEALERS + 'D3,"杭州, 美家\n(二店)",华东,C,2022-05-01,杭州,showroom,R1,\n'
    loaded = load_data(folder({"dealers.csv": dealers}), settings)
    assert loaded.tables["dealers"]["name"].tolist()[-1] == "杭州, 美家\n(二店)"


def test_excel_date_and_number_styles(folder, settings):
    orders = (
        "order_id,dealer_id,order_date,product_category,quantity,net_amount\n"
        'O1,D1,2024/01/10,doors,1,"1,234.50"\n'
        "O2,D1,2024年2月3日,doors,1,¥99\n"
        "O3,D1,2024.03.04,doors,1,  12 \n"
        "O4,D1,2024-04-05 13:45:00,doors,1,1\n"
    )
    loaded = load_data(folder({"orders.csv": orders}), settings)
    orders = loaded.tables["orders"]
    assert orders["net_amount"].tolist() == [1234.5, 99.0, 12.0, 1.0]
    assert orders["order_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-10", "2024-02-03", "2024-03-04", "2024-04-05"]


def test_csv_and_parquet_give_identical_frames(folder, settings, tmp_path):
    tickets = (
        "ticket_id,dealer_id,opened_at,category,due_at,closed_at,escalated\n"
        "T1,D1,2024-01-02 09:00,order,2024-01-04 09:00,2024-01-05 10:00,是\n"
        "T2,D2,2024-03-02 10:30,design,2024-03-07 10:30,,false\n"
    )
    csv_dir = folder({"tickets.csv": tickets})
    parquet_dir = tmp_path / "parquet"
    parquet_dir.mkdir()
    for name in ("dealers", "orders", "tickets"):
        frame = pd.read_csv(csv_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        frame.to_parquet(parquet_dir / f"{name}.parquet")
    from_csv = load_data(csv_dir, settings).tables
    from_parquet = load_data(parquet_dir, settings).tables
    for name in ("dealers", "orders", "tickets"):
        pd.testing.assert_frame_equal(from_csv[name], from_parquet[name])
    assert from_csv["tickets"]["escalated"].tolist() == [True, False]


def test_typed_parquet_matches_text_csv(folder, settings, tmp_path):
    """A Parquet file with real date and number types loads to the same frame as the CSV."""
    csv_dir = folder()
    typed_dir = tmp_path / "typed"
    typed_dir.mkdir()
    dealers = pd.read_csv(csv_dir / "dealers.csv", dtype={"dealer_id": str},
                          parse_dates=["opened_on", "closed_on"])
    orders = pd.read_csv(csv_dir / "orders.csv", parse_dates=["order_date"])
    dealers.to_parquet(typed_dir / "dealers.parquet")
    orders.to_parquet(typed_dir / "orders.parquet")
    for name in ("dealers", "orders"):
        pd.testing.assert_frame_equal(load_data(csv_dir, settings).tables[name],
                                      load_data(typed_dir, settings).tables[name])


def test_excels_sep_hint_line_sets_the_delimiter(folder, settings):
    orders = "sep=;\n" + ORDERS.replace(",", ";")
    loaded = load_data(folder({"orders.csv": orders.encode("utf-8-sig")}), settings)
    assert loaded.report.tables["orders"].delimiter == ";"
    assert loaded.tables["orders"]["net_amount"].sum() == 8000.0


def test_a_repeated_header_is_refused_not_renamed(folder, settings):
    from features.reading import ContractError

    orders = ORDERS.replace("status", "order_id")
    with pytest.raises(ContractError, match="columns 'order_id' and 'order_id' are the same"):
        load_data(folder({"orders.csv": orders}), settings)
