"""Perturbations do what they say, and robustness rows compare like with like."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from pipeline.evaluation.inference import Scored, SplitImages
from pipeline.evaluation.robustness import (
    balanced_subset,
    blur,
    brightness,
    evaluate_robustness,
    noise,
    shift,
)
from tests.params import section

RNG = np.random.default_rng(0)


def test_brightness_is_a_clipped_gain() -> None:
    images = np.full((1, 4, 4), 0.5, dtype=np.float32)
    images[0, 0, 0] = 0.9
    out = brightness(images, 0.2, RNG)
    assert out[0, 1, 1] == pytest.approx(0.6) and out[0, 0, 0] == 1.0


def test_shift_moves_content_down_and_right_with_edges_repeated() -> None:
    images = np.zeros((1, 10, 20), dtype=np.float32)
    images[0, 2, 5] = 1.0
    out = shift(images, 0.1, RNG)  # 1 row, 2 columns
    assert out[0, 3, 7] == 1.0 and out.sum() == 1.0


def test_blur_keeps_a_flat_image_and_noise_is_seeded() -> None:
    flat = np.full((2, 8, 8), 0.4, dtype=np.float32)
    np.testing.assert_allclose(blur(flat, 2.0, RNG), flat, atol=1e-6)
    first = noise(flat, 0.05, np.random.default_rng(1))
    np.testing.assert_array_equal(first, noise(flat, 0.05, np.random.default_rng(1)))
    assert 0.03 < float(np.std(first - flat)) < 0.07


def test_balanced_subset() -> None:
    labels = np.array([0] * 30 + [1] * 10)
    index = balanced_subset(labels, 12, seed=0)
    assert np.bincount(labels[index]).tolist() == [6, 6]
    assert np.array_equal(index, np.sort(index))
    assert balanced_subset(labels, 0, seed=0).size == 40


class MeanBrightness:
    """Score = mean intensity: darker images look less anomalous."""

    detector, score_name = "toy", "mean"
    meta: Any = None  # a checkpoint's metadata; this toy has no model

    def __call__(self, images: np.ndarray, keep_maps: bool = False) -> Scored:
        del keep_maps  # no maps to give
        return Scored(images.reshape(len(images), -1).mean(axis=1).astype(float))


def test_rows_report_deltas_against_the_clean_subset() -> None:
    labels = np.array([0] * 6 + [1] * 6)
    images = np.where(labels[:, None, None] == 1, 0.6, 0.4) * np.ones((12, 8, 8))
    test = SplitImages("test", tuple(map(str, range(12))), labels, labels.astype(str), images)
    scorer = MeanBrightness()
    params = dataclasses.replace(
        section("evaluate").robustness, brightness=(0.6,), noise=(), blur=(), shift=()
    )
    rows = evaluate_robustness(scorer, test, scorer(images).scores, 0.5, params, seed=0)
    assert len(rows) == 1
    row = rows[0]
    # gain 1.6 pushes the normal images (0.64) over the threshold: accuracy drops to 0.5
    assert (row["perturbation"], row["accuracy"], row["delta_accuracy"]) == (
        "brightness",
        0.5,
        -0.5,
    )
    assert row["auroc"] == 1.0 and row["delta_auroc"] == 0.0 and row["n_images"] == 12
