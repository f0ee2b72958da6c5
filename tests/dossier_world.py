"""A dossier's world for tests: a copy of the fixture evidence and the reviewed files.

The fixture (tests/fixtures/evidence/) follows docs/architecture.md's evidence contracts; tests
copy it so they may break it (remove a file, fail a criterion) without touching the original.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from pipeline.dossier.evidence import EvidencePaths

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "evidence"
INTENDED_USE = ROOT / "tests" / "fixtures" / "validation" / "intended_use.yaml"
TEMPLATES = ROOT / "reports" / "templates"
CAPABILITY = Path("assess_capability") / "capability.json"
# The fixture stores data.dvc and dvc.lock under other names so DVC never mistakes them for
# the repository's own (a stray *.dvc file is a tracked output to `dvc status`).
RECORDS = {
    "dataset.json": "dataset.json",
    "data_dvc.yaml": "data.dvc",
    "dvc_lock.yaml": "dvc.lock",
    "registry_audit.jsonl": "registry_audit.jsonl",
}


def write_pod_figures(evidence: Path) -> list[Path]:
    """The POD figures ``capability.json`` names, as tiny PNGs (not committed binaries)."""
    capability = json.loads((evidence / CAPABILITY).read_text(encoding="utf-8"))
    written = []
    for mode, entry in capability["modes"].items():
        for row in (entry or {}).get("requirements", []):
            if row["figure"]:
                path = evidence / "assess_capability" / "pod" / mode / row["figure"]
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.new("L", (64, 48), 200).save(path)
                written.append(path)
    return written


def make_world(root: Path) -> EvidencePaths:
    """Copy the fixture evidence and the repository's reviewed files under ``root``."""
    evidence = root / "artifacts"
    shutil.copytree(FIXTURE, evidence, ignore=shutil.ignore_patterns(*RECORDS))
    write_pod_figures(evidence)
    validation = root / "validation"
    validation.mkdir()
    for path in (ROOT / "validation").glob("*.yaml"):
        shutil.copyfile(path, validation / path.name)
    # The dossier reads intended use tolerant of its keys; the fixture pins one shape.
    shutil.copyfile(INTENDED_USE, validation / "intended_use.yaml")
    for stored, name in RECORDS.items():
        shutil.copyfile(FIXTURE / stored, root / name)
    return EvidencePaths(
        evidence_dir=evidence,
        validation_dir=validation,
        dataset_info=root / "dataset.json",
        dvc_lock=root / "dvc.lock",
        data_dvc=root / "data.dvc",
        audit_log=root / "registry_audit.jsonl",
    )


def edit_json(path: Path, change: Callable[[Any], None]) -> None:
    """Load a JSON evidence file, apply ``change`` in place, write it back."""
    content = json.loads(path.read_text(encoding="utf-8"))
    change(content)
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def fail_inline_capability(
    evidence_dir: Path, requirement: str = "REQ-CHANNEL", a90_95: float = 0.41
) -> None:
    """Make one requirement's inline a90/95 exceed what the protocol requires."""

    def change(capability: dict[str, Any]) -> None:
        for row in capability["modes"]["inline"]["requirements"]:
            if row["id"] == requirement:
                row.update(a90_95=a90_95, passed=False, margin=a90_95 - row["required_a90_95"])

    edit_json(evidence_dir / "assess_capability" / "capability.json", change)


def fail_inline_miss_rate(evidence_dir: Path, upper: float = 0.35) -> None:
    """Make the inline operating threshold's miss-rate bound exceed its comparator reference."""

    def change(evaluation: dict[str, Any]) -> None:
        inline = evaluation["modes"]["inline"]
        for threshold in inline["thresholds"]:
            if threshold["threshold_id"] == inline["operating_threshold_id"]:
                threshold["miss_rate_upper_95"] = upper

    edit_json(evidence_dir / "evaluate" / "evaluation.json", change)
