"""Process settings shared by the stages and commands: torch numerics, warnings said once.

Torch's CPU results depend on the kernels it picks for the machine (AVX-512 or AVX2 code in
ATen, oneDNN and MKL) and on the thread count: measured on this project's training (3 epochs,
attention AE), an AVX-512 machine and an AVX2-only one gave different weights, and 1, 2 and 4
threads gave three different models. ``configure_torch`` pins both (AVX2 kernels everywhere,
MKL's conditional numerical reproducibility, the stage's thread count), so the same data,
params and seed give the same bytes on any x86-64 machine with AVX2, at no measured speed cost.

Third-party libraries repeat their warnings per call (MLflow's note on pickled models came
once per registered model) in words meant for their own users. ``say_warnings_once``, run by
``configure_logging`` (so by every stage's ``main`` and every command), lets
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
NATIVE_KERNELS_ENV = "SEALAUDIT_NATIVE_KERNELS"
# Read by ATen, MKL and oneDNN when they first compute, so set before any tensor maths.
PINNED_KERNELS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def torch_threads(configured: int) -> int:
    """Threads for torch: ``$SEALAUDIT_TORCH_THREADS`` if set, else the stage's param."""
    raw = os.environ.get(THREADS_ENV)
    if raw is None:
        return configured
    if not raw.isdigit() or int(raw) < 1:
        raise SealauditError(f"${THREADS_ENV}={raw!r}: must be a positive integer")
    return int(raw)


def pin_cpu_kernels() -> dict[str, str]:
    """Pin torch's CPU kernels to AVX2 (unless ``$SEALAUDIT_NATIVE_KERNELS=1``); return them.

    A variable the user has set is kept (and so recorded); call before the first tensor maths
    of the process, which is when the libraries read them.
    """
    if os.environ.get(NATIVE_KERNELS_ENV) == "1":
        log.warning(
            "$%s=1: torch uses this machine's fastest kernels; results are not byte-identical "
            "to other machines' (unset it for reproducible evidence)",
            NATIVE_KERNELS_ENV,
        )
        return {"kernels": "native"}
    for name, value in PINNED_KERNELS.items():
        os.environ.setdefault(name, value)
    return {name: os.environ[name] for name in PINNED_KERNELS}


def configure_torch(configured_threads: int) -> dict[str, Any]:
    """Pin kernels and threads for reproducible torch maths; return what is in force.

    The result goes into the stage's evidence: the thread count is part of what makes two
    runs agree bit for bit (``$SEALAUDIT_TORCH_THREADS`` changes the numbers, and says so).
    """
    import torch

    kernels = pin_cpu_kernels()
    threads = torch_threads(configured_threads)
    if threads != configured_threads:
        log.warning(
            "$%s=%d overrides the configured %d threads: results will differ in the last bits "
            "from a run with %d",
            THREADS_ENV,
            threads,
            configured_threads,
            configured_threads,
        )
    torch.set_num_threads(threads)
    return {
        "threads": threads,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        **kernels,
    }


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


def configure_logging(verbose: bool = False) -> None:
    """One logging setup for commands and stages; each warning is said once, known
    third-party ones in plain words (``say_warnings_once``)."""
    root = logging.getLogger()
    before = list(root.handlers)  # basicConfig adds a handler only when there is none
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    say_warnings_once([h for h in root.handlers if h not in before])
