"""From evidence files to what one mode's run and model version record (a ``ModeBundle``).

Only reads the files the stages wrote (docs/architecture.md, "Evidence contracts"); no number is
recomputed. File names below are that contract's, relative to the evidence root (``artifacts/``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from pipeline.config.register import Params
from pipeline.errors import SealauditError
from pipeline.evidence import DOCUMENTS as EVIDENCE_DOCUMENTS
from pipeline.provenance import sha256_file
from pipeline.registry.lineage import lineage_key, lineage_tags, sha256_json
from pipeline.registry.registration import ModeBundle, flatten

log = logging.getLogger(__name__)

MODES = ("inline", "monitoring")
# The documents a registered run carries (all of pipeline.evidence.DOCUMENTS but its own).
DOCUMENTS = {name: row for name, row in EVIDENCE_DOCUMENTS.items() if row.stage != "register"}
GOVERNANCE_SUMMARY = "validate_data/summary.md"
ESTIMATOR = "fit_monitor/monitor.pkl"
CHECKPOINT = "model.pt"
TRAIN_FILES = ("history.json", "training_curve.png")
UPSTREAM_STAGES = {
    "inline": ("prepare", "validate_data", "train", "evaluate"),
    "monitoring": ("prepare", "validate_data", "train", "fit_monitor", "evaluate"),
}


class EvidenceError(SealauditError):
    """An evidence file the registration needs is missing or malformed."""


def read_document(root: Path, key: str) -> Any:
    """Parse one evidence JSON by its contract key, naming the stage that writes it."""
    relative, stage = DOCUMENTS[key].path, DOCUMENTS[key].stage
    path = Path(root) / relative
    if not path.is_file():
        raise EvidenceError(f"{path}: evidence missing; run `dvc repro {stage}`")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise EvidenceError(
            f"{path}: not valid JSON ({error}); rerun `dvc repro {stage}`"
        ) from error


def load_documents(root: Path) -> dict[str, Any]:
    """Every evidence document by key."""
    return {key: read_document(root, key) for key in DOCUMENTS}


def operating_threshold(mode_doc: dict[str, Any], mode: str) -> dict[str, Any]:
    """The mode's operating threshold as ``Threshold.to_dict()`` (evaluation extras removed)."""
    from pipeline.models.thresholds import Threshold

    wanted = mode_doc.get("operating_threshold_id")
    for entry in mode_doc.get("thresholds", []):
        if entry.get("threshold_id") == wanted:
            names = set(Threshold.__dataclass_fields__)
            return Threshold.from_dict({k: v for k, v in entry.items() if k in names}).to_dict()
    raise EvidenceError(
        f"evaluation.json modes.{mode}: operating threshold {wanted!r} not among its thresholds; "
        "rerun `dvc repro evaluate`"
    )


def checkpoint_path(root: Path, mode_doc: dict[str, Any], mode: str) -> Path:
    """``train/<detector>/model.pt`` of the autoencoder the mode's evidence names."""
    detector = str(mode_doc.get("detector", ""))
    path = Path(root) / "train" / detector / CHECKPOINT
    if not detector or not path.is_file():
        raise EvidenceError(
            f"{path}: checkpoint of modes.{mode}.detector {detector!r} missing; "
            "run `dvc repro train` (the detector must be one of train.models)"
        )
    return path


def mode_metrics(mode_doc: dict[str, Any], threshold_id: str, train: dict[str, Any]) -> dict:
    """Numeric evidence as MLflow metrics: ranking, operating point with CIs, per defect type."""
    metrics: dict[str, float] = {}
    ranking = mode_doc.get("ranking", {})
    sources: dict[str, Any] = {
        "test": {k: v for k, v in ranking.items() if k != "ci"},
        "test_ci": ranking.get("ci", {}),
        "pixel": mode_doc.get("pixel", {}),
        "train": train,
    }
    for entry in mode_doc.get("thresholds", []):
        if entry.get("threshold_id") == threshold_id:
            sources["operating"] = {**entry.get("test", {}), "threshold": entry.get("value")}
            sources["operating_ci"] = entry.get("test_ci", {})
            sources["operating"]["miss_rate_upper_95"] = entry.get("miss_rate_upper_95")
    for defect, facts in mode_doc.get("per_defect_type", {}).items():
        sources[f"defect.{defect}"] = {k: v for k, v in facts.items() if k != "ci"}
    for prefix, section in sources.items():
        for name, value in flatten(section, prefix):
            _add_metric(metrics, name, value)
    return metrics


def _add_metric(metrics: dict[str, float], name: str, value: Any) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int | float):
        metrics[name] = float(value)
    elif (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) for v in value)
    ):
        metrics[f"{name}.low"], metrics[f"{name}.high"] = float(value[0]), float(value[1])


def run_params(docs: dict[str, Any], mode: str) -> dict[str, Any]:
    """The typed-config sections each upstream stage recorded in its provenance."""
    sources = ["split_summary", "governance", "train_summary", "evaluation"]
    if mode == "monitoring":
        sources.append("monitor_summary")
    params: dict[str, Any] = {}
    for key in sources:
        provenance = docs[key].get("provenance", {})
        stage = provenance.get("stage", key)
        params.update(dict(flatten(provenance.get("params") or {}, stage)))
    return params


def _named_files(folder: Path, names: list[str], what: str) -> list[Path]:
    paths = [folder / name for name in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise EvidenceError(f"{missing[0]}: {what} named in the evidence is missing; rerun it")
    return paths


def trained_models(train_summary: dict[str, Any]) -> list[str]:
    """Names of the models ``train_summary.json`` reports."""
    return sorted(train_summary["models"])


def run_artifacts(
    root: Path,
    mode_doc: dict[str, Any],
    records: tuple[Path, ...] = (),
    models: tuple[str, ...] = (),
) -> dict[str, list[Path]]:
    """Run artifact folder -> files: evidence documents and records, plots, heatmap gallery,
    and ``train/<model>/`` (history and training curve) of every trained model.

    Both modes' runs carry every evidence document and every model's training files (the
    dossier rebuilt from one run shows them all) and the ``records`` that exist (``dvc.lock``,
    ``data.dvc``, ``data/dataset.json``).
    """
    root = Path(root)
    evidence = [root / row.path for row in DOCUMENTS.values()]
    evidence.append(root / GOVERNANCE_SUMMARY)
    evaluate_dir = root / "evaluate"
    plots = _named_files(evaluate_dir, list(mode_doc.get("plots", {}).values()), "plot")
    gallery_names = [name for names in mode_doc.get("gallery", {}).values() for name in names]
    artifacts = {
        "evidence": _named_files(root, [str(p.relative_to(root)) for p in evidence], "evidence")
        + [Path(record) for record in records if Path(record).is_file()],
        "plots": plots,
        "gallery": _named_files(evaluate_dir, gallery_names, "gallery image"),
    }
    for model in models or (str(mode_doc.get("detector")),):
        files = [root / "train" / model / name for name in TRAIN_FILES]
        artifacts[f"train/{model}"] = [path for path in files if path.is_file()]
    return artifacts


def scoring_settings(mode: str, mode_doc: dict[str, Any], docs: dict[str, Any]) -> dict:
    """How the packaged model computes its score (travels inside the model)."""
    settings: dict[str, Any] = {
        "mode": mode,
        "score": mode_doc.get("score"),
        "detector": mode_doc.get("detector"),
    }
    if mode == "inline":
        evaluate_params = docs["evaluation"].get("provenance", {}).get("params") or {}
        settings["four_ms_ssim"] = dict(evaluate_params.get("four_ms_ssim") or {})
        if mode_doc.get("seal_path"):
            settings["seal_path"] = dict(mode_doc["seal_path"])  # with its fitted calibration
    else:
        settings["layer"] = docs["monitor_summary"]["layer"]
    return settings


def build_bundle(
    mode: str,
    root: Path,
    docs: dict[str, Any],
    params: Params,
    stage_hashes: dict[str, str],
    records: tuple[Path, ...] = (),
) -> ModeBundle:
    """Gather ``mode``'s packaged files, documents, lineage, params, metrics and artifacts.

    Args:
        mode: ``inline`` or ``monitoring``.
        root: the evidence root (``artifacts/``).
        docs: ``load_documents(root)``.
        params: the ``register`` section.
        stage_hashes: ``dvc_stage_hashes`` of the upstream stages.
        records: files logged verbatim with the evidence (not part of the lineage key).
    """
    root = Path(root)
    mode_doc = docs["evaluation"]["modes"][mode]
    threshold = operating_threshold(mode_doc, mode)
    detector = str(mode_doc.get("detector"))
    files = {"checkpoint": checkpoint_path(root, mode_doc, mode)}
    if mode == "monitoring":
        files["estimator"] = _named_files(root, [ESTIMATOR], "monitoring estimator")[0]
    documents = {"threshold": threshold, "settings": scoring_settings(mode, mode_doc, docs)}
    key_files = {name: sha256_file(path) for name, path in files.items()}
    key_files.update({name: sha256_json(doc) for name, doc in documents.items()})
    key_files["evaluation"] = sha256_json(mode_doc)
    key_files["governance"] = sha256_json(docs["governance"])
    provenance = dict(docs["evaluation"].get("provenance", {}))
    train_provenance = docs["train_summary"].get("provenance", {})
    provenance["seed"] = train_provenance.get("seed", provenance.get("seed"))
    model_name = params.model_name(mode)
    key = lineage_key(model_name, str(provenance.get("data_md5", "untracked")), key_files)
    artifacts = run_artifacts(root, mode_doc, records, tuple(trained_models(docs["train_summary"])))
    tags = lineage_tags(
        mode=mode,
        key=key,
        provenance=provenance,
        governance=docs["governance"],
        stage_hashes={s: stage_hashes.get(s, "absent") for s in UPSTREAM_STAGES[mode]},
        files=key_files,
    )
    tags["sealaudit.threshold_id"] = str(threshold["threshold_id"])
    for path in artifacts["evidence"]:
        tags[f"sealaudit.evidence_sha256.{path.name}"] = sha256_file(path)
    train = _train_entry(docs["train_summary"], detector)
    return ModeBundle(
        mode=mode,
        model_name=model_name,
        lineage_key=key,
        files=files,
        documents=documents,
        working_size=_working_size(train, files["checkpoint"]),
        params=run_params(docs, mode),
        metrics=mode_metrics(mode_doc, str(threshold["threshold_id"]), train),
        tags=tags,
        artifacts=artifacts,
    )


def _working_size(train: dict[str, Any], checkpoint: Path) -> tuple[int, int]:
    """(H, W) from the training summary, else from the checkpoint itself."""
    if "image_height" in train and "image_width" in train:
        return int(train["image_height"]), int(train["image_width"])
    from pipeline.models.checkpoint import load_autoencoder

    _, meta = load_autoencoder(checkpoint)
    return meta.image_height, meta.image_width


def _train_entry(summary: dict[str, Any], detector: str) -> dict[str, Any]:
    """The detector's training facts (``models.<detector>``; {} when it was not trained)."""
    return dict(summary["models"].get(detector) or {})
