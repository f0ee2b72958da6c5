"""Inline-mode speed and size on this machine: prints figures, writes JSON. Never a test.

Measures, at the working resolution of the trained model (or of ``params.yaml`` when no model
is trained yet): single-image latency p50/p95 of reconstruction + 4-MS-SSIM scoring, the same
end to end from a raw dataset frame (band alignment included) and the alignment alone, batched
throughput, training time per epoch (forward + backward), peak resident memory, parameter count,
FLOPs per image (torch's FlopCounterMode) and the ratio of achieved to peak FLOP/s, where "peak"
is the best dense-matmul rate measured on the same threads (a practical ceiling, not a datasheet
figure). ``levers`` times the cheap inference levers one at a time against plain ``no_grad``
(single image and batched, forward + 4-MS-SSIM score): ``torch.inference_mode``, channels-last
memory, batch norm folded into the preceding convolution, ``torch.compile`` (where it works
offline on this CPU) and one thread instead of two; each with the largest score difference it
causes, so a lever that changes the served numbers is seen as such.

The end-to-end figures time the operating inline detector the packaged model serves
(``pipeline.detector.operating_detector`` on ``artifacts/train`` and ``artifacts/calibrate``):
raw frame to decision, with and without the heatmap; without a calibrated model they are left out.

    python benchmarks/inline_latency.py [--model artifacts/train/attention_ae/model.pt]
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torch.utils.flop_counter import FlopCounterMode

from pipeline.config import load_section
from pipeline.data.images import load_gray
from pipeline.detector import operating_detector
from pipeline.evaluation.studies import hardware
from pipeline.models.autoencoder import AutoencoderConfig, build_model, count_parameters
from pipeline.models.checkpoint import load_autoencoder
from pipeline.models.four_ssim import four_ms_ssim
from pipeline.provenance import stage_provenance


def load_or_build(model_path: Path, params_path: Path) -> tuple[torch.nn.Module, str]:
    """The trained model if present, else an untrained one of the configured size."""
    if model_path.is_file():
        model, _ = load_autoencoder(model_path)
        return model, str(model_path)
    train = load_section(params_path, "train")
    config = AutoencoderConfig(
        image_height=train.working_height,
        image_width=train.working_width,
        widths=train.model.widths,
        latent_dim=train.model.latent_dim,
        skip_levels=train.model.skip_levels,
        bottleneck=train.model.bottleneck,
    )
    return build_model("attention_ae", config, seed=0).eval(), "untrained (params.yaml size)"


def timed(fn, repeats: int) -> list[float]:
    """Wall-clock seconds of ``repeats`` calls after one warm-up call."""
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def matmul_peak_flops(size: int = 1024, repeats: int = 5) -> float:
    """Best measured FLOP/s of a dense float32 matmul on the current threads."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    best = min(timed(lambda: a @ b, repeats))
    return 2 * size**3 / best


CONVOLUTIONS = (torch.nn.Conv2d, torch.nn.ConvTranspose2d)


def fold_batch_norm(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of an eval-mode model with every (Conv2d | ConvTranspose2d, BatchNorm2d) pair of
    a ``Sequential`` folded into one convolution (the BN replaced by ``Identity``)."""
    folded = copy.deepcopy(model).eval()
    for sequential in [m for m in folded.modules() if isinstance(m, torch.nn.Sequential)]:
        children = list(sequential.children())
        for index, (first, second) in enumerate(zip(children, children[1:], strict=False)):
            if isinstance(second, torch.nn.BatchNorm2d) and isinstance(first, CONVOLUTIONS):
                transpose = isinstance(first, torch.nn.ConvTranspose2d)
                sequential[index] = fuse_conv_bn_eval(first, second, transpose=transpose)
                sequential[index + 1] = torch.nn.Identity()
    return folded


def lever_variants(model: torch.nn.Module) -> dict[str, tuple[torch.nn.Module, Any, str]]:
    """name -> (model, context manager factory, memory format) of each lever tried alone."""
    variants: dict[str, tuple[torch.nn.Module, Any, str]] = {
        "no_grad (as served)": (model, torch.no_grad, "contiguous"),
        "inference_mode": (model, torch.inference_mode, "contiguous"),
        "channels_last": (
            copy.deepcopy(model).to(memory_format=torch.channels_last),
            torch.no_grad,
            "channels_last",
        ),
        "batch_norm_folded": (fold_batch_norm(model), torch.no_grad, "contiguous"),
    }
    try:
        compiled = torch.compile(copy.deepcopy(model))
        with torch.no_grad():
            compiled(torch.rand(1, 1, model.config.image_height, model.config.image_width))
        variants["torch_compile"] = (compiled, torch.no_grad, "contiguous")
    except Exception as error:  # noqa: BLE001 - any failure is the finding (offline CPU)
        variants["torch_compile"] = (None, f"{type(error).__name__}: {str(error)[:160]}", "")
    return variants


def inference_levers(
    model: torch.nn.Module, one: torch.Tensor, batch: torch.Tensor, repeats: int, threads: int
) -> dict[str, Any]:
    """Per lever: single-image p50 ms, batched images/s and the largest |score difference|
    against the served path (0 means the served numbers would not move)."""
    with torch.no_grad():
        reference = four_ms_ssim(batch, model(batch)).score
    out: dict[str, Any] = {}
    for name, (variant, context, memory) in lever_variants(model).items():
        if variant is None:
            out[name] = {"error": context}
            continue
        out[name] = _lever_figures(variant, context, memory, one, batch, repeats, reference)
    torch.set_num_threads(1)
    out["one_thread"] = _lever_figures(
        model, torch.no_grad, "contiguous", one, batch, repeats, reference
    )
    torch.set_num_threads(threads)
    return out


def _lever_figures(
    model: Any,
    context: Any,
    memory: str,
    one: torch.Tensor,
    batch: torch.Tensor,
    repeats: int,
    reference: torch.Tensor,
) -> dict[str, float]:
    fmt = torch.channels_last if memory == "channels_last" else torch.contiguous_format
    one, batch = one.contiguous(memory_format=fmt), batch.contiguous(memory_format=fmt)

    def score(x: torch.Tensor) -> torch.Tensor:
        with context():
            return four_ms_ssim(x, model(x)).score

    single = timed(lambda: score(one), repeats)
    batched = timed(lambda: score(batch), max(3, repeats // 5))
    return {
        "single_p50_ms": 1000 * percentile(single, 0.50),
        "batched_images_per_s": len(batch) / statistics.median(batched),
        "max_abs_score_difference": float((score(batch) - reference).abs().max()),
    }


def end_to_end_latency(
    models_dir: Path, calibrate_dir: Path, data_dir: Path, repeats: int
) -> dict[str, Any]:
    """p50/p95 ms of one raw dataset frame -> band alignment -> reconstruction -> the served
    score -> decision (the operating detector, ``pipeline.detector``), with and without the
    heatmap, and of the alignment alone; empty without a calibrated model or a dataset."""
    frames = sorted((data_dir / "images").glob("*.png"))[:1]
    if not (calibrate_dir / "calibration.json").is_file() or not frames:
        return {}
    detector = operating_detector("inline", models_dir, calibrate_dir, batch_size=1)
    raw = load_gray(frames[0])[None]
    align = timed(lambda: detector.working_with_geometry(raw), repeats)
    total = timed(lambda: detector.score(raw), repeats)
    with_map = timed(lambda: detector.score(raw, with_maps=True), repeats)
    return {
        "served_score": detector.settings.score,
        "raw_frame": list(raw.shape[1:]),
        "alignment": detector.alignment.kind,
        "preprocess_p50_ms": 1000 * percentile(align, 0.50),
        "end_to_end_p50_ms": 1000 * percentile(total, 0.50),
        "end_to_end_p95_ms": 1000 * percentile(total, 0.95),
        "end_to_end_with_heatmap_p50_ms": 1000 * percentile(with_map, 0.50),
        "end_to_end_with_heatmap_p95_ms": 1000 * percentile(with_map, 0.95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("artifacts/train/attention_ae/model.pt"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--data", type=Path, default=Path("data"), help="a raw frame from here")
    parser.add_argument("--models", type=Path, default=Path("artifacts/train"))
    parser.add_argument("--calibration", type=Path, default=Path("artifacts/calibrate"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/inline_latency.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, source = load_or_build(args.model, args.params)
    height, width = model.config.image_height, model.config.image_width
    one, batch = torch.rand(1, 1, height, width), torch.rand(args.batch, 1, height, width)

    def score(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return four_ms_ssim(x, model(x)).score

    single = timed(lambda: score(one), args.repeats)
    end_to_end = end_to_end_latency(args.models, args.calibration, args.data, args.repeats)
    batched = timed(lambda: score(batch), max(3, args.repeats // 5))
    levers = inference_levers(model, one, batch, args.repeats, args.threads)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(one)
    flops = counter.get_total_flops()
    model.train()
    optimiser = torch.optim.Adam(model.parameters(), eps=1e-7)

    def train_step() -> None:
        optimiser.zero_grad()
        torch.nn.functional.mse_loss(model(batch), batch).backward()
        optimiser.step()

    step = statistics.median(timed(train_step, 3))
    model.eval()
    peak = matmul_peak_flops()
    forward_only = statistics.median(timed(lambda: model(batch), 3)) / args.batch
    figures = {
        "model": source,
        "threads": args.threads,
        "working_resolution": [height, width],
        "parameters": count_parameters(model),
        "latency_single_p50_ms": 1000 * percentile(single, 0.50),
        "latency_single_p95_ms": 1000 * percentile(single, 0.95),
        **end_to_end,
        "throughput_batched_images_per_s": args.batch / statistics.median(batched),
        "train_images_per_s": args.batch / step,
        "train_seconds_per_epoch_240_images": 240 * step / args.batch,
        "flops_per_image_forward": flops,
        "achieved_forward_flops_per_s": flops / forward_only,
        "matmul_peak_flops_per_s": peak,
        "achieved_to_peak_ratio": flops / forward_only / peak,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "levers": levers,
        "hardware": hardware(),
        # data_md5 keys the figures to the dataset they were measured with (the dossier checks it)
        "provenance": stage_provenance(
            "inline_latency", {k: str(v) for k, v in vars(args).items()}
        ),
    }
    for name, value in figures.items():
        if isinstance(value, dict):
            continue
        print(f"{name:40s} {value:.4g}" if isinstance(value, float) else f"{name:40s} {value}")
    for name, lever in levers.items():
        print(f"lever {name:34s} {lever}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
