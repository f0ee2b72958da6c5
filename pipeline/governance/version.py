"""The dataset version judged: is ``data/`` the version that ``data.dvc`` records in git (HEAD)?

``dvc repro`` re-records an edited ``data/`` in ``data.dvc`` before it runs any stage, so an edit
that keeps the manifest consistent would pass every other check and silently become the next
dataset version. The facts table ``version`` (one row) compares DVC's md5 of the files on disk
with the md5 of ``data.dvc`` as committed; the suite ``validation/suites/version.json`` judges it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import yaml

from pipeline.provenance import data_md5, dataset_md5

COMMITTED, UNCOMMITTED, NOT_CHECKED = "committed", "uncommitted", "not checked"


def _committed_md5(dvc_file: Path) -> str:
    """The md5 of ``dvc_file`` as committed at HEAD; ValueError says why it cannot be read."""
    try:
        result = subprocess.run(
            ["git", "show", f"HEAD:./{dvc_file.name}"],
            cwd=dvc_file.parent,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise ValueError(f"git unavailable ({error})") from error
    if result.returncode != 0:
        inside = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", "HEAD"],
            cwd=dvc_file.parent,
            capture_output=True,
            timeout=30,
        )
        if inside.returncode != 0:
            raise ValueError(f"{dvc_file} is not inside a git repository with a commit")
        raise ValueError(f"{dvc_file} is not committed in git")
    try:
        return str(yaml.safe_load(result.stdout)["outs"][0]["md5"])
    except (yaml.YAMLError, KeyError, IndexError, TypeError) as error:
        raise ValueError(f"{dvc_file} at HEAD has no outs[0].md5") from error


def version_row(data_dir: Path) -> dict[str, str]:
    """DVC's md5 of ``data_dir`` against the committed ``<data_dir>.dvc`` beside it.

    ``state`` is ``committed``, ``uncommitted`` (the data differ from the committed version)
    or ``not checked`` (no ``.dvc`` file, outside git, or not committed); ``reason`` says why.
    """
    data_dir = Path(data_dir)
    # named as given (relative in dvc.yaml), so the evidence reads the same on every machine
    dvc_file = data_dir.parent / f"{data_dir.name or data_dir.absolute().name}.dvc"
    current = dataset_md5(data_dir)
    row = {"data": data_dir.as_posix(), "data_md5": current, "committed_md5": ""}
    if not dvc_file.is_file():
        reason = f"no {dvc_file.name} beside {data_dir.as_posix()} (never `dvc add`-ed)"
        return {**row, "state": NOT_CHECKED, "reason": reason}
    try:
        committed = _committed_md5(dvc_file)
    except ValueError as error:
        return {**row, "state": NOT_CHECKED, "reason": str(error)}
    row["committed_md5"] = committed
    working = data_md5(dvc_file)
    if current == committed == working:
        reason = f"{data_dir.as_posix()} is the committed version {current}"
        return {**row, "state": COMMITTED, "reason": reason}
    if current != committed:
        reason = (
            f"{data_dir.as_posix()} hashes to {current}, but {dvc_file.name} committed in git "
            f"records {committed}: an uncommitted dataset change"
        )
    else:  # the data are the committed version, the work tree's .dvc file records another
        reason = f"{dvc_file.as_posix()} records {working}, not the committed {committed}"
    return {**row, "state": UNCOMMITTED, "reason": reason}


def version_table(data_dir: Path) -> pd.DataFrame:
    """The one-row ``version`` facts table the suite ``version`` runs on."""
    return pd.DataFrame([version_row(data_dir)])
