"""Fitting what a detector decides with: the seal-path calibration (normal ``train`` images)
and every threshold rule (``val`` split), then the operating one.

Used by the ``calibrate`` stage for the operating detectors of both modes and by ``evaluate``
for the comparators (score ablation, baselines), with the same rules. The test split never
fits anything.
"""

from __future__ import annotations

import logging
from typing import Any

from numpy.typing import ArrayLike

from pipeline.config.calibrate import ThresholdParams
from pipeline.errors import SealauditError
from pipeline.evaluation.inference import PATH_SCORE, ReconstructionScorer, SplitImages
from pipeline.models.seal_path import fit_path_calibration
from pipeline.models.thresholds import (
    Threshold,
    check_scores_labels,
    fit_max_miss_rate,
    fit_supervised,
    fit_unsupervised,
    with_justification,
)

log = logging.getLogger(__name__)

FIT_SPLIT = "val"
SEAL_PATH_FIT = "train split, normal images"


def calibrate_seal_path(scorer: ReconstructionScorer, train: SplitImages) -> dict[str, Any] | None:
    """Fit the path map's calibration on the normal training images (``four_ms_ssim_path``
    only; None for other scores). The result travels in the evidence and the packaged model."""
    if scorer.score_name != PATH_SCORE:
        return None
    normal = train.images[train.labels == 0]
    ssim_maxima, path_maxima = scorer.component_maxima(normal)
    calibration = fit_path_calibration(ssim_maxima, path_maxima)
    return {
        **scorer.seal_path,
        "calibration": calibration.to_dict(),
        "fitted_on": SEAL_PATH_FIT,
        "n_images": int(len(normal)),
        "four_ms_ssim_maxima": {"mean": float(ssim_maxima.mean()), "sd": float(ssim_maxima.std())},
        "path_maxima": {"mean": float(path_maxima.mean()), "sd": float(path_maxima.std())},
    }


def fit_thresholds(
    val_scores: ArrayLike, val_labels: ArrayLike, score_name: str, rules: ThresholdParams
) -> tuple[list[Threshold], list[dict[str, str]]]:
    """Every configured rule fitted on val; rules that cannot be fitted come back with why.

    Returns:
        (fitted thresholds in rule order: mean_plus_k_sigma, supervised, max_miss_rate;
        ``[{"rule", "reason"}]`` of those not fitted).
    """
    s, y = check_scores_labels(val_scores, val_labels, need_both=True)
    unsupervised = fit_unsupervised(
        s[y == 0], rules.unsupervised_k, score_name=score_name, fitted_on_split=FIT_SPLIT
    )
    fitted = [
        with_justification(unsupervised, s, y, rules.confidence),
        fit_supervised(s, y, rules.criterion, score_name=score_name, fitted_on_split=FIT_SPLIT),
    ]
    skipped = []
    try:
        fitted.append(
            fit_max_miss_rate(
                s,
                y,
                rules.miss_rate_limit,
                rules.confidence,
                score_name=score_name,
                fitted_on_split=FIT_SPLIT,
            )
        )
    except SealauditError as error:
        # Without the score's name the reason is usually the same for every score (too few
        # defective val images), so it is said once; the evidence lists each score.
        reason = str(error).removeprefix(f"{score_name}: ")
        log.warning(
            "max_miss_rate threshold not fitted (the evidence lists each score under "
            "thresholds_not_fitted): %s",
            reason,
        )
        skipped.append({"rule": "max_miss_rate", "reason": str(error)})
    return fitted, skipped


def pick_operating(thresholds: list[Threshold], rule: str) -> Threshold:
    """The threshold fitted by ``rule``.

    Raises:
        SealauditError: that rule could not be fitted on this validation split.
    """
    for threshold in thresholds:
        if threshold.rule == rule:
            return threshold
    raise SealauditError(
        f"calibrate.thresholds.operating_rule is {rule!r} but that rule could not be fitted on "
        "the val split (see the log); choose another rule or add defective val images"
    )
