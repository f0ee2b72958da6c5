"""Plots and the explainability gallery: the files the evidence names exist and are PNGs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from pipeline.evaluation.gallery import heatmap_scale, select_cases, write_gallery
from pipeline.evaluation.inference import Scored
from pipeline.evaluation.plots import write_mode_plots
from pipeline.models.metrics import binary_metrics
from pipeline.models.thresholds import fit_supervised, fit_unsupervised

PNG = b"\x89PNG"


def _scores() -> tuple[np.ndarray, np.ndarray]:
    labels = np.array([0] * 8 + [1] * 8)
    scores = np.array([1, 2, 3, 4, 5, 6, 7, 12, 6.5, 8, 9, 10, 11, 13, 14, 15], dtype=float)
    return scores, labels


def test_select_cases_picks_the_most_telling_images_per_outcome() -> None:
    scores, labels = _scores()
    ids = tuple(f"img{i:02d}" for i in range(16))
    cases = select_cases(scores, labels, ids, value=7.5, per_kind=2)
    assert cases["true_positive"] == [15, 14]  # highest-scoring rejections
    assert cases["false_positive"] == [7]  # the only normal image above 7.5
    assert cases["false_negative"] == [8]  # the defect scored 6.5: missed


def test_mode_plots_and_roc_points(tmp_path: Path) -> None:
    scores, labels = _scores()
    thresholds = [
        fit_unsupervised(scores[labels == 0], 2.0, score_name="toy"),
        fit_supervised(scores, labels, "accuracy", score_name="toy"),
    ]
    test = binary_metrics(scores, labels, thresholds[1].value)
    names = write_mode_plots(tmp_path, "inline", scores, labels, thresholds, thresholds[1], test)
    assert names == {k: f"{k}_inline.png" for k in ("roc", "pr", "histogram", "confusion")}
    for name in names.values():
        assert (tmp_path / name).read_bytes()[:4] == PNG
    with (tmp_path / "roc_inline.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert (float(rows[-1]["fpr"]), float(rows[-1]["tpr"])) == (1.0, 1.0)


def test_gallery_writes_one_png_per_case(tmp_path: Path) -> None:
    scores, labels = _scores()
    images = np.random.default_rng(0).random((16, 16, 48)).astype(np.float32)
    masks = np.zeros_like(images, dtype=bool)
    masks[labels == 1, 4:8, 10:20] = True
    scored = Scored(scores, heatmaps=images * masks, inputs=images, reconstructions=images)
    ids = tuple(f"img{i:02d}" for i in range(16))
    files, scale = write_gallery(tmp_path, "inline", scored, labels, ids, masks, 7.5, per_kind=1)
    assert files == {
        "true_positive": ["gallery/inline_true_positive_0.png"],
        "false_positive": ["gallery/inline_false_positive_0.png"],
        "false_negative": ["gallery/inline_false_negative_0.png"],
    }
    for names in files.values():
        assert (tmp_path / names[0]).read_bytes()[:4] == PNG


def test_every_heatmap_of_a_gallery_is_drawn_on_one_scale() -> None:
    # a miss's faint map (0.1) and a rejection's strong one (1.2): one scale, the larger top
    heatmaps = np.zeros((3, 4, 8), dtype=np.float32)
    heatmaps[0], heatmaps[2] = 1.2, 0.1
    cases = {"true_positive": [0], "false_positive": [], "false_negative": [2]}
    assert heatmap_scale(heatmaps, cases) == pytest.approx(1.2)
    assert heatmap_scale(None, cases) is None


def test_the_gallery_states_its_one_scale_in_the_evidence(tmp_path: Path) -> None:
    scores, labels = _scores()
    images = np.random.default_rng(0).random((16, 16, 48)).astype(np.float32)
    heatmaps = np.where(labels[:, None, None] == 1, 1.2, 0.1) * np.ones_like(images)
    scored = Scored(scores, heatmaps=heatmaps, inputs=images)
    ids = tuple(f"img{i:02d}" for i in range(16))
    _, scale = write_gallery(tmp_path, "inline", scored, labels, ids, None, 7.5, per_kind=2)
    assert scale == pytest.approx(1.2)
