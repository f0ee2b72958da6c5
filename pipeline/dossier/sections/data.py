"""Context sections 3-6: intended use, system description, data governance, development."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.dossier.blocks import blocks, control_line, find_key
from pipeline.dossier.evidence import EvidencePaths
from pipeline.dossier.figures import figure
from pipeline.dossier.formatting import NOT_RECORDED, fmt, fmt_sig, fmt_value, humanize

SPLIT_ORDER = ("train", "val", "test", "stream")


def intended_use_section(intended_use: Any, label: str) -> dict[str, Any]:
    """Intended use as generic blocks, plus the user's high-risk classification if stated."""
    classification = find_key(intended_use, "classif", "high_risk", "risk_class")
    return {
        "control": control_line(intended_use, label),
        "blocks": blocks(intended_use),
        "classification": fmt_value(classification) if classification is not None else None,
    }


def models_of(train_summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per-model training facts (``train_summary.json`` ``models``)."""
    return dict(train_summary["models"])


def system_section(documents: dict[str, Any], mode: str) -> dict[str, Any]:
    """Architecture facts, inputs/outputs, hardware, software bill of materials, size."""
    evaluation = documents["evaluation"]
    mode_doc = evaluation["modes"][mode]
    models = models_of(documents["train_summary"])
    detector = models[mode_doc["detector"]]
    versions = evaluation["provenance"]["package_versions"]
    return {
        "detector": str(mode_doc["detector"]),
        "score": str(mode_doc["score"]),
        "score_calibration": seal_path_text(mode_doc.get("seal_path")),
        "input": f"{fmt(detector['image_height'])} x {fmt(detector['image_width'])} px, "
        "8-bit grayscale seal-band crop",
        "roi_kind": fmt(detector["roi_kind"]),
        "parameters": f"{detector['parameters']:,}",
        # Neither is recorded by any stage (latency is measured in benchmarks/).
        "hardware": NOT_RECORDED,
        "latency": NOT_RECORDED,
        "sbom": _columns([[n, str(v)] for n, v in sorted(versions.items())], 3),
        "sbom_consistent": _versions_consistent(documents),
    }


def seal_path_text(seal_path: dict[str, Any] | None) -> str:
    """The cross-seal path map's fitted calibration in words ('' for a score without it)."""
    if not seal_path:
        return ""
    calibration = seal_path.get("calibration") or {}
    offset = calibration.get("offset")
    sign, size = ("-", -offset) if isinstance(offset, int | float) and offset < 0 else ("+", offset)
    return (
        f"path map x {fmt(calibration.get('gain'), 3)} {sign} {fmt(size, 4)} "
        f"(4-MS-SSIM heatmap units), fitted on {fmt(seal_path.get('n_images'))} normal "
        f"training images; shear up to {fmt(seal_path.get('max_drift_px'))} columns, "
        f"high-pass {fmt(seal_path.get('highpass_px'))} columns"
    )


def _columns(pairs: list[list[str]], per_row: int) -> list[list[str]]:
    """Flow ``[name, value]`` pairs into rows of ``per_row`` pairs (a compact table)."""
    rows = []
    for start in range(0, len(pairs), per_row):
        chunk = pairs[start : start + per_row]
        chunk += [["", ""]] * (per_row - len(chunk))
        rows.append([cell for pair in chunk for cell in pair])
    return rows


def _versions_consistent(documents: dict[str, Any]) -> str:
    """Whether every stage ran with the same package versions (a mixed run is a finding)."""
    seen = {}
    for key, doc in documents.items():
        if isinstance(doc, dict) and isinstance(doc.get("provenance"), dict):
            seen[key] = doc["provenance"].get("package_versions")
    distinct = {repr(sorted((v or {}).items())) for v in seen.values()}
    if len(distinct) <= 1:
        return f"identical in all {len(seen)} evidence files"
    return f"DIFFERENT across evidence files ({', '.join(sorted(seen))}): review before release"


def data_section(documents: dict[str, Any], dataset: dict, data_dvc: Any) -> dict[str, Any]:
    """Dataset identity, split composition and the governance result."""
    outs = (data_dvc or {}).get("outs") or [{}]
    splits = documents["split_summary"]["splits"]
    # An empty optional split (no production-like stream configured) is left out.
    names = [n for n in SPLIT_ORDER if n in splits and (n != "stream" or splits[n].get("images"))]
    identity = [
        ["DVC hash (data.dvc md5)", str(outs[0].get("md5", NOT_RECORDED))],
        ["Files / bytes", f"{fmt(outs[0].get('nfiles'))} / {fmt(outs[0].get('size'))}"],
        ["Source", fmt(dataset.get("source"))],
        ["Licence", fmt(dataset.get("licence"))],
    ]
    identity += [
        [humanize(k), fmt_value(v)] for k, v in dataset.items() if k not in {"source", "licence"}
    ]
    return {
        "identity": identity,
        "strategy": fmt(documents["split_summary"].get("strategy")),
        "split_seed": fmt(documents["split_summary"].get("seed")),
        "split_names": names,
        "composition": [
            [
                name,
                *(
                    fmt(splits[name][col])
                    for col in ("images", "capture_events", "normal", "defective")
                ),
            ]
            for name in names
        ],
        "defect_types": _matrix(splits, names, "defect_types"),
        "capture_dates": _matrix(splits, names, "capture_dates"),
        "governance": governance_section(documents["governance"]),
    }


def _matrix(splits: dict[str, Any], names: list[str], key: str) -> list[list[str]]:
    """Rows ``[value, count per split...]`` for a per-split counter (defect types, dates)."""
    values = sorted({v for name in names for v in splits[name].get(key, {})})
    return [[v, *(fmt(splits[name].get(key, {}).get(v, 0)) for name in names)] for v in values]


def governance_section(governance: dict[str, Any]) -> dict[str, Any]:
    """Governance verdict, suites, each expectation with its requirement id, confounding."""
    expectations = [
        {
            "requirement_id": str(item.get("requirement_id", "")),
            "id": str(item.get("id", "")),
            "severity": str(item.get("severity", "")),
            "result": "PASS" if item.get("success") else "FAIL",
            "observed": fmt_value(item.get("observed")),
            "fix": "" if item.get("success") else str(item.get("fix", "")),
            "examples": fmt_value(item.get("failing_examples") or []),
        }
        for item in governance.get("expectations", [])
    ]
    return {
        "result": "PASS" if governance.get("success") else "FAIL",
        "critical_failures": fmt(governance.get("critical_failures")),
        "warnings": fmt(governance.get("warnings")),
        "suites": [
            [str(s.get("name")), str(s.get("sha256"))] for s in governance.get("suites", [])
        ],
        "expectations": expectations,
        "confounding": [
            [humanize(k), fmt_value(v)] for k, v in (governance.get("confounding") or {}).items()
        ],
    }


def development_section(documents: dict[str, Any], paths: EvidencePaths) -> dict[str, Any]:
    """Models trained, their configuration, learning curves, monitor design choices."""
    train = documents["train_summary"]
    models = models_of(train)
    curves, absent = [], []
    for name in models:
        path = Path(paths.evidence_dir) / "train" / name / "training_curve.png"
        if not path.is_file():
            # A version registered before every model's curve was logged does not carry it;
            # the dossier says so instead of refusing to render the version at all.
            absent.append(f"Training curve of model {name}: not carried by this run.")
            continue
        caption = f"Training and validation loss per epoch of model {name}."
        curves.append(figure(path, caption, f"train/{name}/training_curve.png", ""))
    columns = ("parameters", "epochs_run", "best_epoch", "best_val_loss", "stopped_early", "seed")
    return {
        "models": [
            [name, *(fmt_sig(facts.get(c), 6) for c in columns)] for name, facts in models.items()
        ],
        "configuration": [
            [humanize(k), fmt_value(v)]
            for k, v in (train.get("provenance", {}).get("params") or {}).items()
        ],
        "seed": fmt(train.get("provenance", {}).get("seed")),
        "curves": curves,
        "curves_absent": absent,
        "monitor": monitor_design(documents["monitor_summary"]),
    }


def monitor_design(summary: dict[str, Any]) -> dict[str, Any]:
    """The monitoring estimator's chosen configuration and its ablation grid."""
    grid = find_key(summary, "ablation", "grid") or []
    columns = ("layer", "n_features_kept", "covariance", "val_auroc", "val_accuracy")
    return {
        "layer": fmt(summary.get("layer")),
        "n_features_kept": fmt(summary.get("n_features_kept")),
        "covariance": fmt_value(find_key(summary, "covariance")),
        "grid": [[fmt_value(row.get(c)) for c in columns] for row in grid if isinstance(row, dict)],
    }
