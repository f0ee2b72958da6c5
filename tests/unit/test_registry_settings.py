"""What a packaged inline model scores with: the evaluate stage's options and calibration."""

from __future__ import annotations

from pipeline.registry.bundles import scoring_settings

CALIBRATED = {"max_drift_px": 5, "highpass_px": 9, "calibration": {"gain": 17.6, "offset": -0.002}}
DOCS = {"evaluation": {"provenance": {"params": {"four_ms_ssim": {"pooling": "max"}}}}}


def test_the_path_calibration_travels_into_the_packaged_settings() -> None:
    mode_doc = {"score": "four_ms_ssim_path", "detector": "attention_ae", "seal_path": CALIBRATED}
    settings = scoring_settings("inline", mode_doc, DOCS)
    assert settings["seal_path"] == CALIBRATED
    assert settings["four_ms_ssim"] == {"pooling": "max"}


def test_a_score_without_the_path_packages_no_path_settings() -> None:
    mode_doc = {"score": "four_ms_ssim", "detector": "attention_ae", "seal_path": None}
    assert "seal_path" not in scoring_settings("inline", mode_doc, DOCS)


def test_the_dossier_states_the_calibration_it_scores_with() -> None:
    from pipeline.dossier.sections.data import seal_path_text

    text = seal_path_text({**CALIBRATED, "n_images": 240})
    assert "x 17.600 - 0.0020 (4-MS-SSIM" in text and "240 normal training images" in text
    assert seal_path_text(None) == ""
