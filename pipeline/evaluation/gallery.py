"""Explainability gallery: test images per outcome with their heatmaps and mask outlines.

Cases per outcome at the operating threshold, chosen deterministically (score, then image id):
true positives and false positives with the highest scores (the clearest rejections and the
worst false alarms), false negatives with the lowest (the worst misses). Each PNG stacks the
input with the ground-truth mask's outline, the reconstruction (when the mode has one), and
the heatmap over the input with the same outline. Every heatmap of a gallery is drawn on one
colour scale (:func:`heatmap_scale`), stated in each title and in the evidence, so a miss never
looks hotter than a rejection only because its own map was stretched to fill the colours.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pipeline.evaluation.inference import Scored

log = logging.getLogger(__name__)

KINDS = ("true_positive", "false_positive", "false_negative")
GALLERY_DIR = "gallery"
MASK_COLOUR = "lime"
PNG_METADATA = {"Software": None}


def select_cases(
    scores: np.ndarray, labels: np.ndarray, image_ids: tuple[str, ...], value: float, per_kind: int
) -> dict[str, list[int]]:
    """Indices of up to ``per_kind`` images per outcome of ``score > value``."""
    reject = scores > value
    members = {
        "true_positive": np.flatnonzero(reject & (labels == 1)),
        "false_positive": np.flatnonzero(reject & (labels == 0)),
        "false_negative": np.flatnonzero(~reject & (labels == 1)),
    }
    chosen = {}
    for kind, index in members.items():
        sign = 1.0 if kind == "false_negative" else -1.0
        ordered = sorted(index.tolist(), key=lambda i: (sign * scores[i], image_ids[i]))
        chosen[kind] = ordered[:per_kind]
    return chosen


# Each map's upper percentile, not its maximum, so one hot pixel does not dim a whole gallery.
MAP_PERCENTILE = 99.5


def heatmap_scale(heatmaps: np.ndarray | None, cases: dict[str, list[int]]) -> float | None:
    """The one colour-scale top of a gallery: the largest ``MAP_PERCENTILE`` percentile over
    the heatmaps of all its cases ((N, H, W) maps; None when the mode has no heatmaps)."""
    chosen = sorted({i for index in cases.values() for i in index})
    if heatmaps is None or not chosen:
        return None
    tops = [float(np.percentile(heatmaps[i], MAP_PERCENTILE)) for i in chosen]
    return max(max(tops), 1e-6)


def render_case(
    path: Path,
    title: str,
    image: np.ndarray,
    mask: np.ndarray | None,
    heatmap: np.ndarray | None,
    reconstruction: np.ndarray | None = None,
    scale: float | None = None,
) -> None:
    """One gallery PNG: input, reconstruction (optional), heatmap overlay on the colour scale
    0 to ``scale`` (the gallery's; the map's own when None); (H, W) arrays."""
    panels: list[tuple[str, np.ndarray, np.ndarray | None]] = [("input", image, None)]
    if reconstruction is not None:
        panels.append(("reconstruction", reconstruction, None))
    if heatmap is not None:
        panels.append(("heatmap", image, heatmap))
    height, width = image.shape
    panel_height = max(1.2, 8.0 * height / width + 0.4)
    figure = Figure(figsize=(8.0, panel_height * len(panels) + 0.3), dpi=100)
    FigureCanvasAgg(figure)
    figure.suptitle(title, fontsize=9)
    for row, (name, picture, overlay) in enumerate(panels, start=1):
        axes = figure.add_subplot(len(panels), 1, row)
        axes.imshow(picture, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        if overlay is not None:
            top = scale or max(float(np.percentile(overlay, MAP_PERCENTILE)), 1e-6)
            shown = axes.imshow(overlay, cmap="inferno", alpha=0.55, vmin=0.0, vmax=top)
            figure.colorbar(shown, ax=axes, fraction=0.02, pad=0.01)
        if mask is not None and mask.any() and name != "reconstruction":
            axes.contour(mask.astype(float), levels=[0.5], colors=MASK_COLOUR, linewidths=0.8)
        axes.set_ylabel(name, fontsize=8)
        axes.set_xticks([])
        axes.set_yticks([])
    figure.tight_layout()
    figure.savefig(path, metadata=PNG_METADATA)


def write_gallery(
    out_dir: Path,
    mode: str,
    scored: Scored,
    labels: np.ndarray,
    image_ids: tuple[str, ...],
    masks: np.ndarray | None,
    value: float,
    per_kind: int,
) -> tuple[dict[str, list[str]], float | None]:
    """Write the gallery PNGs of a mode; return ``{kind: [paths relative to out_dir]}`` and
    the colour-scale top every heatmap of the gallery is drawn with (None without heatmaps).

    Args:
        out_dir: the stage's output folder (PNGs go to ``out_dir/gallery``).
        mode: ``inline`` or ``monitoring`` (file name prefix).
        scored: test scores with ``inputs`` (and heatmaps, reconstructions when available).
        labels: (N,) test labels.
        image_ids: (N,) ids, named in each figure's title.
        masks: (N, H, W) ground-truth masks at the working resolution, or None.
        value: the operating threshold.
        per_kind: images per outcome.
    """
    if scored.inputs is None:
        raise ValueError("the gallery needs the scored images (score with keep_maps=True)")
    folder = out_dir / GALLERY_DIR
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[str]] = {}
    cases = select_cases(scored.scores, labels, image_ids, value, per_kind)
    scale = heatmap_scale(scored.heatmaps, cases)
    shared = "" if scale is None else f"; heatmap scale 0 to {scale:.4g}, one for the gallery"
    for kind in KINDS:
        files[kind] = []
        for rank, i in enumerate(cases[kind]):
            name = f"{GALLERY_DIR}/{mode}_{kind}_{rank}.png"
            title = f"{kind.replace('_', ' ')}: {image_ids[i]}  score {scored.scores[i]:.4g}"
            render_case(
                out_dir / name,
                f"{title} (threshold {value:.4g}{shared})",
                scored.inputs[i],
                None if masks is None else masks[i],
                None if scored.heatmaps is None else scored.heatmaps[i],
                None if scored.reconstructions is None else scored.reconstructions[i],
                scale,
            )
            files[kind].append(name)
    log.info("%s gallery: %s", mode, {k: len(v) for k, v in files.items()})
    return files, scale
