"""The administrators' dashboard in a real headless Chromium against a real server with
API keys: asked for an admin key, refuses a user key, draws its charts from real
activity, and marks a reported problem handled. Screenshot: tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from assistant.security.api_keys import KeyStore
from assistant.settings import Settings
from tests.test_api import server_env, start_server, stop
from tests.test_chat_ui import ARTIFACTS, axe_violations, browser, page  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.browser]

OUT_OF_CORPUS = "Wat is het recept voor appeltaart?"


@pytest.fixture(scope="module")
def site(ingested: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A server with a user and an admin key, and some real activity: searches, answers
    refused without the model, a reported problem."""
    tmp = tmp_path_factory.mktemp("dashboard")
    keys = KeyStore(tmp / "keys.sqlite")
    _, user_key = keys.create("medewerker", "user")
    _, admin_key = keys.create("beheerder", "admin")
    env = server_env(
        ingested,
        WEGWIJZER_AUTH_MODE="keys",
        WEGWIJZER_API_KEYS_FILE=str(tmp / "keys.sqlite"),
        WEGWIJZER_CONVERSATIONS_FILE=str(tmp / "conversations.sqlite"),
        WEGWIJZER_AUDIT_FILE=str(tmp / "audit.sqlite"),
    )
    process, base = start_server(env)
    user = {"Authorization": f"Bearer {user_key}"}
    for query in ("DPIA", "algoritmeregister", "inkoop van AI"):
        httpx.post(f"{base}/api/search", json={"query": query}, headers=user, timeout=60)
    answer = httpx.post(
        f"{base}/api/chat", json={"message": OUT_OF_CORPUS}, headers=user, timeout=60
    ).json()
    httpx.post(
        f"{base}/api/feedback",
        json={"message_id": answer["message_id"], "report_problem": True, "comment": "Fout"},
        headers=user,
        timeout=60,
    )
    yield {"base": base, "user_key": user_key, "admin_key": admin_key}
    stop(process)


def enter_key(page, key: str) -> None:  # noqa: F811
    page.locator("#key-form").wait_for()
    page.fill("#api-key", key)
    page.press("#api-key", "Enter")


def test_a_user_key_does_not_open_the_dashboard(site, page) -> None:  # noqa: F811
    page.goto(site["base"] + "/beheer")
    enter_key(page, site["user_key"])
    expect(page.locator("#dashboard-error")).to_contain_text("alleen voor beheerders")
    assert page.locator("#dashboard-content").is_hidden()
    enter_key(page, site["admin_key"])  # the form stays for an administrator's key
    page.locator("#dashboard-content").wait_for()
    expect(page.locator("#dashboard-error")).to_be_hidden()


def test_the_dashboard_shows_real_activity_and_handles_a_problem(site, page) -> None:  # noqa: F811
    page.goto(site["base"] + "/beheer")
    assert page.locator("#dashboard-content").is_hidden()
    enter_key(page, site["admin_key"])
    page.locator("#dashboard-content").wait_for()
    for name in ("requests", "latency", "quality", "tokens"):
        chart = page.locator(f"#chart-{name}")
        expect(chart).to_have_attribute("src", re.compile(r"^data:image/svg\+xml;base64,"))
        page.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0", arg=chart.element_handle()
        )
    totals = page.locator("#totals").inner_text()
    assert "Zoekopdrachten\n3" in totals and "Antwoorden\n1" in totals
    expect(page.locator("#gaps")).to_contain_text(OUT_OF_CORPUS)
    problem = page.locator("#feedback li").first
    expect(problem).to_contain_text("Probleem gemeld")
    expect(problem).to_contain_text(OUT_OF_CORPUS)
    assert page.locator("#open-problems").inner_text() == "1"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert axe_violations(page) == []

    problem.locator("textarea").fill("Buiten de documenten; gebruiker geïnformeerd.")
    problem.locator("button").click()
    expect(page.locator("#feedback li").first).to_contain_text("Afgehandeld door key:")
    assert page.locator("#open-problems").inner_text() == "0"
    page.screenshot(path=str(ARTIFACTS / "dashboard-handled.png"), full_page=True)
    assert page.errors == []
