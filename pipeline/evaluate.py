"""DVC stage ``evaluate``: thresholds fitted on val, every figure measured on test.

Reads the trained detector (``<models>/<evaluate.detector>/model.pt``), scores the ``val`` and
``test`` splits at the model's working resolution inside its ROI, and writes into ``--out``:
``evaluation.json`` (per mode: ranking with intervals, every fitted threshold with its test
figures, per-defect-type recall, pixel metrics, plots, gallery, robustness; the score
ablation; the baselines; the paper's published figures), ``thresholds.json``, ``metrics.json``
(for ``dvc metrics show``), the PNG figures and ``gallery/``, and ROC/PR points as CSV
(for ``dvc plots``). With ``--monitor`` (the ``fit_monitor`` stage's folder) the monitoring
mode is evaluated the same way; without it the monitoring entries are ``null``.

Two benchmark studies travel with the evidence, verbatim, so the dossier can report them
without recomputing anything: ``--resolution-study`` (``benchmarks/resolution_study.py``, why
this working resolution) as ``resolution_study`` and ``--ceiling-study``
(``benchmarks/detectability_ceiling.py``, what a supervised detector reaches on the same test
split) as ``detectability_ceiling``; each is ``null`` when not given.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import pickle
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import evidence
from pipeline.config import load_section
from pipeline.config.evaluate import Params
from pipeline.data.manifest import read_manifest
from pipeline.data.splits import read_splits
from pipeline.errors import SealauditError
from pipeline.evaluation.ablation import ablation_table
from pipeline.evaluation.baselines import evaluate_baselines
from pipeline.evaluation.gallery import write_gallery
from pipeline.evaluation.inference import (
    PATH_SCORE,
    FeatureDistanceScorer,
    ReconstructionScorer,
    Scorer,
    SplitImages,
    load_split,
)
from pipeline.evaluation.modes import evaluate_mode, headline
from pipeline.evaluation.plots import write_mode_plots
from pipeline.evaluation.reference import paper_reference
from pipeline.evaluation.robustness import evaluate_robustness
from pipeline.evaluation.studies import CEILING, RESOLUTION, read_study
from pipeline.evidence import Evaluation, Metrics, Thresholds
from pipeline.models.checkpoint import load_autoencoder
from pipeline.models.metrics import pixel_auroc, pro_score
from pipeline.models.seal_path import fit_path_calibration
from pipeline.provenance import stage_provenance
from pipeline.runtime import configure_logging, configure_torch

log = logging.getLogger(__name__)

CHECKPOINT = "model.pt"
MONITOR_ESTIMATOR = "monitor.pkl"
MONITOR_SUMMARY = "monitor_summary.json"


def inline_scorer(models_dir: Path, params: Params) -> ReconstructionScorer:
    """The inline mode: the detector's reconstructions under ``evaluate.score``, with the
    params' path-map settings, uncalibrated (``calibrate_seal_path`` and
    ``ReconstructionScorer.with_seal_path`` give the calibrated one)."""
    model, meta = load_autoencoder(models_dir / params.detector / CHECKPOINT)
    options = dataclasses.asdict(params.four_ms_ssim)
    return ReconstructionScorer(
        model,
        meta,
        params.detector,
        params.score,
        options,
        params.batch_size,
        seal_path=dataclasses.asdict(params.seal_path),
    )


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
        "fitted_on": "train split, normal images",
        "n_images": int(len(normal)),
        "four_ms_ssim_maxima": {"mean": float(ssim_maxima.mean()), "sd": float(ssim_maxima.std())},
        "path_maxima": {"mean": float(path_maxima.mean()), "sd": float(path_maxima.std())},
    }


def monitoring_scorer(monitor_dir: Path, models_dir: Path, params: Params) -> FeatureDistanceScorer:
    """The monitoring mode: the ``fit_monitor`` estimator on its encoder layer."""
    summary_path = monitor_dir / MONITOR_SUMMARY
    if not summary_path.is_file() or not (monitor_dir / MONITOR_ESTIMATOR).is_file():
        raise SealauditError(
            f"{monitor_dir}: monitor.pkl or monitor_summary.json missing; "
            "run `dvc repro fit_monitor`"
        )
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    detector = str(summary.get("detector", params.detector))
    model, meta = load_autoencoder(models_dir / detector / CHECKPOINT)
    with (monitor_dir / MONITOR_ESTIMATOR).open("rb") as handle:
        estimator = pickle.load(handle)  # noqa: S301 - the fit_monitor stage's own artefact
    layer = str(summary["layer"])
    return FeatureDistanceScorer(model, meta, detector, estimator, layer, params.batch_size)


def pixel_metrics(
    heatmaps: np.ndarray, masks: np.ndarray, roi: np.ndarray, fpr_limit: float
) -> dict[str, Any]:
    """Pixel AUROC and AU-PRO of the test heatmaps against the masks, inside the ROI.

    The heatmap is zero outside the ROI by construction and defects lie in the seal band, so
    pooling the pixels outside it would inflate both figures: they are cropped to the ROI's
    bounding box (exact for the band and rectangle ROIs).

    Args:
        heatmaps: (N, H, W) test heatmaps at the working resolution.
        masks: (N, H, W) bool ground truth at the working resolution.
        roi: (H, W) bool ROI mask.
        fpr_limit: AU-PRO's upper pixel FPR.
    """
    rows, cols = np.flatnonzero(roi.any(axis=1)), np.flatnonzero(roi.any(axis=0))
    box = (slice(None), slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    return {
        "auroc": pixel_auroc(heatmaps[box], masks[box]),
        "pro": pro_score(heatmaps[box], masks[box], fpr_limit),
        "pro_fpr_limit": fpr_limit,
        "region": "ROI bounding box",
        "defect_pixels_in_region": float(masks[box].sum() / max(int(masks.sum()), 1)),
    }


def evaluate_detector(
    scorer: Scorer, val: SplitImages, test: SplitImages, params: Params, mode: str, out_dir: Path
) -> tuple[dict[str, Any], list[dict[str, Any]], tuple[np.ndarray, np.ndarray]]:
    """The full MODE evidence of one mode, its thresholds (``Threshold.to_dict()``) and its
    (val, test) scores."""
    started = time.perf_counter()
    val_scores = scorer(val.images).scores
    scored = scorer(test.images, keep_maps=True)
    evaluation = evaluate_mode(
        val_scores,
        val.labels,
        scored.scores,
        test.labels,
        test.defect_types,
        detector=scorer.detector,
        score_name=scorer.score_name,
        params=params,
    )
    doc, operating = evaluation.doc, evaluation.operating
    meta = scorer.meta
    doc["working_resolution"] = [meta.image_height, meta.image_width]
    doc["roi"] = {"kind": meta.roi.kind, "coverage": meta.roi.coverage}
    masks = None if test.masks is None else scorer.working_masks(test.images, test.masks)
    if mode == "inline" and scored.heatmaps is not None and masks is not None:
        roi = np.asarray(meta.roi.mask, dtype=bool)
        doc["pixel"] = pixel_metrics(scored.heatmaps, masks, roi, params.pro_fpr_limit)
    point = next(t for t in doc["thresholds"] if t["threshold_id"] == operating.threshold_id)
    doc["plots"] = write_mode_plots(
        out_dir, mode, scored.scores, test.labels, evaluation.thresholds, operating, point["test"]
    )
    doc["gallery"] = write_gallery(
        out_dir,
        mode,
        scored,
        test.labels,
        test.image_ids,
        masks,
        operating.value,
        params.gallery_per_class,
    )
    doc["robustness"] = evaluate_robustness(
        scorer, test, scored.scores, operating.value, params.robustness, params.seed
    )
    n_used = doc["robustness"][0]["n_images"] if doc["robustness"] else 0
    doc["robustness_images"] = {
        "n_images": n_used,
        "n_test": len(test.labels),
        "selection": "whole test split"
        if n_used == len(test.labels)
        else "class-balanced seeded subset of the test split (runtime budget)",
    }
    log.info("%s mode evaluated in %.1f s", mode, time.perf_counter() - started)
    return doc, [t.to_dict() for t in evaluation.thresholds], (val_scores, scored.scores)


def run(
    data_dir: Path,
    splits_path: Path,
    models_dir: Path,
    params: Params,
    out_dir: Path,
    monitor_dir: Path | None = None,
    resolution_study: Path | None = None,
    ceiling_study: Path | None = None,
    *,
    torch_threads: int,
) -> dict[str, Any]:
    """Evaluate the inline mode (and the monitoring mode if given); write the evidence.

    ``resolution_study``: JSON written by ``benchmarks/resolution_study.py``, carried verbatim
    into ``evaluation.json`` so the working resolution's justification travels with the model.
    ``ceiling_study``: JSON written by ``benchmarks/detectability_ceiling.py``, carried
    verbatim as ``detectability_ceiling`` so the inline figures can be read against what a
    supervised detector reaches on the same test split. ``torch_threads``: ``base.torch_threads``.
    """
    numerics = configure_torch(torch_threads)
    # read before the long part, so a missing study fails in seconds, not after scoring
    resolution = read_study(resolution_study, RESOLUTION.name, RESOLUTION.script)
    ceiling = read_study(ceiling_study, CEILING.name, CEILING.script)
    rows, assignment = read_manifest(data_dir), read_splits(splits_path)
    val = load_split(data_dir, rows, assignment, "val")
    test = load_split(data_dir, rows, assignment, "test", with_masks=True)
    train = load_split(data_dir, rows, assignment, "train")
    out_dir.mkdir(parents=True, exist_ok=True)
    uncalibrated = inline_scorer(models_dir, params)
    seal_path = calibrate_seal_path(uncalibrated, train)
    inline = uncalibrated if seal_path is None else uncalibrated.with_seal_path(seal_path)
    monitor = None if monitor_dir is None else monitoring_scorer(monitor_dir, models_dir, params)
    modes: dict[str, Any] = {"inline": None, "monitoring": None}
    thresholds: dict[str, Any] = {"inline": None, "monitoring": None}
    modes["inline"], thresholds["inline"], inline_scores = evaluate_detector(
        inline, val, test, params, "inline", out_dir
    )
    modes["inline"]["seal_path"] = seal_path
    if monitor is not None:
        modes["monitoring"], thresholds["monitoring"], _ = evaluate_detector(
            monitor, val, test, params, "monitoring", out_dir
        )
    baselines, skipped = evaluate_baselines(
        models_dir / params.baseline / CHECKPOINT, inline, train, (val, test), params
    )
    evaluation = {
        "modes": modes,
        "ablation": ablation_table(inline, val, test, params, known=inline_scores),
        "baselines": baselines,
        "baselines_skipped": skipped,
        "paper_reference": paper_reference(),
        RESOLUTION.key: resolution,
        CEILING.key: ceiling,
        "torch_numerics": numerics,
        "provenance": stage_provenance("evaluate", params, seed=params.seed),
    }
    evidence.write_to(evidence.parse(Evaluation, evaluation), out_dir)
    evidence.write_to(evidence.parse(Thresholds, thresholds), out_dir)
    metrics = {mode: None if doc is None else headline(doc) for mode, doc in modes.items()}
    evidence.write_to(evidence.parse(Metrics, metrics), out_dir)
    log.info("inline: %s", metrics["inline"])
    return evaluation


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the stage's paths (from dvc.yaml) and run it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--splits", type=Path, required=True)
    parser.add_argument("--models", type=Path, required=True, help="the train stage's folder")
    parser.add_argument("--params", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--monitor", type=Path, default=None, help="the fit_monitor folder")
    parser.add_argument(
        "--resolution-study", type=Path, default=None, help=f"{RESOLUTION.script} JSON"
    )
    parser.add_argument("--ceiling-study", type=Path, default=None, help=f"{CEILING.script} JSON")
    args = parser.parse_args(argv)
    configure_logging()
    try:
        params = load_section(args.params, "evaluate")
        run(
            args.data,
            args.splits,
            args.models,
            params,
            args.out,
            args.monitor,
            args.resolution_study,
            args.ceiling_study,
            torch_threads=load_section(args.params, "base").torch_threads,
        )
    except SealauditError as error:
        print(f"evaluate: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
