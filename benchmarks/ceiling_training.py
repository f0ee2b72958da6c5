"""The supervised ceiling's network and its resumable training (``detectability_ceiling.py``).

Kept apart from the study so the study reads as data -> scores -> evidence. The schedule is
the one the ceiling needs to *train* at every size: batch norm, linear warm-up then cosine decay
per step, class-balanced loss (the reference set has more defective than normal images), flips
and gains as augmentation, and the epoch kept by holdout AUROC (never test).

The generator's defect masks supervise the network's per-location logits as well as its image
logit. Trained on the image label alone, the network sat at chance for 7 epochs or more before
it found the defects, and one seed in three never did within 20 epochs (measured at 32 x 384,
2026-12-03); the location loss gives every defect pixel a gradient from the first step. It
makes the ceiling a stronger estimate from above (a detector told where defects are), which is
what a ceiling is for.

A run saves its whole state (weights, optimiser, schedule, both random generators, history,
best weights) after every epoch, so a run stopped at any point resumes where it stopped and
ends with the same weights as an uninterrupted one.

Usage: imported by ``benchmarks/detectability_ceiling.py``; ``main`` prints the network's
size at a working frame (``python benchmarks/ceiling_training.py 128x768``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from torch import Tensor, nn
from tqdm import tqdm

from pipeline.atomic import discard, partial_path, publish

# Rows of the working frame below which no stem level is added: the 32-row frame (band ~16
# rows) already sits at the network's native scale.
STEM_FROM_HEIGHT = 64
STEM_CHANNELS = 8


@dataclasses.dataclass(frozen=True)
class Schedule:
    """How the ceiling is trained; recorded in the study's JSON."""

    epochs: int
    warmup_epochs: int
    learning_rate: float
    weight_decay: float
    batch_size: int
    location_weight: float  # weight of the per-location (mask) loss beside the image loss

    def factor(self, step: int, steps_per_epoch: int) -> float:
        """The learning-rate factor at ``step``: linear warm-up, then cosine decay to 0."""
        warmup = self.warmup_epochs * steps_per_epoch
        total = self.epochs * steps_per_epoch
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _block(inputs: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inputs, outputs, 3, padding=1, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(),
        nn.Conv2d(outputs, outputs, 3, padding=1, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(),
    )


def stem_levels(height: int) -> int:
    """Full-resolution levels put before the three standard blocks: one per doubling of the
    working height from ``STEM_FROM_HEIGHT`` on, so every size ends at a comparable grid and
    receptive field while its first convolutions still see every source pixel."""
    levels = 0
    while height >= STEM_FROM_HEIGHT * 2**levels:
        levels += 1
    return levels


class CeilingNet(nn.Module):
    """(N, 1, H, W) images in [0, 1] -> (N,) defect logits.

    ``stems`` full-resolution levels (8 channels, each followed by a 2x pooling), then three
    conv blocks (16/32/64 channels, two 2x poolings) give a logit per location; the image logit
    is their log-mean-exp, a smooth maximum, so one small defect can decide.
    """

    def __init__(self, stems: int = 0) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 1
        for _ in range(stems):
            layers += [_block(channels, STEM_CHANNELS), nn.MaxPool2d(2)]
            channels = STEM_CHANNELS
        layers += [_block(channels, 16), nn.MaxPool2d(2), _block(16, 32), nn.MaxPool2d(2)]
        layers += [_block(32, 64)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(64, 1, 1)

    def location_logits(self, x: Tensor) -> Tensor:
        """(N, 1, H, W) -> (N, h, w) defect logits per location of the final grid."""
        return self.head(self.features(x - 0.5))[:, 0]

    def forward(self, x: Tensor) -> Tensor:
        return image_logits(self.location_logits(x))


def image_logits(locations: Tensor) -> Tensor:
    """(N, h, w) location logits -> (N,) image logits: their log-mean-exp (a smooth maximum)."""
    flat = locations.flatten(1)
    return torch.logsumexp(flat, dim=1) - float(np.log(flat.shape[1]))


def predict(model: CeilingNet, images: np.ndarray, batch: int = 64) -> np.ndarray:
    """(N, H, W) float32 -> (N,) logits."""
    model.eval()
    with torch.inference_mode():
        parts = [
            model(torch.from_numpy(np.ascontiguousarray(images[i : i + batch]))[:, None]).numpy()
            for i in range(0, len(images), batch)
        ]
    return np.concatenate(parts)


@dataclasses.dataclass
class RunState:
    """Everything a stopped run needs to go on as if it never stopped."""

    model: CeilingNet
    optimiser: torch.optim.Optimizer
    rng: np.random.Generator
    history: list[dict[str, float]]
    best_auroc: float = -1.0
    best_weights: dict[str, Tensor] | None = None

    def save(self, path: Path) -> None:
        """Write the state atomically (a kill mid-write leaves the previous epoch's)."""
        state = {
            "model": self.model.state_dict(),
            "optimiser": self.optimiser.state_dict(),
            "numpy_rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "history": self.history,
            "best_auroc": self.best_auroc,
            "best_weights": self.best_weights,
        }
        try:
            torch.save(state, partial_path(path))
            publish([path])
        finally:
            discard([path])

    def restore(self, path: Path) -> None:
        """Load a saved state into this one (weights only: no code runs on load)."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.model.load_state_dict(state["model"])
        self.optimiser.load_state_dict(state["optimiser"])
        self.rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"])
        self.history = list(state["history"])
        self.best_auroc = float(state["best_auroc"])
        self.best_weights = state["best_weights"]


def new_run(stems: int, schedule: Schedule, seed: int) -> RunState:
    """A fresh run: seeded weights, optimiser and batch order."""
    torch.manual_seed(seed)
    model = CeilingNet(stems)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=schedule.learning_rate, weight_decay=schedule.weight_decay
    )
    return RunState(model, optimiser, np.random.default_rng(seed), [])


def train_ceiling(
    run: RunState,
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    holdout: tuple[np.ndarray, np.ndarray],
    schedule: Schedule,
    checkpoint: Path,
) -> CeilingNet:
    """Train from the run's current epoch to ``schedule.epochs``, saving after each epoch;
    return the model with the weights of the best holdout AUROC.

    ``data``: fit images (N, H, W), labels (N,) and defect masks (N, H, W) bool.
    """
    labels = data[1]
    positives = float(labels.sum())
    weights = (torch.tensor((len(labels) - positives) / positives), _location_weight(data[2]))
    steps = math.ceil(len(labels) / schedule.batch_size)
    first = len(run.history)
    for epoch in tqdm(range(first, schedule.epochs), desc="ceiling", unit="epoch", disable=None):
        started = time.perf_counter()
        loss = _epoch(run, data, weights, schedule, epoch * steps, steps)
        auroc = float(roc_auc_score(holdout[1], predict(run.model, holdout[0])))
        run.history.append(
            {
                "epoch": epoch,
                "loss": loss,
                "holdout_auroc": auroc,
                "seconds": time.perf_counter() - started,
            }
        )
        if auroc > run.best_auroc:
            run.best_auroc = auroc
            run.best_weights = {k: v.clone() for k, v in run.model.state_dict().items()}
        run.save(checkpoint)
    if run.best_weights is not None:
        run.model.load_state_dict(run.best_weights)
    return run.model


MAX_LOCATION_WEIGHT = 20.0  # defective locations are rare; beyond this the loss is all recall


def _location_weight(masks: np.ndarray) -> Tensor:
    """The positive weight of the location loss: the negative-to-positive pixel ratio, capped."""
    positives = float(masks.sum())
    ratio = (masks.size - positives) / max(positives, 1.0)
    return torch.tensor(min(ratio, MAX_LOCATION_WEIGHT))


def _epoch(
    run: RunState,
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
    weights: tuple[Tensor, Tensor],
    schedule: Schedule,
    first_step: int,
    steps: int,
) -> float:
    """One pass over the fit images in a seeded order; the mean loss."""
    images, labels, masks = data
    run.model.train()
    order = run.rng.permutation(len(images))
    losses = []
    for step, start in enumerate(range(0, len(order), schedule.batch_size)):
        for group in run.optimiser.param_groups:
            group["lr"] = schedule.learning_rate * schedule.factor(first_step + step, steps)
        index = np.sort(order[start : start + schedule.batch_size])
        batch = torch.from_numpy(images[index])[:, None]
        truth = torch.from_numpy(masks[index].astype(np.float32))[:, None]
        if run.rng.random() < 0.5:  # the band has no left or right
            batch, truth = batch.flip(-1), truth.flip(-1)
        batch = batch * float(run.rng.uniform(0.9, 1.1))
        locations = run.model.location_logits(batch)
        target = torch.from_numpy(labels[index]).float()
        loss = F.binary_cross_entropy_with_logits(
            image_logits(locations), target, pos_weight=weights[0]
        )
        if schedule.location_weight > 0:
            grid = F.adaptive_max_pool2d(truth, locations.shape[-2:])[:, 0]
            loss = loss + schedule.location_weight * F.binary_cross_entropy_with_logits(
                locations, grid, pos_weight=weights[1]
            )
        run.optimiser.zero_grad()
        loss.backward()
        run.optimiser.step()
        losses.append(loss.item())
    return float(np.mean(losses))


def main(argv: list[str] | None = None) -> int:
    """Print the network's parameters and stem levels at the given working sizes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="+", help="HxW working frames, e.g. 32x384 128x768")
    args = parser.parse_args(argv)
    for size in args.sizes:
        height = int(size.split("x")[0])
        model = CeilingNet(stem_levels(height))
        parameters = sum(p.numel() for p in model.parameters())
        print(f"{size}: {stem_levels(height)} stem level(s), {parameters} parameters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
