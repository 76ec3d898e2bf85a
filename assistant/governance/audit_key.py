"""The audit log's HMAC key, from a file (``audit_hmac_key_file``) or the environment
(``WEGWIJZER_AUDIT_HMAC_KEY``); never stored in the database.

Without a key the chain is plain SHA-256 and a warning is logged: it still shows every
edit, but whoever can write the file can recompute it (the anchors written by
``wegwijzer audit anchor`` still catch that). No key is generated into ``data_dir``: a key
beside the database stops nobody who can write the database, and it would make a
restored copy unverifiable on another machine. Production sets a key file outside
``data_dir`` (``openssl rand -hex 32``, mode 600).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from functools import cache

from assistant.settings import Settings

logger = logging.getLogger(__name__)

MIN_KEY_CHARS = 32
_KEY_ID_LABEL = b"wegwijzer audit key id"


class AuditKeyError(RuntimeError):
    """The key is missing, unreadable, too short, or not the one the log is sealed with."""


@dataclass(frozen=True, repr=False)
class AuditKey:
    """A secret for HMAC-SHA256; ``id`` names it in the log without revealing it."""

    secret: bytes

    @property
    def id(self) -> str:
        return hmac.new(self.secret, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]

    def mac(self, message: bytes) -> str:
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return f"AuditKey(id={self.id!r})"


def audit_key(settings: Settings) -> AuditKey | None:
    """The configured key, or None (unkeyed, with a warning) when none is set."""
    path, secret = settings.audit_hmac_key_file, settings.audit_hmac_key
    if path is not None and secret is not None:
        raise AuditKeyError(
            "set the audit key once: audit_hmac_key_file or WEGWIJZER_AUDIT_HMAC_KEY, not both"
        )
    if secret is not None:
        return _checked(secret.get_secret_value(), "WEGWIJZER_AUDIT_HMAC_KEY")
    if path is None:
        _warn_unkeyed()
        return None
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except OSError as exc:
        raise AuditKeyError(
            f"cannot read the audit key file {path} ({exc.strerror}); create it with "
            f"'openssl rand -hex 32 > {path}' and 'chmod 600 {path}'"
        ) from exc
    if mode & 0o077:
        logger.warning("the audit key file %s is readable by others: chmod 600 %s", path, path)
    if path.resolve().is_relative_to(settings.data_dir.resolve()):
        logger.warning(
            "the audit key file %s is inside data_dir: keep it elsewhere (e.g. /etc/wegwijzer), "
            "or whoever has a copy of the data has the key too",
            path,
        )
    return _checked(text, str(path))


def _checked(text: str, source: str) -> AuditKey:
    text = text.strip()
    if len(text) < MIN_KEY_CHARS:
        raise AuditKeyError(
            f"the audit key from {source} is shorter than {MIN_KEY_CHARS} characters; "
            "make one with 'openssl rand -hex 32'"
        )
    return AuditKey(text.encode("utf-8"))


@cache
def _warn_unkeyed() -> None:
    logger.warning(
        "the audit log is not keyed: anyone who can write it can recompute its hash chain; "
        "set WEGWIJZER_AUDIT_HMAC_KEY_FILE (and schedule 'wegwijzer audit anchor')"
    )
