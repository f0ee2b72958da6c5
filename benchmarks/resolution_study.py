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
where val's interval cannot. With ``--seeds`` every size is trained once per training seed and
the sizes are compared by ``pipeline.evaluation.selection``: seed-mean reference AUROC with an
event-level bootstrap, the paired difference of each size to the working size of params.yaml
(the fallback) on the same resamples, and the project's rule (a size replaces the working size
only when that paired interval lies above 0). Each (size, seed) run is cached under ``--cache``
(its scores and figures, keyed by its inputs), so an interrupted study resumes where it
stopped. With ``--two-scale COARSE FINE`` the study also compares two-scale designs built
from the same runs: each size's image score standardised on its normal val images (the
calibration split a deployed detector has), fused by max or mean; they enter the rule like the
sizes. The stored size (128 x 768) is no candidate under band alignment
(``train.check_alignable`` refuses it). The test split is never read: choosing the resolution is a
fitting decision, made on val and the reference set like the thresholds.

Usage (from the repository root, venv active):

    python benchmarks/resolution_study.py --data data --splits artifacts/prepare/splits.csv \\
        --params params.yaml --out benchmarks/results/resolution_study.json \\
        --sizes 16x192 32x384 64x768 --epochs 25 --bottleneck-rows 2 \\
        --reference-events 150 150 --seeds 20250905 20250906 20250907 \\
        --two-scale 32x384 64x768

(or ``make study STUDY=resolution_study``: the DVC stage in ``benchmarks/dvc.yaml``)

Pass the JSON to the evaluate stage with ``--resolution-study`` to carry it into
``evaluation.json`` (``resolution_study``), where the dossier reports it.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from detectability_ceiling import Labelled, per_type_auroc, reference_params
from sklearn.metrics import average_precision_score

from pipeline import train
from pipeline.cli import parse_size
from pipeline.config import load_section
from pipeline.data.images import load_stack
from pipeline.data.manifest import read_manifest
from pipeline.data.splits import read_splits, rows_in_split
from pipeline.data.synthetic import generate_dataset
from pipeline.errors import SealauditError
from pipeline.evaluation.fitting import calibrate_seal_path
from pipeline.evaluation.inference import ReconstructionScorer, load_split
from pipeline.evaluation.selection import (
    RULE,
    Candidate,
    choose,
    paired_difference,
    seed_mean_auroc,
)
from pipeline.models.autoencoder import build_model, count_parameters
from pipeline.models.checkpoint import CheckpointMeta
from pipeline.models.trainer import train_autoencoder
from pipeline.provenance import stage_provenance
from pipeline.runtime import configure_logging

log = logging.getLogger("resolution_study")

# bumped when a change here changes what a cached (size, seed) run holds
CODE_VERSION = 1


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


def sized_params(train_params: Any, size: tuple[int, int], seed: int, args: Any) -> Any:
    """The ``train`` section for one (size, seed) run: epochs capped, encoder deepened."""
    fit = dataclasses.replace(train_params.fit, epochs=min(args.epochs, train_params.fit.epochs))
    return dataclasses.replace(
        train_params,
        seed=seed,
        working_height=size[0],
        working_width=size[1],
        fit=fit,
        device="cpu",
        model=deepened(train_params.model, size[0], args.bottleneck_rows),
    )


def train_one(params: Any, args: argparse.Namespace, calib: Any, reference: Labelled | None):
    """Train at one (size, seed), score val and the reference set, time both.

    Returns ``(figures, scores)``: the run's JSON-able figures and ``{"val": (N,),
    "reference": (M,)}`` image scores (no reference key without a reference set).
    """
    normal_train, normal_val = train.load_training_images(args.data, args.splits, params)
    roi = train.build_roi(params, normal_train, None)
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
    scores = {"val": scorer(val.images).scores}
    inference_ms = 1000 * (time.perf_counter() - started) / len(scores["val"])
    if reference is not None:
        scores["reference"] = scorer(reference.images).scores
    figures = {
        **single_frame_latency(scorer, val.images),
        "seed": params.seed,
        "widths": list(params.model.widths),
        "skip_levels": list(params.model.skip_levels),
        "parameters": count_parameters(model),
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "best_val_loss": result.best_val_loss,
        "train_seconds_per_epoch": result.seconds / max(result.epochs_run, 1),
        "inference_ms_per_image": inference_ms,
        "roi_kind": roi.kind,
    }
    return figures, scores


def single_frame_latency(scorer: Any, frames: np.ndarray, repeats: int = 30) -> dict[str, float]:
    """p50 / p95 ms of one raw stored frame -> alignment -> reconstruction -> score and its
    working-resolution heatmap (the inline path, one image at a time), after one warm-up."""
    scorer(frames[:1])
    samples = []
    for index in range(repeats):
        one = frames[index % len(frames)][None]
        started = time.perf_counter()
        scorer(one)
        samples.append(1000 * (time.perf_counter() - started))
    p50, p95 = np.percentile(samples, [50, 95])
    return {"single_frame_p50_ms": float(p50), "single_frame_p95_ms": float(p95)}


def run_key(params: Any, calib: Any, args: argparse.Namespace) -> str:
    """What a cached run depends on: its train settings, the scoring settings, the reference
    set, the data's manifest and splits, and this script's declared CODE_VERSION."""
    inputs = {
        "code_version": CODE_VERSION,
        "train": dataclasses.asdict(params),
        "calibrate": dataclasses.asdict(calib),
        "reference": [args.reference_seed, args.reference_events],
        "manifest": hashlib.sha256((args.data / "manifest.csv").read_bytes()).hexdigest(),
        "splits": hashlib.sha256(args.splits.read_bytes()).hexdigest(),
    }
    text = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def cached_run(params: Any, args: argparse.Namespace, calib: Any, reference: Labelled | None):
    """``train_one``'s result, read from ``--cache`` when this run finished before."""
    folder = (
        args.cache
        / "runs"
        / (
            f"{params.working_height}x{params.working_width}-seed{params.seed}-"
            f"{run_key(params, calib, args)}"
        )
    )
    if (folder / "figures.json").is_file():
        log.info("%s: already done, read from %s", folder.name, folder)
        figures = json.loads((folder / "figures.json").read_text(encoding="utf-8"))
        with np.load(folder / "scores.npz") as stored:
            return figures, {name: stored[name] for name in stored.files}
    figures, scores = train_one(params, args, calib, reference)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "scores.npz", **scores)
    # figures.json last: its presence marks a finished run
    partial = folder / "figures.json.partial"
    partial.write_text(json.dumps(figures, indent=2, sort_keys=True), encoding="utf-8")
    partial.replace(folder / "figures.json")
    return figures, scores


def val_truth(args: argparse.Namespace) -> Labelled:
    """Val's labels, defect types and capture events, in the order the scorer sees them."""
    rows = rows_in_split(read_manifest(args.data), read_splits(args.splits), "val")
    return Labelled(
        np.empty(0),
        np.array([row.label for row in rows]),
        np.array([row.defect_type for row in rows]),
        np.array([row.capture_event for row in rows]),
    )


def size_row(
    size: tuple[int, int],
    runs: list[tuple[dict[str, Any], dict[str, np.ndarray]]],
    val: Labelled,
    reference: Labelled | None,
    eval_params: Any,
) -> dict[str, Any]:
    """One size's row: seed-mean AUROCs with event-level intervals, means of the timings."""
    first = runs[0][0]
    val_scores = np.stack([scores["val"] for _, scores in runs])
    on_val = seed_mean_auroc(
        val_scores, val.labels, val.events, eval_params.n_boot, eval_params.seed
    )
    row: dict[str, Any] = {
        "image_height": size[0],
        "image_width": size[1],
        "seeds": [figures["seed"] for figures, _ in runs],
        **{key: first[key] for key in ("widths", "skip_levels", "parameters", "roi_kind")},
        "epochs_run": max(figures["epochs_run"] for figures, _ in runs),
        "best_epoch": first["best_epoch"],
        "best_epochs": [figures["best_epoch"] for figures, _ in runs],
        "best_val_loss": float(np.mean([figures["best_val_loss"] for figures, _ in runs])),
        **{
            key: float(np.mean([figures[key] for figures, _ in runs]))
            for key in (
                "train_seconds_per_epoch",
                "inference_ms_per_image",
                "single_frame_p50_ms",
                "single_frame_p95_ms",
            )
        },
        "val_auroc": on_val["auroc"],
        "val_per_seed": on_val["per_seed"],
        "val_aupr": float(
            np.mean([average_precision_score(val.labels, row) for row in val_scores])
        ),
        "val_ci": {"auroc": on_val["ci"]},
    }
    if reference is None:
        return row
    scores = np.stack([scores["reference"] for _, scores in runs])
    return {**row, **reference_figures(scores, reference, eval_params)}


def reference_figures(scores: np.ndarray, reference: Labelled, eval_params: Any) -> dict[str, Any]:
    """(S, N) per-seed scores of the reference set -> seed-mean AUROC with its event-level
    interval, the per-seed AUROCs and the seed-mean AUROC per defect type."""
    on_reference = seed_mean_auroc(
        scores, reference.labels, reference.events, eval_params.n_boot, eval_params.seed
    )
    per_type = [per_type_auroc(one, reference.labels, reference.types) for one in scores]
    return {
        "reference_auroc": on_reference["auroc"],
        "reference_ci": {"auroc": on_reference["ci"]},
        "reference_per_seed": on_reference["per_seed"],
        "reference_per_type_auroc": {
            kind: float(np.mean([one[kind] for one in per_type])) for kind in per_type[0]
        },
    }


def size_name(size: Sequence[int]) -> str:
    """``(32, 384)`` -> ``32x384``: how a size is named among the candidates."""
    return f"{size[0]}x{size[1]}"


def standardised(val_scores: np.ndarray, scores: np.ndarray, val_labels: np.ndarray):
    """``scores`` in units of the normal val images' spread: (s - mean) / sd of the normal
    val scores (what a deployed detector can do: val is its calibration split)."""
    normal = val_scores[val_labels == 0]
    return (scores - normal.mean()) / normal.std()


def _mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a + b) / 2


FUSIONS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "max": np.maximum,
    "mean": _mean,
}


def two_scale_row(
    sizes: tuple[tuple[int, int], tuple[int, int]],
    fusion: str,
    runs: dict[tuple[int, int], list[tuple[dict[str, Any], dict[str, np.ndarray]]]],
    val: Labelled,
    reference: Labelled,
    eval_params: Any,
) -> tuple[dict[str, Any], np.ndarray]:
    """A two-scale design from the two sizes' runs of the same seeds: each size's image score
    standardised on the normal val images, fused by ``fusion``; its row and (S, N) scores."""
    coarse, fine = (runs[size] for size in sizes)
    fused = np.stack(
        [
            FUSIONS[fusion](
                standardised(a["val"], a["reference"], val.labels),
                standardised(b["val"], b["reference"], val.labels),
            )
            for (_, a), (_, b) in zip(coarse, fine, strict=True)
        ]
    )
    row = {
        "design": f"{size_name(sizes[0])}+{size_name(sizes[1])} {fusion}",
        "sizes": [list(size) for size in sizes],
        "fusion": fusion,
        "normalisation": "each size's score standardised by the mean and sd of its normal val "
        "images, then fused",
        "seeds": [figures["seed"] for figures, _ in coarse],
        **reference_figures(fused, reference, eval_params),
        # not timed together: the two sizes' single-frame p50s added
        "single_frame_p50_ms_sum": float(
            sum(np.mean([f["single_frame_p50_ms"] for f, _ in runs[size]]) for size in sizes)
        ),
    }
    return row, fused


def selection(
    rows: list[dict[str, Any]],
    reference_scores: dict[str, np.ndarray],
    reference: Labelled,
    fallback: str,
    eval_params: Any,
) -> dict[str, Any]:
    """The designs compared by the project's rule, each paired with the fallback (the working
    size of params.yaml) on the same event resamples; fills each row's ``reference_diff_ci``.
    ``rows`` are size rows and two-scale rows (named by ``design``), in ``reference_scores``
    under their names."""
    if fallback not in reference_scores:
        raise SealauditError(
            f"the working size {fallback} of params.yaml is not among --sizes; "
            "add it (it is the fallback every size is compared with)"
        )
    candidates = []
    for row in rows:
        name = row.get("design") or size_name((row["image_height"], row["image_width"]))
        diff = None
        if name != fallback:
            paired = paired_difference(
                reference_scores[name],
                reference_scores[fallback],
                reference.labels,
                reference.events,
                eval_params.n_boot,
                eval_params.seed,
            )
            row["reference_difference"] = paired["difference"]
            row["reference_diff_ci"] = paired["ci"]
            diff = tuple(paired["ci"])
        candidates.append(
            Candidate(name, row["reference_auroc"], row["reference_ci"]["auroc"], diff)
        )
    choice, reason = choose(candidates, fallback)
    return {"rule": RULE, "fallback": fallback, "choice": choice, "reason": reason}


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
    parser.add_argument(
        "--two-scale",
        type=parse_size,
        nargs=2,
        metavar=("COARSE", "FINE"),
        default=None,
        help="also compare the two-scale designs of these two sizes (each fusion of --fusions)",
    )
    parser.add_argument("--fusions", nargs="+", choices=sorted(FUSIONS), default=["max", "mean"])
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        help="training seeds, one run per size and seed (default: train.seed)",
    )
    args = parser.parse_args(argv)
    configure_logging()
    torch.set_num_threads(args.threads)
    train_params = load_section(args.params, "train")
    calib = load_section(args.params, "calibrate")
    eval_params = load_section(args.params, "evaluate")
    seeds = args.seeds or [train_params.seed]
    settings = {
        "sizes": [list(s) for s in args.sizes],
        "seeds": seeds,
        "two_scale": None if not args.two_scale else [list(size) for size in args.two_scale],
        "fusions": args.fusions,
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
        "epochs capped) once per training seed, scored on the val split and, where given, an "
        "independent reference set (never test); timings on this machine's CPU",
        "split": "val",
        "score": calib.score,
        "detector": calib.detector,
        "results": [],
        "provenance": stage_provenance("resolution_study", settings, seed=train_params.seed),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    reference, val = reference_set(args), val_truth(args)
    runs = {}
    for size in args.sizes:
        runs[size] = [
            cached_run(sized_params(train_params, size, seed, args), args, calib, reference)
            for seed in seeds
        ]
        row = size_row(size, runs[size], val, reference, eval_params)
        evidence["results"].append(row)
        log.info(
            "%dx%d: val AUROC %.3f, %.1f ms/image",
            *size,
            row["val_auroc"],
            row["inference_ms_per_image"],
        )
        # written after every size: a long study interrupted still leaves its evidence
        write_evidence(evidence, args.out)
    if reference is not None:
        compare(evidence, runs, (val, reference), args, (train_params, eval_params))
        write_evidence(evidence, args.out)
    return 0


def compare(
    evidence: dict[str, Any],
    runs: dict[tuple[int, int], list[Any]],
    sets: tuple[Labelled, Labelled],
    args: argparse.Namespace,
    params: tuple[Any, Any],
) -> None:
    """Adds the two-scale rows (``--two-scale``) and the rule's choice to ``evidence``."""
    (val, reference), (train_params, eval_params) = sets, params
    scores = {
        size_name(size): np.stack([s["reference"] for _, s in one]) for size, one in runs.items()
    }
    designs = []
    if args.two_scale:
        missing = [size_name(size) for size in args.two_scale if size not in runs]
        if missing:
            raise SealauditError(f"--two-scale size {missing[0]} is not among --sizes; add it")
        for fusion in args.fusions:
            row, fused = two_scale_row(
                tuple(args.two_scale), fusion, runs, val, reference, eval_params
            )
            designs.append(row)
            scores[row["design"]] = fused
        evidence["two_scale"] = designs
    fallback = size_name((train_params.working_height, train_params.working_width))
    evidence["selection"] = selection(
        evidence["results"] + designs, scores, reference, fallback, eval_params
    )
    log.info("selection: %s", evidence["selection"]["reason"])


def write_evidence(evidence: dict[str, Any], out: Path) -> None:
    """The study's JSON, replaced whole."""
    out.write_text(json.dumps(evidence, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
