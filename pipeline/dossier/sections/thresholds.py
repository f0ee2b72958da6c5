"""Context sections 8-10: threshold justification, explainability galleries, robustness."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.dossier.figures import figure
from pipeline.dossier.formatting import (
    NOT_RECORDED,
    fmt,
    fmt_ci,
    fmt_pct,
    fmt_pct_ci,
    fmt_sig,
    fmt_signed,
    fmt_value,
    humanize,
)
from pipeline.dossier.sections.performance import MODE_TITLES, WRITER
from pipeline.evidence import EvaluatedThreshold, Mode
from pipeline.models.thresholds import Threshold, zero_failure_sample_size

GALLERY_KINDS = (
    ("true_positive", "True positives (defective, rejected)", "True positive"),
    ("false_positive", "False positives (normal, rejected)", "False positive"),
    ("false_negative", "False negatives (defective, accepted: missed)", "False negative"),
)
SENSITIVITY_METRICS = ("accuracy", "recall", "miss_rate", "fpr", "precision", "f1")
BOUND_CONFIDENCE = 0.95  # the contract's miss_rate_upper_95


def rule_text(threshold: Threshold) -> str:
    """``supervised (criterion = youden)``."""
    detail = ", ".join(f"{k} = {fmt_value(v)}" for k, v in threshold.rule_params.items())
    detail = f" ({detail})" if detail else ""
    return f"{threshold.rule}{detail}"


def threshold_section(mode: str, mode_doc: Mode, limit: Any) -> dict[str, Any]:
    """Per mode: every fitted threshold, and the justification of the operating one.

    Args:
        mode: ``inline`` or ``monitoring``.
        mode_doc: ``evaluation.json`` ``modes[mode]``.
        limit: ``{"id", "maximum"}`` of the miss-rate acceptance criterion, or None.
    """
    point = mode_doc.operating()
    test, ci = point.test, point.test_ci
    upper = point.miss_rate_upper_95
    return {
        "mode": mode,
        "title": MODE_TITLES.get(mode, humanize(mode)),
        "all": [_threshold_row(t, t is point) for t in mode_doc.thresholds],
        "id": str(point.threshold_id),
        "rule": rule_text(point),
        "value": fmt_sig(point.value),
        "score": str(point.score_name),
        "fitted_split": str(point.fitted_on_split),
        "fitted_on": f"{point.fitted_on_split} split "
        f"({fmt(point.n_normal)} normal, {fmt(point.n_defective)} defective images)",
        "fit_point": fit_point_rows(point.justification),
        "roc_point": f"FPR {fmt(test['fpr'])}, TPR {fmt(test['recall'])}",
        "false_reject": f"{fmt(test['fpr'])} ({fmt_pct(test['fpr'])}), 95 % CI "
        f"{fmt_ci(ci['fpr'])} = {fmt_pct_ci(ci['fpr'])}",
        "false_accept": f"{fmt(test['miss_rate'])} ({fmt_pct(test['miss_rate'])}), 95 % CI "
        f"{fmt_ci(ci['miss_rate'])} = {fmt_pct_ci(ci['miss_rate'])}",
        "counts": f"{fmt(test['fn'])} missed of {fmt(mode_doc.n_test_defective)} "
        f"defective; {fmt(test['fp'])} rejected of {fmt(mode_doc.n_test_normal)} normal",
        "miss_upper": fmt(upper),
        "bound": _bound(upper, limit, mode_doc.n_test_defective),
        "sensitivity": [_sensitivity_row(row) for row in point.sensitivity],
    }


def fit_point_rows(point: dict[str, Any]) -> list[list[str]]:
    """The operating point on the fitting split, compactly (``Threshold.justification``)."""
    rows = []
    if "tp" in point:
        rows.append(
            [
                "Counts",
                ", ".join(f"{k.upper()} {fmt(point[k])}" for k in ("tp", "fp", "tn", "fn")),
            ]
        )
    for key, label in (("false_reject_rate", "False-reject rate"), ("miss_rate", "Miss rate")):
        if key in point:  # the rule's justification states the rates it bounds
            low, high = point[f"{key}_ci_low"], point[f"{key}_ci_high"]
            ci = fmt_ci([low, high]) if low is not None and high is not None else ""
            rows.append([label, f"{fmt(point[key])} {ci}".strip()])
    shown = {"tp", "fp", "tn", "fn", "fpr", "tpr", "threshold", "false_reject_rate", "miss_rate"}
    shown |= {
        f"{k}_ci_{side}" for k in ("false_reject_rate", "miss_rate") for side in ("low", "high")
    }
    rows += [[humanize(k), fmt_value(v)] for k, v in point.items() if k not in shown]
    return rows


def _threshold_row(threshold: EvaluatedThreshold, operating: bool) -> list[str]:
    test = threshold.test
    return [
        str(threshold.threshold_id),
        rule_text(threshold),
        fmt_sig(threshold.value),
        str(threshold.fitted_on_split),
        fmt(test["accuracy"]),
        fmt(test["recall"]),
        fmt(test["fpr"]),
        "operating" if operating else "",
    ]


def _bound(upper: Any, limit: Any, n_defective: Any) -> dict[str, str]:
    """Miss-rate upper bound against the protocol's comparator reference (reported, not a gate),
    with the zero-miss sample size."""
    if not limit:
        return {
            "criterion": "none",
            "limit": "no miss-rate comparator in the protocol",
            "result": "NOT JUDGED",
            "needed": NOT_RECORDED,
            "have": fmt(n_defective),
        }
    maximum = float(limit["maximum"])
    needed = zero_failure_sample_size(1.0 - maximum, BOUND_CONFIDENCE) if 0 < maximum < 1 else None
    met = isinstance(upper, int | float) and upper < maximum
    return {
        "criterion": str(limit["id"]),
        "limit": fmt(maximum),
        "result": "PASS" if met else "FAIL",
        "needed": fmt(needed),
        "have": fmt(n_defective),
    }


def _sensitivity_row(row: dict[str, Any]) -> list[str]:
    shift = row["shift"]
    label = "operating" if shift == 0 else fmt_signed(shift * 100.0, 0) + " %" if shift else "?"
    return [label, fmt_sig(row["threshold"]), *(fmt(row[m]) for m in SENSITIVITY_METRICS)]


def gallery_scale_note(mode_doc: Mode) -> str:
    """The gallery's colour scale in words: one for all its heatmaps (evaluate records its top),
    or, in evidence from before, each heatmap's own, which makes colours incomparable."""
    scale = mode_doc.gallery_heatmap_scale
    if scale is None:
        return (
            "Each heatmap below is drawn on its own colour scale (the evidence predates one "
            "scale per gallery): compare colours within one image only, never across images."
        )
    return (
        f"Every heatmap below is drawn on one colour scale, 0 to {fmt_sig(scale)} in the "
        "score map's units, the same for true positives, false positives and misses, so "
        "colours compare across images."
    )


def gallery_section(mode_doc: Mode, evaluate_dir: Path, limit: int) -> list[dict]:
    """Up to ``limit`` images per outcome (TP, FP, FN) with heatmaps and mask outlines."""
    gallery = mode_doc.gallery
    scale = mode_doc.gallery_heatmap_scale
    shared = "" if scale is None else f" Heatmap colour scale 0 to {fmt_sig(scale)}."
    kinds = []
    for key, title, singular in GALLERY_KINDS:
        files = list(gallery[key])[:limit]
        figures = [
            figure(
                evaluate_dir / name,
                f"{singular} {i} of the test split ({Path(name).stem}).{shared}",
                f"evaluate/{name}",
                WRITER,
            )
            for i, name in enumerate(files, start=1)
        ]
        kinds.append(
            {
                "key": key,
                "title": title,
                "figures": figures,
                "total": fmt(len(gallery[key])),
            }
        )
    return kinds


def robustness_section(mode_doc: Mode) -> dict[str, Any]:
    """Metric changes under each perturbation of the test split, against the clean figures."""
    rows = [
        [
            str(row["perturbation"]),
            fmt_value(row["level"]),
            fmt(row["auroc"]),
            fmt(row["accuracy"]),
            fmt_signed(row["delta_accuracy"]),
        ]
        for row in mode_doc.robustness
    ]
    worst = min(mode_doc.robustness, key=lambda r: r["delta_accuracy"], default=None)
    return {
        "clean_auroc": fmt(mode_doc.ranking.auroc),
        "clean_accuracy": fmt(mode_doc.operating().test["accuracy"]),
        "rows": rows,
        "worst": (
            f"{worst['perturbation']} at level {fmt_value(worst['level'])}: accuracy "
            f"{fmt_signed(worst['delta_accuracy'])}"
            if worst
            else "no perturbation evaluated"
        ),
    }
