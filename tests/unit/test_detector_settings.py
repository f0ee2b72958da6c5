"""What a packaged model scores with: the calibrate stage's options and calibration."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from pipeline.detector.settings import ScoringSettings
from pipeline.evidence import EvidenceError
from pipeline.registry.bundles import (
    RunEvidence,
    build_bundle,
    load_documents,
    scoring_settings,
)
from tests.dossier_world import write_pod_figures
from tests.params import section

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "evidence"
CALIBRATED = {"max_drift_px": 5, "highpass_px": 9, "calibration": {"gain": 17.6, "offset": -0.002}}


def _docs(seal_path: dict | None, four_ms_ssim: dict) -> RunEvidence:
    docs = load_documents(FIXTURE)
    inline = dataclasses.replace(docs.mode("inline"), seal_path=seal_path)
    modes = dataclasses.replace(docs.evaluation.modes, inline=inline)
    evaluation = dataclasses.replace(docs.evaluation, modes=modes)
    calibrated = dataclasses.replace(docs.calibration.modes.inline, four_ms_ssim=four_ms_ssim)
    calibration = dataclasses.replace(
        docs.calibration, modes=dataclasses.replace(docs.calibration.modes, inline=calibrated)
    )
    return dataclasses.replace(docs, evaluation=evaluation, calibration=calibration)


def test_the_path_calibration_travels_into_the_packaged_settings() -> None:
    docs = _docs(CALIBRATED, {"pooling": "max"})
    settings = scoring_settings("inline", docs.mode("inline"), docs)
    assert settings.to_dict() == {
        "mode": "inline",
        "score": "four_ms_ssim",
        "detector": "attention_ae",
        "four_ms_ssim": {"pooling": "max"},
        "seal_path": CALIBRATED,
    }
    assert ScoringSettings.from_dict(settings.to_dict()) == settings


def test_a_score_without_the_path_packages_no_path_settings() -> None:
    docs = _docs(None, {"pooling": "max"})
    assert "seal_path" not in scoring_settings("inline", docs.mode("inline"), docs).to_dict()


def test_monitoring_settings_name_the_monitored_layer() -> None:
    docs = load_documents(FIXTURE)
    settings = scoring_settings("monitoring", docs.mode("monitoring"), docs).to_dict()
    assert settings == {
        "mode": "monitoring",
        "score": "rfd_mahalanobis",
        "detector": "attention_ae",
        "layer": docs.monitor_summary.layer,
    }


def test_packaged_settings_with_a_renamed_key_are_an_error() -> None:
    raw = {"mode": "monitoring", "score": "rfd_md", "detector": "ae", "monitor_layer": "x"}
    with pytest.raises(EvidenceError, match="monitor_layer"):
        ScoringSettings.from_dict(raw)


def test_the_dossier_states_the_calibration_it_scores_with() -> None:
    from pipeline.dossier.sections.data import seal_path_text

    text = seal_path_text({**CALIBRATED, "n_images": 240})
    assert "x 17.600 - 0.0020 (4-MS-SSIM" in text and "240 normal training images" in text
    assert seal_path_text(None) == ""


def test_registration_reads_evidence_strictly(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    shutil.copytree(FIXTURE, root)
    path = root / "train" / "train_summary.json"
    summary = json.loads(path.read_text())
    summary["train_count"] = summary.pop("n_train")
    path.write_text(json.dumps(summary))
    with pytest.raises(EvidenceError, match=r"train_summary.json: key 'train_count' unknown"):
        load_documents(root)


def test_a_detector_that_was_not_trained_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    shutil.copytree(FIXTURE, root)
    write_pod_figures(root)
    (root / "train" / "other_ae").mkdir()
    (root / "train" / "other_ae" / "model.pt").write_bytes(b"weights")
    docs = load_documents(root)
    inline = dataclasses.replace(docs.mode("inline"), detector="other_ae")
    evaluation = dataclasses.replace(
        docs.evaluation, modes=dataclasses.replace(docs.evaluation.modes, inline=inline)
    )
    docs = dataclasses.replace(docs, evaluation=evaluation)
    with pytest.raises(EvidenceError, match="'other_ae' is not among the models"):
        build_bundle("inline", root, docs, section("register"), {})
