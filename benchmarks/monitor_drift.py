"""Drift surveillance on the drift fixture: detection delay per drift kind and the in-control
false-alarm rate. Prints figures, writes JSON. Never a test.

Lots come from ``pipeline.data.drift.generate_lots`` at the embedded dataset's resolution
(``synth`` section of params.yaml). A drift stream has ``--lots`` lots whose drift starts at
``--drift-start`` (magnitude growing linearly to full scale at the last lot); ``--replicates``
seeds per drift kind. The in-control stream has ``--in-control-lots`` lots. Every stream is
surveyed lot by lot, each lot being one batch, with the analysis ``sealaudit monitor`` runs
(``pipeline.monitoring.alarms``).

Per drift stream: the delay in lots from the first drifting lot to the first alarm (1 = the
first drifting lot alarms), overall, per alarm source, and beyond the in-control twin (the
stream with the same seed and no drift holds the same pouches, so an alarm the twin shares is
a false alarm, not a detection), and the lots that alarmed before the drift began. In control:
the share of lots that raise an alarm (95 % Clopper-Pearson interval), overall and per source,
and the lots until the first false alarm.

    python benchmarks/monitor_drift.py --reference artifacts/calibrate/monitor.npz \\
        --workdir /tmp/sealaudit-drift --out benchmarks/out/monitor_drift.json
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pipeline.config import load_section
from pipeline.config.synth import Params as SynthParams
from pipeline.data.drift import DRIFTS, generate_lots
from pipeline.data.images import load_gray
from pipeline.detector import Detector, monitoring_detector
from pipeline.models.thresholds import clopper_pearson
from pipeline.monitoring.alarms import ALARM_SOURCES, analyse
from pipeline.monitoring.fitted import FittedMonitor, resolve_reference
from pipeline.monitoring.history import PASS, REJECT, HistoryRow

BATCH = 32  # images per forward pass (runtime only; scores do not depend on it)


@dataclass(frozen=True)
class Context:
    """What every stream needs: the options, the synth params, the detector and its monitor."""

    args: argparse.Namespace
    synth: SynthParams
    detector: Detector
    monitor: FittedMonitor


def surveyed(
    ctx: Context, drift: str, n_lots: int, start: int, seed: int
) -> tuple[list[dict[str, Any]], float]:
    """Generate (or reuse) a stream, score it and survey it lot by lot; ms per image too."""
    per_lot = ctx.args.images_per_lot
    folder = ctx.args.workdir / f"{drift}_{n_lots}x{per_lot}_from{start}_seed{seed}"
    if not (folder / "lots.csv").is_file():
        generate_lots(folder, ctx.synth, n_lots, per_lot, start, drift, seed)
    rows, ms = scored_rows(folder, ctx.detector, ctx.monitor)
    return survey(rows, ctx.monitor), ms


def scored_rows(
    folder: Path, detector: Detector, monitor: FittedMonitor
) -> tuple[list[HistoryRow], float]:
    """History rows of every image of a lot folder, and the scoring ms per image."""
    with (folder / "lots.csv").open(newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    images = np.stack([load_gray(folder / r["file"]) for r in records])
    start = time.perf_counter()
    scores = detector.score(images).scores
    ms = 1000 * (time.perf_counter() - start) / len(images)
    value = monitor.threshold.value
    rows = [
        HistoryRow(
            r["file"],
            r["lot_id"],
            r["timestamp"],
            float(s),
            REJECT if s > value else PASS,
            value,
            monitor.threshold.threshold_id,
            "benchmark",
            folder.name,
            "",
        )
        for r, s in zip(records, scores, strict=True)
    ]
    return rows, ms


def survey(rows: list[HistoryRow], monitor: FittedMonitor) -> list[dict[str, Any]]:
    """Lot by lot, as separate batches: the alarm sources and mean z of each lot."""
    lots = list(dict.fromkeys(row.lot_id for row in rows))
    seen: list[HistoryRow] = []
    results = []
    for lot in lots:
        batch = [row for row in rows if row.lot_id == lot]
        seen += batch
        section, _, _ = analyse(seen, {(r.image, r.lot_id) for r in batch}, monitor)
        results.append(
            {
                "lot_id": lot,
                "alarm_sources": section["alarm_sources"],
                "signals": [s for s, on in section["signals"].items() if on],
                "mean_z": section["lots"][0]["mean_z"],
            }
        )
    return results


def delays(lots: list[dict[str, Any]], start: int, twin: list[dict[str, Any]]) -> dict[str, Any]:
    """Lots from the drift start to the first alarm, overall and per source signal.

    ``twin`` is the in-control stream with the same seed: lot i of both holds the same pouches
    (only the drift differs), so ``delay_lots_beyond_twin`` ignores alarms that the in-control
    twin raises on the same lot (a false alarm the drift stream merely shares).
    """

    def first(predicate: Any) -> int | None:
        hits = [i - start + 1 for i, lot in enumerate(lots) if i >= start and predicate(i, lot)]
        return hits[0] if hits else None

    return {
        "delay_lots": first(lambda _, lot: lot["alarm_sources"]),
        "delay_lots_beyond_twin": first(
            lambda i, lot: lot["alarm_sources"] and not twin[i]["alarm_sources"]
        ),
        "delay_by_source": {
            s: first(lambda _, lot, s=s: s in lot["signals"]) for s in ALARM_SOURCES
        },
        "alarmed_lots_before_start": [
            lot["lot_id"] for lot in lots[:start] if lot["alarm_sources"]
        ],
        "lot_mean_z": [round(lot["mean_z"], 3) for lot in lots],
    }


def in_control(lots: list[dict[str, Any]]) -> dict[str, Any]:
    """Share of in-control lots that alarm (95 % interval), overall and per source."""

    def share(flags: list[bool]) -> dict[str, Any]:
        low, high = clopper_pearson(sum(flags), len(flags))
        return {
            "lots": len(flags),
            "alarmed": sum(flags),
            "rate": sum(flags) / len(flags),
            "ci": [low, high],
        }

    first = next((i + 1 for i, lot in enumerate(lots) if lot["alarm_sources"]), None)
    return {
        "overall": share([bool(lot["alarm_sources"]) for lot in lots]),
        "by_source": {s: share([s in lot["signals"] for lot in lots]) for s in ALARM_SOURCES},
        "lots_to_first_alarm": first,
        "lot_mean_z": [round(lot["mean_z"], 3) for lot in lots],
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default="artifacts/calibrate/monitor.npz")
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--workdir", type=Path, default=None, help="lot folders (reused)")
    parser.add_argument("--lots", type=int, default=20)
    parser.add_argument("--drift-start", type=int, default=10)
    parser.add_argument("--images-per-lot", type=int, default=20)
    parser.add_argument("--in-control-lots", type=int, default=100)
    parser.add_argument("--replicates", type=int, default=3, help="drift streams per kind")
    parser.add_argument("--seed", type=int, default=20240401)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/monitor_drift.json"))
    args = parser.parse_args()
    args.workdir = args.workdir or Path(tempfile.mkdtemp(prefix="sealaudit-drift-"))
    return args


def run(ctx: Context) -> dict[str, Any]:
    """Every stream: the long in-control one, then per replicate a twin and each drift."""
    args = ctx.args
    long, ms = surveyed(ctx, "none", args.in_control_lots, args.in_control_lots, args.seed)
    pooled, timings = list(long), [ms]
    drift: dict[str, list[dict[str, Any]]] = {kind: [] for kind in DRIFTS if kind != "none"}
    for seed in range(args.seed, args.seed + args.replicates):
        if seed == args.seed and args.in_control_lots >= args.lots:
            twin = long[: args.lots]  # the same pouches: the stream's content ignores its length
        else:
            twin, ms = surveyed(ctx, "none", args.lots, args.lots, seed)
            pooled += twin
            timings.append(ms)
        for kind in drift:
            lots, ms = surveyed(ctx, kind, args.lots, args.drift_start, seed)
            drift[kind].append({"seed": seed, **delays(lots, args.drift_start, twin)})
            timings.append(ms)
    return {
        "drift": drift,
        "in_control": in_control(long),
        "in_control_pooled": {k: v for k, v in in_control(pooled).items() if k != "lot_mean_z"},
        "scoring_ms_per_image": round(float(np.median(timings)), 3),
    }


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    reference = resolve_reference(args.reference, args.checkpoint)
    detector = monitoring_detector(reference.monitor, reference.checkpoint, BATCH)
    synth = load_section(args.params, "synth")
    size = (synth.image_height, synth.image_width)
    figures: dict[str, Any] = {
        "reference": reference.source,
        "model_version": reference.version,
        "chart": reference.monitor.chart,
        "image_size": list(size),
        "settings": {k: v for k, v in vars(args).items() if isinstance(v, int | str)},
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    figures.update(run(Context(args, synth, detector, reference.monitor)))
    print_summary(figures)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


def print_summary(figures: dict[str, Any]) -> None:
    """The headline figures, one line each."""
    for kind, streams in figures["drift"].items():
        for stream in streams:
            print(
                f"{kind:15s} seed {stream['seed']}: delay {stream['delay_lots']} lot(s), "
                f"beyond the in-control twin {stream['delay_lots_beyond_twin']}; by source "
                f"{stream['delay_by_source']}; alarmed before start "
                f"{stream['alarmed_lots_before_start']}"
            )
    for name in ("in_control", "in_control_pooled"):
        control = figures[name]
        overall = control["overall"]
        low, high = overall["ci"]
        print(
            f"{name:18s} {overall['alarmed']}/{overall['lots']} lots alarmed (rate "
            f"{overall['rate']:.3f}, 95% CI {low:.3f}-{high:.3f}); first at lot "
            f"{control['lots_to_first_alarm']}; by source "
            + ", ".join(f"{s} {v['alarmed']}" for s, v in control["by_source"].items())
        )
    print(f"scoring            {figures['scoring_ms_per_image']} ms/image")


if __name__ == "__main__":
    main()
