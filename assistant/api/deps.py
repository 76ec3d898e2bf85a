"""FastAPI dependencies as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from assistant.api.access import ADMINS_ONLY, Principal
from assistant.api.observe import address_of, who_asked
from assistant.generation.answer_service import AnswerService
from assistant.governance.audit_log import Origin
from assistant.retrieval.library import Library, UnknownCollection
from assistant.security.rate_limits import RateLimited
from assistant.services import Services
from assistant.settings import Settings


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_settings(services: Annotated[Services, Depends(get_services)]) -> Settings:
    return services.settings


def get_answer_service(services: Annotated[Services, Depends(get_services)]) -> AnswerService:
    return services.answers


def get_library(services: Annotated[Services, Depends(get_services)]) -> Library:
    return services.search


METRICS_KEY_ONLY = "Deze API-sleutel is alleen voor het uitlezen van /metrics."
METRICS_READERS_ONLY = "/metrics is alleen voor beheerders en metrics-sleutels."


def get_any_caller(
    request: Request, services: Annotated[Services, Depends(get_services)]
) -> Principal:
    """The caller of any role, counted against the request rate limits: per client
    address first (before the key is even looked at), then per caller."""
    try:
        services.limits.count_address(address_of(request.scope))
        caller = services.access.identify(request)
        request.state.principal = caller  # for the audit of this request
        services.limits.count_request(caller.identity)
    except RateLimited as exc:
        raise too_many_requests(exc) from exc
    return caller


def get_caller(caller: Annotated[Principal, Depends(get_any_caller)]) -> Principal:
    """The caller of anything but /metrics: a metrics key reads only that (403)."""
    if caller.role == "metrics":
        raise HTTPException(status.HTTP_403_FORBIDDEN, METRICS_KEY_ONLY)
    return caller


def get_metrics_reader(caller: Annotated[Principal, Depends(get_any_caller)]) -> Principal:
    """A metrics key or an administrator."""
    if caller.role not in ("metrics", "admin"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, METRICS_READERS_ONLY)
    return caller


def get_admin(caller: Annotated[Principal, Depends(get_caller)]) -> Principal:
    if not caller.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, ADMINS_ONLY)
    return caller


def get_origin(request: Request, caller: Annotated[Principal, Depends(get_caller)]) -> Origin:
    """Who asked, and from where, for the audit log."""
    return who_asked(request.scope)


def get_admin_origin(request: Request, admin: Annotated[Principal, Depends(get_admin)]) -> Origin:
    return who_asked(request.scope)


def reading_scope(requested: list[str] | None, caller: Principal, library: Library) -> list[str]:
    """The collections a request reads: those it names (each one the caller may read),
    else the caller's own, else the shared one. 403 when it names one it may not read;
    422 when it names one that does not exist (naming only those the caller may read)."""
    if requested:
        scope = list(dict.fromkeys(requested))
        refused = [name for name in scope if not caller.may_read(name)]
        if refused:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"Je hebt geen toegang tot de collectie(s): {', '.join(refused)}.",
            )
    elif caller.collections:
        scope = list(caller.collections)
    else:
        scope = [library.default_collection]
    try:
        library.check(scope)
    except UnknownCollection as exc:
        readable = [name for name in exc.known if caller.may_read(name)]
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"Onbekende collectie(s): {', '.join(exc.unknown)}. "
            f"Beschikbaar: {', '.join(readable) or 'geen'}.",
        ) from exc
    return scope


def may_open(request: Request, services: Services, collection: str | None) -> str:
    """The collection a public page or listing shows. The shared collection's documents
    are public; another collection's only for a caller who may read it (401/403/404)."""
    library = services.search
    if collection is None or collection == library.default_collection:
        return library.default_collection
    caller = services.access.identify(request)
    if not caller.may_read(collection) or not library.exists(collection):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Deze collectie bestaat niet.")
    return collection


def too_many_requests(exc: RateLimited) -> HTTPException:
    """429 with Retry-After and a Dutch explanation of which limit was reached."""
    minutes = max(1, round(exc.retry_after_s / 60))
    if exc.what == "tokens":
        detail = (
            "Je dagtegoed aan antwoorden is op. Probeer het morgen opnieuw of vraag de "
            "beheerder om een hoger tegoed."
        )
    else:
        detail = (
            f"Je stelt te veel vragen achter elkaar. Probeer het over {minutes} "
            f"{'minuut' if minutes == 1 else 'minuten'} opnieuw."
        )
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS, detail, headers={"Retry-After": str(exc.retry_after_s)}
    )


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
LibraryDep = Annotated[Library, Depends(get_library)]
AnswerServiceDep = Annotated[AnswerService, Depends(get_answer_service)]
CallerDep = Annotated[Principal, Depends(get_caller)]
AdminDep = Annotated[Principal, Depends(get_admin)]
MetricsReaderDep = Annotated[Principal, Depends(get_metrics_reader)]
OriginDep = Annotated[Origin, Depends(get_origin)]
AdminOriginDep = Annotated[Origin, Depends(get_admin_origin)]
