"""Context of the detectability ceiling (``benchmarks/detectability_ceiling.py``) in section 7.

The study trains a supervised CNN at one or more working sizes, several seeds each, and
records per size the test-split AUROC per defect type and, on the challenge set, a90/95 per
protocol requirement. The section sets those beside the evaluated inline detector: its own
test AUROC (``evaluation.json``) and its a90/95 (``capability.json``, when present). Two gaps
follow per defect type: inline minus the ceiling at the inline detector's own working size
(what the method loses) and the ceiling at the largest size minus the one at the working size
(what the working resolution loses).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.dossier.evidence import Documents
from pipeline.dossier.formatting import NOT_RECORDED, fmt, fmt_pct, fmt_signed
from pipeline.dossier.sections.capability import defect_text
from pipeline.dossier.sections.capability import size_text as a90_text
from pipeline.dossier.sections.performance import with_ci
from pipeline.dossier.sections.studies import (
    evaluated_inline,
    rerun,
    size_text,
    study_check,
    working_size,
)
from pipeline.evaluation.studies import CEILING
from pipeline.evidence.evaluation import CeilingSize, CeilingStudy, InlineFigures, Spread

DASH = "\u2014"
# The study scores the inline detector with evaluate's own scorer on the same test split, so
# the same checkpoint gives the same AUROC up to float rounding.
SAME_AUROC = 1e-6


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


def inline_column(documents: Documents, study: CeilingStudy) -> tuple[InlineColumn | None, str]:
    """The inline column and the warning that goes with it.

    The column is this evaluation's own figures; only evidence from before evaluate recorded
    per-type AUROC falls back to the study's copy, checked for staleness.
    """
    own = evaluated_inline_figures(documents)
    if own is not None or study.inline_detector is None:
        return own, ""
    stale = stale_inline_warning(documents, study.inline_detector)
    return InlineColumn.of_study(study.inline_detector), stale


def spread_text(spread: Spread | None) -> str:
    """``0.913 [0.902, 0.921]``: the mean over seeds and their range."""
    if spread is None or spread.mean is None:
        return NOT_RECORDED
    if spread.min == spread.max:
        return fmt(spread.mean)
    return f"{fmt(spread.mean)} [{fmt(spread.min)}, {fmt(spread.max)}]"


def _mean(spread: Spread | None) -> float | None:
    return None if spread is None else spread.mean


def _gap(first: float | None, second: float | None) -> str:
    """``first - second`` with its sign; a dash when either is missing."""
    if first is None or second is None:
        return DASH
    return fmt_signed(first - second)


def auroc_rows(
    study: CeilingStudy, inline: InlineColumn | None, chosen: list[int]
) -> list[list[str]]:
    """Per defect type, then overall: the ceiling at each size (mean [range over seeds]), the
    inline AUROC, inline minus the ceiling at its working size, and the resolution's cost (the
    ceiling at the largest size minus the one at the working size)."""
    own, largest = study.at_size(chosen), study.sizes[-1] if study.sizes else None
    inline_by = inline.per_type_auroc if inline else {}
    kinds = sorted({k for s in study.sizes for k in s.summary.per_type_auroc} | set(inline_by))
    rows = []
    for kind in kinds:
        at_own = _mean(own.summary.per_type_auroc.get(kind)) if own else None
        at_largest = _mean(largest.summary.per_type_auroc.get(kind)) if largest else None
        rows.append(
            [
                kind.replace("_", " "),
                *(spread_text(s.summary.per_type_auroc.get(kind)) for s in study.sizes),
                fmt(inline_by.get(kind)),
                _gap(inline_by.get(kind), at_own),
                _gap(at_largest, at_own) if largest is not own else DASH,
            ]
        )
    overall_own = _mean(own.summary.test_auroc) if own else None
    overall_largest = _mean(largest.summary.test_auroc) if largest else None
    rows.append(
        [
            "All defect types",
            *(spread_text(s.summary.test_auroc) for s in study.sizes),
            with_ci(inline.auroc, inline.auroc_ci) if inline else NOT_RECORDED,
            _gap(inline.auroc if inline else None, overall_own),
            _gap(overall_largest, overall_own) if largest is not own else DASH,
        ]
    )
    return rows


def capability_rows(study: CeilingStudy, documents: Documents) -> list[list[str]]:
    """Per protocol requirement: the required a90/95, the ceiling's at each size and the
    inline detector's at its operating threshold (``capability.json``)."""
    if not study.sizes or not study.sizes[0].summary.a90_95:
        return []
    inline = documents.capability.modes.inline if documents.capability else None
    rows = []
    for requirement_id, defect_type, form in requirement_order(study):
        spread = study.sizes[0].summary.a90_95.get(requirement_id)
        if spread is None:
            continue
        measured = inline.requirement(requirement_id) if inline else None
        rows.append(
            [
                f"{requirement_id} ({defect_text(defect_type, form)})",
                a90_text(spread.required, spread.unit),
                *(_size_a90(size, requirement_id) for size in study.sizes),
                _inline_a90(measured) if inline else NOT_RECORDED,
            ]
        )
    return rows


def requirement_order(study: CeilingStudy) -> list[tuple[str, str, str | None]]:
    """(id, defect type, form) of each requirement in the protocol's order, as judged."""
    for size in study.sizes:
        for run in size.runs:
            if run.challenge is not None:
                return [(r.id, r.defect_type, r.form) for r in run.challenge.requirements]
    return []


def _size_a90(size: CeilingSize, requirement_id: str) -> str:
    spread = size.summary.a90_95.get(requirement_id)
    if spread is None:
        return NOT_RECORDED
    n_seeds = size.summary.n_seeds
    met = f"met {spread.n_passed}/{n_seeds}"
    if spread.mean is None:
        return f"not demonstrated ({met})"
    missing = f"; not demonstrated in {spread.n_undefined}" if spread.n_undefined else ""
    return f"{a90_text(spread.mean, spread.unit)} ({met}{missing})"


def _inline_a90(row: Any) -> str:
    if row is None:
        return NOT_RECORDED
    if row.a90_95 is None:
        return "not demonstrated"
    return a90_text(row.a90_95, row.unit) + (" (met)" if row.passed else "")


def fact_rows(study: CeilingStudy) -> list[list[str]]:
    """Per size: the network, the seeds, the chosen epochs, the training time and the
    threshold's false rejects on the threshold set and on the challenge set (per seed)."""
    facts = []
    for size in study.sizes:
        runs = size.runs
        minutes = [run.train_seconds / 60.0 for run in runs]
        threshold = [run.threshold for run in runs]
        facts.append(
            [
                size_text(size.working_size),
                size.frame,
                fmt(size.stem_levels),
                fmt(size.parameters),
                seeds_text([run.seed for run in runs], size.pending_seeds),
                ", ".join(fmt(run.chosen_epoch) for run in runs),
                ", ".join(fmt(m, 1) for m in minutes),
                ", ".join(f"{fmt(t.n_rejected)}/{fmt(t.n_events)}" for t in threshold),
                ", ".join(_challenge_false_rejects(run) for run in runs),
            ]
        )
    return facts


def seeds_text(finished: list[int], pending: list[int]) -> str:
    """``0, 1, 2``, or ``0 (1, 2 pending)`` for a study still running in pieces."""
    text = ", ".join(fmt(seed) for seed in finished)
    if pending:
        text += f" ({', '.join(fmt(seed) for seed in pending)} pending)"
    return text


def pending_note(study: CeilingStudy) -> str:
    """Which sizes rest on fewer seeds than asked for ('' when none)."""
    parts = [
        f"at {size_text(s.working_size)} on {fmt(len(s.runs))} of "
        f"{fmt(len(s.runs) + len(s.pending_seeds))} seeds"
        for s in study.sizes
        if s.pending_seeds
    ]
    if not parts:
        return ""
    return (
        "The study is running in pieces: its figures rest "
        + "; ".join(parts)
        + f" (the others pending; {rerun(CEILING)} completes it)."
    )


def _challenge_false_rejects(run: Any) -> str:
    if run.challenge is None:
        return NOT_RECORDED
    rejects = run.challenge.false_reject
    return f"{fmt(rejects.get('n_rejected'))}/{fmt(rejects.get('n_events'))}"


def working_size_warning(chosen: list[int], study: CeilingStudy) -> str:
    """Why the method's gap cannot be read: no ceiling was measured at the model's size."""
    if study.at_size(chosen) is not None:
        return ""
    measured = ", ".join(size_text(s.working_size) for s in study.sizes)
    return (
        f"Warning: the ceiling was measured at {measured}, this model runs at "
        f"{size_text(chosen)}: the inline-minus-ceiling column is not recorded; {rerun(CEILING)}."
    )


def ceiling_section(documents: Documents) -> dict[str, Any]:
    """The detectability ceiling per working size next to the inline detector: AUROC per defect
    type on the test split, a90/95 per requirement on the challenge set."""
    study = documents.evaluation.detectability_ceiling
    checked = study_check(documents, CEILING, study)
    if study is None or checked.get("recorded") is False:
        return checked
    chosen = working_size(documents)
    inline, stale = inline_column(documents, study)
    warning = " ".join(part for part in (working_size_warning(chosen, study), stale) if part)
    own = study.at_size(chosen)
    reference, schedule = study.reference, study.schedule
    sizes = [size_text(s.working_size) for s in study.sizes]
    return {
        "recorded": True,
        "defective_images": fmt(reference.defective_images),
        "defect_events": fmt(reference.defect_events),
        "images": fmt(reference.images),
        "synth_seed": fmt(reference.synth_seed),
        "sizes": " and ".join(sizes),
        "auroc_headers": [
            "Defect type",
            *(f"Ceiling at {size}" for size in sizes),
            f"Inline AUROC ({size_text(chosen)})",
            "Inline minus ceiling",
            f"Ceiling at {sizes[-1]} minus at {size_text(chosen)}" if sizes else DASH,
        ],
        "a90_headers": [
            "Requirement",
            "Required a90/95",
            *(f"Ceiling at {size}" for size in sizes),
            "Inline a90/95",
        ],
        "inline_size": size_text(chosen),
        "epochs": fmt(schedule.get("epochs")),
        "warmup_epochs": fmt(schedule.get("warmup_epochs")),
        "threshold_events": fmt(study.threshold_set.get("normal_events")),
        "threshold_target": fmt_pct(study.threshold_set.get("false_reject_target")),
        "fact_rows": fact_rows(study),
        "pending": pending_note(study),
        "inline_recorded": inline is not None,
        "inline_detector": inline.detector if inline else NOT_RECORDED,
        "rows": auroc_rows(study, inline, chosen),
        "capability_rows": capability_rows(study, documents),
        "warning": warning,
        "inline_above_ceiling": bool(
            inline
            and own
            and own.summary.test_auroc.mean is not None
            and inline.auroc > own.summary.test_auroc.mean
        ),
        "dataset_warning": checked.get("dataset_warning", ""),
    }
