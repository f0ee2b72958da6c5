"""The distribution-free (success-run) size bound, used when no POD curve can be fitted.

With ``n = ceil(ln(1 - C) / ln(R))`` events all detected (29 for R = 0.90, C = 0.95), a
detection probability below R would give ``n`` hits out of ``n`` with probability below
``1 - C``. Applied to the events of size ``>= s``, it shows POD ``>= R`` at confidence ``C``
over the sizes ``>= s`` as tested; with POD rising in size, ``s`` is a conservative stand-in
for a90/95 only when those events crowd near ``s`` (it says nothing about sizes below ``s``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def success_run_size(
    sizes: NDArray[np.float64], hits: NDArray[np.bool_], n_required: int
) -> float | None:
    """Smallest tested size ``s`` whose events of size ``>= s`` are ``n_required`` or more hits.

    Every event at or above ``s`` must be a hit; one miss ends the run.

    Args:
        sizes: characteristic defect size per event, shape (n,).
        hits: whether each event was detected, shape (n,).
        n_required: hits in a row needed (see ``zero_failure_sample_size``).

    Returns:
        ``s``, or None when no size has ``n_required`` hits at and above it without a miss.
    """
    best: float | None = None
    run = 0
    for size in np.unique(sizes)[::-1]:  # largest first; ties decided together
        at_size = sizes == size
        if not hits[at_size].all():
            break
        run += int(at_size.sum())
        if run >= n_required:
            best = float(size)
    return best
