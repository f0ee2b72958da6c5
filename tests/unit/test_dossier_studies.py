"""Section 7's benchmark studies: the resolution table, the detectability ceiling next to the
inline detector, the warning when the ceiling scored another model, and "not recorded"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.dossier.context import build_context
from pipeline.dossier.evidence import EvidencePaths
from pipeline.dossier.render import render_html
from pipeline.dossier.sections.studies import ceiling_section, resolution_section
from pipeline.evaluation.studies import CEILING, RESOLUTION
from tests.dossier_world import TEMPLATES, edit_json, make_world
from tests.study_world import (
    CHECKPOINT_SHA256,
    ceiling_study,
    inline_figures,
    resolution_row,
    resolution_study,
)

EVALUATED_AUROC = 0.7641


def evidence(
    *,
    studies: dict[str, Any] | None = None,
    working_resolution: list[int] | None = None,
    monitor_sha256: str | None = CHECKPOINT_SHA256,
    monitor_detector: str = "attention_ae",
) -> dict[str, Any]:
    """The documents the study sections read: evaluation, train and monitor summaries."""
    inline: dict[str, Any] = {"detector": "attention_ae", "ranking": {"auroc": EVALUATED_AUROC}}
    if working_resolution is not None:
        inline["working_resolution"] = working_resolution
    checkpoint = {"path": "artifacts/train/attention_ae/model.pt", "sha256": monitor_sha256}
    return {
        "evaluation": {"modes": {"inline": inline, "monitoring": None}, **(studies or {})},
        "train_summary": {
            "models": {"attention_ae": {"parameters": 1, "image_height": 64, "image_width": 768}}
        },
        "monitor_summary": {"detector": monitor_detector, "checkpoint": checkpoint},
    }


def with_ceiling(inline: dict[str, Any] | None, **kwargs: Any) -> dict[str, Any]:
    """Evidence with a ceiling study; the evaluated model at the study's size unless given."""
    study = ceiling_study()
    study["inline_detector"] = inline
    kwargs.setdefault("working_resolution", [32, 384])
    return evidence(studies={CEILING.key: study}, **kwargs)


def test_resolution_table_has_a_row_per_size_and_marks_the_chosen_one() -> None:
    documents = evidence(studies={RESOLUTION.key: resolution_study()}, working_resolution=[32, 384])
    section = resolution_section(documents)
    assert section["recorded"] and section["epochs_cap"] == "15"
    assert section["rows"] == [
        ["16 x 192", "0.804 [0.704, 0.854]", "1.28", "8.0"],
        ["32 x 384 (chosen)", "0.862 [0.762, 0.912]", "2.56", "16.0"],
        ["64 x 768", "0.823", "5.12", "32.0"],  # no interval recorded: value alone
    ]
    assert section["chosen_note"] == "This model runs at 32 x 384 (marked chosen)."


def test_chosen_size_falls_back_to_the_trained_size_and_says_when_it_was_not_studied() -> None:
    documents = evidence(studies={RESOLUTION.key: resolution_study()})
    assert resolution_section(documents)["rows"][2][0] == "64 x 768 (chosen)"
    study = resolution_study([resolution_row(16, 192, 0.8), resolution_row(32, 384, 0.9)])
    section = resolution_section(evidence(studies={RESOLUTION.key: study}))
    assert not any("chosen" in row[0] for row in section["rows"])
    assert (
        section["chosen_note"]
        == "This model runs at 64 x 768, which is not among the sizes studied."
    )


def test_ceiling_table_sets_each_defect_type_beside_the_inline_detector() -> None:
    section = ceiling_section(with_ceiling(inline_figures()))
    assert section["recorded"] and section["inline_recorded"]
    assert (section["defective_images"], section["working_size"]) == ("1680", "32 x 384")
    assert (section["chosen_epoch"], section["epochs"]) == ("1", "3")
    assert section["rows"] == [
        ["burn", "0.300", "0.918", "+0.618"],
        ["channel", "0.534", "0.602", "+0.068"],
        ["void", "0.950", "0.823", "\u22120.127"],
        ["All defect types", "0.901 [0.872, 0.936]", "0.764 [0.713, 0.812]", "\u22120.137"],
    ]


def test_an_inline_detector_above_the_ceiling_is_flagged() -> None:
    assert ceiling_section(with_ceiling(inline_figures()))["inline_above_ceiling"] is False
    beaten = with_ceiling(inline_figures(auroc=0.95))
    assert ceiling_section(beaten)["inline_above_ceiling"] is True


def test_ceiling_of_the_evaluated_checkpoint_carries_no_warning() -> None:
    assert ceiling_section(with_ceiling(inline_figures()))["warning"] == ""


def test_ceiling_of_another_checkpoint_is_flagged_even_with_equal_auroc() -> None:
    other = inline_figures(auroc=EVALUATED_AUROC, sha256="cd" * 32)
    warning = ceiling_section(with_ceiling(other))["warning"]
    assert "cdcdcdcdcdcd" in warning and "abababababab" in warning
    assert "another model version" in warning


@pytest.mark.parametrize(
    ("studied_auroc", "stale"),
    [(EVALUATED_AUROC, False), (EVALUATED_AUROC + 5e-7, False), (0.80, True)],
)
def test_without_a_recorded_hash_the_overall_auroc_decides(
    studied_auroc: float, stale: bool
) -> None:
    unhashed = inline_figures(auroc=studied_auroc, sha256=None)
    warning = ceiling_section(with_ceiling(unhashed))["warning"]
    assert ("another model version" in warning) is stale
    assert bool(warning) is stale


def test_monitor_hash_of_another_detector_is_not_taken_for_the_evaluated_one() -> None:
    hashed_elsewhere = with_ceiling(inline_figures(auroc=0.80), monitor_detector="plain_ae")
    warning = ceiling_section(hashed_elsewhere)["warning"]
    assert "AUROC 0.800000 differs from this evaluation's 0.764100" in warning


def test_a_study_that_cannot_be_matched_to_this_model_says_so() -> None:
    bare = {"detector": "attention_ae", "per_type_auroc": {}}
    warning = ceiling_section(with_ceiling(bare))["warning"]
    assert (
        warning == "Warning: whether the study's inline figures are this model's is not recorded."
    )


def test_ceiling_without_an_inline_detector_leaves_its_column_not_recorded() -> None:
    section = ceiling_section(with_ceiling(None))
    assert not section["inline_recorded"] and section["warning"] == ""
    assert [row[2] for row in section["rows"]] == ["not recorded"] * 4
    assert [row[3] for row in section["rows"]] == ["\u2014"] * 4


@pytest.mark.parametrize("value", ["absent", None])
def test_missing_studies_are_not_recorded(value: Any) -> None:
    studies = {} if value == "absent" else {RESOLUTION.key: None, CEILING.key: None}
    documents = evidence(studies=studies)
    for section, study in (
        (resolution_section(documents), RESOLUTION),
        (ceiling_section(documents), CEILING),
    ):
        assert section["recorded"] is False
        assert section["note"].startswith("not recorded") and study.script in section["note"]


def test_the_rendered_dossier_shows_both_studies(tmp_path: Path) -> None:
    paths = make_world(tmp_path)

    def add_studies(evaluation: dict[str, Any]) -> None:
        evaluation["modes"]["inline"]["working_resolution"] = [32, 384]
        evaluation[RESOLUTION.key] = resolution_study()
        evaluation[CEILING.key] = ceiling_study()  # its inline checkpoint is not the fixture's

    html_before = render(paths)
    edit_json(paths.evidence_dir / "evaluate" / "evaluation.json", add_studies)
    html = render(paths)
    assert "Working-resolution study: not recorded (evaluation.json" in html_before
    assert "Detectability ceiling: not recorded (evaluation.json" in html_before
    assert "Working resolution (measured choice)" in html and "32 x 384 (chosen)" in html
    assert "trained on 1680 labelled defective images" in html
    assert '<td class="num">0.901 [0.872, 0.936]</td>' in html
    assert "Warning: the study scored the inline checkpoint with sha256" in html
    assert "Comparison with the current champion" in html
    performance = build(paths)["performance"]
    leaves = [*_leaves(performance["resolution"]), *_leaves(performance["ceiling"])]
    assert all(isinstance(leaf, str | bool) for leaf in leaves), "templates format text only"


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def build(paths: EvidencePaths) -> dict[str, Any]:
    return build_context(paths, "inline", system="sealaudit", default_model_name="sealaudit-inline")


def render(paths: EvidencePaths) -> str:
    context = build_context(
        paths, "inline", system="sealaudit", default_model_name="sealaudit-inline"
    )
    return render_html(context, TEMPLATES)


def test_the_inline_column_is_this_evaluations_own_when_it_has_per_type_auroc() -> None:
    documents = with_ceiling(inline_figures(auroc=0.5, sha256="cd" * 32))  # a stale copy
    inline = documents["evaluation"]["modes"]["inline"]
    inline["ranking"] = {"auroc": 0.8123, "ci": {"auroc": [0.76, 0.86]}}
    inline["per_defect_type"] = {"burn": {"recall": 0.9, "auroc": 0.99}, "void": {"auroc": 0.8}}
    section = ceiling_section(documents)
    assert section["warning"] == ""  # the stale copy is not used, so it cannot mislead
    assert section["rows"][0] == ["burn", "0.300", "0.990", "+0.690"]
    assert section["rows"][-1][2] == "0.812 [0.760, 0.860]"


def test_a_ceiling_at_another_working_size_is_flagged() -> None:
    documents = with_ceiling(inline_figures(), working_resolution=[64, 768])
    assert (
        "measured at 32 x 384, this model runs at 64 x 768" in ceiling_section(documents)["warning"]
    )
