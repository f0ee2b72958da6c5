"""``sealaudit data ...``: create the versioned dataset (synthetic stand-in or SSI import)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.config import load_section


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``data`` command group."""
    group = commands.add_parser("data", help="create or import the dataset")
    actions = group.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    synth = actions.add_parser("synth", help="generate the synthetic SSI-like stand-in dataset")
    synth.add_argument("--out", type=Path, default=Path("data"), help="dataset folder")
    synth.add_argument("--params", type=Path, default=Path("params.yaml"))
    synth.add_argument("--force", action="store_true", help="replace an existing dataset")
    synth.add_argument("--sheet", type=Path, default=None, help="also write a PNG contact sheet")
    synth.set_defaults(handler=_synth)

    trial = actions.add_parser(
        "challenge",
        help="generate the capability challenge set (defects of planned size, for POD)",
        description="Render the challenge set of issue #14 with the synth section's settings "
        "and the challenge section's seed and counts: per defect type and form, sizes spread "
        "log-uniformly over the generator's range; the same params give the same bytes.",
    )
    trial.add_argument("--out", type=Path, default=Path("challenge"), help="dataset folder")
    trial.add_argument("--params", type=Path, default=Path("params.yaml"))
    trial.add_argument("--force", action="store_true", help="replace an existing challenge set")
    trial.set_defaults(handler=_challenge)

    ssi = actions.add_parser("import-ssi", help="import the SSI dataset (Zenodo 7834077)")
    ssi.add_argument("src", type=Path, help="folder with NoLabel/, seal_breach_0/, Notation/")
    ssi.add_argument("--out", type=Path, default=Path("data"), help="dataset folder")
    ssi.add_argument("--params", type=Path, default=Path("params.yaml"))
    ssi.add_argument(
        "--splits",
        type=Path,
        default=None,
        help="folder with the authors' rev_*/TrainingXVal.csv and Testing.csv",
    )
    ssi.add_argument("--force", action="store_true", help="replace an existing dataset")
    ssi.set_defaults(handler=_import_ssi)

    lots = actions.add_parser(
        "lots",
        help="render production-like lots (normal pouches, optional drift) to try `monitor` on",
        description="Render lots L000, L001, ... of synthetic pouches, named "
        "<lot>_<YYYYMMDD>_<HHMMSS>_<n>.png as `sealaudit monitor` reads them, with lots.csv. "
        "Image size from the synth params; the seed is apart from the dataset's.",
    )
    lots.add_argument("out", type=Path, help="empty folder for the lot images")
    lots.add_argument("--params", type=Path, default=Path("params.yaml"))
    lots.add_argument("--lots", type=int, default=1, help="number of lots (default 1)")
    lots.add_argument("--images-per-lot", type=int, default=20, help="default 20")
    lots.add_argument("--drift", default="none", help="none | band_narrowing | brightness | "
                      "contamination")  # fmt: skip
    lots.add_argument("--drift-start", type=int, default=0, help="first drifting lot index")
    lots.add_argument("--seed", type=int, default=1001, help="default 1001")
    lots.set_defaults(handler=_lots)


def _synth(args: argparse.Namespace) -> int:
    from pipeline.data.synthetic import generate_dataset, write_contact_sheet

    params = load_section(args.params, "synth")
    generate_dataset(params, args.out, force=args.force)
    if args.sheet is not None:
        write_contact_sheet(args.out, args.sheet)
    return 0


def _challenge(args: argparse.Namespace) -> int:
    from pipeline.data.challenge import generate_challenge

    summary = generate_challenge(
        load_section(args.params, "synth"),
        load_section(args.params, "challenge"),
        args.out,
        force=args.force,
    )
    print(
        f"wrote {summary.images} images ({summary.normal_events} normal and "
        f"{summary.defect_events} defective events) to {args.out} in {summary.seconds:.1f} s"
    )
    return 0


def _import_ssi(args: argparse.Namespace) -> int:
    from pipeline.data.ssi import import_ssi

    params = load_section(args.params, "import_ssi")
    import_ssi(args.src, args.out, params, splits_dir=args.splits, force=args.force)
    return 0


def _lots(args: argparse.Namespace) -> int:
    from pipeline.data.drift import generate_lots

    generate_lots(
        args.out,
        load_section(args.params, "synth"),
        n_lots=args.lots,
        images_per_lot=args.images_per_lot,
        drift_start_lot=args.drift_start,
        drift=args.drift,
        seed=args.seed,
    )
    print(f"wrote {args.lots} lot(s) of {args.images_per_lot} images to {args.out}")
    return 0
