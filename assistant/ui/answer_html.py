"""An answer's Markdown as safe HTML, with its [n] markers as citation chips.

The model's text and the documents' text are never trusted: raw HTML is escaped
(markdown-it with ``html`` off), and links, images and autolinks are switched off,
so no ``javascript:`` URL or ``<script>`` can reach the page. Only the chips are
added afterwards, for numbers that point at a real citation.
"""

from __future__ import annotations

import re
from functools import lru_cache

from markdown_it import MarkdownIt

_MARKER = re.compile(r"\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]")


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).disable(
        ["link", "image", "autolink", "html_inline", "html_block"]
    )


def answer_html(answer: str, cited: set[int]) -> str:
    """Render ``answer``; ``[n]`` for n in ``cited`` becomes a chip button."""

    def chips(match: re.Match[str]) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        if not numbers or any(n not in cited for n in numbers):
            return match.group(0)
        return "".join(
            f'<button type="button" class="cite" data-n="{n}" '
            f'aria-label="Bron {n} bekijken">{n}</button>'
            for n in numbers
        )

    return _MARKER.sub(chips, _markdown().render(answer))
