"""Figures of one mode on the test split: ROC, precision-recall, score histogram, confusion.

Drawn with matplotlib's object API on an Agg canvas (no global pyplot state, no display).
Every figure marks the thresholds fitted on val; the operating one is drawn solid. The ROC
and PR points also go to CSV files that ``dvc plots`` can draw.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

from pipeline.models.thresholds import Threshold

log = logging.getLogger(__name__)

PLOT_KINDS = ("roc", "pr", "histogram", "confusion")
DPI = 100
CLASS_COLOURS = {0: "tab:blue", 1: "tab:red"}
PNG_METADATA = {"Software": None}  # no version string: identical inputs, identical bytes


def _figure(size: tuple[float, float]) -> tuple[Figure, Axes]:
    figure = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _save(figure: Figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, metadata=PNG_METADATA)


def _mark_thresholds(
    axes: Axes, points: list[tuple[Threshold, float, float]], operating_id: str
) -> None:
    """Mark (threshold, x, y) points; the operating one larger."""
    for threshold, x, y in points:
        is_operating = threshold.threshold_id == operating_id
        axes.plot(
            [x],
            [y],
            marker="o" if is_operating else "s",
            markersize=9 if is_operating else 6,
            linestyle="none",
            label=f"{threshold.rule}{' (operating)' if is_operating else ''}",
        )


def roc_figure(
    scores: np.ndarray, labels: np.ndarray, thresholds: list[Threshold], operating_id: str
) -> tuple[Figure, dict[str, np.ndarray]]:
    """ROC curve with the thresholds' operating points; also the curve's points."""
    fpr, tpr, cuts = roc_curve(labels, scores)
    figure, axes = _figure((5, 4.5))
    axes.plot(fpr, tpr, color="black", linewidth=1.5, label="test ROC")
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    points = []
    for t in thresholds:
        reject = scores > t.value
        points.append((t, float(np.mean(reject[labels == 0])), float(np.mean(reject[labels == 1]))))
    _mark_thresholds(axes, points, operating_id)
    axes.set(xlabel="false-reject rate (FPR)", ylabel="recall (TPR)", xlim=(0, 1), ylim=(0, 1.02))
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right", fontsize=8)
    return figure, {"fpr": fpr, "tpr": tpr, "threshold": cuts}


def pr_figure(
    scores: np.ndarray, labels: np.ndarray, thresholds: list[Threshold], operating_id: str
) -> tuple[Figure, dict[str, np.ndarray]]:
    """Precision-recall curve with the thresholds' points; also the curve's points."""
    precision, recall, cuts = precision_recall_curve(labels, scores)
    figure, axes = _figure((5, 4.5))
    axes.plot(recall, precision, color="black", linewidth=1.5, label="test PR")
    axes.axhline(float(np.mean(labels)), color="grey", linestyle=":", linewidth=1)
    points = []
    for t in thresholds:
        reject = scores > t.value
        tp = float(np.sum(reject & (labels == 1)))
        prec = tp / max(float(np.sum(reject)), 1.0)
        points.append((t, tp / float(np.sum(labels == 1)), prec))
    _mark_thresholds(axes, points, operating_id)
    axes.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02))
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left", fontsize=8)
    curve = {"recall": recall, "precision": precision, "threshold": np.append(cuts, np.nan)}
    return figure, curve


def histogram_figure(
    scores: np.ndarray, labels: np.ndarray, thresholds: list[Threshold], operating_id: str
) -> Figure:
    """Test score distributions by class with the thresholds as vertical lines."""
    figure, axes = _figure((7, 3.8))
    edges = np.histogram_bin_edges(scores, bins=40).tolist()
    for label, name in ((0, "normal"), (1, "defective")):
        axes.hist(
            scores[labels == label],
            bins=edges,
            alpha=0.55,
            color=CLASS_COLOURS[label],
            label=f"{name} (n={int(np.sum(labels == label))})",
        )
    for t in thresholds:
        operating = t.threshold_id == operating_id
        axes.axvline(
            t.value,
            color="black",
            linestyle="-" if operating else "--",
            linewidth=1.8 if operating else 1.0,
            label=f"{t.rule} = {t.value:.4g}{' (operating)' if operating else ''}",
        )
    axes.set(xlabel=f"score ({thresholds[0].score_name})", ylabel="test images")
    axes.legend(fontsize=8)
    return figure


def confusion_figure(test: dict[str, Any], threshold: Threshold) -> Figure:
    """2 x 2 confusion matrix (rows: truth, columns: decision) at the operating threshold."""
    matrix = np.array([[test["tn"], test["fp"]], [test["fn"], test["tp"]]])
    figure, axes = _figure((4.2, 3.8))
    axes.imshow(matrix, cmap="Blues")
    names = [["TN", "FP"], ["FN", "TP"]]
    for row in range(2):
        for col in range(2):
            dark = matrix[row, col] > matrix.max() / 2
            axes.text(
                col,
                row,
                f"{names[row][col]}\n{matrix[row, col]}",
                ha="center",
                va="center",
                color="white" if dark else "black",
                fontsize=12,
            )
    axes.set_xticks([0, 1], ["accept", "reject"])
    axes.set_yticks([0, 1], ["normal", "defective"])
    axes.set(xlabel="decision", ylabel="truth", title=f"{threshold.rule} @ {threshold.value:.4g}")
    return figure


def write_curve_csv(curve: dict[str, np.ndarray], path: Path) -> None:
    """Columns of equal length as CSV (for ``dvc plots``)."""
    names = list(curve)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(names)
        for row in zip(*(curve[name] for name in names), strict=True):
            writer.writerow([repr(float(v)) for v in row])


def write_mode_plots(
    out_dir: Path,
    mode: str,
    scores: np.ndarray,
    labels: np.ndarray,
    thresholds: list[Threshold],
    operating: Threshold,
    test: dict[str, Any],
) -> dict[str, str]:
    """Write the four PNGs (and ROC/PR CSVs) of a mode; return ``{kind: file name}``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = {kind: f"{kind}_{mode}.png" for kind in PLOT_KINDS}
    roc, roc_points = roc_figure(scores, labels, thresholds, operating.threshold_id)
    _save(roc, out_dir / names["roc"])
    write_curve_csv(roc_points, out_dir / f"roc_{mode}.csv")
    pr, pr_points = pr_figure(scores, labels, thresholds, operating.threshold_id)
    _save(pr, out_dir / names["pr"])
    write_curve_csv(pr_points, out_dir / f"pr_{mode}.csv")
    _save(
        histogram_figure(scores, labels, thresholds, operating.threshold_id),
        out_dir / names["histogram"],
    )
    _save(confusion_figure(test, operating), out_dir / names["confusion"])
    log.info("%s: plots written to %s", mode, out_dir)
    return names
