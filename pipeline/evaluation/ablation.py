"""The paper's score ablation: one reconstruction, every score, same threshold rule.

For each score (MSE, MAE, PSNR, SSIM, MS-SSIM, 4-SSIM, 4-MS-SSIM) of the detector's
reconstructions: AUROC and AUPR on test, and accuracy and F1 on test at the supervised
threshold fitted on val (the paper's ablation uses a supervised threshold). A score that cannot
be computed at the working resolution (MS-SSIM needs a short side over 32 px) is reported
with the reason and no numbers.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from pipeline.config.calibrate import ThresholdParams
from pipeline.config.evaluate import Params
from pipeline.errors import SealauditError
from pipeline.evaluation.inference import ReconstructionScorer, SplitImages
from pipeline.models.four_ssim import four_ms_ssim, four_ssim
from pipeline.models.metrics import binary_metrics, ranking_metrics
from pipeline.models.scores import SCORE_FUNCTIONS
from pipeline.models.thresholds import fit_supervised

log = logging.getLogger(__name__)


def _score(
    name: str, x: torch.Tensor, y: torch.Tensor, roi: torch.Tensor, options: dict[str, Any]
) -> torch.Tensor:
    """(n,) scores; the 4-SSIM family takes the stage's options, like the main score."""
    if name == "four_ms_ssim":
        return four_ms_ssim(x, y, roi, **options).score
    if name == "four_ssim":
        return four_ssim(x, y, roi, **options).score
    return SCORE_FUNCTIONS[name](x, y, roi)


def score_all(
    scorer: ReconstructionScorer, images: np.ndarray, names: tuple[str, ...]
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Every named score of (N, H0, W0) images from one pass of reconstructions.

    Returns:
        (name -> (N,) scores, name -> reason for the scores that could not be computed).
    """
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    failed: dict[str, str] = {}
    for x, y in scorer.pairs(scorer.working(images)):
        for name in names:
            if name in failed:
                continue
            try:
                parts[name].append(_score(name, x, y, scorer.roi, scorer.options).double().numpy())
            except SealauditError as error:
                log.warning("ablation: %s skipped: %s", name, error)
                failed[name] = str(error)
    scores = {name: np.concatenate(parts[name]) for name in names if name not in failed}
    return scores, failed


def ablation_table(
    scorer: ReconstructionScorer,
    val: SplitImages,
    test: SplitImages,
    params: Params,
    rules: ThresholdParams,
) -> list[dict[str, Any]]:
    """Rows ``{"score", "auroc", "aupr", "accuracy", "f1", "threshold", "threshold_id"}``
    in ``params.ablation_scores`` order; a score that failed has None figures and a ``note``.
    Each score is thresholded on val by the supervised rule of ``rules`` (the calibrated one).
    """
    names = tuple(params.ablation_scores)
    val_scores, failed = score_all(scorer, val.images, names)
    test_scores, failed_test = score_all(scorer, test.images, names)
    failed.update(failed_test)
    criterion = rules.criterion
    rows = []
    for name in params.ablation_scores:
        if name in failed:
            empty = dict.fromkeys(("auroc", "aupr", "accuracy", "f1", "threshold"))
            rows.append({"score": name, **empty, "threshold_id": None, "note": failed[name]})
            continue
        threshold = fit_supervised(val_scores[name], val.labels, criterion, score_name=name)
        ranking = ranking_metrics(test_scores[name], test.labels)
        point = binary_metrics(test_scores[name], test.labels, threshold.value)
        rows.append(
            {
                "score": name,
                "auroc": ranking["auroc"],
                "aupr": ranking["aupr"],
                "accuracy": point["accuracy"],
                "f1": point["f1"],
                "threshold": threshold.value,
                "threshold_id": threshold.threshold_id,
                "threshold_rule": f"supervised ({criterion}) on {threshold.fitted_on_split}",
            }
        )
    return rows
