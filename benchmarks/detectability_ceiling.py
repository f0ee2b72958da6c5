"""Detectability ceiling: how well can *any* detector see these defects, per working frame?

The inline detector learns from normal images only. To tell what it misses because the method
is weak from what no detector could see at a working resolution, this script trains a
*supervised* CNN on many labelled defects, at each working size asked for, with several seeds:

1. Generate an independent reference dataset with the ``synth`` section's settings but another
   seed and many more defective events (nothing shared with the embedded dataset: other
   pouches, other defects, other noise), and an independent normal-only threshold set.
2. Prepare every image as the inline model would see it at that size (``train.alignment``);
   at the stored size (128 x 768) the stored frames themselves, not resampled: the ceiling
   there is what the source data allows, and the gap to the working size's ceiling is what
   the working frame (alignment and downscaling together) costs.
3. Train ``ceiling_training.CeilingNet`` (batch norm, warm-up + cosine, class-balanced loss,
   the generator's defect masks supervising its per-location logits; full-resolution stem
   levels at larger frames) on 85 % of the reference capture events; keep the epoch with the
   best AUROC on the other 15 % (never on test).
4. Fix the decision threshold on the threshold set (``--false-reject-target`` of its capture
   events rejected), before any test or challenge image is scored.
5. Score the embedded *test* split (AUROC, per defect type) and the *challenge* set (hit/miss
   per capture event -> a90/95 per requirement of ``validation/protocol.yaml``, false rejects),
   exactly as ``assess_capability`` judges a mode.

The trained inline detector is scored on the same test split with ``evaluate``'s scorer. The
supervised figure estimates from above what a detector trained on normals only can reach at
that size: it sees 1,680 labelled defects of every type, which the autoencoder never does. It
is no proof of a bound (a larger model could do a little better): read a gap of a few points as
"at the ceiling", and the spread over seeds as the figure's own uncertainty.

Every (size, seed) run saves its state after each epoch under ``--state``: stop the script at
any time and start it again with the same arguments to resume (same final weights). Too long
for one sitting (about 28 min per seed at 128 x 768 on 2 cores)? Run it in pieces, and write
the evidence from the runs finished so far with ``--finished-only``: each size then lists its
``pending_seeds``, and the dossier says how many seeds its figures rest on.

Usage (from the repository root, venv active; about 4 min per seed at 32x384 and 28 min per
seed at 128x768 on 2 cores):

    python benchmarks/detectability_ceiling.py --sizes 32x384 128x768 --seeds 0 1 2 \\
        --out benchmarks/results/detectability_ceiling.json

(or ``make study STUDY=detectability_ceiling``: the DVC stage in ``benchmarks/dvc.yaml``)
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ceiling_training import CeilingNet, Schedule, new_run, predict, stem_levels
from ceiling_training import train_ceiling as fit_ceiling
from sklearn.metrics import roc_auc_score

from pipeline import train
from pipeline.assess_capability import image_decision
from pipeline.calibrate import calibrated_inline
from pipeline.capability.events import event_outcomes
from pipeline.capability.report import Rules, assess_mode
from pipeline.cli import parse_size
from pipeline.config import load_section
from pipeline.data.images import load_row_mask, load_stack
from pipeline.data.manifest import ManifestRow, read_manifest
from pipeline.data.splits import read_splits
from pipeline.data.synthetic import generate_dataset
from pipeline.detector import CHECKPOINT
from pipeline.evaluation.inference import load_split
from pipeline.evaluation.intervals import ranking_with_ci
from pipeline.models.alignment import Alignment, prepare_images, prepare_masks
from pipeline.provenance import sha256_file, stage_provenance
from pipeline.registry.protocol import load_protocol
from pipeline.runtime import configure_logging

log = logging.getLogger("detectability_ceiling")

HOLDOUT_SHARE = 0.15
# Part of every run's state key: bump it when a change to this script, ceiling_training.py or
# the pipeline code they call changes what a run computes (training, frames, scoring), so no
# stale state is resumed. Edits that change no result (docs, reporting) keep it, so a study
# run in pieces over several sessions survives them.
CODE_VERSION = 2
CHUNK = 256  # images read and prepared at once (memory bound at 128 x 768)


@dataclasses.dataclass(frozen=True)
class Labelled:
    """Prepared images (N, H, W) with labels (N,), defect types (N,), capture events (N,) and,
    where asked for, defect masks (N, H, W) bool in the same frame."""

    images: np.ndarray
    labels: np.ndarray
    types: np.ndarray
    events: np.ndarray
    masks: np.ndarray | None = None


@dataclasses.dataclass(frozen=True)
class Frame:
    """How images are prepared for one working size."""

    alignment: Alignment
    size: tuple[int, int]

    def prepare(self, folder: Path, rows: list[ManifestRow]) -> np.ndarray:
        """The rows' images as model input, read in chunks."""
        parts = [
            prepare_images(load_stack(folder, rows[i : i + CHUNK]), self.alignment, *self.size)
            for i in range(0, len(rows), CHUNK)
        ]
        return np.concatenate(parts).astype(np.float32)

    def prepare_masks(self, folder: Path, rows: list[ManifestRow]) -> np.ndarray:
        """The rows' defect masks in the frame of ``prepare`` (bool), read in chunks."""
        parts = []
        for i in range(0, len(rows), CHUNK):
            chunk = rows[i : i + CHUNK]
            masks = np.stack([load_row_mask(folder, row) for row in chunk])
            parts.append(
                prepare_masks(load_stack(folder, chunk), masks, self.alignment, *self.size)
            )
        return np.concatenate(parts)

    def labelled(
        self, folder: Path, rows: list[ManifestRow] | None = None, with_masks: bool = False
    ) -> Labelled:
        """Every image of a dataset folder (or ``rows`` of it), prepared, with its truth."""
        rows = read_manifest(folder) if rows is None else rows
        return Labelled(
            self.prepare(folder, rows),
            np.array([row.label for row in rows]),
            np.array([row.defect_type for row in rows]),
            np.array([row.capture_event for row in rows]),
            self.prepare_masks(folder, rows) if with_masks else None,
        )


def split_by_event(events: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (fit, holdout) index over images; twin views never straddle the two."""
    unique = np.unique(events)
    rng = np.random.default_rng(seed)
    held = set(rng.choice(unique, int(HOLDOUT_SHARE * len(unique)), replace=False))
    holdout = np.array([event in held for event in events])
    return ~holdout, holdout


def per_type_auroc(scores: np.ndarray, labels: np.ndarray, types: np.ndarray) -> dict[str, float]:
    """AUROC of each defect type against all normal images."""
    out = {}
    for kind in sorted(set(types[labels == 1])):
        keep = (labels == 0) | (types == kind)
        out[str(kind)] = float(roc_auc_score(labels[keep], scores[keep]))
    return out


def event_threshold(scores: np.ndarray, events: np.ndarray, target: float) -> dict[str, Any]:
    """The threshold rejecting at most ``target`` of these normal capture events (an event is
    rejected when any view scores above it), with the rate it gives on them."""
    by_event: dict[str, float] = {}
    for event, score in zip(events, scores, strict=True):
        by_event[event] = max(by_event.get(event, -np.inf), float(score))
    ordered = np.sort(np.array(list(by_event.values())))[::-1]
    allowed = int(np.floor(target * len(ordered)))  # events allowed above the threshold
    value = float(ordered[allowed])
    rejected = int((ordered > value).sum())
    return {
        "value": value,
        "target": target,
        "n_events": len(ordered),
        "n_rejected": rejected,
        "rate": rejected / len(ordered),
    }


def challenge_capability(
    scores: np.ndarray, rows: list[ManifestRow], threshold: float, protocol: Any, figures: Path
) -> dict[str, Any]:
    """Hit/miss per capture event at ``threshold``, judged by the protocol's rules: the false
    rejects and, per requirement, a50 / a90 / a90/95 (``assess_capability``'s evidence rows)."""
    pairs = zip(rows, scores, strict=True)
    decisions = [image_decision(row, score > threshold) for row, score in pairs]
    figures.mkdir(parents=True, exist_ok=True)
    judged = assess_mode(
        event_outcomes(decisions), protocol.requirements, Rules.of(protocol.statistics), figures
    )
    keep = ("id", "defect_type", "form", "unit", "required_a90_95", "method", "a50", "a90")
    requirements = [
        {key: row[key] for key in (*keep, "a90_95", "passed", "note")}
        for row in judged["requirements"]
    ]
    return {"false_reject": judged["false_reject"], "requirements": requirements}


@dataclasses.dataclass(frozen=True)
class Worlds:
    """The data every run of the study reads (raw folders; each size prepares its own)."""

    reference: Path
    threshold_set: Path
    data: Path
    test_rows: list[ManifestRow]
    challenge: Path | None


def finished(folder: Path) -> bool:
    """Whether the run in ``folder`` has its result (trained and scored)."""
    return (folder / "result.json").is_file()


class Prepared:
    """The study's data prepared for one working size, each set read and prepared at most once
    and shared by every seed (at 128 x 768 about 2 GB held; a finished run reads nothing)."""

    def __init__(self, frame: Frame, worlds: Worlds) -> None:
        self.frame, self.worlds = frame, worlds

    @functools.cached_property
    def reference(self) -> Labelled:
        """The labelled reference set, with its masks."""
        return self.frame.labelled(self.worlds.reference, with_masks=True)

    @functools.cached_property
    def threshold_set(self) -> Labelled:
        """The independent normal events the threshold is fixed on."""
        return self.frame.labelled(self.worlds.threshold_set)

    @functools.cached_property
    def test(self) -> Labelled:
        """The embedded data's test split."""
        return self.frame.labelled(self.worlds.data, self.worlds.test_rows)

    @functools.cached_property
    def challenge(self) -> tuple[list[ManifestRow], np.ndarray] | None:
        """The challenge set's rows and prepared images (None without a challenge set)."""
        if self.worlds.challenge is None:
            return None
        rows = read_manifest(self.worlds.challenge)
        return rows, self.frame.prepare(self.worlds.challenge, rows)


def run_one(prepared: Prepared, seed: int, args: argparse.Namespace, state: Path) -> dict[str, Any]:
    """Train (or resume) one seed at one size and score it; the run's JSON row."""
    done = state / "result.json"
    if finished(state):
        log.info("%s: already done, read from %s", state.name, done)
        return json.loads(done.read_text(encoding="utf-8"))
    state.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    reference = prepared.reference
    assert reference.masks is not None
    fit, holdout = split_by_event(reference.events, seed)
    run = new_run(stem_levels(prepared.frame.size[0]), schedule_of(args), seed)
    checkpoint = state / "state.pt"
    if checkpoint.exists():
        run.restore(checkpoint)
        log.info("%s: resumed after epoch %d", state.name, len(run.history) - 1)
    torch.set_num_threads(args.threads)
    model = fit_ceiling(
        run,
        (reference.images[fit], reference.labels[fit], reference.masks[fit]),
        (reference.images[holdout], reference.labels[holdout]),
        schedule_of(args),
        checkpoint,
    )
    row = score_run(model, prepared, args, state)
    row.update(
        seed=seed,
        chosen_epoch=max(run.history, key=lambda r: r["holdout_auroc"])["epoch"],
        history=run.history,
        train_seconds=sum(r["seconds"] for r in run.history),
        session_seconds=time.perf_counter() - started,
    )
    done.write_text(json.dumps(row, indent=2) + "\n", encoding="utf-8")
    return row


def score_run(
    model: CeilingNet, prepared: Prepared, args: argparse.Namespace, state: Path
) -> dict[str, Any]:
    """Threshold on the threshold set, then the test split and the challenge set."""
    normals = prepared.threshold_set
    threshold = event_threshold(
        predict(model, normals.images), normals.events, args.false_reject_target
    )
    test = prepared.test
    scores = predict(model, test.images)
    ranking = ranking_with_ci(scores, test.labels, n_boot=1000, seed=0)
    row: dict[str, Any] = {
        "threshold": threshold,
        "test": {
            "n_normal": int((test.labels == 0).sum()),
            "n_defective": int(test.labels.sum()),
            "auroc": ranking["auroc"],
            "auroc_ci": ranking["ci"]["auroc"],
            "aupr": ranking["aupr"],
            "per_type_auroc": per_type_auroc(scores, test.labels, test.types),
        },
        "challenge": None,
    }
    if prepared.challenge is not None:
        rows, images = prepared.challenge
        row["challenge"] = challenge_capability(
            predict(model, images),
            rows,
            threshold["value"],
            load_protocol(args.protocol),
            state / "pod",
        )
    return row


def schedule_of(args: argparse.Namespace) -> Schedule:
    """The training schedule given on the command line."""
    return Schedule(
        args.epochs,
        args.warmup_epochs,
        args.learning_rate,
        1e-4,
        args.batch_size,
        args.location_weight,
    )


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean, standard deviation, min and max over seeds: overall and per-type test AUROC, and
    per requirement the challenge a90/95 (over the seeds where it was demonstrated)."""
    per_type = {kind for run in runs for kind in run["test"]["per_type_auroc"]}
    summary: dict[str, Any] = {
        "n_seeds": len(runs),
        "test_auroc": spread([run["test"]["auroc"] for run in runs]),
        "per_type_auroc": {
            kind: spread([run["test"]["per_type_auroc"].get(kind) for run in runs])
            for kind in sorted(per_type)
        },
        "a90_95": {},
    }
    challenged = [run["challenge"] for run in runs if run["challenge"]]
    for index, requirement in enumerate(challenged[0]["requirements"] if challenged else []):
        values = [c["requirements"][index]["a90_95"] for c in challenged]
        summary["a90_95"][requirement["id"]] = {
            **spread(values),
            "required": requirement["required_a90_95"],
            "unit": requirement["unit"],
            "n_passed": sum(c["requirements"][index]["passed"] for c in challenged),
        }
    return summary


def spread(values: list[float | None]) -> dict[str, Any]:
    """Mean / sd / min / max of the defined values, and how many were undefined."""
    defined = np.array([v for v in values if v is not None], float)
    if not defined.size:
        return {"mean": None, "sd": None, "min": None, "max": None, "n_undefined": len(values)}
    return {
        "mean": float(defined.mean()),
        "sd": float(defined.std(ddof=1)) if defined.size > 1 else 0.0,
        "min": float(defined.min()),
        "max": float(defined.max()),
        "n_undefined": len(values) - int(defined.size),
    }


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
    scorer, _ = calibrated_inline(models, train_split, params)
    scores = scorer(test.images).scores
    seed = load_section(params_file, "evaluate").seed
    ranking = ranking_with_ci(scores, test.labels, n_boot=1000, seed=seed)
    train_params = load_section(params_file, "train")
    return {
        "detector": params.detector,
        "score": params.score,
        "working_size": [train_params.working_height, train_params.working_width],
        "checkpoint_sha256": sha256_file(checkpoint),
        "auroc": ranking["auroc"],
        "auroc_ci": ranking["ci"]["auroc"],
        "per_type_auroc": per_type_auroc(scores, test.labels, test.defect_types),
    }


def reference_params(params_file: Path, seed: int, normals: int, defects: int) -> Any:
    """The ``synth`` section with another seed and other event counts: same defects, other
    draws (also the selection study's reference set)."""
    synth = load_section(params_file, "synth")
    return dataclasses.replace(synth, seed=seed, n_normal_events=normals, n_defect_events=defects)


def reference_worlds(args: argparse.Namespace) -> tuple[Path, Path, dict[str, Any]]:
    """Generate (or reuse, when resuming) the reference and threshold sets under ``--state``;
    the folders and what they are."""
    reference = reference_params(
        args.params, args.reference_seed, args.normal_events, args.defect_events
    )
    normals = reference_params(args.params, args.reference_seed + 1, args.threshold_events, 0)
    folders = []
    for name, settings in (("reference", reference), ("threshold_set", normals)):
        folder = args.state / "worlds" / f"{name}-{_fingerprint(settings)}"
        if not folder.exists():
            generate_dataset(settings, folder)
        folders.append(folder)
    rows = read_manifest(folders[0])
    described = {
        "synth_seed": args.reference_seed,
        "normal_events": args.normal_events,
        "defect_events": args.defect_events,
        "images": len(rows),
        "defective_images": sum(row.label for row in rows),
    }
    return folders[0], folders[1], described


def _fingerprint(settings: Any) -> str:
    """A short hash of generator settings: a changed setting never reuses an old folder."""
    return _hash(dataclasses.asdict(settings))


def _hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_folder(args: argparse.Namespace, worlds: Worlds, size: tuple[int, int], seed: int) -> Path:
    """Where one run keeps its state: named by everything its result depends on (schedule,
    data, splits, challenge set, threshold rule, ``CODE_VERSION``), so a resumed or finished
    run is reused only when nothing it read has changed."""
    inputs = {
        "schedule": dataclasses.asdict(schedule_of(args)),
        "worlds": [worlds.reference.name, worlds.threshold_set.name],
        "splits": sha256_file(args.splits),
        "test": sorted(row.sha256 for row in worlds.test_rows),
        "challenge": sha256_file(worlds.challenge / "manifest.csv") if worlds.challenge else None,
        "false_reject_target": args.false_reject_target,
        "code": CODE_VERSION,
    }
    return args.state / f"{size[0]}x{size[1]}-seed{seed}-{_hash(inputs)}"


STORED = "stored frames, not resampled"
ALIGNED = "seal band aligned and resampled (train.alignment)"


def frame_kind(folder: Path, size: tuple[int, int]) -> str:
    """What the network sees at ``size``: at the stored image size the frames themselves
    (alignment leaves a stack at the working size as it is), else the aligned band."""
    first = read_manifest(folder)[0]
    return STORED if (first.height, first.width) == tuple(size) else ALIGNED


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole study; returns the JSON-ready result."""
    train_params = load_section(args.params, "train")
    alignment = train.model_alignment(train_params)
    rows, assignment = read_manifest(args.data), read_splits(args.splits)
    test_rows = [row for row in rows if assignment.get(row.image_id) == "test"]
    # the inline side first: a broken model or params fail before the long part
    inline = inline_reference(
        args.models,
        args.params,
        load_split(args.data, rows, assignment, "train"),
        load_split(args.data, rows, assignment, "test"),
    )
    reference, threshold_set, described = reference_worlds(args)
    challenge = args.challenge if args.challenge and args.challenge.exists() else None
    worlds = Worlds(reference, threshold_set, args.data, test_rows, challenge)
    sizes = []
    for size in args.sizes:
        frame = Frame(alignment, size)
        folders = {seed: run_folder(args, worlds, size, seed) for seed in args.seeds}
        pending = [seed for seed, folder in folders.items() if not finished(folder)]
        if args.finished_only:
            folders = {seed: f for seed, f in folders.items() if seed not in pending}
        prepared = Prepared(frame, worlds)
        runs = [run_one(prepared, seed, args, folder) for seed, folder in folders.items()]
        if not runs:
            log.warning("%dx%d: no finished run yet; left out", *size)
            continue
        sizes.append(
            {
                "working_size": list(size),
                "pending_seeds": pending if args.finished_only else [],
                "frame": frame_kind(worlds.reference, size),
                "stem_levels": stem_levels(size[0]),
                "parameters": sum(p.numel() for p in CeilingNet(stem_levels(size[0])).parameters()),
                "runs": runs,
                "summary": summarise(runs),
            }
        )
    return {
        "what": "supervised CNN on an independent labelled reference set, per working size "
        "and seed; scored on the test split and the challenge set",
        "alignment": dataclasses.asdict(alignment),
        "reference": described,
        "threshold_set": {
            "synth_seed": args.reference_seed + 1,
            "normal_events": args.threshold_events,
            "false_reject_target": args.false_reject_target,
        },
        "challenge": str(challenge) if challenge else None,
        "schedule": dataclasses.asdict(schedule_of(args)),
        "sizes": sizes,
        "inline_detector": inline,
        "provenance": stage_provenance("detectability_ceiling", vars_for_json(args), args.seeds[0]),
    }


def print_summary(result: dict[str, Any]) -> None:
    """The figures a reader wants, one per line."""
    inline = result["inline_detector"]
    for size in result["sizes"]:
        summary = size["summary"]
        height, width = size["working_size"]
        auroc = summary["test_auroc"]
        print(
            f"{height}x{width}: ceiling test AUROC {auroc['mean']:.3f} "
            f"(sd {auroc['sd']:.3f}, {summary['n_seeds']} seeds)"
        )
        for kind, value in summary["per_type_auroc"].items():
            mine = inline["per_type_auroc"].get(kind) if inline else None
            print(
                f"  {kind:16s} ceiling {value['mean']:.3f} [{value['min']:.3f}, {value['max']:.3f}]"
                + (f"  inline {mine:.3f}" if mine is not None else "")
            )
        for requirement, value in summary["a90_95"].items():
            mean = "not demonstrated" if value["mean"] is None else f"{value['mean']:.3g}"
            print(
                f"  {requirement:14s} a90/95 {mean} {value['unit']} (required {value['required']})"
            )
    if inline:
        print(f"inline detector: test AUROC {inline['auroc']:.3f}")


def vars_for_json(args: argparse.Namespace) -> dict[str, Any]:
    """The command line as plain JSON values."""
    out = {}
    for key, value in vars(args).items():
        if isinstance(value, Path):
            value = str(value)
        elif key == "sizes":
            value = [f"{h}x{w}" for h, w in value]
        out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--splits", type=Path, default=Path("artifacts/prepare/splits.csv"))
    parser.add_argument("--challenge", type=Path, default=Path("challenge"))
    parser.add_argument("--protocol", type=Path, default=Path("validation/protocol.yaml"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--models", type=Path, default=Path("artifacts/train"))
    parser.add_argument("--sizes", type=parse_size, nargs="+", default=[(32, 384), (128, 768)])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--reference-seed", type=int, default=777)
    parser.add_argument("--normal-events", type=int, default=300)
    parser.add_argument("--defect-events", type=int, default=840)
    parser.add_argument("--threshold-events", type=int, default=300)
    parser.add_argument(
        "--false-reject-target",
        type=float,
        default=0.01,
        help="share of threshold-set capture events rejected (the protocol allows 0.05)",
    )
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--warmup-epochs", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--location-weight",
        type=float,
        default=1.0,
        help="weight of the mask-supervised location loss (0: image labels only)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--state",
        type=Path,
        default=Path("benchmarks/out/detectability_ceiling"),
        help="resumable per-run state (delete it to start over)",
    )
    parser.add_argument(
        "--finished-only",
        action="store_true",
        help="train nothing: write the JSON from the runs finished so far, naming the pending "
        "seeds (a study run in pieces)",
    )
    parser.add_argument("--out", type=Path, default=None, help="write the result JSON here")
    args = parser.parse_args(argv)
    configure_logging()
    for path in (args.data, args.splits, args.params, args.protocol):
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
