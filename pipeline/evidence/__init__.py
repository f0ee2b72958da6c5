"""The evidence contract between stages: one table, one dataclass per document, read/write.

``table.DOCUMENTS`` names each document, its path under ``artifacts/`` and the stage that
writes it; ``documents`` and ``evaluation`` hold the dataclasses; ``io`` reads and writes them
strictly (a renamed key is an error naming the file, the key and the stage).
"""

from pipeline.evidence.calibration import CalibratedMode, Calibration, Thresholds
from pipeline.evidence.capability import Capability, CapabilityMode
from pipeline.evidence.convert import EvidenceError
from pipeline.evidence.documents import (
    Governance,
    MonitorSummary,
    Provenance,
    Registration,
    SplitSummary,
    TrainSummary,
)
from pipeline.evidence.evaluation import (
    EvaluatedThreshold,
    Evaluation,
    Metrics,
    Mode,
    operating_threshold,
)
from pipeline.evidence.io import parse, path, read, read_file, write, write_file, write_to
from pipeline.evidence.table import DOCUMENTS, Document

__all__ = [
    "Capability",
    "CapabilityMode",
    "DOCUMENTS",
    "CalibratedMode",
    "Calibration",
    "Document",
    "EvaluatedThreshold",
    "Evaluation",
    "EvidenceError",
    "Governance",
    "Metrics",
    "Mode",
    "MonitorSummary",
    "Provenance",
    "Registration",
    "SplitSummary",
    "Thresholds",
    "TrainSummary",
    "operating_threshold",
    "parse",
    "path",
    "read",
    "read_file",
    "write",
    "write_file",
    "write_to",
]
