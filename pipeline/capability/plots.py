"""The POD figure of one requirement: hit/miss points, fitted curve, lower band, a90 marks.

Drawn with matplotlib's object API on an Agg canvas (no global pyplot state, no display),
saved without a version string and with seeded jitter: identical inputs, identical bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from pipeline.capability.pod import Assessment, check_hit_miss
from pipeline.errors import SealauditError

DPI = 100
PNG_METADATA = {"Software": None}  # no version string: identical inputs, identical bytes
JITTER = 0.03  # vertical spread of the 0/1 points so that ties stay visible
JITTER_SEED = 0


def plot_pod(
    assessment: Assessment,
    sizes: ArrayLike,
    hits: ArrayLike,
    required: float,
    unit: str,
    title: str,
    path: Path,
) -> None:
    """Write the POD figure of ``assessment`` (fitted on ``sizes``, ``hits``) to ``path`` (PNG).

    Args:
        assessment: what ``assess`` returned for these data.
        sizes: characteristic defect size per event, shape (n,).
        hits: whether each event was detected, shape (n,).
        required: the requirement's a90/95 limit, in ``unit``.
        unit: the size unit for the axis label ("mm", "fraction").
        title: the figure title (e.g. the requirement id).
        path: the PNG to write.
    """
    if not (np.isfinite(required) and required > 0):
        raise SealauditError(f"POD plot {title}: the required size must be > 0, got {required}")
    log_a, y = check_hit_miss(sizes, hits)
    a = np.exp(log_a)
    figure = Figure(figsize=(6.5, 4.2), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    _points(axes, a, y)
    if assessment.fit is not None and a.size:
        grid = np.geomspace(a.min(), a.max(), 200)  # the tested range only: no extrapolation
        axes.plot(grid, assessment.fit.pod(grid), color="black", label="POD fit")
        band = f"lower {assessment.confidence:.0%} bound"
        axes.plot(grid, assessment.fit.pod_lower(grid), "k--", linewidth=1, label=band)
    axes.axhline(assessment.reliability, color="grey", linewidth=0.8, linestyle=":")
    _marks(axes, assessment, required, unit)
    _frame(axes, a, required, unit, f"{title}: {assessment.method}")
    figure.tight_layout()
    figure.savefig(path, metadata=PNG_METADATA)


def _points(axes: Axes, sizes: np.ndarray, hits: np.ndarray) -> None:
    jitter = np.random.default_rng(JITTER_SEED).uniform(-JITTER, JITTER, sizes.size)
    for value, colour, label in ((1.0, "tab:blue", "hit"), (0.0, "tab:red", "miss")):
        chosen = hits == value
        axes.scatter(
            sizes[chosen], value + jitter[chosen], s=12, alpha=0.6, color=colour, label=label
        )


def _marks(axes: Axes, assessment: Assessment, required: float, unit: str) -> None:
    marks = (
        ("a90", assessment.a90, "tab:green", "-."),
        ("a90/95", assessment.a90_95, "tab:purple", "-"),
        ("required", required, "tab:orange", ":"),
    )
    for name, value, colour, style in marks:
        if value is not None and np.isfinite(value):
            label = f"{name} = {value:.3g} {unit}"
            axes.axvline(value, color=colour, linestyle=style, linewidth=1.2, label=label)


def _frame(axes: Axes, sizes: np.ndarray, required: float, unit: str, title: str) -> None:
    span = np.concatenate([sizes, [required]])
    axes.set_xscale("log")
    axes.set_xlim(span.min() / 1.3, span.max() * 1.3)
    axes.set(xlabel=f"defect size ({unit})", ylabel="probability of detection", ylim=(-0.08, 1.08))
    axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3, which="both")
    axes.legend(loc="center right", fontsize=7)
