"""The paper's published figures, quoted for comparison and labelled as such.

These are the only numbers in the evaluation evidence that no code here computed. Source:
Zanon Diaz, Siogkas, Corcoran, "Dual-Mode Deep Anomaly Detection for Medical Manufacturing",
arXiv 2509.05796 (2025), on the SSI dataset's balanced test split (180 good / 180 defective)
unless stated (SPEC.md sections 1.2-1.3). They are not comparable one to one with ours: other
data (our default is a synthetic stand-in), another working resolution, another framework.
"""

from __future__ import annotations

import copy
from typing import Any

_PAPER_REFERENCE: dict[str, Any] = {
    "source": "arXiv 2509.05796 (Zanon Diaz et al., 2025), SSI dataset; published figures, "
    "not computed by this pipeline",
    "inline": {
        "auroc": 0.977,
        "accuracy_supervised": 0.931,
        "accuracy_unsupervised": 0.903,
        "f1": 0.930,
        "precision": 0.938,
        "recall": 0.922,
    },
    "monitoring": {
        "accuracy_supervised_test": 0.722,
        "accuracy_cross_validation": 0.836,
        "auroc_cross_validation": 0.909,
    },
    # Score ablation on the SSI test split, supervised threshold (AUROC / accuracy / F1).
    "ablation": [
        {"score": "mse", "auroc": 0.881, "accuracy": 0.708, "f1": 0.607},
        {"score": "mae", "auroc": 0.915, "accuracy": 0.781, "f1": 0.746},
        {"score": "psnr", "auroc": 0.866, "accuracy": 0.744, "f1": 0.697},
        {"score": "ssim", "auroc": 0.930, "accuracy": 0.825, "f1": 0.822},
        {"score": "ms_ssim", "auroc": 0.922, "accuracy": 0.808, "f1": 0.799},
        {"score": "four_ssim", "auroc": 0.969, "accuracy": 0.867, "f1": 0.876},
        {"score": "four_ms_ssim", "auroc": 0.977, "accuracy": 0.931, "f1": 0.930},
        {"score": "four_g_ssim", "auroc": 0.530},
        {"score": "four_ms_g_ssim", "auroc": 0.843},
    ],
}


def paper_reference() -> dict[str, Any]:
    """A fresh copy of the published figures (callers may not alter the constant)."""
    return copy.deepcopy(_PAPER_REFERENCE)
