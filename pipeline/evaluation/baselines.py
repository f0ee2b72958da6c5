"""Baselines the inline mode is compared with (SPEC 1.4), scored on the same splits.

- The plain convolutional autoencoder (no skips, no attention) scored by MSE, the paper's
  vanilla AE, and by 4-MS-SSIM, which isolates what the attention skip adds.
- A PaDiM-style detector (Defard et al. 2021): a Gaussian per feature-map location over a
  seeded random subset of channels, Mahalanobis distance per patch, image score = maximum of
  the smoothed distance map over the ROI. PaDiM uses a pretrained ImageNet backbone; none can
  be downloaded here, so the features are the detector autoencoder's own early encoder maps.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import ndimage
from torch.nn import functional as F

from pipeline.config.calibrate import ThresholdParams
from pipeline.config.evaluate import PadimParams, Params
from pipeline.evaluation.ablation import score_all
from pipeline.evaluation.inference import ReconstructionScorer, Scored, SplitImages, batches
from pipeline.evaluation.modes import ModeEvaluation, evaluate_mode
from pipeline.models.autoencoder import AttentionAutoencoder
from pipeline.models.checkpoint import CheckpointMeta, load_autoencoder, preprocess_images

log = logging.getLogger(__name__)

PADIM_SMOOTHING_SIGMA = 4.0  # PaDiM's Gaussian filter on the upsampled map, in pixels


class PatchGaussian:
    """A Gaussian per location of a (C, h, w) feature map over randomly kept channels.

    Args:
        n_features: channels kept at random (all when there are fewer).
        epsilon: ridge added to each location's covariance.
        random_state: seed of the channel draw.

    Attributes (after ``fit``):
        channels_: (d,) kept channel indices, sorted.
        mean_: (h * w, d) per-location means.
        precision_: (h * w, d, d) inverse covariances.
    """

    def __init__(self, n_features: int = 32, epsilon: float = 0.01, random_state: int = 0) -> None:
        self.n_features = n_features
        self.epsilon = epsilon
        self.random_state = random_state

    def fit(self, features: list[np.ndarray]) -> PatchGaussian:
        """Fit on batches of (n, C, h, w) features of normal images (>= 2 images in all)."""
        channels = features[0].shape[1]
        rng = np.random.default_rng(self.random_state)
        kept = min(self.n_features, channels)
        self.channels_ = np.sort(rng.choice(channels, size=kept, replace=False))
        count, total, outer = 0, 0.0, 0.0
        for batch in features:
            flat = self._flat(batch)  # (n, L, d)
            count += flat.shape[0]
            total = total + flat.sum(axis=0)
            by_location = flat.transpose(1, 0, 2)  # (L, n, d)
            outer = outer + by_location.transpose(0, 2, 1) @ by_location
        if count < 2:
            raise ValueError("PatchGaussian needs at least 2 training images")
        self.mean_ = np.asarray(total) / count
        centre = count * self.mean_[:, :, None] * self.mean_[:, None, :]
        cov = (np.asarray(outer) - centre) / (count - 1)
        cov += self.epsilon * np.eye(kept)[None]
        self.precision_ = np.linalg.inv(cov)
        return self

    def _flat(self, batch: np.ndarray) -> np.ndarray:
        """(n, C, h, w) -> (n, h * w, d) float64 of the kept channels."""
        selected = np.asarray(batch, dtype=np.float64)[:, self.channels_]
        return selected.reshape(selected.shape[0], selected.shape[1], -1).transpose(0, 2, 1)

    def distance_map(self, batch: np.ndarray) -> np.ndarray:
        """(n, C, h, w) features -> (n, h, w) Mahalanobis distance of each location."""
        deviation = (self._flat(batch) - self.mean_).transpose(1, 0, 2)  # (L, n, d)
        squared = ((deviation @ self.precision_) * deviation).sum(axis=2).T  # (n, L)
        return np.sqrt(np.clip(squared, 0.0, None)).reshape(batch.shape[0], *batch.shape[2:])


def embedding(model: AttentionAutoencoder, x: torch.Tensor, layers: tuple[str, ...]) -> np.ndarray:
    """(n, 1, H, W) -> (n, sum C, h, w): the layers' maps on the first layer's grid (nearest)."""
    maps = [model.encode_features(x, layer) for layer in layers]
    size = maps[0].shape[-2:]
    resized = [m if m.shape[-2:] == size else F.interpolate(m, size=size) for m in maps]
    return torch.cat(resized, dim=1).numpy()


class PadimScorer:
    """The PaDiM-style baseline as a scorer (see the module docstring).

    Args:
        model: the autoencoder whose encoder gives the features (eval mode).
        meta: its checkpoint metadata (working resolution, ROI).
        detector: the model's name.
        params: layers, kept channels and ridge.
        seed: seed of the channel draw.
        batch_size: images per forward pass.
    """

    score_name = "padim_max_mahalanobis"

    def __init__(
        self,
        model: AttentionAutoencoder,
        meta: CheckpointMeta,
        detector: str,
        params: PadimParams,
        seed: int,
        batch_size: int = 32,
    ) -> None:
        self.model, self.meta, self.detector = model.eval(), meta, detector
        self.layers, self.batch_size = params.layers, batch_size
        self.gaussian = PatchGaussian(params.n_features, params.epsilon, seed)
        self.roi = np.asarray(meta.roi.mask, dtype=bool)

    def _features(self, images: np.ndarray) -> list[np.ndarray]:
        work = preprocess_images(images, self.meta)
        with torch.no_grad():
            return [embedding(self.model, x, self.layers) for x in batches(work, self.batch_size)]

    def fit(self, normal_images: np.ndarray) -> PadimScorer:
        """Fit the per-location Gaussians on (N, H0, W0) normal training images."""
        self.gaussian.fit(self._features(normal_images))
        return self

    def __call__(self, images: np.ndarray, keep_maps: bool = False) -> Scored:
        """Image scores (max of the smoothed, upsampled distance map inside the ROI)."""
        scores, maps = [], []
        for batch in self._features(images):
            grid = torch.from_numpy(self.gaussian.distance_map(batch).astype(np.float32))
            upsampled = F.interpolate(
                grid[:, None], size=self.roi.shape, mode="bilinear", align_corners=False
            )[:, 0].numpy()
            smooth = ndimage.gaussian_filter(upsampled, sigma=(0, *(2 * [PADIM_SMOOTHING_SIGMA])))
            smooth = np.where(self.roi[None], smooth, 0.0)
            scores.append(smooth.reshape(smooth.shape[0], -1).max(axis=1).astype(float))
            if keep_maps:
                maps.append(smooth)
        return Scored(np.concatenate(scores), np.concatenate(maps) if keep_maps else None)

    def description(self) -> str:
        """What this baseline is, with its actual settings."""
        kept = int(self.gaussian.channels_.size)
        return (
            f"PaDiM-style: per-location Gaussian (covariance + {self.gaussian.epsilon:g} I) over "
            f"{kept} randomly selected channels of the {self.detector} encoder's own feature "
            f"maps ({'+'.join(self.layers)}), fitted on the normal train images; Mahalanobis "
            f"distance per patch, {PADIM_SMOOTHING_SIGMA:g}-px Gaussian smoothing, image score "
            "= max over the ROI. No pretrained ImageNet backbone can be downloaded here (PaDiM "
            "uses one), so the features come from the network trained in this pipeline."
        )


def baseline_entry(name: str, description: str, evaluation: ModeEvaluation) -> dict[str, Any]:
    """The ``baselines[]`` evidence of a detector evaluated like a mode."""
    doc = evaluation.doc
    point = next(
        t for t in doc["thresholds"] if t["threshold_id"] == evaluation.operating.threshold_id
    )
    test, ci = point["test"], point["test_ci"]
    return {
        "name": name,
        "description": description,
        "detector": doc["detector"],
        "score": doc["score"],
        "auroc": doc["ranking"]["auroc"],
        "aupr": doc["ranking"]["aupr"],
        **{key: test[key] for key in ("accuracy", "f1", "precision", "recall", "miss_rate")},
        "ci": {
            "auroc": doc["ranking"]["ci"]["auroc"],
            "aupr": doc["ranking"]["ci"]["aupr"],
            "accuracy": ci["accuracy"],
            "f1": ci["f1"],
        },
        "threshold_id": evaluation.operating.threshold_id,
        "threshold_rule": evaluation.operating.rule,
        "threshold_fitted_on_split": evaluation.operating.fitted_on_split,
    }


def _entry(
    name: str,
    description: str,
    scorer: tuple[str, str],
    scores: tuple[np.ndarray, np.ndarray],
    data: tuple[SplitImages, SplitImages],
    settings: tuple[ThresholdParams, Params],
) -> dict[str, Any]:
    """Evaluate (val, test) scores like a mode; ``scorer`` is (detector, score name),
    ``settings`` the calibrated rules and the stage's parameters."""
    val, test = data
    evaluation = evaluate_mode(
        scores[0],
        val.labels,
        scores[1],
        test.labels,
        test.defect_types,
        detector=scorer[0],
        score_name=scorer[1],
        rules=settings[0],
        params=settings[1],
    )
    return baseline_entry(name, description, evaluation)


def plain_baselines(
    checkpoint: Path,
    options: dict[str, Any],
    data: tuple[SplitImages, SplitImages],
    settings: tuple[ThresholdParams, Params],
) -> list[dict[str, Any]]:
    """The plain autoencoder scored by MSE and by the inline detector's 4-MS-SSIM
    (``options``), one pass."""
    params = settings[1]
    model, meta = load_autoencoder(checkpoint)
    plain = ReconstructionScorer(model, meta, params.baseline, "mse", options, params.batch_size)
    names = ("mse", "four_ms_ssim")
    val_scores, _ = score_all(plain, data[0].images, names)
    test_scores, _ = score_all(plain, data[1].images, names)
    entries = []
    for score in names:
        description = (
            f"{params.baseline}: convolutional autoencoder without skip connections or "
            f"attention, scored by {score} over its ROI"
        )
        both = (val_scores[score], test_scores[score])
        name = f"{params.baseline}_{score}"
        entries.append(_entry(name, description, (params.baseline, score), both, data, settings))
    return entries


def evaluate_baselines(
    baseline_checkpoint: Path,
    inline: ReconstructionScorer,
    train: SplitImages,
    data: tuple[SplitImages, SplitImages],
    settings: tuple[ThresholdParams, Params],
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The plain autoencoder (MSE and 4-MS-SSIM) and the PaDiM-style detector.

    Args:
        baseline_checkpoint: the plain autoencoder's ``model.pt`` (skipped with a note if absent).
        inline: the inline mode's scorer (its model gives PaDiM's features, its options the
            plain autoencoder's 4-MS-SSIM).
        train: normal training images (PaDiM's Gaussians are fitted on them).
        data: the val and test splits.
        settings: the calibrated threshold rules and the stage's parameters.

    Returns:
        (``baselines`` entries, ``[{"name", "reason"}]`` of baselines skipped).
    """
    params = settings[1]
    entries, skipped = [], []
    if baseline_checkpoint.is_file():
        entries += plain_baselines(baseline_checkpoint, inline.options, data, settings)
    else:
        reason = f"{baseline_checkpoint} not found; add {params.baseline} to train.models"
        log.warning("baseline skipped: %s", reason)
        skipped.append({"name": params.baseline, "reason": reason})
    padim = PadimScorer(
        inline.model, inline.meta, inline.detector, params.padim, params.seed, params.batch_size
    ).fit(train.images)
    both = (padim(data[0].images).scores, padim(data[1].images).scores)
    scorer = (inline.detector, padim.score_name)
    entries.append(_entry("padim_own_features", padim.description(), scorer, both, data, settings))
    return entries, skipped
