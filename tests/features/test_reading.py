"""Table-level problems stop the run with one clear message naming the file."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from features.reading import ContractError
from features.validation import load_data
from tests.features.conftest import DEALERS, ORDERS


def error_of(path, settings) -> str:
    with pytest.raises(ContractError) as info:
        load_data(path, settings)
    return str(info.value)


def test_a_valid_folder_loads_with_contract_types(folder, settings):
    loaded = load_data(folder(), settings)
    orders = loaded.tables["orders"]
    assert orders["order_date"].dtype == "datetime64[ns]"
    assert orders["net_amount"].tolist() == [5000.0, 900.0, 2100.0]
    assert orders["dealer_id"].tolist() == ["D1", "D1", "D2"]
    assert loaded.tables["dealers"]["closed_on"].isna().all()
    assert loaded.report.total_rejected == 0


def test_ids_stay_text_with_leading_zeros(folder, settings):
    dealers = DEALERS.replace("D1,", "00123,")
    orders = ORDERS.replace(",D1,", ",00123,")
    loaded = load_data(folder({"dealers.csv": dealers, "orders.csv": orders}), settings)
    assert set(loaded.tables["orders"]["dealer_id"]) == {"00123", "D2"}


def test_float_ids_from_parquet_become_integer_text(folder, settings):
    data = folder(base=False)
    pd.DataFrame({"dealer_id": [123.0, 7.0], "name": ["a", "b"], "region": ["华东"] * 2,
                  "tier": ["A", "B"], "opened_on": ["2020-01-01"] * 2}).to_parquet(
        data / "dealers.parquet")
    pd.DataFrame({"order_id": [1.0], "dealer_id": [123.0], "order_date": ["2024-01-01"],
                  "product_category": ["doors"], "quantity": [1], "net_amount": [10.0]}).to_parquet(
        data / "orders.parquet")
    loaded = load_data(data, settings)
    assert loaded.tables["dealers"]["dealer_id"].tolist() == ["123", "7"]
    assert loaded.tables["orders"]["order_id"].tolist() == ["1"]


def test_column_names_match_after_trimming_and_lower_casing(folder, settings):
    dealers = DEALERS.replace("dealer_id,name", " Dealer_ID , NAME ")
    loaded = load_data(folder({"dealers.csv": dealers}), settings)
    assert loaded.tables["dealers"]["dealer_id"].tolist() == ["D1", "D2"]


def test_misspelled_required_column_names_the_closest_column(folder, settings):
    orders = ORDERS.replace("order_date", "ordr_date")
    message = error_of(folder({"orders.csv": orders}), settings)
    assert message.endswith(
        "orders.csv: required column 'order_date' is missing; "
        "the closest column in the file is 'ordr_date'")


def test_missing_required_column_without_a_near_name_lists_the_columns(folder, settings):
    orders = "id,when\n1,2024-01-01\n"
    message = error_of(folder({"orders.csv": orders}), settings)
    assert "required column 'order_id' is missing (columns found: id, when)" in message


def test_missing_required_table_suggests_a_near_file_name(folder, settings):
    data = folder({"order.csv": ORDERS}, base=False)
    (data / "dealers.csv").write_text(DEALERS, encoding="utf-8")
    message = error_of(data, settings)
    assert message.endswith(
        "required table 'orders' is missing (expected orders.csv, orders.csv.gz or "
        "orders.parquet); did you mean 'order.csv'?")


def test_missing_folder(tmp_path, settings):
    assert error_of(tmp_path / "nope", settings).endswith("nope: data folder does not exist")


def test_a_file_given_as_folder(tmp_path, settings):
    path = tmp_path / "file.txt"
    path.write_text("x")
    assert error_of(path, settings).endswith("file.txt: is not a folder")


def test_empty_file(folder, settings):
    assert error_of(folder({"orders.csv": ""}), settings).endswith(
        "orders.csv: file is empty (0 bytes)")


def test_blank_file(folder, settings):
    assert error_of(folder({"orders.csv": "\n\n"}), settings).endswith(
        "orders.csv: file has no header row")


def test_header_only_required_table(folder, settings):
    header = ORDERS.splitlines()[0] + "\n"
    assert error_of(folder({"orders.csv": header}), settings).endswith(
        "orders.csv: required table 'orders' has no rows")


def test_header_only_optional_table_is_fine(folder, settings):
    loaded = load_data(folder({"visits.csv": "visit_id,dealer_id,visited_on,kind\n"}), settings)
    assert loaded.report.tables["visits"].rows_read == 0


def test_corrupt_parquet(folder, settings):
    data = folder({"orders.parquet": b"PAR1 this is not parquet"}, base=False)
    (data / "dealers.csv").write_text(DEALERS, encoding="utf-8")
    assert "orders.parquet: not a readable Parquet file" in error_of(data, settings)


def test_zero_byte_parquet(folder, settings):
    data = folder({"orders.parquet": b""}, base=False)
    (data / "dealers.csv").write_text(DEALERS, encoding="utf-8")
    assert error_of(data, settings).endswith("orders.parquet: file is empty (0 bytes)")


def test_corrupt_gzip(folder, settings):
    data = folder({"orders.csv.gz": b"\x1f\x8b\x08 truncated"}, base=False)
    (data / "dealers.csv").write_text(DEALERS, encoding="utf-8")
    assert "orders.csv.gz: not a readable gzip file" in error_of(data, settings)


def test_gzip_csv_loads(folder, settings):
    data = folder({"orders.csv.gz": gzip.compress(ORDERS.encode())}, base=False)
    (data / "dealers.csv").write_text(DEALERS, encoding="utf-8")
    assert load_data(data, settings).report.tables["orders"].file_format == "csv.gz"


def test_same_table_twice(folder, settings):
    data = folder()
    pd.read_csv(data / "orders.csv").to_parquet(data / "orders.parquet")
    assert "table 'orders' is given twice (orders.csv and orders.parquet); keep one" in error_of(
        data, settings)


def test_two_columns_that_normalize_to_one(folder, settings):
    dealers = DEALERS.replace("city,", "City ,").replace("name,", "name,CITY,", 1)
    dealers = "\n".join(
        line if i == 0 else line.replace("上海鑫华橱柜,", "上海鑫华橱柜,x,").replace(
            "成都佳居,", "成都佳居,y,") for i, line in enumerate(dealers.splitlines()))
    message = error_of(folder({"dealers.csv": dealers}), settings)
    assert "columns 'City ' and 'CITY' are the same column 'city'" in message or (
        "columns 'CITY' and 'City ' are the same column 'city'" in message)


def test_conflicting_duplicate_dealers_name_both_rows(folder, settings):
    dealers = DEALERS + "D1,另一个名字,华东,B,2020-01-15,上海,showroom,R1,\n"
    assert error_of(folder({"dealers.csv": dealers}), settings).endswith(
        "dealer_id 'D1' appears in rows 1 and 3 with different values; keep one row per dealer")


def test_undecodable_bytes(folder, settings):
    bad = ORDERS.encode() + b"O9,D1,2024-01-10,\xff\xfe\xfd\x80\x81,1,1,1,completed\n"
    message = error_of(folder({"orders.csv": bad}), settings)
    assert "cannot decode the text; save it as UTF-8 (or GBK/GB18030)" in message


def test_an_unreadable_path_is_a_clear_error(tmp_path):
    from features.contract import ORDERS as ORDERS_TABLE
    from features.reading import read_table

    with pytest.raises(ContractError) as info:
        read_table(ORDERS_TABLE, tmp_path)  # a folder where a file should be
    assert str(info.value) == f"{tmp_path}: cannot read the file (Is a directory)"


def test_nested_parquet_values_are_a_clear_error(folder, settings):
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = folder({"orders.csv": ""}, base=False)
    (data / "orders.csv").unlink()
    (data / "dealers.csv").write_text(DEALERS, encoding="utf-8")
    pq.write_table(pa.table({
        "order_id": ["O1"], "dealer_id": ["D1"], "order_date": ["2024-01-05"],
        "product_category": ["doors"], "quantity": [1.0], "net_amount": pa.array([[1.0]]),
    }), data / "orders.parquet")
    message = error_of(data, settings)
    assert "orders.parquet: column 'net_amount' holds nested values (list<" in message
    assert message.endswith("double>); expected one number per row")


def test_tables_in_memory_are_checked_as_the_same_rows_in_files(folder, settings):
    """load_frames (POST /v1/score's rows) accepts, converts and rejects exactly what
    load_data does with the same cells written to CSV files."""
    import io

    from features.validation import load_frames
    messy_orders = ORDERS + (
        "O3, D1 ,2024/03/05,cabinets,1,\"¥1,200\",1500,completed\n"  # padded id, forms
        "O4,D1,2024-13-01,cabinets,1,100,100,completed\n"            # no such month
        "O5,D9,2024-03-01,cabinets,1,100,100,completed\n"            # unknown dealer
        "O6,D2,2024-03-02 00:00:00,hardware,,50,,cancelled\n"        # cancelled, blanks
    )
    tickets = ("ticket_id,dealer_id,opened_at,category,due_at,closed_at,escalated\n"
               "T1,D1,2024-03-01 09:30:00,design,2024-03-03 09:30:00,,yes\n"
               "T2,D2,2024-03-05,order,2024-03-01,2024-03-06,0\n")      # due before opened
    files = load_data(folder({"orders.csv": messy_orders, "tickets.csv": tickets}), settings)

    def cells(text: str) -> pd.DataFrame:  # what a CRM posts: text, or None when blank
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        return frame.astype(object).where(frame != "", None)

    posted = load_frames({"dealers": cells(DEALERS), "orders": cells(messy_orders),
                          "tickets": cells(tickets).assign(escalated=[True, False])},
                         settings, as_of=settings.as_of)
    for name in ("dealers", "orders", "tickets"):
        pd.testing.assert_frame_equal(files.tables[name].reset_index(drop=True),
                                      posted.tables[name].reset_index(drop=True))
        pd.testing.assert_frame_equal(files.rejects[name][["row", "reason", "column"]],
                                      posted.rejects[name][["row", "reason", "column"]])
    assert set(posted.rejects["orders"]["reason"]) == {"unparseable_date", "unknown_dealer"}
    assert posted.rejects["tickets"]["reason"].tolist() == ["due_before_opened"]
    assert posted.report.tables["orders"].cancelled == 1
    assert posted.report.tables["orders"].notices == files.report.tables["orders"].notices
