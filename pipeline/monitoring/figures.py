"""Figures of the monitoring mode: contribution-map overlays and the control chart of a batch.

Figures are drawn with matplotlib's object API on an Agg canvas (no global pyplot state), so
they can be produced from stages, commands and tests alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

MAX_LOT_LABELS = 40


@dataclass(frozen=True)
class Example:
    """One image to overlay: (H, W) pixels in [0, 1], its (H, W) map, optional mask, a title."""

    image: np.ndarray
    heatmap: np.ndarray
    title: str
    mask: np.ndarray | None = None


def contribution_figure(examples: list[Example], path: Path) -> None:
    """Images with the positive part of their contribution maps overlaid, on one colour scale.

    One shared scale (the 99th percentile of all positive contributions) makes the rows
    comparable: a normal image should look quiet next to a defective one. Defect masks, when
    given, are outlined in cyan.
    """
    positive = [np.clip(e.heatmap, 0.0, None) for e in examples]
    pooled = np.concatenate([p.ravel() for p in positive]) if positive else np.zeros(1)
    scale = float(np.percentile(pooled, 99)) or 1.0
    height, width = examples[0].image.shape if examples else (1, 4)
    rows = max(len(examples), 1)
    figure = Figure(
        figsize=(9, 0.3 + rows * (8 * height / width + 0.3)), dpi=110, layout="constrained"
    )
    FigureCanvasAgg(figure)
    axes_list = figure.subplots(rows, 1, squeeze=False)[:, 0]
    for axes, example, heat in zip(axes_list, examples, positive, strict=False):
        axes.imshow(example.image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        overlay = axes.imshow(heat / scale, cmap="inferno", vmin=0, vmax=1, alpha=0.55)
        if example.mask is not None and example.mask.any():
            axes.contour(example.mask.astype(float), levels=[0.5], colors="cyan", linewidths=0.8)
        axes.set_title(example.title, fontsize=8)
        axes.set_axis_off()
    if examples:
        colorbar = figure.colorbar(overlay, ax=list(axes_list), fraction=0.02)
        colorbar.set_label(f"contribution / {scale:.3g}", fontsize=7)
    figure.savefig(path)


@dataclass(frozen=True)
class ChartSeries:
    """What the control-chart figure draws, one value per image in stream order."""

    scores: list[float]
    ewma: list[float]
    ewma_upper: list[float]
    ewma_lower: list[float]
    cusum_upper: list[float]
    cusum_lower: list[float]
    cusum_h: float
    center: float
    threshold: float
    lot_starts: list[tuple[int, str]]
    in_batch: list[bool]
    ewma_label: str = "EWMA"


def control_chart_figure(series: ChartSeries, title: str, path: Path) -> None:
    """Scores with the EWMA and its limits (top), the two CUSUM sides (bottom).

    Lot boundaries are dotted lines labelled with the lot id (at most ``MAX_LOT_LABELS``
    labels); points outside the batch under review (earlier history) are drawn lighter.
    """
    figure = Figure(figsize=(10, 6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True)
    index = np.arange(len(series.scores))
    new = np.asarray(series.in_batch, dtype=bool)
    old = ~new
    scores = np.asarray(series.scores)
    top.scatter(index[old], scores[old], s=6, color="0.7", label="earlier scores")
    top.scatter(index[new], scores[new], s=6, color="tab:blue", label="this batch")
    top.plot(index, series.ewma, color="tab:orange", label=series.ewma_label)
    top.plot(index, series.ewma_upper, "--", color="tab:red", label="EWMA alarm limit")
    top.plot(index, series.ewma_lower, "--", color="0.6", label="lower limit (noted only)")
    top.axhline(series.center, color="0.4", linewidth=0.8, label="reference mean")
    top.axhline(series.threshold, color="tab:purple", linestyle=":", label="threshold")
    top.set(ylabel="monitoring score", title=title)
    top.legend(fontsize=7, loc="upper left", ncols=3)
    bottom.plot(index, series.cusum_upper, color="tab:red", label="CUSUM+ (scores rising)")
    bottom.plot(index, series.cusum_lower, color="tab:green", label="CUSUM- (falling, noted only)")
    bottom.axhline(series.cusum_h, color="k", linestyle="--", label="decision interval h")
    bottom.set(xlabel="image (time order)", ylabel="CUSUM (sd)")
    bottom.legend(fontsize=7, loc="upper left")
    for axes in (top, bottom):
        for start, _ in series.lot_starts:
            axes.axvline(start - 0.5, color="0.85", linestyle=":", linewidth=0.8)
        axes.grid(alpha=0.2)
    step = -(-len(series.lot_starts) // MAX_LOT_LABELS)  # ceiling division
    for start, lot in series.lot_starts[::step]:
        bottom.annotate(lot, (start, 0), fontsize=6, rotation=90, va="bottom", color="0.4")
    figure.savefig(path)
