"""Loading a split and scoring it with a trained detector, batch by batch.

A *scorer* maps images at the dataset's resolution to one anomaly score per image (and, on
request, per-pixel maps). It resizes them with the checkpoint's own preprocessing and scores
inside the checkpoint's ROI, exactly as the packaged model does (``registry/pyfunc.py``), so
the evaluated numbers are the served ones. Scoring runs under ``torch.no_grad`` with the model
in eval mode; results do not depend on the batch size.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from tqdm import tqdm

from pipeline.data.images import load_row_mask, load_stack
from pipeline.data.manifest import DatasetError, ManifestRow
from pipeline.data.splits import rows_in_split
from pipeline.errors import SealauditError
from pipeline.models.alignment import Alignment, align_images, prepare_masks
from pipeline.models.autoencoder import AttentionAutoencoder
from pipeline.models.checkpoint import CheckpointMeta, preprocess_masks, preprocess_with_geometry
from pipeline.models.four_ssim import four_ms_ssim, four_ssim
from pipeline.models.pooling import smoothed_max
from pipeline.models.scores import SCORE_FUNCTIONS
from pipeline.models.seal_path import PathCalibration, combined_heatmap, cross_band_map
from pipeline.monitoring.fitted import FittedMonitor
from pipeline.monitoring.scoring import contribution_heatmaps, extract_features

log = logging.getLogger(__name__)

PATH_SCORE = "four_ms_ssim_path"


@dataclass(frozen=True)
class SplitImages:
    """One split's images and labels, at the dataset's resolution.

    Attributes:
        split: split name.
        image_ids: (N,) ids in manifest order.
        labels: (N,) 0 normal / 1 defective.
        defect_types: (N,) defect type names (``none`` for normal images).
        images: (N, H0, W0) float32 in [0, 1].
        masks: (N, H0, W0) bool ground-truth defect masks, or None when not loaded.
    """

    split: str
    image_ids: tuple[str, ...]
    labels: np.ndarray
    defect_types: np.ndarray
    images: np.ndarray
    masks: np.ndarray | None = None

    def subset(self, index: np.ndarray) -> SplitImages:
        """The images at ``index`` (same split name)."""
        return SplitImages(
            self.split,
            tuple(self.image_ids[i] for i in index),
            self.labels[index],
            self.defect_types[index],
            self.images[index],
            None if self.masks is None else self.masks[index],
        )


def load_split(
    data_dir: Path,
    rows: list[ManifestRow],
    assignment: dict[str, str],
    split: str,
    with_masks: bool = False,
) -> SplitImages:
    """Read every image of ``split`` (and its masks when asked).

    Raises:
        DatasetError: the split is empty.
    """
    selected = rows_in_split(rows, assignment, split)
    if not selected:
        raise DatasetError(f"split '{split}' is empty; rerun `dvc repro prepare`")
    masks = np.stack([load_row_mask(data_dir, row) for row in selected]) if with_masks else None
    return SplitImages(
        split=split,
        image_ids=tuple(row.image_id for row in selected),
        labels=np.array([row.label for row in selected], dtype=np.int64),
        defect_types=np.array([row.defect_type for row in selected], dtype=str),
        images=load_stack(data_dir, selected),
        masks=masks,
    )


@dataclass(frozen=True)
class Scored:
    """Scores of a split and, when asked, what explains them.

    Attributes:
        scores: (N,) anomaly scores, higher = more anomalous.
        heatmaps: (N, H, W) per-pixel anomaly at the working resolution, or None.
        inputs: (N, H, W) images at the working resolution, or None.
        reconstructions: (N, H, W) reconstructions, or None (feature-distance scorers).
    """

    scores: np.ndarray
    heatmaps: np.ndarray | None = None
    inputs: np.ndarray | None = None
    reconstructions: np.ndarray | None = None


class Scorer(Protocol):
    """Scores images given at the dataset's resolution."""

    detector: str
    score_name: str
    meta: CheckpointMeta

    def __call__(self, images: np.ndarray, keep_maps: bool = False) -> Scored:
        """(N, H0, W0) images in [0, 1] -> ``Scored``."""
        ...

    def working_masks(self, images: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """(N, H0, W0) ground-truth masks -> (N, H, W) bool in the frame of the maps."""
        ...

    def working_with_geometry(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(N, H0, W0) -> (N, H, W) model input and its (N, 2, W0) band geometry (or None)."""
        ...

    @property
    def alignment(self) -> Alignment:
        """The frame of the maps."""
        ...


def batches(images: np.ndarray, batch_size: int, what: str = "scoring") -> Iterator[torch.Tensor]:
    """(n, 1, H, W) float32 tensors of consecutive images, with a progress bar."""
    starts = range(0, len(images), batch_size)
    for start in tqdm(starts, desc=what, unit="batch", leave=False, disable=None):
        yield torch.from_numpy(np.ascontiguousarray(images[start : start + batch_size]))[:, None]


class ReconstructionScorer:
    """An autoencoder's reconstruction error under a registry score, inside its ROI.

    Args:
        model: the trained autoencoder (eval mode).
        meta: its checkpoint metadata (working resolution, ROI).
        detector: the model's name in ``artifacts/train``.
        score_name: a key of ``SCORE_FUNCTIONS``; ``four_ms_ssim``/``four_ssim`` also give
            heatmaps and take ``options``; ``four_ms_ssim_path`` is 4-MS-SSIM combined with
            the cross-seal path map (``pipeline.models.seal_path``), max-pooled.
        options: keyword options of ``four_ms_ssim`` (``window``, ``data_range``, pooling).
        batch_size: images per forward pass.
        seal_path: ``max_drift_px`` and ``highpass_px`` of the path map, and for
            ``four_ms_ssim_path`` its fitted ``calibration`` (``PathCalibration.to_dict``);
            without one the scorer can give ``component_maxima`` (to fit it) but no score.
    """

    def __init__(
        self,
        model: AttentionAutoencoder,
        meta: CheckpointMeta,
        detector: str,
        score_name: str,
        options: dict[str, Any] | None = None,
        batch_size: int = 32,
        seal_path: dict[str, Any] | None = None,
    ) -> None:
        self.model, self.meta, self.detector = model.eval(), meta, detector
        self.score_name, self.options, self.batch_size = score_name, dict(options or {}), batch_size
        self.roi = torch.from_numpy(np.asarray(meta.roi.mask, dtype=bool))[None, None]
        self.seal_path = dict(seal_path or {})
        raw = self.seal_path.get("calibration")
        self.calibration = None if raw is None else PathCalibration.from_dict(raw)
        if score_name == PATH_SCORE and not self.seal_path:
            raise SealauditError(f"score {PATH_SCORE} needs the calibrate.seal_path settings")

    @property
    def alignment(self) -> Alignment:
        """The checkpoint's alignment (the frame of the heatmaps)."""
        return self.meta.alignment

    @property
    def pooling_sigma(self) -> float:
        """The smoothing of the max pooling, in working pixels."""
        return float(self.options.get("pooling_sigma", 1.0))

    def with_seal_path(self, seal_path: dict[str, Any]) -> ReconstructionScorer:
        """The same scorer (same loaded model) with other path-map settings, e.g. calibrated."""
        return ReconstructionScorer(
            self.model,
            self.meta,
            self.detector,
            self.score_name,
            self.options,
            self.batch_size,
            seal_path,
        )

    def working(self, images: np.ndarray) -> np.ndarray:
        """(N, H0, W0) -> (N, H, W) at the checkpoint's working resolution."""
        return self.working_with_geometry(images)[0]

    def working_with_geometry(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(N, H0, W0) -> (N, H, W) model input and its (N, 2, W0) band geometry (None: a
        plain resize), see ``alignment.align_images``."""
        return preprocess_with_geometry(images, self.meta)

    def working_masks(self, images: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """(N, H0, W0) ground-truth masks -> (N, H, W) bool, aligned like their images."""
        return preprocess_masks(images, masks, self.meta)

    def pairs(self, images: np.ndarray) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(x, x_hat) batches of (n, 1, H, W) for images already at the working resolution."""
        with torch.no_grad():
            for x in batches(images, self.batch_size, f"{self.detector} reconstruct"):
                yield x, self.model(x)

    def band_rows(self) -> tuple[int, int]:
        """[first, last) working rows of the aligned seal band (the path map's rows)."""
        alignment, height = self.meta.alignment, self.meta.image_height
        if alignment.kind != "band":
            raise SealauditError(
                f"score {PATH_SCORE} needs a band-aligned model; retrain with "
                "train.alignment.kind: band, or set calibrate.score: four_ms_ssim"
            )
        top, bottom = alignment.band_rows
        return int(round(top * height)), int(round(bottom * height))

    def path_components(
        self, x: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, H, W) 4-MS-SSIM heatmap and (n, H, W) path map, both zero outside the ROI."""
        ssim = four_ms_ssim(x, y, self.roi, **self.options).heatmap
        path = cross_band_map(
            x - y,
            self.band_rows(),
            int(self.seal_path["max_drift_px"]),
            int(self.seal_path["highpass_px"]),
        )
        return ssim, path * self.roi[:, 0]

    def component_maxima(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N,) smoothed maxima of the 4-MS-SSIM heatmap and of the path map: what
        ``fit_path_calibration`` matches on normal training images."""
        roi = self.roi[:, 0].float()
        ssim_max, path_max = [], []
        for x, y in self.pairs(self.working(images)):
            ssim, path = self.path_components(x, y)
            ssim_max.append(smoothed_max(ssim, roi, self.pooling_sigma).double().numpy())
            path_max.append(smoothed_max(path, roi, self.pooling_sigma).double().numpy())
        return np.concatenate(ssim_max), np.concatenate(path_max)

    def _path_score(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.calibration is None:
            raise SealauditError(
                f"score {PATH_SCORE} is not calibrated: fit it on normal training images "
                "(evaluate does; a packaged model carries it in its settings)"
            )
        ssim, path = self.path_components(x, y)
        heatmap = combined_heatmap(ssim, path, self.calibration)
        return smoothed_max(heatmap, self.roi[:, 0].float(), self.pooling_sigma), heatmap

    def score_pair(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(n,) scores and (n, H, W) heatmaps (zeros for scores without a map)."""
        if self.score_name == PATH_SCORE:
            return self._path_score(x, y)
        if self.score_name in ("four_ms_ssim", "four_ssim"):
            fn = four_ms_ssim if self.score_name == "four_ms_ssim" else four_ssim
            result = fn(x, y, self.roi, **self.options)
            return result.score, result.heatmap
        scores = SCORE_FUNCTIONS[self.score_name](x, y, self.roi)
        return scores, torch.zeros_like(x[:, 0])

    def __call__(self, images: np.ndarray, keep_maps: bool = False) -> Scored:
        """Score (N, H0, W0) images; ``keep_maps`` also returns inputs, reconstructions, maps."""
        work = self.working(images)
        scores, maps, recons = [], [], []
        for x, y in self.pairs(work):
            score, heatmap = self.score_pair(x, y)
            scores.append(score.double().numpy())
            if keep_maps:
                maps.append(heatmap.numpy())
                recons.append(y[:, 0].numpy())
        if not keep_maps:
            return Scored(np.concatenate(scores))
        return Scored(np.concatenate(scores), np.concatenate(maps), work, np.concatenate(recons))


class FeatureDistanceScorer:
    """A fitted monitor on its encoder layer (the monitoring mode), the one monitoring scorer.

    Images are prepared with the monitor's recorded alignment, the layer's features are
    flattened in C order and the score is the monitor's Mahalanobis distance; the maps are
    its smoothed contribution maps (``monitoring.scoring.contribution_heatmaps``), the same
    maps fit_monitor's figures show.

    Args:
        model: the autoencoder whose encoder gives the features.
        meta: its checkpoint metadata.
        detector: the model's name.
        monitor: the fitted monitor (``FittedMonitor``).
        layer: ``encode_features`` layer name.
        batch_size: images per forward pass.
    """

    score_name = "rfd_mahalanobis"

    def __init__(
        self,
        model: AttentionAutoencoder,
        meta: CheckpointMeta,
        detector: str,
        monitor: FittedMonitor,
        layer: str,
        batch_size: int = 32,
    ) -> None:
        self.model, self.meta, self.detector = model.eval(), meta, detector
        self.monitor, self.layer, self.batch_size = monitor, layer, batch_size

    def working(self, images: np.ndarray) -> np.ndarray:
        """(N, H0, W0) -> (N, H, W) model input, aligned as the monitor was fitted (a fitted
        monitor may keep the band's height, see ``fit_monitor.monitor_alignment``)."""
        return self.working_with_geometry(images)[0]

    def working_with_geometry(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``working`` and its (N, 2, W0) band geometry (None: a plain resize)."""
        size = (self.meta.image_height, self.meta.image_width)
        return align_images(images, self.alignment, *size)

    def working_masks(self, images: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """(N, H0, W0) ground-truth masks -> (N, H, W) bool, aligned like their images."""
        size = (self.meta.image_height, self.meta.image_width)
        return prepare_masks(images, masks, self.alignment, *size)

    @property
    def alignment(self) -> Alignment:
        """The monitor's recorded alignment."""
        return Alignment.from_dict(self.monitor.alignment)

    def __call__(self, images: np.ndarray, keep_maps: bool = False) -> Scored:
        """Mahalanobis distances; maps are the monitor's smoothed contribution maps."""
        work = self.working(images)
        size = (int(work.shape[1]), int(work.shape[2]))
        scores, maps = [], []
        for start in tqdm(
            range(0, len(work), self.batch_size),
            desc=f"{self.detector} {self.layer}",
            unit="batch",
            leave=False,
            disable=None,
        ):
            chunk = work[start : start + self.batch_size]
            flat, _ = extract_features(self.model, chunk, self.layer, self.batch_size)
            scores.append(np.asarray(self.monitor.mahalanobis(flat), dtype=float))
            if keep_maps:
                maps.append(contribution_heatmaps(self.monitor, flat, size))
        heatmaps = np.concatenate(maps) if maps else None
        return Scored(np.concatenate(scores), heatmaps, work if keep_maps else None)
