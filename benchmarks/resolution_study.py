"""Working-resolution study: train the inline detector at several sizes, compare on val.

The SSI crop is a long band (600 x 3550 px); the paper does not say at which size its
autoencoder ran. This script measures the trade-off that decides ``train.working_height`` /
``train.working_width``: for each candidate size it trains the ``evaluate.detector`` model with
the ``train`` section's settings (epochs capped by ``--epochs``), scores the *val* split with
the inline score inside the model's ROI, and records val AUROC / AUPR (bootstrap intervals),
training seconds per epoch and inference milliseconds per image. With ``--bottleneck-rows``
larger frames get a deeper encoder, so their latent grid is no taller than the working
frame's (the same four levels at 128 rows leave a latent grid 16 times larger, free to copy
defects into the reconstruction). With ``--reference-events``
it also scores an independent reference set (the ``synth`` settings with another seed, as the
selection study's; generated once under ``--cache``): val holds a few dozen defective images,
the reference set hundreds of every type, so its AUROC per defect type can tell sizes apart
where val's interval cannot. The stored size (128 x 768) is no candidate under band alignment
(``train.check_alignable`` refuses it). The test split is never read: choosing the resolution is a
fitting decision, made on val and the reference set like the thresholds.

Usage (from the repository root, venv active):

    python benchmarks/resolution_study.py --data data --splits artifacts/prepare/splits.csv \\
        --params params.yaml --out benchmarks/results/resolution_study.json \\
        --sizes 16x192 32x384 64x768 --epochs 25 --bottleneck-rows 2 \\
        --reference-events 150 150

(or ``make study STUDY=resolution_study``: the DVC stage in ``benchmarks/dvc.yaml``)

Pass the JSON to the evaluate stage with ``--resolution-study`` to carry it into
``evaluation.json`` (``resolution_study``), where the dossier reports it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from detectability_ceiling import Labelled, per_type_auroc, reference_params

from pipeline import train
from pipeline.cli import parse_size
from pipeline.config import load_section
from pipeline.data.images import load_stack
from pipeline.data.manifest import read_manifest
from pipeline.data.splits import read_splits
from pipeline.data.synthetic import generate_dataset
from pipeline.evaluation.fitting import calibrate_seal_path
from pipeline.evaluation.inference import ReconstructionScorer, load_split
from pipeline.evaluation.intervals import ranking_with_ci
from pipeline.models.autoencoder import build_model, count_parameters
from pipeline.models.checkpoint import CheckpointMeta
from pipeline.models.trainer import train_autoencoder
from pipeline.provenance import stage_provenance
from pipeline.runtime import configure_logging

log = logging.getLogger("resolution_study")


def deepened(model: Any, height: int, bottleneck_rows: int | None) -> Any:
    """``train.model`` with encoder levels added (the last width repeated) until the deepest
    grid has at most ``bottleneck_rows`` rows, the skip moved to the new deepest level below
    the bottleneck; unchanged when ``bottleneck_rows`` is None or already met. A larger frame
    under the same levels keeps a larger latent grid, which can learn to copy defects."""
    if bottleneck_rows is None:
        return model
    levels = len(model.widths)
    while height // 2**levels > bottleneck_rows:
        levels += 1
    if levels == len(model.widths):
        return model
    widths = (*model.widths, *[model.widths[-1]] * (levels - len(model.widths)))
    skips = (levels - 1,) if model.skip_levels else ()
    return dataclasses.replace(model, widths=widths, skip_levels=skips)


def reference_set(args: argparse.Namespace) -> Labelled | None:
    """The independent reference set (raw images), generated once under ``--cache``; None
    without ``--reference-events``."""
    if not args.reference_events:
        return None
    normals, defects = args.reference_events
    synth = reference_params(args.params, args.reference_seed, normals, defects)
    folder = args.cache / f"reference-{args.reference_seed}-{normals}-{defects}"
    if not (folder / "manifest.csv").is_file():
        generate_dataset(synth, folder, force=True)
    rows = read_manifest(folder)
    return Labelled(
        load_stack(folder, rows),
        np.array([row.label for row in rows]),
        np.array([row.defect_type for row in rows]),
        np.array([row.capture_event for row in rows]),
    )


def reference_figures(scorer: Any, reference: Labelled, eval_params: Any) -> dict[str, Any]:
    """AUROC on the reference set, its bootstrap interval and AUROC per defect type."""
    scores = scorer(reference.images).scores
    ranking = ranking_with_ci(scores, reference.labels, eval_params.n_boot, eval_params.seed)
    return {
        "reference_auroc": ranking["auroc"],
        "reference_ci": ranking["ci"],
        "reference_per_type_auroc": per_type_auroc(scores, reference.labels, reference.types),
    }


def study_one(
    size: tuple[int, int],
    args: argparse.Namespace,
    train_params: Any,
    settings: Any,
    reference: Labelled | None = None,
) -> dict[str, Any]:
    """Train at one size, score val, time both; returns the size's row."""
    fit = dataclasses.replace(train_params.fit, epochs=min(args.epochs, train_params.fit.epochs))
    params = dataclasses.replace(
        train_params,
        working_height=size[0],
        working_width=size[1],
        fit=fit,
        device="cpu",
        model=deepened(train_params.model, size[0], args.bottleneck_rows),
    )
    normal_train, normal_val = train.load_training_images(args.data, args.splits, params)
    roi = train.build_roi(params, normal_train, None)
    calib, eval_params = settings
    model = build_model(calib.detector, train.model_config(params), params.seed)
    result = train_autoencoder(
        model,
        normal_train,
        normal_val,
        roi.weights(params.roi.outside_weight),
        params.fit,
        params.seed,
        "cpu",
        progress=sys.stderr.isatty(),
    )
    meta = CheckpointMeta(
        calib.detector, model.config, roi, alignment=train.model_alignment(params)
    )
    scorer = ReconstructionScorer(
        model.cpu().eval(),
        meta,
        calib.detector,
        calib.score,
        dataclasses.asdict(calib.four_ms_ssim),
        calib.batch_size,
        seal_path=dataclasses.asdict(calib.seal_path),
    )
    rows, assignment = read_manifest(args.data), read_splits(args.splits)
    # the calibrate stage's seal-path calibration, fitted on the normal train images
    seal_path = calibrate_seal_path(scorer, load_split(args.data, rows, assignment, "train"))
    if seal_path is not None:
        scorer = scorer.with_seal_path(seal_path)
    val = load_split(args.data, rows, assignment, "val")
    started = time.perf_counter()
    scores = scorer(val.images).scores
    inference_ms = 1000 * (time.perf_counter() - started) / len(scores)
    ranking = ranking_with_ci(scores, val.labels, eval_params.n_boot, eval_params.seed)
    on_reference = reference_figures(scorer, reference, eval_params) if reference else {}
    return {
        **on_reference,
        "widths": list(params.model.widths),
        "skip_levels": list(params.model.skip_levels),
        "image_height": size[0],
        "image_width": size[1],
        "parameters": count_parameters(model),
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "best_val_loss": result.best_val_loss,
        "train_seconds_per_epoch": result.seconds / max(result.epochs_run, 1),
        "inference_ms_per_image": inference_ms,
        "val_auroc": ranking["auroc"],
        "val_aupr": ranking["aupr"],
        "val_ci": ranking["ci"],
        "roi_kind": roi.kind,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the study and write its JSON evidence."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--splits", type=Path, required=True)
    parser.add_argument("--params", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sizes", type=parse_size, nargs="+", default=[(32, 192), (64, 384)])
    parser.add_argument("--epochs", type=int, default=10, help="cap on train.fit.epochs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--reference-events",
        type=int,
        nargs=2,
        metavar=("NORMAL", "DEFECT"),
        default=None,
        help="also score an independent reference set of this many capture events",
    )
    parser.add_argument("--reference-seed", type=int, default=777)
    parser.add_argument(
        "--bottleneck-rows",
        type=int,
        default=None,
        help="deepen the encoder at larger frames until its deepest grid has this many rows",
    )
    parser.add_argument("--cache", type=Path, default=Path("benchmarks/out/resolution_study"))
    args = parser.parse_args(argv)
    configure_logging()
    torch.set_num_threads(args.threads)
    train_params = load_section(args.params, "train")
    calib = load_section(args.params, "calibrate")
    eval_params = load_section(args.params, "evaluate")
    settings = {
        "sizes": [list(s) for s in args.sizes],
        "epochs_cap": args.epochs,
        "bottleneck_rows": args.bottleneck_rows,
        "reference": None
        if not args.reference_events
        else {
            "synth_seed": args.reference_seed,
            "normal_events": args.reference_events[0],
            "defect_events": args.reference_events[1],
        },
        "torch_threads": args.threads,
        "train": dataclasses.asdict(train_params),
        "calibrate": dataclasses.asdict(calib),
    }
    evidence: dict[str, Any] = {
        "description": "inline detector trained at each working resolution (train settings, "
        "epochs capped), scored on the val split and, where given, an independent reference "
        "set (never test); timings on this machine's CPU",
        "split": "val",
        "score": calib.score,
        "detector": calib.detector,
        "results": [],
        "provenance": stage_provenance("resolution_study", settings, seed=train_params.seed),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    reference = reference_set(args)
    for size in args.sizes:
        row = study_one(size, args, train_params, (calib, eval_params), reference)
        evidence["results"].append(row)
        log.info(
            "%dx%d: val AUROC %.3f, %.1f ms/image",
            *size,
            row["val_auroc"],
            row["inference_ms_per_image"],
        )
        # written after every size: a long study interrupted still leaves its evidence
        text = json.dumps(evidence, indent=2, sort_keys=True) + "\n"
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
