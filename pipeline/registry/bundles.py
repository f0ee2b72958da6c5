"""From evidence files to what one mode's run and model version record (a ``ModeBundle``).

Only reads the files the stages wrote (docs/architecture.md, "Evidence contracts"); no number is
recomputed. File names below are that contract's, relative to the evidence root (``artifacts/``).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import evidence
from pipeline.config.register import Params
from pipeline.detector.settings import ScoringSettings
from pipeline.evidence import (
    DOCUMENTS as EVIDENCE_DOCUMENTS,
)
from pipeline.evidence import (
    Calibration,
    Capability,
    Evaluation,
    EvidenceError,
    Governance,
    Metrics,
    Mode,
    MonitorSummary,
    SplitSummary,
    Thresholds,
    TrainSummary,
)
from pipeline.evidence.convert import to_dict
from pipeline.evidence.documents import TrainedModel
from pipeline.provenance import sha256_file
from pipeline.registry.lineage import lineage_key, lineage_tags, sha256_json
from pipeline.registry.registration import ModeBundle, flatten

log = logging.getLogger(__name__)

MODES = ("inline", "monitoring")
# The documents a registered run carries (all of pipeline.evidence.DOCUMENTS but its own).
DOCUMENTS = {name: row for name, row in EVIDENCE_DOCUMENTS.items() if row.stage != "register"}
# Logged and keyed when present: a version registered before assess_capability ran is still
# registered, and judged "capability evidence missing" at promotion.
OPTIONAL_DOCUMENTS = ("capability",)
GOVERNANCE_SUMMARY = "validate_data/summary.md"
# fit_monitor's monitor with calibrate's operating threshold inside (the same one the model's
# threshold.json carries): the one monitor object that decides
ESTIMATOR = "calibrate/monitor.npz"
CHECKPOINT = "model.pt"
TRAIN_FILES = ("history.json", "training_curve.png")
UPSTREAM_STAGES = {
    "inline": ("prepare", "validate_data", "train", "calibrate", "evaluate"),
    "monitoring": ("prepare", "validate_data", "train", "fit_monitor", "calibrate", "evaluate"),
}


@dataclass(frozen=True)
class RunEvidence:
    """Every evidence document a registered run is built from (``DOCUMENTS``), typed."""

    split_summary: SplitSummary
    governance: Governance
    train_summary: TrainSummary
    evaluation: Evaluation
    metrics: Metrics
    thresholds: Thresholds
    monitor_summary: MonitorSummary
    calibration: Calibration
    capability: Capability | None = None

    def mode(self, mode: str) -> Mode:
        """The mode's evaluation; an error when evaluate did not run it."""
        evaluated = self.evaluation.modes.of(mode)
        if evaluated is None:
            raise EvidenceError(
                f"evaluate/evaluation.json: modes.{mode} is null (evaluate ran without it); "
                "enable the mode and rerun `dvc repro evaluate`"
            )
        return evaluated


def load_documents(root: Path) -> RunEvidence:
    """Every evidence document under ``root``, read strictly through ``pipeline.evidence``
    (the ``OPTIONAL_DOCUMENTS`` are None when their file is absent)."""
    names = [name for name in DOCUMENTS if name in _present(Path(root))]
    return RunEvidence(**{name: evidence.read(name, root) for name in names})


def _present(root: Path) -> list[str]:
    """The documents a run carries: every required one, and the optional ones on disk."""
    return [
        name
        for name, row in DOCUMENTS.items()
        if name not in OPTIONAL_DOCUMENTS or (root / row.path).is_file()
    ]


def checkpoint_path(root: Path, mode_doc: Mode, mode: str) -> Path:
    """``train/<detector>/model.pt`` of the autoencoder the mode's evidence names."""
    path = Path(root) / "train" / mode_doc.detector / CHECKPOINT
    if not mode_doc.detector or not path.is_file():
        raise EvidenceError(
            f"{path}: checkpoint of modes.{mode}.detector {mode_doc.detector!r} missing; "
            "run `dvc repro train` (the detector must be one of train.models)"
        )
    return path


def mode_metrics(mode_doc: Mode, train: TrainedModel) -> dict[str, float]:
    """Numeric evidence as MLflow metrics: ranking, operating point with CIs, per defect type."""
    metrics: dict[str, float] = {}
    operating = mode_doc.operating()
    sources: dict[str, Any] = {
        "test": {"auroc": mode_doc.ranking.auroc, "aupr": mode_doc.ranking.aupr},
        "test_ci": mode_doc.ranking.ci,
        "pixel": mode_doc.pixel or {},
        "train": to_dict(train),
        "operating": {
            **operating.test,
            "threshold": operating.value,
            "miss_rate_upper_95": operating.miss_rate_upper_95,
        },
        "operating_ci": operating.test_ci,
    }
    for defect, facts in mode_doc.per_defect_type.items():
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


def run_params(docs: RunEvidence, mode: str) -> dict[str, Any]:
    """The typed-config sections each upstream stage recorded in its provenance."""
    sources: list[Any] = [
        docs.split_summary,
        docs.governance,
        docs.train_summary,
        docs.calibration,
        docs.evaluation,
    ]
    if mode == "monitoring":
        sources.append(docs.monitor_summary)
    params: dict[str, Any] = {}
    for document in sources:
        provenance = document.provenance
        params.update(dict(flatten(provenance.params, provenance.stage)))
    return params


def _named_files(folder: Path, names: list[str], what: str) -> list[Path]:
    paths = [folder / name for name in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise EvidenceError(f"{missing[0]}: {what} named in the evidence is missing; rerun it")
    return paths


def pod_figures(root: Path, capability: Capability | None) -> dict[str, list[Path]]:
    """``pod/<mode>`` -> the POD figures ``capability.json`` names, per mode it assessed (the
    dossier's capability section shows them)."""
    if capability is None:
        return {}
    folders = {}
    for mode in MODES:
        entry = capability.modes.of(mode)
        if entry is not None:
            names = [row.figure for row in entry.requirements if row.figure]
            folder = Path(root) / "assess_capability" / "pod" / mode
            folders[f"pod/{mode}"] = _named_files(folder, names, "POD figure")
    return folders


def run_artifacts(
    root: Path,
    mode_doc: Mode,
    records: tuple[Path, ...] = (),
    models: tuple[str, ...] = (),
    capability: Capability | None = None,
) -> dict[str, list[Path]]:
    """Run artifact folder -> files: evidence documents and records, plots, heatmap gallery,
    ``train/<model>/`` (history and training curve) of every trained model and
    ``pod/<mode>/`` (POD figures of ``capability``).

    Both modes' runs carry every evidence document and every model's training files (the
    dossier rebuilt from one run shows them all) and the ``records`` that exist (``dvc.lock``,
    ``data.dvc``, ``data/dataset.json``).
    """
    root = Path(root)
    evidence_files = [root / DOCUMENTS[name].path for name in _present(root)]
    evidence_files.append(root / GOVERNANCE_SUMMARY)
    evaluate_dir = root / "evaluate"
    plots = _named_files(evaluate_dir, list(mode_doc.plots.values()), "plot")
    gallery_names = [name for names in mode_doc.gallery.values() for name in names]
    relative = [str(p.relative_to(root)) for p in evidence_files]
    artifacts = {
        "evidence": _named_files(root, relative, "evidence")
        + [Path(record) for record in records if Path(record).is_file()],
        "plots": plots,
        "gallery": _named_files(evaluate_dir, gallery_names, "gallery image"),
    }
    for model in models or (mode_doc.detector,):
        files = [root / "train" / model / name for name in TRAIN_FILES]
        artifacts[f"train/{model}"] = [path for path in files if path.is_file()]
    return {**artifacts, **pod_figures(root, capability)}


def scoring_settings(mode: str, mode_doc: Mode, docs: RunEvidence) -> ScoringSettings:
    """How the packaged model computes its score (travels inside the model)."""
    if mode == "monitoring":
        return ScoringSettings(
            mode, mode_doc.score, mode_doc.detector, layer=docs.monitor_summary.layer
        )
    return ScoringSettings(
        mode,
        mode_doc.score,
        mode_doc.detector,
        four_ms_ssim=dict(docs.calibration.mode(mode).four_ms_ssim),
        seal_path=dict(mode_doc.seal_path) if mode_doc.seal_path else None,  # with calibration
    )


def build_bundle(
    mode: str,
    root: Path,
    docs: RunEvidence,
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
    mode_doc = docs.mode(mode)
    threshold = mode_doc.operating().threshold()
    files = {"checkpoint": checkpoint_path(root, mode_doc, mode)}
    if mode == "monitoring":
        files["estimator"] = _named_files(root, [ESTIMATOR], "monitoring estimator")[0]
    settings = scoring_settings(mode, mode_doc, docs)
    documents = {"threshold": threshold.to_dict(), "settings": settings.to_dict()}
    key_files = {name: sha256_file(path) for name, path in files.items()}
    key_files.update({name: sha256_json(doc) for name, doc in documents.items()})
    key_files["evaluation"] = sha256_json(to_dict(mode_doc))
    key_files["governance"] = sha256_json(to_dict(docs.governance))
    if docs.capability is not None:  # absent: the key of a version registered before it
        key_files["capability"] = sha256_json(_capability_key(docs.capability, mode))
    # The training seed is the one a version is reproduced with.
    provenance = dataclasses.replace(
        docs.evaluation.provenance, seed=docs.train_summary.provenance.seed
    )
    model_name = params.model_name(mode)
    key = lineage_key(model_name, str(provenance.data_md5), key_files)
    models = tuple(sorted(docs.train_summary.models))
    artifacts = run_artifacts(root, mode_doc, records, models, docs.capability)
    tags = lineage_tags(
        mode=mode,
        key=key,
        provenance=provenance,
        governance=docs.governance,
        stage_hashes={s: stage_hashes.get(s, "absent") for s in UPSTREAM_STAGES[mode]},
        files=key_files,
    )
    tags["sealaudit.threshold_id"] = threshold.threshold_id
    for path in artifacts["evidence"]:
        tags[f"sealaudit.evidence_sha256.{path.name}"] = sha256_file(path)
    train = _trained(docs.train_summary, mode_doc.detector, mode)
    return ModeBundle(
        mode=mode,
        model_name=model_name,
        lineage_key=key,
        files=files,
        documents=documents,
        working_size=(train.image_height, train.image_width),
        params=run_params(docs, mode),
        metrics=mode_metrics(mode_doc, train),
        tags=tags,
        artifacts=artifacts,
    )


def _capability_key(capability: Capability, mode: str) -> dict[str, Any]:
    """What of ``capability.json`` a version's identity rests on (not its provenance)."""
    entry = capability.modes.of(mode)
    return {
        "protocol_sha256": capability.protocol.sha256,
        "dataset": to_dict(capability.dataset),
        "mode": None if entry is None else to_dict(entry),
    }


def _trained(summary: TrainSummary, detector: str, mode: str) -> TrainedModel:
    """The training facts of the mode's detector (``train_summary.json`` ``models``)."""
    if detector not in summary.models:
        raise EvidenceError(
            f"evaluate/evaluation.json modes.{mode}.detector {detector!r} is not among the "
            f"models of train/train_summary.json {sorted(summary.models)}; rerun "
            "`dvc repro train evaluate`"
        )
    return summary.models[detector]
