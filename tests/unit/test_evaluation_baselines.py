"""PaDiM-style baseline: per-location Gaussians, known answers on synthetic features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline.evaluation.baselines import PadimScorer, PatchGaussian
from pipeline.models.autoencoder import AutoencoderConfig, build_model
from pipeline.models.checkpoint import CheckpointMeta
from pipeline.models.roi import Roi
from tests.params import section


def _features(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 3, 2, 2): channel c at location l ~ N(l + c, 1)."""
    offsets = np.arange(4).reshape(1, 1, 2, 2) + np.arange(3).reshape(1, 3, 1, 1)
    return rng.normal(size=(n, 3, 2, 2)) + offsets


def test_streaming_fit_equals_per_location_sample_statistics() -> None:
    rng = np.random.default_rng(0)
    data = _features(rng, 200)
    model = PatchGaussian(n_features=3, epsilon=0.01).fit([data[:70], data[70:]])
    location = data[:, :, 1, 0]  # flattened location index 2
    np.testing.assert_allclose(model.mean_[2], location.mean(axis=0))
    expected = np.linalg.inv(np.cov(location, rowvar=False) + 0.01 * np.eye(3))
    np.testing.assert_allclose(model.precision_[2], expected, rtol=1e-8)


def test_distance_is_large_only_where_the_anomaly_is() -> None:
    rng = np.random.default_rng(1)
    model = PatchGaussian(n_features=2, epsilon=0.01, random_state=4).fit([_features(rng, 300)])
    assert model.channels_.size == 2
    probe = _features(rng, 1)
    probe[0, :, 0, 1] += 8.0  # every channel shifted at one location
    distances = model.distance_map(probe)[0]
    assert distances.shape == (2, 2)
    assert distances[0, 1] > 5 and np.delete(distances.ravel(), 1).max() < 4


def test_padim_scorer_ranks_a_corrupted_image_higher_and_says_what_it_is() -> None:
    torch.manual_seed(0)
    config = AutoencoderConfig(32, 64, widths=(4, 8, 16), skip_levels=(2,), dropout=0.0)
    model = build_model("attention_ae", config, seed=0).eval()
    mask = np.zeros((32, 64), dtype=bool)
    mask[8:24] = True
    meta = CheckpointMeta("attention_ae", config, Roi("rectangle", {}, mask))
    rng = np.random.default_rng(2)
    normal = (0.5 + 0.02 * rng.normal(size=(24, 32, 64))).astype(np.float32)
    scorer = PadimScorer(
        model, meta, "attention_ae", section("evaluate", padim={"n_features": 6}).padim, seed=0
    ).fit(normal)
    probe = normal[:2].copy()
    probe[1, 12:20, 20:30] = 1.0
    scores = scorer(probe).scores
    assert scores[1] > scores[0]
    assert "ImageNet" in scorer.description() and "6 randomly selected" in scorer.description()


def test_too_few_images_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        PatchGaussian().fit([np.zeros((1, 3, 2, 2))])
