"""Measure one detection mode on test, at thresholds fitted on val.

``measure_mode`` is mode-agnostic: it takes thresholds already fitted (by the ``calibrate``
stage for the operating detectors) and test scores with their labels, so the inline mode
(4-MS-SSIM of a reconstruction) and the monitoring mode (Mahalanobis distance of encoder
features) go through the same code; ``evaluate_mode`` fits a comparator's thresholds on val
with the same rules first. The test split never fits anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from pipeline.config.calibrate import ThresholdParams
from pipeline.config.evaluate import Params
from pipeline.evaluation.fitting import fit_thresholds, pick_operating
from pipeline.evaluation.intervals import CI_METHODS, point_with_ci, ranking_with_ci
from pipeline.models.metrics import per_group_recall, ranking_metrics, threshold_sensitivity
from pipeline.models.thresholds import Threshold, check_scores_labels

log = logging.getLogger(__name__)
HEADLINE_KEYS = ("auroc", "aupr", "accuracy", "f1", "miss_rate")


@dataclass(frozen=True)
class ModeEvaluation:
    """The MODE evidence of one mode, minus the parts that need images.

    Attributes:
        doc: ``detector``, ``score``, counts, ``ranking``, ``thresholds`` (THRESHOLD + test
            figures), ``operating_threshold_id``, ``per_defect_type`` and notes.
        thresholds: the fitted thresholds (all on val).
        operating: the one the mode decides with.
    """

    doc: dict[str, Any]
    thresholds: list[Threshold]
    operating: Threshold


def describe_threshold(
    threshold: Threshold, test_scores: np.ndarray, test_labels: np.ndarray, params: Params
) -> dict[str, Any]:
    """THRESHOLD + ``test``, ``test_ci``, ``miss_rate_upper_95`` and ``sensitivity``."""
    point = point_with_ci(
        test_scores, test_labels, threshold.value, params.n_boot, params.seed, params.confidence
    )
    sensitivity = threshold_sensitivity(
        test_scores, test_labels, threshold.value, params.sensitivity_shifts
    )
    return {**threshold.to_dict(), **point, "sensitivity": sensitivity}


def per_defect_type(
    scores: np.ndarray, labels: np.ndarray, types: np.ndarray, value: float, confidence: float
) -> dict[str, dict[str, Any]]:
    """``{type: {"recall", "n", "detected", "ci": [l, h], "auroc"}}``: recall at a threshold
    (defective only) and, threshold-free, the AUROC of that type against every normal image."""
    groups = per_group_recall(scores, labels, types, value, confidence)
    scores, labels, types = np.asarray(scores), np.asarray(labels), np.asarray(types)
    normal = labels == 0
    return {
        name: {
            "recall": facts["recall"],
            "n": facts["n"],
            "detected": facts["detected"],
            "ci": [facts["ci_low"], facts["ci_high"]],
            "auroc": _type_auroc(scores, labels, normal | (types == name)),
        }
        for name, facts in groups.items()
    }


def _type_auroc(scores: np.ndarray, labels: np.ndarray, keep: np.ndarray) -> float | None:
    """AUROC on the kept images, None without both classes."""
    if len(set(labels[keep].tolist())) < 2:
        return None
    return float(ranking_metrics(scores[keep], labels[keep])["auroc"])


@dataclass(frozen=True)
class Fitted:
    """A mode's thresholds as fitted on val: all of them, those not fitted (with why), the
    operating one, and the val counts they saw."""

    thresholds: list[Threshold]
    skipped: list[dict[str, Any]]
    operating: Threshold
    n_val_normal: int
    n_val_defective: int


def fit_mode(
    val_scores: ArrayLike, val_labels: ArrayLike, score_name: str, rules: ThresholdParams
) -> Fitted:
    """Every rule fitted on val and the operating one (``rules.operating_rule``)."""
    vs, vy = check_scores_labels(val_scores, val_labels, need_both=True)
    thresholds, skipped = fit_thresholds(vs, vy, score_name, rules)
    operating = pick_operating(thresholds, rules.operating_rule)
    return Fitted(thresholds, skipped, operating, int(np.sum(vy == 0)), int(np.sum(vy == 1)))


def measure_mode(
    fitted: Fitted,
    test_scores: ArrayLike,
    test_labels: ArrayLike,
    test_defect_types: ArrayLike,
    *,
    detector: str,
    score_name: str,
    params: Params,
) -> ModeEvaluation:
    """Measure every fitted threshold and the ranking on test.

    Args:
        fitted: the mode's thresholds (fitted on val).
        test_scores: (n_test,) scores of the test split.
        test_labels: (n_test,) labels.
        test_defect_types: (n_test,) defect type per image (``none`` for normal).
        detector: the trained model behind the scores.
        score_name: the score's name (a thresholds' ``score_name``).
        params: the stage's parameters.
    """
    ts, ty = check_scores_labels(test_scores, test_labels, need_both=True)
    operating = fitted.operating
    types = np.asarray(test_defect_types).astype(str)
    doc = {
        "detector": detector,
        "score": score_name,
        "n_val_normal": fitted.n_val_normal,
        "n_val_defective": fitted.n_val_defective,
        "n_test_normal": int(np.sum(ty == 0)),
        "n_test_defective": int(np.sum(ty == 1)),
        "ranking": ranking_with_ci(ts, ty, params.n_boot, params.seed, params.confidence),
        "thresholds": [describe_threshold(t, ts, ty, params) for t in fitted.thresholds],
        "thresholds_not_fitted": fitted.skipped,
        "operating_threshold_id": operating.threshold_id,
        "per_defect_type": per_defect_type(ts, ty, types, operating.value, params.confidence),
        "ci_methods": dict(CI_METHODS),
        "confidence": params.confidence,
    }
    return ModeEvaluation(doc, fitted.thresholds, operating)


def evaluate_mode(
    val_scores: ArrayLike,
    val_labels: ArrayLike,
    test_scores: ArrayLike,
    test_labels: ArrayLike,
    test_defect_types: ArrayLike,
    *,
    detector: str,
    score_name: str,
    rules: ThresholdParams,
    params: Params,
) -> ModeEvaluation:
    """A comparator evaluated like a mode: thresholds fitted on val by ``rules`` (those the
    operating detectors were calibrated with), everything measured on test."""
    fitted = fit_mode(val_scores, val_labels, score_name, rules)
    return measure_mode(
        fitted,
        test_scores,
        test_labels,
        test_defect_types,
        detector=detector,
        score_name=score_name,
        params=params,
    )


def headline(mode_doc: dict[str, Any]) -> dict[str, float]:
    """The ``metrics.json`` entry of a mode: ranking and the operating threshold's figures."""
    point = next(
        t for t in mode_doc["thresholds"] if t["threshold_id"] == mode_doc["operating_threshold_id"]
    )
    values = {**mode_doc["ranking"], **point["test"]}
    return {key: values[key] for key in HEADLINE_KEYS}
