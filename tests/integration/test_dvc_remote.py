"""The README's team path: `dvc push` to a shared remote, `dvc pull` on a second clone.

The tiny world is a git + DVC repository with a canonical dataset tracked by `data.dvc` and the
real `prepare` stage in its `dvc.yaml`; the remote is a local folder (what a team mounts). A
second `git clone` must get the data and the stage's cached output back byte for byte, and then
find the pipeline up to date.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.provenance import sha256_file
from tests.worlds import write_tiny_dataset

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PREPARE = {
    "seed": 0,
    "strategy": "random",
    "official_revision": "rev_6",
    "test_per_class": 3,
    "val_normal": 3,
    "val_normal_max_share": 0.3,
    "val_defect_share": 0.2,
    "stream_size": 0,
    "stream_defect_share": 0.01,
}
STAGE = {
    "cmd": "python -m pipeline.prepare --data data --params params.yaml --out artifacts/prepare",
    "deps": ["data"],
    "params": ["prepare"],
    "outs": ["artifacts/prepare/splits.csv", "artifacts/prepare/split_summary.json"],
}


def _run(cwd: Path, *args: str) -> str:
    env_python = str(Path(sys.executable).parent)
    result = subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PATH": f"{env_python}:/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(cwd)},
    )
    assert result.returncode == 0, f"{' '.join(args)}: {result.stderr[-2000:]}"
    return result.stdout


def _git(cwd: Path, *args: str) -> str:
    identity = ("-c", "user.name=Test", "-c", "user.email=test@example.com")
    return _run(cwd, "git", *identity, *args)


def _files(root: Path, *folders: str) -> dict[str, str]:
    return {
        str(path.relative_to(root)): sha256_file(path)
        for folder in folders
        for path in sorted((root / folder).rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def team_repo(tmp_path: Path) -> tuple[Path, Path]:
    """(first clone after `dvc repro` and `dvc push`, the remote folder)."""
    repo, remote = tmp_path / "alice", tmp_path / "team-storage"
    repo.mkdir()
    _git(repo, "init", "-q")
    _run(repo, sys.executable, "-m", "dvc", "init", "-q")
    _run(repo, sys.executable, "-m", "dvc", "config", "core.analytics", "false")
    _run(repo, sys.executable, "-m", "dvc", "remote", "add", "-d", "shared", str(remote))
    write_tiny_dataset(repo / "data", n_normal_events=14, n_defect_events=6)
    (repo / "params.yaml").write_text(yaml.safe_dump({"prepare": PREPARE}), encoding="utf-8")
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"prepare": STAGE}}))
    (repo / ".gitignore").write_text("/artifacts/\n", encoding="utf-8")
    _run(repo, sys.executable, "-m", "dvc", "add", "-q", "data")
    _run(repo, sys.executable, "-m", "dvc", "repro", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "dataset, pipeline and lock")
    _run(repo, sys.executable, "-m", "dvc", "push", "-q")
    return repo, remote


def test_push_then_pull_on_a_second_clone_restores_data_and_outputs(
    team_repo: tuple[Path, Path], tmp_path: Path
) -> None:
    alice, remote = team_repo
    bob = tmp_path / "bob"
    _git(tmp_path, "clone", "-q", str(alice), str(bob))
    assert not (bob / "data").exists() and not (bob / "artifacts").exists()
    _run(bob, sys.executable, "-m", "dvc", "pull", "-q")
    before = _files(alice, "data", "artifacts")
    assert _files(bob, "data", "artifacts") == before
    assert "artifacts/prepare/splits.csv" in before and len(before) > 40
    status = _run(bob, sys.executable, "-m", "dvc", "status", "-q")
    assert status.strip() == "", f"a pulled clone should be up to date: {status}"
    assert any(remote.rglob("*")), "the remote holds the pushed objects"
