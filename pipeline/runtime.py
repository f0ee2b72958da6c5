"""Process settings shared by the stages and commands: torch threads, warnings said once.

Third-party libraries repeat their warnings per call (MLflow's note on pickled models came
once per registered model) in words meant for their own users. ``say_warnings_once``, run by
``pipeline.cli.configure_logging`` (so by every stage's ``main`` and every command), lets
each warning through once per process and says the known ones (``KNOWN_WARNINGS``) in words
that fit sealaudit, or not at all when there is nothing to act on.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.errors import SealauditError

log = logging.getLogger(__name__)

THREADS_ENV = "SEALAUDIT_TORCH_THREADS"


def torch_threads(configured: int) -> int:
    """Threads for torch: ``$SEALAUDIT_TORCH_THREADS`` if set, else the stage's param."""
    raw = os.environ.get(THREADS_ENV)
    if raw is None:
        return configured
    if not raw.isdigit() or int(raw) < 1:
        raise SealauditError(f"${THREADS_ENV}={raw!r}: must be a positive integer")
    return int(raw)


@dataclass(frozen=True)
class KnownWarning:
    """A third-party warning sealaudit expects, and what it means here.

    Attributes:
        logger: the logger that says it (``""``: a ``warnings.warn`` warning).
        contains: words that identify it.
        plain: what it means for a sealaudit user, said once per process; ``""`` silences it
            (nothing in it for the user to act on).
    """

    logger: str
    contains: str
    plain: str


KNOWN_WARNINGS = (
    KnownWarning(
        "mlflow.pyfunc",
        "serialized using CloudPickle",
        "MLflow stores the packaged models as Python pickles (CloudPickle), as sealaudit "
        "intends: load models only from this project's own registry, since a pickle can run "
        "code when it is loaded",
    ),
    # The signature is declared (registry.packaging.model_signature); an image example would
    # only copy a picture into every model.
    KnownWarning("", "An input example was not provided", ""),
    # SQLAlchemy deprecation inside MLflow's own tracking store: nothing a user can change.
    KnownWarning("", "``noload`` loader strategy is deprecated", ""),
)


class SaidOnce(logging.Filter):
    """Lets a warning through once per process: a known one in plain words, others as they are.

    A record below WARNING always passes; a warning already said (same logger, same words)
    is dropped, so a message repeated per model, score or image appears once.
    """

    def __init__(self, known: tuple[KnownWarning, ...] = KNOWN_WARNINGS) -> None:
        super().__init__()
        self.known, self.said = known, set[str]()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or getattr(record, "said_once", False):
            return True  # a record that passed here already (logger, then handler) passes
        text = record.getMessage()
        match = next((k for k in self.known if k.contains in text), None)
        key = match.contains if match else f"{record.name}\0{text}"
        if key in self.said:
            return False
        self.said.add(key)
        record.said_once = True
        if match is None:
            return True
        record.msg, record.args = match.plain, ()
        return bool(match.plain)


def _show_warning_once(said: SaidOnce, show: Callable[..., None]) -> Callable[..., None]:
    """``warnings.showwarning`` that routes known warnings through ``said``."""

    def showwarning(message: Warning | str, category: type[Warning], *args: Any) -> None:
        if not any(k.contains in str(message) for k in said.known):
            show(message, category, *args)
            return
        record = logging.LogRecord("py.warnings", logging.WARNING, "", 0, str(message), (), None)
        if said.filter(record):
            log.warning(record.getMessage())

    showwarning.said_once = said  # type: ignore[attr-defined]  # marks it installed
    return showwarning


def say_warnings_once(handlers: Sequence[logging.Handler] = ()) -> SaidOnce:
    """Install ``SaidOnce`` on ``handlers`` (those the caller owns), the known warnings'
    loggers and ``warnings.showwarning``; idempotent: a second call reuses the first filter.

    Handlers someone else installed (pytest's, an embedding application's) are left alone.
    """
    installed = getattr(warnings.showwarning, "said_once", None)
    said = installed if isinstance(installed, SaidOnce) else SaidOnce()
    if installed is None:
        warnings.showwarning = _show_warning_once(said, warnings.showwarning)
    loggers = [logging.getLogger(k.logger) for k in said.known if k.logger]
    for target in [*handlers, *loggers]:
        if said not in target.filters:
            target.addFilter(said)
    return said
