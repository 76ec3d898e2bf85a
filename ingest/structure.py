"""Find headings in cleaned text and split it into sections.

Recognised headings, strongest first:
- Markdown ``#`` lines (from .md files, and from HTML/DOCX loaders);
- numbered headings (``2.2.1 Succesfactoren``) that continue the outline;
- short all-caps lines (``BOUWBLOKKEN``), the slide deck's section markers;
- title lines: a short line without closing punctuation that starts a block,
  such as a building block's name right after ``BOUWBLOKKEN``.
Body text keeps its lines; a section is the text under one heading path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.documents import Page, Section

_MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
_NUMBERED_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+([A-Z\u00c0-\u00dd].{1,80})$")
_ALL_CAPS = re.compile(r"^[A-Z\u00c0-\u00dd][A-Z\u00c0-\u00dd &/-]{3,39}$")
_TITLE_END_PUNCTUATION = re.compile(r"[.,;:!?\]\"'-]$")
_TITLE_FORBIDDEN = re.compile(r"\||https?://|\s-\s|^-\s")
MAX_TITLE_CHARS = 80
MAX_TITLE_WORDS = 10
SECTION_SEPARATOR = " > "


@dataclass
class _Outline:
    """The current heading path and the numbered-outline position."""

    headings: list[tuple[int, str, bool]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)

    def push(self, level: int, text: str, is_title: bool) -> None:
        self.headings = [heading for heading in self.headings if heading[0] < level]
        self.headings.append((level, text, is_title))

    @property
    def label(self) -> str:
        return SECTION_SEPARATOR.join(text for _, text, _ in self.headings)

    def title_level(self) -> int:
        """A title line nests under a heading, or replaces the title line before it."""
        if not self.headings:
            return 1
        level, _, is_title = self.headings[-1]
        return level if is_title else level + 1

    def accepts_number(self, number: list[int]) -> bool:
        """A numbered heading must be the next one in the outline (1.1 after 1, 2 after 1.4)."""
        parent = number[:-1]
        if self.numbers[: len(parent)] != parent or len(self.numbers) < len(parent):
            return False
        previous = self.numbers[len(parent)] if len(self.numbers) > len(parent) else 0
        return number[-1] == previous + 1

    def advance(self, number: list[int]) -> None:
        self.numbers = list(number)


def split_sections(pages: list[Page]) -> list[Section]:
    """Split cleaned pages into sections with heading paths; empty sections are dropped."""
    outline = _Outline()
    sections: list[Section] = []
    for page in pages:
        body: list[str] = []
        lines = page.text.splitlines()
        previous_was_heading = False
        for index, line in enumerate(lines):
            heading = _heading(line, lines, index, outline, previous_was_heading)
            if heading is None:
                body.append(line)
                if line:
                    previous_was_heading = False
                continue
            _flush(sections, outline.label, body, page.number)
            level, text, is_title = heading
            outline.push(level, text, is_title)
            # a title line is also content (it may be a misread first line)
            body = [line] if is_title else []
            previous_was_heading = True
        _flush(sections, outline.label, body, page.number)
    return sections


def _flush(sections: list[Section], label: str, body: list[str], page: int | None) -> None:
    text = "\n".join(body).strip()
    text = re.sub(r"\n{3,}", "\n\n", text)
    if text:
        sections.append(Section(heading=label, text=text, page=page))


def _heading(
    line: str,
    lines: list[str],
    index: int,
    outline: _Outline,
    previous_was_heading: bool,
) -> tuple[int, str, bool] | None:
    if not line:
        return None
    markdown = _MARKDOWN_HEADING.match(line)
    if markdown:
        return len(markdown.group(1)), markdown.group(2), False
    numbered = _NUMBERED_HEADING.match(line)
    if numbered and not _TITLE_FORBIDDEN.search(line) and not line.endswith((".", ",", ";")):
        number = [int(part) for part in numbered.group(1).split(".")]
        if outline.accepts_number(number) and not _starts_numbered_list(number, lines, index):
            outline.advance(number)
            return len(number), line, False
    if _ALL_CAPS.match(line) and sum(ch.isalpha() for ch in line) >= 4:
        return 1, line, False
    if _is_title_line(line, lines, index, previous_was_heading):
        return outline.title_level(), line, True
    return None


def _is_title_line(line: str, lines: list[str], index: int, after_heading: bool) -> bool:
    if len(line) > MAX_TITLE_CHARS or _TITLE_END_PUNCTUATION.search(line):
        return False
    if _TITLE_FORBIDDEN.search(line) or not line[0].isupper():
        return False
    words = line.split()
    if len(words) > MAX_TITLE_WORDS:
        return False
    previous_line = lines[index - 1] if index > 0 else ""
    starts_block = not previous_line or (len(words) > 1 and previous_line.endswith((".", "!", "?")))
    next_line = _next_text_line(lines, index)
    if not starts_block and not after_heading:
        return False
    if next_line is None or not (next_line[0].isupper() or next_line.startswith("- ")):
        return False
    if len(words) == 1:
        # a lone word is a label ("Basis", "Expert") unless it stands on its own
        followed_by_blank = index + 1 < len(lines) and not lines[index + 1]
        return after_heading or followed_by_blank
    return True


def _starts_numbered_list(number: list[int], lines: list[str], index: int) -> bool:
    """Footnotes and table rows ("1 ...", "2 ...") are lists, not headings."""
    prefix = "".join(f"{part}." for part in number[:-1])
    siblings = tuple(f"{prefix}{number[-1] + step} " for step in (-1, 1, 2))
    following = [line for line in lines[index + 1 : index + 8] if line][:3]
    preceding = [line for line in lines[max(0, index - 4) : index] if line][-1:]
    return any(line.startswith(siblings) for line in following + preceding)


def _next_text_line(lines: list[str], index: int) -> str | None:
    for candidate in lines[index + 1 :]:
        if candidate:
            return candidate
    return None
