"""Re-decide a finished selection study with the paired rule, from its cached scores.

``selection_study.py`` caches every (variant, seed) run's per-image reference scores under
``--cache``. This script reads a study's JSON, finds each candidate's per-seed score vectors
in that cache (the one whose AUROC and best epoch match the JSON's, to 1e-12; duplicates
must hold identical scores), and recomputes every candidate's statistics, the paired
difference to the fallback and the choice by ``pipeline.evaluation.selection.RULE``. No model
is trained; the cache keys need not match the current params.yaml.

Usage (from the repository root):

    python benchmarks/selection_paired.py --study benchmarks/results/selection_study.json
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from selection_study import CHOICES, INTERVAL, RULE, RULE_BEFORE, decide
from sklearn.metrics import roc_auc_score

from pipeline.errors import SealauditError
from pipeline.provenance import git_state


def reference(folder: Path) -> dict[str, np.ndarray]:
    """Labels, capture events and defect types of the reference set, in manifest order."""
    with (folder / "manifest.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        "labels": np.array([int(r["label"]) for r in rows]),
        "events": np.array([r["capture_event"] for r in rows]),
        "types": np.array([r["defect_type"] for r in rows]),
    }


def find_scores(cache: list[dict], score: str, auroc: float, epoch: int, labels) -> np.ndarray:
    """The cached score vector with this AUROC and best epoch (one, or identical copies)."""
    hits = [
        run[score]
        for run in cache
        if score in run
        and int(run["best_epoch"]) == epoch
        and abs(roc_auc_score(labels, run[score]) - auroc) < 1e-12
    ]
    if not hits:
        raise SealauditError(f"no cached run has {score} AUROC {auroc} at best epoch {epoch}")
    if any(not np.array_equal(hits[0], other) for other in hits[1:]):
        raise SealauditError(f"cached runs with {score} AUROC {auroc} differ in their scores")
    return hits[0]


def redecide(study: dict, cache: list[dict], ref: dict, n_boot: int) -> dict[str, Any]:
    """Every choice of ``study`` decided again from the cached scores."""
    seeds = study["training"]["seeds"]
    args = SimpleNamespace(n_boot=n_boot, seeds=seeds)
    out = {}
    for choice in CHOICES:
        entry = study["choices"][choice.name]
        rows = []
        for old in entry["candidates"]:
            found = [
                find_scores(cache, old["score"], auroc, epoch, ref["labels"])
                for auroc, epoch in zip(old["per_seed"], old["best_epochs"], strict=True)
            ]
            rows.append(
                {"value": old["value"], "score": old["score"], "scores": np.stack(found),
                 "train_seconds": old["train_seconds"], "best_epochs": old["best_epochs"]}
            )  # fmt: skip
        out[choice.name] = decide(choice, rows, entry["params_yaml"], args, ref)
        out[choice.name]["decision_before"] = {"chosen": entry["chosen"], "why": entry["reason"]}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--study", type=Path, default=Path("benchmarks/results/selection_study.json")
    )
    parser.add_argument("--cache", type=Path, default=Path("benchmarks/out/selection_study"))
    parser.add_argument("--out", type=Path, default=None, help="default: overwrite --study")
    args = parser.parse_args(argv)
    study = json.loads(args.study.read_text(encoding="utf-8"))
    params = study["provenance"]["params"]
    folder = args.cache / "reference-{}-{}-{}".format(
        study["reference"]["synth_seed"], params["normal_events"], params["defects"]
    )
    cache = [dict(np.load(p)) for p in sorted(args.cache.glob("run-*.npz"))]
    choices = redecide(study, cache, reference(folder), params["n_boot"])
    study = {**study, "rule": RULE, "rule_before": RULE_BEFORE, "interval": INTERVAL}
    study["choices"] = choices
    study["paired_recompute"] = {"script": "benchmarks/selection_paired.py", **git_state()}
    for name, entry in choices.items():
        print(f"{name}: -> {entry['chosen']} ({entry['reason']})")
    out = args.out or args.study
    out.write_text(json.dumps(study, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
