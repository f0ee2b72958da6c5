"""Context section 7, the two benchmark studies ``evaluate`` carries verbatim in its evidence.

``resolution_study`` (``benchmarks/resolution_study.py``) says why the model runs at its
working resolution; ``detectability_ceiling`` (``benchmarks/detectability_ceiling.py``) says
how far the inline detector is from what a supervised detector reaches on the same test split.
Either may be null in ``evaluation.json``: the section then says ``not recorded``. A study
run on another dataset (its ``provenance.data_md5`` is not the evaluation's) is no evidence
about this data: the section says so instead of showing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.dossier.evidence import Documents
from pipeline.dossier.formatting import NOT_RECORDED, fmt, fmt_signed
from pipeline.dossier.sections.performance import with_ci
from pipeline.evaluation.studies import CEILING, RESOLUTION, Study
from pipeline.evidence.documents import Provenance
from pipeline.evidence.evaluation import (
    CeilingStudy,
    CeilingTest,
    InlineFigures,
    Mode,
    ResolutionStudy,
)

# The study scores the inline detector with evaluate's own scorer on the same test split, so
# the same checkpoint gives the same AUROC up to float rounding.
SAME_AUROC = 1e-6
CHOSEN = " (chosen)"


@dataclass(frozen=True)
class InlineColumn:
    """The inline detector's figures set beside the ceiling: this evaluation's own, or the
    study's copy (``auroc_ci`` [low, high], None when not recorded)."""

    detector: str
    auroc: float
    auroc_ci: list[float] | None
    per_type_auroc: dict[str, float]

    @classmethod
    def of_study(cls, figures: InlineFigures) -> InlineColumn:
        """The study's copy of the inline figures (which can go stale)."""
        return cls(figures.detector, figures.auroc, figures.auroc_ci, figures.per_type_auroc)


def rerun(study: Study) -> str:
    """The fix for an absent or stale study, as a reader of the dossier would type it."""
    return f"make study STUDY={study.key} ({study.script}), commit its JSON, then dvc repro"


def _not_recorded(study: Study) -> dict[str, Any]:
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
    """Rows ``[size, val AUROC [CI], s/epoch, ms/image]``; the chosen size is marked."""
    rows = []
    for result in study.results:
        mark = CHOSEN if chosen is not None and result.size() == list(chosen) else ""
        rows.append(
            [
                size_text(result.size()) + mark,
                with_ci(result.val_auroc, result.val_ci.get("auroc")),
                fmt(result.train_seconds_per_epoch, 2),
                fmt(result.inference_ms_per_image, 1),
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


def resolution_section(documents: Documents) -> dict[str, Any]:
    """The resolution study as a table, with the evaluated model's size marked."""
    study = documents.evaluation.resolution_study
    if study is None:
        return _not_recorded(RESOLUTION)
    checked = dataset_check(documents, RESOLUTION, study.provenance)
    if checked.get("recorded") is False:
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
        "rows": rows,
        "dataset_warning": checked.get("dataset_warning", ""),
    }


def ceiling_rows(test: CeilingTest, inline: InlineColumn | None) -> list[list[str]]:
    """Rows ``[defect type, ceiling AUROC, inline AUROC, inline - ceiling]``, then overall."""
    ceiling_by = test.per_type_auroc
    inline_by = inline.per_type_auroc if inline else {}
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
    overall = inline.auroc if inline else None
    rows.append(
        [
            "All defect types",
            with_ci(test.auroc, test.auroc_ci),
            with_ci(overall, inline.auroc_ci if inline else None),
            _gap(overall, test.auroc),
        ]
    )
    return rows


def _gap(inline_auroc: float | None, ceiling_auroc: float | None) -> str:
    """``inline - ceiling`` with its sign; a dash when either is missing."""
    if inline_auroc is None or ceiling_auroc is None:
        return "\u2014"
    return fmt_signed(inline_auroc - ceiling_auroc)


def evaluated_checkpoint_sha256(documents: Documents) -> str | None:
    """The sha256 of the evaluated inline detector's checkpoint, where the evidence has it.

    ``evaluation.json`` does not record it; ``monitor_summary.json`` does, for the checkpoint
    ``fit_monitor`` loaded from the same ``artifacts/train`` that ``evaluate`` scored (DVC
    reruns both when training changes), so it counts only when it names the same detector.
    """
    summary = documents.monitor_summary
    sha256 = summary.checkpoint.get("sha256")
    if not sha256 or summary.detector != evaluated_inline(documents).detector:
        return None
    return str(sha256)


def stale_inline_warning(documents: Documents, inline: InlineFigures) -> str:
    """Why the study's inline figures may belong to another model version ('' when they don't).

    The checkpoint sha256 decides when the evidence records the evaluated one; otherwise the
    overall inline AUROC, which the study measures with ``evaluate``'s scorer on the same test
    split, must equal this evaluation's.
    """
    ours, theirs = evaluated_checkpoint_sha256(documents), inline.checkpoint_sha256
    if ours:
        if ours == theirs:
            return ""
        return (
            f"Warning: the study scored the inline checkpoint with sha256 {theirs[:12]}, "
            f"not the evaluated one ({ours[:12]}, fit_monitor/monitor_summary.json): its inline "
            f"figures come from another model version; {rerun(CEILING)}."
        )
    evaluated, studied = evaluated_inline(documents).ranking.auroc, inline.auroc
    if abs(evaluated - studied) <= SAME_AUROC:
        return ""
    return (
        f"Warning: the study's overall inline AUROC {fmt(studied, 6)} differs from this "
        f"evaluation's {fmt(evaluated, 6)}: its inline figures come from another model version; "
        f"{rerun(CEILING)}."
    )


def evaluated_inline_figures(documents: Documents) -> InlineColumn | None:
    """The evaluated inline mode's own AUROC, overall and per defect type (None when its
    evidence predates per-type AUROC): preferred to the study's copy, which can go stale."""
    inline = evaluated_inline(documents)
    per_type = {
        str(kind): facts["auroc"]
        for kind, facts in inline.per_defect_type.items()
        if facts.get("auroc") is not None
    }
    if not per_type:
        return None
    ranking = inline.ranking
    return InlineColumn(inline.detector, ranking.auroc, ranking.ci.get("auroc"), per_type)


def working_size_warning(documents: Documents, study: CeilingStudy) -> str:
    """Why the ceiling may not apply to this model: it was measured at another working size."""
    ours, theirs = working_size(documents), study.working_size
    if list(ours) == list(theirs):
        return ""
    return (
        f"Warning: the ceiling was measured at {size_text(theirs)}, this model runs at "
        f"{size_text(ours)}; {rerun(CEILING)}."
    )


def inline_column(documents: Documents, study: CeilingStudy) -> tuple[InlineColumn | None, str]:
    """The inline column and the warning that goes with it.

    The column is this evaluation's own figures; only evidence from before evaluate recorded
    per-type AUROC falls back to the study's copy, checked for staleness.
    """
    warning = working_size_warning(documents, study)
    own = evaluated_inline_figures(documents)
    if own is not None or study.inline_detector is None:
        return own, warning
    stale = stale_inline_warning(documents, study.inline_detector)
    warning = " ".join(part for part in (warning, stale) if part)
    return InlineColumn.of_study(study.inline_detector), warning


def ceiling_section(documents: Documents) -> dict[str, Any]:
    """The detectability ceiling next to the inline detector, per defect type and overall."""
    study = documents.evaluation.detectability_ceiling
    if study is None:
        return _not_recorded(CEILING)
    checked = dataset_check(documents, CEILING, study.provenance)
    if checked.get("recorded") is False:
        return checked
    reference, test = study.reference, study.test
    inline, warning = inline_column(documents, study)
    return {
        "recorded": True,
        "defective_images": fmt(reference.defective_images),
        "defect_events": fmt(reference.defect_events),
        "images": fmt(reference.images),
        "synth_seed": fmt(reference.synth_seed),
        "working_size": size_text(study.working_size),
        "chosen_epoch": fmt(study.chosen_epoch),
        "epochs": fmt(len(study.history) or None),
        "n_normal": fmt(test.n_normal),
        "n_defective": fmt(test.n_defective),
        "inline_recorded": inline is not None,
        "inline_detector": inline.detector if inline else NOT_RECORDED,
        "rows": ceiling_rows(test, inline),
        "warning": warning,
        "inline_above_ceiling": inline is not None and inline.auroc > test.auroc,
        "dataset_warning": checked.get("dataset_warning", ""),
    }
