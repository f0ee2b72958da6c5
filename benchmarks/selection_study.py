"""Selection study: re-select the demo profile's design choices on an independent reference set.

Several choices of the demo profile (dropout, loss, image-score pooling, inline score) were
first picked by their effect on the *test* split. This script re-selects them on data that
neither fitted nor tested anything:

1. Generate (or reuse, cached under ``benchmarks/out/``) a reference dataset with the
   ``synth`` settings and another seed (``detectability_ceiling.reference_params``).
2. For each training variant (the ``train`` section with one key changed) and each training
   seed, train ``evaluate.detector`` with the project's own code on the normal *train* images
   of ``--data`` (early stopping on its normal *val* images), exactly as the train stage does.
3. Score every reference image with the inline score (``evaluate``'s scorer, the path map
   calibrated on the normal train images) and, for the score-level choices, with 4-MS-SSIM
   under max and mean pooling. The test split of ``--data`` is never read.
4. Per choice: AUROC per candidate (mean over training seeds, event-level bootstrap 95 %
   interval), the paired bootstrap interval of each candidate's AUROC minus the fallback's
   (same resamples), and the chosen value by ``pipeline.evaluation.selection.choose``.

Resumable: each (variant, seed) run's reference scores are cached under ``--cache``, keyed
by a hash of everything that shapes them; a rerun trains only what is missing.

Usage (from the repository root, venv active; ~2 min per training on 2 cores):

    python benchmarks/selection_study.py --out benchmarks/results/selection_study.json
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from detectability_ceiling import reference_params
from sklearn.metrics import roc_auc_score

from pipeline import train
from pipeline.config import load_section
from pipeline.data.images import load_stack
from pipeline.data.manifest import read_manifest
from pipeline.data.splits import read_splits
from pipeline.data.synthetic import generate_dataset
from pipeline.evaluation.fitting import calibrate_seal_path
from pipeline.evaluation.inference import ReconstructionScorer, load_split
from pipeline.evaluation.selection import (
    RULE,
    Candidate,
    choose,
    paired_difference,
    seed_mean_auroc,
)
from pipeline.models.autoencoder import build_model
from pipeline.models.checkpoint import CheckpointMeta
from pipeline.models.trainer import train_autoencoder
from pipeline.provenance import stage_provenance
from pipeline.runtime import configure_logging, configure_torch

log = logging.getLogger("selection_study")

INLINE = "inline"  # evaluate.score with evaluate's options: the score the inline mode decides by
SSIM_MAX, SSIM_MEAN = "four_ms_ssim/max", "four_ms_ssim/mean"
RULE_BEFORE = (
    "highest reference-set AUROC; a tie or a 95 % interval overlapping the fallback's keeps "
    "the fallback (unpaired intervals: a conservative approximation of the rule)"
)
INTERVAL = (
    "percentile bootstrap over capture events, stratified by class, seed mean; ci: each "
    "candidate's AUROC alone (unpaired); paired_difference_to_fallback.ci: candidate minus "
    "fallback, both AUROCs on the same resamples"
)


@dataclasses.dataclass(frozen=True)
class Choice:
    """A design choice: the params key, its candidates, the fallback a tie keeps, and which
    score and training variant each candidate is measured with."""

    name: str
    key: str
    candidates: tuple[Any, ...]
    fallback: Any
    why_fallback: str
    trained: bool  # True: one training variant per candidate; False: one model, other scores


CHOICES = (
    Choice("dropout", "train.model.dropout", (0.0, 0.11228), 0.11228, "the paper's value", True),
    Choice("loss", "train.fit.loss", ("mse", "mae", "mse_ssim"), "mse", "the simplest", True),
    Choice("bottleneck", "train.model.bottleneck", ("spatial", "dense"), "dense", "paper", True),
    Choice("pooling", "calibrate.four_ms_ssim.pooling", ("max", "mean"), "mean", "paper", False),
    Choice("score", "calibrate.score", ("four_ms_ssim_path", "four_ms_ssim"), "four_ms_ssim",
           "the paper's score (max pooling)", False),
)  # fmt: skip
SCORED_WITH = {"pooling": {"max": SSIM_MAX, "mean": SSIM_MEAN},
               "score": {"four_ms_ssim_path": INLINE, "four_ms_ssim": SSIM_MAX}}  # fmt: skip


def with_key(params: Any, dotted: str, value: Any) -> Any:
    """``params`` (a frozen dataclass tree) with the field at ``dotted`` set to ``value``."""
    head, _, rest = dotted.partition(".")
    if not rest:
        return dataclasses.replace(params, **{head: value})
    return dataclasses.replace(params, **{head: with_key(getattr(params, head), rest, value)})


def reference_set(args: argparse.Namespace) -> dict[str, Any]:
    """The reference images (raw, dataset resolution), labels, events and defect types."""
    synth = reference_params(args.params, args.reference_seed, args.normal_events, args.defects)
    folder = args.cache / f"reference-{args.reference_seed}-{args.normal_events}-{args.defects}"
    if not (folder / "manifest.csv").is_file():
        log.info("generating the reference set (seed %d) in %s", args.reference_seed, folder)
        generate_dataset(synth, folder, force=True)
    rows = read_manifest(folder)
    return {
        "folder": folder,
        "images": load_stack(folder, rows),
        "labels": np.array([row.label for row in rows]),
        "events": np.array([row.capture_event for row in rows]),
        "types": np.array([row.defect_type for row in rows]),
    }


def score_variant(model: Any, meta: CheckpointMeta, ctx: dict, score_choices: bool) -> dict:
    """Reference-set scores of one trained model under the inline score and, for the
    score-level choices (``score_choices``), 4-MS-SSIM with max and mean pooling."""
    ev = ctx["evaluate"]
    options = dataclasses.asdict(ev.four_ms_ssim)
    seal_path = dataclasses.asdict(ev.seal_path)
    inline = ReconstructionScorer(
        model, meta, ev.detector, ev.score, options, ev.batch_size, seal_path=seal_path
    )
    calibration = calibrate_seal_path(inline, ctx["train_split"])
    if calibration is not None:
        inline = inline.with_seal_path(calibration)
    images = ctx["reference"]["images"]
    out = {INLINE: inline(images).scores}
    poolings = ((SSIM_MAX, "max"), (SSIM_MEAN, "mean")) if score_choices else ()
    for name, pooling in poolings:
        scorer = ReconstructionScorer(
            model, meta, ev.detector, "four_ms_ssim", {**options, "pooling": pooling}, 32
        )
        out[name] = scorer(images).scores
    return out


def run_variant(override: tuple[str, Any] | None, seed: int, args: argparse.Namespace, ctx: dict):
    """Train (or read from the cache) one variant at one seed; its scores and training facts."""
    params = ctx["train"] if override is None else with_key(ctx["train"], *override)
    params = dataclasses.replace(params, seed=seed, device="cpu")
    key = json.dumps([dataclasses.asdict(params), ctx["fingerprint"]], sort_keys=True)
    path = args.cache / f"run-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as cached:
            return {k: cached[k] for k in cached.files}
    label = "params.yaml" if override is None else f"{override[0]}={override[1]}"
    log.info("training %s, seed %d", label, seed)
    started = time.perf_counter()
    model = build_model(ctx["evaluate"].detector, train.model_config(params), seed)
    roi = ctx["roi"]
    result = train_autoencoder(
        model, *ctx["data"], roi.weights(params.roi.outside_weight), params.fit, seed, "cpu",
        progress=sys.stderr.isatty(),
    )  # fmt: skip
    meta = CheckpointMeta(
        ctx["evaluate"].detector, model.config, roi, alignment=train.model_alignment(params)
    )
    scores = score_variant(model.cpu().eval(), meta, ctx, override is None)
    facts = {"seconds": time.perf_counter() - started, "best_epoch": result.best_epoch,
             "epochs_run": result.epochs_run}  # fmt: skip
    out = {**scores, **{k: np.asarray(v) for k, v in facts.items()}}
    np.savez(path, **out)
    log.info("%s seed %d: trained and scored in %.0f s", label, seed, facts["seconds"])
    return out


def per_type_auroc(rows: list[np.ndarray], labels: np.ndarray, types: np.ndarray) -> dict:
    """Seed-mean AUROC of each defect type against all normal images."""
    out = {}
    for kind in sorted(set(types[labels == 1])):
        keep = (labels == 0) | (types == kind)
        out[str(kind)] = float(np.mean([roc_auc_score(labels[keep], r[keep]) for r in rows]))
    return out


def summarise(choice: Choice, runs: dict, args: argparse.Namespace, ctx: dict) -> dict:
    """One choice's candidates (AUROC, unpaired interval, paired difference to the fallback)
    and the chosen value."""
    ref, rows = ctx["reference"], []
    for value in choice.candidates:
        override = (choice.key.removeprefix("train."), value) if choice.trained else None
        if choice.trained and value == ctx["current"][choice.name]:
            override = None  # the candidate params.yaml holds: the base model
        score = INLINE if choice.trained else SCORED_WITH[choice.name][value]
        per_seed = [runs[(override, seed)] for seed in args.seeds]
        rows.append({"value": value, "score": score,
                     "scores": np.stack([r[score] for r in per_seed]),
                     "train_seconds": [float(r["seconds"]) for r in per_seed]
                     if choice.trained else None,
                     "best_epochs": [int(r["best_epoch"]) for r in per_seed]})  # fmt: skip
    return decide(choice, rows, ctx["current"][choice.name], args, ref)


def decide(choice: Choice, rows: list[dict], current: Any, args: Any, ref: dict) -> dict:
    """Statistics of each candidate row (``rows[i]["scores"]``: (seeds, images)) and the
    value ``choose`` picks; the ``scores`` arrays are dropped from the result."""
    fallback = next(r["scores"] for r in rows if r["value"] == choice.fallback)
    labels, events, boot = ref["labels"], ref["events"], (args.n_boot, args.seeds[0])
    found, out = [], []
    for row in rows:
        scores = row.pop("scores")
        stats = seed_mean_auroc(scores, labels, events, *boot)
        paired = None
        if row["value"] != choice.fallback:
            paired = paired_difference(scores, fallback, labels, events, *boot)
        spread = max(stats["per_seed"]) - min(stats["per_seed"])
        by_type = per_type_auroc(list(scores), labels, ref["types"])
        out.append(
            {
                **row,
                **stats,
                "seeds": list(args.seeds),
                "per_type_auroc": by_type,
                "per_seed_spread": spread,
                "paired_difference_to_fallback": paired,
            }
        )
        diff_ci = None if paired is None else tuple(paired["ci"])
        found.append(Candidate(row["value"], stats["auroc"], tuple(stats["ci"]), diff_ci))
    chosen, reason = choose(found, choice.fallback)
    return {"key": choice.key, "params_yaml": current, "fallback": choice.fallback,
            "fallback_is": choice.why_fallback, "candidates": out, "chosen": chosen,
            "reason": reason, "agrees_with_params_yaml": chosen == current}  # fmt: skip


def current_values(train_params: Any, eval_params: Any) -> dict[str, Any]:
    """What params.yaml holds now for each choice."""
    return {c.name: _get(train_params if c.trained else eval_params, c.key) for c in CHOICES}


def _get(params: Any, dotted: str) -> Any:
    for part in dotted.split(".")[1:]:
        params = getattr(params, part)
    return params


def context(args: argparse.Namespace) -> dict[str, Any]:
    """Everything shared by the runs: params, training images, ROI, reference set."""
    train_params = load_section(args.params, "train")
    if args.epochs_cap:
        fit = dataclasses.replace(
            train_params.fit, epochs=min(args.epochs_cap, train_params.fit.epochs)
        )
        train_params = dataclasses.replace(train_params, fit=fit)
    eval_params = load_section(args.params, "calibrate")  # the inline detector's settings
    data = train.load_training_images(args.data, args.splits, train_params)
    rows, assignment = read_manifest(args.data), read_splits(args.splits)
    reference = reference_set(args)
    fingerprint = {"evaluate": dataclasses.asdict(eval_params),
                   "reference": str(reference["folder"]),
                   "data_md5": hashlib.md5((args.data / "manifest.csv").read_bytes()).hexdigest(),
                   "splits_md5": hashlib.md5(args.splits.read_bytes()).hexdigest()}  # fmt: skip
    return {
        "train": train_params,
        "evaluate": eval_params,
        "data": data,
        "roi": train.build_roi(train_params, data[0], None),
        "train_split": load_split(args.data, rows, assignment, "train"),
        "reference": reference,
        "fingerprint": fingerprint,
        "current": current_values(train_params, eval_params),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole study; returns the JSON-ready result."""
    started = time.perf_counter()
    numerics = configure_torch(args.threads)
    ctx = context(args)
    chosen = [c for c in CHOICES if c.name in args.choices]
    overrides: list[tuple[str, Any] | None] = [None]
    for c in chosen:
        if c.trained:
            overrides += [(c.key.removeprefix("train."), v) for v in c.candidates
                          if v != ctx["current"][c.name]]  # fmt: skip
    runs = {(o, s): run_variant(o, s, args, ctx) for s in args.seeds for o in overrides}
    ref = ctx["reference"]
    per_type = {str(t): int(np.sum(ref["types"] == t)) for t in np.unique(ref["types"])}
    return {
        "description": "design choices re-selected on an independent synthetic reference set "
        "(synth settings, another seed); models trained on the normal train images of --data, "
        "early stopping on its normal val images; the test split is never read",
        "rule": RULE,
        "rule_before": RULE_BEFORE,
        "interval": INTERVAL,
        "reference": {"synth_seed": args.reference_seed, "normal_events": args.normal_events,
                      "defect_events": args.defects, "images": int(ref["labels"].size),
                      "defective_images": int(ref["labels"].sum()), "images_per_type": per_type},
        "training": {"data": str(args.data), "splits": str(args.splits), "seeds": args.seeds,
                     "epochs": ctx["train"].fit.epochs, "epochs_cap": args.epochs_cap,
                     "n_train_images": int(len(ctx["data"][0])),
                     "n_val_normal_images": int(len(ctx["data"][1]))},
        "choices": {c.name: summarise(c, runs, args, ctx) for c in chosen},
        "wall_seconds": time.perf_counter() - started,
        "torch_numerics": numerics,
        "provenance": stage_provenance("selection_study", _jsonable(args), args.seeds[0]),
    }  # fmt: skip


def _jsonable(args: argparse.Namespace) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--splits", type=Path, default=Path("artifacts/prepare/splits.csv"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--cache", type=Path, default=Path("benchmarks/out/selection_study"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/selection_study.json"))
    parser.add_argument("--reference-seed", type=int, default=777)
    parser.add_argument("--normal-events", type=int, default=150)
    parser.add_argument("--defects", type=int, default=150, help="defect capture events")
    parser.add_argument("--seeds", type=int, nargs="+", default=[20250905, 20250906])
    parser.add_argument("--choices", nargs="+", default=[c.name for c in CHOICES],
                        choices=[c.name for c in CHOICES])  # fmt: skip
    parser.add_argument("--epochs-cap", type=int, default=None, help="cap on train.fit.epochs")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    configure_logging()
    for path in (args.data, args.splits, args.params):
        if not path.exists():
            parser.error(f"{path} not found; run `make demo` (dvc repro) first")
    args.cache.mkdir(parents=True, exist_ok=True)
    result = run(args)
    for name, entry in result["choices"].items():
        figures = ", ".join(f"{c['value']} {c['auroc']:.3f}" for c in entry["candidates"])
        print(f"{name}: {figures} -> {entry['chosen']} ({entry['reason']})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    log.info("written %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
