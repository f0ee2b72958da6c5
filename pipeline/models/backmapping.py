"""Working-frame maps back onto the image as captured: the inverse of the band alignment.

``pipeline.models.alignment`` resamples each source column so the band's fitted edges land on
fixed rows; a heatmap computed there is meaningless to an operator until it is put back where
each working pixel came from. ``map_to_source`` inverts that resampling (``stretch`` and
``fixed`` scales, and the plain resize of ``kind: none``); source pixels the model never saw
(web far above or below the band) get 0.
"""

from __future__ import annotations

import numpy as np
import torch

from pipeline.models.alignment import Alignment, mapped_edges, sample_bilinear


def _working_coordinates(
    geometry: np.ndarray | None,
    alignment: Alignment,
    source: tuple[int, int],
    output: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Working-frame (row (H0, W0), column (W0,)) of every source pixel, in output pixel
    indices (pixel centres on integers): the inverse of ``_sampling_grid``.

    Without geometry the working frame is the source resized (``kind: none``).
    """
    source_h, source_w = source
    out_h, out_w = output
    cols = (np.arange(source_w) + 0.5) * out_w / source_w - 0.5
    y = np.arange(source_h, dtype=np.float64)[:, None]
    if geometry is None or alignment.kind == "none":
        rows = (y + 0.5) * out_h / source_h - 0.5
        return np.broadcast_to(rows, source), cols
    if geometry.shape != (2, source_w):
        raise ValueError(f"geometry {geometry.shape} does not fit a source {source}; want (2, W0)")
    edges = np.asarray(geometry, dtype=np.float64)
    top, bottom = mapped_edges(edges[0], edges[1], alignment)
    row_top, row_bottom = alignment.band_rows[0] * out_h, alignment.band_rows[1] * out_h
    # _sampling_grid sends output edge coordinate u to source row top + (u - row_top) * scale.
    out_per_source_row = (row_bottom - row_top) / (bottom - top)
    rows = row_top + (y - top[None, :]) * out_per_source_row[None, :] - 0.5
    return rows, cols


def map_to_source(
    work_map: np.ndarray,
    geometry: np.ndarray | None,
    alignment: Alignment,
    source: tuple[int, int],
) -> np.ndarray:
    """A working-frame map (a heatmap) -> the frame of the source image it was aligned from.

    Each source pixel samples the map bilinearly where ``align_image`` put it; source pixels
    whose place lies outside the working frame (web far above or below the band) get 0.

    Args:
        work_map: (h, w) map in the frame ``align_image`` / ``align_images`` gave the image.
        geometry: (2, W0) fitted top/bottom source rows per column from ``align_image``, or
            None when the working frame is the source resized (``kind: none``, or an image
            taken as prepared).
        alignment: the alignment that made the working frame (``stretch`` or ``fixed``).
        source: (H0, W0) of the source image.

    Returns:
        (H0, W0) float32 map.
    """
    work = np.asarray(work_map, dtype=np.float32)
    if work.ndim != 2:
        raise ValueError(f"expected one (h, w) map, got shape {work.shape}")
    out_h, out_w = work.shape
    rows, cols = _working_coordinates(geometry, alignment, source, (out_h, out_w))
    grid_x = np.broadcast_to((cols + 0.5) / out_w * 2 - 1, rows.shape)
    grid_y = (rows + 0.5) / out_h * 2 - 1
    grid = torch.from_numpy(np.stack([grid_x, grid_y], axis=-1)[None].astype(np.float32))
    # Border padding keeps the outermost half pixel at full value; the frame test zeroes the rest.
    sampled = sample_bilinear(work, grid, "border")
    inside = (rows >= -0.5) & (rows <= out_h - 0.5)
    return np.where(inside, sampled, 0.0).astype(np.float32)
