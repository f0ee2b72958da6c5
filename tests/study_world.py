"""Benchmark study documents in miniature, built from the studies the scripts under benchmarks/
last wrote (``benchmarks/results/*.json``) so their shape cannot drift from the writers'.

Only the figures the tests assert on are replaced (three defect types, invented AUROCs); every
other key is the real study's, so ``pipeline.evidence.Evaluation`` parses them strictly.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
CHECKPOINT_SHA256 = "ab" * 32
# The dataset of the dossier fixture (tests/fixtures/evidence): a study run on it is its evidence.
FIXTURE_DATA_MD5 = "3b0d2f6c9a8e7d6c5b4a39281706f5e4.dir"
CEILING_PER_TYPE = {"burn": 0.30, "channel": 0.5339, "void": 0.95}
SOURCE_PER_TYPE = {"burn": 0.40, "channel": 0.80, "void": 0.97}
INLINE_PER_TYPE = {"burn": 0.9183, "channel": 0.6019, "void": 0.8226}


@cache
def _written(name: str) -> dict[str, Any]:
    return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))


def written(name: str) -> dict[str, Any]:
    """A fresh copy of ``benchmarks/results/<name>.json`` as its script wrote it."""
    return copy.deepcopy(_written(name))


def resolution_row(height: int, width: int, auroc: float) -> dict[str, Any]:
    """One size's result: the real study's first row with this size and these figures."""
    row = written("resolution_study")["results"][0]
    for key in (
        "reference_auroc",
        "reference_ci",
        "reference_per_type_auroc",
        "widths",
        "skip_levels",
        "seeds",
        "best_epochs",
        "val_per_seed",
        "reference_per_seed",
        "reference_difference",
        "reference_diff_ci",
        "single_frame_p50_ms",
        "single_frame_p95_ms",
    ):
        # a single-seed study without a reference set or encoder records (tests add them)
        row.pop(key, None)
    row.update(
        image_height=height,
        image_width=width,
        val_auroc=auroc,
        val_aupr=auroc - 0.2,
        val_ci={"auroc": [auroc - 0.1, auroc + 0.05], "aupr": [0.3, 0.8]},
        train_seconds_per_epoch=height / 12.5,
        inference_ms_per_image=height / 2.0,
    )
    return row


def resolution_study(
    rows: list[dict[str, Any]] | None = None, data_md5: str = FIXTURE_DATA_MD5
) -> dict[str, Any]:
    """The real resolution study (15 epochs cap) with 16 x 192, 32 x 384 and 64 x 768 rows,
    run on the dataset ``data_md5`` (default: the dossier fixture's)."""
    study = written("resolution_study")
    study["provenance"]["data_md5"] = data_md5
    for key in ("selection", "two_scale"):
        study.pop(key, None)  # no selection rule without a reference set (tests add them)
    study["results"] = rows or [
        resolution_row(16, 192, 0.8042),
        resolution_row(32, 384, 0.8617),
        resolution_row(64, 768, 0.8225),
    ]
    return study


def inline_figures(auroc: float = 0.7641, sha256: str = CHECKPOINT_SHA256) -> dict[str, Any]:
    """The study's ``inline_detector`` entry with this AUROC and checkpoint."""
    inline = written("detectability_ceiling")["inline_detector"]
    inline.update(
        auroc=auroc,
        auroc_ci=[0.7128, 0.8124],
        checkpoint_sha256=sha256,
        per_type_auroc=dict(INLINE_PER_TYPE),
    )
    return inline


def spread(mean: float, low: float | None = None, high: float | None = None) -> dict[str, Any]:
    """A figure over seeds as the study writes it (a single value when no range is given)."""
    low, high = (mean, mean) if low is None else (low, high)
    return {"mean": mean, "sd": 0.01, "min": low, "max": high, "n_undefined": 0}


def ceiling_size(
    height: int, width: int, per_type: dict[str, float], overall: dict[str, Any]
) -> dict[str, Any]:
    """One working size of the real study with these per-type AUROCs (single values) and this
    overall AUROC spread; its runs and a90/95 summary are the real study's first size's."""
    size = written("detectability_ceiling")["sizes"][0]
    size["working_size"] = [height, width]
    size["summary"]["per_type_auroc"] = {kind: spread(v) for kind, v in per_type.items()}
    size["summary"]["test_auroc"] = overall
    return size


def ceiling_study(
    inline: dict[str, Any] | None = None, data_md5: str = FIXTURE_DATA_MD5
) -> dict[str, Any]:
    """The real ceiling study with two working sizes, 32 x 384 (``CEILING_PER_TYPE``) and
    128 x 768 (``SOURCE_PER_TYPE``), next to ``inline`` (default ``inline_figures()``), run on
    the dataset ``data_md5``."""
    study = written("detectability_ceiling")
    study["provenance"]["data_md5"] = data_md5
    study["sizes"] = [
        ceiling_size(32, 384, CEILING_PER_TYPE, spread(0.9012, 0.8722, 0.9358)),
        ceiling_size(128, 768, SOURCE_PER_TYPE, spread(0.95, 0.94, 0.96)),
    ]
    study["inline_detector"] = inline_figures() if inline is None else inline
    return study
