"""Run the README's commands exactly as written, after `make demo` (`make readme-check`).

Every fenced ```bash block between the README headings named in CHECKED_SECTIONS is run line
by line from the repository root, with the venv's bin first on PATH (as after
`source .venv/bin/activate`). A line ending in `# exit N` must exit with N (a command whose
precondition is missing says so and exits non-zero, by design); every other line must exit 0.
A user's placeholder (`LOT_DIR`, `/path/to/...`) would make a line uncheckable: the README's
checked sections use only paths that `make demo` and the commands before them create.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED_SECTIONS = ("## After `make demo`",)
# Folders the checked commands create: a rerun would meet them (`data lots` refuses to write
# over a lot), so the check refuses to start instead of deleting anyone's files.
OUTPUT_DIRS = ("lots", "heatmaps", "monitoring")
EXPECTED_EXIT = re.compile(r"#\s*exit\s+(\d+)\s*$")


def commands(readme: str) -> list[str]:
    """The command lines of the bash blocks in the checked sections, in order."""
    lines, in_section, in_block = [], False, False
    for line in readme.splitlines():
        if line.startswith("## "):
            in_section = line.strip() in CHECKED_SECTIONS
        elif in_section and line.startswith("```"):
            in_block = line.strip() == "```bash" and not in_block
        elif in_section and in_block and line.strip() and not line.lstrip().startswith("#"):
            lines.append(line.strip())
    return lines


def run(line: str, env: dict[str, str]) -> tuple[bool, str]:
    match = EXPECTED_EXIT.search(line)
    expected = int(match.group(1)) if match else 0
    result = subprocess.run(
        ["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    tail = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or [""]
    ok = result.returncode == expected
    verdict = f"{'ok' if ok else 'FAIL'} (exit {result.returncode}, want {expected})"
    return ok, f"{verdict}: {line}\n    {tail[0]}"


def main() -> int:
    left = [name for name in OUTPUT_DIRS if (ROOT / name).exists()]
    if left:
        print(f"README check: {', '.join(left)} exist from an earlier run; move them away "
              "and rerun", file=sys.stderr)  # fmt: skip
        return 1
    found = commands((ROOT / "README.md").read_text(encoding="utf-8"))
    if not found:
        print(f"README.md: no bash block under {CHECKED_SECTIONS}", file=sys.stderr)
        return 1
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    results = [run(line, env) for line in found]
    for _, report in results:
        print(report)
    failed = sum(not ok for ok, _ in results)
    print(f"README check: {len(results) - failed} of {len(results)} commands as documented")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
