"""Drift surveillance of production batches (``sealaudit monitor``).

A batch folder is read (``batch``), its new images are scored with the fitted monitor and
appended to the history (``history``), the whole history of this model version is charted
and the batch's lots are tested (``alarms``), and a report is written: ``monitoring_report.json``
and ``control_chart.png`` in the report folder. A corrupt image is reported and skipped; an
image already in the history (same file name and lot) is not scored again, so re-running a
batch appends nothing and gives the same verdict.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.data.images import load_gray
from pipeline.data.manifest import DatasetError
from pipeline.models.alignment import AlignmentError
from pipeline.monitoring import alarms, history
from pipeline.monitoring.batch import BatchImage, nothing_scored, read_batch, skipped
from pipeline.monitoring.figures import ChartSeries, control_chart_figure
from pipeline.monitoring.fitted import FittedMonitor, ResolvedReference
from pipeline.monitoring.spc import exceedance_rate

if TYPE_CHECKING:
    from pipeline.detector import Detector

log = logging.getLogger(__name__)

ALARM_EXIT = 3
REPORT_JSON = "monitoring_report.json"
CHART_PNG = "control_chart.png"
CHUNK = 64  # images loaded and scored together


def score_batch(
    detector: Detector, images: list[BatchImage]
) -> tuple[list[tuple[BatchImage, float]], list[dict[str, str]]]:
    """Scores of the readable images; unreadable ones, and frames without a seal band to
    align, are skipped with the reason."""
    scored, bad = [], []
    for start in range(0, len(images), CHUNK):
        ready, pixels = [], []
        for image in images[start : start + CHUNK]:
            try:
                raw = load_gray(image.path)
            except DatasetError as error:
                bad.append(skipped(image.file, f"unreadable image: {error}"))
                continue
            try:
                pixels.append(detector.working_with_geometry(raw[None])[0][0])
            except AlignmentError as error:
                bad.append(skipped(image.file, f"cannot align: {error}"))
                continue
            ready.append(image)
        if ready:
            scores = detector.score(np.stack(pixels)).scores
            scored += list(zip(ready, scores.tolist(), strict=True))
    return scored, bad


def new_rows(
    scored: list[tuple[BatchImage, float]],
    monitor: FittedMonitor,
    version: str,
    batch: str,
    now: dt.datetime,
) -> list[history.HistoryRow]:
    """History rows of freshly scored images with the operating threshold's decision."""
    threshold = monitor.threshold
    return [
        history.HistoryRow(
            image=image.file,
            lot_id=image.lot_id,
            timestamp=image.timestamp.isoformat(),
            score=score,
            decision=history.REJECT if score > threshold.value else history.PASS,
            threshold=threshold.value,
            threshold_id=threshold.threshold_id,
            model_version=version,
            batch=batch,
            scored_at=now.isoformat(timespec="seconds"),
        )
        for image, score in scored
    ]


def _reference_section(ref: ResolvedReference) -> dict[str, Any]:
    monitor = ref.monitor
    return {
        "source": ref.source,
        "model_version": ref.version,
        "checkpoint": str(ref.checkpoint),
        "checkpoint_sha256": monitor.checkpoint_sha256,
        "layer": monitor.layer,
        "threshold": monitor.threshold.to_dict(),
        "distribution": {
            "mean": monitor.reference.mean,
            "sd": monitor.reference.sd,
            "n": monitor.reference.n,
        },
        "reference_exceedance": monitor.reference_exceedance,
        "chart": monitor.chart,
    }


def _series(
    stream: list[history.HistoryRow], charts: alarms.StreamCharts, monitor: FittedMonitor
) -> ChartSeries:
    """What the control chart draws, in score units (a log-scale EWMA is mapped back by exp)."""
    log_scale = monitor.chart["transform"] == "log"

    def back(values: list[float]) -> list[float]:
        return np.exp(values).tolist() if log_scale else list(values)

    starts = [
        (i, row.lot_id)
        for i, row in enumerate(stream)
        if i == 0 or stream[i - 1].lot_id != row.lot_id
    ]
    return ChartSeries(
        scores=[row.score for row in stream],
        ewma=back(charts.ewma.statistic),
        ewma_upper=back(charts.ewma.upper),
        ewma_lower=back(charts.ewma.lower),
        cusum_upper=charts.cusum.upper_statistic,
        cusum_lower=charts.cusum.lower_statistic,
        cusum_h=charts.cusum.h,
        center=monitor.reference.mean,
        threshold=monitor.threshold.value,
        lot_starts=starts,
        in_batch=charts.in_batch.tolist(),
        ewma_label="EWMA of log score (geometric)" if log_scale else "EWMA",
    )


@dataclass(frozen=True)
class Recorded:
    """What recording a batch did: the history before, the rows added, the batch's keys."""

    listed: int
    skipped: list[dict[str, str]]
    before: list[history.HistoryRow]
    added: list[history.HistoryRow]
    keys: set[tuple[str, str]]
    archived: Path | None


def record_batch(
    batch_dir: Path,
    reference: ResolvedReference,
    detector: Detector,
    history_path: Path,
    options: tuple[Path | None, bool],
    now: dt.datetime,
) -> Recorded:
    """Read the batch, score its images not yet in the history and append them.

    Args:
        options: the lot CSV (or None) and whether to start a new history.

    Raises:
        SealauditError: unusable folder, CSV or history, or no image that could be scored.
    """
    lots_csv, new_history = options
    images, bad = read_batch(batch_dir, lots_csv)
    archived = history.archive_history(history_path, now) if new_history else None
    before = history.read_history(history_path)
    history.check_version(before, reference.version, history_path)
    known = {(row.image, row.lot_id) for row in before}
    fresh = [image for image in images if (image.file, image.lot_id) not in known]
    scored, corrupt = score_batch(detector, fresh)
    keys = {(i.file, i.lot_id) for i, _ in scored}
    keys |= {(i.file, i.lot_id) for i in images if (i.file, i.lot_id) in known}
    if not keys:
        raise nothing_scored(batch_dir, [*bad, *corrupt])
    added = new_rows(scored, reference.monitor, reference.version, batch_dir.name, now)
    history.append_history(history_path, added)
    return Recorded(len(images), [*bad, *corrupt], before, added, keys, archived)


def surveil(
    batch_dir: Path,
    reference: ResolvedReference,
    detector: Detector,
    history_path: Path,
    report_dir: Path,
    lots_csv: Path | None = None,
    new_history: bool = False,
) -> dict[str, Any]:
    """Score a batch, append it to the history, chart and test it, write the report.

    Returns:
        The report (also written as JSON); ``exit_code`` is 3 when an alarm fired, else 0.

    Raises:
        SealauditError: unusable folder, CSV or history, or no image that could be scored.
    """
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    monitor, batch_dir = reference.monitor, Path(batch_dir)
    options = (lots_csv, new_history)
    done = record_batch(batch_dir, reference, detector, history_path, options, now)
    section, stream, charts = alarms.analyse([*done.before, *done.added], done.keys, monitor)
    batch_scores = [row.score for row in stream if (row.image, row.lot_id) in done.keys]
    report = {
        "batch_dir": str(batch_dir),
        "scored_at": now.isoformat(),
        "reference": _reference_section(reference),
        "history": {
            "path": str(history_path),
            "archived": str(done.archived) if done.archived else None,
            "rows_before": len(done.before),
            "rows_added": len(done.added),
        },
        "images": {
            "listed": done.listed,
            "scored": len(done.added),
            "already_in_history": len(done.keys) - len(done.added),
            "skipped": done.skipped,
        },
        "batch_exceedance": exceedance_rate(batch_scores, monitor.threshold.value),
        **section,
        "exit_code": ALARM_EXIT if section["alarm"] else 0,
        "plots": {"control_chart": CHART_PNG},
    }
    write_report(report, _series(stream, charts, monitor), Path(report_dir))
    return report


def write_report(report: dict[str, Any], series: ChartSeries, report_dir: Path) -> None:
    """``monitoring_report.json`` and ``control_chart.png`` in ``report_dir``."""
    report_dir.mkdir(parents=True, exist_ok=True)
    verdict = "ALARM: " + ", ".join(report["alarm_sources"]) if report["alarm"] else "in control"
    title = f"{report['batch_dir']} - {verdict}"
    control_chart_figure(series, title, report_dir / CHART_PNG)
    text = json.dumps(report, indent=2, sort_keys=True) + "\n"
    (report_dir / REPORT_JSON).write_text(text, encoding="utf-8")
    log.info("%s: %s (report in %s)", report["batch_dir"], verdict, report_dir)
