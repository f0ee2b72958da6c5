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
from pipeline.dossier.sections.performance import MODE_TITLES, WRITER, operating_threshold
from pipeline.models.thresholds import zero_failure_sample_size

GALLERY_KINDS = (
    ("true_positive", "True positives (defective, rejected)", "True positive"),
    ("false_positive", "False positives (normal, rejected)", "False positive"),
    ("false_negative", "False negatives (defective, accepted: missed)", "False negative"),
)
SENSITIVITY_METRICS = ("accuracy", "recall", "miss_rate", "fpr", "precision", "f1")
BOUND_CONFIDENCE = 0.95  # the contract's miss_rate_upper_95


def rule_text(threshold: dict[str, Any]) -> str:
    """``supervised (criterion = youden)``."""
    params = threshold.get("rule_params") or {}
    detail = ", ".join(f"{k} = {fmt_value(v)}" for k, v in params.items())
    detail = f" ({detail})" if detail else ""
    return f"{threshold.get('rule', NOT_RECORDED)}{detail}"


def threshold_section(mode: str, mode_doc: dict[str, Any], limit: Any) -> dict[str, Any]:
    """Per mode: every fitted threshold, and the justification of the operating one.

    Args:
        mode: ``inline`` or ``monitoring``.
        mode_doc: ``evaluation.json`` ``modes[mode]``.
        limit: ``{"id", "maximum"}`` of the miss-rate acceptance criterion, or None.
    """
    point = operating_threshold(mode_doc)
    test, ci = point["test"], point.get("test_ci", {})
    upper = point.get("miss_rate_upper_95")
    return {
        "mode": mode,
        "title": MODE_TITLES.get(mode, humanize(mode)),
        "all": [_threshold_row(t, t is point) for t in mode_doc["thresholds"]],
        "id": str(point["threshold_id"]),
        "rule": rule_text(point),
        "value": fmt_sig(point.get("value")),
        "score": str(point.get("score_name", mode_doc.get("score", NOT_RECORDED))),
        "fitted_split": str(point.get("fitted_on_split", NOT_RECORDED)),
        "fitted_on": f"{point.get('fitted_on_split', NOT_RECORDED)} split "
        f"({fmt(point.get('n_normal'))} normal, {fmt(point.get('n_defective'))} defective images)",
        "fit_point": fit_point_rows(point.get("justification") or {}),
        "roc_point": f"FPR {fmt(test.get('fpr'))}, TPR {fmt(test.get('recall'))}",
        "false_reject": f"{fmt(test.get('fpr'))} ({fmt_pct(test.get('fpr'))}), 95 % CI "
        f"{fmt_ci(ci.get('fpr'))} = {fmt_pct_ci(ci.get('fpr'))}",
        "false_accept": f"{fmt(test.get('miss_rate'))} ({fmt_pct(test.get('miss_rate'))}), 95 % CI "
        f"{fmt_ci(ci.get('miss_rate'))} = {fmt_pct_ci(ci.get('miss_rate'))}",
        "counts": f"{fmt(test.get('fn'))} missed of {fmt(mode_doc.get('n_test_defective'))} "
        f"defective; {fmt(test.get('fp'))} rejected of {fmt(mode_doc.get('n_test_normal'))} normal",
        "miss_upper": fmt(upper),
        "bound": _bound(upper, limit, mode_doc.get("n_test_defective")),
        "sensitivity": [_sensitivity_row(row) for row in point.get("sensitivity", [])],
    }


def fit_point_rows(point: dict[str, Any]) -> list[list[str]]:
    """The operating point on the fitting split, compactly (``Threshold.justification``)."""
    rows = []
    if "tp" in point:
        rows.append(
            [
                "Counts",
                ", ".join(f"{k.upper()} {fmt(point.get(k))}" for k in ("tp", "fp", "tn", "fn")),
            ]
        )
    for key, label in (("false_reject_rate", "False-reject rate"), ("miss_rate", "Miss rate")):
        if key in point:
            low, high = point.get(f"{key}_ci_low"), point.get(f"{key}_ci_high")
            ci = fmt_ci([low, high]) if low is not None and high is not None else ""
            rows.append([label, f"{fmt(point[key])} {ci}".strip()])
    shown = {"tp", "fp", "tn", "fn", "fpr", "tpr", "threshold", "false_reject_rate", "miss_rate"}
    shown |= {
        f"{k}_ci_{side}" for k in ("false_reject_rate", "miss_rate") for side in ("low", "high")
    }
    rows += [[humanize(k), fmt_value(v)] for k, v in point.items() if k not in shown]
    return rows


def _threshold_row(threshold: dict[str, Any], operating: bool) -> list[str]:
    test = threshold.get("test", {})
    return [
        str(threshold["threshold_id"]),
        rule_text(threshold),
        fmt_sig(threshold.get("value")),
        str(threshold.get("fitted_on_split", NOT_RECORDED)),
        fmt(test.get("accuracy")),
        fmt(test.get("recall")),
        fmt(test.get("fpr")),
        "operating" if operating else "",
    ]


def _bound(upper: Any, limit: Any, n_defective: Any) -> dict[str, str]:
    """Miss-rate upper bound against the acceptance limit, with the zero-miss sample size."""
    if not limit:
        return {
            "criterion": "none",
            "limit": "no miss-rate criterion in the acceptance file",
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
    shift = row.get("shift")
    label = "operating" if shift == 0 else fmt_signed(shift * 100.0, 0) + " %" if shift else "?"
    return [label, fmt_sig(row.get("threshold")), *(fmt(row.get(m)) for m in SENSITIVITY_METRICS)]


def gallery_section(mode_doc: dict[str, Any], evaluate_dir: Path, limit: int) -> list[dict]:
    """Up to ``limit`` images per outcome (TP, FP, FN) with heatmaps and mask outlines."""
    gallery = mode_doc.get("gallery") or {}
    kinds = []
    for key, title, singular in GALLERY_KINDS:
        files = list(gallery.get(key, []))[:limit]
        figures = [
            figure(
                evaluate_dir / name,
                f"{singular} {i} of the test split ({Path(name).stem}).",
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
                "total": fmt(len(gallery.get(key, []))),
            }
        )
    return kinds


def robustness_section(mode_doc: dict[str, Any]) -> dict[str, Any]:
    """Metric changes under each perturbation of the test split, against the clean figures."""
    point = operating_threshold(mode_doc)
    rows = [
        [
            str(row.get("perturbation")),
            fmt_value(row.get("level")),
            fmt(row.get("auroc")),
            fmt(row.get("accuracy")),
            fmt_signed(row.get("delta_accuracy")),
        ]
        for row in mode_doc.get("robustness", [])
    ]
    worst = min(
        mode_doc.get("robustness", []), key=lambda r: r.get("delta_accuracy", 0), default=None
    )
    return {
        "clean_auroc": fmt(mode_doc["ranking"]["auroc"]),
        "clean_accuracy": fmt(point["test"].get("accuracy")),
        "rows": rows,
        "worst": (
            f"{worst.get('perturbation')} at level {fmt_value(worst.get('level'))}: accuracy "
            f"{fmt_signed(worst.get('delta_accuracy'))}"
            if worst
            else "no perturbation evaluated"
        ),
    }
