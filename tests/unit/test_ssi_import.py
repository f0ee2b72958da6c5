"""The SSI importer: canonical layout from SSI-style frames, official splits, clear failures."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import math
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline import cli
from pipeline.config import ParamsError
from pipeline.data.images import load_row_mask
from pipeline.data.manifest import DatasetError, read_manifest
from pipeline.data.ssi import SOURCE_HASHES_NAME, import_ssi
from pipeline.data.ssi_origin import PublishedSource, origin
from pipeline.prepare import read_official
from pipeline.provenance import sha256_file
from tests.fixtures_ssi import TINY_PARAMS, make_ssi_tree, ssi_splits_dir, write_bmp16_gray
from tests.params import write_params

GOOD_ID = "NoLabel-12_20190905_035717"
DEFECT_ID = "seal_breach_0-12_20190906_010020"


def _tree_hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def src(tmp_path: Path) -> Path:
    return make_ssi_tree(tmp_path)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("ssi")
    source = make_ssi_tree(root)
    splits = ssi_splits_dir(source)
    before = (_tree_hashes(source), _tree_hashes(splits))
    out = root / "data"
    import_ssi(source, out, TINY_PARAMS, splits_dir=splits)
    assert (_tree_hashes(source), _tree_hashes(splits)) == before, "import modified its inputs"
    return source, out


def test_manifest_rows_describe_each_frame(imported: tuple[Path, Path]) -> None:
    source, out = imported
    rows = {row.image_id: row for row in read_manifest(out)}
    assert len(rows) == 3 * 2 + 1 + 2 * 2
    good, bad = rows[GOOD_ID], rows[DEFECT_ID]
    assert (good.label, good.defect_type, good.mask_path) == (0, "none", "")
    assert (bad.label, bad.defect_type, bad.mask_path) == (
        1,
        "seal_breach",
        f"masks/{DEFECT_ID}.png",
    )
    assert (good.view_tag, good.capture_date, good.capture_time) == ("12", "2019-09-05", "03:57:17")
    assert good.capture_event == "NoLabel_20190905_035717"
    assert good.source_file == f"NoLabel/{GOOD_ID}.bmp"
    assert (source / good.source_file).is_file()
    for row in rows.values():
        assert row.sha256 == sha256_file(out / row.image_path)
        with Image.open(out / row.image_path) as image:
            assert (image.mode, image.size) == ("L", (64, 16))
        assert bool(row.mask_path) == bool(row.label)


def test_defect_truth_is_measured_on_the_full_resolution_mask(
    imported: tuple[Path, Path], tmp_path: Path
) -> None:
    # The fixture's breach is 3 full-res px wide, 60 grey levels darker than the band.
    for row in read_manifest(imported[1]):
        if row.label:
            assert row.defect_size == pytest.approx(3 * TINY_PARAMS.mm_per_full_res_px)
            assert (row.defect_size_unit, row.defect_form) == ("mm", "")
            assert row.defect_contrast == pytest.approx(60, abs=3)
        else:
            assert math.isnan(row.defect_size) and math.isnan(row.defect_contrast)
            assert row.defect_size_unit == row.defect_form == ""
    coarser = dataclasses.replace(TINY_PARAMS, mm_per_full_res_px=0.09)
    import_ssi(imported[0], tmp_path / "data", coarser)
    sizes = [row.defect_size for row in read_manifest(tmp_path / "data") if row.label]
    assert sizes == [pytest.approx(0.27)] * 4


def test_twin_views_share_a_capture_event_and_tag20_stands_alone(
    imported: tuple[Path, Path],
) -> None:
    rows = read_manifest(imported[1])
    events: dict[str, list[str]] = {}
    for row in rows:
        events.setdefault(row.capture_event, []).append(row.view_tag)
    assert sorted(map(sorted, events.values())) == sorted([["12", "23"]] * 5 + [["20"]])
    assert {row.capture_date for row in rows if row.label} == {"2019-09-06"}


def test_masks_follow_the_breach_and_are_binary(imported: tuple[Path, Path]) -> None:
    out = imported[1]
    for row in read_manifest(out):
        if not row.label:
            continue
        with Image.open(out / row.mask_path) as mask_file:
            values = set(np.unique(np.asarray(mask_file)).tolist())
        assert values == {0, 255}
        mask = load_row_mask(out, row)
        with Image.open(out / row.image_path) as image:
            pixels = np.asarray(image, dtype=float)
        # The breach is 60 grey levels darker than the band around it.
        assert pixels[mask].mean() < pixels[~mask][4:12].mean() - 20


def test_source_hashes_and_identity_are_recorded(imported: tuple[Path, Path]) -> None:
    source, out = imported
    with (out / SOURCE_HASHES_NAME).open(newline="") as handle:
        recorded = {r["source_file"]: r["sha256"] for r in csv.DictReader(handle)}
    assert recorded == _tree_hashes(source)
    info = json.loads((out / "dataset.json").read_text())
    assert info["source"] == "ssi"
    # a folder in the SSI layout is not credited to the published dataset
    assert info["citation"].startswith("SSI-format data of unverified origin")
    assert "7834077" not in json.dumps(info) and info["doi"] is None
    assert info["origin"] == {"verified": False, "published_list": None}
    assert info["roi"] == {"top": 20, "bottom": 40, "left": 10, "right": 190}
    assert (info["image_height"], info["image_width"]) == (16, 64)
    assert info["source_hashes"]["sha256"] == sha256_file(out / SOURCE_HASHES_NAME)
    assert info["counts"] == {"images": 11, "normal": 7, "defective": 4, "capture_events": 6}
    assert str(source) not in json.dumps(info)  # no machine-specific path


def test_official_splits_become_revisions_prepare_can_read(imported: tuple[Path, Path]) -> None:
    out = imported[1]
    rev1, rev6 = read_official(out, "rev_1"), read_official(out, "rev_6")
    assert len(rev1) == 11 and len(rev6) == 10
    test = {k for k, v in rev1.items() if v == "test"}
    assert test == {k for k, v in rev6.items() if v == "test"}
    assert test == {
        GOOD_ID,
        DEFECT_ID,
        GOOD_ID.replace("-12_", "-23_"),
        DEFECT_ID.replace("-12_", "-23_"),
    }
    assert sum(v == "train" and k.startswith("seal") for k, v in rev6.items()) == 1


def test_roi_crop_is_exact(tmp_path: Path) -> None:
    # Known answer: a frame white outside the ROI and black inside must import as all black.
    source = make_ssi_tree(
        tmp_path, n_good_events=1, n_defect_events=0, n_tag20=0, with_splits=False
    )
    p = TINY_PARAMS
    frame = np.full((p.frame_height, p.frame_width), 255, dtype=np.uint8)
    frame[p.roi_top : p.roi_bottom, p.roi_left : p.roi_right] = 0
    for path in (source / "NoLabel").glob("*.bmp"):
        Image.fromarray(frame).save(path, format="BMP")
    import_ssi(source, tmp_path / "data", p)
    for path in (tmp_path / "data" / "images").glob("*.png"):
        with Image.open(path) as image:
            assert np.asarray(image).max() == 0


def test_equal_channel_rgb_frames_are_accepted_as_gray(src: Path, tmp_path: Path) -> None:
    path = src / "NoLabel" / f"{GOOD_ID}.bmp"
    with Image.open(path) as image:
        gray = np.asarray(image).copy()
    Image.fromarray(np.stack([gray] * 3, axis=-1)).save(path, format="BMP")
    import_ssi(src, tmp_path / "data", TINY_PARAMS)
    row = next(r for r in read_manifest(tmp_path / "data") if r.image_id == GOOD_ID)
    with Image.open(tmp_path / "data" / row.image_path) as image:
        assert image.mode == "L"


def test_hidden_files_and_windows_metadata_are_ignored(src: Path, tmp_path: Path) -> None:
    (src / ".cache").mkdir()
    (src / "NoLabel" / ".DS_Store").write_bytes(b"x")
    (src / "NoLabel" / "Thumbs.db").write_bytes(b"x")
    import_ssi(src, tmp_path / "data", TINY_PARAMS)
    assert len(read_manifest(tmp_path / "data")) == 11


def test_existing_dataset_needs_force(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    import_ssi(src, out, TINY_PARAMS)
    with pytest.raises(DatasetError, match="--force"):
        import_ssi(src, out, TINY_PARAMS)
    import_ssi(src, out, TINY_PARAMS, splits_dir=ssi_splits_dir(src), force=True)
    assert (out / "official_splits.csv").is_file()


def _rewrite(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def _first(src: Path, folder: str, pattern: str = "*") -> Path:
    return sorted((src / folder).glob(pattern))[0]


def _truncate(path: Path) -> None:
    _rewrite(path, path.read_bytes()[: len(path.read_bytes()) // 2])


def _colour(path: Path) -> None:
    with Image.open(path) as image:
        rgb = np.stack([np.asarray(image)] * 3, axis=-1).copy()
    rgb[..., 0] = 255 - rgb[..., 0]
    Image.fromarray(rgb).save(path, format="BMP")


def _resize_frame(path: Path) -> None:
    Image.new("L", (201, 60)).save(path, format="BMP")


def _empty_folder(*folders: Path) -> None:
    for folder in folders:
        shutil.rmtree(folder)
        folder.mkdir()


def _invert_mask(path: Path) -> None:
    with Image.open(path) as image:
        Image.fromarray(255 - np.asarray(image)).save(path)


def _bmp16(path: Path) -> None:
    with Image.open(path) as image:
        write_bmp16_gray(path, np.asarray(image))


BAD_SOURCES: dict[str, tuple[Callable[[Path], object], str]] = {
    "corrupt bmp": (lambda s: _rewrite(_first(s, "NoLabel"), b"BM not really"), "cannot decode"),
    "text named bmp": (
        lambda s: _rewrite(_first(s, "NoLabel"), b"name,label\n"),
        r"NoLabel-12_20190905_035717\.bmp: cannot decode, not a BMP image .*replace it",
    ),
    "16-bit grey bmp": (
        lambda s: _bmp16(_first(s, "NoLabel")),
        r"NoLabel-12_20190905_035717\.bmp: BMP with 16 bits per pixel.*8-bit grayscale BMP",
    ),
    "truncated bmp": (lambda s: _truncate(_first(s, "seal_breach_0")), "cannot decode"),
    "png named bmp": (
        lambda s: Image.new("L", (200, 60)).save(_first(s, "NoLabel"), format="PNG"),
        "expected BMP",
    ),
    "colour frame": (lambda s: _colour(_first(s, "NoLabel")), "colour frame"),
    "wrong frame size": (lambda s: _resize_frame(_first(s, "NoLabel")), "frame_width"),
    "wrong mask size": (
        lambda s: Image.new("L", (20, 6)).save(_first(s, "Notation")),
        "frame_width",
    ),
    "inverted mask": (lambda s: _invert_mask(_first(s, "Notation")), "inverted"),
    "mask without image": (lambda s: _first(s, "seal_breach_0").unlink(), "mask without image"),
    "defect without mask": (lambda s: _first(s, "Notation").unlink(), "without mask"),
    "mask of a good image": (
        lambda s: Image.new("L", (200, 60)).save(s / "Notation" / f"{GOOD_ID}.png"),
        "only seal_breach_0",
    ),
    "unknown folder": (lambda s: (s / "seal_breach_1").mkdir(), "unknown folder"),
    "nested dataset": (
        lambda s: (s / "EXP-PMS19" / "NoLabel").mkdir(parents=True),
        "pass .*EXP-PMS19 as SRC",
    ),
    "folder in class folder": (lambda s: (s / "NoLabel" / "old").mkdir(), "unexpected folder"),
    "bad file name": (
        lambda s: shutil.copy(_first(s, "NoLabel"), s / "NoLabel" / "img001.bmp"),
        "file name is not",
    ),
    "bad timestamp": (
        lambda s: _first(s, "NoLabel").rename(s / "NoLabel" / "NoLabel-12_20191332_035717.bmp"),
        "not a valid timestamp",
    ),
    "class in wrong folder": (
        lambda s: shutil.copy(_first(s, "NoLabel"), s / "seal_breach_0" / f"{GOOD_ID}.bmp"),
        "disagrees with folder",
    ),
    "empty source": (
        lambda s: _empty_folder(s / "NoLabel", s / "seal_breach_0"),
        "no .bmp frames",
    ),
    "missing source": (lambda s: shutil.rmtree(s), "source folder not found"),
}


@pytest.mark.parametrize("case", sorted(BAD_SOURCES))
def test_bad_source_fails_with_one_line_and_leaves_target_untouched(
    src: Path, tmp_path: Path, case: str
) -> None:
    damage, message = BAD_SOURCES[case]
    out = tmp_path / "data"
    out.mkdir()
    (out / "keep.txt").write_text("previous dataset")
    damage(src)
    with pytest.raises(DatasetError, match=message) as caught:
        import_ssi(src, out, TINY_PARAMS, force=True)
    assert "\n" not in str(caught.value) and "BytesIO" not in str(caught.value)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert not (tmp_path / ".data.staging").exists()


def _edit_list(src: Path, revision: str, name: str, old: str, new: str, count: int = 1) -> None:
    path = ssi_splits_dir(src) / revision / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, count))


BAD_SPLITS: dict[str, tuple[Callable[[Path], object], str]] = {
    "image not in SRC": (
        lambda s: _edit_list(s, "rev_1_Full-50", "Testing.csv", "035717", "035718", 2),
        "is not in SRC",
    ),
    "class disagrees": (
        lambda s: _edit_list(s, "rev_6_Partial-10", "Testing.csv", "[1 0]", "[0 1]"),
        "says seal_breach_0 but the image is in NoLabel",
    ),
    "bad classes text": (
        lambda s: _edit_list(s, "rev_6_Partial-10", "Testing.csv", "[1 0]", "good"),
        "neither",
    ),
    "wrong notation": (
        lambda s: _edit_list(s, "rev_1_Full-50", "Testing.csv", "010020.png", "010021.png"),
        "notation_paths",
    ),
    "listed twice": (
        lambda s: shutil.copy(
            ssi_splits_dir(s) / "rev_1_Full-50" / "Testing.csv",
            ssi_splits_dir(s) / "rev_1_Full-50" / "TrainingXVal.csv",
        ),
        "also listed",
    ),
    "missing Testing.csv": (
        lambda s: (ssi_splits_dir(s) / "rev_6_Partial-10" / "Testing.csv").unlink(),
        "split list not found",
    ),
    "missing column": (
        lambda s: _edit_list(s, "rev_1_Full-50", "Testing.csv", "classes", "class"),
        "missing column",
    ),
    "no revisions": (
        lambda s: _empty_folder(ssi_splits_dir(s)),
        "no rev_N folders",
    ),
    "lists without rev number": (
        lambda s: shutil.copytree(
            ssi_splits_dir(s) / "rev_6_Partial-10", ssi_splits_dir(s) / "Partial-5"
        ),
        r"Partial-5: split lists in a folder without a rev_N number .*rename it rev_<N>_Partial-5",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SPLITS))
def test_bad_split_lists_fail_before_writing(src: Path, tmp_path: Path, case: str) -> None:
    damage, message = BAD_SPLITS[case]
    damage(src)
    with pytest.raises(DatasetError, match=message):
        import_ssi(src, tmp_path / "data", TINY_PARAMS, splits_dir=ssi_splits_dir(src))
    assert not (tmp_path / "data").exists()


def test_files_under_splits_that_are_not_read_are_named_in_warnings(
    src: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    splits = ssi_splits_dir(src)
    (splits / "README.txt").write_text("lists from the authors' repository")
    (splits / "figures").mkdir()
    (splits / "rev_1_Full-50" / "Validation.csv").write_text("names\n")
    (splits / ".git").mkdir()  # hidden: not worth a warning
    with caplog.at_level("WARNING"):
        import_ssi(src, tmp_path / "data", TINY_PARAMS, splits_dir=splits)
    warned = sorted(Path(r.getMessage().split(":")[0]).name for r in caplog.records)
    assert warned == ["README.txt", "Validation.csv", "figures"]
    assert all("not imported" in r.getMessage() for r in caplog.records)


def test_windows_saved_lists_are_read(src: Path, tmp_path: Path) -> None:
    for path in ssi_splits_dir(src).rglob("*.csv"):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    import_ssi(src, tmp_path / "data", TINY_PARAMS, splits_dir=ssi_splits_dir(src))
    assert len(read_official(tmp_path / "data", "rev_1")) == 11


def test_output_inside_source_is_refused(src: Path) -> None:
    before = _tree_hashes(src)
    with pytest.raises(DatasetError, match="outside SRC"):
        import_ssi(src, src / "NoLabel", TINY_PARAMS, force=True)
    with pytest.raises(DatasetError, match="outside SRC"):
        import_ssi(src, src.parent, TINY_PARAMS, force=True)
    assert _tree_hashes(src) == before


def test_invalid_params_are_refused(src: Path, tmp_path: Path) -> None:
    params = dataclasses.replace(TINY_PARAMS, roi_bottom=TINY_PARAMS.frame_height + 1)
    with pytest.raises(ParamsError, match="roi_bottom"):
        import_ssi(src, tmp_path / "data", params)
    params = dataclasses.replace(TINY_PARAMS, mm_per_full_res_px=0.0)
    with pytest.raises(ParamsError, match="mm_per_full_res_px"):
        import_ssi(src, tmp_path / "data", params)


def _params_file(tmp_path: Path) -> Path:
    return write_params(tmp_path / "params.yaml", {"import_ssi": dataclasses.asdict(TINY_PARAMS)})


def test_cli_imports_and_reports_errors_in_one_line(
    src: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params, out = _params_file(tmp_path), tmp_path / "data"
    args = ["data", "import-ssi", str(src), "--out", str(out), "--params", str(params)]
    assert cli.main([*args, "--splits", str(ssi_splits_dir(src))]) == 0
    assert len(read_manifest(out)) == 11
    capsys.readouterr()
    _resize_frame(src / "NoLabel" / f"{GOOD_ID}.bmp")
    assert cli.main([*args, "--force"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("sealaudit: error: ")
    assert f"{GOOD_ID}.bmp" in err[0] and "import_ssi.frame_width" in err[0]
    assert len(read_manifest(out)) == 11  # the previous import is still there


def test_same_source_gives_byte_identical_dataset(src: Path, tmp_path: Path) -> None:
    import_ssi(src, tmp_path / "a", TINY_PARAMS, splits_dir=ssi_splits_dir(src))
    import_ssi(src, tmp_path / "b", TINY_PARAMS, splits_dir=ssi_splits_dir(src))
    assert _tree_hashes(tmp_path / "a") == _tree_hashes(tmp_path / "b")


def test_empty_mask_in_roi_is_recorded(src: Path, tmp_path: Path) -> None:
    mask = np.zeros((60, 200), dtype=np.uint8)
    mask[2:6, 50:60] = 255  # above the ROI rows 20:40
    Image.fromarray(mask).save(src / "Notation" / f"{DEFECT_ID}.png")
    import_ssi(src, tmp_path / "data", TINY_PARAMS)
    info = json.loads((tmp_path / "data" / "dataset.json").read_text())
    assert info["masks_empty_in_roi"] == [DEFECT_ID]
    digest = hashlib.sha256((src / "Notation" / f"{DEFECT_ID}.png").read_bytes()).hexdigest()
    with (tmp_path / "data" / SOURCE_HASHES_NAME).open(newline="") as handle:
        recorded = {r["source_file"]: r["sha256"] for r in csv.DictReader(handle)}
    assert recorded[f"Notation/{DEFECT_ID}.png"] == digest


def _fail_on(monkeypatch: pytest.MonkeyPatch, step: Callable[[Path, Path], bool]) -> None:
    """Make ``os.rename`` raise for the swap step ``step(source, destination)`` picks."""
    real_rename = os.rename

    def rename(source: str | Path, destination: str | Path) -> None:
        if step(Path(source), Path(destination)):
            raise OSError(13, "injected failure", str(source))
        real_rename(source, destination)

    monkeypatch.setattr(os, "rename", rename)


SWAP_STEPS: dict[str, Callable[[Path, Path], bool]] = {
    "old aside": lambda source, _: source.name == "data",
    "new into place": lambda source, _: ".data.staging" in source.parts,
}


@pytest.mark.parametrize("step", sorted(SWAP_STEPS))
def test_failed_swap_keeps_the_old_dataset_whole_and_strands_nothing(
    src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    out = tmp_path / "data"
    import_ssi(src, out, TINY_PARAMS)
    before = _tree_hashes(out)
    (src / "NoLabel" / f"{GOOD_ID}.bmp").unlink()  # the new import differs from the old
    _fail_on(monkeypatch, SWAP_STEPS[step])
    with pytest.raises(DatasetError, match="could not move the new dataset into place"):
        import_ssi(src, out, TINY_PARAMS, splits_dir=None, force=True)
    assert _tree_hashes(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["SSI", "data", "splits"]


def test_leftover_backup_of_an_interrupted_swap_is_refused(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    import_ssi(src, out, TINY_PARAMS)
    (tmp_path / ".data.previous").mkdir()
    with pytest.raises(DatasetError, match="interrupted dataset swap"):
        import_ssi(src, out, TINY_PARAMS, force=True)
    assert (tmp_path / ".data.previous").is_dir() and len(read_manifest(out)) == 11


def test_forced_import_replaces_the_folder_and_leaves_no_backup(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    import_ssi(src, out, TINY_PARAMS)
    (out / "stale.txt").write_text("from the old dataset")
    import_ssi(src, out, TINY_PARAMS, force=True)
    assert not (out / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["SSI", "data", "splits"]


def test_forced_import_into_a_symlinked_folder_keeps_the_link(src: Path, tmp_path: Path) -> None:
    real = tmp_path / "disk" / "dataset"
    real.mkdir(parents=True)
    link = tmp_path / "data"
    link.symlink_to(real, target_is_directory=True)
    import_ssi(src, link, TINY_PARAMS)
    import_ssi(src, link, TINY_PARAMS, force=True)
    assert link.is_symlink() and len(read_manifest(real)) == 11


def test_an_import_whose_source_hashes_are_published_is_credited_to_that_release(
    imported: tuple[Path, Path],
) -> None:
    out = imported[1]
    digest = sha256_file(out / SOURCE_HASHES_NAME)
    release = PublishedSource(
        "ssi-zenodo-7834077-v1", digest, "Zanon Diaz et al. 2024", "CC BY 4.0", {"images": "x"}
    )
    credited = origin(digest, (release,))
    assert credited["citation"] == "Zanon Diaz et al. 2024" and credited["licence"] == "CC BY 4.0"
    assert credited["origin"] == {"verified": True, "published_list": "ssi-zenodo-7834077-v1"}
    other = origin("0" * 64, (release,))
    assert other["citation"].startswith("SSI-format data of unverified origin")
