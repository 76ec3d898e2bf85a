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

from assistant.governance.audit_anchor import (
    Anchor,
    AnchorError,
    append_to_file,
    new_anchor,
    read_anchors,
    send_to_syslog,
)
from assistant.governance.audit_key import AuditKey, AuditKeyError, audit_key
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
    audit_app = typer.Typer(
        help="The audit log: verify its hash chain, anchor its head, export, retention."
    )
    feedback_app = typer.Typer(help="Feedback and reported problems: review, handle, export.")
    app.add_typer(audit_app, name="audit")
    app.add_typer(feedback_app, name="feedback")

    @audit_app.command("verify")
    def audit_verify(
        file: Annotated[
            Path | None, typer.Option(help="Check an exported JSONL file instead of the log.")
        ] = None,
        anchors: Annotated[
            Path | None,
            typer.Option(
                help="Anchors to check the log against (default: the audit_anchor_path "
                "setting); a syslog file with the anchor lines works too."
            ),
        ] = None,
    ) -> None:
        """Check the hash chain and that every anchored head is still in it; exit 1 and
        name the first broken entry if it fails."""
        current = settings()
        if file is None:
            log = _open_log(current, console)
            report = log.verify(_anchors(anchors or current.audit_anchor_path, console))
        else:
            report = _verify_export(file, _key(current, console), console)
        _print_report(report, console)
        if not report.ok:
            raise typer.Exit(1)

    @audit_app.command("anchor")
    def audit_anchor(
        file: Annotated[
            Path | None,
            typer.Option(
                "--file", help="Append-only file to add the anchor to (default: audit_anchor_path)."
            ),
        ] = None,
        syslog: Annotated[
            str | None,
            typer.Option(
                help="Send the anchor to syslog: /dev/log or host:port, UDP (default: "
                "audit_anchor_syslog)."
            ),
        ] = None,
    ) -> None:
        """Write the chain's head (entry number and MAC) where this process cannot rewrite
        it (run it hourly); 'audit verify' then notices removed newest entries. Refuses
        when the chain does not verify."""
        current = settings()
        file = file or current.audit_anchor_path
        syslog = syslog or current.audit_anchor_syslog
        if file is None and syslog is None:
            console.print(
                "[red]no place for the anchor: set WEGWIJZER_AUDIT_ANCHOR_PATH (or "
                "WEGWIJZER_AUDIT_ANCHOR_SYSLOG), or pass --file or --syslog[/red]"
            )
            raise typer.Exit(2)
        log = _open_log(current, console)
        report = log.verify(_anchors(file, console))
        if not report.ok:
            _print_report(report, console)
            console.print("[red]not anchored: the audit log does not verify[/red]")
            raise typer.Exit(1)
        if report.last_seq is None or report.last_hash is None:
            console.print("nothing to anchor: the audit log is empty")
            return
        anchor = new_anchor(report.last_seq, report.last_hash, log.key.id if log.key else "")
        try:
            if file is not None:
                append_to_file(file, anchor)
            if syslog is not None:
                send_to_syslog(syslog, anchor)
        except AnchorError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        places = [str(file)] if file is not None else []
        places += [f"syslog {syslog}"] if syslog is not None else []
        console.print(
            f"anchored entry {anchor.seq} ({anchor.head[:16]}…) to {' and '.join(places)}"
        )

    @audit_app.command("export")
    def audit_export(
        format: Annotated[FileFormat, typer.Option(help="jsonl or csv.")] = FileFormat.jsonl,
        out: Annotated[Path | None, typer.Option(help="File to write (default: stdout).")] = None,
        days: Annotated[int | None, typer.Option(min=1, help="Only the last N days.")] = None,
    ) -> None:
        """Export entries with their hashes, for an auditor (JSONL can be verified)."""
        fmt: ExportFormat = format.value
        log = _open_log(settings(), console)
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
        _open_log(current, console).append(
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
            removed = _open_log(current, console).prune(
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
        _open_log(current, console).append(
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
        items = open_conversation_store(current).iter_feedback()
        with _output(out) as stream:
            count = write_records((vars(item) for item in items), stream, fmt)
        _open_log(current, console).append(
            command_line_origin(),
            action="feedback.export",
            object="feedback",
            result="success",
            details={"format": fmt, "count": count},
        )
        console.print(f"exported {count} feedback items")


@contextmanager
def _output(out: Path | None) -> Iterator[TextIO]:
    """Where an export is written as it is read: stdout, or ``out``, which appears only
    when the export is complete (``<out>.partial`` until then)."""
    if out is None:
        yield sys.stdout
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as stream:
            yield stream
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)


def _key(current: Settings, console: Console) -> AuditKey | None:
    """The audit key; exit 2 with the reason when it is configured but unusable."""
    try:
        return audit_key(current)
    except AuditKeyError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def _open_log(current: Settings, console: Console) -> AuditLog:
    return AuditLog(current.audit_path, _key(current, console))


def _anchors(path: Path | None, console: Console) -> list[Anchor]:
    if path is None:
        return []
    if not path.exists():
        console.print(f"[yellow]no anchors in {path} yet[/yellow]")
        return []
    try:
        return read_anchors(path)
    except AnchorError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def _verify_export(file: Path, key: AuditKey | None, console: Console) -> ChainReport:
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
    return check_chain(entries, entries[0].seq, entries[0].prev_hash, key=key)


def _print_report(report: ChainReport, console: Console) -> None:
    if report.ok:
        span = f" ({report.first_seq}–{report.last_seq})" if report.entries else ""
        anchored = f", {report.anchors_checked} anchors match" if report.anchors_checked else ""
        console.print(f"audit log OK: {report.entries} entries{span}, hash chain intact{anchored}")
    else:
        console.print(
            f"[red]audit log BROKEN at entry {report.broken_seq}: {report.problem}[/red] "
            f"({report.entries} entries verified before it)"
        )
    for note in report.notes:
        console.print(f"[yellow]note: {note}[/yellow]")
