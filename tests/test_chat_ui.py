"""The chat page in a real headless Chromium against a real server, index and model.

Chromium is the Debian package (installed by `make test`'s setup), driven by Python
Playwright with `executable_path`; Playwright's own browser download is never used.
axe-core comes from npm (tests/browser/package.json). Screenshots of the main states
go to tests/artifacts/ (ignored by git).

The pages send a Content-Security-Policy that forbids any script but our own; the
test contexts bypass it so that Playwright and axe can evaluate scripts. That also
means the escaping test below proves the rendering safe on its own, without the CSP.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from assistant.conversations import SqliteConversationStore
from assistant.security.api_keys import KeyStore
from assistant.settings import Settings
from tests.conftest import DECK, REPO, free_port
from tests.test_api import answering_server_env, server_env, start_server, stop

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE = REPO / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO / "tests" / "artifacts"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

QUESTION = "Welke drie componenten kan een gemeente inkopen bij AI?"
STREAMED_QUESTION = "Welke componenten kan een gemeente volgens de VNG inkopen als het om AI gaat?"
OUT_OF_CORPUS = "Wat is het recept voor appeltaart?"
ANSWER_TIMEOUT_MS = 300_000


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: `make test` installs the Debian package chromium")
    if not AXE.exists():
        pytest.fail("axe-core is missing: `make test` runs npm ci in tests/browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def site(ingested: Settings) -> Iterator[tuple[str, Settings]]:
    process, base = start_server(answering_server_env(ingested))
    yield base, ingested
    stop(process)


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        bypass_csp=True,
        permissions=["clipboard-read", "clipboard-write"],
    )
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"chat-{name}.png"), full_page=True)


def ask(page, question: str) -> object:
    """Type a question, press Enter and wait for the finished answer; returns its item."""
    count = page.locator(".message.assistant .answer[aria-busy=false]").count()
    page.fill("#question", question)
    page.press("#question", "Enter")
    done = page.locator(".message.assistant .answer[aria-busy=false]").nth(count)
    done.wait_for(timeout=ANSWER_TIMEOUT_MS)
    return page.locator(".message.assistant").nth(count)


def ask_expecting_error(page, question: str) -> str:
    """Send a question that fails; the error shows and the question stays in the field."""
    page.fill("#question", question)
    page.press("#question", "Enter")
    error = page.locator("#form-error")
    error.wait_for()
    assert page.input_value("#question") == question
    return error.inner_text()


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))
            .violations.map(v => ({id: v.id, impact: v.impact,
                                   nodes: v.nodes.map(n => n.target.join(' '))}))""",
        WCAG_AA,
    )


def test_the_page_is_self_contained_and_locked_down(site) -> None:
    base, _ = site
    response = httpx.get(f"{base}/")
    assert response.status_code == 200 and 'lang="nl"' in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert sources and all(s.startswith(("/", "#")) for s in sources), sources
    for asset in ("/static/chat.js", "/static/site.css", "/static/favicon.svg"):
        assert httpx.get(f"{base}{asset}").status_code == 200


def test_ask_and_see_an_answer_with_a_working_citation(site, page) -> None:
    base, _ = site
    page.goto(base)
    assert "AI-assistent" in page.inner_text(".ai-notice")
    assert page.locator(".documents li").count() == 5
    assert page.locator(".example").count() >= 3
    shot(page, "1-start")

    # the default quoted answer arrives a sentence at a time (as token events, within
    # milliseconds: too fast to watch it grow; a written answer's tokens are tested in
    # test_chat_limits); the question is asked nowhere else, so not from the cache
    page.fill("#question", STREAMED_QUESTION)
    page.press("#question", "Enter")
    answer = page.locator(".message.assistant .answer[aria-busy=false]").first
    answer.wait_for(timeout=ANSWER_TIMEOUT_MS)
    # announce() sets the live region's text 50 ms later (so screen readers notice a
    # repeat); on a busy machine that timer may not have run when the answer shows
    page.wait_for_function(
        "() => document.getElementById('announcer').textContent.length > 0", timeout=5000
    )
    assert "Antwoord ontvangen" in page.inner_text("#announcer")
    shot(page, "3-answer")

    # the answer may cite more than one document; open the procurement document's chip
    chip = (
        answer.locator(".sources li", has_text="informatiemanagementproducten")
        .locator(".cite")
        .first
    )
    chip.click()
    dialog = page.locator("#source-dialog")
    assert dialog.is_visible()
    assert "informatiemanagementproducten" in page.inner_text("#source-document")
    passage = page.inner_text("#source-text")
    assert len(passage) > 40
    link = page.get_attribute("#source-link", "href")
    assert link.startswith(f"/documents/{DECK}?passage=")
    shot(page, "4-source")

    page.click("#source-link")
    mark = page.locator("#passage mark")
    mark.wait_for()
    assert passage.split("\n")[0][:30] in mark.inner_text().replace("\n", " ")
    shot(page, "5-document")
    assert page.errors == []


def test_not_in_the_documents_shows_the_related_passages_apart(site, page) -> None:
    """An on-topic question the documents do not answer: a plain refusal, no sources, and
    what the documents do say under its own heading, never as the answer."""
    base, _ = site
    page.goto(base)
    item = ask(page, "Hoeveel kost een AI-assistent per maand voor een gemeente?")
    answer = item.locator(".answer")
    assert "niet in de documenten" in answer.inner_text()
    assert "refused" in (answer.get_attribute("class") or "")
    assert item.locator(".sources").count() == 0
    related = item.locator(".related")
    assert "Wel gevonden over dit onderwerp" in related.inner_text()
    assert related.locator("li").count() >= 1
    shot(page, "6-not-in-documents")


def test_copy_and_feedback_are_stored_with_the_conversation(site, page) -> None:
    base, settings = site
    page.goto(base)
    item = ask(page, QUESTION)
    item.locator(".copy").click()
    # the status is written after the clipboard promise settles: wait for it
    expect(item.locator(".tool-status")).to_have_text("Antwoord gekopieerd.", timeout=10_000)
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == item.evaluate("el => el.answerText") and len(copied) > 20

    message_id = item.evaluate("el => el.messageId")
    down = item.locator(".thumb[data-rating=down]")
    down.click()
    page.wait_for_function(
        "el => el.getAttribute('aria-pressed') === 'true'", arg=down.element_handle()
    )
    item.locator(".feedback-more summary").click()
    item.locator("textarea[name=comment]").fill("De bron zegt iets anders.")
    item.locator("input[name=problem]").check()
    shot(page, "6-feedback")
    item.locator(".feedback-form button[type=submit]").click()
    page.wait_for_function(
        "el => el.textContent.includes('beheerders')",
        arg=item.locator(".tool-status").element_handle(),
    )

    stored = SqliteConversationStore(settings.conversations_path).feedback(20)
    mine = [f for f in stored if f.message_id == message_id]
    assert {f.rating for f in mine} == {"down"}
    assert any(f.problem and f.comment == "De bron zegt iets anders." for f in mine)


def test_keyboard_only(site, page) -> None:
    base, _ = site
    page.goto(base)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "question"
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    page.locator(".answer[aria-busy=false]").first.wait_for(timeout=ANSWER_TIMEOUT_MS)

    # back from the question field to the last citation chip, with Shift+Tab only
    for _ in range(40):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.classList.contains('cite')"):
            break
    else:
        pytest.fail("no citation chip reachable with the keyboard")
    chip = page.evaluate_handle("document.activeElement")
    outline = page.evaluate(
        "el => [getComputedStyle(el).outlineStyle, getComputedStyle(el).outlineWidth]", chip
    )
    assert outline[0] != "none" and float(outline[1].rstrip("px")) >= 2, outline
    page.keyboard.press("Enter")
    assert page.locator("#source-dialog").is_visible()
    assert page.evaluate("document.activeElement.id") == "source-close"
    shot(page, "7-keyboard-source")
    page.keyboard.press("Escape")
    assert not page.locator("#source-dialog").is_visible()
    assert page.evaluate("el => el === document.activeElement", chip)

    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.rating === 'up'"):
            break
    else:
        pytest.fail("the thumbs-up button is not reachable with the keyboard")
    page.keyboard.press("Space")
    page.wait_for_function(
        "() => document.querySelector('.thumb[data-rating=up]')"
        ".getAttribute('aria-pressed') === 'true'"
    )


def test_html_in_an_answer_or_a_document_is_shown_as_text(site, page) -> None:
    base, settings = site
    # A 1.5B model cannot be made to write a script tag on demand, so the answer is
    # planted where a real answer is stored: the server's answer cache. The page gets
    # it through the normal path (POST /api/chat, streamed, answer_html rendered).
    body = httpx.post(f"{base}/api/chat", json={"message": OUT_OF_CORPUS}, timeout=120).json()
    assert body["refused"] is True
    body.pop("answer_html")  # the cache holds the answer service's result, not the API's
    planted = {
        **body,
        "refused": False,
        "answer": (
            "Zie **dit** [1]. <script>window.pwned = 1</script>\n\n"
            '- <img src=x onerror="window.pwned = 2">\n'
            "- [klik](javascript:window.pwned=3)"
        ),
        "citations": [
            {
                "n": 1,
                "chunk_id": "x:1",
                "doc_id": "x",
                "title": "<script>window.pwned = 4</script>Titel",
                "section": "<b>sectie</b>",
                "page": None,
                "text": '<img src=x onerror="window.pwned = 5">passage',
            }
        ],
    }
    with sqlite3.connect(settings.conversations_path) as db:
        changed = db.execute(
            "UPDATE answer_cache SET response = ? "
            "WHERE json_extract(response, '$.standalone_question') = ?",
            (json.dumps(planted), OUT_OF_CORPUS),
        ).rowcount
    assert changed == 1

    page.goto(base)
    item = ask(page, OUT_OF_CORPUS)
    answer = item.locator(".answer")
    text = answer.inner_text()
    assert "<script>window.pwned = 1</script>" in text
    assert '<img src=x onerror="window.pwned = 2">' in text
    assert answer.locator("script, img, a").count() == 0
    assert answer.locator("strong").inner_text() == "dit"
    answer.locator("p .cite").first.click()
    assert page.inner_text("#source-document") == "<script>window.pwned = 4</script>Titel"
    assert page.inner_text("#source-text").startswith("<img src=x")
    shot(page, "8-escaped")
    assert page.evaluate("() => window.pwned") is None
    assert page.errors == []


def test_accessibility_wcag_aa(site, page) -> None:
    base, _ = site
    page.goto(base)
    assert axe_violations(page) == []
    ask(page, QUESTION)
    assert axe_violations(page) == []
    page.locator(".message.assistant .cite").first.click()
    assert axe_violations(page) == []
    page.keyboard.press("Escape")
    page.goto(f"{base}/documents/{DECK}")
    assert axe_violations(page) == []


@pytest.mark.parametrize(("width", "name"), [(640, "zoom-200"), (320, "narrow-320")])
def test_narrow_screen_and_zoom_need_no_sideways_scrolling(site, browser, width, name) -> None:
    base, _ = site
    # 640 CSS pixels is a 1280-pixel screen at 200% zoom; 320 is WCAG's reflow width
    context = browser.new_context(viewport={"width": width, "height": 800}, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(base)
        ask(page, QUESTION)
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{overflow}px of sideways scrolling at {width}px"
        assert page.locator("#question").is_visible()
        shot(page, f"9-{name}")
    finally:
        context.close()


def test_session_history_and_continuing_a_conversation(site, page) -> None:
    base, _ = site
    page.goto(base)
    ask(page, QUESTION)
    first_id = page.evaluate(
        "() => JSON.parse(sessionStorage.getItem('wegwijzer.conversations'))[0].id"
    )
    page.click("#new-conversation")
    assert page.locator(".message").count() == 0
    ask(page, "Wat is het recept voor erwtensoep?")
    page.reload()  # the session's conversations survive a reload
    history = page.locator("#history .history-item")
    assert history.count() == 2
    page.locator("#history .history-item", has_text="componenten").click()
    assert QUESTION in page.inner_text(".messages")
    shot(page, "10-history")

    with page.expect_request("**/api/chat") as request:
        ask(page, "Wat is de hoofdstad van Frankrijk?")
    assert request.value.post_data_json["conversation_id"] == first_id
    assert page.locator(".message.user").count() == 2


def test_errors_are_dutch_and_keep_the_typed_question(site, page, ingested) -> None:
    base, _ = site
    page.goto(base)
    page.context.set_offline(True)
    assert "Geen verbinding" in ask_expecting_error(page, "Wat is een DPIA?")
    shot(page, "11-offline")
    page.context.set_offline(False)

    # the language model down: Ollama configured on a port where nothing listens; an
    # answer the model writes then fails (a quoted Dutch answer needs no model and is
    # still given: test_ollama_backend)
    env = server_env(
        ingested,
        WEGWIJZER_LLM_BACKEND="ollama",
        WEGWIJZER_OLLAMA_HOST=f"http://127.0.0.1:{free_port()}",
        WEGWIJZER_ANSWER_CACHE="false",
        WEGWIJZER_ANSWER_MODE="write",
    )
    process, down = start_server(env)
    try:
        page.goto(down)
        banner = page.locator("#status-banner")
        banner.wait_for()
        assert "niet bereikbaar" in banner.inner_text()
        error = ask_expecting_error(page, QUESTION)
        assert "taalmodel" in error and "niet bereikbaar" in error
        assert page.locator(".message").count() == 0
        shot(page, "12-llm-down")
    finally:
        stop(process)


def test_rate_limited_shows_the_wait_and_keeps_the_question(ingested, tmp_path, page) -> None:
    env = answering_server_env(
        ingested,
        WEGWIJZER_RATE_LIMIT="1/minute",
        WEGWIJZER_CONVERSATIONS_FILE=str(tmp_path / "c.sqlite"),
    )
    process, base = start_server(env)
    try:
        page.goto(base)
        ask(page, OUT_OF_CORPUS)  # refused without the model: quick
        error = ask_expecting_error(page, "Wat is een DPIA?")
        assert re.search(r"Wacht \d+ seconden", error), error
        shot(page, "13-rate-limited")
    finally:
        stop(process)


def test_api_key_is_asked_once_and_personal_data_note_shown(ingested, tmp_path, page) -> None:
    keys_file = tmp_path / "keys.sqlite"
    _, key = KeyStore(keys_file).create("browser test")
    env = answering_server_env(
        ingested,
        WEGWIJZER_AUTH_MODE="keys",
        WEGWIJZER_API_KEYS_FILE=str(keys_file),
        WEGWIJZER_CONVERSATIONS_FILE=str(tmp_path / "c.sqlite"),
    )
    process, base = start_server(env)
    question = f"Mijn BSN is 111222333. {OUT_OF_CORPUS}"
    try:
        page.goto(base)
        assert page.locator("#key-form").is_hidden()
        assert "API-sleutel" in ask_expecting_error(page, question)
        assert page.locator("#key-form").is_visible()
        page.fill("#api-key", key)
        page.press("#api-key", "Enter")
        page.locator("#key-form").wait_for(state="hidden")
        item = ask(page, question)
        note = item.locator(".screening-note")
        assert "Persoonsgegevens" in note.inner_text()
        assert "111222333" not in item.inner_text()
        shot(page, "14-api-key")
        assert axe_violations(page) == []
    finally:
        stop(process)
