"""What a packaged model scores with: the evaluate stage's options and calibration."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pipeline.evidence import EvidenceError
from pipeline.registry.bundles import RunEvidence, load_documents, scoring_settings
from pipeline.registry.settings import ScoringSettings

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "evidence"
CALIBRATED = {"max_drift_px": 5, "highpass_px": 9, "calibration": {"gain": 17.6, "offset": -0.002}}


def _docs(seal_path: dict | None, four_ms_ssim: dict) -> RunEvidence:
    docs = load_documents(FIXTURE)
    inline = dataclasses.replace(docs.mode("inline"), seal_path=seal_path)
    provenance = dataclasses.replace(
        docs.evaluation.provenance, params={"four_ms_ssim": four_ms_ssim}
    )
    modes = dataclasses.replace(docs.evaluation.modes, inline=inline)
    evaluation = dataclasses.replace(docs.evaluation, modes=modes, provenance=provenance)
    return dataclasses.replace(docs, evaluation=evaluation)


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
    from pipeline.dossier.context_data import seal_path_text

    text = seal_path_text({**CALIBRATED, "n_images": 240})
    assert "x 17.600 - 0.0020 (4-MS-SSIM" in text and "240 normal training images" in text
    assert seal_path_text(None) == ""
