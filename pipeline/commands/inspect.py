"""``sealaudit inspect IMAGES... --model URI``: per-image score, threshold, PASS/REJECT, heatmap.

The model is a packaged MLflow model (``models:/sealaudit-inline@champion``, ``runs:/...`` or a
model folder), so the threshold, ROI and preprocessing are exactly those that were validated.
An unreadable image is reported on its own line and the batch goes on; the exit code is 2 when
any image could not be inspected.
"""

from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "models:/sealaudit-inline@champion"


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``inspect`` command."""
    parser = commands.add_parser("inspect", help="score images with a registered model")
    parser.add_argument("images", nargs="+", type=Path, help="8-bit grayscale PNG/BMP files")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"MLflow model URI ({DEFAULT_MODEL})"
    )
    parser.add_argument("--heatmaps", type=Path, default=None, help="folder for heatmap PNGs")
    parser.set_defaults(handler=_inspect)


def _load(uri: str) -> Any:
    from pipeline.registry.tracking import connect

    connect()
    import mlflow

    from pipeline.errors import SealauditError

    try:
        return mlflow.pyfunc.load_model(uri)
    except Exception as error:  # MLflow raises several types for a missing model
        raise SealauditError(
            f"{uri}: cannot load model ({error}); run `make demo` or name a registered version"
        ) from error


def _inspect(args: argparse.Namespace) -> int:
    import pandas as pd

    model = _load(args.model)
    want_heatmap = args.heatmaps is not None
    if args.heatmaps is not None:
        args.heatmaps.mkdir(parents=True, exist_ok=True)
    failures = 0
    print("image\tscore\tthreshold\tdecision\tthreshold_id")
    for path in args.images:
        frame = pd.DataFrame({"image_path": [str(path)]})
        try:
            row = model.predict(frame, params={"return_heatmap": want_heatmap}).iloc[0]
        except Exception as error:  # one bad image never stops the batch
            failures += 1
            print(f"sealaudit: error: {path}: {error}", file=sys.stderr)
            continue
        print(
            f"{path}\t{row['score']:.6f}\t{row['threshold']:.6f}\t{row['decision']}\t"
            f"{row['threshold_id']}"
        )
        if want_heatmap and "heatmap" in row:
            _write_heatmap(row["heatmap"], args.heatmaps / f"{path.stem}_heatmap.png")
    return 2 if failures else 0


def _write_heatmap(value: Any, target: Path) -> None:
    data = value if isinstance(value, bytes) else base64.b64decode(value)
    target.write_bytes(data)
