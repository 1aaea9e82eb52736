"""Tiny hand-made data folders: every test states exactly what is in its files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from features.settings import ContractSettings
from tests.models.conftest import network  # noqa: F401  (the small simulated network)

AS_OF = date(2024, 7, 1)
DEALERS = (
    "dealer_id,name,region,tier,opened_on,city,channel,sales_rep_id,closed_on\n"
    "D1,上海鑫华橱柜,华东,A,2020-01-15,上海,showroom,R1,\n"
    "D2,成都佳居,西南,B,2021-03-01,成都,online,R2,\n"
)
ORDERS = (
    "order_id,dealer_id,order_date,product_category,quantity,net_amount,list_amount,status\n"
    "O1,D1,2024-01-10,cabinets,2,5000,6000,completed\n"
    "O1,D1,2024-01-10,hardware,10,900,1000,completed\n"
    "O2,D2,2024-02-03,wardrobes,1,2100,2500,completed\n"
)


@pytest.fixture
def settings() -> ContractSettings:
    return ContractSettings(as_of=AS_OF)


@pytest.fixture
def folder(tmp_path: Path):
    """A function writing named CSV texts into a fresh data folder, which it returns."""
    data = tmp_path / "data"
    data.mkdir()

    def write(tables: dict[str, str | bytes] | None = None, *, base: bool = True) -> Path:
        files: dict[str, str | bytes] = (
            {"dealers.csv": DEALERS, "orders.csv": ORDERS} if base else {})
        files.update(tables or {})
        for name, content in files.items():
            path = data / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return data

    return write
