"""Reading a streamed /api/chat response."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx


def sse_events(response: httpx.Response) -> Iterator[tuple[str, dict]]:
    """The response's server-sent events as (kind, data), as they arrive."""
    event = None
    for line in response.iter_lines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event:
            yield event, json.loads(line.split(":", 1)[1])
