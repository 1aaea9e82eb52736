"""The lookup's ceiling for bench_api.py --lookup (issue 33): a bare FastAPI app returning
the same risk documents as precomputed dictionaries, through orjson (no keys, no state, no
cache): what FastAPI, uvicorn and the serialization alone cost per request here.

    BARE_DOCUMENTS=docs.json uvicorn benchmarks.bare_lookup:app --workers 2
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
from fastapi import FastAPI, HTTPException, Response

DOCUMENTS: dict[str, dict] = orjson.loads(Path(os.environ["BARE_DOCUMENTS"]).read_bytes())

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/v1/dealers/{dealer_id}/risk")
async def risk(dealer_id: str) -> Response:
    doc = DOCUMENTS.get(dealer_id)
    if doc is None:
        raise HTTPException(404)
    return Response(orjson.dumps(doc), media_type="application/json")
