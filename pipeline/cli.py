"""The ``sealaudit`` console script: one entry point for humans.

Each command group lives in ``pipeline/commands/<group>.py`` with a ``register(subparsers)``
function that sets ``handler`` on its parser; modules are imported lazily by name so a command's
heavy dependencies load only when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pipeline import __version__
from pipeline.errors import SealauditError
from pipeline.runtime import configure_logging

COMMAND_MODULES = (
    "pipeline.commands.data",
    "pipeline.commands.registry",
    "pipeline.commands.dossier",
    "pipeline.commands.monitor",
    "pipeline.commands.inspect",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every registered command group."""
    parser = argparse.ArgumentParser(
        prog="sealaudit", description="Traceable visual inspection of packaging seals."
    )
    parser.add_argument("--version", action="version", version=f"sealaudit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def parse_size(text: str) -> tuple[int, int]:
    """``32x384`` -> (32, 384): an image size (height x width) on a command line."""
    height, _, width = text.lower().partition("x")
    if not (height.isdigit() and width.isdigit()):
        raise argparse.ArgumentTypeError(f"size {text!r} must look like 32x384")
    return int(height), int(width)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; user errors print one line and return exit code 2."""
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        return int(args.handler(args) or 0)
    except SealauditError as error:
        print(f"sealaudit: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
