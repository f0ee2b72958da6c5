"""DVC stage ``fit_monitor``: fit the monitoring mode (RFD-MD) on the trained autoencoder.

Reads the manifest, the splits and the autoencoder checkpoint. For each layer of the ablation
grid (and the chosen layer) it extracts encoder features of the normal ``train`` images and of
all ``val`` images, scores every grid configuration on ``val``, and fits the chosen
configuration. The ``val`` normal scores become the reference distribution of the control
charts. No decision threshold is fitted here: the ``calibrate`` stage fits it and writes the
monitor that decides (``artifacts/calibrate/monitor.npz``). Writes ``monitor.npz``
(``FittedMonitor`` without a threshold), ``monitor_summary.json`` and
``contribution_examples.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import evidence
from pipeline.config import load_section
from pipeline.config.fit_monitor import Params
from pipeline.data.images import load_row_image, load_row_mask, load_stack
from pipeline.data.manifest import DatasetError, ManifestRow, read_manifest
from pipeline.data.splits import read_splits, rows_in_split
from pipeline.errors import SealauditError
from pipeline.evidence import MonitorSummary
from pipeline.evidence.gate import add_governance_argument, require_passed_governance
from pipeline.models.alignment import (
    Alignment,
    prepare_images,
    prepare_masks,
    reference_band_height,
)
from pipeline.models.autoencoder import AttentionAutoencoder
from pipeline.models.checkpoint import CheckpointMeta, load_autoencoder
from pipeline.monitoring import calibration
from pipeline.monitoring.figures import Example, contribution_figure
from pipeline.monitoring.fitted import FittedMonitor, save_monitor
from pipeline.monitoring.scoring import contribution_heatmaps, extract_features, feature_shape
from pipeline.monitoring.spc import ReferenceDistribution
from pipeline.provenance import sha256_file, stage_provenance
from pipeline.runtime import configure_logging, configure_torch

log = logging.getLogger(__name__)

EXAMPLES_PNG = "contribution_examples.png"


@dataclass(frozen=True)
class FitImages:
    """Prepared images: normal ``train`` (N, H, W), all ``val`` (M, H, W), labels and rows."""

    train: np.ndarray
    val: np.ndarray
    val_labels: np.ndarray
    val_rows: list[ManifestRow]
    alignment: Alignment


def monitor_alignment(meta: CheckpointMeta, scale: str, raw_train: np.ndarray) -> Alignment:
    """The checkpoint's alignment, or its ``fixed``-scale variant with the band height fitted
    on the normal training images (seal-width drift then stays visible to the monitor)."""
    if meta.alignment.kind != "band" or scale == "stretch":
        return meta.alignment
    height = reference_band_height(raw_train)
    log.info("monitor alignment: fixed scale, reference band height %.2f source rows", height)
    return dataclasses.replace(meta.alignment, scale="fixed", reference_height=height)


def load_fit_images(
    data_dir: Path, splits_path: Path, meta: CheckpointMeta, scale: str
) -> FitImages:
    """Normal ``train`` and all ``val`` images at the model's working resolution, aligned as
    ``monitor_alignment`` says.

    Raises:
        DatasetError: ``train`` holds a defective image, or a split has no normal image.
    """
    rows = read_manifest(data_dir)
    assignment = read_splits(splits_path)
    train_rows = rows_in_split(rows, assignment, "train")
    val_rows = rows_in_split(rows, assignment, "val")
    if any(row.label != 0 for row in train_rows):
        raise DatasetError(
            f"{splits_path}: defective image(s) in 'train'; the monitor models normal images "
            "only: rerun `dvc repro prepare`"
        )
    labels = np.array([row.label for row in val_rows], dtype=np.int64)
    if len(train_rows) < 2 or int(np.sum(labels == 0)) < 2:
        raise DatasetError(
            f"{splits_path}: needs >= 2 normal images in both 'train' and 'val' (found "
            f"{len(train_rows)} and {int(np.sum(labels == 0))}); adjust the prepare params"
        )
    size = (meta.image_height, meta.image_width)
    raw_train = load_stack(data_dir, train_rows)
    alignment = monitor_alignment(meta, scale, raw_train)
    train = prepare_images(raw_train, alignment, *size)
    val = prepare_images(load_stack(data_dir, val_rows), alignment, *size)
    log.info(
        "fit on %d normal train images; val %d normal + %d defective at %d x %d",
        len(train),
        int(np.sum(labels == 0)),
        int(labels.sum()),
        *size,
    )
    return FitImages(train, val, labels, val_rows, alignment)


def fit_chosen(
    features: tuple[np.ndarray, np.ndarray],
    shape: tuple[int, int, int],
    labels: np.ndarray,
    params: Params,
    checkpoint: tuple[Path, str],
) -> tuple[FittedMonitor, np.ndarray]:
    """The monitor of the chosen configuration and its (M,) ``val`` scores."""
    train, val = features
    estimator = calibration.fit_estimator(
        train, params.n_features_kept, params.covariance, params.ridge, params.seed
    )
    scores = estimator.mahalanobis(val)
    reference = ReferenceDistribution.from_scores(scores[labels == 0])
    monitor = FittedMonitor(
        estimator=estimator,
        layer=params.layer,
        feature_shape=shape,
        checkpoint_path=str(checkpoint[0]),
        checkpoint_sha256=sha256_file(checkpoint[0]),
        architecture=checkpoint[1],
        reference=reference,
        chart=calibration.chart_settings(params.chart, reference, params.seed),
        extra={
            "n_train": len(train),
            "val_metrics": calibration.val_metrics(scores, labels, params.ablation.k),
        },
    )
    return monitor, scores


def write_examples(
    monitor: FittedMonitor,
    images: FitImages,
    val_features: np.ndarray,
    scores: np.ndarray,
    context: tuple[Path, int],
    path: Path,
) -> list[str]:
    """Overlay the highest-scoring defective and the median normal ``val`` images."""
    data_dir, n = context
    defective = [i for i in np.argsort(-scores) if images.val_labels[i] == 1][: (n + 1) // 2]
    normal = [i for i in np.argsort(scores) if images.val_labels[i] == 0]
    middle = len(normal) // 2
    chosen = [*defective, *normal[max(middle - (n - len(defective)) // 2, 0) :]][:n]
    size = images.val.shape[1:]
    heat = contribution_heatmaps(monitor, val_features[chosen], size)
    examples = []
    for k, i in enumerate(chosen):
        row = images.val_rows[i]
        raw = load_row_image(data_dir, row)[None]
        mask = prepare_masks(raw, load_row_mask(data_dir, row)[None], images.alignment, *size)[0]
        title = f"{row.image_id} ({row.defect_type}) score {scores[i]:.2f}"
        examples.append(Example(images.val[i], heat[k], title, mask))
    if examples:
        contribution_figure(examples, path)
    return [images.val_rows[i].image_id for i in chosen]


def build_summary(
    monitor: FittedMonitor, ablation: list[dict[str, Any]], params: Params, facts: dict[str, Any]
) -> dict[str, Any]:
    """The ``monitor_summary.json`` document (docs/architecture.md, evidence contracts)."""
    return {
        "layer": monitor.layer,
        "n_features_kept": int(monitor.estimator.kept_indices_.size),
        "covariance": params.covariance,
        "ridge": params.ridge,
        "feature_shape": list(monitor.feature_shape),
        "n_features_total": int(np.prod(monitor.feature_shape)),
        "architecture": monitor.architecture,
        "detector": monitor.architecture,
        "checkpoint": {"path": monitor.checkpoint_path, "sha256": monitor.checkpoint_sha256},
        "val": monitor.extra["val_metrics"],
        "ablation": ablation,
        "reference": calibration.reference_summary(monitor),
        "chart": monitor.chart,
        "chart_in_control_resampled": calibration.resampled_in_control(monitor, params.seed),
        **facts,
        "provenance": stage_provenance("fit_monitor", params, seed=params.seed),
    }


def check_layers(model: AttentionAutoencoder, layers: list[str]) -> None:
    """Every requested layer exists in the checkpoint's encoder.

    Raises:
        SealauditError: naming the unknown layer and the ones available.
    """
    known = [f"enc{k}" for k in range(1, model.config.levels + 1)] + ["bottleneck"]
    unknown = [layer for layer in layers if layer not in known]
    if unknown:
        raise SealauditError(
            f"fit_monitor: layer(s) {unknown} not in the checkpoint's encoder; choose from "
            f"{known} (fit_monitor.layer and fit_monitor.ablation.layers in params.yaml)"
        )


def check_feature_counts(model: AttentionAutoencoder, params: Params) -> None:
    """Each kept-feature count fits the layer it draws from (checked before any image loads).

    Raises:
        SealauditError: naming the key, the layer's dimension and the fix.
    """
    wanted = [("n_features_kept", params.layer, params.n_features_kept)]
    wanted += [
        ("ablation.n_features_kept", layer, kept)
        for layer in params.ablation.layers
        for kept in params.ablation.n_features_kept
    ]
    for key, layer, kept in wanted:
        shape = feature_shape(model, layer)
        available = int(np.prod(shape))
        if kept > available:
            raise SealauditError(
                f"fit_monitor.{key}: {kept} exceeds the {available} feature dimensions of "
                f"layer {layer!r} ({' x '.join(map(str, shape))} at the checkpoint's working "
                f"size); set it between 1 and {available} in params.yaml or choose another layer"
            )


@dataclass
class _Fit:
    """What the pass over the layers produces."""

    ablation: list[dict[str, Any]]
    monitor: FittedMonitor | None = None
    val_scores: np.ndarray | None = None
    val_features: np.ndarray | None = None
    feature_ms: float = 0.0


def fit_layers(
    model: AttentionAutoencoder, images: FitImages, params: Params, checkpoint: tuple[Path, str]
) -> _Fit:
    """Ablation rows of every grid layer and the monitor of the chosen one.

    Only one layer's features are held at a time (enc1 of a 128 x 768 image is 393 k floats).
    """
    layers = list(dict.fromkeys([*params.ablation.layers, params.layer]))
    check_layers(model, layers)
    result = _Fit(ablation=[])
    for layer in layers:
        start = time.perf_counter()
        train, shape = extract_features(model, images.train, layer, params.batch_size)
        val, _ = extract_features(model, images.val, layer, params.batch_size)
        feature_ms = 1000 * (time.perf_counter() - start) / (len(train) + len(val))
        if layer in params.ablation.layers:
            rows = calibration.run_ablation(
                layer, (train, val), images.val_labels, params.ablation, params
            )
            result.ablation += rows
            log.info("%s: features in %.3f ms per image", layer, feature_ms)
        if layer == params.layer:
            result.monitor, result.val_scores = fit_chosen(
                (train, val), shape, images.val_labels, params, checkpoint
            )
            result.val_features, result.feature_ms = val, feature_ms
    return result


def run(
    data_dir: Path,
    splits_path: Path,
    model_path: Path,
    params: Params,
    out_dir: Path,
    *,
    torch_threads: int,
) -> dict[str, Any]:
    """Fit the monitor, score the ablation grid and write the stage's evidence."""
    numerics = configure_torch(torch_threads)
    model, meta = load_autoencoder(model_path)
    check_layers(model, [*params.ablation.layers, params.layer])
    check_feature_counts(model, params)
    images = load_fit_images(data_dir, splits_path, meta, params.alignment_scale)
    fit = fit_layers(model, images, params, (model_path, meta.architecture))
    scores, features = fit.val_scores, fit.val_features
    assert fit.monitor is not None and scores is not None and features is not None
    monitor = dataclasses.replace(fit.monitor, alignment=images.alignment.to_dict())
    out_dir.mkdir(parents=True, exist_ok=True)
    context = (data_dir, params.n_examples)
    shown = write_examples(monitor, images, features, scores, context, out_dir / EXAMPLES_PNG)
    monitor_sha = save_monitor(monitor, out_dir / "monitor.npz")
    facts = {
        "n_train": len(images.train),
        "n_val_normal": int(np.sum(images.val_labels == 0)),
        "n_val_defective": int(images.val_labels.sum()),
        "image_height": model.config.image_height,
        "image_width": model.config.image_width,
        "torch_threads": numerics["threads"],
        "torch_numerics": numerics,
        "monitor_sha256": monitor_sha,
        "plots": {"contribution_examples": EXAMPLES_PNG} if shown else {},
        "contribution_examples": shown,
    }
    summary = build_summary(monitor, fit.ablation, params, facts)
    evidence.write_to(evidence.parse(MonitorSummary, summary), out_dir)
    log.info(
        "monitor %s/%d/%s: val AUROC %.3f; wrote %s",
        monitor.layer,
        params.n_features_kept,
        params.covariance,
        summary["val"]["val_auroc"],
        out_dir,
    )
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the stage's paths (from dvc.yaml) and run it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--splits", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True, help="autoencoder model.pt")
    parser.add_argument("--params", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    add_governance_argument(parser)
    args = parser.parse_args(argv)
    configure_logging()
    try:
        require_passed_governance(args.governance, args.data)
        params = load_section(args.params, "fit_monitor")
        threads = load_section(args.params, "base").torch_threads
        run(args.data, args.splits, args.model, params, args.out, torch_threads=threads)
    except SealauditError as error:
        print(f"fit_monitor: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
