"""After `make demo`: the dossiers the pipeline rendered pass the machine print checks.

Run from the repository root with the project's venv (`make check-print`). For every PDF in
`reports/dossiers/`: no text outside the printable box, no page under half filled except at a
section end, every caption on its table's page, no raw dict or `None`, every figure cited
(`pipeline/dossier/printcheck.py`, the same checks the test suite runs on its fixture dossier).
Every page is also written as a PNG under `reports/print-pages/dossiers/` for a person to look
at (CI keeps the folder). Exit 0 when every dossier passes; 1 with one line per finding.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline.dossier import printcheck
from pipeline.dossier.outline import SECTIONS

DOSSIERS = Path("reports/dossiers")
PAGES = Path("reports/print-pages/dossiers")


def main() -> int:
    pdfs = sorted(DOSSIERS.glob("*.pdf"))
    if not pdfs:
        print(f"check-print: no PDF in {DOSSIERS}; run `make demo` first", file=sys.stderr)
        return 1
    titles = [section.title for section in SECTIONS]
    failures = 0
    for pdf in pdfs:
        pages = printcheck.read_pages(pdf)
        printcheck.render_pngs(pdf, PAGES)
        findings = printcheck.all_findings(pages, titles)
        for finding in findings:
            print(f"check-print: {pdf}: {finding}", file=sys.stderr)
        failures += len(findings)
        print(f"{pdf}: {len(pages)} pages, {len(findings)} print finding(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
