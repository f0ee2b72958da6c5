"""Context -> HTML (Jinja2, strict, autoescaped) -> PDF (WeasyPrint) with the evidence attached.

Rendering reads only the templates and the context: images are already data URIs, fonts come
from fontconfig (DejaVu), and the URL fetcher refuses every protocol except ``data:`` and
``file:``, so a dossier renders offline and the same evidence gives byte-identical HTML.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from pipeline.atomic import partial_path
from pipeline.errors import SealauditError
from pipeline.provenance import sha256_file

log = logging.getLogger(__name__)

TEMPLATE = "dossier.html.j2"
STYLESHEETS = ("dossier.css", "legal.css")  # in cascade order: the legal framing last
PDF_VARIANTS = ("pdf/a-3b", "none")


class RenderError(SealauditError):
    """The templates are missing or the PDF could not be written."""


@dataclass(frozen=True)
class RenderedDossier:
    """Paths and digests of one rendered dossier."""

    html: Path
    pdf: Path
    sha256_file: Path
    pdf_sha256: str
    html_sha256: str
    seconds: float


def quiet_weasyprint() -> None:
    """Keep WeasyPrint's per-page progress lines out of stage and command logs."""
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def environment(templates_dir: Path) -> jinja2.Environment:
    """Jinja2 environment: undefined names are errors, every value is HTML-escaped."""
    if not (Path(templates_dir) / TEMPLATE).is_file():
        raise RenderError(
            f"{Path(templates_dir) / TEMPLATE}: template missing; restore it from git"
        )
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(context: dict[str, Any], templates_dir: Path) -> str:
    """The dossier as one self-contained HTML document (stylesheet inlined)."""
    css = "\n".join(
        (Path(templates_dir) / name).read_text(encoding="utf-8") for name in STYLESHEETS
    )
    sections = {section["anchor"]: section for section in context["sections"]}
    template = environment(templates_dir).get_template(TEMPLATE)
    # The stylesheet is a tracked file, not data: it is inserted verbatim into <style>.
    return template.render(**context, sec=sections, css=Markup(css))


def write_pdf(
    html: str,
    pdf_path: Path,
    attachments: dict[str, Path],
    variant: str = "pdf/a-3b",
    rendered_at: dt.datetime | None = None,
) -> None:
    """Lay out ``html`` on A4 pages and write the PDF with ``attachments`` embedded.

    Args:
        html: the dossier HTML.
        pdf_path: output file.
        attachments: attachment name -> file to embed (evidence JSON/YAML).
        variant: ``pdf/a-3b`` (archival, allows attachments) or ``none`` (plain PDF).
        rendered_at: render time for the PDF metadata only (the HTML stays deterministic).
    """
    from weasyprint import HTML, Attachment, URLFetcher

    if variant not in PDF_VARIANTS:
        raise RenderError(f"pdf variant {variant!r}: use one of {list(PDF_VARIANTS)}")
    fetcher = URLFetcher(allowed_protocols={"data", "file"}, fail_on_errors=True)
    document = HTML(string=html, url_fetcher=fetcher).render()
    stamp = (rendered_at or dt.datetime.now(dt.UTC)).replace(microsecond=0).isoformat()
    document.metadata.created = stamp
    document.metadata.modified = stamp
    files = [
        Attachment(
            filename=str(path),
            name=name,
            description=f"Evidence file {name}",
            relationship="Source",
            url_fetcher=fetcher,
        )
        for name, path in sorted(attachments.items())
    ]
    options: dict[str, Any] = {"attachments": files}
    if variant != "none":
        options["pdf_variant"] = variant
    Path(pdf_path).parent.mkdir(parents=True, exist_ok=True)
    # WeasyPrint leaves its sRGB profile file for the garbage collector to close (PDF/A).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        document.write_pdf(str(pdf_path), **options)
        gc.collect()


def render_dossier(
    context: dict[str, Any],
    templates_dir: Path,
    out_dir: Path,
    stem: str,
    attachments: dict[str, Path],
    variant: str = "pdf/a-3b",
) -> RenderedDossier:
    """Write ``<stem>.html``, ``<stem>.pdf`` and ``<stem>.pdf.sha256`` into ``out_dir``,
    under their partial names (``pipeline.atomic``): the caller publishes them, with its own
    records, once everything is written, so a failed render leaves the previous release whole.
    """
    started = dt.datetime.now(dt.UTC)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html = render_html(context, templates_dir)
    html_path, pdf_path = out_dir / f"{stem}.html", out_dir / f"{stem}.pdf"
    partial_path(html_path).write_text(html, encoding="utf-8")
    write_pdf(html, partial_path(pdf_path), attachments, variant, rendered_at=started)
    sha_path = Path(f"{pdf_path}.sha256")
    pdf_sha256 = sha256_file(partial_path(pdf_path))
    # the sha256 line names the final PDF, not the partial it is computed from
    partial_path(sha_path).write_text(f"{pdf_sha256}  {pdf_path.name}\n", encoding="utf-8")
    seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    log.info("dossier %s: %s (%.1f s)", stem, pdf_path, seconds)
    return RenderedDossier(
        html=html_path,
        pdf=pdf_path,
        sha256_file=sha_path,
        pdf_sha256=pdf_sha256,
        html_sha256=sha256_file(partial_path(html_path)),
        seconds=seconds,
    )
