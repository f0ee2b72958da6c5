"""Detectability ceiling: how well can *any* detector see these defects at the working frame?

The inline detector learns from normal images only. To tell what it misses because the method
is weak from what no detector could see at the working resolution, this script trains a
*supervised* CNN on many labelled defects and scores the same embedded test split:

1. Generate an independent reference dataset with the ``synth`` section's settings but another
   seed and many more defective events (nothing shared with the embedded dataset: other
   pouches, other defects, other noise).
2. Prepare every image as the inline model sees it (``train.alignment`` at the working size,
   or ``--size``).
3. Train a small CNN classifier (BCE, max-like pooling over locations) on 85 % of the
   reference capture events; choose the epoch on the other 15 % (never on test).
4. Score the embedded *test* split; print AUROC with its bootstrap interval and per-type AUROC
   beside the trained inline detector's, scored here with ``evaluate``'s own scorer.

The supervised figure is an estimate from above for an unsupervised detector at the same
resolution and on the same data: it sees 1,680 labelled defects of every type, which the
autoencoder never does. It is not a proof of a bound (a larger supervised model could do a
little better), so read a gap of a few points as "at the ceiling".

Usage (from the repository root, venv active; about 12 min at 32x384 on 2 cores):

    python benchmarks/detectability_ceiling.py --out benchmarks/results/detectability_ceiling.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from sklearn.metrics import roc_auc_score
from torch import Tensor, nn
from tqdm import tqdm

from pipeline import train
from pipeline.cli import parse_size
from pipeline.config import load_section
from pipeline.data.manifest import read_manifest
from pipeline.data.splits import read_splits
from pipeline.data.synthetic import generate_dataset
from pipeline.detector import CHECKPOINT, ScoringSettings
from pipeline.detector.inline import inline_scorer
from pipeline.evaluation.fitting import calibrate_seal_path
from pipeline.evaluation.inference import load_split
from pipeline.evaluation.intervals import ranking_with_ci
from pipeline.models.alignment import Alignment, prepare_images
from pipeline.provenance import sha256_file, stage_provenance
from pipeline.runtime import configure_logging

log = logging.getLogger("detectability_ceiling")

HOLDOUT_SHARE = 0.15


@dataclasses.dataclass(frozen=True)
class Labelled:
    """Prepared images (N, H, W) with labels (N,), defect types (N,) and capture events (N,)."""

    images: np.ndarray
    labels: np.ndarray
    types: np.ndarray
    events: np.ndarray


def _block(inputs: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inputs, outputs, 3, padding=1),
        nn.BatchNorm2d(outputs),
        nn.ReLU(),
        nn.Conv2d(outputs, outputs, 3, padding=1),
        nn.BatchNorm2d(outputs),
        nn.ReLU(),
    )


class CeilingNet(nn.Module):
    """(N, 1, H, W) images in [0, 1] -> (N,) defect logits.

    Three conv blocks (16/32/64 channels, two 2x poolings) give a logit per location; the
    image logit is their log-mean-exp, a smooth maximum, so one small defect can decide.
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _block(1, 16), nn.MaxPool2d(2), _block(16, 32), nn.MaxPool2d(2), _block(32, 64)
        )
        self.head = nn.Conv2d(64, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        logits = self.head(self.features(x - 0.5)).flatten(1)
        return torch.logsumexp(logits, dim=1) - float(np.log(logits.shape[1]))


def read_reference(folder: Path, alignment: Alignment, size: tuple[int, int]) -> Labelled:
    """Every image of a dataset folder, prepared like model input."""
    rows = read_manifest(folder)
    raw = np.stack(
        [np.asarray(Image.open(folder / row.image_path), np.float32) / 255.0 for row in rows]
    )
    return Labelled(
        prepare_images(raw, alignment, *size),
        np.array([row.label for row in rows]),
        np.array([row.defect_type for row in rows]),
        np.array([row.capture_event for row in rows]),
    )


def split_by_event(data: Labelled, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (fit, holdout) index over images; twin views never straddle the two."""
    events = np.unique(data.events)
    rng = np.random.default_rng(seed)
    held = set(rng.choice(events, int(HOLDOUT_SHARE * len(events)), replace=False))
    holdout = np.array([event in held for event in data.events])
    return ~holdout, holdout


def predict(model: CeilingNet, images: np.ndarray, batch: int = 64) -> np.ndarray:
    """(N, H, W) -> (N,) logits."""
    model.eval()
    with torch.no_grad():
        parts = [
            model(torch.from_numpy(images[i : i + batch])[:, None]).numpy()
            for i in range(0, len(images), batch)
        ]
    return np.concatenate(parts)


def train_ceiling(
    data: Labelled, epochs: int, seed: int, progress: bool
) -> tuple[CeilingNet, list[dict[str, float]]]:
    """Fit on the fit events; keep the weights of the epoch with the best holdout AUROC."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    fit, holdout = split_by_event(data, seed)
    model = CeilingNet()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    # cosine decay: the last epochs settle instead of jumping between holdout peaks
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs)
    images, labels = data.images[fit], torch.from_numpy(data.labels[fit]).float()
    history: list[dict[str, float]] = []
    best: tuple[float, dict[str, Tensor]] = (-1.0, {})
    for epoch in tqdm(range(epochs), desc="ceiling", unit="epoch", disable=not progress):
        started = time.perf_counter()
        model.train()
        order = rng.permutation(len(images))
        losses = []
        for start in range(0, len(order), 32):
            index = order[start : start + 32]
            batch = torch.from_numpy(images[index])[:, None]
            if rng.random() < 0.5:
                batch = batch.flip(-1)  # the band has no left or right
            batch = batch * float(rng.uniform(0.9, 1.1))
            loss = F.binary_cross_entropy_with_logits(model(batch), labels[index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        schedule.step()
        auroc = float(roc_auc_score(data.labels[holdout], predict(model, data.images[holdout])))
        history.append(
            {
                "epoch": epoch,
                "loss": float(np.mean(losses)),
                "holdout_auroc": auroc,
                "seconds": time.perf_counter() - started,
            }
        )
        if auroc > best[0]:
            best = (auroc, {k: v.clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[1])
    return model, history


def per_type_auroc(scores: np.ndarray, labels: np.ndarray, types: np.ndarray) -> dict[str, float]:
    """AUROC of each defect type against all normal images."""
    out = {}
    for kind in sorted(set(types[labels == 1])):
        keep = (labels == 0) | (types == kind)
        out[str(kind)] = float(roc_auc_score(labels[keep], scores[keep]))
    return out


def inline_reference(
    models: Path, params_file: Path, train_split: Any, test: Any
) -> dict[str, Any] | None:
    """The trained inline detector scored on the same test images as ``evaluate`` scores them
    (its score, options and, for the path score, the calibration fitted on train normals)."""
    params = load_section(params_file, "calibrate")
    checkpoint = models / params.detector / CHECKPOINT
    if not checkpoint.exists():
        log.warning("%s not found: no inline detector beside the ceiling", checkpoint)
        return None
    settings = ScoringSettings(
        "inline",
        params.score,
        params.detector,
        four_ms_ssim=dataclasses.asdict(params.four_ms_ssim),
        seal_path=dataclasses.asdict(params.seal_path),
    )
    scorer = inline_scorer(checkpoint, settings, params.batch_size)
    seal_path = calibrate_seal_path(scorer, train_split)
    if seal_path is not None:
        scorer = scorer.with_seal_path(seal_path)
    scores = scorer(test.images).scores
    seed = load_section(params_file, "evaluate").seed
    ranking = ranking_with_ci(scores, test.labels, n_boot=1000, seed=seed)
    return {
        "detector": params.detector,
        "score": params.score,
        "checkpoint_sha256": sha256_file(checkpoint),
        "auroc": ranking["auroc"],
        "auroc_ci": ranking["ci"]["auroc"],
        "per_type_auroc": per_type_auroc(scores, test.labels, test.defect_types),
    }


def reference_params(params_file: Path, seed: int, normals: int, defects: int) -> Any:
    """The ``synth`` section with another seed and more events: same defects, other draws."""
    synth = load_section(params_file, "synth")
    return dataclasses.replace(synth, seed=seed, n_normal_events=normals, n_defect_events=defects)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole study; returns the JSON-ready result."""
    train_params = load_section(args.params, "train")
    alignment = train.model_alignment(train_params)
    size = args.size or (train_params.working_height, train_params.working_width)
    synth = reference_params(
        args.params, args.reference_seed, args.normal_events, args.defect_events
    )
    rows, assignment = read_manifest(args.data), read_splits(args.splits)
    test = load_split(args.data, rows, assignment, "test")
    # the inline side first: a broken model or params fail before the long part
    inline = inline_reference(
        args.models, args.params, load_split(args.data, rows, assignment, "train"), test
    )
    with tempfile.TemporaryDirectory(prefix="sealaudit-ceiling-") as scratch:
        folder = Path(scratch) / "reference"
        generate_dataset(synth, folder)
        reference = read_reference(folder, alignment, size)
    test_images = prepare_images(test.images, alignment, *size)
    torch.set_num_threads(args.threads)
    model, history = train_ceiling(reference, args.epochs, args.seed, sys.stderr.isatty())
    scores = predict(model, test_images)
    ranking = ranking_with_ci(scores, test.labels, n_boot=1000, seed=args.seed)
    chosen = max(history, key=lambda row: row["holdout_auroc"])
    return {
        "what": "supervised CNN on an independent labelled reference set, scored on test",
        "working_size": list(size),
        "alignment": dataclasses.asdict(alignment),
        "reference": {
            "synth_seed": args.reference_seed,
            "normal_events": args.normal_events,
            "defect_events": args.defect_events,
            "images": int(len(reference.labels)),
            "defective_images": int(reference.labels.sum()),
        },
        "chosen_epoch": chosen["epoch"],
        "history": history,
        "test": {
            "n_normal": int((test.labels == 0).sum()),
            "n_defective": int(test.labels.sum()),
            "auroc": ranking["auroc"],
            "auroc_ci": ranking["ci"]["auroc"],
            "aupr": ranking["aupr"],
            "per_type_auroc": per_type_auroc(scores, test.labels, test.defect_types),
        },
        "inline_detector": inline,
        "provenance": stage_provenance("detectability_ceiling", vars_for_json(args), args.seed),
    }


def print_summary(result: dict[str, Any]) -> None:
    """The figures a reader wants, one per line."""
    test, inline = result["test"], result["inline_detector"]
    low, high = test["auroc_ci"]
    size, epoch = result["working_size"], result["chosen_epoch"]
    print(f"working size {size[0]}x{size[1]}, epoch {epoch} chosen on the holdout events")
    print(f"supervised ceiling: test AUROC {test['auroc']:.3f} [{low:.3f}, {high:.3f}]")
    if inline:
        low, high = inline["auroc_ci"]
        print(f"inline detector:    test AUROC {inline['auroc']:.3f} [{low:.3f}, {high:.3f}]")
    for kind, value in test["per_type_auroc"].items():
        mine = inline["per_type_auroc"].get(kind) if inline else None
        print(f"  {kind:16s} ceiling {value:.3f}" + (f"  inline {mine:.3f}" if mine else ""))


def vars_for_json(args: argparse.Namespace) -> dict[str, Any]:
    """The command line as plain JSON values."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--splits", type=Path, default=Path("artifacts/prepare/splits.csv"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--models", type=Path, default=Path("artifacts/train"))
    parser.add_argument("--size", type=parse_size, default=None, help="default: train's size")
    parser.add_argument("--reference-seed", type=int, default=777)
    parser.add_argument("--normal-events", type=int, default=300)
    parser.add_argument("--defect-events", type=int, default=840)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="CNN weights, batches, holdout")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="write the result JSON here")
    args = parser.parse_args(argv)
    configure_logging()
    for path in (args.data, args.splits, args.params):
        if not path.exists():
            parser.error(f"{path} not found; run `make demo` (dvc repro) first")
    result = run(args)
    print_summary(result)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        log.info("written %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
