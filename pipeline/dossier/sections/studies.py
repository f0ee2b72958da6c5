"""Context section 7: the resolution study, and what both benchmark studies' sections share.

``evaluate`` carries two studies verbatim in its evidence: ``resolution_study``
(``benchmarks/resolution_study.py``) says why the model runs at its working resolution, and
``detectability_ceiling`` (``benchmarks/detectability_ceiling.py``, its section in
``ceiling.py``) how far the inline detector is from what a supervised detector reaches. Either
may be null in ``evaluation.json``: the section then says ``not recorded``. A study run on
another dataset (its ``provenance.data_md5`` is not the evaluation's) is no evidence about this
data: the section says so instead of showing it.
"""

from __future__ import annotations

from typing import Any

from pipeline.dossier.evidence import Documents
from pipeline.dossier.formatting import NOT_RECORDED, fmt
from pipeline.dossier.sections.performance import with_ci
from pipeline.evaluation.studies import RESOLUTION, Study
from pipeline.evidence.documents import Provenance
from pipeline.evidence.evaluation import (
    Mode,
    ResolutionResult,
    ResolutionStudy,
)

CHOSEN = " (this model)"


def rerun(study: Study) -> str:
    """The fix for an absent or stale study, as a reader of the dossier would type it."""
    return f"make study STUDY={study.key} ({study.script}), commit its JSON, then dvc repro"


def not_recorded(study: Study) -> dict[str, Any]:
    return {
        "recorded": False,
        "note": f"{NOT_RECORDED} (evaluation.json carries no {study.key}; {rerun(study)})",
    }


# What pipeline.provenance.data_md5 stamps when no data.dvc records the dataset version.
UNKNOWN_DATA = {None, "", "untracked", "unknown"}


def dataset_check(documents: Documents, study: Study, provenance: Provenance) -> dict[str, Any]:
    """Whether a study was run on the evaluated dataset (both DVC md5s, as provenance has them).

    Returns ``{}`` when the md5s are equal; the not-recorded entry, naming both md5s, when
    they differ (the study is then not shown as this data's evidence); ``{"dataset_warning":
    ...}`` when either md5 is unknown, so the study is shown labelled as unchecked.
    """
    ours, theirs = documents.evaluation.provenance.data_md5, provenance.data_md5
    if ours == theirs and ours not in UNKNOWN_DATA:
        return {}
    if ours in UNKNOWN_DATA or theirs in UNKNOWN_DATA:
        return {
            "dataset_warning": f"Warning: the {study.name} cannot be checked against this "
            f"evaluation's dataset (data md5 {fmt(theirs)} in the study, {fmt(ours)} here): "
            "it may not be evidence about this data."
        }
    return {
        "recorded": False,
        "note": f"not shown: the {study.name} was run on another dataset (data md5 {theirs}; "
        f"this evaluation's is {ours}), so it is no evidence about this data; {rerun(study)}",
    }


def study_check(documents: Documents, study: Study, document: Any) -> dict[str, Any]:
    """``not_recorded`` for an absent study, else ``dataset_check`` of its provenance."""
    if document is None:
        return not_recorded(study)
    return dataset_check(documents, study, document.provenance)


def evaluated_inline(documents: Documents) -> Mode:
    """The evaluated inline mode's evidence."""
    return documents.evaluation.modes.inline


def size_text(size: list[int] | None) -> str:
    """``[32, 384]`` -> ``32 x 384`` (height x width, as in section 4)."""
    if size is None or len(size) != 2:
        return NOT_RECORDED
    return f"{fmt(size[0])} x {fmt(size[1])}"


def working_size(documents: Documents) -> list[int]:
    """The evaluated inline detector's (height, width), as evaluate scored it."""
    return list(evaluated_inline(documents).working_resolution)


def resolution_rows(study: ResolutionStudy, chosen: list[int] | None) -> list[list[str]]:
    """Rows ``[size, val AUROC [CI], (reference AUROC [CI],) s/epoch, ms/image]``; the chosen
    size is marked; the reference column only when the study scored a reference set."""
    with_reference = has_reference(study)
    rows = []
    for result in study.results:
        mark = CHOSEN if chosen is not None and result.size() == list(chosen) else ""
        reference = [with_ci(result.reference_auroc, (result.reference_ci or {}).get("auroc"))]
        paired = [paired_text(result, study)]
        levels = [fmt(len(result.widths)) if result.widths else NOT_RECORDED]
        rows.append(
            [
                size_text(result.size()) + mark,
                *(levels if has_levels(study) else []),
                with_ci(result.val_auroc, result.val_ci.get("auroc")),
                *(reference if with_reference else []),
                *(paired if has_paired(study) else []),
                fmt(result.train_seconds_per_epoch, 2),
                fmt(result.inference_ms_per_image, 1),
                *([single_frame_text(result)] if has_single_frame(study) else []),
            ]
        )
    return rows


def has_single_frame(study: ResolutionStudy) -> bool:
    """Whether the study timed one raw frame at a time (the inline latency per size)."""
    return any(result.single_frame_p50_ms is not None for result in study.results)


def single_frame_text(result: ResolutionResult) -> str:
    """``p50 / p95`` ms of one raw frame through the inline path."""
    if result.single_frame_p50_ms is None:
        return NOT_RECORDED
    return f"{fmt(result.single_frame_p50_ms, 1)} / {fmt(result.single_frame_p95_ms, 1)}"


def has_paired(study: ResolutionStudy) -> bool:
    """Whether the study compared the sizes by the selection rule (paired differences)."""
    return study.selection is not None


def paired_text(result: ResolutionResult, study: ResolutionStudy) -> str:
    """The size's paired reference-AUROC difference to the fallback, with its interval."""
    if study.selection is not None and design_name(result.size()) == study.selection.fallback:
        return "fallback"
    if result.reference_difference is None:
        return NOT_RECORDED
    low, high = result.reference_diff_ci or (None, None)
    return f"{result.reference_difference:+.3f} [{low:+.3f}, {high:+.3f}]"


def design_name(size: list[int]) -> str:
    """``[32, 384]`` -> ``32x384``, how the study's selection names a size."""
    return f"{size[0]}x{size[1]}"


def design_text(name: str) -> str:
    """``32x384+64x768 max`` -> ``32 x 384 + 64 x 768 (max)``, for a reader."""
    sizes, _, fusion = name.partition(" ")
    text = " + ".join(part.replace("x", " x ") for part in sizes.split("+"))
    return f"{text} ({fusion})" if fusion else text


def two_scale_rows(study: ResolutionStudy) -> list[list[str]]:
    """Per two-scale design: name, reference AUROC [CI], paired difference [CI], summed p50."""
    rows = []
    for design in study.two_scale or []:
        low, high = design.reference_diff_ci
        rows.append(
            [
                design_text(design.design),
                with_ci(design.reference_auroc, design.reference_ci.get("auroc")),
                f"{design.reference_difference:+.3f} [{low:+.3f}, {high:+.3f}]",
                fmt(design.single_frame_p50_ms_sum, 1),
            ]
        )
    return rows


def not_run_note(study: ResolutionStudy, chosen: list[int] | None) -> str:
    """When the rule chose a design other than the model's: says so ('' otherwise)."""
    if study.selection is None or chosen is None:
        return ""
    if study.selection.choice == design_name(chosen):
        return ""
    return (
        f"The rule chose {design_text(study.selection.choice)}, but this model runs at "
        f"{size_text(chosen)}: the chosen design is measured here, not yet built into the "
        "training pipeline, so the model is the fallback."
    )


def selection_text(study: ResolutionStudy) -> str:
    """How the sizes were compared and what the rule chose, in words ('' without a rule)."""
    seeds = study.seeds()
    trained = (
        f"Every size was trained with {len(seeds)} seeds ({', '.join(map(str, seeds))}); the "
        "AUROCs are seed means and the timings means. "
        if seeds and len(seeds) > 1
        else ""
    )
    if study.selection is None:
        return trained
    chosen = study.selection
    return (
        f"{trained}The sizes were compared on the reference set by the project's selection rule "
        f"({chosen.rule}), with the working size of the training settings, "
        f"{design_text(chosen.fallback)}, as the fallback. Result: {chosen.reason}."
    )


def has_levels(study: ResolutionStudy) -> bool:
    """Whether the study records each size's encoder (it may deepen it at larger frames)."""
    return any(result.widths is not None for result in study.results)


def has_reference(study: ResolutionStudy) -> bool:
    """Whether the study scored an independent reference set."""
    return any(result.reference_auroc is not None for result in study.results)


def reference_type_rows(study: ResolutionStudy) -> list[list[str]]:
    """Per defect type, the reference-set AUROC at each size and of each two-scale design
    (empty without a reference set)."""
    if not has_reference(study):
        return []
    tables = [r.reference_per_type_auroc or {} for r in study.results]
    tables += [d.reference_per_type_auroc for d in study.two_scale or []]
    kinds = sorted({kind for table in tables for kind in table})
    return [[kind.replace("_", " "), *(fmt(table.get(kind)) for table in tables)] for kind in kinds]


def chosen_note(chosen: list[int] | None, rows: list[list[str]]) -> str:
    """Which row is this model's, in words (an auditor must see when none is)."""
    if chosen is None:
        return f"This model's working resolution is {NOT_RECORDED}, so no size is marked."
    if not any(row[0].endswith(CHOSEN) for row in rows):
        return f"This model runs at {size_text(chosen)}, which is not among the sizes studied."
    return f'This model runs at {size_text(chosen)} (marked "this model").'


def resolution_section(documents: Documents) -> dict[str, Any]:
    """The resolution study as a table, with the evaluated model's size marked."""
    study = documents.evaluation.resolution_study
    checked = study_check(documents, RESOLUTION, study)
    if study is None or checked.get("recorded") is False:
        return checked
    chosen = working_size(documents)
    rows = resolution_rows(study, chosen)
    return {
        "recorded": True,
        "detector": study.detector,
        "score": study.score,
        "split": study.split,
        "epochs_cap": fmt(study.epochs_cap()),
        "chosen_note": chosen_note(chosen, rows),
        "headers": [
            "Working size (H x W px)",
            *(["Encoder levels"] if has_levels(study) else []),
            "Val. AUROC [95 % CI]",
            *(["Reference-set AUROC [95 % CI]"] if has_reference(study) else []),
            *(["Paired difference to fallback [95 % CI]"] if has_paired(study) else []),
            "Training s/epoch",
            "Inference ms/image",
            *(["Single frame p50 / p95 ms"] if has_single_frame(study) else []),
        ],
        "rows": rows,
        "type_headers": [
            "Defect type",
            *(size_text(r.size()) for r in study.results),
            *(design_text(d.design) for d in study.two_scale or []),
        ],
        "two_scale_headers": [
            "Two-scale design (fusion)",
            "Reference-set AUROC [95 % CI]",
            "Paired difference to fallback [95 % CI]",
            "Single frame p50 ms (sum of both sizes)",
        ],
        "two_scale_rows": two_scale_rows(study),
        "not_run_note": not_run_note(study, chosen),
        "type_rows": reference_type_rows(study),
        "reference": _reference_text(study),
        "selection": selection_text(study),
        "dataset_warning": checked.get("dataset_warning", ""),
    }


def _reference_text(study: ResolutionStudy) -> str:
    """What the reference set was, in words ('' without one)."""
    reference = study.provenance.params.get("reference")
    if not has_reference(study) or not isinstance(reference, dict):
        return ""
    return (
        f"an independent synthetic reference set (generator settings of the embedded data, seed "
        f"{fmt(reference.get('synth_seed'))}; {fmt(reference.get('normal_events'))} normal and "
        f"{fmt(reference.get('defect_events'))} defective capture events, two views each)"
    )
