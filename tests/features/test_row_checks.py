"""Row-level problems: the row goes to rejects with row number, reason, column, value, detail."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from features.contract import TABLES
from features.settings import ContractSettings
from features.validation import load_data, write_rejects
from tests.features.conftest import AS_OF, DEALERS, ORDERS

ORDER_HEADER = ORDERS.splitlines()[0]


def only_reject(loaded, table: str) -> dict:
    rejects = loaded.rejects[table]
    assert len(rejects) == 1, rejects
    return rejects.iloc[0][["row", "reason", "column", "value", "detail"]].to_dict()


def with_order(line: str) -> dict[str, str]:
    return {"orders.csv": ORDERS + line + "\n"}


@pytest.mark.parametrize(
    ("line", "reason", "column", "value", "detail"),
    [
        ("O9,D1,2024-02-30,doors,1,10,10,completed", "unparseable_date", "order_date",
         "2024-02-30", "order_date: '2024-02-30' is not a date (expected YYYY-MM-DD)"),
        ("O9,D1,2024-02-03,doors,1,12x,10,completed", "unparseable_number", "net_amount", "12x",
         "net_amount: '12x' is not a number"),
        ("O9,,2024-02-03,doors,1,10,10,completed", "missing_id", "dealer_id", "",
         "dealer_id: required value is empty"),
        ("O9,D1,2024-02-03,,1,10,10,completed", "missing_value", "product_category", "",
         "product_category: required value is empty"),
        ("O9,D7,2024-02-03,doors,1,10,10,completed", "unknown_dealer", "dealer_id", "D7",
         "dealer_id: 'D7' is not an accepted dealer (not in the dealers table)"),
        ("O9,D1,2024-07-02,doors,1,10,10,completed", "future_date", "order_date", "2024-07-02",
         "order_date: 2024-07-02 is after the data's as-of date 2024-07-01"),
        ("O9,D1,2024-02-03,doors,1,-10,-10,completed", "negative_amount_not_return",
         "net_amount", "-10", "net_amount: -10 is negative but quantity 1 is not a return"),
        ("O9,D1,2024-02-03,doors,-1,10,10,completed", "return_with_positive_amount",
         "net_amount", "10", "net_amount: 10 is positive on a return line (quantity -1)"),
        ("O9,D1,2024-02-03,doors,20000,10,10,completed", "absurd_quantity", "quantity", "20000",
         "quantity: 20000 is beyond the bound of 10000 units "
         "(settings: contract.max_abs_quantity)"),
    ],
)
def test_order_line_defects(folder, settings, line, reason, column, value, detail):
    loaded = load_data(folder(with_order(line)), settings)
    assert only_reject(loaded, "orders") == {
        "row": 4, "reason": reason, "column": column, "value": value, "detail": detail}
    assert loaded.report.tables["orders"].accepted == 3


def test_the_as_of_day_itself_is_not_future(folder, settings):
    loaded = load_data(folder(with_order("O9,D1,2024-07-01,doors,1,10,10,completed")), settings)
    assert loaded.rejects["orders"].empty


def test_a_return_line_is_accepted(folder, settings):
    loaded = load_data(folder(with_order("R1,D1,2024-02-03,doors,-1,-10,-12,completed")),
                       settings)
    assert loaded.report.tables["orders"].accepted == 4


def test_every_problem_of_a_row_is_in_its_detail(folder, settings):
    loaded = load_data(folder(with_order("O9,D7,2024-13-01,doors,1,abc,10,completed")), settings)
    reject = only_reject(loaded, "orders")
    assert reject["reason"] == "unparseable_date"
    assert reject["detail"] == (
        "order_date: '2024-13-01' is not a date (expected YYYY-MM-DD); "
        "net_amount: 'abc' is not a number; "
        "dealer_id: 'D7' is not an accepted dealer (not in the dealers table)")


def test_orders_of_a_rejected_dealer_point_to_its_row(folder, settings):
    dealers = DEALERS + "D3,坏日期,华东,C,2024-99-01,,,,\n"
    loaded = load_data(folder({"dealers.csv": dealers,
                               **with_order("O9,D3,2024-02-03,doors,1,10,10,completed")}),
                       settings)
    assert only_reject(loaded, "dealers")["reason"] == "unparseable_date"
    assert only_reject(loaded, "orders")["detail"] == (
        "dealer_id: 'D3' is not an accepted dealer (rejected in dealers, row 3)")


def test_dealer_closed_before_opened(folder, settings):
    dealers = DEALERS + "D3,关店,华东,C,2022-05-01,,,,2021-01-01\n"
    reject = only_reject(load_data(folder({"dealers.csv": dealers}), settings), "dealers")
    assert reject == {"row": 3, "reason": "closed_before_opened", "column": "closed_on",
                      "value": "2021-01-01",
                      "detail": "closed_on: 2021-01-01 is before opened_on 2022-05-01"}


def test_dealer_closing_after_as_of_is_accepted(folder, settings):
    dealers = DEALERS + "D3,合同到期,华东,C,2022-05-01,,,,2025-01-01\n"
    loaded = load_data(folder({"dealers.csv": dealers}), settings)
    assert loaded.rejects["dealers"].empty


TICKETS = "ticket_id,dealer_id,opened_at,category,due_at,closed_at,escalated\n"


@pytest.mark.parametrize(
    ("line", "reason", "column", "detail"),
    [
        ("T2,D1,2024-03-02 10:00,order,2024-03-04 10:00,2024-03-01 09:00,0",
         "closed_before_opened", "closed_at",
         "closed_at: 2024-03-01 09:00 is before opened_at 2024-03-02 10:00"),
        ("T2,D1,2024-03-02 10:00,order,2024-03-01 10:00,,0", "due_before_opened", "due_at",
         "due_at: 2024-03-01 10:00 is before opened_at 2024-03-02 10:00"),
        ("T2,D1,2024-03-02 10:00,order,2024-03-04 10:00,,maybe", "unparseable_boolean",
         "escalated", "escalated: 'maybe' is not yes/no (expected 1/0, true/false, 是/否)"),
        ("T1,D1,2024-03-02 10:00,design,2024-03-04 10:00,,0", "duplicate_id", "ticket_id",
         "ticket_id: 'T1' was already used in row 1 with different values"),
        ("T2,D1,2024-03-02 10:00,order,2024-03-04 10:00,2024-08-01 10:00,0", "future_date",
         "closed_at", "closed_at: 2024-08-01 is after the data's as-of date 2024-07-01"),
    ],
)
def test_ticket_defects(folder, settings, line, reason, column, detail):
    tickets = TICKETS + "T1,D1,2024-01-02 09:00,order,2024-01-04 09:00,2024-01-03 10:00,1\n"
    loaded = load_data(folder({"tickets.csv": tickets + line + "\n"}), settings)
    reject = only_reject(loaded, "tickets")
    assert (reject["row"], reject["reason"], reject["column"], reject["detail"]) == (
        2, reason, column, detail)


def test_a_deadline_after_as_of_is_fine(folder, settings):
    tickets = TICKETS + "T1,D1,2024-06-30 09:00,order,2024-07-05 09:00,,\n"
    loaded = load_data(folder({"tickets.csv": tickets}), settings)
    assert loaded.rejects["tickets"].empty
    assert loaded.tables["tickets"]["escalated"].isna().all()


COMPLAINTS = "complaint_id,dealer_id,received_on,category,severity,resolved_on\n"


@pytest.mark.parametrize(
    ("line", "reason", "detail"),
    [
        ("C2,D1,2024-03-02,quality,5,", "bad_severity", "severity: 5 is not 1, 2 or 3"),
        ("C2,D1,2024-03-02,quality,1.5,", "unparseable_number",
         "severity: '1.5' is not a whole number"),
        ("C2,D1,2024-03-02,味道,1,", "unknown_category",
         "category: '味道' is not one of quality, installation, delivery, service, packaging, "
         "other"),
        ("C2,D1,2024-03-02,quality,1,2024-03-01", "resolved_before_received",
         "resolved_on: 2024-03-01 is before received_on 2024-03-02"),
    ],
)
def test_complaint_defects(folder, settings, line, reason, detail):
    complaints = COMPLAINTS + "C1,D1,2024-01-02,installation,2,2024-01-09\n"
    loaded = load_data(folder({"complaints.csv": complaints + line + "\n"}), settings)
    reject = only_reject(loaded, "complaints")
    assert (reject["reason"], reject["detail"]) == (reason, detail)


def test_chinese_complaint_categories_are_understood(folder, settings):
    complaints = COMPLAINTS + "C1,D1,2024-01-02,质量,2,\nC2,D2,2024-01-03,安装,1,\n"
    loaded = load_data(folder({"complaints.csv": complaints}), settings)
    assert loaded.tables["complaints"]["category"].tolist() == ["quality", "installation"]


def test_visits_and_deliveries_for_unknown_dealers(folder, settings):
    loaded = load_data(folder({
        "visits.csv": "visit_id,dealer_id,visited_on,kind\nV1,D1,2024-01-02,visit\n"
                      "V2,DX,2024-01-03,call\n",
        "deliveries.csv": "delivery_id,dealer_id,promised_on,delivered_on,damaged\n"
                          "L1,DX,2024-01-02,,\nL2,D2,2024-08-01,,no\n",
    }), settings)
    assert only_reject(loaded, "visits")["reason"] == "unknown_dealer"
    assert only_reject(loaded, "deliveries")["reason"] == "unknown_dealer"
    # a promised day after as-of is a plan, not an error
    assert loaded.tables["deliveries"]["damaged"].tolist() == [False]


def test_malformed_records_are_rejected_with_their_row(folder, settings):
    orders = ORDERS + "O9,D1,2024-02-03,doors,1,10,10,completed,EXTRA\n" + \
        "O10,D2,2024-02-04,doors,1,10,10,completed\n"
    loaded = load_data(folder({"orders.csv": orders}), settings)
    reject = only_reject(loaded, "orders")
    assert (reject["row"], reject["reason"]) == (4, "malformed_record")
    assert reject["detail"] == "record does not have the header's 8 fields"
    assert loaded.report.tables["orders"].accepted == 4
    assert loaded.report.tables["orders"].balanced


def test_a_reused_id_after_a_malformed_record_names_the_right_rows(folder, settings):
    """Row numbers count the file's records, malformed ones included; the reuse check
    counts the records it read: both must line up."""
    tickets = (TICKETS
               + "T1,D1,2024-01-02 09:00,order,2024-01-04 09:00,2024-01-03 10:00,1\n"
               + "T2,D1,2024-01-05 09:00,order,2024-01-06 09:00,,1,EXTRA\n"
               + "T3,D2,2024-01-07 09:00,design,2024-01-09 09:00,,0\n"
               + "T1,D2,2024-02-01 09:00,design,2024-02-03 09:00,,0\n")
    loaded = load_data(folder({"tickets.csv": tickets}), settings)
    rejects = loaded.rejects["tickets"].set_index("row")
    assert rejects.loc[2, "reason"] == "malformed_record"
    assert rejects.loc[4, "reason"] == "duplicate_id"
    assert rejects.loc[4, "detail"].endswith("was already used in row 1 with different values")
    assert loaded.tables["tickets"]["ticket_id"].tolist() == ["T1", "T3"]


def test_exact_duplicates_are_dropped_and_cancelled_lines_excluded(folder, settings):
    lines = ORDERS.splitlines()
    orders = "\n".join([*lines, lines[1], lines[1],
                        "O7,D2,2024-03-01,doors,1,10,10,Cancelled",
                        "O8,D2,2024-03-01,doors,1,10,10,已取消"]) + "\n"
    report = load_data(folder({"orders.csv": orders}), settings).report.tables["orders"]
    assert (report.rows_read, report.accepted, report.duplicates, report.cancelled,
            report.rejected) == (7, 3, 2, 2, 0)
    assert report.balanced


def test_absent_optional_tables_and_columns_are_reported(folder, settings):
    orders = "order_id,dealer_id,order_date,product_category,quantity,net_amount,color\n" \
             "O1,D1,2024-01-10,doors,1,10,red\n"
    loaded = load_data(folder({"orders.csv": orders}), settings)
    report = loaded.report
    assert report.absent_tables == ["tickets", "complaints", "deliveries", "visits", "programs"]
    assert report.tables["orders"].ignored_columns == ["color"]
    assert report.tables["orders"].absent_optional_columns == ["sku", "list_amount", "status"]
    assert loaded.tables["orders"]["list_amount"].isna().all()
    assert list(loaded.tables["orders"].columns) == list(TABLES["orders"].column_names)


def test_rejects_file_keeps_original_values(folder, settings, tmp_path):
    loaded = load_data(folder(with_order("O9,D1,2024-02-30,门,1,10,10,completed")), settings)
    written = write_rejects(loaded.rejects, tmp_path / "work")
    frame = pd.read_csv(written["orders"], dtype=str, encoding="utf-8-sig")
    assert frame.loc[0, ["row", "reason", "order_date", "product_category"]].tolist() == [
        "4", "unparseable_date", "2024-02-30", "门"]
    # a later clean run removes the stale file
    write_rejects(load_data(folder(), settings).rejects, tmp_path / "work")
    assert not (tmp_path / "work" / "rejects" / "orders.csv").exists()


GOOD = "O{i},D1,2024-01-{d:02d},doors,1,10,10,completed"
BAD = [
    "O{i},D1,2024-02-30,doors,1,10,10,completed",
    "O{i},DX,2024-01-{d:02d},doors,1,10,10,completed",
    "O{i},D1,2024-01-{d:02d},doors,1,-10,-10,completed",
    "O{i},D1,2024-01-{d:02d},doors,1,10,10,cancelled",
    "O1,D1,2024-01-10,cabinets,2,5000,6000,completed",  # duplicate of the first base line
    "O{i},D1,2024-01-{d:02d},doors,1,10,10,completed,extra",
    "O{i},,2024-01-{d:02d},doors,1,10,10,completed",
]


@hsettings(max_examples=40, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=-1, max_value=len(BAD) - 1), min_size=1, max_size=40))
def test_nothing_is_lost_on_messy_input(tmp_path_factory, kinds):
    data = tmp_path_factory.mktemp("messy")
    (data / "dealers.csv").write_text(DEALERS, encoding="utf-8")
    lines = [(GOOD if k < 0 else BAD[k]).format(i=i, d=i % 28 + 1) for i, k in enumerate(kinds)]
    (data / "orders.csv").write_text(ORDERS + "\n".join(lines) + "\n", encoding="utf-8")
    report = load_data(data, ContractSettings(as_of=AS_OF)).report.tables["orders"]
    assert report.rows_read == 3 + len(kinds)
    assert report.balanced
    assert report.accepted == 3 + sum(k < 0 for k in kinds)


def test_dealers_without_orders_and_orders_per_dealer(folder, settings):
    dealers = DEALERS + "D3,没有订单,华东,C,2022-05-01,,,,\n"
    report = load_data(folder({"dealers.csv": dealers}), settings).report
    assert report.dealers_without_orders == 1
    assert report.orders_per_dealer == {"min": 1.0, "p25": 1.0, "median": 1.0, "p75": 1.0,
                                        "max": 1.0}


def test_a_table_whose_every_record_id_is_missing_rejects_each_row(folder, settings):
    visits = "visit_id,dealer_id,visited_on,kind,sales_rep_id\n,D1,2024-03-01,visit,R1\n"
    loaded = load_data(folder({"visits.csv": visits}), settings)
    assert list(loaded.rejects["visits"]["reason"]) == ["missing_id"]
    assert loaded.report.tables["visits"].accepted == 0


def test_a_table_with_nothing_to_reject_gets_the_rejects_frame_of_one_that_had(folder,
                                                                               settings):
    """Clean tables skip the rejects' pandas steps (a frame built once per set of columns):
    the frame is the one a rejected row would have come in, emptied, and each load gets
    its own, so changing one changes no later load."""
    clean = load_data(folder(with_order("O9,D1,2024-02-03,doors,1,10,10,completed")),
                      settings).rejects["orders"]
    dirty = load_data(folder(with_order("O9,D1,2024-02-30,doors,1,10,10,completed")),
                      settings).rejects["orders"]
    assert clean.empty and len(dirty) == 1
    pd.testing.assert_frame_equal(clean, dirty.iloc[:0])
    clean.loc[0] = "changed"
    again = load_data(folder(with_order("O9,D1,2024-02-03,doors,1,10,10,completed")),
                      settings).rejects["orders"]
    pd.testing.assert_frame_equal(again, dirty.iloc[:0])


@pytest.mark.parametrize("categorical", [True, False])
def test_each_row_gets_its_dealer_s_opening_day_as_a_map_would(categorical):
    """The opening-day lookup behind before_dealer_opened, per distinct id: the days
    Series.map gives, with NaT for a missing id, an unknown one and an unknown day."""
    from features.validation import _looked_up

    days = pd.Series(pd.to_datetime(["2021-03-01", None, "2019-12-31"]).to_numpy(),
                     index=["D1", "D2", "D3"])
    ids = pd.Series(["D3", None, "D9", "D1", "D2", "D1"], index=[5, 6, 7, 8, 9, 10],
                    dtype="category" if categorical else "string")
    expected = pd.to_datetime(ids.map(days).astype(object), errors="coerce").astype(
        "datetime64[ns]")
    pd.testing.assert_series_equal(_looked_up(days, ids), expected, check_names=False)
    assert _looked_up(days.iloc[:0], ids).isna().all()
