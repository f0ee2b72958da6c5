"""Robustness: the test split under acquisition perturbations, at the operating threshold.

Perturbations act on the images as the camera delivers them (dataset resolution, [0, 1]),
before the model's own resizing: a brightness gain, additive Gaussian sensor noise, a Gaussian
blur (defocus) and a translation of the image content (edge pixels repeated). Each row
reports AUROC and accuracy on the perturbed images and their change from the same images
unperturbed; the threshold is the operating one, never refitted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import ndimage

from pipeline.config.evaluate import RobustnessParams
from pipeline.evaluation.inference import Scorer, SplitImages
from pipeline.models.metrics import binary_metrics, ranking_metrics

log = logging.getLogger(__name__)

Perturbation = Callable[[np.ndarray, float, np.random.Generator], np.ndarray]


def brightness(images: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """Gain ``1 + level`` (-0.2 = 20 % darker), clipped to [0, 1]."""
    del rng
    return np.clip(images * (1.0 + level), 0.0, 1.0)


def noise(images: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """Additive Gaussian noise of sd ``level`` (grey units in [0, 1]), clipped."""
    noisy = images + rng.normal(0.0, level, size=images.shape).astype(np.float32)
    return np.clip(noisy, 0.0, 1.0)


def blur(images: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur of sigma ``level`` pixels in both image axes."""
    del rng
    return ndimage.gaussian_filter(images, sigma=(0.0, level, level), mode="reflect")


def shift(images: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """Content moved down and right by ``level`` of the height and width, edges repeated."""
    del rng
    rows, cols = round(level * images.shape[1]), round(level * images.shape[2])
    return ndimage.shift(images, (0, rows, cols), order=0, mode="nearest")


PERTURBATIONS: dict[str, Perturbation] = {
    "brightness": brightness,
    "noise": noise,
    "blur": blur,
    "shift": shift,
}


def balanced_subset(labels: np.ndarray, max_images: int, seed: int) -> np.ndarray:
    """Sorted indices of a seeded subset with at most ``max_images // 2`` per class.

    ``max_images`` 0 (or at least the split's size) keeps every image.
    """
    if max_images <= 0 or max_images >= labels.size:
        return np.arange(labels.size)
    rng = np.random.default_rng(seed)
    keep = []
    for label in (0, 1):
        members = np.flatnonzero(labels == label)
        keep.append(rng.permutation(members)[: max_images // 2])
    return np.sort(np.concatenate(keep))


def evaluate_robustness(
    scorer: Scorer,
    test: SplitImages,
    clean_scores: np.ndarray,
    threshold: float,
    params: RobustnessParams,
    seed: int,
) -> list[dict[str, Any]]:
    """One row per (perturbation, level): ``perturbation``, ``level``, ``auroc``,
    ``accuracy``, ``delta_auroc``, ``delta_accuracy`` (perturbed minus clean), ``n_images``.

    Args:
        scorer: the mode's scorer.
        test: the test split at the dataset's resolution.
        clean_scores: (N,) the mode's scores of the unperturbed test split.
        threshold: the operating threshold's value.
        params: perturbation levels and subset size.
        seed: seed of the subset and of the noise.
    """
    index = balanced_subset(test.labels, params.max_images, seed)
    images, labels = test.images[index], test.labels[index]
    clean_auroc = ranking_metrics(clean_scores[index], labels)["auroc"]
    clean_accuracy = binary_metrics(clean_scores[index], labels, threshold)["accuracy"]
    rows = []
    for number, (name, function) in enumerate(PERTURBATIONS.items()):
        for level in getattr(params, name):
            rng = np.random.default_rng([seed, number])
            scores = scorer(function(images, level, rng)).scores
            auroc = ranking_metrics(scores, labels)["auroc"]
            accuracy = binary_metrics(scores, labels, threshold)["accuracy"]
            rows.append(
                {
                    "perturbation": name,
                    "level": float(level),
                    "auroc": auroc,
                    "accuracy": accuracy,
                    "delta_auroc": auroc - clean_auroc,
                    "delta_accuracy": accuracy - clean_accuracy,
                    "n_images": int(index.size),
                }
            )
            log.info("robustness %s %g: AUROC %.3f, accuracy %.3f", name, level, auroc, accuracy)
    return rows
