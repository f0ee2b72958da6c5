"""Context section 7, the two benchmark studies ``evaluate`` carries verbatim in its evidence.

``resolution_study`` (``benchmarks/resolution_study.py``) says why the model runs at its
working resolution; ``detectability_ceiling`` (``benchmarks/detectability_ceiling.py``) says
how far the inline detector is from what a supervised detector reaches on the same test split.
Either may be absent from ``evaluation.json``: the section then says ``not recorded``.
"""

from __future__ import annotations

from typing import Any

from pipeline.dossier.formatting import NOT_RECORDED, fmt, fmt_signed
from pipeline.dossier.sections.performance import with_ci
from pipeline.evaluation.studies import CEILING, RESOLUTION, Study

# The study scores the inline detector with evaluate's own scorer on the same test split, so
# the same checkpoint gives the same AUROC up to float rounding.
SAME_AUROC = 1e-6
CHOSEN = " (chosen)"


def rerun(study: Study) -> str:
    """The fix for an absent or stale study, as a reader of the dossier would type it."""
    return f"run {study.script}, then dvc repro evaluate"


def _not_recorded(study: Study) -> dict[str, Any]:
    return {
        "recorded": False,
        "note": f"{NOT_RECORDED} (evaluation.json carries no {study.key}; {rerun(study)})",
    }


def evaluated_inline(documents: dict[str, Any]) -> dict[str, Any]:
    """The evaluated inline mode's evidence (``{}`` when evaluate recorded none)."""
    return (documents["evaluation"].get("modes") or {}).get("inline") or {}


def size_text(size: Any) -> str:
    """``[32, 384]`` -> ``32 x 384`` (height x width, as in section 4)."""
    if not isinstance(size, list | tuple) or len(size) != 2:
        return NOT_RECORDED
    return f"{fmt(size[0])} x {fmt(size[1])}"


def working_size(documents: dict[str, Any]) -> list[int] | None:
    """The evaluated inline detector's (height, width): as evaluate scored it, else as trained."""
    inline = evaluated_inline(documents)
    if inline.get("working_resolution"):
        return list(inline["working_resolution"])
    trained = documents["train_summary"]["models"].get(str(inline.get("detector")))
    if trained and "image_height" in trained and "image_width" in trained:
        return [trained["image_height"], trained["image_width"]]
    return None


def resolution_rows(study: dict[str, Any], chosen: list[int] | None) -> list[list[str]]:
    """Rows ``[size, val AUROC [CI], s/epoch, ms/image]``; the chosen size is marked."""
    rows = []
    for result in study.get("results") or []:
        size = [result.get("image_height"), result.get("image_width")]
        mark = CHOSEN if chosen is not None and size == list(chosen) else ""
        rows.append(
            [
                size_text(size) + mark,
                with_ci(result.get("val_auroc"), (result.get("val_ci") or {}).get("auroc")),
                fmt(result.get("train_seconds_per_epoch"), 2),
                fmt(result.get("inference_ms_per_image"), 1),
            ]
        )
    return rows


def chosen_note(chosen: list[int] | None, rows: list[list[str]]) -> str:
    """Which row is this model's, in words (an auditor must see when none is)."""
    if chosen is None:
        return f"This model's working resolution is {NOT_RECORDED}, so no size is marked."
    if not any(row[0].endswith(CHOSEN) for row in rows):
        return f"This model runs at {size_text(chosen)}, which is not among the sizes studied."
    return f"This model runs at {size_text(chosen)} (marked chosen)."


def resolution_section(documents: dict[str, Any]) -> dict[str, Any]:
    """The resolution study as a table, with the evaluated model's size marked."""
    study = documents["evaluation"].get(RESOLUTION.key)
    if not study:
        return _not_recorded(RESOLUTION)
    chosen = working_size(documents)
    rows = resolution_rows(study, chosen)
    settings = (study.get("provenance") or {}).get("params") or {}
    return {
        "recorded": True,
        "detector": str(study.get("detector", NOT_RECORDED)),
        "score": str(study.get("score", NOT_RECORDED)),
        "split": str(study.get("split", NOT_RECORDED)),
        "epochs_cap": fmt(settings.get("epochs_cap")),
        "chosen_note": chosen_note(chosen, rows),
        "rows": rows,
    }


def ceiling_rows(test: dict[str, Any], inline: dict[str, Any]) -> list[list[str]]:
    """Rows ``[defect type, ceiling AUROC, inline AUROC, inline - ceiling]``, then overall."""
    ceiling_by, inline_by = test.get("per_type_auroc") or {}, inline.get("per_type_auroc") or {}
    kinds = [*ceiling_by, *(k for k in inline_by if k not in ceiling_by)]
    rows = [
        [
            kind,
            fmt(ceiling_by.get(kind)),
            fmt(inline_by.get(kind)),
            _gap(inline_by.get(kind), ceiling_by.get(kind)),
        ]
        for kind in kinds
    ]
    rows.append(
        [
            "All defect types",
            with_ci(test.get("auroc"), test.get("auroc_ci")),
            with_ci(inline.get("auroc"), inline.get("auroc_ci")),
            _gap(inline.get("auroc"), test.get("auroc")),
        ]
    )
    return rows


def _gap(inline_auroc: Any, ceiling_auroc: Any) -> str:
    """``inline - ceiling`` with its sign; a dash when either is missing."""
    if not isinstance(inline_auroc, int | float) or not isinstance(ceiling_auroc, int | float):
        return "\u2014"
    return fmt_signed(inline_auroc - ceiling_auroc)


def evaluated_checkpoint_sha256(documents: dict[str, Any]) -> str | None:
    """The sha256 of the evaluated inline detector's checkpoint, where the evidence has it.

    ``evaluation.json`` does not record it; ``monitor_summary.json`` does, for the checkpoint
    ``fit_monitor`` loaded from the same ``artifacts/train`` that ``evaluate`` scored (DVC
    reruns both when training changes), so it counts only when it names the same detector.
    """
    inline = evaluated_inline(documents)
    summary = documents.get("monitor_summary") or {}
    checkpoint = summary.get("checkpoint") or {}
    if not checkpoint.get("sha256") or summary.get("detector") != inline.get("detector"):
        return None
    return str(checkpoint["sha256"])


def stale_inline_warning(documents: dict[str, Any], inline: dict[str, Any]) -> str:
    """Why the study's inline figures may belong to another model version ('' when they don't).

    The checkpoint sha256 decides when both sides record it (studies written before it was
    recorded lack it); otherwise the overall inline AUROC, which the study measures with
    ``evaluate``'s scorer on the same test split, must equal this evaluation's.
    """
    ours, theirs = evaluated_checkpoint_sha256(documents), inline.get("checkpoint_sha256")
    if ours and theirs:
        if ours == theirs:
            return ""
        return (
            f"Warning: the study scored the inline checkpoint with sha256 {str(theirs)[:12]}, "
            f"not the evaluated one ({ours[:12]}, fit_monitor/monitor_summary.json): its inline "
            f"figures come from another model version; {rerun(CEILING)}."
        )
    ranking = evaluated_inline(documents).get("ranking") or {}
    evaluated, studied = ranking.get("auroc"), inline.get("auroc")
    if not isinstance(evaluated, int | float) or not isinstance(studied, int | float):
        return f"Warning: whether the study's inline figures are this model's is {NOT_RECORDED}."
    if abs(evaluated - studied) <= SAME_AUROC:
        return ""
    return (
        f"Warning: the study's overall inline AUROC {fmt(studied, 6)} differs from this "
        f"evaluation's {fmt(evaluated, 6)}: its inline figures come from another model version; "
        f"{rerun(CEILING)}."
    )


def evaluated_inline_figures(documents: dict[str, Any]) -> dict[str, Any]:
    """The evaluated inline mode's own AUROC, overall and per defect type (``{}`` when its
    evidence predates per-type AUROC): preferred to the study's copy, which can go stale."""
    inline = evaluated_inline(documents)
    per_type = {
        str(kind): facts.get("auroc")
        for kind, facts in (inline.get("per_defect_type") or {}).items()
        if isinstance(facts, dict) and facts.get("auroc") is not None
    }
    ranking = inline.get("ranking") or {}
    if not per_type or ranking.get("auroc") is None:
        return {}
    return {
        "detector": inline.get("detector", NOT_RECORDED),
        "auroc": ranking["auroc"],
        "auroc_ci": (ranking.get("ci") or {}).get("auroc"),
        "per_type_auroc": per_type,
    }


def working_size_warning(documents: dict[str, Any], study: dict[str, Any]) -> str:
    """Why the ceiling may not apply to this model: it was measured at another working size."""
    ours, theirs = working_size(documents), study.get("working_size")
    if ours is None or theirs is None or list(ours) == list(theirs):
        return ""
    return (
        f"Warning: the ceiling was measured at {size_text(theirs)}, this model runs at "
        f"{size_text(ours)}; {rerun(CEILING)}."
    )


def ceiling_section(documents: dict[str, Any]) -> dict[str, Any]:
    """The detectability ceiling next to the inline detector, per defect type and overall.

    The inline column is this evaluation's own figures; only evidence from before evaluate
    recorded per-type AUROC falls back to the study's copy, checked for staleness.
    """
    study = documents["evaluation"].get(CEILING.key)
    if not study:
        return _not_recorded(CEILING)
    reference, test = study.get("reference") or {}, study.get("test") or {}
    inline = evaluated_inline_figures(documents)
    warning = working_size_warning(documents, study)
    if not inline:
        inline = study.get("inline_detector") or {}
        stale = stale_inline_warning(documents, inline) if inline else ""
        warning = " ".join(part for part in (warning, stale) if part)
    return {
        "recorded": True,
        "defective_images": fmt(reference.get("defective_images")),
        "defect_events": fmt(reference.get("defect_events")),
        "images": fmt(reference.get("images")),
        "synth_seed": fmt(reference.get("synth_seed")),
        "working_size": size_text(study.get("working_size")),
        "chosen_epoch": fmt(study.get("chosen_epoch")),
        "epochs": fmt(len(study.get("history") or []) or None),
        "n_normal": fmt(test.get("n_normal")),
        "n_defective": fmt(test.get("n_defective")),
        "inline_recorded": bool(inline),
        "inline_detector": str(inline.get("detector", NOT_RECORDED)),
        "rows": ceiling_rows(test, inline),
        "warning": warning,
        "inline_above_ceiling": _above(inline.get("auroc"), test.get("auroc")),
    }


def _above(inline_auroc: Any, ceiling_auroc: Any) -> bool:
    """The inline detector beats the supervised one overall: then the study is no ceiling."""
    numbers = isinstance(inline_auroc, int | float) and isinstance(ceiling_auroc, int | float)
    return bool(numbers and inline_auroc > ceiling_auroc)
