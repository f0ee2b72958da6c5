"""Perceptual image hashing (dHash) and nearest-neighbour search across groups.

An exact sha256 only catches byte-identical copies; a re-encoded, re-exposed or slightly
shifted copy of the same pouch keeps its dHash within a few bits, so the Hamming distance
between hashes finds near-duplicates that would leak between splits.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# Rows compared per block in the pairwise search: bounds memory at block x N x bytes.
_BLOCK = 256


def dhash(image: np.ndarray, rows: int = 8, cols: int = 32) -> np.ndarray:
    """Difference hash: signs of horizontal gradients of an area-averaged thumbnail.

    Args:
        image: grayscale image, shape (H, W), any numeric dtype.
        rows: thumbnail rows.
        cols: gradient columns (the thumbnail has ``cols + 1`` columns).

    Returns:
        bool array, shape (rows * cols,): True where a pixel is darker than its right neighbour.
    """
    thumb = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32)).resize(
        (cols + 1, rows), Image.Resampling.BOX
    )
    small = np.asarray(thumb, dtype=np.float32)
    return (small[:, 1:] > small[:, :-1]).ravel()


def nearest_in_other_group(
    hashes: np.ndarray, groups: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each hash, the closest hash whose group differs (both valid, both grouped).

    Args:
        hashes: bool array (N, B), one hash per row.
        groups: str array (N,), group per row (a split); "" means ungrouped and is skipped.
        valid: bool array (N,), False where no hash could be computed.

    Returns:
        ``(index, distance)``: int array (N,) of the nearest row (-1 if none) and float array
        (N,) of its Hamming distance as a fraction of B (NaN if none).
    """
    n, bits = hashes.shape
    packed = np.packbits(hashes.astype(bool), axis=1)
    usable = valid & (groups != "")
    index = np.full(n, -1, dtype=np.int64)
    distance = np.full(n, np.nan)
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        counts = np.bitwise_count(packed[start:stop, None, :] ^ packed[None, :, :]).sum(axis=2)
        counts = counts.astype(np.float64)
        excluded = (groups[start:stop, None] == groups[None, :]) | ~usable[None, :]
        counts[excluded | ~usable[start:stop, None]] = np.inf
        best = np.argmin(counts, axis=1)
        found = np.isfinite(counts[np.arange(stop - start), best])
        index[start:stop] = np.where(found, best, -1)
        distance[start:stop] = np.where(found, counts[np.arange(stop - start), best] / bits, np.nan)
    return index, distance
