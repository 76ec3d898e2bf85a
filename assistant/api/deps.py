"""FastAPI dependencies as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from assistant.generation.answer_service import AnswerService
from assistant.retrieval.search_service import SearchService
from assistant.services import Services
from assistant.settings import Settings


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_settings(services: Annotated[Services, Depends(get_services)]) -> Settings:
    return services.settings


def get_answer_service(services: Annotated[Services, Depends(get_services)]) -> AnswerService:
    return services.answers


def get_search_service(services: Annotated[Services, Depends(get_services)]) -> SearchService:
    return services.search


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SearchServiceDep = Annotated[SearchService, Depends(get_search_service)]
AnswerServiceDep = Annotated[AnswerService, Depends(get_answer_service)]
