"""Every conversion that changes a cell's text is kept and reported as a notice (count,
columns, examples: row, as written, as read), and one clock governs every time."""

from __future__ import annotations

import pandas as pd
import pytest

from features.coercion import coerce
from features.contract import Kind
from features.settings import ContractSettings
from features.validation import load_data
from tests.features.conftest import AS_OF

MESSY_DEALERS = (
    "dealer_id,name,region,tier,opened_on\n"
    " D1 ,上海鑫华橱柜,华东,A,2020/01/15\n"
    "D2,成都佳居,西南,B,2021年3月1日\n"
    "D3,杭州家居,华东,B,2021-3-1\n"
)
MESSY_ORDERS = (
    "order_id,dealer_id,order_date,product_category,quantity,net_amount\n"
    "O1,D1,20240110,cabinets,2,\"¥5,000.00\"\n"
    "O2,D2,2024.2.3,wardrobes,1,\"2,100\"\n"
    "O3,D2,2024-02-03 15:00,wardrobes,1,100\n"
    "O4,D3,2024-02-03,doors,1,￥80\n"
)
TICKETS = (
    "ticket_id,dealer_id,opened_at,category,due_at,closed_at\n"
    "T1,D1,2024-03-01 10:00,order,2024-03-02 10:00,2024-03-01T02:30:00Z\n"
    "T2,D1,2024-03-01T10:00+08:00,order,2024-03-02 10:00:00.5,\n"
    "T3,D1,2024-03-01T03:00:00+01:00,design,2024-03-02 10:00,\n"
)
COMPLAINTS = (
    "complaint_id,dealer_id,received_on,category,severity\n"
    "C1,D1,2024-03-01,质量,2\n"
    "C2,D1,2024-03-01,Quality,1\n"
    "C3,D1,2024-03-01,delivery,1\n"
)


@pytest.fixture
def messy(folder, settings):
    return load_data(folder({"dealers.csv": MESSY_DEALERS, "orders.csv": MESSY_ORDERS,
                             "tickets.csv": TICKETS, "complaints.csv": COMPLAINTS}), settings)


def notices(loaded, table: str) -> dict:
    return loaded.report.tables[table].notices


def test_every_conversion_is_kept_and_named_with_its_rows(messy):
    assert messy.report.total_rejected == 0
    dealers = notices(messy, "dealers")
    assert dealers["trimmed"]["examples"] == [
        {"row": 1, "column": "dealer_id", "before": " D1 ", "after": "D1"}]
    assert dealers["date_form"]["count"] == 3
    assert [(e["before"], e["after"]) for e in dealers["date_form"]["examples"]] == [
        ("2020/01/15", "2020-01-15"), ("2021年3月1日", "2021-03-01"), ("2021-3-1", "2021-03-01")]
    orders = notices(messy, "orders")
    assert {k: v["count"] for k, v in orders.items()} == {
        "integer_date": 1, "date_form": 1, "time_dropped": 1, "currency_or_separators": 3}
    assert [(e["row"], e["before"], e["after"])
            for e in orders["currency_or_separators"]["examples"]] == [
        (1, "¥5,000.00", "5000"), (2, "2,100", "2100"), (4, "￥80", "80")]
    assert orders["integer_date"]["examples"][0]["after"] == "2024-01-10"
    assert orders["time_dropped"]["examples"][0] == {
        "row": 3, "column": "order_date", "before": "2024-02-03 15:00", "after": "2024-02-03"}
    complaints = notices(messy, "complaints")
    assert complaints["category_alias"]["count"] == 2  # "delivery" needs no alias
    assert [e["before"] for e in complaints["category_alias"]["examples"]] == ["质量",
                                                                                "Quality"]
    assert set(messy.tables["complaints"]["category"]) == {"quality", "delivery"}


def test_one_clock_the_same_moment_written_three_ways_lands_on_one_time(messy):
    """10:00 in Shanghai, 02:00Z and 03:00+01:00 are one moment: with offsets converted
    into contract.timezone (not to UTC) they agree with the plain local time."""
    tickets = messy.tables["tickets"].set_index("ticket_id")
    assert set(tickets["opened_at"]) == {pd.Timestamp("2024-03-01 10:00")}
    assert tickets.loc["T1", "closed_at"] == pd.Timestamp("2024-03-01 10:30")
    assert tickets.loc["T2", "due_at"] == pd.Timestamp("2024-03-02 10:00:00.5")
    note = notices(messy, "tickets")["time_zone"]
    assert note["count"] == 3 and note["columns"] == {"opened_at": 2, "closed_at": 1}
    assert "Asia/Shanghai (contract.timezone)" in note["detail"]


def test_the_contract_timezone_is_a_setting(folder):
    loaded = load_data(folder({"tickets.csv": TICKETS}),
                       ContractSettings(as_of=AS_OF, timezone="UTC"))
    opened = loaded.tables["tickets"].set_index("ticket_id")["opened_at"]
    assert opened["T2"] == opened["T3"] == pd.Timestamp("2024-03-01 02:00")
    # T1 opened at a plain 10:00 (taken as written) and closed at 02:30Z, which in UTC
    # is before it opened
    assert loaded.rejects["tickets"][["row", "reason"]].values.tolist() == [
        [1, "closed_before_opened"]]
    with pytest.raises(ValueError, match="'Mars/Olympus' is not a time zone name"):
        ContractSettings(timezone="Mars/Olympus")


@pytest.mark.parametrize("text", ["02/28/2021", "28/02/2021", "28.02.2021", "21-02-28",
                                  "44197", "2021-02-30", "2021年2月"])
def test_ambiguous_or_impossible_dates_are_rejected_not_guessed(text):
    typed, bad, converted = coerce(pd.Series([text], dtype="string"), Kind.DATE)
    assert bool(bad.iloc[0]) and pd.isna(typed.iloc[0]) and converted == {}


def test_parquet_integer_dates_aware_times_and_float_ids(folder, settings, tmp_path):
    data = folder()
    pd.DataFrame({
        "ticket_id": [1.0, 2.0], "dealer_id": ["D1", "D1"],
        "opened_at": pd.to_datetime(["2024-03-01 02:00", "2024-03-01 03:00"]).tz_localize(
            "UTC"),
        "category": ["order", "design"],
        "due_at": pd.to_datetime(["2024-03-02 10:00", "2024-03-02 10:00"]),
    }).to_parquet(data / "tickets.parquet")
    pd.DataFrame({"complaint_id": ["C1"], "dealer_id": ["D1"], "received_on": [20240301],
                  "category": ["quality"], "severity": [2]}).to_parquet(
        data / "complaints.parquet")
    loaded = load_data(data, settings)
    tickets = loaded.tables["tickets"]
    assert list(tickets["ticket_id"]) == ["1", "2"]
    assert list(tickets["opened_at"]) == [pd.Timestamp("2024-03-01 10:00"),
                                          pd.Timestamp("2024-03-01 11:00")]
    tnotes = notices(loaded, "tickets")
    assert tnotes["id_from_number"]["count"] == 2 and tnotes["time_zone"]["count"] == 2
    assert tnotes["time_zone"]["examples"][0]["before"] == "2024-03-01 02:00:00+00:00"
    assert loaded.tables["complaints"]["received_on"].iloc[0] == pd.Timestamp("2024-03-01")
    assert notices(loaded, "complaints")["integer_date"]["examples"] == [
        {"row": 1, "column": "received_on", "before": "20240301", "after": "2024-03-01"}]


def test_clean_data_has_no_notices(folder, settings):
    loaded = load_data(folder(), settings)
    assert all(not t.notices for t in loaded.report.tables.values())


def test_a_large_text_date_column_is_parsed_per_distinct_day():
    """Above 10,000 cells the days are parsed once each: same values, same notices."""
    days = pd.Series(["2024/01/0" + str(1 + i % 9) for i in range(12_000)] + ["bad", ""],
                     dtype="str")
    big = coerce(days, Kind.DATE)
    small = pd.concat([coerce(days.iloc[i:i + 5000], Kind.DATE).values
                       for i in range(0, len(days), 5000)])
    pd.testing.assert_series_equal(big.values, small)
    assert big.unreadable.tolist() == [False] * 12_000 + [True, False]
    assert int(big.converted["date_form"].sum()) == 12_000


CELLS = ["D1", "上海鑫华橱柜", None, "D 1", " D1", "D1\u3000", "", "   ", "\x1cD1", "D1\t",
         "2024-03-01", "2024-03-01 10:00:00", "2024/3/1", "20240301", "1,200", "¥80", "12",
         "true", "是", "ab\u00a0"]


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("cells", [CELLS[:3] + CELLS[10:12], CELLS[:3], *[
    [c, "D2", None] for c in CELLS[3:]]], ids=repr)
def test_small_columns_of_plain_text_coerce_as_the_vectorised_steps_do(monkeypatch, kind,
                                                                        cells):
    """A small column whose cells need no trimming skips the vectorised steps: the same
    values, dtype, unreadable cells, conversions and blanks as those steps give."""
    import features.coercion as coercion

    for dtype in ("str", "object"):
        column = pd.Series(cells, dtype=dtype, index=[3, 1, *range(5, 5 + len(cells) - 2)])
        fast, fast_blank = coerce(column, kind), coercion.is_blank(column)
        with monkeypatch.context() as m:
            m.setattr(coercion, "_SMALL", -1)
            slow, slow_blank = coerce(column, kind), coercion.is_blank(column)
        pd.testing.assert_series_equal(fast.values, slow.values)
        pd.testing.assert_series_equal(fast.unreadable, slow.unreadable)
        assert fast.converted.keys() == slow.converted.keys()
        for name, mask in fast.converted.items():
            pd.testing.assert_series_equal(mask, slow.converted[name])
        # a mask either way (numpy's bool or Arrow's: every caller reads it as booleans)
        pd.testing.assert_series_equal(fast_blank.astype(bool), slow_blank.astype(bool))
