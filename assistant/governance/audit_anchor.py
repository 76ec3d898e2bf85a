"""Anchors: the chain's head (sequence number and hash) written where the process that
writes the log cannot rewrite it, so that removing the newest entries is noticed.

An anchor is one line, ``wegwijzer-audit-anchor {json}``, appended to a file (make it
append-only: ``chattr +a``, outside ``data_dir``) or sent to syslog. ``read_anchors``
takes any text file and uses only the lines with that marker, so a syslog file (or the
lines grepped from it) can be checked as it is.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from logging.handlers import SysLogHandler
from pathlib import Path

MARKER = "wegwijzer-audit-anchor"


class AnchorError(RuntimeError):
    """Anchors cannot be read or written; the message says where and why."""


@dataclass(frozen=True)
class Anchor:
    """The head of the chain at ``at``: entry ``seq`` had hash ``head``."""

    seq: int
    head: str
    at: str
    key_id: str = ""

    def line(self) -> str:
        return f"{MARKER} {json.dumps(asdict(self), sort_keys=True)}"


def new_anchor(seq: int, head: str, key_id: str) -> Anchor:
    """An anchor of (seq, head) stamped with the current time (UTC)."""
    return Anchor(seq, head, datetime.now(UTC).isoformat(timespec="seconds"), key_id)


def append_to_file(path: Path, anchor: Anchor) -> None:
    """Append the anchor and flush it to disk (works on an append-only file)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(anchor.line() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise AnchorError(f"cannot append to {path}: {exc.strerror or exc}") from exc


class _StrictSysLogHandler(SysLogHandler):
    """Sends at priority auth.notice, and raises what ``emit`` caught instead of printing
    it: an anchor must not get lost quietly."""

    def mapPriority(self, levelName: str) -> str:
        return "notice"

    def handleError(self, record: logging.LogRecord) -> None:
        raise


def send_to_syslog(address: str, anchor: Anchor) -> None:
    """Send the anchor to syslog: ``/dev/log`` (a socket path) or ``host[:port]`` (UDP)."""
    try:
        handler = _StrictSysLogHandler(
            address=syslog_address(address), facility=SysLogHandler.LOG_AUTH
        )
    except OSError as exc:
        raise AnchorError(f"cannot reach syslog at {address}: {exc.strerror or exc}") from exc
    handler.ident = "wegwijzer: "
    record = logging.LogRecord(MARKER, logging.INFO, __file__, 0, anchor.line(), None, None)
    try:
        handler.emit(record)
    except OSError as exc:
        raise AnchorError(f"cannot send to syslog at {address}: {exc.strerror or exc}") from exc
    finally:
        handler.close()


def syslog_address(address: str) -> str | tuple[str, int]:
    """``/dev/log`` stays a path; ``host`` and ``host:port`` become a UDP address."""
    if address.startswith("/"):
        return address
    host, _, port = address.rpartition(":") if ":" in address else (address, "", "514")
    if not host or not port.isdigit():
        raise AnchorError(f"not a syslog address: {address!r} (use /dev/log or host:port)")
    return host.strip("[]"), int(port)


def read_anchors(path: Path) -> list[Anchor]:
    """Every anchor in ``path``, in file order; lines without the marker are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AnchorError(f"cannot read anchors from {path}: {exc.strerror or exc}") from exc
    anchors = []
    for number, line in enumerate(lines, 1):
        _, marker, rest = line.partition(MARKER)
        if not marker:
            continue
        try:
            data = json.loads(rest.strip().rstrip("\x00"))
            anchors.append(
                Anchor(int(data["seq"]), str(data["head"]), str(data["at"]), data.get("key_id", ""))
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise AnchorError(f"{path}:{number}: not a valid anchor ({exc})") from exc
    return anchors
