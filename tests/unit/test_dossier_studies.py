"""Section 7's benchmark studies: the resolution table, the detectability ceiling next to the
inline detector, the warning when the ceiling scored another model, and "not recorded".

The documents are the fixture evidence parsed strictly, with studies built from the ones the
benchmark scripts last wrote (tests/study_world.py): no hand-built partial dict can go stale.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from pipeline import evidence
from pipeline.dossier.context import build_context
from pipeline.dossier.evidence import Documents, EvidencePaths, load_evidence
from pipeline.dossier.render import render_html
from pipeline.dossier.sections.ceiling import ceiling_section
from pipeline.dossier.sections.studies import resolution_section
from pipeline.evaluation.studies import CEILING, RESOLUTION
from pipeline.evidence import Evaluation
from tests.dossier_world import FIXTURE, TEMPLATES, edit_json, make_world
from tests.study_world import (
    CHECKPOINT_SHA256,
    FIXTURE_DATA_MD5,
    ceiling_study,
    inline_figures,
    resolution_row,
    resolution_study,
)

EVALUATED_AUROC = 0.7641


def fixture_documents() -> Documents:
    """The fixture's evidence documents, read as the dossier reads them."""
    paths = EvidencePaths(
        evidence_dir=FIXTURE,
        validation_dir=FIXTURE,
        dataset_info=FIXTURE / "dataset.json",
        dvc_lock=FIXTURE / "dvc_lock.yaml",
        data_dvc=FIXTURE / "data_dvc.yaml",
    )
    return load_evidence(paths)


def evidence_with(
    *,
    studies: dict[str, Any] | None = None,
    working_resolution: list[int] | None = None,
    monitor_sha256: str = CHECKPOINT_SHA256,
    monitor_detector: str = "attention_ae",
    own_per_type: dict[str, dict[str, Any]] | None = None,
) -> Documents:
    """The fixture documents with these studies in evaluation.json (parsed strictly), the
    inline mode at ``working_resolution`` with AUROC ``EVALUATED_AUROC``, and fit_monitor's
    checkpoint."""
    raw = json.loads((FIXTURE / "evaluate" / "evaluation.json").read_text(encoding="utf-8"))
    inline = raw["modes"]["inline"]
    inline["ranking"]["auroc"] = EVALUATED_AUROC
    inline["working_resolution"] = working_resolution or [64, 768]
    if own_per_type is not None:
        inline["per_defect_type"] = own_per_type
    raw.update(studies or {})
    documents = fixture_documents()
    checkpoint = {**documents.monitor_summary.checkpoint, "sha256": monitor_sha256}
    monitor = dataclasses.replace(
        documents.monitor_summary, detector=monitor_detector, checkpoint=checkpoint
    )
    return dataclasses.replace(
        documents, evaluation=evidence.parse(Evaluation, raw), monitor_summary=monitor
    )


def with_ceiling(inline: dict[str, Any] | None, **kwargs: Any) -> Documents:
    """Evidence with a ceiling study; the evaluated model at the study's size unless given."""
    study = ceiling_study()
    study["inline_detector"] = inline
    kwargs.setdefault("working_resolution", [32, 384])
    return evidence_with(studies={CEILING.key: study}, **kwargs)


def test_resolution_table_has_a_row_per_size_and_marks_the_chosen_one() -> None:
    study = resolution_study()
    documents = evidence_with(studies={RESOLUTION.key: study}, working_resolution=[32, 384])
    section = resolution_section(documents)
    assert section["recorded"] and section["epochs_cap"] == "25"
    assert (section["detector"], section["score"], section["split"]) == (
        study["detector"],
        study["score"],
        "val",
    )
    assert section["rows"] == [
        ["16 x 192", "0.804 [0.704, 0.854]", "1.28", "8.0"],
        ["32 x 384 (this model)", "0.862 [0.762, 0.912]", "2.56", "16.0"],
        ["64 x 768", "0.823 [0.723, 0.873]", "5.12", "32.0"],
    ]
    assert section["chosen_note"] == 'This model runs at 32 x 384 (marked "this model").'


def test_multi_seed_study_shows_paired_differences_and_what_the_rule_chose() -> None:
    rows = [resolution_row(32, 384, 0.86), resolution_row(64, 768, 0.88)]
    for row, auroc in zip(rows, (0.898, 0.914), strict=True):
        row.update(
            seeds=[0, 1],
            reference_auroc=auroc,
            reference_ci={"auroc": [auroc - 0.03, auroc + 0.02]},
            reference_per_seed=[auroc - 0.01, auroc + 0.01],
        )
    rows[1].update(reference_difference=0.016, reference_diff_ci=[-0.004, 0.035])
    rows[1].update(single_frame_p50_ms=21.04, single_frame_p95_ms=27.96)
    study = resolution_study(rows)
    study["selection"] = {
        "rule": "the paired interval must lie above 0",
        "fallback": "32x384",
        "choice": "32x384",
        "reason": "no paired difference interval lies above 0",
    }
    section = resolution_section(
        evidence_with(studies={RESOLUTION.key: study}, working_resolution=[32, 384])
    )
    assert section["not_run_note"] == "" and section["two_scale_rows"] == []
    assert "Paired difference to fallback [95 % CI]" in section["headers"]
    assert [row[3] for row in section["rows"]] == ["fallback", "+0.016 [-0.004, +0.035]"]
    assert section["headers"][-1] == "Single frame p50 / p95 ms"
    assert [row[-1] for row in section["rows"]] == ["not recorded", "21.0 / 28.0"]
    assert section["selection"] == (
        "Every size was trained with 2 seeds (0, 1); the AUROCs are seed means and the timings "
        "means. The sizes were compared on the reference set by the project's selection rule "
        "(the paired interval must lie above 0), with the working size of the training "
        "settings, 32 x 384, as the fallback. Result: no paired difference interval lies "
        "above 0."
    )


def test_a_two_scale_choice_the_model_does_not_run_is_said_and_its_figures_shown() -> None:
    rows = [resolution_row(32, 384, 0.86), resolution_row(64, 768, 0.88)]
    for row in rows:
        row.update(reference_auroc=0.9, reference_ci={"auroc": [0.87, 0.93]})
        row.update(reference_per_type_auroc={"channel": 0.79})
    study = resolution_study(rows)
    study["two_scale"] = [
        {
            "design": "32x384+64x768 max",
            "sizes": [[32, 384], [64, 768]],
            "fusion": "max",
            "normalisation": "standardised on normal val images",
            "seeds": [0, 1],
            "reference_auroc": 0.9226,
            "reference_ci": {"auroc": [0.89, 0.95]},
            "reference_per_seed": [0.92, 0.925],
            "reference_per_type_auroc": {"channel": 0.876},
            "single_frame_p50_ms_sum": 35.04,
            "reference_difference": 0.0208,
            "reference_diff_ci": [0.0099, 0.0334],
        }
    ]
    study["selection"] = {
        "rule": "the paired interval must lie above 0",
        "fallback": "32x384",
        "choice": "32x384+64x768 max",
        "reason": "it beats the fallback",
    }
    section = resolution_section(
        evidence_with(studies={RESOLUTION.key: study}, working_resolution=[32, 384])
    )
    assert section["two_scale_rows"] == [
        ["32 x 384 + 64 x 768 (max)", "0.923 [0.890, 0.950]", "+0.021 [+0.010, +0.033]", "35.0"]
    ]
    assert section["type_headers"][-1] == "32 x 384 + 64 x 768 (max)"
    assert section["type_rows"] == [["channel", "0.790", "0.790", "0.876"]]
    assert section["not_run_note"] == (
        "The rule chose 32 x 384 + 64 x 768 (max), but this model runs at 32 x 384: the chosen "
        "design is measured here, not yet built into the training pipeline, so the model is the "
        "fallback."
    )


def test_chosen_size_is_the_evaluated_one_and_the_note_says_when_it_was_not_studied() -> None:
    documents = evidence_with(studies={RESOLUTION.key: resolution_study()})
    assert resolution_section(documents)["rows"][2][0] == "64 x 768 (this model)"
    study = resolution_study([resolution_row(16, 192, 0.8), resolution_row(32, 384, 0.9)])
    section = resolution_section(evidence_with(studies={RESOLUTION.key: study}))
    assert not any("this model" in row[0] for row in section["rows"])
    assert (
        section["chosen_note"]
        == "This model runs at 64 x 768, which is not among the sizes studied."
    )


def test_ceiling_table_sets_each_defect_type_at_each_size_beside_the_inline_detector() -> None:
    section = ceiling_section(with_ceiling(inline_figures()))
    assert section["recorded"] and section["inline_recorded"]
    assert section["sizes"] == "32 x 384 and 128 x 768"
    assert section["auroc_headers"][1:3] == ["Ceiling at 32 x 384", "Ceiling at 128 x 768"]
    assert section["rows"] == [
        ["burn", "0.300", "0.400", "0.918", "+0.618", "+0.100"],
        ["channel", "0.534", "0.800", "0.602", "+0.068", "+0.266"],
        ["void", "0.950", "0.970", "0.823", "\u22120.127", "+0.020"],
        [
            "All defect types",
            "0.901 [0.872, 0.936]",
            "0.950 [0.940, 0.960]",
            "0.764 [0.713, 0.812]",
            "\u22120.137",
            "+0.049",
        ],
    ]


def test_ceiling_capability_sets_each_requirement_beside_the_inline_detector() -> None:
    study = ceiling_study()
    summary = study["sizes"][1]["summary"]["a90_95"]
    first = next(iter(summary))
    summary[first].update(mean=0.2, sd=0.01, min=0.19, max=0.21, n_undefined=1, n_passed=2)
    documents = evidence_with(studies={CEILING.key: study}, working_resolution=[32, 384])
    rows = ceiling_section(documents)["capability_rows"]
    assert len(rows) == len(summary)
    row = rows[0]
    assert row[0].startswith(first)
    required = summary[first]["required"]
    assert row[1] == f"{required:.3g} mm"
    n_seeds = study["sizes"][0]["summary"]["n_seeds"]
    assert row[3] == f"0.2 mm (met 2/{n_seeds}; not demonstrated in 1)"
    assert first == "REQ-CHANNEL" and row[4] == "0.22 mm (met)"  # the fixture's capability.json


def test_ceiling_capability_without_capability_evidence_leaves_inline_not_recorded() -> None:
    documents = dataclasses.replace(with_ceiling(inline_figures()), capability=None)
    rows = ceiling_section(documents)["capability_rows"]
    assert rows and {row[-1] for row in rows} == {"not recorded"}


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
def test_without_the_evaluated_hash_the_overall_auroc_decides(
    studied_auroc: float, stale: bool
) -> None:
    other = inline_figures(auroc=studied_auroc, sha256="cd" * 32)
    warning = ceiling_section(with_ceiling(other, monitor_sha256=""))["warning"]
    assert ("another model version" in warning) is stale
    assert bool(warning) is stale


def test_monitor_hash_of_another_detector_is_not_taken_for_the_evaluated_one() -> None:
    hashed_elsewhere = with_ceiling(inline_figures(auroc=0.80), monitor_detector="plain_ae")
    warning = ceiling_section(hashed_elsewhere)["warning"]
    assert "AUROC 0.800000 differs from this evaluation's 0.764100" in warning


def test_ceiling_without_an_inline_detector_leaves_its_column_not_recorded() -> None:
    section = ceiling_section(with_ceiling(None))
    assert not section["inline_recorded"] and section["warning"] == ""
    assert [row[3] for row in section["rows"]] == ["not recorded"] * 4
    assert [row[4] for row in section["rows"]] == ["\u2014"] * 4
    assert [row[5] for row in section["rows"]] == ["+0.100", "+0.266", "+0.020", "+0.049"]


def test_missing_studies_are_not_recorded() -> None:
    documents = fixture_documents()  # evaluate ran without --resolution-study/--ceiling-study
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
    assert "Working resolution (measured choice)" in html and "32 x 384 (this model)" in html
    defective = ceiling_study()["reference"]["defective_images"]
    assert f"trained on {defective} labelled defective images" in html
    assert '<td class="num">0.901 [0.872, 0.936]</td>' in html
    assert "Ceiling at 128 x 768" in html
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
    own = {"burn": {"recall": 0.9, "auroc": 0.99}, "void": {"recall": 0.8, "auroc": 0.8}}
    stale_copy = inline_figures(auroc=0.5, sha256="cd" * 32)
    section = ceiling_section(with_ceiling(stale_copy, own_per_type=own))
    assert section["warning"] == ""  # the stale copy is not used, so it cannot mislead
    assert section["rows"][0] == ["burn", "0.300", "0.400", "0.990", "+0.690", "+0.100"]
    ranking = fixture_documents().evaluation.modes.inline.ranking
    assert (
        section["rows"][-1][3]
        == f"0.764 [{ranking.ci['auroc'][0]:.3f}, {ranking.ci['auroc'][1]:.3f}]"
    )


def test_a_ceiling_at_another_working_size_is_flagged() -> None:
    documents = with_ceiling(inline_figures(), working_resolution=[64, 768])
    section = ceiling_section(documents)
    assert "measured at 32 x 384, 128 x 768, this model runs at 64 x 768" in section["warning"]
    assert [row[4] for row in section["rows"]] == ["\u2014"] * 4  # no ceiling at its size


OTHER_DATA_MD5 = "c0c9a096b955ee6480193c4f8ef3786a.dir"


def test_studies_run_on_another_dataset_are_not_shown_as_this_datas_evidence() -> None:
    documents = evidence_with(
        studies={
            RESOLUTION.key: resolution_study(data_md5=OTHER_DATA_MD5),
            CEILING.key: ceiling_study(data_md5=OTHER_DATA_MD5),
        },
        working_resolution=[32, 384],
    )
    for section, study in (
        (resolution_section(documents), RESOLUTION),
        (ceiling_section(documents), CEILING),
    ):
        assert section["recorded"] is False
        assert f"{study.name} was run on another dataset" in section["note"]
        assert OTHER_DATA_MD5 in section["note"] and FIXTURE_DATA_MD5 in section["note"]
        assert "rows" not in section


def test_studies_run_on_this_dataset_are_shown_without_a_dataset_warning() -> None:
    documents = with_ceiling(inline_figures())
    assert ceiling_section(documents)["dataset_warning"] == ""
    resolution = evidence_with(studies={RESOLUTION.key: resolution_study()})
    assert resolution_section(resolution)["dataset_warning"] == ""


def test_a_study_whose_dataset_is_unknown_is_shown_labelled_as_unchecked() -> None:
    documents = evidence_with(
        studies={CEILING.key: ceiling_study(data_md5="untracked")}, working_resolution=[32, 384]
    )
    section = ceiling_section(documents)
    assert section["recorded"] is True
    assert "cannot be checked against this evaluation's dataset" in section["dataset_warning"]


def test_the_rendered_dossier_says_a_study_of_other_data_is_not_this_datas_evidence(
    tmp_path: Path,
) -> None:
    paths = make_world(tmp_path)

    def add_studies(evaluation: dict[str, Any]) -> None:
        evaluation[CEILING.key] = ceiling_study(data_md5=OTHER_DATA_MD5)

    edit_json(paths.evidence_dir / "evaluate" / "evaluation.json", add_studies)
    html = render(paths)
    assert "Detectability ceiling: not shown: the detectability ceiling study was run" in html
    assert "scored on the same test split" not in html and "undertrained" not in html


def test_a_resolution_study_with_a_reference_set_shows_its_auroc_overall_and_per_type() -> None:
    rows = [resolution_row(32, 384, 0.8), resolution_row(64, 768, 0.81)]
    for row, (overall, channel) in zip(rows, [(0.85, 0.70), (0.88, 0.78)], strict=True):
        row.update(
            reference_auroc=overall,
            reference_ci={"auroc": [overall - 0.02, overall + 0.02], "aupr": [0.5, 0.9]},
            reference_per_type_auroc={"channel": channel, "void": 0.9},
        )
    rows[0]["widths"], rows[1]["widths"] = [16, 32, 64, 128], [16, 32, 64, 128, 128]
    rows[0]["skip_levels"], rows[1]["skip_levels"] = [3], [4]
    study = resolution_study(rows)
    study["provenance"]["params"]["reference"] = {
        "synth_seed": 777,
        "normal_events": 150,
        "defect_events": 150,
    }
    section = resolution_section(
        evidence_with(studies={RESOLUTION.key: study}, working_resolution=[32, 384])
    )
    assert section["headers"][1:4] == [
        "Encoder levels",
        "Val. AUROC [95 % CI]",
        "Reference-set AUROC [95 % CI]",
    ]
    assert [row[1] for row in section["rows"]] == ["4", "5"]
    assert [row[3] for row in section["rows"]] == ["0.850 [0.830, 0.870]", "0.880 [0.860, 0.900]"]
    assert section["type_rows"] == [["channel", "0.700", "0.780"], ["void", "0.900", "0.900"]]
    assert "seed 777; 150 normal and 150 defective capture events" in section["reference"]


def test_a_resolution_study_without_a_reference_set_has_no_reference_column() -> None:
    section = resolution_section(
        evidence_with(studies={RESOLUTION.key: resolution_study()}, working_resolution=[32, 384])
    )
    assert len(section["headers"]) == 4 and section["type_rows"] == []
    assert section["reference"] == ""


def test_a_ceiling_run_in_pieces_says_how_many_seeds_its_figures_rest_on() -> None:
    study = ceiling_study()
    source = study["sizes"][1]
    source["runs"], source["pending_seeds"] = source["runs"][:1], [1, 2]
    documents = evidence_with(studies={CEILING.key: study}, working_resolution=[32, 384])
    section = ceiling_section(documents)
    seed = source["runs"][0]["seed"]
    assert section["fact_rows"][1][4] == f"{seed} (1, 2 pending)"
    assert "at 128 x 768 on 1 of 3 seeds" in section["pending"]
    assert ceiling_section(with_ceiling(inline_figures()))["pending"] == ""
