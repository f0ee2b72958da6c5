"""The rendered dossier as an auditor receives it: PDF text, pages, attachments, FAIL path.

Runs the real stage entry point on the fixture evidence (one mode, no registry) and reads the
PDF back with poppler (pdftotext, pdftoppm) and pypdf.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from pipeline import render_dossier
from pipeline.dossier import printcheck
from pipeline.dossier.context import build_context
from pipeline.dossier.evidence import EvidencePaths
from pipeline.dossier.outline import SECTIONS
from pipeline.dossier.produce import produce_dossier
from pipeline.dossier.render import render_html
from pipeline.registry.tracking import AUDIT_LOG_ENV
from tests import params as test_params
from tests.dossier_world import TEMPLATES, fail_inline_capability, make_world
from tests.worlds import write_governance, write_tiny_dataset

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
        reason="poppler-utils not installed (make install-system-deps)",
    ),
]
STEM = "sealaudit-inline-v3"
PRINT_ARTEFACTS_ENV = "SEALAUDIT_PRINT_ARTEFACTS"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[EvidencePaths, Path]:
    """The inline dossier rendered once by the stage's ``main``."""
    root = tmp_path_factory.mktemp("dossier")
    paths = make_world(root)
    # the stage's governance gate: the record judged the dataset the stage is given
    write_governance(paths.evidence_dir / "validate_data", write_tiny_dataset(root / "data", 2, 1))
    params = {
        "render_dossier": {
            "system_name": "sealaudit",
            "modes": ["inline"],
            "gallery_per_kind": 2,
            "pdf_variant": "pdf/a-3b",
        },
        "register": {
            "inline_model_name": "sealaudit-inline",
            "monitoring_model_name": "sealaudit-monitoring",
        },
    }
    test_params.write_params(root / "params.yaml", params)
    out = root / "dossiers"
    with pytest.MonkeyPatch.context() as env:
        # the registry's audit log is at hand, yet the stage reads its declared inputs only
        env.setenv(AUDIT_LOG_ENV, str(paths.audit_log))
        code = _render(paths, root)
    assert code == 0
    return paths, out


def _render(paths: EvidencePaths, root: Path) -> int:
    return render_dossier.main(
        [
            "--evidence-dir",
            str(paths.evidence_dir),
            "--validation",
            str(paths.validation_dir),
            "--params",
            str(root / "params.yaml"),
            "--out",
            str(root / "dossiers"),
            "--templates",
            str(TEMPLATES),
            "--dataset-info",
            str(paths.dataset_info),
            "--data-dvc",
            str(paths.data_dvc),
            "--dvc-lock",
            str(paths.dvc_lock),
            "--data",
            str(root / "data"),
        ]
    )


def test_stage_dossier_reads_no_registry_and_names_the_command_that_does(
    world: tuple[EvidencePaths, Path],
) -> None:
    _, out = world
    text = pdf_text(out / f"{STEM}.pdf")
    command = "sealaudit dossier --model sealaudit-inline --version 3"
    assert (
        f"Comparison with the current champion: not part of this dossier; run `{command} --compare`"
        in text
    )
    assert f"`{command}` adds it from the registry" in text
    assert "Ben Okafor" not in text and "hash chain intact" not in text


def pdf_text(pdf: Path, *pages: int) -> str:
    """Text of the PDF (or of pages first..last), whitespace collapsed."""
    args = ["pdftotext", "-enc", "UTF-8"]
    if pages:
        args += ["-f", str(pages[0]), "-l", str(pages[-1])]
    text = subprocess.run([*args, str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s+", " ", text)


def test_stage_writes_html_pdf_sha256_and_sidecar(world: tuple[EvidencePaths, Path]) -> None:
    _, out = world
    pdf = out / f"{STEM}.pdf"
    digest = hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert (out / f"{STEM}.pdf.sha256").read_text() == f"{digest}  {STEM}.pdf\n"
    sidecar = json.loads((out / f"{STEM}.json").read_text())
    assert sidecar["pdf_sha256"] == digest and sidecar["verdict"] == "PASS"
    assert sidecar["models"]["inline"]["version"] == "3" and sidecar["version"] == "3"
    assert (out / f"{STEM}.html").is_file()


def test_pdf_text_holds_every_section_and_the_evidence_figures(
    world: tuple[EvidencePaths, Path],
) -> None:
    paths, out = world
    text = pdf_text(out / f"{STEM}.pdf")
    for section in SECTIONS:
        assert section.title in text, f"section '{section.title}' missing from the PDF"
    evaluation = json.loads(paths.evidence("evaluation").read_text())
    inline = evaluation["modes"]["inline"]
    operating = inline["thresholds"][0]
    figures = [
        f"{inline['ranking']['auroc']:.3f} [{inline['ranking']['ci']['auroc'][0]:.3f}",
        f"{operating['value']:.4g}",
        f"TP {operating['test']['tp']}",
        f"FN {operating['test']['fn']}",
        f"{operating['miss_rate_upper_95']:.3f}",
        f"{evaluation['paper_reference']['inline']['auroc']:.3f}",
        "Page 1 of",
        "Figure 1.",
        "Table 1.",
    ]
    for figure in figures:
        assert figure in text, f"{figure!r} not in the PDF text"


def test_first_page_is_a4_and_states_the_verdict(world: tuple[EvidencePaths, Path]) -> None:
    _, out = world
    first = pdf_text(out / f"{STEM}.pdf", 1)
    assert "PASS" in first and "sealaudit-inline" in first and "DOS-" in first
    page = PdfReader(out / f"{STEM}.pdf").pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)


def test_pages_render_non_blank(world: tuple[EvidencePaths, Path], tmp_path: Path) -> None:
    _, out = world
    pdf = out / f"{STEM}.pdf"
    count = len(PdfReader(pdf).pages)
    for number in sorted({1, 2, count // 2, count}):
        prefix = tmp_path / f"p{number}"
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "20",
                "-gray",
                "-png",
                "-f",
                str(number),
                "-l",
                str(number),
                "-singlefile",
                str(pdf),
                str(prefix),
            ],
            check=True,
        )
        pixels = np.asarray(Image.open(f"{prefix}.png"))
        assert (pixels < 200).mean() > 0.01, f"page {number} looks blank"


def test_evidence_files_are_attached(world: tuple[EvidencePaths, Path]) -> None:
    paths, out = world
    attachments = PdfReader(out / f"{STEM}.pdf").attachments
    assert "evaluate--evaluation.json" in attachments
    assert attachments["evaluate--evaluation.json"][0] == paths.evidence("evaluation").read_bytes()
    assert "validation--protocol.yaml" in attachments


def test_html_is_deterministic_and_offline(world: tuple[EvidencePaths, Path]) -> None:
    paths, out = world
    context = build_context(
        dataclasses.replace(paths, audit_log=None),
        "inline",
        system="sealaudit",
        default_model_name="sealaudit-inline",
        gallery_per_kind=2,
    )
    html = render_html(context, TEMPLATES)
    assert html == (out / f"{STEM}.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:|//)|url\((https?:|//)""", html)


def test_failing_model_gets_a_dossier_that_says_fail_first(tmp_path: Path) -> None:
    paths = make_world(tmp_path)
    fail_inline_capability(paths.evidence_dir, "REQ-CHANNEL", 0.41)
    params = test_params.section(
        "render_dossier",
        modes=("inline",),
        gallery_per_kind=1,
        pdf_variant="none",
    )
    sidecar = produce_dossier(
        paths, "inline", params, "sealaudit-inline", TEMPLATES, tmp_path / "out"
    )
    assert sidecar["verdict"] == "FAIL" and sidecar["unmet"] == ["AC-CAP-1"]
    first = pdf_text(tmp_path / "out" / sidecar["pdf"], 1)
    assert "FAIL" in first and "AC-CAP-1" in first
    assert "REQ-CHANNEL: a90/95 0.41 mm > required 0.25 mm" in " ".join(first.split())


def test_a_render_that_fails_mid_pdf_keeps_the_previous_release_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while the PDF is written: the released HTML, PDF, sha256 and sidecar stay
    as they were, byte for byte, and no partial file is left beside them."""
    import errno

    import pipeline.dossier.render as render

    paths = make_world(tmp_path)
    params = test_params.section(
        "render_dossier", modes=("inline",), gallery_per_kind=1, pdf_variant="none"
    )
    out = tmp_path / "out"
    produce_dossier(paths, "inline", params, "sealaudit-inline", TEMPLATES, out)
    released = {path.name: path.read_bytes() for path in sorted(out.iterdir())}
    assert {f"{STEM}.pdf", f"{STEM}.pdf.sha256", f"{STEM}.json", f"{STEM}.html"} <= set(released)

    def full_disk(_html: str, pdf_path: Path, *_args: object, **_kwargs: object) -> None:
        Path(pdf_path).write_bytes(b"%PDF-1.7 truncated")
        raise OSError(errno.ENOSPC, "No space left on device", str(pdf_path))

    monkeypatch.setattr(render, "write_pdf", full_disk)
    with pytest.raises(OSError, match="No space left"):
        produce_dossier(paths, "inline", params, "sealaudit-inline", TEMPLATES, out)
    assert {path.name: path.read_bytes() for path in sorted(out.iterdir())} == released


def print_artefacts(tmp_path: Path, name: str) -> Path:
    """Where page PNGs go: ``$SEALAUDIT_PRINT_ARTEFACTS`` (kept by CI) or the test's tmp dir."""
    root = os.environ.get(PRINT_ARTEFACTS_ENV)
    return (Path(root) if root else tmp_path) / name


def test_print_quality_is_checked_by_machine(
    world: tuple[EvidencePaths, Path], tmp_path: Path
) -> None:
    """No text outside the printable box, no sparse page mid-section, no caption parted from
    its table, no raw dict or None, every figure referred to; pages kept as PNGs."""
    _, out = world
    pdf = out / f"{STEM}.pdf"
    pages = printcheck.read_pages(pdf)
    findings = printcheck.all_findings(pages, [section.title for section in SECTIONS])
    pngs = printcheck.render_pngs(pdf, print_artefacts(tmp_path, "fixture-dossier"))
    assert len(pngs) == len(pages)
    assert findings == [], "\n".join(findings)


# Tables wider than the page; each subsection on a page of its own (sparse pages mid-section).
BROKEN_CSS = "\ntable.numbered { width: 135%; }\nh2 { break-before: page; }\n"
FIGURE_REFERENCE = (
    '<p>Figure <a class="figref" href="#fig-architecture"></a>'
    " shows the data flow of both modes.</p>"
)


def test_print_checks_fail_on_a_deliberately_broken_template(tmp_path: Path) -> None:
    """Tables wider than the page, pages left mostly blank mid-section, a raw dict and a figure
    nobody cites are caught (an orphaned caption: tests/unit/test_dossier_printcheck.py)."""
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    css = templates / "dossier.css"
    css.write_text(css.read_text(encoding="utf-8") + BROKEN_CSS, encoding="utf-8")
    system = templates / "partials" / "_system.html.j2"
    text = system.read_text(encoding="utf-8")
    assert FIGURE_REFERENCE in text
    system.write_text(text.replace(FIGURE_REFERENCE, "<p>{{ {'raw': None} }}</p>"), "utf-8")
    paths = make_world(tmp_path)
    params = test_params.section(
        "render_dossier", modes=("inline",), gallery_per_kind=1, pdf_variant="none"
    )
    sidecar = produce_dossier(
        paths, "inline", params, "sealaudit-inline", templates, tmp_path / "o"
    )
    pdf = tmp_path / "o" / sidecar["pdf"]
    pages = printcheck.read_pages(pdf)
    printcheck.render_pngs(pdf, print_artefacts(tmp_path, "broken-template"))
    assert printcheck.text_outside_box(pages)
    assert printcheck.sparse_pages(pages, [section.title for section in SECTIONS])
    assert any("a Python dict" in f for f in printcheck.forbidden_tokens(pages))
    assert any("Python's None" in f for f in printcheck.forbidden_tokens(pages))
    assert "Figure 1 is never referred to" in " ".join(printcheck.unreferenced_figures(pages))


def test_the_inline_score_is_named_as_the_glossary_defines_it(
    world: tuple[EvidencePaths, Path],
) -> None:
    _, out = world
    text = pdf_text(out / f"{STEM}.pdf")
    assert "Inline score (four_ms_ssim_path) The score the inline mode decides with" in text
    assert "1 - 4-MS-SSIM (the map's mean); with" not in text
