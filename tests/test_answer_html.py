"""The answer's Markdown as HTML: escaped, no links, chips only for real citations."""

from __future__ import annotations

import pytest

from assistant.ui.answer_html import answer_html

pytestmark = pytest.mark.unit


def test_markdown_renders_and_raw_html_is_escaped() -> None:
    html = answer_html("**Let op** <script>x()</script>\n\n- een\n- <img src=x onerror=y()>", set())
    assert "<strong>Let op</strong>" in html and "<li>een</li>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "&lt;img" in html


def test_links_and_images_are_not_rendered() -> None:
    html = answer_html("[klik](javascript:alert(1)) ![x](http://evil/x.png) <http://evil>", set())
    assert "<a" not in html and "<img" not in html and "href" not in html


def test_only_given_citation_numbers_become_chips() -> None:
    html = answer_html("Data, model en applicatie [1]. Zie ook [2, 3] en [9].", {1, 2, 3})
    assert html.count('class="cite"') == 3
    assert 'data-n="1"' in html and 'data-n="3"' in html and "[9]" in html
