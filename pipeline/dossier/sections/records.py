"""Context sections 11-16, the signature block and the audit trail: plans, lineage, records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.dossier.blocks import blocks, control_line, find_key
from pipeline.dossier.evidence import Documents, EvidencePaths
from pipeline.dossier.formatting import NOT_RECORDED, fmt, fmt_value, humanize
from pipeline.dossier.registers import AuditEntry, Hazard, hazards
from pipeline.evidence import MonitorSummary
from pipeline.provenance import sha256_file
from pipeline.registry.audit import MEANINGS, verify_log

ALIAS_ACTIONS = ("promote", "rollback")  # entries whose version is where the alias now points


def risk_section(register: dict[str, Any], label: str) -> dict[str, Any]:
    """The ISO 14971 table: hazard -> situation -> harm -> controls -> residual risk."""
    rows = [
        {
            "id": item.id,
            "hazard": item.hazard,
            "situation": item.hazardous_situation,
            "harm": item.harm,
            "initial": f"S{item.severity} / P{item.probability}",
            "controls": [str(c) for c in item.controls],
            "verification": [str(v) for v in item.verification],
            "residual": _residual(item),
        }
        for item in hazards(register, label)
    ]
    return {
        "control": control_line(register, label),
        "rows": rows,
        "blocks": blocks(register, skip=("hazards", "benefit_risk")),
        "benefit_risk": str(register.get("benefit_risk", NOT_RECORDED)),
    }


def _residual(item: Hazard) -> str:
    return f"S{item.severity} / P{item.residual_probability} \u2014 {item.residual_risk}"


def reviewed_section(content: Any, label: str) -> dict[str, Any]:
    """A reviewed text file (oversight, change control) as generic blocks."""
    return {"control": control_line(content, label), "blocks": blocks(content)}


def monitoring_section(summary: MonitorSummary, plan: Any, label: str) -> dict[str, Any]:
    """The fitted monitor's reference distribution and control limits, with the plan."""
    limits = find_key(summary.reference, "limit") or {}
    return {
        "estimator": [
            ["Feature layer", fmt(summary.layer)],
            ["Kept feature dimensions", fmt(summary.n_features_kept)],
            ["Covariance estimator", fmt_value(summary.covariance)],
        ],
        "reference": [
            [humanize(k), fmt_value(v)]
            for k, v in summary.reference.items()
            if not isinstance(v, dict)
        ],
        "limits": [[humanize(k), fmt_value(v)] for k, v in limits.items()],
        "plan": reviewed_section(plan, label),
    }


def model_entries(entries: list[AuditEntry], model_name: str) -> list[AuditEntry]:
    """Audit entries of one registered model, in log order."""
    return [e for e in entries if e.model_name == model_name]


def alias_of(entries: list[AuditEntry], model_name: str, version: str) -> str:
    """The registry alias this version holds according to the audit log."""
    moves = [e for e in model_entries(entries, model_name) if e.action in ALIAS_ACTIONS]
    holding: dict[str, str] = {}
    for entry in moves:
        holding[entry.alias or "champion"] = str(entry.version)
    held = sorted(alias for alias, held_by in holding.items() if held_by == str(version))
    return ", ".join(held) if held else "none"


# What each hand signature on the printout means (21 CFR 11.50(a)(3)); our wording.
SIGNATURE_MEANINGS = {
    "authored": "I prepared this dossier from the evidence it names.",
    "reviewed": "I reviewed the evidence and this dossier against the protocol.",
    "approved": "I approve this model version for its intended use on the verdict stated.",
}
UNSIGNED = "UNSIGNED DRAFT \u2014 not a record"


def signature_block(meta: dict[str, Any]) -> dict[str, Any]:
    """The hand-signature block: one row per meaning, bound to this dossier's identity.

    The PDF's own sha256 exists only after rendering (``<stem>.pdf.sha256``), so the block
    binds to what is known at render time, the dossier id and the evidence sha256, and leaves
    a field for the PDF's sha256 to be copied by the signer.
    """
    stem = f"{meta['model_name']}-v{meta['version']}"
    return {
        "banner": UNSIGNED,
        "binding": f"Dossier {meta['dossier_id']}, evidence sha256 {meta['evidence_digest']}",
        "sidecar": f"{stem}.pdf.sha256",
        "rows": [{"meaning": m, "text": SIGNATURE_MEANINGS[m]} for m in MEANINGS],
    }


def audit_trail(entries: list[AuditEntry], model_name: str, version: str) -> list[list[str]]:
    """The registry's alias moves for this version (21 CFR 11.10(e) audit trail): records of
    who moved an alias, not signatures of this dossier."""
    return [
        [
            fmt(e.seq),
            e.signed_at,
            f"{e.action} {e.alias or 'champion'}",
            e.signer,
            e.role or NOT_RECORDED,
            e.meaning,
            e.hash[:12],
        ]
        for e in model_entries(entries, model_name)
        if str(e.version) == str(version) and e.action in ALIAS_ACTIONS
    ]


def audit_section(
    paths: EvidencePaths, entries: list[AuditEntry], model_name: str
) -> dict[str, Any]:
    """Audit-log excerpt of this model and whether the hash chain verifies."""
    if paths.audit_log is None or not Path(paths.audit_log).is_file():
        return {
            "present": False,
            "status": "no registry audit log yet (nothing promoted)",
            "rows": [],
        }
    report = verify_log(Path(paths.audit_log))
    status = (
        f"hash chain intact, {report.entries} entries"
        if report.ok
        else (f"BROKEN: {report.problems[0]}")
    )
    rows = [
        [fmt(e.seq), e.signed_at, e.action, f"v{e.version}", e.signer, e.meaning, e.hash[:12]]
        for e in model_entries(entries, model_name)
    ]
    return {"present": True, "status": status, "rows": rows}


def provenance_rows(documents: Documents, files: dict[str, Path]) -> list[list[str]]:
    """The test log: each evidence file with its stage, commit, data version, seed and sha256."""
    rows = []
    for key, doc in documents.present().items():
        if key not in files:
            continue
        # metrics.json and thresholds.json carry no provenance.
        prov = getattr(doc, "provenance", None)
        facts = (
            ["", NOT_RECORDED, NOT_RECORDED, None]
            if prov is None
            else [
                " (sources dirty)" if prov.git_dirty else "",
                str(prov.git_commit),
                str(prov.data_md5),
                prov.seed,
            ]
        )
        rows.append(
            [
                key if prov is None else str(prov.stage),
                files[key].name,
                str(facts[1])[:12] + str(facts[0]),
                str(facts[2])[:12],
                fmt(facts[3]),
                sha256_file(files[key])[:16],
            ]
        )
    return rows


def dvc_lock_rows(lock: Any) -> list[list[str]]:
    """Each locked stage with its outputs' md5 (the DVC audit record)."""
    rows = []
    for stage, entry in ((lock or {}).get("stages") or {}).items():
        outs = entry.get("outs") or []
        text = "; ".join(f"{o.get('path')} {str(o.get('md5', ''))[:12]}" for o in outs) or "none"
        rows.append([stage, text])
    return rows
