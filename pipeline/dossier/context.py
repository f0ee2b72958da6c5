"""``build_context``: the one function that turns a model version's evidence into the dossier's
context. Every number becomes text here; the templates only lay the text out.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.dossier.annex_iv import annex_iv_rows, standards_rows
from pipeline.dossier.criteria import judge
from pipeline.dossier.evidence import (
    INTENDED_USE,
    OPTIONAL_EVIDENCE,
    PROTOCOL,
    REQUIRED_EVIDENCE,
    TEXT_BLOCKS,
    Documents,
    EvidencePaths,
    MissingEvidenceError,
    evidence_digest,
    load_evidence,
    read_json,
    read_yaml,
)
from pipeline.dossier.formatting import NOT_RECORDED
from pipeline.dossier.junit import SOURCE_DIR, results_file
from pipeline.dossier.outline import outline
from pipeline.dossier.registers import AuditEntry, read_audit_log
from pipeline.dossier.sections import ceiling, data, records, residual, studies
from pipeline.dossier.sections import performance as perf
from pipeline.dossier.sections.capability import capability_section
from pipeline.dossier.sections.comparison import comparison_section
from pipeline.dossier.sections.thresholds import (
    gallery_scale_note,
    gallery_section,
    robustness_section,
    threshold_section,
)
from pipeline.dossier.sections.verification import verification_section
from pipeline.evidence import Evaluation, Mode
from pipeline.provenance import sha256_file
from pipeline.registry.protocol import load_protocol

MODES = ("inline", "monitoring")
REVIEWED = "restore it from git (a reviewed file under validation/)"


def build_context(
    paths: EvidencePaths,
    mode: str,
    *,
    system: str,
    default_model_name: str,
    gallery_per_kind: int = 4,
    champion: tuple[EvidencePaths, str] | None = None,
    compare: bool = False,
) -> dict[str, Any]:
    """Read every evidence file of one model version and pre-format the dossier's content.

    Args:
        paths: where the evidence, reviewed files and records are.
        mode: ``inline`` or ``monitoring``: the registered model this dossier is about.
        system: the system's name on the cover.
        default_model_name: registered name when ``registration.json`` is absent.
        gallery_per_kind: images shown per outcome (TP, FP, FN).
        champion: the current champion's evidence and its label (``name vN``), if any.
        compare: whether the comparison was asked for (``sealaudit dossier --compare``);
            without, the section names the command that makes it.

    Returns:
        The template context: nested dicts/lists of strings (and booleans for layout).

    Raises:
        MissingEvidenceError: a required file is absent; the message names it.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    documents = load_evidence(paths)
    reviewed = _reviewed_files(paths)
    files = digest_files(paths)
    entries = read_audit_log(paths.audit_log)
    identity = _identity(documents, mode, default_model_name)
    verdict = judge(documents, mode, paths.validation(PROTOCOL))
    miss_limits = verdict.pop("miss_limits")
    protocol = load_protocol(paths.validation(PROTOCOL))
    evaluation = documents.evaluation
    order = [mode, *(m for m in MODES if m != mode)]
    evaluate_dir = Path(paths.evidence_dir) / "evaluate"
    subject = f"{identity['model_name']} v{identity['version']} {mode}"
    digest = evidence_digest(files, subject)
    meta = {
        **identity,
        "system": system,
        "mode": mode,
        "mode_title": perf.MODE_TITLES[mode],
        "alias": records.alias_of(entries, identity["model_name"], identity["version"]),
        "date": _evidence_date(evaluation.provenance.git_commit),
        "dossier_id": f"DOS-{digest[:12].upper()}",
        "evidence_digest": digest,
        "generator": f"sealaudit {__version__}",
    }
    used = data.data_used(documents, reviewed["dataset"])
    intended_use = data.intended_use_section(reviewed[INTENDED_USE], _label(INTENDED_USE), used)
    high_risk = intended_use["classification"]["high_risk"]
    sections = outline(high_risk)
    return {
        "meta": meta,
        "verdict": verdict,
        "sections": sections,
        "compliance": {
            "annex_iv": annex_iv_rows(sections, high_risk),
            "standards": standards_rows(),
        },
        "intended_use": intended_use,
        "system": data.system_section(documents, mode),
        "data": data.data_section(documents, reviewed["dataset"], reviewed["data.dvc"]),
        "development": data.development_section(documents, paths),
        "performance": {
            "order": order,
            "titles": [perf.MODE_TITLES[m] for m in order],
            "summary": perf.summary_rows(evaluation.modes, order),
            "modes": [
                perf.mode_detail(m, _mode(evaluation, m), evaluate_dir, figures=m == mode)
                for m in order
            ],
            "baselines": perf.baselines_rows(evaluation),
            "paper": [
                {"title": perf.MODE_TITLES[m], "rows": perf.paper_rows(evaluation, m)}
                for m in order
            ],
            "paper_source": str(evaluation.paper_reference.get("source", "")),
            "ablation": perf.ablation_rows(evaluation),
            "resolution": studies.resolution_section(documents),
            "ceiling": ceiling.ceiling_section(documents),
            "comparison": _comparison(documents, mode, champion, compare, identity),
        },
        "thresholds": [
            threshold_section(m, _mode(evaluation, m), miss_limits.get(m)) for m in order
        ],
        "gallery": gallery_section(_mode(evaluation, mode), evaluate_dir, gallery_per_kind),
        "gallery_scale_note": gallery_scale_note(_mode(evaluation, mode)),
        "robustness": robustness_section(_mode(evaluation, mode)),
        "capability": capability_section(
            documents.capability, protocol, verdict["protocol"], mode, paths.evidence_dir
        ),
        "risk": residual.risk_section(
            reviewed["risk_register.yaml"], documents.capability, protocol, mode
        ),
        "oversight": records.reviewed_section(reviewed["oversight.yaml"], _label("oversight.yaml")),
        "monitoring": records.monitoring_section(
            documents.monitor_summary,
            reviewed["monitoring_plan.yaml"],
            _label("monitoring_plan.yaml"),
        ),
        "change_control": records.reviewed_section(
            reviewed["change_control.yaml"], _label("change_control.yaml")
        ),
        "traceability": _traceability(paths, documents, reviewed, identity, meta, entries),
        "verification": verification_section(
            paths.test_results,
            reviewed,
            protocol,
            verdict,
            documents.governance,
            files,
            _command(identity),
        ),
        "signing": records.signature_block(meta),
        "audit_trail": records.audit_trail(entries, identity["model_name"], identity["version"]),
        "annexes": {
            "attachments": [
                [attachment_name(k), k, sha256_file(files[k])[:16]] for k in sorted(files)
            ],
            "test_log": records.provenance_rows(documents, _evidence_files(paths)),
            "glossary": [
                [str(k), str(v)]
                for k, v in (reviewed["glossary.yaml"] or {}).items()
                if k not in ("document", "revision")
            ],
        },
    }


def _label(name: str) -> str:
    return f"validation/{name}"


def _reviewed_files(paths: EvidencePaths) -> dict[str, Any]:
    """Reviewed YAML files and dataset records; each missing one is an error naming it."""
    names = (INTENDED_USE, *TEXT_BLOCKS, "glossary.yaml")
    reviewed = {name: read_yaml(paths.validation(name), REVIEWED) for name in names}
    reviewed["dataset"] = read_json(paths.dataset_info, "regenerate or re-import the dataset")
    reviewed["data.dvc"] = read_yaml(paths.data_dvc, "run `dvc add data`")
    lock = Path(paths.dvc_lock)
    reviewed["dvc.lock"] = read_yaml(lock, "run `dvc repro`") if lock.is_file() else None
    return reviewed


def _evidence_files(paths: EvidencePaths) -> dict[str, Path]:
    keys = [*REQUIRED_EVIDENCE, *(k for k in OPTIONAL_EVIDENCE if paths.evidence(k).is_file())]
    return {key: paths.evidence(key) for key in keys}


def digest_files(paths: EvidencePaths) -> dict[str, Path]:
    """Everything the dossier states, by source name (``artifacts/evaluate/...``): hashed into
    the dossier id and attached to the PDF."""
    files = {
        f"artifacts/{path.relative_to(paths.evidence_dir).as_posix()}": path
        for path in _evidence_files(paths).values()
    }
    for name in (INTENDED_USE, PROTOCOL, *TEXT_BLOCKS, "glossary.yaml"):
        files[_label(name)] = paths.validation(name)
    files["data/dataset.json"] = Path(paths.dataset_info)
    files["data.dvc"] = Path(paths.data_dvc)
    if Path(paths.dvc_lock).is_file():
        files["dvc.lock"] = Path(paths.dvc_lock)
    if paths.test_results is not None:
        files[f"{SOURCE_DIR}/{Path(paths.test_results).name}"] = results_file(paths.test_results)
    return files


def attachment_name(source: str) -> str:
    """A flat, unique attachment name (``artifacts/evaluate/evaluation.json`` ->
    ``evaluate--evaluation.json``)."""
    return source.removeprefix("artifacts/").replace("/", "--")


def _mode(evaluation: Evaluation, mode: str) -> Mode:
    """A mode's evaluation; a dossier of a mode evaluate did not run is an error."""
    mode_doc = evaluation.modes.of(mode)
    if mode_doc is None:
        raise MissingEvidenceError(
            f"evaluation.json: modes.{mode} is null (evaluate ran without it); "
            "run `dvc repro evaluate` with both modes"
        )
    return mode_doc


def _identity(documents: Documents, mode: str, default_name: str) -> dict[str, Any]:
    # Absent by contract: registration.json (register did not run) or the mode's entry.
    registered = documents.registration.of(mode) if documents.registration else None
    if registered is None:
        return {
            "model_name": default_name,
            "version": "unregistered",
            "registered": False,
            "run_id": "not registered",
            "lineage_key": "not registered",
        }
    return {
        "model_name": str(registered.model_name),
        "version": str(registered.version),
        "registered": True,
        "run_id": str(registered.run_id),
        "lineage_key": str(registered.lineage_key),
    }


def _evidence_date(commit: Any) -> str:
    """The commit date of the code that produced the evidence (not the wall clock)."""
    if not commit or commit == "unknown":
        return NOT_RECORDED
    try:
        result = subprocess.run(
            ["git", "show", "-s", "--format=%cs", str(commit)],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return f"{NOT_RECORDED} (commit {str(commit)[:12]} not in this repository)"
    return result.stdout.strip() or NOT_RECORDED


def _command(identity: dict[str, Any]) -> str:
    """The command that renders this version's dossier with what only the registry holds."""
    version = "N" if identity["version"] == "unregistered" else identity["version"]
    return f"sealaudit dossier --model {identity['model_name']} --version {version}"


def _comparison(
    documents: Documents,
    mode: str,
    champion: tuple[EvidencePaths, str] | None,
    compare: bool,
    identity: dict[str, Any],
) -> dict[str, Any] | None:
    """The comparison; None when asked for but no other version holds the champion alias."""
    if not compare:
        return {"note": f"not part of this dossier; run `{_command(identity)} --compare`"}
    if champion is None:
        return None
    return comparison_section(documents, load_evidence(champion[0]), mode, champion[1])


def _no_audit_log(identity: dict[str, Any]) -> dict[str, Any]:
    """The pipeline's dossier reads no registry: the audit trail comes with the command's."""
    status = f"not part of this dossier; `{_command(identity)}` adds it from the registry"
    return {"present": False, "status": status, "rows": []}


def _traceability(
    paths: EvidencePaths,
    documents: Documents,
    reviewed: dict[str, Any],
    identity: dict[str, Any],
    meta: dict[str, Any],
    entries: list[AuditEntry],
) -> dict[str, Any]:
    """The lineage chain and the records behind it."""
    prov = documents.evaluation.provenance
    dirty = " (sources had uncommitted changes)" if prov.git_dirty else ""
    chain = [
        ["Source commit", f"{prov.git_commit}{dirty}"],
        ["Dataset (data.dvc md5)", str(data.data_out(reviewed["data.dvc"])["md5"])],
        [
            "Governance result",
            f"{'PASS' if documents.governance.success else 'FAIL'}, "
            f"governance.json sha256 {sha256_file(paths.evidence('governance'))[:16]}",
        ],
        ["MLflow run", identity["run_id"]],
        [
            "Model version",
            f"{identity['model_name']} v{identity['version']} "
            f"(lineage key {identity['lineage_key'][:16]})",
        ],
        [
            "Dossier",
            f"{meta['dossier_id']} (evidence sha256 {meta['evidence_digest'][:16]}); "
            f"PDF sha256 in {identity['model_name']}-v{identity['version']}.pdf.sha256",
        ],
    ]
    return {
        "chain": chain,
        "dvc_lock": records.dvc_lock_rows(reviewed["dvc.lock"]),
        "dvc_lock_present": reviewed["dvc.lock"] is not None,
        "audit": records.audit_section(paths, entries, identity["model_name"])
        if paths.audit_log is not None
        else _no_audit_log(identity),
    }
