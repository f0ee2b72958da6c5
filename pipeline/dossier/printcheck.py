"""Print quality checked by machine: pure functions over the rendered PDF's text lines.

The lines come from poppler's ``pdftotext -bbox-layout`` (no extra dependency): each has its
page, box in PDF points (origin top-left) and the pdftotext block it belongs to. Every check
returns findings, one line each naming the page and what a reader would see; none means pass.
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

MM = 72.0 / 25.4
XHTML = "{http://www.w3.org/1999/xhtml}"
# reports/templates/dossier.css: @page margins (top, right, bottom, left) in mm.
PORTRAIT_MARGINS = (24.0, 17.0, 20.0, 17.0)
LANDSCAPE_MARGINS = (22.0, 15.0, 18.0, 15.0)
# Running header and footer sit in the top and bottom margins; nothing may come nearer the
# paper's edge than this (a printer's unprintable border is about 5 mm).
EDGE_MM = 5.0
TOLERANCE_PT = 1.0
MIN_FILL = 0.5
# headings that open a page of their own without being a numbered section (the cover ends there)
FRONT_MATTER = ("Contents",)
MIN_TITLE_PREFIX = 12  # a wrapped heading's first line must hold this much of the title
FORBIDDEN = (("{'", "a Python dict"), ('{"', "a JSON object"), ("None", "Python's None"))
CAPTION = re.compile(r"^(Table|Figure) (\d+)\.")
REFERENCE = re.compile(r"\bFigures? (\d+)(?:\s*(?:–|-|to|and)\s*(\d+))?")


@dataclass(frozen=True)
class Line:
    """One text line of a page: its text, box (points, y down) and pdftotext block number."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    block: int


@dataclass(frozen=True)
class Page:
    """One page: 1-based number, size in points and its text lines in reading order."""

    number: int
    width: float
    height: float
    lines: tuple[Line, ...]

    @property
    def margins(self) -> tuple[float, float, float, float]:
        """The CSS page margins (top, right, bottom, left) in points."""
        mm = LANDSCAPE_MARGINS if self.width > self.height else PORTRAIT_MARGINS
        top, right, bottom, left = (value * MM for value in mm)
        return top, right, bottom, left

    def body(self) -> list[Line]:
        """Lines inside the page's content area (not the running header or footer)."""
        top, _, bottom, _ = self.margins
        return [ln for ln in self.lines if ln.y0 >= top - 2 and ln.y1 <= self.height - bottom + 2]


def parse_bbox_xhtml(text: str) -> list[Page]:
    """Pages from ``pdftotext -bbox-layout`` output."""
    root = ET.fromstring(text)
    pages = []
    for number, page in enumerate(root.iter(f"{XHTML}page"), start=1):
        lines = []
        for block_no, block in enumerate(page.iter(f"{XHTML}block")):
            for line in block.iter(f"{XHTML}line"):
                words = [w.text or "" for w in line.iter(f"{XHTML}word")]
                x0, y0, x1, y1 = (float(line.get(k, "0")) for k in ("xMin", "yMin", "xMax", "yMax"))
                lines.append(Line(" ".join(words), x0, y0, x1, y1, block=block_no))
        pages.append(
            Page(
                number, float(page.get("width", "0")), float(page.get("height", "0")), tuple(lines)
            )
        )
    return pages


def read_pages(pdf: Path) -> list[Page]:
    """The PDF's pages with their text lines (poppler's pdftotext must be installed)."""
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-bbox-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_bbox_xhtml(result.stdout)


def text_outside_box(pages: Iterable[Page]) -> list[str]:
    """Text beyond the side margins or nearer the paper's edge than ``EDGE_MM``."""
    findings = []
    for page in pages:
        _, right, _, left = page.margins
        edge = EDGE_MM * MM
        for ln in page.lines:
            beyond = (
                ln.x0 < left - TOLERANCE_PT
                or ln.x1 > page.width - right + TOLERANCE_PT
                or ln.y0 < edge
                or ln.y1 > page.height - edge
            )
            if beyond:
                box = f"x {ln.x0:.0f}-{ln.x1:.0f} of {page.width:.0f} pt"
                findings.append(
                    f"page {page.number}: text outside the printable box ({box}): {ln.text[:60]!r}"
                )
    return findings


def fill_ratio(page: Page) -> float:
    """How far down the content area the page's text reaches (0 empty, 1 full)."""
    top, _, bottom, _ = page.margins
    body = page.body()
    if not body:
        return 0.0
    return (max(ln.y1 for ln in body) - top) / (page.height - top - bottom)


def opens_section(line: str, titles: Sequence[str]) -> bool:
    """Whether a page's first line is a section heading: a title, after its number, that the
    line holds whole or (a long title wrapped onto a second line) begins with."""
    heading = line.split(" ", 1)[1] if line[:1].isdigit() and " " in line else line
    return any(
        heading.endswith(title) or (len(heading) >= MIN_TITLE_PREFIX and title.startswith(heading))
        for title in titles
    )


def sparse_pages(
    pages: Sequence[Page], section_titles: Sequence[str], minimum: float = MIN_FILL
) -> list[str]:
    """Pages filled less than ``minimum``, unless a section ends there (the next page opens
    one of ``section_titles``) or it is the last page."""
    findings = []
    for index, page in enumerate(pages[:-1]):
        ratio = fill_ratio(page)
        if ratio >= minimum:
            continue
        following = pages[index + 1].body()
        opener = following[0].text if following else ""
        if opens_section(opener, [*section_titles, *FRONT_MATTER]):
            continue
        findings.append(
            f"page {page.number}: {ratio:.0%} filled and no section ends there "
            f"(next page opens with {opener[:50]!r})"
        )
    return findings


def orphaned_captions(pages: Iterable[Page]) -> list[str]:
    """Table captions with none of their table below them on the same page."""
    findings = []
    for page in pages:
        body = page.body()
        for ln in body:
            match = CAPTION.match(ln.text)
            if not match or match.group(1) != "Table":
                continue
            caption_end = max(other.y1 for other in body if other.block == ln.block)
            if not any(other.y0 > caption_end for other in body):
                findings.append(
                    f"page {page.number}: caption {match.group(0)!r} is the last text on its "
                    "page; its table starts on the next"
                )
    return findings


def forbidden_tokens(pages: Iterable[Page]) -> list[str]:
    """Raw program values in the text: a dict (``{'``, ``{"``) or ``None``."""
    findings = []
    for page in pages:
        for ln in page.lines:
            for token, what in FORBIDDEN:
                pattern = rf"\b{token}\b" if token.isalnum() else re.escape(token)
                if re.search(pattern, ln.text):
                    findings.append(f"page {page.number}: {what} in the text: {ln.text[:70]!r}")
    return findings


def unreferenced_figures(pages: Iterable[Page]) -> list[str]:
    """Figures whose number no text outside their own caption mentions."""
    captioned: dict[int, int] = {}
    referenced: set[int] = set()
    for page in pages:
        for ln in page.lines:
            caption = CAPTION.match(ln.text)
            if caption and caption.group(1) == "Figure":
                captioned.setdefault(int(caption.group(2)), page.number)
            own = int(caption.group(2)) if caption and caption.group(1) == "Figure" else None
            rest = ln.text[caption.end() :] if caption else ln.text
            for first, last in REFERENCE.findall(rest):
                referenced.update(set(range(int(first), int(last or first) + 1)) - {own})
    return [
        f"page {page}: Figure {number} is never referred to in the text"
        for number, page in sorted(captioned.items())
        if number not in referenced
    ]


def all_findings(pages: Sequence[Page], section_titles: Sequence[str]) -> list[str]:
    """Every check's findings, in check order."""
    return [
        *text_outside_box(pages),
        *sparse_pages(pages, section_titles),
        *orphaned_captions(pages),
        *forbidden_tokens(pages),
        *unreferenced_figures(pages),
    ]


def render_pngs(pdf: Path, folder: Path, dpi: int = 50) -> list[Path]:
    """Every page as a PNG in ``folder`` (poppler's pdftoppm), for a person to look at."""
    folder.mkdir(parents=True, exist_ok=True)
    prefix = folder / pdf.stem
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True)
    return sorted(folder.glob(f"{pdf.stem}-*.png"))
