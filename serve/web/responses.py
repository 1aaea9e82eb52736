"""Responses both the API and the dashboard send: fast JSON (orjson turns NaN into null and
serializes numpy scalars) and CSV downloads."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse, Response

from serve.service.risk import CsvExport


class JSON(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def json_response(content: Any, status_code: int = 200) -> Response:
    """Skip response-model validation on the hot path: the documents are built from a
    validated snapshot; the response models document them in OpenAPI."""
    return JSON(content, status_code=status_code)


BOM = "\ufeff"


def csv_response(export: CsvExport) -> Response:
    """A table as a CSV download; the meta a JSON answer carries goes into headers
    (X-Dealer-Risk-As-Of, X-Dealer-Risk-Model-Versions). UTF-8 with a byte-order mark:
    Excel on Chinese Windows reads a CSV without one as GBK and shows the Chinese names
    and reasons as mojibake (pandas and csv readers opened as utf-8-sig skip it)."""
    return Response(BOM + export.text, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{export.filename}"',
        **{f"X-Dealer-Risk-{name}": value for name, value in export.meta.items()}})
