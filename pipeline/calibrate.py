"""DVC stage ``calibrate``: every decision threshold, fitted before the test split is scored.

Reads the trained inline detector (``<models>/<calibrate.detector>/model.pt``) and, with
``--monitor``, the ``fit_monitor`` stage's estimator. Fits the inline score's seal-path
calibration on the normal ``train`` images, scores the ``val`` split with each mode's
(calibrated) scorer and fits every threshold rule of ``calibrate.thresholds`` on it; the one
fitted by ``operating_rule`` is the mode's operating threshold. Writes into ``--out``:
``calibration.json`` (what each operating detector is and which threshold it decides with),
``thresholds.json`` (every fitted threshold per mode) and, with ``--monitor``, ``monitor.npz``:
fit_monitor's monitor with the operating threshold inside, the one file ``sealaudit monitor``
and the registered monitoring model decide with.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline import evidence
from pipeline.config import load_section
from pipeline.config.calibrate import Params
from pipeline.data.manifest import read_manifest
from pipeline.data.splits import read_splits
from pipeline.detector import CHECKPOINT, MONITOR, ScoringSettings
from pipeline.detector.inline import inline_scorer
from pipeline.detector.monitoring import monitoring_scorer
from pipeline.errors import SealauditError
from pipeline.evaluation.fitting import FIT_SPLIT, calibrate_seal_path
from pipeline.evaluation.inference import Scorer, SplitImages, load_split
from pipeline.evaluation.modes import Fitted, fit_mode
from pipeline.evidence import Calibration, Thresholds
from pipeline.evidence.gate import add_governance_argument, require_passed_governance
from pipeline.monitoring.fitted import FittedMonitor, load_monitor, save_monitor
from pipeline.provenance import stage_provenance
from pipeline.runtime import configure_logging, configure_torch

log = logging.getLogger(__name__)


def calibrated_inline(
    models_dir: Path, train: SplitImages, params: Params
) -> tuple[Scorer, dict[str, Any] | None]:
    """The inline scorer with its seal-path calibration fitted on the normal train images."""
    settings = ScoringSettings(
        "inline",
        params.score,
        params.detector,
        four_ms_ssim=dataclasses.asdict(params.four_ms_ssim),
        seal_path=dataclasses.asdict(params.seal_path),
    )
    checkpoint = Path(models_dir) / params.detector / CHECKPOINT
    scorer = inline_scorer(checkpoint, settings, params.batch_size)
    seal_path = calibrate_seal_path(scorer, train)
    return (scorer if seal_path is None else scorer.with_seal_path(seal_path)), seal_path


def mode_record(scorer: Scorer, fitted: Fitted, **extra: Any) -> dict[str, Any]:
    """The ``calibration.json`` entry of one mode (``CalibratedMode``)."""
    return {
        "detector": scorer.detector,
        "score": scorer.score_name,
        "fitted_on_split": FIT_SPLIT,
        "n_val_normal": fitted.n_val_normal,
        "n_val_defective": fitted.n_val_defective,
        "thresholds_not_fitted": fitted.skipped,
        "operating_threshold_id": fitted.operating.threshold_id,
        **{"four_ms_ssim": {}, "seal_path": None, "layer": None, "reference_exceedance": None},
        **extra,
    }


def calibrate_monitor(
    monitor_dir: Path, models_dir: Path, val: SplitImages, params: Params, out_dir: Path
) -> tuple[dict[str, Any], Fitted]:
    """Fit the monitoring thresholds on val; write the monitor that decides with them."""
    monitor: FittedMonitor = load_monitor(Path(monitor_dir) / MONITOR)
    checkpoint = Path(models_dir) / monitor.architecture / CHECKPOINT
    scorer = monitoring_scorer(monitor, checkpoint, params.batch_size)
    fitted = fit_mode(scorer(val.images).scores, val.labels, scorer.score_name, params.thresholds)
    others = [t for t in fitted.thresholds if t is not fitted.operating]
    calibrated = monitor.with_thresholds([fitted.operating, *others])
    save_monitor(calibrated, out_dir / MONITOR)
    record = mode_record(
        scorer,
        fitted,
        layer=monitor.layer,
        reference_exceedance=calibrated.reference_exceedance,
    )
    return record, fitted


def run(
    data_dir: Path,
    splits_path: Path,
    models_dir: Path,
    params: Params,
    out_dir: Path,
    monitor_dir: Path | None = None,
    *,
    torch_threads: int,
) -> dict[str, Any]:
    """Calibrate the inline mode (and the monitoring mode if given); write the evidence."""
    numerics = configure_torch(torch_threads)
    rows, assignment = read_manifest(data_dir), read_splits(splits_path)
    train = load_split(data_dir, rows, assignment, "train")
    val = load_split(data_dir, rows, assignment, "val")
    out_dir.mkdir(parents=True, exist_ok=True)
    inline, seal_path = calibrated_inline(models_dir, train, params)
    fitted = fit_mode(inline(val.images).scores, val.labels, inline.score_name, params.thresholds)
    options = dataclasses.asdict(params.four_ms_ssim)
    modes: dict[str, Any] = {
        "inline": mode_record(inline, fitted, four_ms_ssim=options, seal_path=seal_path),
        "monitoring": None,
    }
    thresholds: dict[str, Any] = {"inline": [t.to_dict() for t in fitted.thresholds]}
    thresholds["monitoring"] = None
    if monitor_dir is not None:
        modes["monitoring"], monitored = calibrate_monitor(
            monitor_dir, models_dir, val, params, out_dir
        )
        thresholds["monitoring"] = [t.to_dict() for t in monitored.thresholds]
    calibration = {
        "modes": modes,
        "rules": dataclasses.asdict(params.thresholds),
        "torch_numerics": numerics,
        "provenance": stage_provenance("calibrate", params),
    }
    evidence.write_to(evidence.parse(Calibration, calibration), out_dir)
    evidence.write_to(evidence.parse(Thresholds, thresholds), out_dir)
    for mode, record in modes.items():
        if record is not None:
            log.info("%s: operating threshold %s", mode, record["operating_threshold_id"])
    return calibration


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the stage's paths (from dvc.yaml) and run it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--splits", type=Path, required=True)
    parser.add_argument("--models", type=Path, required=True, help="the train stage's folder")
    parser.add_argument("--params", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--monitor", type=Path, default=None, help="the fit_monitor folder")
    add_governance_argument(parser)
    args = parser.parse_args(argv)
    configure_logging()
    try:
        require_passed_governance(args.governance, args.data)
        params = load_section(args.params, "calibrate")
        threads = load_section(args.params, "base").torch_threads
        run(
            args.data,
            args.splits,
            args.models,
            params,
            args.out,
            args.monitor,
            torch_threads=threads,
        )
    except SealauditError as error:
        print(f"calibrate: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
