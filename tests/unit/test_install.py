"""``make install`` says what it does: pip shows progress, the package build does not warn."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _recipe_lines(target_pattern: str) -> list[str]:
    """The recipe lines of the Makefile rule whose target matches ``target_pattern``."""
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(target_pattern, line))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def test_the_long_package_install_shows_pip_progress() -> None:
    installs = [line for line in _recipe_lines(r"\$\(STAMP\):") if "-e '.[test]'" in line]
    assert len(installs) == 1
    assert " -q" not in installs[0] and "--progress-bar on" in installs[0]


def test_the_package_licence_is_an_spdx_string() -> None:
    # setuptools >= 77 warns about the table form (twice per install) and will refuse it
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == "Apache-2.0"
    assert "setuptools>=77" in pyproject["build-system"]["requires"]


def test_make_test_writes_the_junit_xml_the_dossier_attaches() -> None:
    # `sealaudit dossier --test-results reports/test-results/junit.xml` reads what these write
    for target in (r"test:", r"test-fast:"):
        (pytest_line,) = [line for line in _recipe_lines(target) if "-m pytest" in line]
        assert "--junitxml=reports/test-results/junit.xml" in pytest_line
    assert "/reports/test-results/" in (ROOT / ".gitignore").read_text(encoding="utf-8")
