"""The validate_data stage as DVC runs it: exit codes, one line per failure, data untouched."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline import validate_data
from pipeline.data.manifest import read_manifest
from pipeline.data.splits import write_splits
from pipeline.provenance import dataset_md5
from tests.params import section, write_params
from tests.worlds import git, write_tiny_dataset

ROOT = Path(__file__).resolve().parents[2]
PARAMS_YAML = """
validate_data:
  val_defective_share: [0.2, 0.5]
"""


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny dataset whose splits put one view of a capture event in train, its twin in test."""
    root = tmp_path_factory.mktemp("stage")
    data = write_tiny_dataset(root / "data", n_normal_events=12, n_defect_events=6)
    rows = {int(r.source_file.split(":")[2]): r for r in read_manifest(data) if r.view_tag == "12"}
    plan = {**dict.fromkeys(range(6), "train"), 6: "val", 7: "val", 12: "val"}
    plan.update(dict.fromkeys((8, 9, 10, 13, 14, 15), "test"))
    assignment = {
        r.image_id: plan[int(r.source_file.split(":")[2])]
        for r in read_manifest(data)
        if int(r.source_file.split(":")[2]) in plan
    }
    params = root / "params.yaml"
    write_params(params, PARAMS_YAML)
    write_splits(assignment, root / "clean.csv")
    assignment[rows[0].image_id] = "test"  # its twin view stays in train
    write_splits(assignment, root / "leaky.csv")
    return {"root": root, "data": data, "params": params, "leaked": Path(rows[0].image_id)}


def _main(world: dict[str, Path], splits: str, out: str, *extra: str) -> int:
    root = world["root"]
    return validate_data.main([
        "--data", str(world["data"]), "--splits", str(root / splits),
        "--params", str(world["params"]), "--out", str(root / out),
        "--validation", str(ROOT / "validation"), *extra,
    ])  # fmt: skip


def test_clean_splits_pass_with_exit_zero(world: dict[str, Path]) -> None:
    assert _main(world, "clean.csv", "clean") == 0
    document = json.loads((world["root"] / "clean" / "governance.json").read_text())
    assert document["success"] is True
    assert (world["root"] / "clean" / "summary.md").read_text().count("**Result: PASS**") == 1
    assert (world["root"] / "clean" / "image_facts.csv").is_file()
    # the tiny world widens val_defective_share past its reviewed bound: recorded, not silent
    (deviation,) = document["bound_deviations"]
    assert deviation["key"] == "val_defective_share" and deviation["in_force"] == [0.2, 0.5]
    assert deviation["reviewed"] == [0.05, 0.2] and deviation["looser"] == "wider"


def test_critical_failure_exits_one_with_a_line_naming_files_and_fix(
    world: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(world["data"])
    assert _main(world, "leaky.csv", "leaky") == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("DG-")]
    (leak,) = [line for line in lines if "capture_event_in_one_split" in line]
    assert leak.startswith("DG-07 critical")
    assert str(world["leaked"]) in leak and "straddles splits test/train" in leak
    assert "fix: rerun `dvc repro prepare`, which keeps each capture event in one split" in leak
    assert _snapshot(world["data"]) == before, "validate_data must never modify data/"
    summary = (world["root"] / "leaky" / "summary.md").read_text()
    assert "**Result: FAIL**" in summary and "capture_event_in_one_split" in summary


def test_report_only_reports_without_stopping(world: dict[str, Path]) -> None:
    assert _main(world, "leaky.csv", "explore", "--report-only") == 0
    document = json.loads((world["root"] / "explore" / "governance.json").read_text())
    assert document["success"] is False and document["report_only"] is True
    assert document["critical_failures"] >= 1


def test_missing_splits_file_is_a_one_line_input_error(
    world: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _main(world, "absent.csv", "absent") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("validate_data: error:") and "dvc repro prepare" in err[-1]


def _leaky_official_lists(src: Path, splits_dir: Path) -> None:
    """Split lists in the authors' format with their flaw: test pouches' twins in training.

    Test holds view 12 of good events 0-3 and of defect events 0-3; the twin views of events
    0 and 1 of each class sit in training, as in the published SSI revisions.
    """
    folder = splits_dir / "rev_6_Partial-10"
    folder.mkdir(parents=True)
    names = {
        cls: sorted(p.name for p in (src / cls).glob("*.bmp"))
        for cls in ("NoLabel", "seal_breach_0")
    }
    test, train = [], []
    for cls, files in names.items():
        # <class>-<tag>_<YYYYMMDD>_<HHMMSS>.bmp: the stamp after the tag names the event
        events = sorted({n.rsplit("-", 1)[1].split("_", 1)[1] for n in files if "-20_" not in n})
        for number, stamp in enumerate(events):
            twelve, twenty_three = f"{cls}-12_{stamp}", f"{cls}-23_{stamp}"
            if number < 4:
                test.append((cls, twelve))
                if number < 2:
                    train.append((cls, twenty_three))
            else:
                train += [(cls, twelve), (cls, twenty_three)]
        train += [(cls, n) for n in files if "-20_" in n]
    for name, rows in (("Testing.csv", test), ("TrainingXVal.csv", train)):
        lines = ["names,image_paths,notation_paths,classes"]
        for cls, file_name in rows:
            defective = cls == "seal_breach_0"
            notation = file_name.replace(".bmp", ".png") if defective else ""
            label = "[0 1]" if defective else "[1 0]"
            lines.append(f"{file_name},{cls}\\{file_name},{notation},{label}")
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_ssi_import_with_official_split_reports_group_leakage_and_date_and_view_confounds(
    tmp_path: Path,
) -> None:
    from pipeline import prepare
    from pipeline.data.ssi import import_ssi
    from tests.fixtures_ssi import TINY_PARAMS, make_ssi_tree

    # 8 good-only tag-20 frames beside 16 + 16 twin views: view x label V 0.34, as in SSI
    src = make_ssi_tree(
        tmp_path / "source", n_good_events=8, n_defect_events=8, n_tag20=8, with_splits=False
    )
    _leaky_official_lists(src, tmp_path / "lists")
    import_ssi(src, tmp_path / "data", TINY_PARAMS, splits_dir=tmp_path / "lists")
    plan = section(
        "prepare", strategy="official", official_revision="rev_6", val_normal=2,
        val_defect_share=0.5,
    )  # fmt: skip
    prepare.run(tmp_path / "data", plan, tmp_path / "prepare")
    # The fixture's crop is the flat seal band alone (about 10 grey levels): no blank-frame bound.
    params = section("validate_data", val_defective_share=(0.2, 0.6), min_dynamic_range=0)
    document, findings = validate_data.run(
        tmp_path / "data", tmp_path / "prepare" / "splits.csv", params, tmp_path / "out",
        ROOT / "validation",
    )  # fmt: skip
    leak = next(f for f in findings if f.id == "capture_event_in_one_split")
    assert not leak.success and leak.severity == "critical"
    assert all("straddles splits" in example for example in leak.failing_examples)
    # both good twins leak; a defective twin leaks only if prepare assigned it (val share)
    good = [e for e in leak.failing_examples if e.startswith("capture event NoLabel_")]
    assert len(good) == 2 and all("NoLabel-12_" in e and "NoLabel-23_" in e for e in good)
    assert document["confounding"]["capture_events_across_splits"] == len(leak.failing_examples)
    confound = next(f for f in findings if f.id == "capture_date_label_association")
    assert not confound.success and confound.severity == "warning"
    dates = document["confounding"]["capture_date_by_label"]["dataset"]
    assert {d for d, c in dates.items() if c["defective"]} == {"2019-09-06"}
    assert all(c["normal"] == 0 for d, c in dates.items() if d == "2019-09-06")
    assert "set prepare.strategy: random" in leak.fix  # the fix that works under official
    view = next(f for f in findings if f.id == "view_tag_label_association")
    assert not view.success and view.severity == "warning" and view.requirement_id == "DG-11"
    tags = document["confounding"]["view_tag_by_label"]["dataset"]
    assert tags["20"] == {"normal": 8, "defective": 0}
    assert document["confounding"]["view_tag_cramers_v"]["dataset"] > 0.30
    assert document["dataset"]["split_strategy"] == "official"
    failed_critical = {f.id for f in findings if not f.success and f.severity == "critical"}
    assert failed_critical == {"capture_event_in_one_split"}


def _dvc(cwd: Path, *args: str) -> None:
    env = {**os.environ, "HOME": str(cwd), "DVC_NO_ANALYTICS": "1"}
    subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, env=env, check=True)


@pytest.fixture
def dvc_repo(world: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    """A git + DVC repository whose dataset is `dvc add`-ed and committed (the world's data)."""
    repo = tmp_path / "repo"
    shutil.copytree(world["data"], repo / "data")
    git(repo, "init", "-q")
    _dvc(repo, "init", "-q")
    _dvc(repo, "add", "-q", "data")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "dataset")
    return {**world, "data": repo / "data"}


def _version_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("DG-12")]


def test_committed_dataset_passes_and_its_hash_is_dvcs(
    dvc_repo: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = yaml.safe_load((dvc_repo["data"].parent / "data.dvc").read_text())
    assert dataset_md5(dvc_repo["data"]) == recorded["outs"][0]["md5"]
    assert _main(dvc_repo, "clean.csv", "committed") == 0
    assert _version_lines(capsys) == []
    document = json.loads((dvc_repo["root"] / "committed" / "governance.json").read_text())
    (check,) = [e for e in document["expectations"] if e["id"] == "data_is_committed_version"]
    assert check["success"] and check["requirement_id"] == "DG-12"


def test_an_uncommitted_dataset_change_is_critical_until_committed(
    dvc_repo: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = dvc_repo["data"].parent
    committed = dataset_md5(dvc_repo["data"])
    # an edit the manifest does not see: every other check still passes
    (dvc_repo["data"] / "notes.txt").write_text("relabelled by hand\n", encoding="utf-8")
    changed = dataset_md5(dvc_repo["data"])
    fix = "fix: review the change, then `dvc add data` and commit data.dvc"
    assert _main(dvc_repo, "clean.csv", "edited") == 1
    (line,) = _version_lines(capsys)
    assert line.startswith("DG-12 critical [data_is_committed_version]") and line.endswith(fix)
    assert changed in line and committed in line
    # what `dvc repro` does before any stage: re-record data.dvc; still not the committed version
    _dvc(repo, "add", "-q", "data")
    assert _main(dvc_repo, "clean.csv", "recorded") == 1
    assert _version_lines(capsys)[0].startswith("DG-12 critical")
    git(repo, "commit", "-qam", "dataset: notes reviewed")
    assert _main(dvc_repo, "clean.csv", "reviewed") == 0
    assert _version_lines(capsys) == []


def test_a_dataset_outside_git_and_dvc_is_reported_not_checked(
    world: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _main(world, "clean.csv", "unversioned") == 0
    (line,) = _version_lines(capsys)
    assert line.startswith("DG-12 warning [data_version_checked]: not checked: no data.dvc")


def test_a_work_tree_data_dvc_that_is_not_the_committed_one_is_critical(
    dvc_repo: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    dvc_file = dvc_repo["data"].parent / "data.dvc"
    committed = dataset_md5(dvc_repo["data"])
    dvc_file.write_text(dvc_file.read_text().replace(committed, "0" * 32 + ".dir"))
    assert _main(dvc_repo, "clean.csv", "relabelled") == 1
    (line,) = _version_lines(capsys)
    assert f"records {'0' * 32}.dir, not the committed {committed}" in line
