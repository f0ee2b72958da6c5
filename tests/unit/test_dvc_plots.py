"""``dvc plots show`` renders offline: the project's HTML template carries vega inline.

DVC's default page loads vega, vega-lite and vega-embed from a CDN, so the plots of an
air-gapped audit machine stay blank. ``.dvc/config`` points ``plots.html_template`` at
``.dvc/plots_offline.html``, which has the libraries inline and no ``scripts`` placeholder
(where DVC would put its CDN tags). The tiny world is a DVC repository with the project's
``.dvc/config`` and template, one CSV plot and one image plot; the real ``dvc`` CLI renders it.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / ".dvc" / "plots_offline.html"


def _dvc(repo: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "dvc", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def plots_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _dvc(repo, "init", "--no-scm", "-q")
    shutil.copy(ROOT / ".dvc" / "config", repo / ".dvc" / "config")
    shutil.copy(TEMPLATE, repo / ".dvc" / TEMPLATE.name)
    (repo / "roc.csv").write_text("fpr,tpr\n0,0\n0.1,0.6\n1,1\n", encoding="utf-8")
    Image.new("RGB", (8, 8), "white").save(repo / "roc.png")
    (repo / "dvc.yaml").write_text(
        "plots:\n  - roc.csv:\n      x: fpr\n      y: tpr\n  - roc.png\n", encoding="utf-8"
    )
    return repo


def test_the_project_config_names_the_offline_template() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / ".dvc" / "config")
    assert config["plots"]["html_template"] == TEMPLATE.name  # relative to .dvc/
    assert "{plot_divs}" in TEMPLATE.read_text(encoding="utf-8")


def test_dvc_plots_show_loads_no_script_from_the_network(plots_repo: Path) -> None:
    _dvc(plots_repo, "plots", "show")
    page = (plots_repo / "dvc_plots" / "index.html").read_text(encoding="utf-8")
    sources = re.findall(r"<script[^>]*\bsrc\s*=\s*[\"']?([^\"'\s>]+)", page, flags=re.I)
    assert sources == [], f"scripts loaded from {sources}"
    assert "cdn." not in page.lower()
    assert "window.vegaEmbed=" in page  # the library is inline...
    assert page.count("vegaEmbed('#") == 1  # ...and the CSV plot calls it
    assert "static/workspace_roc.png" in page  # the image plot is a local file


def test_rendered_plots_are_ignored_by_git() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/dvc_plots/" in ignored
