"""Process control of a monitoring history: charts on the score stream, tests per lot, alarms.

The stream is every history row of one model version in capture order (time, then file name).
Charts run on the scores in chart units (``FittedMonitor.chart_values``: log by default) over
the whole stream (they carry state from earlier batches and never reset) and
an alarm counts for a batch when it falls on one of the batch's images. Lots touched by the
batch are tested with all their images so far.

Alarms are one-sided: only scores *above* the reference (the process turning more anomalous)
raise one. Scores below it are no fault of the process: images the monitor was fitted on (its
training images) score far lower than new normal images (about 13 against a reference mean of
50 on the embedded dataset), so a good lot that holds some of them would otherwise alarm as
"too good". Such points and lots are reported as ``below_reference``, never as an alarm.

- ``ewma`` / ``cusum``: the EWMA over its upper limit, the upper CUSUM over h. The limits
  were calibrated for two-sided alarms, so the false-alarm chance of one side is at most the
  calibrated one (about half of it).
- ``lot_test``: one-sided Mann-Whitney and Kolmogorov-Smirnov (lot scores greater than the
  reference); the lot alarms when either p-value is below ``lot_alpha / (2 * lots in the
  batch)`` (Bonferroni). With ``lot_alternative: two-sided`` a lot scoring lower (one-sided
  Mann-Whitney "less" below the same level) is also reported, as ``below_reference``.
- ``exceedance``: share of the lot's images above the operating threshold with its exact 95 %
  interval; the lot alarms when a one-sided binomial test against the reference's share gives
  p below ``lot_alpha / lots in the batch``. The reference share is floored at ``0.5 / n_ref``
  so a threshold above every reference score does not alarm on the first reject.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from pipeline.monitoring.fitted import FittedMonitor
from pipeline.monitoring.history import HistoryRow
from pipeline.monitoring.spc import (
    CusumChart,
    EwmaChart,
    cusum_chart,
    ewma_chart,
    exceedance_rate,
    lot_test,
)

ALARM_SOURCES = ("ewma", "cusum", "lot_test", "exceedance")


def stream_order(rows: Sequence[HistoryRow]) -> list[HistoryRow]:
    """Rows in capture order (time, then file name) whatever order they were appended in."""
    return sorted(rows, key=lambda row: (row.timestamp, row.image))


@dataclass(frozen=True)
class StreamCharts:
    """The charts of a stream and which points belong to the batch under review."""

    ewma: EwmaChart
    cusum: CusumChart
    in_batch: np.ndarray


def run_charts(
    stream: list[HistoryRow], batch: set[tuple[str, str]], monitor: FittedMonitor
) -> StreamCharts:
    """EWMA and CUSUM over the whole stream, and the (n,) mask of the batch's points."""
    values = monitor.chart_values([row.score for row in stream])
    ref = monitor.chart_reference()
    ewma = ewma_chart(values, ref, **monitor.chart["ewma"])
    cusum = cusum_chart(values, ref, **monitor.chart["cusum"])
    in_batch = np.array([(row.image, row.lot_id) in batch for row in stream], dtype=bool)
    return StreamCharts(ewma, cusum, in_batch)


def _chart_summary(
    chart: EwmaChart | CusumChart, stream: list[HistoryRow], in_batch: np.ndarray
) -> dict[str, Any]:
    alarms = chart.above()
    hits = np.flatnonzero(alarms & in_batch)
    first = None
    if hits.size:
        row = stream[int(hits[0])]
        first = {"image": row.image, "lot_id": row.lot_id, "timestamp": row.timestamp}
    return {
        "alarms_in_batch": int(hits.size),
        "first_alarm_in_batch": first,
        "alarms_outside_batch": int(np.sum(alarms & ~in_batch)),
        "below_reference_in_batch": int(np.sum(chart.below() & in_batch)),
        "alarm": bool(hits.size),
    }


def lot_summary(
    lot_id: str, scores: np.ndarray, monitor: FittedMonitor, n_lots: int
) -> dict[str, Any]:
    """Tests of one lot's scores against the reference, with the alarm of each."""
    alpha = float(monitor.chart["lot_alpha"]) / max(n_lots, 1)
    ref = monitor.reference
    test = lot_test(scores, ref.sorted_scores, "greater")
    below = None
    if monitor.chart["lot_alternative"] == "two-sided":
        below = float(stats.mannwhitneyu(scores, ref.sorted_scores, alternative="less").pvalue)
    share = exceedance_rate(scores, monitor.threshold.value)
    expected = max(monitor.reference_exceedance or 0.0, 0.5 / ref.n)
    binom = stats.binomtest(share["n_above"], share["n"], expected, alternative="greater")
    return {
        "lot_id": lot_id,
        "n": int(scores.size),
        "mean_score": float(scores.mean()),
        "mean_z": float((scores.mean() - ref.mean) / ref.sd),
        "test": test,
        "exceedance": {**share, "expected": expected, "pvalue": float(binom.pvalue)},
        "alpha": alpha,
        "below_reference": {
            "pvalue": below,
            "signal": below is not None and below < alpha / 2,
        },
        "alarms": {
            "lot_test": min(test["ks_pvalue"], test["mannwhitney_pvalue"]) < alpha / 2,
            "exceedance": float(binom.pvalue) < alpha,
        },
    }


def analyse(
    rows: Sequence[HistoryRow], batch: set[tuple[str, str]], monitor: FittedMonitor
) -> tuple[dict[str, Any], list[HistoryRow], StreamCharts]:
    """Charts, lot tests and the alarm decision for the batch's (image, lot) keys.

    Returns:
        The report's ``charts``, ``lots``, ``alarm`` and ``alarm_sources`` entries, the stream
        in capture order and its charts (for the figure).
    """
    stream = stream_order(rows)
    charts = run_charts(stream, batch, monitor)
    lots = list(dict.fromkeys(row.lot_id for row in stream if (row.image, row.lot_id) in batch))
    by_lot: dict[str, list[float]] = {lot: [] for lot in lots}
    for row in stream:
        if row.lot_id in by_lot:
            by_lot[row.lot_id].append(row.score)
    lot_reports = [lot_summary(lot, np.array(by_lot[lot]), monitor, len(lots)) for lot in lots]
    fired = {
        "ewma": _chart_summary(charts.ewma, stream, charts.in_batch),
        "cusum": _chart_summary(charts.cusum, stream, charts.in_batch),
    }
    sources = {name: fired[name]["alarm"] for name in ("ewma", "cusum")}
    for name in ("lot_test", "exceedance"):
        sources[name] = any(lot["alarms"][name] for lot in lot_reports)
    below = [lot["lot_id"] for lot in lot_reports if lot["below_reference"]["signal"]]
    below += [
        f"{name} chart" for name in ("ewma", "cusum") if fired[name]["below_reference_in_batch"]
    ]
    raised = [name for name in ALARM_SOURCES if sources[name] and name in monitor.chart["alarm_on"]]
    section = {
        "charts": fired,
        "lots": lot_reports,
        "signals": sources,
        "alarm_sources": raised,
        "alarm": bool(raised),
        "below_reference": below,
    }
    return section, stream, charts
