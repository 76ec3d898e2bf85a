"""The API documentation at /docs through a real server: Swagger UI from the app's own
origin under a Content-Security-Policy, no CDN, no ReDoc, and off with a setting; and,
in a real headless Chromium with that CSP enforced, rendered without a violation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.conftest import CORPUS, make_settings
from tests.test_api import server_env, start_server, stop

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with its defaults; the docs need no index."""
    settings = make_settings(tmp_path_factory.mktemp("docs"), CORPUS)
    process, base = start_server(server_env(settings))
    yield base
    stop(process)


def policy(header: str) -> dict[str, list[str]]:
    """A CSP header as directive -> sources."""
    parts = (part.split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


def test_docs_load_only_same_origin_assets_under_a_csp(server: str) -> None:
    page = httpx.get(f"{server}/docs")
    assert page.status_code == 200
    html = page.text
    assert "cdn" not in html.lower()
    assert not re.search(r"https?:|//", html), "no absolute or protocol-relative URL"
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "no inline script"
    assert "<style" not in html and "style=" not in html, "no inline style"

    csp = policy(page.headers["content-security-policy"])
    assert csp["default-src"] == ["'none'"]
    for directive in ("script-src", "style-src", "connect-src"):
        assert csp[directive] == ["'self'"], directive
    assert csp["img-src"] == ["'self'", "data:"]  # Swagger UI's icons are data: URIs
    assert csp["frame-ancestors"] == ["'none'"]

    referenced = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    scripts = [url for url in referenced if url.endswith(".js")]
    styles = [url for url in referenced if url.endswith(".css")]
    assert len(scripts) == 2 and len(styles) == 1, referenced
    for url in referenced:
        absolute = urljoin(f"{server}/docs", url)
        assert urlsplit(absolute).netloc == urlsplit(server).netloc, url
        asset = httpx.get(absolute)
        assert asset.status_code == 200, url
        assert "content-security-policy" in asset.headers, url
        if url in scripts:
            assert "javascript" in asset.headers["content-type"], url
        if url in styles:
            assert asset.headers["content-type"].startswith("text/css"), url
    bundle = httpx.get(urljoin(server, scripts[0])).text
    assert "SwaggerUIBundle" in bundle and len(bundle) > 500_000
    starter = httpx.get(urljoin(server, scripts[1])).text
    assert "queryConfigEnabled: false" in starter  # no ?url= to another API description

    openapi = re.search(r'data-openapi="([^"]+)"', html)
    assert openapi and openapi.group(1) == "/openapi.json"
    spec = httpx.get(f"{server}/openapi.json")
    assert spec.status_code == 200 and "/api/search" in spec.json()["paths"]
    # FastAPI's own pages (CDN, inline script) are not served
    assert httpx.get(f"{server}/redoc").status_code == 404
    assert httpx.get(f"{server}/docs/oauth2-redirect").status_code == 404


def test_docs_can_be_turned_off(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, CORPUS)
    process, base = start_server(server_env(settings, WEGWIJZER_API_DOCS="false"))
    try:
        docs = httpx.get(f"{base}/docs")
        asset = httpx.get(f"{base}/docs/assets/swagger-ui-bundle.js")
        spec = httpx.get(f"{base}/openapi.json")
    finally:
        stop(process)
    assert docs.status_code == 404
    assert asset.status_code == 404
    assert spec.status_code == 200 and "/api/search" in spec.json()["paths"]


@pytest.mark.browser
def test_swagger_ui_renders_with_its_csp_enforced(server: str) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: `make test` installs the Debian package chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()  # the page's CSP is enforced: no bypass_csp
            page.add_init_script(
                "window.__violations = []; document.addEventListener("
                "'securitypolicyviolation', e => window.__violations.push("
                "e.violatedDirective + ' ' + e.blockedURI));"
            )
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "console",
                lambda message: problems.append(message.text) if message.type == "error" else None,
            )
            outside: list[str] = []
            page.on(
                "request",
                lambda request: (
                    outside.append(request.url)
                    if urlsplit(request.url).scheme in ("http", "https")
                    and urlsplit(request.url).netloc != urlsplit(server).netloc
                    else None
                ),
            )
            page.goto(f"{server}/docs")
            search = page.locator(".opblock-summary-path", has_text="/api/search").first
            search.wait_for(timeout=30_000)
            search.click()  # the operation's details: its schemas, selects and examples
            page.locator(".opblock-body select").first.wait_for(timeout=30_000)
            # "Try it out" on the health check: a request to this origin (connect-src)
            health = page.locator(
                ".opblock", has=page.locator(".opblock-summary-path", has_text="/api/health")
            )
            health.locator(".opblock-summary").click()
            health.locator("button.try-out__btn").click()
            health.locator("button.execute").click()
            status = health.locator(".live-responses-table tbody .response-col_status").first
            status.wait_for(timeout=30_000)
            answered = status.inner_text()
            title = page.locator(".info .title").inner_text()
            violations = page.evaluate("() => window.__violations || []")
        finally:
            browser.close()
    assert "AI-wegwijzer" in title
    assert answered.strip() == "200"
    assert not problems, problems  # a CSP violation is a console error
    assert not outside, outside
    assert violations == []
