"""The full text of a document, served by the app, with a cited passage highlighted."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from assistant.retrieval.hits import SearchHit
from assistant.settings import Settings
from assistant.ui.document_text import document_blocks, shared_overlap
from tests.conftest import DECK
from tests.test_api import server_env, start_server, stop


@pytest.fixture(scope="module")
def server(ingested: Settings) -> Iterator[str]:
    process, base = start_server(server_env(ingested))
    yield base
    stop(process)


@pytest.mark.integration
def test_a_cited_passage_is_highlighted_in_the_full_text(server: str) -> None:
    results = httpx.post(
        f"{server}/api/search", json={"query": "Welke drie componenten kun je inkopen bij AI?"}
    ).json()["results"]
    # the page under test highlights a cited passage; which rank it has is search's test
    hit = next(r for r in results if "Applicatie of Dienst" in r["text"])
    page = httpx.get(f"{server}/documents/{hit['doc_id']}", params={"passage": hit["chunk_id"]})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    marked = re.search(r'<p id="passage"><mark tabindex="-1">(.*?)</mark>', page.text, re.S)
    assert marked, "the cited passage is marked"
    assert "Data, Model en Applicatie of Dienst" in marked.group(1)
    assert page.text.count("<mark") == 1
    assert not re.search(r'(src|href)="https?://', page.text), "no external assets or links"


@pytest.mark.integration
def test_unknown_document_is_a_clear_404(server: str) -> None:
    response = httpx.get(f"{server}/documents/bestaat-niet")
    assert response.status_code == 404 and "bestaat niet" in response.json()["detail"]
    assert httpx.get(f"{server}/documents/{DECK}").status_code == 200


def _hit(chunk_id: str, section: str, text: str) -> SearchHit:
    return SearchHit(chunk_id, DECK, "T", section, None, 0, text, 0.0)


@pytest.mark.unit
def test_full_text_drops_the_overlap_chunks_share_and_escapes_nothing_itself() -> None:
    assert shared_overlap("een twee drie vier", "drie vier vijf zes") == len("drie vier")
    blocks = document_blocks(
        [
            _hit("a", "Inkoop", "Een twee drie vier"),
            _hit("b", "Inkoop", "drie vier <script>vijf</script>"),
            _hit("c", "Privacy", "drie vier zes"),
        ]
    )
    assert [b.text for b in blocks] == [
        "Een twee drie vier",
        "<script>vijf</script>",
        "drie vier zes",
    ]
    assert [b.new_section for b in blocks] == [True, False, True]


@pytest.mark.unit
def test_a_highlighted_passage_keeps_its_whole_text() -> None:
    chunks = [
        _hit("a", "Inkoop", "Een twee drie vier"),
        _hit("b", "Inkoop", "drie vier vijf zes"),
        _hit("c", "Inkoop", "vijf zes zeven"),
    ]
    blocks = document_blocks(chunks, highlight="b")
    assert [(b.chunk_id, b.text) for b in blocks] == [
        ("a", "Een twee"),
        ("b", "drie vier vijf zes"),
        ("c", "zeven"),
    ]
    # a block that was all overlap disappears, and its heading moves to the passage
    blocks = document_blocks([_hit("a", "S", "drie vier"), _hit("b", "S", "drie vier vijf")], "b")
    assert [(b.chunk_id, b.text, b.new_section) for b in blocks] == [("b", "drie vier vijf", True)]
