"""Monitoring-mode speed on this machine: prints figures, writes JSON. Never a test.

Times RFD-MD scoring (resize, encoder features of one layer, Mahalanobis distance of the kept
dimensions) at the working resolution of the trained model (or of ``params.yaml`` when no
model is trained yet): single-image latency p50/p95 and batched throughput for each number of
kept dimensions (the paper reports ~19 / 48 / 132 ms per image on a GPU for 100 / 500 / 1000),
and the extra cost of the contribution heatmap. Estimators are fitted on features of random
images: the timing does not depend on what they learned.

    python benchmarks/monitor_latency.py [--model artifacts/train/attention_ae/model.pt]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import torch
from inline_latency import load_or_build, timed  # run as a script: benchmarks/ is on sys.path

from pipeline.config import load_section
from pipeline.config.fit_monitor import ChartParams
from pipeline.detector.monitoring import detector_of
from pipeline.evaluation.inference import FeatureDistanceScorer
from pipeline.models.autoencoder import AttentionAutoencoder
from pipeline.models.checkpoint import CheckpointMeta
from pipeline.models.roi import Roi
from pipeline.models.thresholds import fit_unsupervised
from pipeline.monitoring.calibration import chart_settings, fit_estimator
from pipeline.monitoring.fitted import SCORE_NAME, FittedMonitor
from pipeline.monitoring.scoring import extract_features
from pipeline.monitoring.spc import ReferenceDistribution


def random_monitor(
    model: AttentionAutoencoder, layer: str, kept: int, n: int, chart: ChartParams
) -> FittedMonitor:
    """A monitor fitted on features of ``n`` random images (for timing only).

    ``chart``: ``fit_monitor.chart`` of the params file; nominal limits are used (no bootstrap).
    """
    rng = np.random.default_rng(0)
    size = (n, model.config.image_height, model.config.image_width)
    features, shape = extract_features(model, rng.random(size, dtype=np.float32), layer)
    estimator = fit_estimator(features[: n // 2], kept, "ledoit_wolf", 1e-5, 0)
    reference = ReferenceDistribution.from_scores(estimator.mahalanobis(features[n // 2 :]))
    threshold = fit_unsupervised(reference.sorted_scores, score_name=SCORE_NAME)
    settings = chart_settings(dataclasses.replace(chart, limits="nominal"), reference, seed=0)
    return FittedMonitor(
        estimator, layer, shape, "random", "", "timing", reference, (threshold,), settings, 0.0
    )


def figures_for(monitor: FittedMonitor, model: AttentionAutoencoder, args: Any) -> dict[str, Any]:
    """Latency and throughput of one monitor's detector, with and without heatmaps."""
    size = (model.config.image_height, model.config.image_width)
    meta = CheckpointMeta("attention_ae", model.config, Roi("full", {}, np.ones(size, bool)))
    scorer = FeatureDistanceScorer(model, meta, "timing", monitor, monitor.layer, args.batch)
    detector = detector_of(scorer)
    one = np.random.default_rng(1).random((1, *size), dtype=np.float32)
    batch = np.random.default_rng(2).random((args.batch, *size), dtype=np.float32)
    single = sorted(timed(lambda: detector.score(one), 30))
    maps = timed(lambda: detector.score(one, with_maps=True), 10)
    batched = timed(lambda: detector.score(batch), 3)
    return {
        "n_features_kept": int(monitor.estimator.kept_indices_.size),
        "latency_single_p50_ms": 1000 * single[len(single) // 2],
        "latency_single_p95_ms": 1000 * single[min(len(single) - 1, round(0.95 * len(single)))],
        "latency_single_with_heatmap_p50_ms": 1000 * statistics.median(maps),
        "throughput_batched_images_per_s": args.batch / statistics.median(batched),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("artifacts/train/attention_ae/model.pt"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--layer", default=None, help="default: fit_monitor.layer")
    parser.add_argument("--kept", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/monitor_latency.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, source = load_or_build(args.model, args.params)
    monitor_params = load_section(args.params, "fit_monitor")
    layer, chart = args.layer or monitor_params.layer, monitor_params.chart
    rows = [figures_for(random_monitor(model, layer, k, 64, chart), model, args) for k in args.kept]
    result = {
        "model": source,
        "layer": layer,
        "threads": args.threads,
        "working_resolution": [model.config.image_height, model.config.image_width],
        "by_kept_dimensions": rows,
    }
    for row in rows:
        print(
            "  ".join(
                f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
            )
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
