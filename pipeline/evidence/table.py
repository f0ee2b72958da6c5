"""The one table of evidence documents: name -> path under ``artifacts/`` -> writing stage."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.evidence.calibration import Calibration, Thresholds
from pipeline.evidence.capability import Capability
from pipeline.evidence.documents import (
    Governance,
    MonitorSummary,
    Registration,
    SplitSummary,
    TrainSummary,
)
from pipeline.evidence.evaluation import Evaluation, Metrics


@dataclass(frozen=True)
class Document:
    """One evidence document: its name, its path relative to ``artifacts/``, the DVC stage
    that writes it, and its dataclass.

    ``allow_nan``: whether the writer lets NaN through (governance refuses it).
    """

    name: str
    path: str
    stage: str
    type: type
    allow_nan: bool = True

    @property
    def file_name(self) -> str:
        """The file's name inside its stage folder (and inside a registered run's evidence/)."""
        return self.path.rsplit("/", 1)[-1]


DOCUMENTS = {
    doc.name: doc
    for doc in (
        Document("split_summary", "prepare/split_summary.json", "prepare", SplitSummary),
        Document("governance", "validate_data/governance.json", "validate_data", Governance, False),
        Document("train_summary", "train/train_summary.json", "train", TrainSummary),
        Document("evaluation", "evaluate/evaluation.json", "evaluate", Evaluation),
        Document("metrics", "evaluate/metrics.json", "evaluate", Metrics),
        Document(
            "monitor_summary", "fit_monitor/monitor_summary.json", "fit_monitor", MonitorSummary
        ),
        Document("calibration", "calibrate/calibration.json", "calibrate", Calibration),
        Document("thresholds", "calibrate/thresholds.json", "calibrate", Thresholds),
        Document(
            "capability", "assess_capability/capability.json", "assess_capability", Capability
        ),
        Document("registration", "register/registration.json", "register", Registration),
    )
}
BY_TYPE = {doc.type: doc for doc in DOCUMENTS.values()}
