"""The key that authenticates audit entries: HMAC-SHA256, kept outside the log and the repo.

A plain hash chain proves only that lines agree with each other: anyone who can write the log
can append a line with a correctly computed ``hash``. Each entry therefore also carries
``mac`` = HMAC-SHA256(key, hash) and ``key_id`` (the first 16 hex digits of the key's
SHA-256, so a check against the wrong key says so; both computed in ``pipeline.registry.audit``).
The key lives in a file readable by its
owner only (``~/.config/sealaudit/audit.key``, or ``$SEALAUDIT_AUDIT_KEY_FILE``), is created
on the first signed decision, and never travels with the repository or the log.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from pipeline.errors import SealauditError

log = logging.getLogger(__name__)

KEY_FILE_ENV = "SEALAUDIT_AUDIT_KEY_FILE"
DEFAULT_KEY_FILE = Path("~/.config/sealaudit/audit.key")
KEY_BYTES = 32


class AuditKeyError(SealauditError):
    """The audit key cannot be read, or is not kept the way it must be."""


def key_path() -> Path:
    """``$SEALAUDIT_AUDIT_KEY_FILE`` if set, else ``~/.config/sealaudit/audit.key``."""
    configured = os.environ.get(KEY_FILE_ENV, "").strip()
    return Path(configured or DEFAULT_KEY_FILE).expanduser().resolve()


def signing_key(path: Path | None = None) -> bytes:
    """The key that signs decisions: the one in ``path`` (default ``key_path()``), created
    (0600, with a notice) when there is none yet."""
    path = Path(path) if path is not None else key_path()
    return load_key(path) or _create(_outside_repository(path))


def load_key(path: Path | None = None) -> bytes | None:
    """The key in ``path`` (default ``key_path()``); None when there is none (never creates).

    Raises:
        AuditKeyError: the file is readable by others, or does not hold a key.
    """
    path = Path(path) if path is not None else key_path()
    if not path.is_file():
        return None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise AuditKeyError(
            f"audit key {path} is readable by others (mode {mode:04o}): `chmod 600 {path}`"
        )
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) < KEY_BYTES:
        raise AuditKeyError(
            f"audit key {path} holds no {KEY_BYTES}-byte hex key: restore it from its backup"
        )
    return key


def _outside_repository(path: Path) -> Path:
    """``path``, unless it lies in the repository, where it would travel with the log."""
    from pipeline.registry.tracking import repo_root

    root = repo_root()
    if (root / "dvc.yaml").is_file() and path.resolve().is_relative_to(root):
        raise AuditKeyError(
            f"audit key {path} would be inside the repository {root} and travel with the "
            f"log: point ${KEY_FILE_ENV} outside it (default {DEFAULT_KEY_FILE})"
        )
    return path


def _create(path: Path) -> bytes:
    key = secrets.token_bytes(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # O_EXCL: two first decisions racing must not each write a different key.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
    log.warning(
        "created the audit key %s (mode 0600): it authenticates every audit entry; back it up "
        "apart from the log (without it `sealaudit audit verify` cannot check the trail)",
        path,
    )
    return key
