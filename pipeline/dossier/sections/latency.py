"""Latency and hardware of section 4, from ``benchmarks/inline_latency.py``'s evidence.

``evaluate`` carries the benchmark's JSON verbatim as ``inline_latency`` (``--latency-study``),
like the other studies; the figures count for this model only when the benchmark measured the
same dataset version (``provenance.data_md5``) and the same working resolution.
"""

from __future__ import annotations

from typing import Any

from pipeline.dossier.evidence import Documents
from pipeline.dossier.formatting import NOT_RECORDED, fmt
from pipeline.dossier.sections.studies import UNKNOWN_DATA, rerun, size_text
from pipeline.evaluation.studies import LATENCY

NO_BENCHMARK = f"{NOT_RECORDED} (evaluation.json carries no {LATENCY.key}; {rerun(LATENCY)})"


def latency_facts(documents: Documents, mode: str) -> dict[str, str]:
    """``{"latency", "hardware"}`` as text for the dossier's system description."""
    study = documents.evaluation.inline_latency
    if mode != "inline":
        note = f"{NOT_RECORDED} for the monitoring mode (benchmarks/monitor_latency.py prints it)"
        return {"latency": note, "hardware": note}
    if study is None:
        return {"latency": NO_BENCHMARK, "hardware": NO_BENCHMARK}
    mismatch = _mismatch(documents, study)
    if mismatch:
        return {"latency": mismatch, "hardware": mismatch}
    return {"latency": _latency_text(study), "hardware": _hardware_text(study)}


def _mismatch(documents: Documents, study: dict[str, Any]) -> str:
    """Why the benchmark's figures are not this model's ('' when they are)."""
    ours = documents.evaluation.provenance.data_md5
    theirs = (study.get("provenance") or {}).get("data_md5")
    if theirs in UNKNOWN_DATA or ours in UNKNOWN_DATA or theirs != ours:
        return (
            f"{NOT_RECORDED} for this data: the benchmark ran with data md5 {fmt(theirs)}, "
            f"this evaluation with {fmt(ours)}; {rerun(LATENCY)}"
        )
    size = list(documents.evaluation.modes.inline.working_resolution)
    if list(study.get("working_resolution") or []) != size:
        return (
            f"{NOT_RECORDED} at this model's working size {size_text(size)} (the benchmark "
            f"measured {size_text(study.get('working_resolution'))}); {rerun(LATENCY)}"
        )
    return ""


def _latency_text(study: dict[str, Any]) -> str:
    text = (
        f"{fmt(study.get('latency_single_p50_ms'), 1)} ms median, "
        f"{fmt(study.get('latency_single_p95_ms'), 1)} ms 95th percentile per image "
        f"(reconstruction and score, one image at a time, {fmt(study.get('threads'))} threads)"
    )
    if study.get("end_to_end_p50_ms") is not None:
        text += (
            f"; {fmt(study['end_to_end_p50_ms'], 1)} ms median, "
            f"{fmt(study.get('end_to_end_p95_ms'), 1)} ms 95th percentile from a raw frame to "
            "the decision (alignment included)"
        )
    if study.get("end_to_end_with_heatmap_p50_ms") is not None:
        text += f", {fmt(study['end_to_end_with_heatmap_p50_ms'], 1)} ms median with the heatmap"
    if study.get("throughput_batched_images_per_s") is not None:
        text += f"; {fmt(study['throughput_batched_images_per_s'], 0)} images/s batched"
    return text + f"; measured by {LATENCY.script}"


def _hardware_text(study: dict[str, Any]) -> str:
    machine = study.get("hardware")
    if not machine:
        return f"{NOT_RECORDED} (the benchmark predates hardware records; {rerun(LATENCY)})"
    return (
        f"{machine.get('cpu')} ({fmt(machine.get('logical_cpus'))} logical CPUs, "
        f"{machine.get('system')}), device {machine.get('device')}, "
        f"{fmt(machine.get('torch_threads'))} torch threads"
    )
