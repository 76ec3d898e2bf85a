"""CLI commands ``wegwijzer model-card`` and ``wegwijzer algoritmeregister``."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from assistant.settings import Settings

console = Console(stderr=True)


class OutputFormat(StrEnum):
    """How a command prints its result."""

    json = "json"
    markdown = "markdown"


FormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="json, or markdown for people.")
]
ReportOption = Annotated[
    Path | None,
    typer.Option(
        "--report", help="Evaluation report.json (default reports/report.json when it exists)."
    ),
]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Write to this file instead of standard output.")
]


def register(app: typer.Typer, settings: Callable[[], Settings]) -> None:
    """Add the model card and algorithm register commands to ``app``; ``settings`` is
    the CLI's own settings factory (one place that reports invalid settings)."""

    @app.command("model-card")
    def model_card(
        output_format: FormatOption = OutputFormat.markdown,
        report: ReportOption = None,
        out: OutOption = None,
    ) -> None:
        """Print what is running: models and hashes, prompts, settings, corpus, latest
        evaluation."""
        from assistant.governance.model_card import model_card_markdown

        card = _card(settings(), report)
        as_json = output_format is OutputFormat.json
        _emit(_json(card) if as_json else model_card_markdown(card), out)

    @app.command("algoritmeregister")
    def algoritmeregister(
        organisation: Annotated[
            str | None, typer.Option("--organisation", help="The municipality's name.")
        ] = None,
        output_format: FormatOption = OutputFormat.markdown,
        report: ReportOption = None,
        out: OutOption = None,
    ) -> None:
        """Draft an algorithm register entry (Dutch) from the model card, for the
        municipality to complete."""
        from assistant.governance.algorithm_register import draft_entry, draft_markdown

        entry = draft_entry(_card(settings(), report), organisation)
        _emit(_json(entry) if output_format is OutputFormat.json else draft_markdown(entry), out)


def _card(settings: Settings, report: Path | None) -> dict:
    from assistant.governance.model_card import build_model_card

    try:
        return build_model_card(settings, latest_report=report)
    except (FileNotFoundError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def _json(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        console.print(f"[red]cannot write {out}: {exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"written: {out}")
