"""Data governance: a clean dataset passes; every planted fault is caught by its expectation.

The GX runs use tiny worlds (36 images of 32 x 128 px) built with the real manifest writers.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import typing
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

from pipeline import validate_data
from pipeline.config import ParamsError, from_mapping
from pipeline.config.validate_data import Params
from pipeline.data.manifest import (
    MANIFEST_COLUMNS,
    DatasetError,
    ManifestRow,
    read_manifest,
    write_manifest,
)
from pipeline.data.splits import write_splits
from pipeline.governance.composition import cramers_v
from pipeline.governance.facts import read_manifest_table
from pipeline.governance.perceptual import dhash, nearest_in_other_group
from pipeline.governance.suites import SuiteError, load_suites
from pipeline.provenance import sha256_file
from tests.params import raw_section, section
from tests.worlds import commit_data_dvc, write_tiny_dataset

ROOT = Path(__file__).resolve().parents[2]
VALIDATION = ROOT / "validation"
TABLES = validate_data.TABLES
PARAMS = section("validate_data", val_defective_share=(0.2, 0.5))
N_NORMAL, N_DEFECT = 12, 6


# ----------------------------------------------------------------------------- tiny worlds
def _by_event(data: Path) -> dict[tuple[int, str], ManifestRow]:
    """(event index, view tag) -> row; the tiny world's source_file is ``tiny:<seed>:<event>``."""
    return {(int(r.source_file.split(":")[2]), r.view_tag): r for r in read_manifest(data)}


def hamming_fraction(first: np.ndarray, second: np.ndarray) -> float:
    """Share of differing bits between two bool hashes of the same length."""
    return float(np.mean(np.asarray(first, bool) != np.asarray(second, bool)))


def _clean_splits(data: Path) -> dict[str, str]:
    """train: normal 0-5; val: normal 6-7 + defect 12; test: normal 8-10 + defect 13-15."""
    plan = {**dict.fromkeys(range(6), "train"), 6: "val", 7: "val", 12: "val"}
    plan.update(dict.fromkeys((8, 9, 10, 13, 14, 15), "test"))
    return {
        row.image_id: plan[event] for (event, _), row in _by_event(data).items() if event in plan
    }


def _world(root: Path) -> tuple[Path, Path]:
    data = write_tiny_dataset(root / "data", n_normal_events=N_NORMAL, n_defect_events=N_DEFECT)
    splits = root / "splits.csv"
    write_splits(_clean_splits(data), splits)
    return data, splits


def _run(data: Path, splits: Path | None, out: Path) -> dict[str, Any]:
    document, _ = validate_data.run(data, splits, PARAMS, out, VALIDATION)
    return document


def _finding(document: dict[str, Any], check_id: str) -> dict[str, Any]:
    return next(e for e in document["expectations"] if e["id"] == check_id)


def _replace_rows(data: Path, changes: dict[str, dict[str, Any]]) -> None:
    rows = [dataclasses.replace(r, **changes.get(r.image_id, {})) for r in read_manifest(data)]
    write_manifest(rows, data / "manifest.csv")


def _plant_faults(data: Path, splits: Path) -> dict[str, str]:
    """Plant one fault per image; return fault name -> the image id it affects."""
    rows = _by_event(data)
    victim = {
        "corrupt_file": rows[0, "12"], "hash_mismatch": rows[1, "12"],
        "duplicate": rows[2, "12"], "leaked_group": rows[3, "23"],
        "missing_mask": rows[13, "12"], "defect_in_train": rows[16, "12"],
        "wrong_size": rows[4, "12"], "stray_mask": rows[5, "12"], "missing_file": rows[11, "12"],
    }  # fmt: skip
    (data / victim["corrupt_file"].image_path).write_bytes(b"not a png at all")
    pixels = np.asarray(Image.open(data / victim["hash_mismatch"].image_path)).copy()
    pixels[0, 0] ^= 1
    Image.fromarray(pixels).save(data / victim["hash_mismatch"].image_path)
    # a test image copied over a train image, manifest updated so only the duplicate is wrong
    shutil.copyfile(data / rows[8, "12"].image_path, data / victim["duplicate"].image_path)
    Image.fromarray(np.full((40, 128), 120, np.uint8)).save(data / victim["wrong_size"].image_path)
    (data / victim["missing_mask"].mask_path).unlink()
    Image.fromarray(np.zeros((32, 128), np.uint8)).save(
        data / f"masks/{victim['stray_mask'].image_id}.png"
    )
    (data / victim["missing_file"].image_path).unlink()
    _replace_rows(data, {
        victim[k].image_id: {"sha256": sha256_file(data / victim[k].image_path)}
        for k in ("duplicate", "wrong_size")
    })  # fmt: skip
    assignment = _clean_splits(data)
    assignment[victim["leaked_group"].image_id] = "test"
    assignment[rows[16, "12"].image_id] = assignment[rows[16, "23"].image_id] = "train"
    write_splits(assignment, splits)
    return {fault: row.image_id for fault, row in victim.items()}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("clean")
    data, splits = _world(root)
    commit_data_dvc(data)  # the committed dataset version (DG-12)
    return _run(data, splits, root / "out")


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, str]]:
    root = tmp_path_factory.mktemp("faulty")
    data, splits = _world(root)
    planted = _plant_faults(data, splits)
    return _run(data, splits, root / "out"), planted


# ----------------------------------------------------------------------------- GX runs
def test_clean_dataset_passes_every_expectation(clean: dict[str, Any]) -> None:
    failed = [e["id"] for e in clean["expectations"] if not e["success"]]
    assert failed == []
    assert clean["success"] is True and clean["critical_failures"] == 0 and clean["warnings"] == 0
    assert len(clean["expectations"]) == sum(s["expectations"] for s in clean["suites"])


def test_evidence_records_suite_versions_and_requirements(clean: dict[str, Any]) -> None:
    files = {s["name"]: VALIDATION / "suites" / f"{s['name']}.json" for s in clean["suites"]}
    for suite in clean["suites"]:
        assert suite["sha256"] == sha256_file(files[suite["name"]])
    for item in clean["expectations"]:
        assert item["severity"] in ("critical", "warning")
        assert item["requirement_id"].startswith("DG-") and item["ai_act"]
    assert {r["id"] for r in clean["requirements"]} == {f"DG-{n:02d}" for n in range(1, 13)}
    assert clean["provenance"]["stage"] == "validate_data"


def _fault(fault: str, check_id: str, requirement: str) -> Any:
    """A planted fault, its expectation, and the requirement the expectation serves."""
    return pytest.param(
        fault, check_id, marks=pytest.mark.assures(requirement, "HZ-03"), id=f"{fault}-{check_id}"
    )


FAULTS = [
    _fault("corrupt_file", "image_decodes", "DG-04"),
    _fault("hash_mismatch", "image_sha256_matches", "DG-03"),
    _fault("duplicate", "no_identical_images", "DG-08"),
    _fault("duplicate", "no_near_duplicate_across_splits", "DG-08"),
    _fault("leaked_group", "capture_event_in_one_split", "DG-07"),
    _fault("missing_mask", "defective_has_mask", "DG-05"),
    _fault("defect_in_train", "train_normal_only", "DG-06"),
    _fault("wrong_size", "image_height_expected", "DG-04"),
    _fault("stray_mask", "normal_has_no_mask", "DG-05"),
    _fault("missing_file", "image_file_exists", "DG-03"),
]


@pytest.mark.parametrize(("fault", "check_id"), FAULTS)
def test_planted_fault_is_caught_as_critical_naming_the_file(
    faulty: tuple[dict[str, Any], dict[str, str]], fault: str, check_id: str
) -> None:
    document, planted = faulty
    finding = _finding(document, check_id)
    assert finding["success"] is False and finding["severity"] == "critical"
    assert any(planted[fault] in example for example in finding["failing_examples"])
    assert finding["fix"]
    assert document["success"] is False


def test_one_fault_fails_one_file_check_not_a_cascade(
    faulty: tuple[dict[str, Any], dict[str, str]],
) -> None:
    document, planted = faulty
    missing = planted["missing_file"]
    for check_id in ("image_decodes", "image_sha256_matches", "image_mode_gray8"):
        assert not any(missing in e for e in _finding(document, check_id)["failing_examples"])
    assert _finding(document, "image_mode_gray8")["success"] is True


@pytest.mark.assures("DG-07", "HZ-03")
def test_leaked_group_line_names_event_splits_images_and_fix(
    faulty: tuple[dict[str, Any], dict[str, str]],
) -> None:
    document, planted = faulty
    finding = _finding(document, "capture_event_in_one_split")
    (example,) = [e for e in finding["failing_examples"] if planted["leaked_group"] in e]
    twin = planted["leaked_group"].replace("-23_", "-12_")
    assert "straddles splits test/train" in example and twin in example
    assert document["confounding"]["capture_events_across_splits"] == 1


@pytest.mark.assures("DG-10", "DG-11", "HZ-03")
def test_view_tag_confound_is_a_warning_beside_the_date_one(tmp_path: Path) -> None:
    # SSI's pattern: one view (tag 20) holds normal images only.
    data, splits = _world(tmp_path)
    rows = _by_event(data)
    _replace_rows(data, {
        row.image_id: {"view_tag": "20"}
        for (event, view), row in rows.items() if view == "23" and event < N_NORMAL
    })  # fmt: skip
    document = _run(data, splits, tmp_path / "out")
    finding = _finding(document, "view_tag_label_association")
    assert finding["success"] is False and finding["severity"] == "warning"
    assert finding["requirement_id"] == "DG-11" and finding["ai_act"]
    assert any(e.startswith("dataset: Cramér's V ") for e in finding["failing_examples"])
    assert document["success"] is True  # a warning, like the date confound
    confounding = document["confounding"]
    assert confounding["view_tag_cramers_v"]["dataset"] > PARAMS.max_date_label_association
    assert confounding["view_tag_by_label"]["dataset"]["20"] == {"normal": N_NORMAL, "defective": 0}
    assert _finding(document, "capture_date_label_association")["success"] is True
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "view_tag_label_association" in summary and "View tag x label, dataset:" in summary


def _unbalanced_test(data: Path, splits: Path, strategy: str | None) -> None:
    """Test split with 3 normal events and 1 defective (share 0.25), as a revision may have."""
    splits.parent.mkdir(exist_ok=True)
    assignment = _clean_splits(data)
    for (event, _), row in _by_event(data).items():
        if event in (13, 14):
            del assignment[row.image_id]
    write_splits(assignment, splits)
    if strategy is not None:
        summary = {"strategy": strategy, "splits": {}}
        (splits.parent / "split_summary.json").write_text(json.dumps(summary), encoding="utf-8")


@pytest.mark.parametrize(
    ("strategy", "severity", "fix"),
    [
        ("official", "warning", "the test set is the authors' (prepare.official_revision)"),
        ("random", "critical", "prepare draws prepare.test_per_class images of each class"),
        (None, "critical", "prepare draws prepare.test_per_class images of each class"),
    ],
)
def test_test_balance_is_reported_under_official_and_refused_for_own_splits(
    tmp_path: Path, strategy: str | None, severity: str, fix: str
) -> None:
    data, splits = _world(tmp_path)
    _unbalanced_test(data, tmp_path / "prepare" / "splits.csv", strategy)
    document = _run(data, tmp_path / "prepare" / "splits.csv", tmp_path / "out")
    finding = _finding(document, "test_defective_share")
    assert finding["success"] is False and finding["severity"] == severity
    assert finding["fix"].startswith(fix)
    assert finding["failing_examples"] == ["split test: 2 of 8 images defective (share 0.25)"]
    assert document["success"] is (strategy == "official")
    assert document["dataset"]["split_strategy"] == strategy


# Checks whose outcome under prepare.strategy: official is set by the authors' lists.
FIXED_BY_THE_AUTHORS = (
    "required_splits_present",
    "test_defective_share",
    "capture_event_in_one_split",
    "no_near_duplicate_across_splits",
)


def test_official_fixes_never_say_rerun_prepare_where_the_authors_lists_decide() -> None:
    fixes = {}
    for suite in load_suites(VALIDATION / "suites", TABLES):
        for item in suite.expectations:
            meta = item["meta"]
            override = meta.get("by_strategy", {}).get("official", {})
            fixes[meta["id"]] = (meta["fix"], override.get("fix", meta["fix"]))
    for check_id in FIXED_BY_THE_AUTHORS:
        own, official = fixes[check_id]
        assert "dvc repro prepare" not in official and "revision" in official, check_id
        assert own != official, check_id


def test_unknown_strategy_in_the_split_summary_is_refused(tmp_path: Path) -> None:
    data, splits = _world(tmp_path)
    (tmp_path / "split_summary.json").write_text('{"strategy": "authors"}', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"split_summary\.json: strategy 'authors'"):
        _run(data, splits, tmp_path / "out")


def test_suite_with_a_bad_strategy_override_is_refused(tmp_path: Path) -> None:
    shutil.copytree(VALIDATION / "suites", tmp_path / "suites")
    path = tmp_path / "suites" / "composition.json"
    suite = json.loads(path.read_text(encoding="utf-8"))
    suite["expectations"][2]["meta"]["by_strategy"] = {"official": {"severity": "info"}}
    path.write_text(json.dumps(suite), encoding="utf-8")
    with pytest.raises(SuiteError, match=r"composition\.json.*by_strategy severity"):
        load_suites(tmp_path / "suites", TABLES)


# ----------------------------------------------------------------------------- maths
def test_dhash_known_answers_and_robustness() -> None:
    ramp = np.tile(np.arange(256, dtype=np.float64), (64, 1))
    # brighter to the right: every pixel is darker than its right neighbour
    assert dhash(ramp).all() and not dhash(ramp[:, ::-1]).any()
    assert hamming_fraction(dhash(ramp), dhash(ramp[:, ::-1])) == 1.0
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (64, 384))
    brighter = np.clip(image * 1.1 + 5 + rng.normal(0, 2, image.shape), 0, 255)
    other = rng.uniform(0, 255, (64, 384))
    assert hamming_fraction(dhash(image), dhash(brighter)) < 0.1
    assert hamming_fraction(dhash(image), dhash(other)) > 0.3


def test_nearest_in_other_group_ignores_own_group_and_invalid_rows() -> None:
    hashes = np.array([[0, 0, 0, 0], [0, 0, 0, 1], [1, 1, 1, 1], [0, 0, 0, 0]], dtype=bool)
    groups = np.array(["train", "train", "test", "test"])
    valid = np.array([True, True, True, False])
    index, distance = nearest_in_other_group(hashes, groups, valid)
    assert index.tolist() == [2, 2, 1, -1]
    assert distance[:3].tolist() == [1.0, 0.75, 0.75] and np.isnan(distance[3])


def test_cramers_v_known_answers() -> None:
    assert cramers_v(np.array([[50, 0], [0, 50]])) == pytest.approx(1.0)
    assert cramers_v(np.array([[25, 25], [25, 25]])) == 0.0
    assert np.isnan(cramers_v(np.array([[10, 0], [20, 0]])))  # one class only


# ----------------------------------------------------------------------------- reviewed files
def test_committed_suites_load_and_their_parameters_come_from_params() -> None:
    suites = load_suites(VALIDATION / "suites", TABLES)
    names = set()
    for suite in suites:
        names |= {v["$PARAMETER"] for e in suite.expectations for v in e["kwargs"].values()
                  if isinstance(v, dict) and "$PARAMETER" in v}  # fmt: skip
    assert names <= set(PARAMS.expectation_parameters(1, 1))


def test_suite_without_severity_is_refused_naming_the_file(tmp_path: Path) -> None:
    shutil.copytree(VALIDATION / "suites", tmp_path / "suites")
    path = tmp_path / "suites" / "splits.json"
    suite = json.loads(path.read_text())
    del suite["expectations"][0]["severity"]
    path.write_text(json.dumps(suite))
    with pytest.raises(SuiteError, match=r"splits\.json.*severity"):
        load_suites(tmp_path / "suites", TABLES)


def _dictionary() -> dict[str, Any]:
    return yaml.safe_load((VALIDATION / "data_dictionary.yaml").read_text(encoding="utf-8"))


def test_data_dictionary_matches_the_manifest_contract() -> None:
    columns = _dictionary()["columns"]
    assert tuple(c["name"] for c in columns) == MANIFEST_COLUMNS
    hints = typing.get_type_hints(ManifestRow)
    assert all(c["type"] == hints[c["name"]].__name__ and c["meaning"] for c in columns)


def test_data_dictionary_and_manifest_suite_state_the_same_rules() -> None:
    (suite,) = [s for s in load_suites(VALIDATION / "suites", TABLES) if s.name == "manifest"]
    regex = {e["kwargs"]["column"]: e["kwargs"]["regex"] for e in suite.expectations
             if e["type"] == "expect_column_values_to_match_regex"}  # fmt: skip
    columns = {c["name"]: c for c in _dictionary()["columns"]}
    assert {n: c["pattern"] for n, c in columns.items() if "pattern" in c} == {
        n: r for n, r in regex.items() if n in columns and "pattern" in columns[n]
    }
    known = next(e["kwargs"]["value_set"] for e in suite.expectations
                 if e["meta"]["id"] == "defective_defect_type_known")  # fmt: skip
    assert set(known) == set(columns["defect_type"]["allowed"]) - {"none"}


@pytest.mark.assures("DG-01")
def test_tiny_world_manifest_conforms_to_the_dictionary(tmp_path: Path) -> None:
    data = write_tiny_dataset(tmp_path, n_normal_events=2, n_defect_events=2)
    assert_cells_conform_to_the_dictionary(data)


def assert_cells_conform_to_the_dictionary(data: Path) -> None:
    """Every cell of ``data/manifest.csv``, as written, meets the dictionary's pattern or set."""
    columns = _dictionary()["columns"]
    for row in read_manifest_table(data).to_dict("records"):
        for column in columns:
            value = row[column["name"]]
            if "pattern" in column:
                assert re.fullmatch(column["pattern"], str(value)), (column["name"], value)
            if "allowed" in column:
                assert value in map(str, column["allowed"]), (column["name"], value)


def test_intended_use_leaves_the_classification_to_the_user() -> None:
    intended = yaml.safe_load((VALIDATION / "intended_use.yaml").read_text(encoding="utf-8"))
    for key in ("intended_purpose", "product", "image_source", "modes", "users",
                "known_limitations", "foreseeable_misuse"):  # fmt: skip
        assert intended[key], key
    assert intended["product"]["seal_type"]
    assert intended["classification"]  # read strictly: tests/unit/test_dossier_legal.py


def test_params_refuse_meaningless_bounds() -> None:
    with pytest.raises(ParamsError, match="test_defective_share"):
        from_mapping(
            Params,
            raw_section("validate_data", test_defective_share=[0.6, 0.4]),
            where="params.yaml:validate_data",
        )
    with pytest.raises(ParamsError, match="near_duplicate_max_distance"):
        from_mapping(
            Params,
            raw_section("validate_data", near_duplicate_max_distance=0.7),
            where="params.yaml:validate_data",
        )
