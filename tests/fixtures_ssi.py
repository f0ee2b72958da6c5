"""A tiny SSI-layout source tree (NoLabel/, seal_breach_0/, Notation/ + split lists) for tests.

The frames are small grayscale BMPs with a bright seal band over rows ``frame_h/3 .. 2*frame_h/3``
(exactly the ROI of ``TINY_PARAMS``) and, on defective frames, a dark vertical breach whose
pixels are the mask. Good and defective events come as twin views (tags 12 and 23 with the same
timestamp); ``n_tag20`` good-only frames of tag 20 are captured on another date, as in SSI.
"""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

import numpy as np
from PIL import Image

from tests.params import section

GOOD_DATE = dt.datetime(2019, 9, 5, 3, 57, 17)
DEFECT_DATE = dt.datetime(2019, 9, 6, 1, 0, 20)
TAG20_DATE = dt.datetime(2019, 12, 16, 4, 49, 40)
SPLITS_NAME = "splits"
REVISIONS = ("rev_1_Full-50", "rev_6_Partial-10")
TINY_PARAMS = section(
    "import_ssi",
    roi_top=20,
    roi_bottom=40,
    roi_left=10,
    roi_right=190,
    image_height=16,
    image_width=64,
    frame_height=60,
    frame_width=200,
)


def ssi_splits_dir(src: Path) -> Path:
    """Where ``make_ssi_tree`` wrote the split lists for the source ``src`` it returned."""
    return Path(src).parent / SPLITS_NAME


def make_ssi_tree(
    root: Path,
    n_good_events: int = 3,
    n_defect_events: int = 2,
    frame: tuple[int, int] = (60, 200),
    with_splits: bool = True,
    n_tag20: int = 1,
    seed: int = 0,
) -> Path:
    """Write an SSI-like source under ``root/SSI`` (and lists under ``root/splits``).

    Args:
        root: empty or new folder.
        n_good_events: good twin events (tags 12 and 23, same timestamp).
        n_defect_events: defective twin events, each frame with its Notation/ mask.
        frame: (height, width) of every frame.
        with_splits: also write ``rev_1_Full-50`` and ``rev_6_Partial-10`` lists: the first
            event of each class (both views) is the test set; rev_1 trains on all the rest,
            rev_6 on the rest less all defective frames but one.
        n_tag20: good-only frames with view tag 20 on a date of their own.
        seed: noise seed.

    Returns:
        The source folder (``root/SSI``); see ``ssi_splits_dir`` for the lists.
    """
    src = Path(root) / "SSI"
    for folder in ("NoLabel", "seal_breach_0", "Notation"):
        (src / folder).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    entries: list[tuple[str, int, int]] = []  # (file name, label, event index)
    for event in range(n_good_events):
        stamp = GOOD_DATE + dt.timedelta(minutes=7 * event)
        for tag in ("12", "23"):
            entries.append((_write_frame(src, "NoLabel", tag, stamp, frame, rng, False), 0, event))
    for index in range(n_tag20):
        stamp = TAG20_DATE + dt.timedelta(minutes=3 * index)
        entries.append((_write_frame(src, "NoLabel", "20", stamp, frame, rng, False), 0, -1))
    for event in range(n_defect_events):
        stamp = DEFECT_DATE + dt.timedelta(minutes=5 * event)
        for tag in ("12", "23"):
            name = _write_frame(src, "seal_breach_0", tag, stamp, frame, rng, True)
            entries.append((name, 1, event))
    if with_splits:
        _write_splits(ssi_splits_dir(src), entries)
    return src


def _write_frame(
    src: Path,
    cls: str,
    tag: str,
    stamp: dt.datetime,
    frame: tuple[int, int],
    rng: np.random.Generator,
    defective: bool,
) -> str:
    height, width = frame
    pixels = np.full(frame, 70.0) + rng.normal(0, 3, frame)
    pixels[height // 3 : 2 * height // 3] += 90
    name = f"{cls}-{tag}_{stamp:%Y%m%d_%H%M%S}"
    if defective:
        mask = np.zeros(frame, dtype=np.uint8)
        col = int(rng.integers(width // 4, 3 * width // 4))
        mask[height // 3 + 2 : 2 * height // 3 - 2, col : col + 3] = 255
        pixels[mask > 0] -= 60
        Image.fromarray(mask).save(src / "Notation" / f"{name}.png")
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    image.save(src / cls / f"{name}.bmp", format="BMP")
    return f"{name}.bmp"


def _write_splits(splits: Path, entries: list[tuple[str, int, int]]) -> None:
    test = [entry for entry in entries if entry[2] == 0]
    train = [entry for entry in entries if entry[2] != 0]
    defective_train = [entry for entry in train if entry[1] == 1]
    reduced = [entry for entry in train if entry[1] == 0] + defective_train[:1]
    for revision, train_rows in zip(REVISIONS, (train, reduced), strict=True):
        folder = splits / revision
        folder.mkdir(parents=True, exist_ok=True)
        _write_list(folder / "TrainingXVal.csv", train_rows)
        _write_list(folder / "Testing.csv", test)


def _write_list(path: Path, entries: list[tuple[str, int, int]]) -> None:
    lines = ["names,image_paths,notation_paths,classes"]
    for name, label, _ in entries:
        cls = "seal_breach_0" if label else "NoLabel"
        notation = name.replace(".bmp", ".png") if label else ""
        lines.append(f"{name},{cls}\\{name},{notation},{'[0 1]' if label else '[1 0]'}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_bmp16_gray(path: Path, pixels: np.ndarray) -> None:
    """Write ``pixels`` (uint8, H x W) as a 16-bit-per-pixel BMP (5 bits a channel, R = G = B).

    Pillow cannot save this format, which some capture tools write for "16-bit grey".
    """
    height, width = pixels.shape
    level = (pixels.astype(np.uint16) >> 3) & 0x1F
    packed = (level << 10) | (level << 5) | level
    stride = (2 * width + 3) // 4 * 4
    rows = [packed[y].astype("<u2").tobytes().ljust(stride, b"\0") for y in range(height)]
    body = b"".join(reversed(rows))  # BMP rows run bottom-up
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 16, 0, len(body), 2835, 2835, 0, 0)
    head = b"BM" + struct.pack("<IHHI", 14 + len(info) + len(body), 0, 0, 14 + len(info))
    path.write_bytes(head + info + body)
