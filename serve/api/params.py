"""Query parameters several routes share, defined once."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query

from serve.service.headers import Header as CsvHeader

CsvHeaderQuery = Annotated[CsvHeader, Query(
    description="csv only: `columns` (default) heads each column with its name, stable for "
    "programs; `labels` with its label in `lang`, for a spreadsheet (the dashboard's "
    "exports)")]
CsvLang = Annotated[Literal["en", "zh"] | None, Query(
    description="Language of the csv's labels (header=labels); default from "
    "Accept-Language")]
