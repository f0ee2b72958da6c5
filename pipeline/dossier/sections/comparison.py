"""Comparison of a candidate with the current champion: metric deltas, data and parameter changes.

The champion's evidence is read like the candidate's; no raw scores are available, so the
interval of a difference is the normal approximation from the two recorded 95 % intervals
(independent samples): conservative when both were measured on the same test split.
"""

from __future__ import annotations

import math
from typing import Any

from pipeline.dossier.evidence import Documents
from pipeline.dossier.formatting import fmt, fmt_ci, fmt_signed, fmt_value
from pipeline.dossier.sections.performance import evaluated
from pipeline.evidence import Mode

Z95 = 1.959963984540054
LABELS = {
    "auroc": "AUROC",
    "aupr": "AUPR",
    "accuracy": "Accuracy",
    "recall": "Recall",
    "miss_rate": "Miss rate",
    "fpr": "False-reject rate (FPR)",
    "f1": "F1",
    "miss_rate_upper_95": "Miss rate, one-sided 95 % upper bound",
}
COMPARED_STAGES = ("split_summary", "governance", "train_summary", "evaluation", "monitor_summary")


def _metrics(mode_doc: Mode) -> dict[str, tuple[Any, list[float] | None]]:
    ranking, point = mode_doc.ranking, mode_doc.operating()
    out: dict[str, tuple[Any, list[float] | None]] = {
        "auroc": (ranking.auroc, ranking.ci["auroc"]),
        "aupr": (ranking.aupr, ranking.ci["aupr"]),
    }
    for key in ("accuracy", "recall", "miss_rate", "fpr", "f1"):
        out[key] = (point.test[key], point.test_ci[key])
    out["miss_rate_upper_95"] = (point.miss_rate_upper_95, None)
    return out


def delta_interval(a_ci: list[float] | None, b_ci: list[float] | None, delta: float) -> str:
    """95 % interval of ``b - a`` from the two intervals (normal approximation)."""
    if not a_ci or not b_ci:
        return "\u2014"
    se = math.hypot((a_ci[1] - a_ci[0]) / (2 * Z95), (b_ci[1] - b_ci[0]) / (2 * Z95))
    low, high = delta - Z95 * se, delta + Z95 * se
    return f"[{fmt_signed(low)}, {fmt_signed(high)}]"


def comparison_section(
    candidate: Documents, champion: Documents, mode: str, champion_label: str
) -> dict[str, Any]:
    """Deltas (candidate - champion) with intervals, and what changed in data and parameters."""
    ours = _metrics(evaluated(candidate.evaluation.modes, mode))
    theirs = _metrics(evaluated(champion.evaluation.modes, mode))
    rows = []
    for key, (value, ci) in ours.items():
        old, old_ci = theirs[key]
        delta = (
            value - old if isinstance(value, int | float) and isinstance(old, int | float) else None
        )
        rows.append(
            [
                LABELS[key],
                f"{fmt(old)} {fmt_ci(old_ci) if old_ci else ''}".strip(),
                f"{fmt(value)} {fmt_ci(ci) if ci else ''}".strip(),
                fmt_signed(delta),
                delta_interval(old_ci, ci, delta) if delta is not None else "\u2014",
            ]
        )
    return {
        "champion": champion_label,
        "metrics": rows,
        "data": _data_changes(candidate, champion),
        "params": _param_changes(candidate, champion),
    }


def _data_changes(candidate: Documents, champion: Documents) -> list[list[str]]:
    """Dataset hash (always) and the split sizes that changed, champion vs candidate."""
    old_md5, new_md5 = _md5(champion), _md5(candidate)
    rows = [["data.dvc md5", old_md5, new_md5, "changed" if old_md5 != new_md5 else "same"]]
    new, old = candidate.split_summary.splits, champion.split_summary.splits
    for split in sorted(set(new) | set(old)):
        for column in ("images", "normal", "defective"):
            # A split one of the two versions does not have counts as absent (None).
            a = getattr(old[split], column) if split in old else None
            b = getattr(new[split], column) if split in new else None
            if a != b:
                rows.append([f"{split} {column}", fmt(a), fmt(b), "changed"])
    if len(rows) == 1:
        rows.append(["split sizes", "", "", "all the same"])
    return rows


def _md5(documents: Documents) -> str:
    md5 = documents.evaluation.provenance.data_md5
    return "not recorded" if md5 is None else str(md5)


def _param_changes(candidate: Documents, champion: Documents) -> list[list[str]]:
    """Every stage parameter whose value differs (stage, key, champion, candidate)."""
    rows = []
    for stage in COMPARED_STAGES:
        provenance = getattr(candidate, stage).provenance
        new, old = provenance.params, getattr(champion, stage).provenance.params
        for key in sorted(set(new) | set(old)):
            # A key one version's params lack (added or removed) shows as None.
            if new.get(key) != old.get(key):
                rows.append(
                    [provenance.stage, key, fmt_value(old.get(key)), fmt_value(new.get(key))]
                )
    return rows
