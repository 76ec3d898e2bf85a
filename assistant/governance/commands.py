"""``wegwijzer audit …`` and ``wegwijzer feedback …``: the audit log and reported problems
from the command line (for cron, and for an auditor without the web app)."""

from __future__ import annotations

import getpass
import json
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console

from assistant.governance.audit_log import (
    AuditLog,
    BrokenChain,
    ChainReport,
    Origin,
    check_chain,
    entry_from_dict,
)
from assistant.governance.export import ExportFormat, write_records
from assistant.settings import Settings


class FileFormat(StrEnum):
    """What an export is written as."""

    jsonl = "jsonl"
    csv = "csv"


def command_line_origin() -> Origin:
    """The person at the terminal, for the audit log."""
    return Origin(actor=f"cli:{getpass.getuser()}", origin=f"cli@{socket.gethostname()}")


def register(app: typer.Typer, settings: Callable[[], Settings], console: Console) -> None:
    """Add the ``audit`` and ``feedback`` command groups to ``app``."""
    audit_app = typer.Typer(help="The audit log: verify its hash chain, export, retention.")
    feedback_app = typer.Typer(help="Feedback and reported problems: review, handle, export.")
    app.add_typer(audit_app, name="audit")
    app.add_typer(feedback_app, name="feedback")

    @audit_app.command("verify")
    def audit_verify(
        file: Annotated[
            Path | None, typer.Option(help="Check an exported JSONL file instead of the log.")
        ] = None,
    ) -> None:
        """Check the hash chain; exit 1 and name the first broken entry if it fails."""
        if file is None:
            report = AuditLog(settings().audit_path).verify()
        else:
            report = _verify_export(file, console)
        _print_report(report, console)
        if not report.ok:
            raise typer.Exit(1)

    @audit_app.command("export")
    def audit_export(
        format: Annotated[FileFormat, typer.Option(help="jsonl or csv.")] = FileFormat.jsonl,
        out: Annotated[Path | None, typer.Option(help="File to write (default: stdout).")] = None,
        days: Annotated[int | None, typer.Option(min=1, help="Only the last N days.")] = None,
    ) -> None:
        """Export entries with their hashes, for an auditor (JSONL can be verified)."""
        fmt: ExportFormat = format.value
        log = AuditLog(settings().audit_path)
        since = time.time() - days * 86400 if days else None
        log.append(
            command_line_origin(),
            action="audit.export",
            object="audit_log",
            result="success",
            details={"format": fmt, "days": days, "file": str(out) if out else "stdout"},
        )
        with _output(out) as stream:
            count = write_records((e.to_dict() for e in log.entries(since=since)), stream, fmt)
        console.print(f"exported {count} audit entries")

    @audit_app.command("prune")
    def audit_prune(
        days: Annotated[
            int | None,
            typer.Option(
                min=1, help="Keep this many days of the audit log (default: the setting)."
            ),
        ] = None,
    ) -> None:
        """Retention (run it daily from cron): remove audit entries, and conversations,
        feedback and cached answers, older than their retention periods."""
        from assistant.conversations import open_conversation_store

        current = settings()
        # first, so that a broken audit chain does not keep personal data longer
        kept_days = current.conversation_retention_days
        pruned = open_conversation_store(current).prune(time.time() - kept_days * 86400)
        AuditLog(current.audit_path).append(
            command_line_origin(),
            action="conversations.prune",
            object="conversations",
            result="success",
            details={"removed": vars(pruned), "days": kept_days},
        )
        console.print(
            f"removed {pruned.conversations} conversations, {pruned.messages} messages, "
            f"{pruned.feedback} feedback items and {pruned.cached_answers} cached answers "
            f"older than {kept_days} days"
        )
        keep = days or current.audit_retention_days
        try:
            removed = AuditLog(current.audit_path).prune(
                time.time() - keep * 86400, command_line_origin()
            )
        except BrokenChain as exc:
            console.print(f"[red]not pruned: the audit log does not verify ({exc})[/red]")
            raise typer.Exit(1) from exc
        console.print(f"removed {removed} audit entries older than {keep} days")

    @feedback_app.command("list")
    def feedback_list(
        state: Annotated[str, typer.Option(help="all, open or handled.")] = "open",
        negative_only: Annotated[
            bool, typer.Option("--negative-only", help="Only thumbs down and problems.")
        ] = False,
        limit: Annotated[int, typer.Option(min=1)] = 50,
    ) -> None:
        """Feedback with the question and answer it is about, newest first (JSONL)."""
        from assistant.conversations import open_conversation_store

        store = open_conversation_store(settings())
        items = store.feedback(limit, status=state, negative_only=negative_only)
        write_records((vars(item) for item in items), sys.stdout, "jsonl")

    @feedback_app.command("handle")
    def feedback_handle(
        feedback_id: Annotated[str, typer.Argument(help="The feedback's id.")],
        note: Annotated[str, typer.Option(help="What was done about it.")],
    ) -> None:
        """Mark feedback or a reported problem as handled, with a note."""
        from assistant.conversations import UnknownFeedback, open_conversation_store

        current = settings()
        who = command_line_origin()
        try:
            open_conversation_store(current).handle_feedback(feedback_id, note, who.actor)
        except UnknownFeedback as exc:
            console.print(f"[red]no feedback with id {feedback_id}[/red]")
            raise typer.Exit(1) from exc
        AuditLog(current.audit_path).append(
            command_line_origin(),
            action="feedback.handle",
            object=f"feedback:{feedback_id}",
            result="success",
            details={"note": note},
        )
        console.print(f"feedback {feedback_id} marked as handled")

    @feedback_app.command("export")
    def feedback_export(
        format: Annotated[FileFormat, typer.Option(help="jsonl or csv.")] = FileFormat.csv,
        out: Annotated[Path | None, typer.Option(help="File to write (default: stdout).")] = None,
    ) -> None:
        """All feedback and reported problems, with questions, answers and handling."""
        from assistant.conversations import open_conversation_store

        fmt: ExportFormat = format.value
        current = settings()
        items = open_conversation_store(current).feedback(1_000_000)
        with _output(out) as stream:
            count = write_records((vars(item) for item in items), stream, fmt)
        AuditLog(current.audit_path).append(
            command_line_origin(),
            action="feedback.export",
            object="feedback",
            result="success",
            details={"format": fmt, "count": count},
        )
        console.print(f"exported {count} feedback items")


@contextmanager
def _output(out: Path | None) -> Iterator[TextIO]:
    if out is None:
        yield sys.stdout
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as stream:
        yield stream


def _verify_export(file: Path, console: Console) -> ChainReport:
    try:
        entries = [
            entry_from_dict(json.loads(line))
            for line in file.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        console.print(f"[red]cannot read {file} as an audit export: {exc}[/red]")
        raise typer.Exit(2) from exc
    if not entries:
        return ChainReport(True, 0, None, None)
    return check_chain(entries, entries[0].seq, entries[0].prev_hash)


def _print_report(report: ChainReport, console: Console) -> None:
    if report.ok:
        span = f" ({report.first_seq}–{report.last_seq})" if report.entries else ""
        console.print(f"audit log OK: {report.entries} entries{span}, hash chain intact")
    else:
        console.print(
            f"[red]audit log BROKEN at entry {report.broken_seq}: {report.problem}[/red] "
            f"({report.entries} entries verified before it)"
        )
