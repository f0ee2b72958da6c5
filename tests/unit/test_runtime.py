"""Warnings are said once per process, known third-party ones in plain words.

The world is a real process set up like a stage (``configure_logging``) that packages two
MLflow pyfunc models, as the register stage does, and repeats one of its own warnings: its
stderr is what an operator reads.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.runtime import KNOWN_WARNINGS, SaidOnce, torch_threads

ROOT = Path(__file__).resolve().parents[2]
STAGE = textwrap.dedent(
    """
    import logging, sys
    from pathlib import Path

    import mlflow
    from mlflow.pyfunc import PythonModel

    from pipeline.runtime import configure_logging

    class Echo(PythonModel):
        def predict(self, context, model_input: list[str], params=None) -> list[str]:
            return model_input

    configure_logging()
    for name in ("inline", "monitoring"):
        mlflow.pyfunc.save_model(str(Path(sys.argv[1]) / name), python_model=Echo())
    for score in ("mse", "four_ms_ssim"):
        logging.getLogger("pipeline.evaluation.ablation").warning("ms_ssim skipped: too small")
    """
)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_stage_says_each_warning_once_and_mlflows_in_plain_words(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_DISABLE_TELEMETRY": "true"}
    run = subprocess.run(
        [sys.executable, "-c", STAGE, str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    err = run.stderr
    assert err.count("MLflow stores the packaged models as Python pickles") == 1
    assert "exercising caution" not in err  # MLflow's own words, said per model before
    assert "An input example was not provided" not in err
    assert err.count("ms_ssim skipped: too small") == 1


def test_said_once_passes_info_and_new_warnings_and_drops_repeats() -> None:
    said = SaidOnce()

    def record(level: int, text: str, name: str = "pipeline.x") -> logging.LogRecord:
        return logging.LogRecord(name, level, "", 0, text, (), None)

    assert said.filter(record(logging.INFO, "same")) and said.filter(record(logging.INFO, "same"))
    assert said.filter(record(logging.WARNING, "a"))
    assert not said.filter(record(logging.WARNING, "a"))  # a repeat
    assert said.filter(record(logging.WARNING, "a", name="pipeline.y"))  # another logger
    known = record(logging.WARNING, f"... {KNOWN_WARNINGS[0].contains} ...", "mlflow.pyfunc")
    assert said.filter(known) and known.getMessage() == KNOWN_WARNINGS[0].plain
    assert said.filter(known)  # the same record at the next filter (logger, then handler)
    silenced = record(logging.WARNING, "An input example was not provided when logging")
    assert not said.filter(silenced)


def test_torch_threads_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEALAUDIT_TORCH_THREADS", raising=False)
    assert torch_threads(2) == 2
    monkeypatch.setenv("SEALAUDIT_TORCH_THREADS", "3")
    assert torch_threads(2) == 3
