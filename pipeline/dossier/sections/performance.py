"""Context section 7 (performance of both modes, baselines, the paper's figures side by side)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from markupsafe import Markup

from pipeline.dossier.evidence import MissingEvidenceError
from pipeline.dossier.figures import figure
from pipeline.dossier.formatting import fmt, fmt_ci, humanize
from pipeline.evidence import EvaluatedThreshold, Evaluation, Mode
from pipeline.evidence.evaluation import Modes

MODE_TITLES = {
    "inline": "Inline pass/fail inspection",
    "monitoring": "Process monitoring (drift)",
}
OPERATING_METRICS = (
    ("accuracy", "Accuracy"),
    ("precision", "Precision"),
    ("recall", "Recall (sensitivity)"),
    ("miss_rate", "Miss rate (false accept)"),
    ("specificity", "Specificity"),
    ("fpr", "False-reject rate (FPR)"),
    ("f1", "F1"),
)
WRITER = "run `dvc repro evaluate`"


def with_ci(value: Any, interval: Any) -> str:
    """``0.974 [0.958, 0.987]``."""
    return f"{fmt(value)} {fmt_ci(interval)}" if interval else fmt(value)


def headline(mode_doc: Mode) -> dict[str, str]:
    """Every headline metric of a mode as ``value [CI]`` text, keyed by metric."""
    ranking, point = mode_doc.ranking, mode_doc.operating()
    out = {
        "auroc": with_ci(ranking.auroc, ranking.ci["auroc"]),
        "aupr": with_ci(ranking.aupr, ranking.ci["aupr"]),
    }
    for key, _ in OPERATING_METRICS:
        out[key] = with_ci(point.test[key], point.test_ci[key])
    return out


def summary_rows(modes: Modes, order: list[str]) -> list[list[str]]:
    """Rows ``[metric, mode A, mode B]`` of the side-by-side headline table."""
    texts = {mode: headline(evaluated(modes, mode)) for mode in order}
    labels = [("auroc", "AUROC"), ("aupr", "AUPR"), *OPERATING_METRICS]
    return [[label, *(texts[mode][key] for mode in order)] for key, label in labels]


def evaluated(modes: Modes, mode: str) -> Mode:
    """A mode's evaluation; a dossier needs both modes evaluated."""
    mode_doc = modes.of(mode)
    if mode_doc is None:
        raise MissingEvidenceError(
            f"evaluation.json: modes.{mode} is null (evaluate ran without it); {WRITER}"
        )
    return mode_doc


def mode_detail(
    mode: str, mode_doc: Mode, evaluate_dir: Path, figures: bool = True
) -> dict[str, Any]:
    """Confusion matrix, per-defect-type recall, pixel metrics and (``figures``) the curves.

    The companion mode's curves are left to its own dossier: a registered version's run
    carries the plots of its own mode only.
    """
    test = mode_doc.operating().test
    plots = mode_doc.plots
    title = MODE_TITLES.get(mode, humanize(mode))

    def plot(key: str, caption: str) -> dict[str, str]:
        if key not in plots:
            raise MissingEvidenceError(
                f"{evaluate_dir / 'evaluation.json'}: modes.{mode}.plots names no '{key}' "
                f"plot; {WRITER}"
            )
        return figure(evaluate_dir / plots[key], caption, f"evaluate/{plots[key]}", WRITER)

    return {
        "mode": mode,
        "title": title,
        "detector": str(mode_doc.detector),
        "score": str(mode_doc.score),
        "n_normal": fmt(mode_doc.n_test_normal),
        "n_defective": fmt(mode_doc.n_test_defective),
        "threshold_id": str(mode_doc.operating_threshold_id),
        "confusion": {k: fmt(test[k]) for k in ("tp", "fp", "tn", "fn")},
        "curves": [
            plot("roc", f"ROC curve of the {title.lower()} mode on the test split."),
            plot("pr", f"Precision-recall curve of the {title.lower()} mode on the test split."),
        ]
        if figures
        else [],
        "histogram": plot(
            "histogram", f"Test-split score distributions of the {title.lower()} mode by class."
        )
        if figures
        else None,
        "per_defect": [
            [name, fmt(facts["recall"]), fmt_ci(facts["ci"]), fmt(facts["n"])]
            for name, facts in sorted(mode_doc.per_defect_type.items())
        ],
        "pixel": [
            [humanize(k).upper() if k in ("auroc", "pro") else humanize(k), fmt(v)]
            for k, v in (mode_doc.pixel or {}).items()  # None: no pixel masks
        ],
    }


def baselines_rows(evaluation: Evaluation) -> list[list[str]]:
    """Rows ``[name, description, AUROC [CI], AUPR, accuracy [CI], F1]`` of the baselines."""
    return [
        [
            str(item["name"]),
            str(item["description"]),
            # ci lists only the metrics an interval was bootstrapped for.
            # value above its interval, so four intervals fit the page's width
            *(
                Markup("{}<br>{}").format(fmt(item[k]), fmt_ci(item["ci"][k]))
                if item["ci"].get(k)
                else fmt(item[k])
                for k in ("auroc", "aupr", "accuracy", "f1")
            ),
        ]
        for item in evaluation.baselines
    ]


def norm_score(name: Any) -> str:
    """Score names compared across sources: ``4-MS-SSIM`` == ``four_ms_ssim``."""
    text = str(name).lower().replace("4", "four")
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def ablation_rows(evaluation: Evaluation) -> list[list[str]]:
    """Score ablation, ours next to the paper's (``[score, ours AUROC, paper AUROC, ...]``)."""
    paper_by = {norm_score(p["score"]): p for p in evaluation.paper_reference["ablation"]}
    ours_by = {norm_score(o["score"]): o for o in evaluation.ablation}
    rows = []
    for key in [*ours_by, *(k for k in paper_by if k not in ours_by)]:
        # A score is in one list or both; the paper gives some metrics only for some scores.
        ours, ref = ours_by.get(key, {}), paper_by.get(key, {})
        row = [str((ours or ref)["score"])]
        for metric in ("auroc", "accuracy", "f1"):
            row += [_or_dash(ours.get(metric)), _or_dash(ref.get(metric))]
        rows.append(row)
    return rows


def _or_dash(value: Any) -> str:
    return "\u2014" if value is None else fmt(value)


def paper_rows(evaluation: Evaluation, mode: str) -> list[list[str]]:
    """The paper's published figures for a mode next to ours where they are comparable."""
    reference = evaluation.paper_reference[mode]
    mode_doc = evaluated(evaluation.modes, mode)
    rows = []
    for key, value in reference.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            ours, note = _ours_for(str(key).lower(), mode_doc)
            rows.append([humanize(key), fmt(value), ours, note])
    return rows


def _ours_for(key: str, mode_doc: Mode) -> tuple[str, str]:
    """Our figure matching a paper metric name, with a note on comparability."""
    if "cross" in key or key.endswith("_cv"):
        return "\u2014", "paper figure from cross-validation; not comparable to a test figure"
    ranking = mode_doc.ranking
    if "aupr" in key:
        return fmt(ranking.aupr), "test split"
    if "auroc" in key or "auc" in key:
        return fmt(ranking.auroc), "test split"
    unsupervised = "unsupervised" in key or "mean" in key
    threshold = _threshold_by_kind(mode_doc, unsupervised)
    for metric in ("accuracy", "precision", "recall", "f1"):
        if metric in key and threshold is not None:
            rule = threshold.rule
            return fmt(threshold.test[metric]), f"test split, threshold rule {rule}"
    return "\u2014", "no matching figure in our evidence"


def _threshold_by_kind(mode_doc: Mode, unsupervised: bool) -> EvaluatedThreshold | None:
    """The operating threshold, or for an 'unsupervised' figure the mean + k sd one."""
    if not unsupervised:
        return mode_doc.operating()
    for threshold in mode_doc.thresholds:
        if "mean" in threshold.rule or "sigma" in threshold.rule:
            return threshold
    return None
