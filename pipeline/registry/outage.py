"""A registry that cannot be reached, said in one line that names the store and the retry.

MLflow reports a locked SQLite store (another process holds a write transaction past SQLite's
20 s busy timeout) and an unreachable tracking server (after its HTTP retries) as
``MlflowException`` with the driver's text; users saw SQLAlchemy tracebacks. ``store_errors``
turns those into ``RegistryUnavailable`` (a ``SealauditError``: one line, exit 2); any other
error passes through unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from pipeline.errors import SealauditError

# Text of the driver errors that mean "the store is busy" or "the store is not there".
LOCKED = ("database is locked", "database table is locked")
UNREACHABLE = (
    "Max retries exceeded",
    "Connection refused",
    "Failed to establish a new connection",
    "Read timed out",
    "connection timeout expired",
    "could not connect to server",
    "unable to open database file",
)
RETRIES_HINT = "(MLFLOW_HTTP_REQUEST_MAX_RETRIES and _TIMEOUT set how long MLflow waits)"


class RegistryUnavailable(SealauditError):
    """The MLflow store is locked or unreachable; nothing was recorded."""


def unavailable_reason(error: BaseException) -> str | None:
    """``"locked"`` or ``"unreachable"`` when ``error`` says the store cannot be used, else None."""
    text = str(error)
    if any(marker in text for marker in LOCKED):
        return "locked"
    if any(marker in text for marker in UNREACHABLE):
        return "unreachable"
    return None


@contextlib.contextmanager
def store_errors(store: str, retry: str) -> Iterator[None]:
    """Re-raise a locked or unreachable store as one line naming ``store`` and ``retry``.

    Args:
        store: the tracking URI.
        retry: what the user runs again, and what state was left (e.g. "nothing was
            recorded; run `sealaudit promote ...` again").
    """
    try:
        yield
    except SealauditError:
        raise
    except Exception as error:
        reason = unavailable_reason(error)
        if reason is None:
            raise
        cause = (
            "is locked by another process (SQLite: database is locked)"
            if reason == "locked"
            else f"is unreachable ({_first_cause(error)}) {RETRIES_HINT}"
        )
        raise RegistryUnavailable(f"MLflow registry {store} {cause}: {retry}") from None


def _first_cause(error: BaseException) -> str:
    text = str(error)
    for marker in UNREACHABLE:
        if marker in text:
            return marker.lower()
    return text.splitlines()[0][:120]
