"""The interactive API documentation at ``/docs`` (Swagger UI), served by the app itself.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, with an inline start script,
so they could not carry a Content-Security-Policy. Here Swagger UI's script and style
come from the pinned package ``fastapi-offline``, the start script is our own file, and
the page's CSP allows scripts, styles and requests from this origin only. ReDoc is not
served: its styling needs inline styles.
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_PAGE = """<!doctype html>
<html lang="nl">
<head>
<meta charset="utf-8">
<title>{title}: API-documentatie</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


def add_api_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` with its assets under ``/docs/assets``."""
    app.mount(ASSETS_URL, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets")
    page = _PAGE.format(
        title=escape(app.title), assets=ASSETS_URL, openapi=escape(app.openapi_url or "")
    )

    @app.get(DOCS_URL, include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_CSP})
