"""``sealaudit monitor --model``: user errors before anything is fetched (no registry needed).

The end-to-end path through a real registry is tests/integration/test_lifecycle.py.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pipeline.cli import main as cli
from pipeline.registry.tracking import TRACKING_ENV


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "lots").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(TRACKING_ENV, "")  # empty means the embedded store
    return tmp_path


def _monitor(model: str, *extra: str) -> int:
    return cli(
        ["monitor", "lots", "--model", model, "--history", "h.csv", "--report-dir", "r", *extra]
    )


def test_a_uri_that_names_no_version_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _monitor("models:/sealaudit-monitoring") == 2
    err = capsys.readouterr().err
    assert "not a registered model URI; give models:/NAME@ALIAS" in err
    assert not (repo / "r").exists()


def test_without_an_embedded_registry_it_names_make_demo_and_creates_none(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _monitor("models:/sealaudit-monitoring@shadow") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"no registry at sqlite:///{repo}/mlflow.db: run `make demo`" in err
    assert not (repo / "mlflow.db").exists()


@pytest.mark.usefixtures("repo")
def test_an_unreachable_server_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uri = f"http://127.0.0.1:{port}"
    monkeypatch.setenv(TRACKING_ENV, uri)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    assert _monitor("models:/sealaudit-monitoring@champion") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"cannot reach the registry at {uri} ([Errno" in err
    assert "start the tracking server or set MLFLOW_TRACKING_URI" in err


@pytest.mark.usefixtures("repo")
def test_checkpoint_goes_with_reference_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert _monitor("models:/sealaudit-monitoring@shadow", "--checkpoint", "model.pt") == 2
    assert "a registered model packages its own checkpoint" in capsys.readouterr().err


@pytest.mark.usefixtures("repo")
def test_reference_and_model_are_exclusive() -> None:
    with pytest.raises(SystemExit) as exited:
        _monitor("models:/sealaudit-monitoring@shadow", "--reference", "monitor.npz")
    assert exited.value.code == 2
