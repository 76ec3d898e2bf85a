"""Pages for people: the chat at ``/`` and the full text of a document.

Every page is server-rendered with autoescaping; the only script is our own
``/static/chat.js``, and the Content-Security-Policy forbids anything else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from assistant import __version__
from assistant.api.deps import LibraryDep, ServicesDep, SettingsDep, may_open
from assistant.retrieval.search_service import IndexNotReady, UnknownDocuments
from assistant.settings import COLLECTION_NAME
from assistant.ui.document_text import document_blocks

UI_DIR = Path(__file__).resolve().parents[2] / "ui"
STATIC_DIR = UI_DIR / "static"

router = APIRouter(tags=["pages"], include_in_schema=False)
templates = Jinja2Templates(directory=UI_DIR / "templates")
templates.env.globals["version"] = __version__

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

EXAMPLE_QUESTIONS = (
    "Welke drie componenten kan een gemeente inkopen bij AI?",
    "Wat moet ik regelen voordat ik een AI-assistent inzet?",
    "Welke rollen zijn betrokken bij een AI-project?",
    "Wat vraagt de AI-verordening van gemeenten?",
)


@router.get("/", response_class=HTMLResponse)
def chat_page(request: Request, search: LibraryDep, settings: SettingsDep) -> HTMLResponse:
    """The chat for municipal employees."""
    state = search.state()
    documents = sorted(state.documents.values(), key=lambda d: d.title) if state else []
    return templates.TemplateResponse(
        request,
        "chat.html",
        {
            "documents": documents,
            "examples": EXAMPLE_QUESTIONS,
            "max_chars": settings.max_message_chars,
        },
        headers=PAGE_HEADERS,
    )


@router.get("/documents/{doc_id}", response_class=HTMLResponse)
def document_page(
    request: Request,
    doc_id: str,
    search: LibraryDep,
    services: ServicesDep,
    passage: str | None = None,
    collection: Annotated[str | None, Query(pattern=COLLECTION_NAME)] = None,
) -> HTMLResponse:
    """The document as the assistant knows it; ``?passage=<chunk_id>`` marks that passage,
    ``?collection=`` names a collection other than the shared one."""
    collection = may_open(request, services, collection)
    try:
        passages = search.document_passages(doc_id, collection)
    except IndexNotReady as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "Nog geen documenten ingelezen."
        ) from exc
    except UnknownDocuments as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Dit document bestaat niet.") from exc
    state = search.state(collection)
    meta = state.documents.get(doc_id) if state else None
    return templates.TemplateResponse(
        request,
        "document.html",
        {
            "title": passages[0].title,
            "publisher": meta.publisher if meta else "",
            "year": meta.year if meta else None,
            "blocks": document_blocks(passages, highlight=passage),
            "highlight": passage,
        },
        headers=PAGE_HEADERS,
    )


DASHBOARD_HEADERS = PAGE_HEADERS | {  # the charts arrive as SVG data URIs
    "Content-Security-Policy": PAGE_HEADERS["Content-Security-Policy"].replace(
        "img-src 'self'", "img-src 'self' data:"
    )
}


@router.get("/beheer", response_class=HTMLResponse)
def dashboard_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The administrators' dashboard. The page itself holds no data: its script asks
    /api/admin/dashboard with the administrator's key (or the SSO proxy's headers)."""
    return templates.TemplateResponse(
        request,
        "dashboard.html",
        {"cost_unit": settings.cost_unit},
        headers=DASHBOARD_HEADERS,
    )
