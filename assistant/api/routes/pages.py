"""Pages for people: the full text of a document, with a cited passage highlighted."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from assistant.api.deps import SearchServiceDep
from assistant.retrieval.search_service import IndexNotReady, UnknownDocuments
from assistant.ui.document_text import document_blocks

router = APIRouter(tags=["pages"])
templates = Jinja2Templates(directory=Path(__file__).resolve().parents[2] / "ui" / "templates")


@router.get("/documents/{doc_id}", response_class=HTMLResponse)
def document_page(
    request: Request, doc_id: str, search: SearchServiceDep, passage: str | None = None
) -> HTMLResponse:
    """The document as the assistant knows it; ``?passage=<chunk_id>`` marks that passage."""
    try:
        passages = search.document_passages(doc_id)
    except IndexNotReady as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "Nog geen documenten ingelezen."
        ) from exc
    except UnknownDocuments as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Dit document bestaat niet.") from exc
    state = search.state()
    meta = state.documents.get(doc_id) if state else None
    return templates.TemplateResponse(
        request,
        "document.html",
        {
            "title": passages[0].title,
            "publisher": meta.publisher if meta else "",
            "year": meta.year if meta else None,
            "blocks": document_blocks(passages),
            "highlight": passage,
        },
    )
