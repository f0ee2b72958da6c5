"""DVC stage ``train``: fit the autoencoders on normal training images.

Reads the manifest, the splits and the images; resizes them to the working resolution; builds
the region of interest from the training images; trains each model listed in
``train.models`` with early stopping on the normal ``val`` images; writes, per model,
``<model>/model.pt`` (weights + architecture + ROI + preprocessing), ``<model>/history.json``
and ``<model>/training_curve.png``, and ``train_summary.json`` for all of them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pipeline import evidence
from pipeline.config import load_section
from pipeline.config.base import ParamsError
from pipeline.config.train import Params
from pipeline.data.images import load_stack
from pipeline.data.manifest import DatasetError, read_manifest
from pipeline.data.splits import read_splits, rows_in_split
from pipeline.errors import SealauditError
from pipeline.evidence import TrainSummary
from pipeline.evidence.gate import add_governance_argument, require_passed_governance
from pipeline.models.alignment import Alignment, prepare_images
from pipeline.models.autoencoder import AutoencoderConfig, build_model, count_parameters
from pipeline.models.checkpoint import save_autoencoder
from pipeline.models.roi import Roi, compute_roi
from pipeline.models.trainer import TrainResult, train_autoencoder
from pipeline.provenance import stage_provenance
from pipeline.runtime import configure_logging, configure_torch

log = logging.getLogger(__name__)


def load_training_images(
    data_dir: Path, splits_path: Path, params: Params
) -> tuple[np.ndarray, np.ndarray]:
    """Normal ``train`` and normal ``val`` images at the working resolution, (N, H, W).

    Raises:
        DatasetError: a defective image is assigned to ``train``, or a split has no normal image.
    """
    rows = read_manifest(data_dir)
    assignment = read_splits(splits_path)
    train_rows = rows_in_split(rows, assignment, "train")
    defective = [row.image_id for row in train_rows if row.label != 0]
    if defective:
        raise DatasetError(
            f"{splits_path}: {len(defective)} defective image(s) in 'train' (e.g. {defective[0]}); "
            "the autoencoder learns normality only: rerun `dvc repro prepare`"
        )
    val_rows = [row for row in rows_in_split(rows, assignment, "val") if row.label == 0]
    if not train_rows or not val_rows:
        raise DatasetError(
            f"{splits_path}: needs normal images in both 'train' and 'val' "
            f"(found {len(train_rows)} and {len(val_rows)}); adjust the prepare params"
        )
    size = (params.working_height, params.working_width)
    alignment = model_alignment(params)
    raw_train = load_stack(data_dir, train_rows)
    check_alignable(raw_train.shape[1:], size, alignment)
    train = prepare_images(raw_train, alignment, *size)
    val = prepare_images(load_stack(data_dir, val_rows), alignment, *size)
    log.info("train on %d normal images, validate on %d, at %d x %d", len(train), len(val), *size)
    return train, val


def check_alignable(stored: tuple[int, ...], size: tuple[int, int], alignment: Alignment) -> None:
    """Refuse a band alignment whose working size is the stored image size: a stack already
    at the working size is taken as prepared (``alignment.align_images``), so the frames would
    reach the model unaligned while its checkpoint says they are aligned.

    Raises:
        ParamsError: the working size equals the stored size under a band alignment.
    """
    if alignment.kind != "none" and tuple(stored) == tuple(size):
        raise ParamsError(
            f"train.working_height x working_width {size[0]} x {size[1]} is the stored image "
            "size: band alignment would leave the frames unaligned; choose another working "
            "size, or train.alignment.kind: none"
        )


def build_roi(params: Params, train: np.ndarray, roi_mask_path: Path | None) -> Roi:
    """The ROI of ``params.roi`` at the working resolution."""
    spec = params.roi
    if roi_mask_path is not None and spec.kind != "file":
        log.warning("--roi-mask %s ignored: train.roi.kind is '%s'", roi_mask_path, spec.kind)
    return compute_roi(
        spec.kind,
        (params.working_height, params.working_width),
        images=train,
        margin=spec.margin,
        threshold=spec.threshold,
        rows=spec.rows,
        cols=spec.cols,
        mask_path=roi_mask_path,
        aligned_band=params.alignment.band_rows if params.alignment.kind == "band" else None,
    )


def model_config(params: Params) -> AutoencoderConfig:
    """The architecture from ``train.model`` and the working resolution."""
    spec = params.model
    return AutoencoderConfig(
        image_height=params.working_height,
        image_width=params.working_width,
        widths=spec.widths,
        latent_dim=spec.latent_dim,
        dropout=spec.dropout,
        residual=spec.residual,
        skip_levels=spec.skip_levels,
        gate_target=spec.gate_target,
        bottleneck=spec.bottleneck,
    )


def model_alignment(params: Params) -> Alignment:
    """The band alignment of ``train.alignment`` (stored in every checkpoint)."""
    return Alignment(params.alignment.kind, params.alignment.band_rows)


def resolve_device(choice: str) -> str:
    """``auto`` picks CUDA when available; asking for CUDA without it is an error."""
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise SealauditError("train.device is 'cuda' but no CUDA device is visible; use 'cpu'")
    return choice


def model_summary(
    model: torch.nn.Module, result: TrainResult, params: Params, roi: Roi
) -> dict[str, Any]:
    """The per-model entry of ``train_summary.json``."""
    return {
        "parameters": count_parameters(model),
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "best_val_loss": result.best_val_loss,
        "stopped_early": result.stopped_early,
        "seed": params.seed,
        "image_height": params.working_height,
        "image_width": params.working_width,
        "roi_kind": roi.kind,
        "roi_parameters": roi.parameters,
        "roi_coverage": round(roi.coverage, 4),
        "loss": params.fit.loss,
        "torch_version": torch.__version__,
    }


def write_curve(history: list[dict[str, float]], title: str, path: Path) -> None:
    """Training and validation loss per epoch as a PNG."""
    figure = Figure(figsize=(6, 3.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    epochs = [entry["epoch"] for entry in history]
    axes.plot(epochs, [entry["train_loss"] for entry in history], marker="o", label="train")
    axes.plot(epochs, [entry["val_loss"] for entry in history], marker="o", label="val (normal)")
    axes.set(xlabel="epoch", ylabel="loss", title=title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)


def _write_json(content: Any, path: Path) -> None:
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def train_one(
    name: str,
    data: tuple[np.ndarray, np.ndarray],
    roi: Roi,
    params: Params,
    out_dir: Path,
    device: str,
) -> dict[str, Any]:
    """Train, save and summarise one model; returns its summary entry."""
    train, val = data
    model = build_model(name, model_config(params), params.seed)
    log.info("%s: %d parameters", name, count_parameters(model))
    weights = roi.weights(params.roi.outside_weight)
    result = train_autoencoder(
        model, train, val, weights, params.fit, params.seed, device, progress=sys.stderr.isatty()
    )
    summary = model_summary(model, result, params, roi)
    folder = out_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    # Wall-clock times stay out of every file written here (they are logged): same data +
    # params + seed must give the same bytes, so a fresh clone reproduces dvc.lock and a forced
    # retrain maps onto the same registry version. Speed is measured in benchmarks/.
    extra = {"summary": summary, "params": dataclasses.asdict(params)}
    save_autoencoder(folder / "model.pt", model.cpu(), name, roi, extra, model_alignment(params))
    epochs = [{k: v for k, v in epoch.items() if k != "seconds"} for epoch in result.history]
    _write_json({"model": name, "epochs": epochs}, folder / "history.json")
    write_curve(
        result.history,
        f"{name} ({params.fit.loss} loss, ROI {roi.kind})",
        folder / "training_curve.png",
    )
    log.info(
        "%s: best epoch %d of %d, val loss %.5f, %.1f s (%.0f images/s)",
        name,
        result.best_epoch,
        result.epochs_run,
        result.best_val_loss,
        result.seconds,
        len(train) * result.epochs_run / max(result.seconds, 1e-9),
    )
    return summary


def run(
    data_dir: Path,
    splits_path: Path,
    params: Params,
    out_dir: Path,
    roi_mask_path: Path | None = None,
    *,
    torch_threads: int,
) -> dict[str, Any]:
    """Train every model in ``params.models`` with ``base.torch_threads``; write the evidence."""
    numerics = configure_torch(torch_threads)
    device = resolve_device(params.device)
    data = load_training_images(data_dir, splits_path, params)
    roi = build_roi(params, data[0], roi_mask_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    models = {name: train_one(name, data, roi, params, out_dir, device) for name in params.models}
    summary = {
        "models": models,
        "n_train": len(data[0]),
        "n_val_normal": len(data[1]),
        "device": device,
        "torch_threads": numerics["threads"],
        "torch_numerics": numerics,
        "provenance": stage_provenance("train", params, seed=params.seed),
    }
    evidence.write_to(evidence.parse(TrainSummary, summary), out_dir)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the stage's paths (from dvc.yaml) and run it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--splits", type=Path, required=True)
    parser.add_argument("--params", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--roi-mask", type=Path, default=None, help="mask PNG for roi.kind file")
    add_governance_argument(parser)
    args = parser.parse_args(argv)
    configure_logging()
    try:
        require_passed_governance(args.governance, args.data)
        params = load_section(args.params, "train")
        threads = load_section(args.params, "base").torch_threads
        run(args.data, args.splits, params, args.out, args.roi_mask, torch_threads=threads)
    except SealauditError as error:
        print(f"train: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
