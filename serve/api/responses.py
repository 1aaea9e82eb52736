"""Fast JSON: orjson turns NaN into null and serializes numpy scalars."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse, Response


class JSON(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def json_response(content: Any, status_code: int = 200) -> Response:
    """Skip response-model validation on the hot path: the documents are built from a
    validated snapshot; the response models document them in OpenAPI."""
    return JSON(content, status_code=status_code)
