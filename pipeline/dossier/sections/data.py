"""Context sections 3-6: intended use, system description, data governance, development."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.dossier import legal
from pipeline.dossier.blocks import blocks, control_line
from pipeline.dossier.evidence import Documents, EvidencePaths, MissingEvidenceError
from pipeline.dossier.figures import figure
from pipeline.dossier.formatting import (
    fmt,
    fmt_pct,
    fmt_sig,
    fmt_value,
    humanize,
)
from pipeline.dossier.sections.latency import latency_facts
from pipeline.evidence import Governance, MonitorSummary, Provenance
from pipeline.evidence.documents import SplitFacts
from pipeline.evidence.origin import UNVERIFIED_CITATION, UNVERIFIED_LICENCE

SPLIT_ORDER = ("train", "val", "test", "stream")


def intended_use_section(intended_use: Any, label: str, used: str = "") -> dict[str, Any]:
    """Intended use as generic blocks, and apart from them the user's classification statement
    and CSA process-risk classes (read strictly: ``pipeline.dossier.legal``); ``used`` is the
    data this version was built from (:func:`data_used`)."""
    return {
        "control": control_line(intended_use, label),
        "data_used": used,
        "blocks": blocks(intended_use, skip=("classification", "csa_features")),
        "classification": legal.classification(intended_use),
        "csa": legal.csa_features(intended_use),
    }


def data_out(data_dvc: Any) -> dict[str, Any]:
    """``data.dvc``'s output entry (``md5``, ``nfiles``, ``size``) as `dvc add data` writes it."""
    outs = data_dvc.get("outs") if isinstance(data_dvc, dict) else None
    if not outs or not isinstance(outs[0], dict):
        raise MissingEvidenceError("data.dvc: no `outs` entry; run `dvc add data`")
    return dict(outs[0])


def system_section(documents: Documents, mode: str) -> dict[str, Any]:
    """Architecture facts, inputs/outputs, hardware, software bill of materials, size."""
    mode_doc = documents.evaluation.modes.of(mode)
    assert mode_doc is not None  # context._mode checked it
    detector = documents.train_summary.models[mode_doc.detector]
    versions = documents.evaluation.provenance.package_versions
    return {
        "detector": str(mode_doc.detector),
        "score": str(mode_doc.score),
        "score_calibration": seal_path_text(mode_doc.seal_path),
        "input": f"{fmt(detector.image_height)} x {fmt(detector.image_width)} px, "
        "8-bit grayscale seal-band crop",
        "roi_kind": fmt(detector.roi_kind),
        "parameters": f"{detector.parameters:,}",
        # from benchmarks/inline_latency.py's evidence, carried by evaluate
        **latency_facts(documents, mode),
        "sbom": _columns([[n, str(v)] for n, v in sorted(versions.items())], 3),
        "sbom_consistent": _versions_consistent(documents),
    }


def seal_path_text(seal_path: dict[str, Any] | None) -> str:
    """The cross-seal path map's fitted calibration in words ('' for a score without it)."""
    if not seal_path:
        return ""
    calibration = seal_path["calibration"]
    offset = calibration["offset"]
    sign, size = ("-", -offset) if isinstance(offset, int | float) and offset < 0 else ("+", offset)
    return (
        f"path map x {fmt(calibration['gain'], 3)} {sign} {fmt(size, 4)} "
        f"(4-MS-SSIM heatmap units), fitted on {fmt(seal_path['n_images'])} normal "
        f"training images; shear up to {fmt(seal_path['max_drift_px'])} columns, "
        f"high-pass {fmt(seal_path['highpass_px'])} columns"
    )


def _columns(pairs: list[list[str]], per_row: int) -> list[list[str]]:
    """Flow ``[name, value]`` pairs into rows of ``per_row`` pairs (a compact table)."""
    rows = []
    for start in range(0, len(pairs), per_row):
        chunk = pairs[start : start + per_row]
        chunk += [["", ""]] * (per_row - len(chunk))
        rows.append([cell for pair in chunk for cell in pair])
    return rows


def _versions_consistent(documents: Documents) -> str:
    """Whether every stage ran with the same package versions (a mixed run is a finding)."""
    seen = {key: prov.package_versions for key, prov in provenances(documents).items()}
    distinct = {repr(sorted(v.items())) for v in seen.values()}
    if len(distinct) <= 1:
        return f"identical in all {len(seen)} evidence files"
    return f"DIFFERENT across evidence files ({', '.join(sorted(seen))}): review before release"


def provenances(documents: Documents) -> dict[str, Provenance]:
    """The provenance of each document that records one, by document name."""
    # metrics.json and thresholds.json carry none; a rebuilt registration.json has none.
    found = {key: getattr(doc, "provenance", None) for key, doc in documents.present().items()}
    return {key: prov for key, prov in found.items() if prov is not None}


# dataset.json keys the identity table states in rows of their own (DOI only when verified).
OWN_ROWS = {"source", "licence", "citation", "doi"}


def unverified_import(dataset: dict) -> bool:
    """An SSI-format import whose source hashes match no published list (or predate the check)."""
    return dataset.get("source") == "ssi" and not (dataset.get("origin") or {}).get("verified")


def dataset_citation(dataset: dict) -> str:
    """The data's citation as its own ``dataset.json`` gives it; an SSI-format import is
    credited to the published SSI dataset only when its source hashes were matched."""
    if unverified_import(dataset):
        return UNVERIFIED_CITATION
    if dataset.get("citation"):
        doi = dataset.get("doi")
        return f"{dataset['citation']}" + (f" (DOI {fmt_value(doi)})" if doi else "")
    if dataset.get("source") == "synthetic":
        generator = (dataset.get("generator") or {}).get("name", "pipeline.data.synthetic")
        return f"generated by {generator} (seed {fmt(dataset.get('seed'))}); no external source"
    return f"{fmt(dataset.get('source'))} data; data/dataset.json records no citation"


def dataset_licence(dataset: dict) -> str:
    """The licence ``dataset.json`` records, not borrowed for data of unverified origin."""
    return UNVERIFIED_LICENCE if unverified_import(dataset) else fmt(dataset.get("licence"))


def data_used(documents: Documents, dataset: dict) -> str:
    """The data this version was built from, in figures computed from ``split_summary.json``
    (for the intended use, which must not state counts of another dataset)."""
    splits = documents.split_summary.splits
    names = [n for n in SPLIT_ORDER if n in splits]
    images = sum(splits[n].images for n in names)
    normal = sum(splits[n].normal for n in names)
    defective = sum(splits[n].defective for n in names)
    return (
        f"{dataset_citation(dataset)}: {fmt(images)} images in the splits "
        f"({fmt(normal)} normal, {fmt(defective)} defective; {', '.join(names)}), "
        f"{fmt(documents.split_summary.unassigned_images)} unassigned"
    )


def data_section(documents: Documents, dataset: dict, data_dvc: Any) -> dict[str, Any]:
    """Dataset identity, split composition and the governance result."""
    out = data_out(data_dvc)
    summary = documents.split_summary
    splits = summary.splits
    # An empty optional split (no production-like stream configured) is left out.
    names = [n for n in SPLIT_ORDER if n in splits and (n != "stream" or splits[n].images)]
    identity = [
        ["DVC hash (data.dvc md5)", str(out["md5"])],
        ["Files / bytes", f"{fmt(out['nfiles'])} / {fmt(out['size'])}"],
        ["Source", fmt(dataset.get("source"))],
        ["Citation", dataset_citation(dataset)],
        ["Licence", dataset_licence(dataset)],
    ]
    identity += [[humanize(k), fmt_value(v)] for k, v in dataset.items() if k not in OWN_ROWS]
    return {
        "identity": identity,
        "strategy": fmt(summary.strategy),
        "split_seed": fmt(summary.seed),
        "split_names": names,
        "split_statement": split_statement(splits),
        "composition": [
            [
                name,
                *(
                    fmt(getattr(splits[name], col))
                    for col in ("images", "capture_events", "normal", "defective")
                ),
            ]
            for name in names
        ],
        "defect_types": _matrix(splits, names, "defect_types"),
        "capture_dates": _matrix(splits, names, "capture_dates"),
        "governance": governance_section(documents.governance),
    }


def split_statement(splits: dict[str, SplitFacts]) -> str:
    """What the training and test splits hold, computed from ``split_summary.json``: a test
    split is called balanced only when it has as many normal as defective images."""
    parts = []
    train, test = splits.get("train"), splits.get("test")
    if train is not None:
        parts.append(
            "The training split holds good seals only"
            if train.defective == 0
            else f"The training split holds {fmt(train.defective)} defective images among "
            f"{fmt(train.images)}"
        )
    if test is not None:
        balance = "balanced" if test.normal == test.defective else "not balanced"
        share = fmt_pct(test.defective / test.images) if test.images else "n/a"
        parts.append(
            f"the test split is {balance} ({fmt(test.normal)} normal, {fmt(test.defective)} "
            f"defective images, {share} defective) and never used for fitting"
        )
    return "; ".join(parts)


def _matrix(splits: dict[str, SplitFacts], names: list[str], key: str) -> list[list[str]]:
    """Rows ``[value, count per split...]`` for a per-split counter (defect types, dates)."""
    counts = {name: getattr(splits[name], key) for name in names}
    values = sorted({v for name in names for v in counts[name]})
    # A value absent from a split's counter was not seen there: zero by contract.
    return [[v, *(fmt(counts[name].get(v, 0)) for name in names)] for v in values]


def governance_section(governance: Governance) -> dict[str, Any]:
    """Governance verdict, suites, each expectation with its requirement id, confounding."""
    expectations = [
        {
            "requirement_id": str(item.requirement_id),
            "id": str(item.id),
            "severity": str(item.severity),
            "result": "PASS" if item.success else "FAIL",
            "observed": fmt_value(item.observed),
            "fix": "" if item.success else str(item.fix),
            "examples": fmt_value(item.failing_examples or []),
        }
        for item in governance.expectations
    ]
    return {
        "result": "PASS" if governance.success else "FAIL",
        "critical_failures": fmt(governance.critical_failures),
        "warnings": fmt(governance.warnings),
        "suites": [[str(s.name), str(s.sha256)] for s in governance.suites],
        "expectations": expectations,
        "confounding": [[humanize(k), fmt_value(v)] for k, v in governance.confounding.items()],
        "bound_deviations": [
            [
                str(row["key"]),
                fmt_value(row["reviewed"]),
                fmt_value(row["in_force"]),
                str(row["looser"]),
                str(row["source"]),
            ]
            for row in governance.bound_deviations
        ],
    }


def development_section(documents: Documents, paths: EvidencePaths) -> dict[str, Any]:
    """Models trained, their configuration, learning curves, monitor design choices."""
    train = documents.train_summary
    models = train.models
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
            [name, *(fmt_sig(getattr(facts, c), 6) for c in columns)]
            for name, facts in models.items()
        ],
        "configuration": [[humanize(k), fmt_value(v)] for k, v in train.provenance.params.items()],
        "seed": fmt(train.provenance.seed),
        "curves": curves,
        "curves_absent": absent,
        "monitor": monitor_design(documents.monitor_summary),
    }


def monitor_design(summary: MonitorSummary) -> dict[str, Any]:
    """The monitoring estimator's chosen configuration and its ablation grid."""
    columns = ("layer", "n_features_kept", "covariance", "val_auroc", "val_accuracy")
    return {
        "layer": fmt(summary.layer),
        "n_features_kept": fmt(summary.n_features_kept),
        "covariance": fmt_value(summary.covariance),
        # AUROC and accuracy at the three decimals every other metric of the dossier has
        "grid": [[fmt(row[c]) for c in columns] for row in summary.ablation],
    }
