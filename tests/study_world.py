"""Benchmark study documents as the scripts under benchmarks/ write them, in miniature.

``resolution_study`` follows ``benchmarks/resolution_study.py``'s JSON and ``ceiling_study``
``benchmarks/detectability_ceiling.py``'s (figures invented, three defect types).
"""

from __future__ import annotations

from typing import Any

CHECKPOINT_SHA256 = "ab" * 32
CEILING_PER_TYPE = {"burn": 0.30, "channel": 0.5339, "void": 0.95}
INLINE_PER_TYPE = {"burn": 0.9183, "channel": 0.6019, "void": 0.8226}


def resolution_row(height: int, width: int, auroc: float, ci: bool = True) -> dict[str, Any]:
    """One size's result; ``ci=False`` leaves the interval out (older studies)."""
    row: dict[str, Any] = {
        "image_height": height,
        "image_width": width,
        "val_auroc": auroc,
        "val_aupr": auroc - 0.2,
        "train_seconds_per_epoch": height / 12.5,
        "inference_ms_per_image": height / 2.0,
        "best_epoch": 15,
        "epochs_run": 15,
    }
    if ci:
        row["val_ci"] = {"auroc": [auroc - 0.1, auroc + 0.05], "aupr": [0.3, 0.8]}
    return row


def resolution_study(rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A study of 16 x 192, 32 x 384 and 64 x 768 (the last without an interval)."""
    return {
        "description": "inline detector trained briefly at each working resolution",
        "detector": "attention_ae",
        "score": "four_ms_ssim",
        "split": "val",
        "results": rows
        or [
            resolution_row(16, 192, 0.8042),
            resolution_row(32, 384, 0.8617),
            resolution_row(64, 768, 0.8225, ci=False),
        ],
        "provenance": {"stage": "resolution_study", "params": {"epochs_cap": 15}},
    }


def inline_figures(auroc: float = 0.7641, sha256: str | None = CHECKPOINT_SHA256) -> dict:
    """The study's ``inline_detector`` entry; ``sha256=None`` as before it was recorded."""
    inline: dict[str, Any] = {
        "detector": "attention_ae",
        "auroc": auroc,
        "auroc_ci": [0.7128, 0.8124],
        "per_type_auroc": dict(INLINE_PER_TYPE),
    }
    if sha256 is not None:
        inline["checkpoint_sha256"] = sha256
    return inline


def ceiling_study(inline: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ceiling study at 32 x 384 next to ``inline`` (default ``inline_figures()``)."""
    return {
        "what": "supervised CNN on an independent labelled reference set, scored on test",
        "working_size": [32, 384],
        "alignment": {"kind": "band", "band_rows": [0.25, 0.75]},
        "reference": {
            "synth_seed": 777,
            "normal_events": 300,
            "defect_events": 840,
            "images": 2280,
            "defective_images": 1680,
        },
        "chosen_epoch": 1,
        "history": [
            {"epoch": 0, "loss": 0.78, "holdout_auroc": 0.81, "seconds": 5.1},
            {"epoch": 1, "loss": 0.71, "holdout_auroc": 0.93, "seconds": 4.7},
            {"epoch": 2, "loss": 0.69, "holdout_auroc": 0.92, "seconds": 4.8},
        ],
        "test": {
            "n_normal": 180,
            "n_defective": 180,
            "auroc": 0.9012,
            "auroc_ci": [0.8722, 0.9358],
            "aupr": 0.88,
            "per_type_auroc": dict(CEILING_PER_TYPE),
        },
        "inline_detector": inline_figures() if inline is None else inline,
        "provenance": {"stage": "detectability_ceiling"},
    }
