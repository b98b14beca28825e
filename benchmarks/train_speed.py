"""Training speed on this machine: iterations per second of the quick and saehd recipes at batch 8.

Each case builds the recipe's model and times whole iterations of the real loop (a batch made from the
faces, the step, the optimiser) after two warm-up iterations; the median is kept, since other work on a
shared machine only ever slows an iteration down. The faces are real 256 px crops when ``--src`` and ``--dst``
name facesets, otherwise random images with a face-shaped mask (the speed does not depend on the content).

    python benchmarks/train_speed.py [--iters 8] [--src FACESET --dst FACESET] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nodeswap.trainer.data import FaceData, load_faces  # noqa: E402
from nodeswap.trainer.loop import Settings, Trainer  # noqa: E402
from nodeswap.trainer.options import load_recipe  # noqa: E402

CASES = (("quick", "warp"), ("saehd", "train"), ("saehd", "GAN"), ("amp", "src-dst + LCT"))


def synthetic(count: int, size: int, seed: int) -> FaceData:
    rng = np.random.default_rng(seed)
    masks = np.zeros((count, size, size), np.uint8)
    yy, xx = np.mgrid[:size, :size]
    masks[:] = (((xx - size / 2) / (size * 0.3)) ** 2 + ((yy - size * 0.55) / (size * 0.38)) ** 2 <= 1) * 255
    images = rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8)
    return FaceData("synthetic", images, masks, masks // 3, rng.uniform(-45, 45, count).astype(np.float32))


def measure(recipe_name: str, stage_name: str, args: argparse.Namespace) -> tuple[str, str, int, int, float, float]:
    recipe = load_recipe(recipe_name, {"batch": 8})
    stage = next(s for s in recipe.stages if s.name == stage_name)
    res = recipe.model.resolution
    if args.src and args.dst:
        src, dst = load_faces(args.src, res), load_faces(args.dst, res)
    else:
        src, dst = synthetic(64, res, 1), synthetic(64, res, 2)
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(Settings(Path(tmp), recipe, recipe.total, device), src, dst, src)
        params = sum(p.numel() for p in trainer.model.parameters())
        times = []
        for i in range(args.iters + 2):
            trainer.iteration = stage.start + i
            start = time.perf_counter()
            trainer._begin(stage)
            s, d = trainer.batches.make(stage.start + i, stage)
            trainer.step(stage, s, d)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if i >= 2:
                times.append(time.perf_counter() - start)
        trainer.batches.close()
    seconds = statistics.median(times)
    return recipe_name, stage_name, res, params, seconds, 1.0 / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=8, help="timed iterations per case (after 2 warm-up)")
    parser.add_argument("--src", help="faceset (default: random faces)")
    parser.add_argument("--dst", help="faceset (default: random faces)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cases", default=",".join(f"{r}:{s}" for r, s in CASES), help="recipe:stage,...")
    args = parser.parse_args()
    torch.manual_seed(0)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, device {args.device}, load average {os.getloadavg()[0]:.1f}"
    )
    print("\n| recipe | stage | res | parameters | s/iteration (median) | it/s |")
    print("|---|---|---|---|---|---|")
    for case in args.cases.split(","):
        recipe_name, _, stage_name = case.partition(":")
        row = measure(recipe_name, stage_name, args)
        print(f"| {row[0]} | {row[1]} | {row[2]} | {row[3] / 1e6:.1f} M | {row[4]:.2f} | {row[5]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
