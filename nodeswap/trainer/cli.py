"""``nodeswap train`` and ``nodeswap export`` (their arguments: nodeswap/train_commands.py)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from nodeswap.errors import UserError

from . import checkpoint
from .data import FaceData, join, load_faces
from .export import export_dfm
from .loop import Settings, Trainer
from .options import ModelOptions, Recipe, load_recipe, parse_recipe

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """auto (CUDA when there is one, else the CPU), cpu, cuda or cuda:N."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"--device {name}: expected auto, cpu or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"--device {name}: this PyTorch sees no CUDA device (use --device cpu)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserError(f"--device {name}: there are {torch.cuda.device_count()} CUDA devices")
    elif device.type != "cpu":
        raise UserError(f"--device {name}: expected auto, cpu or cuda:N")
    return device


def make_deterministic(device: torch.device, threads: int | None) -> None:
    """Same inputs, same weights: deterministic kernels and a fixed thread count on the CPU."""
    if threads:
        torch.set_num_threads(threads)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True)


def choose_recipe(args: argparse.Namespace, model_dir: Path) -> Recipe:
    """--recipe; else the one saved with the model; else quick. --res and --batch override it."""
    overrides: dict[str, Any] = {}
    if args.res:
        overrides["resolution"] = args.res
    if args.batch:
        overrides["batch"] = args.batch
    saved = model_dir / checkpoint.RECIPE
    if args.recipe or not saved.is_file():
        return load_recipe(args.recipe or "quick", overrides)
    try:
        data = json.loads(saved.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"recipe {saved}: cannot read ({exc}); give --recipe") from None
    if not isinstance(data, dict):
        raise UserError(f"recipe {saved}: not a saved recipe; give --recipe")
    return parse_recipe(data.get("stages"), str(saved), overrides)


def check_same_model(recipe: Recipe, state: dict[str, Any], model_dir: Path) -> None:
    saved = ModelOptions(**state["model_options"])
    if saved != recipe.model:
        differ = [
            f"{k} {v} (asked: {getattr(recipe.model, k)})"
            for k, v in asdict(saved).items()
            if v != getattr(recipe.model, k)
        ]
        raise UserError(
            f"model {model_dir} was created with {', '.join(differ)}: the networks cannot change; "
            "train a new model in another folder, or drop the options that change them"
        )


def load_sides(args: argparse.Namespace, recipe: Recipe) -> tuple[FaceData, FaceData, FaceData]:
    res = recipe.model.resolution
    src = load_faces(args.src, res, "--src faceset")
    dst = load_faces(args.dst, res, "--dst faceset")
    if not any(stage.options.pretrain for stage in recipe.stages):
        return src, dst, src
    pretrain = load_faces(args.pretrain, res, "--pretrain faceset") if args.pretrain else join([src, dst])
    return src, dst, pretrain


def train(args: argparse.Namespace) -> int:
    model_dir = Path(args.model_dir).expanduser()
    if model_dir.exists() and not model_dir.is_dir():
        raise UserError(f"model {model_dir} is a file: give a folder")
    device = resolve_device(args.device)
    make_deterministic(device, args.threads)
    state = checkpoint.load(model_dir, device)
    recipe = choose_recipe(args, model_dir)
    seed = int(args.seed)
    if state is not None:
        check_same_model(recipe, state, model_dir)
        seed = int(state["seed"])
    target = args.iters or recipe.total
    src, dst, pretrain = load_sides(args, recipe)
    print(
        f"{model_dir}: {recipe.model.archi} at {recipe.model.resolution} px, recipe {recipe.name}, "
        f"{len(src)} src and {len(dst)} dst faces, {'resuming at' if state else 'new, to'} iteration "
        f"{state['iteration'] if state else target} on {device}",
        file=sys.stderr,
    )
    settings = Settings(model_dir, recipe, target, device, seed, args.save_every, args.preview_every, args.log_every)
    trainer = Trainer(settings, src, dst, pretrain, state)
    saved = {"name": recipe.name, "stages": recipe.source}
    checkpoint.write_text_atomic(model_dir / checkpoint.RECIPE, json.dumps(saved, indent=2) + "\n")
    return trainer.run()


def export(args: argparse.Namespace) -> int:
    out = Path(args.out).expanduser()
    signature = export_dfm(Path(args.model_dir).expanduser(), out)
    morph = ", morph_value:0 [1]" if signature.morph_input else ""
    print(f"wrote {out}: in_face:0 [N,{signature.resolution},{signature.resolution},3]{morph}")
    return 0
