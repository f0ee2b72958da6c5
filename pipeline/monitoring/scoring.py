"""The monitoring mode's building blocks: encoder features and contribution heatmaps.

The features of the monitor's layer are flattened in C order (``torch.flatten``); the score
is the Mahalanobis distance of the kept dimensions. Scoring images end to end is the monitoring
detector's job (``pipeline.detector.monitoring``, through ``FeatureDistanceScorer``), the one
monitoring scorer of the stages, the packaged model and ``sealaudit monitor``.

The heatmap of this mode is the per-location contribution to the squared distance
(``RandomFeatureMahalanobis.contribution_map``). Only ``n_features_kept`` of the C*h*w
dimensions are kept, so the raw map is a scatter of isolated cells; it is smoothed with a
Gaussian whose width is half the mean spacing of the kept locations, then upsampled to the
working resolution. Values are squared-distance contributions per feature cell (may be
negative where a correlated deviation explains another away); display the positive part.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from scipy import ndimage
from torch.nn import functional as F

from pipeline.models.autoencoder import AttentionAutoencoder
from pipeline.monitoring.fitted import FittedMonitor

log = logging.getLogger(__name__)

DEFAULT_BATCH = 32


def extract_features(
    model: AttentionAutoencoder, images: np.ndarray, layer: str, batch_size: int = DEFAULT_BATCH
) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Flattened encoder features of prepared images.

    Args:
        model: autoencoder (put in eval mode here: BatchNorm and dropout deterministic).
        images: (N, H, W) float32 at the model's working resolution.
        layer: ``enc1`` ... or ``bottleneck``.
        batch_size: images per forward pass.

    Returns:
        (N, C*h*w) float32 features and the (C, h, w) shape of one image's map.
    """
    model.eval()
    device = next(model.parameters()).device
    chunks, shape = [], (0, 0, 0)
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(images[start : start + batch_size]))
            maps = model.encode_features(batch[:, None].to(device), layer)
            shape = (int(maps.shape[1]), int(maps.shape[2]), int(maps.shape[3]))
            chunks.append(maps.flatten(1).cpu().numpy().astype(np.float32))
    if not chunks:
        raise ValueError("extract_features: no images given")
    return np.concatenate(chunks), shape


def feature_shape(model: AttentionAutoencoder, layer: str) -> tuple[int, int, int]:
    """(C, h, w) of one image's ``layer`` map, from a dry pass of a blank working-size image."""
    blank = np.zeros((1, model.config.image_height, model.config.image_width), np.float32)
    return extract_features(model, blank, layer, batch_size=1)[1]


def smoothing_sigma(monitor: FittedMonitor) -> float:
    """Gaussian width (feature cells) that merges the kept locations into a readable map."""
    _, height, width = monitor.feature_shape
    kept_cells = np.unique(monitor.estimator.kept_indices_ % (height * width)).size
    return 0.5 * float(np.sqrt(height * width / max(kept_cells, 1)))


def contribution_heatmaps(
    monitor: FittedMonitor, features: np.ndarray, size: tuple[int, int]
) -> np.ndarray:
    """Smoothed contribution maps at image resolution.

    Args:
        monitor: fitted monitor.
        features: (N, C*h*w) flattened features of its layer.
        size: (H, W) output size (the working resolution).

    Returns:
        (N, H, W) float32 contributions to the squared distance, smoothed and upsampled.
    """
    raw = monitor.contribution_map(features)
    sigma = smoothing_sigma(monitor)
    smooth = np.stack([ndimage.gaussian_filter(m, sigma, mode="nearest") for m in raw])
    tensor = torch.from_numpy(smooth.astype(np.float32))[:, None]
    upsampled = F.interpolate(tensor, size=size, mode="bilinear", align_corners=False)
    return upsampled[:, 0].numpy()
