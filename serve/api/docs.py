"""The API's reference: the OpenAPI document, Swagger UI at /docs and ReDoc at /redoc, with
their files from a package so they work on a closed network."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

DOCS_ASSETS = "/docs-assets"


def install_docs(app: FastAPI) -> None:
    """The OpenAPI document, Swagger UI at /docs and ReDoc at /redoc, with their scripts and
    styles served from the installed fastapi-offline package: no CDN, so the pages work on
    a closed network, and every route is a template of its own in /metrics."""
    assets = files("fastapi_offline") / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    plain_openapi = app.openapi

    def openapi_with_our_errors() -> dict:
        """FastAPI documents a 422 as a list of pydantic errors; ours is one sentence
        (`{"detail": "band: unknown value ..."}`): the schema says what is sent."""
        if app.openapi_schema is None:
            spec = plain_openapi()
            schemas = spec.get("components", {}).get("schemas", {})
            if "HTTPValidationError" in schemas:
                schemas["HTTPValidationError"] = {
                    "title": "Error", "type": "object", "required": ["detail"],
                    "properties": {"detail": {"type": "string", "title": "Detail",
                                              "description": "What is wrong, naming the "
                                              "parameter or field"}}}
                schemas.pop("ValidationError", None)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi_with_our_errors

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="dealer-risk API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title="dealer-risk API",
                              redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
                              redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
                              with_google_fonts=False)
