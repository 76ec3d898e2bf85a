"""``wegwijzer backup`` and ``wegwijzer restore``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from assistant.settings import Settings


def register(app: typer.Typer, settings: Callable[[], Settings], console: Console) -> None:
    """Add the ``backup`` and ``restore`` commands to ``app``."""

    @app.command()
    def backup(
        to: Annotated[
            Path, typer.Option("--to", help="A .tar.gz file, or a directory for a dated file.")
        ],
    ) -> None:
        """Back up the index of every collection, conversations and feedback, API keys and
        the audit log into one file (safe while the server runs)."""
        from assistant.governance.commands import command_line_origin
        from assistant.operations.backup import create_backup

        report = create_backup(settings(), to, command_line_origin())
        collections = ", ".join(f"{c} ({n} records)" for c, n in report.collections.items())
        console.print(
            f"[green]backup written[/green] {report.path}: index {collections or 'empty'}, "
            f"{report.conversation_records} conversation records, "
            f"{', '.join(f for f in report.files if f.endswith('.sqlite'))}"
        )
        typer.echo(str(report.path))

    @app.command()
    def restore(
        file: Annotated[Path, typer.Argument(help="A file made by 'wegwijzer backup'.")],
        force: Annotated[
            bool,
            typer.Option(
                "--force", help="Restore over existing data (replaced files are kept aside)."
            ),
        ] = False,
    ) -> None:
        """Restore a backup; refuses a target that holds data unless --force. Stop the
        server first."""
        from assistant.governance.commands import command_line_origin
        from assistant.operations.backup import BackupError, restore_backup

        try:
            report = restore_backup(settings(), file, command_line_origin(), force=force)
        except BackupError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
        for aside in report.kept_aside:
            console.print(f"kept the replaced file as {aside}")
        collections = ", ".join(f"{c} ({n} records)" for c, n in report.collections.items())
        console.print(
            f"[green]restored[/green] index {collections or 'empty'}, "
            f"{report.conversation_records} conversation records, "
            f"audit log verified ({report.audit_entries} entries)"
        )
